"""Best-so-far curves of studies, against trials and wall-clock time, with seed bands.

A study's history is its finished trials in completion order. Studies of the same algorithm and
model that differ only in seed are summarised by the median best-so-far curve and its
inter-quartile band.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import optuna
from matplotlib.ticker import MaxNLocator
from numpy.typing import NDArray

from hpo.errors import StoreError
from hpo.reports import style

Axis = Literal["trials", "time"]
# A study counts as converged from the first trial within this distance of its final best.
CONVERGENCE_TOLERANCE = 0.002
_TIME_GRID_POINTS = 300


@dataclass(frozen=True)
class StudyHistory:
    """The finished trials of one study, in completion order."""

    name: str
    algo: str | None
    model: str | None
    seed: int | None
    metric: str
    maximize: bool
    numbers: NDArray[np.int64]  # Optuna trial numbers
    values: NDArray[np.float64]  # objective values
    durations_s: NDArray[np.float64]  # wall-clock time of each trial
    elapsed_s: NDArray[np.float64]  # completion time since the study's first trial started
    pruned: int = 0  # trials stopped by the pruner
    spent_s: float = float("nan")  # wall-clock time of every ended trial: pruned and failed ones too (NaN: unknown)

    def __len__(self) -> int:
        return len(self.values)

    @property
    def best_so_far(self) -> NDArray[np.float64]:
        """Best objective value after each finished trial."""
        return np.maximum.accumulate(self.values) if self.maximize else np.minimum.accumulate(self.values)

    @property
    def best(self) -> float:
        """The final best objective value (NaN for a study without finished trials)."""
        return float(self.best_so_far[-1]) if len(self) else float("nan")

    def trials_to_within(self, tolerance: float = CONVERGENCE_TOLERANCE) -> int | None:
        """How many finished trials it took to first come within ``tolerance`` of the final best."""
        if not len(self):
            return None
        gap = np.abs(self.best - self.best_so_far)
        return int(np.argmax(gap <= tolerance)) + 1

    @property
    def group(self) -> tuple[str | None, str | None]:
        """Studies with the same (algorithm, model) are seeds of one configuration."""
        return self.algo, self.model


def load_history(study: optuna.Study) -> StudyHistory:
    """The history of a single-objective study (trials that finished, in completion order)."""
    if len(study.directions) != 1:
        raise StoreError(f"study {study.study_name!r} has several objectives; hpo reports need exactly one")
    trials = study.get_trials(deepcopy=False)
    done = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE and t.value is not None]
    done.sort(key=lambda t: (t.datetime_complete, t.number))
    ended = [t for t in trials if t.state.is_finished() and t.duration is not None]
    starts = [t.datetime_start for t in trials if t.datetime_start is not None]
    t0 = min(starts) if starts else None
    attrs = study.user_attrs
    seed = attrs.get("seed")
    return StudyHistory(
        name=study.study_name,
        algo=attrs.get("algo"),
        model=attrs.get("model"),
        seed=None if seed is None else int(seed),
        metric=str(attrs.get("metric", "auc")),
        maximize=study.direction == optuna.study.StudyDirection.MAXIMIZE,
        numbers=np.array([t.number for t in done], dtype=np.int64),
        values=np.array([t.value for t in done], dtype=np.float64),
        durations_s=np.array([t.duration.total_seconds() if t.duration else np.nan for t in done]),
        elapsed_s=np.array([(t.datetime_complete - t0).total_seconds() for t in done]),
        pruned=sum(t.state == optuna.trial.TrialState.PRUNED for t in trials),
        spent_s=float(sum(t.duration.total_seconds() for t in ended)),
    )


def metric_label(metric: str) -> str:
    """Axis label of an objective, e.g. 'Validation AUC'."""
    return f"Validation {metric.upper() if len(metric) <= 4 else metric.replace('_', ' ')}"


def curve(history: StudyHistory, axis: Axis, grid: NDArray[np.float64]) -> NDArray[np.float64]:
    """Best-so-far values of ``history`` on ``grid`` (trial counts or seconds); NaN before the first trial."""
    best = history.best_so_far
    if axis == "trials":
        x = np.arange(1, len(best) + 1, dtype=np.float64)
    else:
        x = history.elapsed_s
    index = np.searchsorted(x, grid, side="right") - 1
    out = np.full(len(grid), np.nan)
    ok = index >= 0
    out[ok] = best[index[ok]]
    out[grid > x[-1]] = np.nan  # nothing is known beyond the study's last trial
    return out


def band(histories: list[StudyHistory], axis: Axis, grid: NDArray[np.float64]) -> tuple[NDArray, NDArray, NDArray]:
    """Median and inter-quartile range (25th, 75th percentile) of the best-so-far curves on ``grid``."""
    curves = np.vstack([curve(h, axis, grid) for h in histories])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # columns before any study's first trial
        q25, median, q75 = np.nanpercentile(curves, [25, 50, 75], axis=0)
    return median, q25, q75


def grid_of(histories: list[StudyHistory], axis: Axis) -> NDArray[np.float64]:
    """Common x values of the curves: trial counts 1..longest, or wall-clock seconds."""
    if axis == "trials":
        return np.arange(1, max(len(h) for h in histories) + 1, dtype=np.float64)
    end = max(float(h.elapsed_s.max()) for h in histories)
    return np.linspace(0.0, end, _TIME_GRID_POINTS)


def group_label(group: tuple[str | None, str | None]) -> str:
    """Legend label of an (algorithm, model) group, e.g. 'RF tpe'."""
    return " ".join(x for x in (group[1] and group[1].upper(), group[0]) if x) or "study"


def grouped(histories: list[StudyHistory]) -> dict[tuple[str | None, str | None], list[StudyHistory]]:
    """Histories by (algorithm, model): the seeds of one configuration together, in first-seen order."""
    groups: dict[tuple[str | None, str | None], list[StudyHistory]] = defaultdict(list)
    for h in histories:
        groups[h.group].append(h)
    return dict(groups)


def plot_comparison(histories: list[StudyHistory], axis: Axis, path: str | Path) -> Path:
    """Best-so-far objective against trials or wall-clock time, one curve per study.

    Studies repeating one (algorithm, model) with different seeds are drawn as the median curve
    with an inter-quartile band. Returns ``path``.
    """
    histories = [h for h in histories if len(h)]
    if not histories:
        raise StoreError("none of the studies has a finished trial to compare")
    groups = grouped(histories)
    grid = grid_of(histories, axis)
    with style.hep_style():
        fig, (ax,) = style.figure()
        for group, members in groups.items():
            color, ls = style.algo_color(group[0]), style.model_linestyle(group[1])
            if len(members) > 1:
                median, q25, q75 = band(members, axis, grid)
                ax.step(grid, median, where="post", color=color, ls=ls,
                        label=f"{group_label(group)} (median of {len(members)} seeds)")
                ax.fill_between(grid, q25, q75, step="post", color=color, alpha=0.25, lw=0)
            else:
                (h,) = members
                ax.step(grid, curve(h, axis, grid), where="post", color=color, ls=ls, label=f"{group_label(group)}: {h.name}")
        if axis == "trials":
            ax.set_xlabel("Number of trials")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        else:
            ax.set_xlabel("Wall-clock time [s]")
        ax.set_ylabel(f"Best-so-far {metric_label(histories[0].metric)[0].lower()}{metric_label(histories[0].metric)[1:]}")
        ax.legend(loc="lower right", fontsize=13)
        style.label(ax, "best so far")
        return style.save(fig, path)


def plot_history(history: StudyHistory, path: str | Path) -> Path:
    """Optimisation history of one study: every trial's value and the best so far."""
    if not len(history):
        raise StoreError(f"study {history.name!r} has no finished trial")
    n = np.arange(1, len(history) + 1)
    with style.hep_style():
        fig, (ax,) = style.figure()
        ax.plot(n, history.values, "o", color="tab:gray", ms=5, alpha=0.7, label="Trial")
        ax.step(n, history.best_so_far, where="post", color=style.algo_color(history.algo), lw=2, label="Best so far")
        ax.set_xlabel("Number of finished trials")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(metric_label(history.metric))
        ax.legend(loc="lower right")
        style.label(ax, history.name)
        return style.save(fig, path)
