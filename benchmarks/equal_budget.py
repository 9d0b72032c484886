"""Benchmark 2: best validation and test AUC after a fixed number of trials, per algorithm.

Each (dataset, model, algorithm, seed) study runs to the largest budget; the best of its first
B trials is retrained on the training split and scored on the validation and test splits. The
exercise's hand-picked configurations are trained on the same split as the reference.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from hpo.objectives import EXERCISE_PARAMS
from benchmarks.report import Table
from benchmarks.session import Session, best_within, trials_frame

TITLE = "Equal budget: best validation and test AUC after N trials"


def budget_rows(session: Session, dataset: str, model: str, algos: tuple[str, ...], budgets: tuple[int, ...]) -> list[dict]:
    """One row per (algorithm, seed, budget): the best trial's validation AUC and its retrained test AUC."""
    data, space = session.dataset(dataset), session.space(model)
    rows = []
    runs = [(a, seed) for a in algos for seed in range(session.settings.seeds)]
    for algo, seed in tqdm(runs, desc=f"{dataset} {model}", unit="study", leave=False):
        trials = trials_frame(session.study(model, algo, data, space=space, n_trials=max(budgets), seed=seed))
        for budget in budgets:
            best = best_within(trials, budget)
            scores = session.scores(model, best["params"], data, space, seed=seed)
            rows.append({"dataset": dataset, "model": model, "algo": algo, "seed": seed, "budget": budget,
                         "study_val_auc": best["val_auc"], "val_auc": scores.val_auc, "test_auc": scores.test_auc})  # fmt: skip
    return rows


def exercise_rows(session: Session, dataset: str, model: str) -> list[dict]:
    """The exercise's hand-picked configuration of ``model`` trained once per seed (none for the BDT)."""
    if model not in EXERCISE_PARAMS:
        return []
    data = session.dataset(dataset)
    params = EXERCISE_PARAMS[model] | ({"epochs": session.settings.ann_epochs} if model == "ann" else {})
    rows = []
    for seed in range(session.settings.seeds):
        scores = session.scores(model, params, data, seed=seed)
        rows.append({"dataset": dataset, "model": model, "algo": "exercise", "seed": seed, "budget": 0,
                     "study_val_auc": np.nan, "val_auc": scores.val_auc, "test_auc": scores.test_auc})  # fmt: skip
    return rows


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    """Median (and min-max) over seeds of the validation and test AUC per dataset, model, algorithm, budget."""
    grouped = rows.groupby(["dataset", "model", "algo", "budget"], sort=False)
    out = grouped.agg(
        seeds=("seed", "nunique"),
        val_auc=("val_auc", "median"),
        test_auc=("test_auc", "median"),
        test_min=("test_auc", "min"),
        test_max=("test_auc", "max"),
    )
    return out.reset_index()


def run(session: Session) -> list[Table]:
    s = session.settings
    rows: list[dict] = []
    for dataset in s.datasets:
        for model in s.models:
            rows += exercise_rows(session, dataset, model)
            rows += budget_rows(session, dataset, model, s.algos, s.budgets)
    frame = pd.DataFrame(rows)
    summary = summarise(frame)
    wide = summary.pivot_table(index=["dataset", "model", "algo"], columns="budget", values="test_auc", sort=False)
    wide.columns = [f"test@{b}" if b else "test (hand-picked)" for b in wide.columns]
    notes = [
        f"median over {s.seeds} seed(s); every configuration retrained on the training split with the study's seed",
        "val_auc: the best trial (by the study's validation AUC among the first N) retrained and rescored; "
        "test_auc: the same model on the test split; algo 'exercise': the hand-picked configuration",
        f"spaces: search_spaces/rf.yaml with n_estimators <= {s.rf_max_trees}; search_spaces/ann.yaml with epochs <= {s.ann_epochs}; search_spaces/bdt.yaml; "
        "'grid' runs the first N points of the space's grid",
    ]
    return [
        Table("Equal budget: median test AUC by budget", wide.reset_index(), notes),
        Table("Equal budget: median validation and test AUC", summary),
    ]
