"""Benchmark 3: hpo against the raw libraries it drives, same objective, same budget.

``skopt.gp_minimize`` and plain Optuna TPE studies (in memory, and on an SQLite file like hpo's)
call hpo's own objective (through :class:`optuna.trial.FixedTrial` for skopt), one process each,
as hpo runs with one worker on its SQLite store. Time outside the objective = wall time minus the
time spent inside it. The SQLite peer separates what the store costs from what hpo adds.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from typing import Any

import joblib
import optuna
import pandas as pd

from hpo.objectives import build_objective, limit_threads
from benchmarks.report import Table, stopwatch
from benchmarks.session import Session

TITLE = "Against the raw libraries: skopt.gp_minimize and plain Optuna TPE vs hpo bayes and tpe"
MODEL = "rf"
PAIRS = (("bayes", "skopt.gp_minimize"), ("tpe", "optuna TPESampler"), ("tpe", "optuna TPESampler (SQLite)"))


class TimedObjective:
    """Wraps an objective, adding up the seconds spent inside it."""

    def __init__(self, objective: Callable[[optuna.Trial], float]) -> None:
        self.objective = objective
        self.inside_s = 0.0

    def __call__(self, trial: optuna.Trial) -> float:
        start = time.perf_counter()
        try:
            return self.objective(trial)
        finally:
            self.inside_s += time.perf_counter() - start


_LAST: list[TimedObjective] = []  # the objective of the latest in-process hpo study


def timed_factory(*args: Any, **kwargs: Any) -> TimedObjective:
    """hpo's objective factory, wrapped in a timer (the study runs in this process: one worker)."""
    objective = TimedObjective(build_objective(*args, **kwargs))
    _LAST.append(objective)
    return objective


def _raw_gp(objective: TimedObjective, space: Any, n_trials: int, seed: int) -> float:
    from skopt import gp_minimize

    def loss(point: list[Any]) -> float:
        return -objective(optuna.trial.FixedTrial(space.params_from_skopt(point)))

    result = gp_minimize(loss, space.skopt_dimensions(), n_calls=n_trials, n_initial_points=min(10, n_trials), random_state=seed)
    return float(-result.fun)


def _raw_tpe(objective: TimedObjective, space: Any, n_trials: int, seed: int, storage: str | None = None) -> float:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed), storage=storage)
    study.optimize(objective, n_trials=n_trials)
    return float(study.best_value)


def _raw(peer: str, objective: TimedObjective, space: Any, n_trials: int, seed: int) -> float:
    if peer == "skopt.gp_minimize":
        return _raw_gp(objective, space, n_trials, seed)
    if peer.endswith("(SQLite)"):
        with tempfile.TemporaryDirectory() as folder:
            return _raw_tpe(objective, space, n_trials, seed, storage=f"sqlite:///{folder}/optuna.db")
    return _raw_tpe(objective, space, n_trials, seed)


def run(session: Session) -> list[Table]:
    s = session.settings
    data, space = session.dataset("synthetic"), session.space(MODEL)
    threads = joblib.cpu_count()
    limit_threads(threads)
    rows = []
    for algo, peer in PAIRS:
        for seed in s.seed_values:
            raw = TimedObjective(build_objective(MODEL, data, space, threads=threads, seed=seed))
            with stopwatch() as t:
                best = _raw(peer, raw, space, s.raw_trials, seed)
            rows.append(_row(peer, algo, seed, best, t["s"], raw.inside_s, s.raw_trials))
            if any(r["tool"] == f"hpo {algo}" and r["seed"] == seed for r in rows):
                continue  # hpo's study of this algorithm and seed is already measured
            _LAST.clear()
            with stopwatch() as t:
                study = session.study(MODEL, algo, data, space=space, n_trials=s.raw_trials, seed=seed, jobs=1,
                                      fresh=True, objective_factory=timed_factory)  # fmt: skip
            rows.append(_row(f"hpo {algo}", algo, seed, study.best_value, t["s"], _LAST[-1].inside_s, s.raw_trials))
    frame = pd.DataFrame(rows)
    summary = frame.groupby(["algo", "tool"], sort=False).agg(
        seeds=("seed", "nunique"), best_val_auc=("best_val_auc", "median"), auc_min=("best_val_auc", "min"),
        auc_max=("best_val_auc", "max"), wall_per_trial_s=("wall_per_trial_s", "median"),
        outside_per_trial_s=("outside_per_trial_s", "median"),
    ).reset_index()  # fmt: skip
    extra = []
    for algo, peer in PAIRS:
        pair = summary[summary["algo"] == algo].set_index("tool")
        ours, theirs = pair.loc[f"hpo {algo}"], pair.loc[peer]
        extra.append({
            "hpo": algo, "peer": peer, "auc_difference": ours["best_val_auc"] - theirs["best_val_auc"],
            "peer_seed_range": theirs["auc_max"] - theirs["auc_min"],
            "extra_outside_per_trial_s": ours["outside_per_trial_s"] - theirs["outside_per_trial_s"],
        })  # fmt: skip
    notes = [
        f"{MODEL} on the synthetic data, search_spaces/rf.yaml (n_estimators <= {s.rf_max_trees}), {s.raw_trials} trials, "
        f"median over {s.seeds} seed(s); every tool runs hpo's objective in one process with {threads} threads",
        "hpo runs on its SQLite store with heartbeats and a worker loop; the peers keep everything in memory, "
        "except 'optuna TPESampler (SQLite)', a plain Optuna study on an SQLite file",
        "gp_minimize: default gp_hedge acquisition, 10 initial points; TPESampler: Optuna's defaults "
        "(hpo's tpe is multivariate with constant liar)",
        "outside_per_trial_s: wall time minus time inside the objective, per trial (hpo's includes worker start-up and data loading)",
    ]
    return [Table("Raw libraries: hpo minus peer", pd.DataFrame(extra), notes), Table("Raw libraries: per tool", summary)]


def _row(tool: str, algo: str, seed: int, best: float, wall_s: float, inside_s: float, n: int) -> dict[str, Any]:
    return {"tool": tool, "algo": algo, "seed": seed, "best_val_auc": best, "wall_s": wall_s,
            "wall_per_trial_s": wall_s / n, "outside_per_trial_s": (wall_s - inside_s) / n, "objective_share": inside_s / wall_s}  # fmt: skip
