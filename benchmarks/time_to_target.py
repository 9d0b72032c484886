"""Benchmark 1: time to reach the exercise grid's best, GridSearchCV against hpo's samplers.

The exercise scores its grid by 3-fold cross-validation on the training events; hpo scores a
trial on the validation split. To compare like with like, the grid's chosen configuration is
retrained on the training split and scored on hpo's validation split: the target is that AUC
minus ``target_margin``, and every hpo trial is judged by its own validation AUC on the same
split. GridSearchCV learns its best only when the last fold of the last point is done, so its
time to target is its wall time; the time it first *evaluated* that point (from its per-fit
times, spread over its workers) is shown too. hpo's contestants are those of :data:`CONTESTANTS`
whose algorithm is among ``--algos``: ``tpe+mf`` is TPE with Hyperband over training events.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import sklearn
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import make_scorer
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from hpo import metrics
from hpo.data import PreparedDataset
from hpo.models.rf import max_features
from hpo.spaces import SearchSpace
from benchmarks.fidelity import time_to_target as first_reaching
from benchmarks.report import Table, stopwatch
from benchmarks.session import Session, trials_frame

TITLE = "Time to target: GridSearchCV over the exercise's RF grid vs hpo's samplers"
#: hpo contestant -> (algorithm, driver options).
CONTESTANTS: dict[str, tuple[str, dict[str, str]]] = {
    "tpe": ("tpe", {}),
    "tpe+mf": ("tpe", {"fidelity": "events", "prune": "hyperband"}),
    "bayes": ("bayes", {}),
    "random": ("random", {}),
}


def _weighted_auc(y_true: np.ndarray, y_score: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    return metrics.roc_auc(y_true, y_score, sample_weight)


def grid_search(data: PreparedDataset, space: SearchSpace, *, folds: int, jobs: int, seed: int) -> tuple[GridSearchCV, float]:
    """The exercise's GridSearchCV: k-fold, event weights in the fit and in the AUC; returns it and its wall time."""
    grid = space.grid_values()
    grid["max_features"] = sorted({max_features(v, data.n_features) for v in grid["max_features"]})
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = make_scorer(_weighted_auc, response_method="predict_proba").set_score_request(sample_weight="score_weight")
        forest = RandomForestClassifier(random_state=seed, n_jobs=1).set_fit_request(sample_weight=True)
        search = GridSearchCV(
            forest, grid, scoring=scorer, cv=StratifiedKFold(folds, shuffle=True, random_state=seed),
            n_jobs=jobs, refit=False, error_score="raise",
        )  # fmt: skip
        train = data.train
        with stopwatch() as t:
            search.fit(train.X, train.y, sample_weight=train.w_train, score_weight=train.w)
    return search, t["s"]


def _first_evaluated_s(search: GridSearchCV, jobs: int, folds: int) -> float:
    """Seconds until the best point's folds were all done, if fits ran in order over ``jobs`` workers."""
    cost = (np.asarray(search.cv_results_["mean_fit_time"]) + np.asarray(search.cv_results_["mean_score_time"])) * folds
    return float(np.cumsum(cost)[search.best_index_] / jobs)


def run(session: Session) -> list[Table]:
    s = session.settings
    space = session.exercise_grid()
    rows, summary = [], []
    for name in s.datasets:
        data = session.dataset(name)
        search, grid_s = grid_search(data, space, folds=s.cv_folds, jobs=s.jobs, seed=0)
        best = {k: v for k, v in search.best_params_.items()}
        grid_val = session.scores("rf", best, data, space).val_auc
        target = grid_val - s.target_margin
        n_points = len(search.cv_results_["params"])
        rows.append({
            "dataset": name, "tool": f"GridSearchCV ({s.cv_folds}-fold)", "seed": 0, "trials": n_points,
            "reached": True, "time_to_target_s": grid_s, "first_evaluated_s": _first_evaluated_s(search, s.jobs, s.cv_folds),
            "wall_s": grid_s, "best_val_auc": grid_val, "cv_auc": float(search.best_score_),
        })  # fmt: skip
        for contestant, (algo, options) in CONTESTANTS.items():
            if algo not in s.algos:
                continue
            times = []
            for seed in s.seed_values:
                start = datetime.now()
                with stopwatch() as t:
                    study = session.study("rf", algo, data, space=space, n_trials=s.target_trials, seed=seed, fresh=True, **options)
                trials = trials_frame(study)
                reached_s, trials_to_target = first_reaching(study, start, target)
                times.append(np.nan if reached_s is None else reached_s)
                rows.append({
                    "dataset": name, "tool": f"hpo {contestant}", "seed": seed, "trials": len(study.trials),
                    "reached": reached_s is not None, "time_to_target_s": times[-1],
                    "first_evaluated_s": times[-1], "wall_s": t["s"], "best_val_auc": float(trials["val_auc"].max()),
                    "cv_auc": np.nan, "trials_to_target": trials_to_target,
                })  # fmt: skip
            median = float(np.median(times)) if not np.isnan(times).any() else np.nan
            summary.append({
                "dataset": name, "grid_points": n_points, "target_val_auc": target, "hpo": contestant,
                "grid_time_s": grid_s, "hpo_median_time_s": median,
                "speed_up": grid_s / median if median > 0 else np.nan,
                "reached_seeds": f"{int(np.sum(~np.isnan(times)))}/{len(times)}",
            })  # fmt: skip
    notes = [
        f"space: {space.source} ({len(space.grid())} points); hpo's samplers search the ranges between the grid values",
        "grid_points: distinct configurations once max_features is clipped to the dataset's inputs "
        "(a dataset with fewer than 5 inputs has fewer than the full grid)",
        f"target = grid's best configuration retrained on the training split, validation AUC - {s.target_margin}",
        f"{s.jobs} workers for every tool; hpo studies capped at {s.target_trials} trials (NaN: target not reached)",
        "hpo tpe+mf: TPE with Hyperband over rungs of 1/9, 1/3 and all the training events (pruned trials' time included)",
        "GridSearchCV's time to target is its wall time (it knows its best only at the end); first_evaluated_s "
        "estimates when the best point's last fold was done",
    ]
    return [
        Table("Time to target: ratio GridSearchCV / hpo (median over seeds)", pd.DataFrame(summary), notes),
        Table("Time to target: every run", pd.DataFrame(rows)),
    ]
