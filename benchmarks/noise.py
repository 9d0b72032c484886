"""Small-sample noise: a configuration chosen by K-fold cross-validation against one chosen on one split.

On a small sample the validation split is small too, and a search that maximises its AUC partly
fits that split's noise. For each dataset, model, algorithm and seed, two studies of N trials run
side by side on the same (subsampled) events: one scored on the validation split, one with
``--cv K`` on train+validation. The best configuration of each is retrained on the training split
and scored on the test split: the test AUC of the chosen configuration says which choice
generalises, and the study's own best score minus that test AUC is its over-tuning. Model-based
samplers are compared with random search on the same footing.
"""

from __future__ import annotations

import pandas as pd
from tqdm.auto import tqdm

from benchmarks.report import Table
from benchmarks.session import Session, trials_frame

TITLE = "Small-sample noise: configurations chosen by K-fold cross-validation against one validation split"


def scorings(folds: int) -> dict[str, int]:
    """Scoring label -> the ``cv`` option of the study (0: the validation split)."""
    return {"split": 0, f"cv{folds}": folds}


def study_rows(session: Session, dataset: str, model: str) -> list[dict]:
    """One row per (algorithm, scoring, seed): the study's best score and its chosen configuration's test AUC."""
    s = session.settings
    data, space = session.dataset(dataset), session.space(model)
    runs = [(algo, label, cv, seed) for algo in s.algos for label, cv in scorings(s.noise_folds).items() for seed in s.seed_values]
    rows = []
    for algo, label, cv, seed in tqdm(runs, desc=f"{dataset} {model}", unit="study", leave=False):
        study = session.study(model, algo, data, space=space, n_trials=s.noise_trials, seed=seed, fresh=True, cv=cv)
        trials = trials_frame(study)
        best = trials.loc[trials["value"].idxmax()]
        scores = session.scores(model, best["params"], data, space, seed=seed)
        rows.append({"dataset": dataset, "events": len(data.table), "model": model, "algo": algo, "scoring": label, "seed": seed,
                     "study_best": best["value"], "val_auc": scores.val_auc, "test_auc": scores.test_auc,
                     "over_tuning": best["value"] - scores.test_auc})  # fmt: skip
    return rows


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    """Median over seeds per dataset, model, algorithm and scoring, with the test AUC's range."""
    grouped = rows.groupby(["dataset", "events", "model", "algo", "scoring"], sort=False)
    return grouped.agg(
        seeds=("seed", "nunique"),
        study_best=("study_best", "median"),
        test_auc=("test_auc", "median"),
        test_min=("test_auc", "min"),
        test_max=("test_auc", "max"),
        over_tuning=("over_tuning", "median"),
    ).reset_index()


def run(session: Session) -> list[Table]:
    s = session.settings
    rows: list[dict] = []
    for dataset in s.datasets:
        for model in s.models:
            rows += study_rows(session, dataset, model)
    frame = pd.DataFrame(rows)
    notes = [
        f"{s.noise_trials} trials per study, {s.jobs} workers, median over {s.seeds} seed(s); 'split': scored on the validation split; "
        f"'cv{s.noise_folds}': --cv {s.noise_folds} (stratified folds of train+validation, fixed by the seed)",
        "test_auc: the study's best configuration retrained on the training split and scored on the test split; "
        "over_tuning: the study's best score minus that test AUC",
    ]
    return [Table("Small-sample noise: median over seeds", summarise(frame), notes), Table("Small-sample noise: every study", frame)]
