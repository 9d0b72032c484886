"""Benchmark 2: best validation and test AUC after a fixed number of trials, per algorithm.

Each (dataset, model, algorithm, seed) study runs to the largest budget; the best of its first
B trials is retrained on the training split and scored on the validation and test splits. The
exercise's hand-picked configurations are trained on the same split as the reference. A third
table gives each row's median seconds per trial and its speed against scikit-learn's forest
(``rf``); ``rf-xgboost`` is the same forest space on XGBoost's histogram random forest.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from hpo.objectives import EXERCISE_PARAMS
from benchmarks.report import Table
from benchmarks.session import Session, best_within, trials_frame
from benchmarks.settings import VARIANTS, base_model

TITLE = "Equal budget: best validation and test AUC after N trials"


def budget_rows(session: Session, dataset: str, model: str, algos: tuple[str, ...], budgets: tuple[int, ...]) -> list[dict]:
    """One row per (algorithm, seed, budget): the best trial's validation AUC and its retrained test AUC."""
    data, space = session.dataset(dataset), session.space(model)
    rows = []
    runs = [(a, seed) for a in algos for seed in session.settings.seed_values]
    for algo, seed in tqdm(runs, desc=f"{dataset} {model}", unit="study", leave=False):
        trials = trials_frame(session.study(model, algo, data, space=space, n_trials=max(budgets), seed=seed))
        for budget in budgets:
            best = best_within(trials, budget)
            scores = session.scores(model, best["params"], data, space, seed=seed)
            rows.append({"dataset": dataset, "model": model, "algo": algo, "seed": seed, "budget": budget,
                         "study_val_auc": best["val_auc"], "val_auc": scores.val_auc, "test_auc": scores.test_auc})  # fmt: skip
    return rows


def cost_rows(session: Session, dataset: str, model: str, algos: tuple[str, ...], budgets: tuple[int, ...]) -> list[dict]:
    """One row per complete trial of the studies :func:`budget_rows` ran: its fit and wall-clock seconds."""
    data, space = session.dataset(dataset), session.space(model)
    rows = []
    for algo in algos:
        for seed in session.settings.seed_values:
            trials = trials_frame(session.study(model, algo, data, space=space, n_trials=max(budgets), seed=seed))
            rows += [{"dataset": dataset, "model": model, "algo": algo, "seed": seed, "fit_s": t.fit_time_s, "trial_s": t.trial_s}
                     for t in trials.itertuples()]  # fmt: skip
    return rows


def cost_summary(costs: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """Per dataset, model and algorithm: median seconds per trial, the speed-up over ``rf`` (scikit-learn's
    forest, same dataset and algorithm) and the median test AUC at the largest budget minus ``rf``'s."""
    keys = ["dataset", "model", "algo"]
    out = costs.groupby(keys, sort=False).agg(trials=("trial_s", "size"), fit_s=("fit_s", "median"), trial_s=("trial_s", "median")).reset_index()
    top = summary.loc[summary["budget"] == summary["budget"].max(), [*keys, "test_auc"]]
    out = out.merge(top, on=keys, how="left")
    rf = out.loc[out["model"] == "rf", ["dataset", "algo", "fit_s", "trial_s", "test_auc"]]
    out = out.merge(rf, on=["dataset", "algo"], how="left", suffixes=("", "_rf"))
    out["fit_x_faster"] = out["fit_s_rf"] / out["fit_s"]
    out["trial_x_faster"] = out["trial_s_rf"] / out["trial_s"]
    out["test_auc_minus_rf"] = out["test_auc"] - out["test_auc_rf"]
    return out.drop(columns=["fit_s_rf", "trial_s_rf", "test_auc_rf"])


def exercise_rows(session: Session, dataset: str, model: str) -> list[dict]:
    """The exercise's hand-picked configuration of row ``model`` trained once per seed (none for the BDT,
    none with ``settings.exercise`` off)."""
    base = base_model(model)
    if base not in EXERCISE_PARAMS or not session.settings.exercise:
        return []
    data = session.dataset(dataset)
    params = EXERCISE_PARAMS[base] | VARIANTS.get(model, ("", {}))[1] | ({"epochs": session.settings.ann_epochs} if base == "ann" else {})
    rows = []
    for seed in session.settings.seed_values:
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
    costs: list[dict] = []
    for dataset in s.datasets:
        for model in s.models:
            rows += exercise_rows(session, dataset, model)
            rows += budget_rows(session, dataset, model, s.algos, s.budgets)
            costs += cost_rows(session, dataset, model, s.algos, s.budgets)
    frame = pd.DataFrame(rows)
    summary = summarise(frame)
    wide = summary.pivot_table(index=["dataset", "model", "algo"], columns="budget", values="test_auc", sort=False)
    wide.columns = [f"test@{b}" if b else "test (hand-picked)" for b in wide.columns]
    notes = [
        f"median over {s.seeds} seed(s); every configuration retrained on the training split with the study's seed",
        "val_auc: the best trial (by the study's validation AUC among the first N) retrained and rescored; "
        "test_auc: the same model on the test split; algo 'exercise': the hand-picked configuration",
        f"spaces: search_spaces/rf.yaml with n_estimators <= {s.rf_max_trees} (rf: scikit-learn; rf-xgboost: the same space with "
        f"engine xgboost); search_spaces/ann.yaml with epochs <= {s.ann_epochs}; search_spaces/bdt.yaml; "
        "'grid' runs the first N points of the space's grid",
    ]
    cost_notes = [
        f"medians over every complete trial of the {s.seeds} seed(s) (up to {max(s.budgets)} trials each), {s.jobs} worker(s) "
        "sharing the machine's cores; trial_s: wall-clock seconds from the trial's start to its end (sampling, training, "
        "validation scoring); fit_s: the training alone (the trial's fit_time_s)",
        "fit_x_faster, trial_x_faster: rf's median fit_s (trial_s) over this row's, same dataset and algorithm; test_auc: median test AUC at budget "
        f"{max(s.budgets)}; test_auc_minus_rf: that minus rf's",
    ]
    return [
        Table("Equal budget: median test AUC by budget", wide.reset_index(), notes),
        Table("Equal budget: median validation and test AUC", summary),
        Table("Equal budget: seconds per trial against scikit-learn's forest", cost_summary(pd.DataFrame(costs), summary), cost_notes),
    ]
