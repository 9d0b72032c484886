"""Equal wall-clock budgets: the best configuration each search finds within T seconds, with and
without multi-fidelity over training events, and its gap to the Bayes limit.

For each dataset, feature set, model, seed and contestant (each algorithm of ``--algos`` among
random, tpe, bayes and cmaes, alone and with ``--fidelity events --prune hyperband``), one study
runs with ``--timeout`` set to the largest of ``--wall-budgets``: no trial starts after it and the
running ones finish. A search's state after T seconds does not depend on how long it will go on,
so each smaller budget is read from the same study: its best complete trial (by validation AUC)
among those completed within T seconds of the driver's call (worker start-up included). That
configuration is retrained on the training split and scored on the test split; on the synthetic
samples the gap to the Bayes-optimal AUC of the same test split is given too.

Without ``--models`` only the ANN runs and without ``--datasets`` only the synthetic sample;
``--features`` chooses the feature sets (default ``low``, where the network must learn the masses).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from optuna.trial import TrialState

import hpo.data
from hpo.data import PreparedDataset
from hpo.errors import DataError
from benchmarks.report import Table
from benchmarks.session import Session, trials_frame
from benchmarks.settings import Settings

TITLE = "Equal wall-clock budgets: best test AUC after T seconds, with and without multi-fidelity"

#: Algorithms this benchmark runs (a grid has no use for a time budget).
ALGOS = ("random", "tpe", "bayes", "cmaes")
#: Driver options of a contestant with multi-fidelity.
MULTI_FIDELITY = {"fidelity": "events", "prune": "hyperband"}
#: Trial cap of each study: the time budget ends it, not the count.
TRIAL_CAP = 10_000


def contestants(algos: tuple[str, ...]) -> dict[str, tuple[str, dict[str, str]]]:
    """Contestant -> (algorithm, driver options): each of ``algos`` alone and with multi-fidelity."""
    out: dict[str, tuple[str, dict[str, str]]] = {}
    for algo in (a for a in ALGOS if a in algos):
        out[algo] = (algo, {})
        out[f"{algo}+mf"] = (algo, MULTI_FIDELITY)
    return out


def bayes_limit(data: PreparedDataset) -> float:
    """The Bayes-optimal test AUC where the sample is synthetic, else NaN."""
    try:
        return hpo.data.bayes_limit(data, "test")
    except DataError:
        return float("nan")


def one_study(session: Session, data: PreparedDataset, model: str, contestant: str, seed: int) -> list[dict]:
    """Run ``contestant``'s study for the largest budget; one row per budget."""
    s = session.settings
    algo, options = contestants(s.algos)[contestant]
    space = session.space(model)
    start = datetime.now()
    study = session.study(model, algo, data, space=space, n_trials=TRIAL_CAP, seed=seed, fresh=True,
                          timeout=max(s.wall_budgets_s), **options)  # fmt: skip
    trials = trials_frame(study)
    ended = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished() and t.datetime_complete is not None]
    rows = []
    for budget in s.wall_budgets_s:
        within = trials[[(c - start).total_seconds() <= budget for c in trials["complete"]]] if len(trials) else trials
        finished = [t for t in ended if (t.datetime_complete - start).total_seconds() <= budget]
        pruned = sum(t.state == TrialState.PRUNED for t in finished)
        row = {"contestant": contestant, "seed": seed, "budget_s": budget, "trials": len(finished), "pruned": pruned,
               "best_val_auc": np.nan, "test_auc": np.nan}  # fmt: skip
        if len(within):
            best = within.loc[within["val_auc"].idxmax()]
            row["best_val_auc"] = float(best["val_auc"])
            row["test_auc"] = session.scores(model, best["params"], data, space, seed=seed).test_auc
        rows.append(row)
    return rows


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    """Median over seeds per contestant and budget, with the spread of the test AUC."""
    keys = ["dataset", "features", "model", "budget_s", "contestant"]
    out = []
    for key, rows in runs.groupby(keys, sort=False):
        out.append({
            **dict(zip(keys, key, strict=True)), "seeds": len(rows), "trials": rows["trials"].median(),
            "pruned": rows["pruned"].median(), "best_val_auc": rows["best_val_auc"].median(),
            "test_auc": rows["test_auc"].median(), "test_min": rows["test_auc"].min(), "test_max": rows["test_auc"].max(),
            "bayes_limit": rows["bayes_limit"].iloc[0], "gap": (rows["bayes_limit"] - rows["test_auc"]).median(),
        })  # fmt: skip
    return pd.DataFrame(out).sort_values(["dataset", "features", "model", "budget_s"], kind="stable")


