"""Validation scores an objective can maximise: weighted ROC AUC, best AMS, signal efficiency."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from hpo import metrics
from hpo.data.prepared import Split
from hpo.errors import UsageError

METRICS_HELP = "auc (weighted ROC AUC), ams (best AMS over cuts) or sig_eff@B (signal efficiency at background efficiency B, e.g. sig_eff@0.1)"
_SIG_EFF = re.compile(r"^sig_eff@(?P<b>[0-9.eE+-]+)$")


@dataclass(frozen=True)
class Scorer:
    """A named score of classifier outputs on one split; higher is better."""

    name: str
    background_efficiency: float | None = None
    b_reg: float = 0.0  # background regularisation of the AMS

    def __call__(self, split: Split, scores: np.ndarray, fraction: float = 1.0) -> float:
        """Score ``scores`` on ``split``; ``fraction`` is the split's share of all events.

        AMS uses the physical weights scaled to the full sample's yield (``w_phys / fraction``);
        the other scores use the per-class normalised weights ``split.w``.
        """
        if self.name == "auc":
            return metrics.roc_auc(split.y, scores, split.w)
        if self.name == "ams":
            return metrics.best_ams(split.y, scores, split.w_phys / fraction, self.b_reg)[0]
        return metrics.signal_efficiency_at(split.y, scores, split.w, self.background_efficiency or 0.0)


def make_scorer(metric: str, b_reg: float = 0.0) -> Scorer:
    """The scorer named ``metric``: ``auc``, ``ams`` (with background regularisation ``b_reg``) or
    ``sig_eff@B`` with 0 < B <= 1."""
    if metric in ("auc", "ams"):
        return Scorer(metric, b_reg=b_reg if metric == "ams" else 0.0)
    match = _SIG_EFF.match(metric)
    if match:
        try:
            b = float(match["b"])
        except ValueError:
            b = -1.0
        if 0.0 < b <= 1.0:
            return Scorer(metric, b)
        raise UsageError(f"metric {metric!r}: the background efficiency must be a number in (0, 1]")
    raise UsageError(f"unknown metric {metric!r}; use {METRICS_HELP}")
