"""Regret of compared studies: how far each study's best so far is from a common reference.

The reference is the Bayes-optimal validation AUC when every study tuned the AUC on one synthetic
dataset (no classifier can do better in expectation), and otherwise the best value any compared
study reached. Drawn on a log scale, the regret separates curves that a linear AUC axis, stretched
by the first poor trials, shows on top of each other.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator
from numpy.typing import NDArray

from hpo.data.limit import bayes_limit
from hpo.data.prepared import PreparedDataset
from hpo.errors import HpoError, StoreError
from hpo.reports import history, style
from hpo.reports.history import Axis, StudyHistory

BAYES_LIMIT = "bayes limit"
BEST_REACHED = "best reached"


@dataclass(frozen=True)
class Reference:
    """The value regrets are measured from: the Bayes limit or the best any study reached."""

    value: float
    kind: str  # BAYES_LIMIT or BEST_REACHED
    note: str = ""  # why the Bayes limit was not used, when it was not

    @property
    def label(self) -> str:
        """How plots and tables name the reference."""
        if self.kind == BAYES_LIMIT:
            return f"Bayes limit {self.value:.4f} (validation split)"
        return f"best reached {self.value:.4f}"


def best_reached(histories: list[StudyHistory]) -> float:
    """The best final value over the studies (maximum or minimum as their direction says)."""
    finals = [h.best for h in histories if len(h)]
    if not finals:
        raise StoreError("none of the studies has a finished trial to compare")
    return max(finals) if histories[0].maximize else min(finals)


def reference(histories: list[StudyHistory], dataset: PreparedDataset | None) -> Reference:
    """The Bayes limit on the validation split of ``dataset`` (the one dataset all studies tuned on,
    None if they differ) when the studies maximise the AUC and the sample is synthetic; otherwise
    the best value any study reached."""
    reached = best_reached(histories)
    if len({h.maximize for h in histories}) != 1:
        raise StoreError("the studies optimise in different directions; compare studies of one objective")
    if {h.metric for h in histories} != {"auc"} or dataset is None:
        return Reference(reached, BEST_REACHED, "the studies do not all tune the validation AUC of one dataset")
    if not dataset.meta.get("description", {}).get("synthetic"):
        return Reference(reached, BEST_REACHED, "the sample is not synthetic, so its Bayes limit is unknown")
    try:
        return Reference(bayes_limit(dataset, "val"), BAYES_LIMIT)
    except HpoError as err:
        return Reference(reached, BEST_REACHED, f"no Bayes limit: {err}")


def regret(history: StudyHistory, ref: Reference) -> NDArray[np.float64]:
    """Distance of the best so far to the reference after each finished trial (negative: beyond it)."""
    best = history.best_so_far
    return ref.value - best if history.maximize else best - ref.value


def regret_table(histories: list[StudyHistory], ref: Reference) -> pd.DataFrame:
    """One row per finished trial of each study: study, finished-trial count, Optuna trial number,
    best so far, reference and regret."""
    frames = [
        pd.DataFrame({"study": h.name, "trials": np.arange(1, len(h) + 1), "trial_number": h.numbers,
                      "best_so_far": h.best_so_far, "reference": ref.value, "reference_kind": ref.kind,
                      "regret": regret(h, ref)})
        for h in histories if len(h)
    ]  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def _floor(histories: list[StudyHistory], ref: Reference) -> float:
    """Where regrets of zero or less are drawn on the log axis: a decade below the smallest positive one."""
    positive = np.concatenate([r[r > 0] for r in (regret(h, ref) for h in histories)])
    return float(positive.min()) / 10 if positive.size else 1e-6


def plot_regret(histories: list[StudyHistory], ref: Reference, axis: Axis, path: str | Path) -> Path:
    """Regret against trials or wall-clock time on a log scale, one curve per study, seeds of one
    (algorithm, model) as the median with an inter-quartile band; regrets of zero or less (the
    study that reached the reference) are drawn on a dotted line below the others. Returns ``path``."""
    histories = [h for h in histories if len(h)]
    if not histories:
        raise StoreError("none of the studies has a finished trial to compare")
    grid = history.grid_of(histories, axis)
    floor = _floor(histories, ref)
    sign = 1.0 if histories[0].maximize else -1.0

    def regrets(h: StudyHistory) -> NDArray[np.float64]:
        return np.maximum(sign * (ref.value - history.curve(h, axis, grid)), floor)

    with style.hep_style():
        fig, (ax,) = style.figure()
        for group, members in history.grouped(histories).items():
            color, ls = style.algo_color(group[0]), style.model_linestyle(group[1])
            if len(members) > 1:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # columns before any seed's first trial
                    q25, median, q75 = np.nanpercentile(np.vstack([regrets(h) for h in members]), [25, 50, 75], axis=0)
                ax.step(grid, median, where="post", color=color, ls=ls,
                        label=f"{history.group_label(group)} (median of {len(members)} seeds)")
                ax.fill_between(grid, q25, q75, step="post", color=color, alpha=0.25, lw=0)
            else:
                (h,) = members
                ax.step(grid, regrets(h), where="post", color=color, ls=ls, label=f"{history.group_label(group)}: {h.name}")
        if any((regret(h, ref) <= 0).any() for h in histories):
            ax.axhline(floor, color="gray", ls=":", lw=1)
            ax.text(grid[-1], floor, "reached the reference ", ha="right", va="bottom", fontsize=11, color="gray")
        low, high = ax.dataLim.intervaly  # matplotlib's own extent of what is drawn (to rounding)
        if np.isclose(low, high, rtol=1e-9, atol=0):  # one regret everywhere (each study's first trial its best): a decade each side
            ax.set_ylim(low / 10, high * 10)
        ax.set_yscale("log")
        if axis == "trials":
            ax.set_xlabel("Number of trials")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        else:
            ax.set_xlabel("Wall-clock time [s]")
        metric = history.metric_label(histories[0].metric)
        ax.set_ylabel(f"Regret in {metric[0].lower()}{metric[1:]}")
        ax.legend(loc="upper right", fontsize=13)
        style.label(ax, ref.label)
        return style.save(fig, path)

