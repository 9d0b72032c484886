"""Multi-fidelity: time for TPE with rungs over training events to reach a plain TPE study's target.

For each dataset, feature set, model and seed, a plain TPE study of N trials is the reference: the
target is its best validation AUC minus ``target_margin``. TPE with multi-fidelity (rungs 1/9, 1/3
and all of the training events, Optuna's Hyperband pruner: the BOHB-like combination) and random
search then run N trials each, with the same seed and workers. A study's time to target is the wall
time from its start (the driver called, workers included) to the completion of its first complete
trial whose validation AUC reaches the target; pruned trials cost what they cost on the clock. The
plain TPE study is timed as it runs, so it is one of the contestants. The best trial of each study
(by validation AUC, after all N trials) is retrained on the training split and scored on the test
split, so that a search that is fast but ends worse shows.

Without ``--models`` only the BDT runs and without ``--datasets`` only the synthetic sample (the other
models at full size take hours on 2 cores); ``--features`` chooses the feature sets (default
``low``, the hard benchmark) and ``--events all`` the whole sample.
"""

from __future__ import annotations

from datetime import datetime

import optuna
import pandas as pd
from optuna.trial import TrialState

from hpo.data import PreparedDataset
from hpo.spaces import SearchSpace
from benchmarks.report import Table, stopwatch
from benchmarks.session import Session, trials_frame
from benchmarks.settings import Settings

TITLE = "Multi-fidelity: time to a plain TPE study's target, TPE + Hyperband over events vs plain TPE and random"

#: Contestant -> (algorithm, driver options); the first is the reference that sets the target.
VARIANTS: dict[str, tuple[str, dict[str, str]]] = {
    "tpe": ("tpe", {}),
    "tpe+mf": ("tpe", {"fidelity": "events", "prune": "hyperband"}),
    "random": ("random", {}),
}
#: The contestant the others are compared with.
FAST = "tpe+mf"


def time_to_target(study: optuna.Study, start: datetime, target: float) -> tuple[float | None, int | None]:
    """Seconds from ``start`` to the first complete trial with validation AUC >= ``target``, and the
    trials (any state) finished by then; ``(None, None)`` if none reaches it."""
    trials = trials_frame(study)
    hit = trials[trials["val_auc"] >= target]
    if not len(hit):
        return None, None
    when = hit["complete"].min()
    finished = [t for t in study.get_trials(deepcopy=False) if t.datetime_complete is not None and t.datetime_complete <= when]
    return (when - start).total_seconds(), len(finished)


def one_seed(session: Session, data: PreparedDataset, model: str, space: SearchSpace, seed: int) -> list[dict]:
    """Every contestant's study for ``seed``: time to the reference's target, trials, best validation and test AUC."""
    s = session.settings
    runs = []
    for variant, (algo, options) in VARIANTS.items():
        start = datetime.now()
        with stopwatch() as t:
            study = session.study(model, algo, data, space=space, n_trials=s.fidelity_trials, seed=seed, fresh=True, **options)
        runs.append((variant, study, start, t["s"]))
    target = float(trials_frame(runs[0][1])["val_auc"].max()) - s.target_margin
    rows = []
    for variant, study, start, wall_s in runs:
        seconds, trials_to_target = time_to_target(study, start, target)
        best = study.best_trial
        scores = session.scores(model, best.params, data, space, seed=seed)
        pruned = len(study.get_trials(deepcopy=False, states=(TrialState.PRUNED,)))
        rows.append({
            "variant": variant, "seed": seed, "target_val_auc": target, "reached": seconds is not None,
            "time_to_target_s": seconds if seconds is not None else wall_s, "trials_to_target": trials_to_target,
            "trials": len(study.trials), "pruned": pruned, "wall_s": wall_s,
            "best_val_auc": best.user_attrs.get("val_auc", best.value), "test_auc": scores.test_auc,
        })  # fmt: skip
    return rows


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    """Median over seeds per contestant, with the ratio of its median time to that of :data:`FAST`."""
    keys = ["dataset", "features", "model"]
    out = []
    for _, group in runs.groupby(keys, sort=False):
        fast = group[group["variant"] == FAST]["time_to_target_s"].median()
        for variant, rows in group.groupby("variant", sort=False):
            median = float(rows["time_to_target_s"].median())
            out.append({
                **rows.iloc[0][keys].to_dict(), "variant": variant, "seeds": len(rows),
                "reached": f"{int(rows['reached'].sum())}/{len(rows)}", "time_to_target_s": median,
                "lower_bound": not rows["reached"].all(), f"ratio_to_{FAST}": median / fast,
                "trials_to_target": rows["trials_to_target"].median(), "pruned": rows["pruned"].median(),
                "wall_s": rows["wall_s"].median(), "target_val_auc": rows["target_val_auc"].median(),
                "best_val_auc": rows["best_val_auc"].median(), "test_auc": rows["test_auc"].median(),
                "test_min": rows["test_auc"].min(), "test_max": rows["test_auc"].max(),
            })  # fmt: skip
    return pd.DataFrame(out)


def run(session: Session) -> list[Table]:
    s = session.settings
    rows: list[dict] = []
    for dataset, features, data, model in session.cases("bdt"):
        space = session.space(model)
        for seed in s.seed_values:
            done = [{"dataset": dataset, "features": features, "model": model, "events": len(data.table), **row}
                    for row in one_seed(session, data, model, space, seed)]  # fmt: skip
            rows += done
            print(f"  {dataset}/{features} {model} seed {seed} done at {datetime.now():%H:%M:%S}", flush=True)
            print(pd.DataFrame(done).to_string(index=False), flush=True)  # a partial run leaves its figures in the log
    return tables(pd.DataFrame(rows), s)


def tables(runs: pd.DataFrame, s: Settings) -> list[Table]:
    """The summary and the per-study table of ``runs`` (one row per study), over the seeds of ``s``."""
    notes = [
        f"{s.fidelity_trials} trials per study, {s.jobs} workers; target = the plain TPE study's best validation AUC "
        f"(same seed) - {s.target_margin}; time from the driver's call (workers' start included) to the completion "
        "of the first complete trial at or above the target",
        f"{FAST}: --fidelity events (rungs 1/9, 1/3, all training events) --prune hyperband; pruned trials count toward the "
        "trial cap and their time toward the clock",
        "not reached within the cap: time_to_target_s is the study's whole wall time, and a median over such seeds "
        "(lower_bound) is a lower bound",
        f"test_auc: the study's best trial (by validation AUC after all trials) retrained on the training split, "
        f"scored on the test split; median and min-max over {s.seeds} seed(s)",
    ]
    return [
        Table("Multi-fidelity: median time to target and its ratio to TPE + multi-fidelity", summarise(runs), notes),
        Table("Multi-fidelity: every study", runs),
    ]