def run(session: Session) -> list[Table]:
    s = session.settings
    rows: list[dict] = []
    for dataset, features, data, model in session.cases("ann"):
        limit = bayes_limit(data)
        for seed in s.seed_values:
            for contestant in contestants(s.algos):
                done = one_study(session, data, model, contestant, seed)
                rows += [{"dataset": dataset, "features": features, "model": model, "events": len(data.table),
                          "bayes_limit": limit, **row} for row in done]  # fmt: skip
                print(f"  {dataset}/{features} {model} seed {seed} {contestant} done at {datetime.now():%H:%M:%S}", flush=True)
                print(pd.DataFrame(done).to_string(index=False), flush=True)  # a partial run leaves its figures in the log
    return tables(pd.DataFrame(rows), s)


def tables(runs: pd.DataFrame, s: Settings) -> list[Table]:
    """The summary and the per-study table of ``runs`` (one row per study and budget), over the seeds of ``s``."""
    notes = [
        f"one study per contestant and seed, {s.jobs} workers, stopped by --timeout {max(s.wall_budgets_s)} s; budget T: its best "
        "complete trial among those completed within T s of the driver's call (worker start-up included)",
        "+mf: --fidelity events (rungs 1/9, 1/3, all training events) --prune hyperband; trials: every trial ended "
        "within T (complete, pruned, failed), pruned: those the pruner stopped",
        "test_auc: that configuration retrained on the training split and scored on the test split; median and min-max "
        f"over {s.seeds} seed(s); gap = Bayes-optimal AUC of the same test split (synthetic samples) - test_auc",
    ]
    return [
        Table("Equal wall-clock budgets: median best test AUC and gap to the Bayes limit", summarise(runs), notes),
        Table("Equal wall-clock budgets: every study and budget", runs),
    ]


def overview(documents: Sequence[dict[str, Any]]) -> Table:
    """Every run's medians side by side: one row per dataset, features, model and budget, one column per contestant.

    ``documents`` are full-mode equal-time result files (as JSON). Each cell is the median test AUC of the
    result with the most seeds for that contestant and budget, the latest of equals, so a combination
    stands in for its sources and a longer study's shorter budgets fill in where no run has more seeds.
    """
    keys = ["dataset", "features", "model", "budget_s"]
    picked: dict[tuple, dict[str, Any]] = {}
    for document in sorted(documents, key=lambda d: d["date"]):
        label = document["settings"].get("label") or "(no label)"
        for row in document["tables"][0]["rows"]:
            key = (*(row[k] for k in keys), row["contestant"])
            if key not in picked or row["seeds"] >= picked[key]["seeds"]:
                picked[key] = {**row, "run": label}
    order = list(contestants(ALGOS))
    present = [c for c in order if any(key[-1] == c for key in picked)]
    out = []
    for key in sorted({key[:-1] for key in picked}):
        cells = {c: picked.get((*key, c)) for c in present}
        found = [cell for cell in cells.values() if cell is not None]
        out.append({
            **dict(zip(keys, key, strict=True)), "bayes_limit": found[0]["bayes_limit"],
            **{c: "-" if cell is None or pd.isna(cell["test_auc"]) else f"{cell['test_auc']:.4f} ({cell['seeds']})"
               for c, cell in cells.items()},
            "runs": ", ".join(dict.fromkeys(cell["run"] for cell in found)),
        })  # fmt: skip
    notes = [
        "each cell: median test AUC of the contestant's best configuration within the budget, over the seeds in "
        "brackets, from the run with the most seeds at that budget (the latest of equals); -: not run, or no trial complete by then",
        "runs: the labels of the result files the row's cells come from (equal-time.<label>, under Figures); "
        "gap to the Bayes limit = bayes_limit - cell",
    ]
    return Table("Equal wall-clock budgets at a glance: every run's median test AUC (seeds)", pd.DataFrame(out), notes)
