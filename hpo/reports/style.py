"""Figure style shared by every hpo plot: CMS-like mplhep style, one colour per algorithm, units.

All figures are drawn on matplotlib's non-interactive Agg canvas, so reports work on machines
without a display. Use :func:`figure` to create a styled figure and :func:`save` to write it.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before pyplot: reports never need a display

import matplotlib.pyplot as plt  # noqa: E402
import mplhep as hep  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

# Colour of each algorithm's curves (matplotlib's colour-blind friendly 'tab10' order).
ALGO_COLORS = {
    "grid": "tab:blue",
    "random": "tab:gray",
    "bayes": "tab:red",
    "tpe": "tab:green",
    "cmaes": "tab:purple",
}
_FALLBACK_COLORS = ("tab:orange", "tab:brown", "tab:pink", "tab:olive", "tab:cyan")

# Line style of each model, so that two models of one algorithm stay apart.
MODEL_LINESTYLES = {"rf": "-", "ann": "--"}

SIGNAL_COLOR = "tab:red"
BACKGROUND_COLOR = "tab:blue"
SELECTED_COLOR = "black"



@dataclass(frozen=True)
class Tag:
    """What the corner of a figure says about the sample: experiment ('CMS'; empty: none) and status ('Open Data')."""

    experiment: str = ""
    status: str = ""

    def __bool__(self) -> bool:
        return bool(self.experiment or self.status)

    def __str__(self) -> str:
        return " ".join(x for x in (self.experiment, self.status) if x)


SIMULATION = "Simulation"
# The tag figures carry while :func:`tagged` sets none: no experiment, no status.
_TAG: contextvars.ContextVar[Tag] = contextvars.ContextVar("hpo_figure_tag", default=Tag())

DPI = 100


def algo_color(algo: str | None) -> str:
    """The colour of an algorithm's curves (a stable fallback for unknown names)."""
    if algo in ALGO_COLORS:
        return ALGO_COLORS[algo]
    return _FALLBACK_COLORS[sum(map(ord, algo or "")) % len(_FALLBACK_COLORS)]


def model_linestyle(model: str | None) -> str:
    """The line style of a model's curves."""
    return MODEL_LINESTYLES.get(model or "", "-.")


@contextlib.contextmanager
def hep_style() -> Iterator[None]:
    """Apply the CMS-like mplhep style inside the block only (global rcParams are restored)."""
    with plt.style.context(hep.style.CMS):
        yield


def figure(ncols: int = 1, width: float = 8.0, height: float = 6.5) -> tuple[Figure, list]:
    """A styled figure with ``ncols`` side-by-side axes; call inside :func:`hep_style`."""
    fig, axes = plt.subplots(1, ncols, figsize=(width * ncols, height), squeeze=False, layout="constrained")
    return fig, list(axes[0])


def tag_of(description: Mapping[str, Any] | None) -> Tag:
    """The tag a dataset description asks for: its ``experiment`` and ``status``; a status left unset
    is "Simulation" for a synthetic sample and none otherwise."""
    description = description or {}
    status = description.get("status")
    if status is None:
        status = SIMULATION if description.get("synthetic") is not None else ""
    return Tag(str(description.get("experiment") or ""), str(status))


def current_tag() -> Tag:
    """The tag :func:`label` draws now."""
    return _TAG.get()


@contextlib.contextmanager
def tagged(tag: Tag) -> Iterator[None]:
    """Draw ``tag`` on every figure made inside the block."""
    token = _TAG.set(tag)
    try:
        yield
    finally:
        _TAG.reset(token)


def label(ax, rlabel: str | None = None) -> None:
    """Draw the current tag (e.g. 'CMS Open Data', in the experiments' style; nothing without one) and an
    optional right-hand label."""
    tag = current_tag()
    if tag:
        hep.label.exp_text(tag.experiment, tag.status, ax=ax, fontsize=16)
    if rlabel:
        ax.set_title(rlabel, loc="right", fontsize=14)


def save(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` as a PNG file, close it, and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fig.savefig(path, format="png", dpi=DPI)  # the constrained layout already fits the figure: no second draw for a tight box
    finally:
        plt.close(fig)
    return path
