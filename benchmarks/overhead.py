"""Benchmark 4: time per trial spent outside the objective (sampling, storage, data loading).

Studies run with one worker in this process, so every objective call can be timed from outside:
the overhead of a trial is the time between the end of one objective call and the end of the
next, minus the time inside the second. It is read in a window of trials ending at each size
(e.g. 200 and 1000) of one growing study in one SQLite store; start-up (store, worker, data
loading, until the first objective call) is reported apart.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import optuna
import pandas as pd

from hpo.spaces import SearchSpace
from hpo.objectives import build_objective
from benchmarks.report import Table
from benchmarks.session import Session

TITLE = "Overhead: time per trial outside the objective"
CHEAP_ALGOS = ("random", "tpe", "cmaes", "bayes")
SLOW_ALGOS = ("bayes",)  # GP fits grow with the cube of the trials: run to the smaller size only


class _TimedTrial:
    """Proxy of a trial that adds up the seconds spent in its methods (sampling, storage writes)."""

    def __init__(self, trial: optuna.Trial) -> None:
        self._trial = trial
        self.seconds = 0.0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._trial, name)
        if not callable(attr):
            return attr

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return attr(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start

        return timed


class IntervalObjective:
    """Wraps an objective; records ``(start, end, seconds in trial methods)`` of each call.

    Time in the trial's methods (``suggest_*``: sampling; ``set_user_attr``, ``report``:
    storage) is hpo's and Optuna's, not the objective's, and so counts as overhead.
    """

    def __init__(self, objective: Callable[[optuna.Trial], float]) -> None:
        self.objective = objective
        self.calls: list[tuple[float, float, float]] = []

    def __call__(self, trial: optuna.Trial) -> float:
        proxy = _TimedTrial(trial)
        start = time.perf_counter()
        try:
            return self.objective(proxy)  # type: ignore[arg-type]
        finally:
            self.calls.append((start, time.perf_counter(), proxy.seconds))


class CheapObjective:
    """A smooth function of the suggested parameters: costs microseconds, so all time is overhead."""

    def __init__(self, space: SearchSpace) -> None:
        self.space = space

    def __call__(self, trial: optuna.Trial) -> float:
        params = self.space.suggest(trial)
        loss = 0.0
        for name, dist in self.space.distributions().items():
            if isinstance(dist, (optuna.distributions.IntDistribution, optuna.distributions.FloatDistribution)):
                u = (params[name] - dist.low) / max(dist.high - dist.low, 1e-12)
                loss += (u - 0.3) ** 2
        return 1.0 - loss / len(params)


_CALLS: list[IntervalObjective] = []


def cheap_factory(model: str, data: Any, space: SearchSpace, **_: Any) -> IntervalObjective:
    objective = IntervalObjective(CheapObjective(space))
    _CALLS.append(objective)
    return objective


def real_factory(*args: Any, **kwargs: Any) -> IntervalObjective:
    objective = IntervalObjective(build_objective(*args, **kwargs))
    _CALLS.append(objective)
    return objective


def windows(calls: list[tuple[float, float, float]], started: float, sizes: list[int]) -> tuple[float, list[dict[str, float]]]:
    """Start-up seconds and, per size N, median trial time and overhead over the last tenth (at least 10) of the trials up to N."""
    starts, ends, in_trial_api = np.array(calls).T
    inside = ends - starts - in_trial_api
    cycle = np.diff(np.concatenate([[starts[0]], ends]))  # trial 0: its own call only
    outside = cycle - inside
    out = []
    for n in sizes:
        lo = max(1, n - max(10, n // 10))
        window = slice(lo, n)
        out.append({"trials": n, "trial_s": float(np.median(cycle[window])), "outside_s": float(np.median(outside[window]))})
    return float(starts[0] - started), out


def _measure(session: Session, label: str, model: str, algo: str, space: SearchSpace, sizes: list[int], factory: Any) -> list[dict]:
    _CALLS.clear()
    started = time.perf_counter()
    session.study(model, algo, session.dataset("synthetic"), space=space, n_trials=max(sizes), jobs=1, fresh=True, objective_factory=factory)
    startup, rows = windows(_CALLS[-1].calls, started, sizes)
    return [{"objective": label, "algo": algo, **r, "startup_s": startup, "outside_fraction": r["outside_s"] / r["trial_s"]} for r in rows]


def run(session: Session) -> list[Table]:
    s = session.settings
    small, large = s.overhead_trials
    rows = []
    space = session.space("rf")
    for algo in CHEAP_ALGOS:
        sizes = [small] if algo in SLOW_ALGOS else [small, large]
        rows += _measure(session, "cheap (rf space)", "rf", algo, space, sizes, cheap_factory)
    for model in s.models:
        rows += _measure(session, f"real {model}", model, "tpe", session.space(model), [s.real_overhead_trials], real_factory)
    notes = [
        f"one SQLite store, one worker; cheap objective: a smooth function of the RF space's parameters; "
        f"bayes only to {small} trials (its GP refit grows with the cube of the trials)",
        "trial_s / outside_s: medians over the last tenth (at least 10, never the first) of the trials up to that size; outside = sampling, "
        "storage reads and writes (also those made through the trial inside the objective), heartbeats; startup_s: store, worker, data loading until the first objective call",
        f"real objectives: tpe, {s.real_overhead_trials} trials on the benchmark's synthetic sample",
    ]
    return [Table("Overhead per trial", pd.DataFrame(rows), notes)]
