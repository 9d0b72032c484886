"""``python -m benchmarks.engines``: one fit of each tree model on a full-size sample, timed.

The exercise's hand-picked forest (300 trees of depth 5) on scikit-learn and on XGBoost's histogram
random forest, and XGBoost boosted trees of the same size (300 rounds of depth 5, learning rate
0.1, early stopping on the weighted validation log-loss), each fitted on the training split with
``--threads`` threads and ``--seeds`` seeds; reports the median fit time and the median test AUC.
Writes ``benchmarks/results/engines[.<label>].json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from benchmarks import RESULTS
from benchmarks.report import machine
from hpo import data as hpo_data
from hpo import metrics
from hpo.models import get_model
from hpo.objectives import EXERCISE_PARAMS
from hpo.spaces.models import MODELS

BDT_PARAMS = {"n_estimators": 300, "learning_rate": 0.1, "max_depth": 5, "min_child_weight": 1.0, "subsample": 1.0,
              "colsample_bytree": 1.0, "reg_alpha": 0.0, "reg_lambda": 1.0, "gamma": 0.0}  # fmt: skip
CASES = {
    "rf, scikit-learn": ("rf", {**EXERCISE_PARAMS["rf"], "engine": "sklearn"}),
    "rf, XGBoost": ("rf", {**EXERCISE_PARAMS["rf"], "engine": "xgboost"}),
    "bdt": ("bdt", BDT_PARAMS),
}


def run(datasets: list[str], seeds: int, threads: int) -> list[dict]:
    rows = []
    for name in datasets:
        prepared = hpo_data.prepare(None if name == "synthetic" else name, progress=False)
        train, val, test = prepared.train, prepared.val, prepared.test
        for case, (model, params) in CASES.items():
            config = {**MODELS[model].defaults(), **params}
            times, aucs = [], []
            for seed in range(seeds):
                start = time.perf_counter()
                fit = get_model(model).fit(config, train, val, threads=threads, seed=seed)
                times.append(time.perf_counter() - start)
                aucs.append(metrics.roc_auc(test.y, get_model(model).predict(fit.estimator, test.X), test.w))
            rows.append({"dataset": name, "train_events": len(train), "features": prepared.n_features, "model": case,
                         "fit_s": [round(t, 2) for t in times], "test_auc": [round(a, 5) for a in aucs],
                         "median_fit_s": round(statistics.median(times), 2), "median_test_auc": round(statistics.median(aucs), 5)})  # fmt: skip
            print(rows[-1], flush=True)
    return rows


def markdown(rows: list[dict], command: str) -> str:
    lines = [f"Command: `{command}`", "", "| dataset (training events) | model | median fit s | median test AUC | per seed |", "|---|---|---|---|---|"]
    for r in rows:
        base = next(x for x in rows if x["dataset"] == r["dataset"] and x["model"] == "rf, scikit-learn")
        ratio = base["median_fit_s"] / r["median_fit_s"] if r["median_fit_s"] else float("inf")
        lines.append(f"| {r['dataset']} ({r['train_events']:,}) | {r['model']} | {r['median_fit_s']} ({ratio:.0f}x) | "
                     f"{r['median_test_auc']:.4f} | {', '.join(f'{a:.4f}' for a in r['test_auc'])} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.engines", description=__doc__)
    p.add_argument("--datasets", default="synthetic", help="comma-separated dataset presets (default: synthetic)")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--label", default=None)
    args = p.parse_args()
    command = f"python -m benchmarks.engines --datasets {args.datasets} --seeds {args.seeds} --threads {args.threads}"
    rows = run(args.datasets.split(","), args.seeds, args.threads)
    stem = "engines" + (f".{args.label}" if args.label else "")  # not Path.with_suffix: it would replace the label
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps({"command": command, "machine": machine(), "rows": rows}, indent=2, default=str))
    (RESULTS / f"{stem}.md").write_text(markdown(rows, command))
    print(markdown(rows, command))


if __name__ == "__main__":
    main()
