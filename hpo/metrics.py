"""Classifier metrics that stay correct with signed event weights.

Simulation at next-to-leading order gives some events negative weights. ``sklearn.metrics``
refuses such ROC curves ("x is neither increasing nor decreasing"), so every objective and report
in hpo uses these functions instead. The ROC curve is built from the signed cumulative weight
sums of signal and background above each distinct score, and its area by the trapezoid rule over
those points, which tolerates non-monotone steps and equals the weighted Mann-Whitney statistic
(pairs of equal score count one half).

Conventions: ``y`` is 1 for signal and 0 for background, ``score`` is larger for more
signal-like events, ``w`` are event weights (``None`` means all ones).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray


class Cumulative(NamedTuple):
    """Signed weight sums of signal and background with score >= each distinct threshold."""

    thresholds: NDArray[np.float64]  # distinct scores, descending
    signal: NDArray[np.float64]
    background: NDArray[np.float64]


def _inputs(y: ArrayLike, score: ArrayLike, w: ArrayLike | None) -> tuple[np.ndarray, ...]:
    y = np.asarray(y).ravel()
    score = np.asarray(score, dtype=np.float64).ravel()
    w = np.ones_like(score) if w is None else np.asarray(w, dtype=np.float64).ravel()
    if not (len(y) == len(score) == len(w)):
        raise ValueError(f"y, score and w differ in length: {len(y)}, {len(score)}, {len(w)}")
    if len(y) == 0:
        raise ValueError("no events to evaluate")
    if not np.all(np.isfinite(score)):
        raise ValueError("scores contain NaN or infinite values")
    return y.astype(bool), score, w


def cumulative(y: ArrayLike, score: ArrayLike, w: ArrayLike | None = None) -> Cumulative:
    """Signed cumulative signal and background weights above each distinct score, descending."""
    is_sig, score, w = _inputs(y, score, w)
    order = np.argsort(-score, kind="mergesort")
    score, is_sig, w = score[order], is_sig[order], w[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(score)), len(score) - 1]
    sig = np.cumsum(np.where(is_sig, w, 0.0))[last_of_tie]
    bkg = np.cumsum(np.where(is_sig, 0.0, w))[last_of_tie]
    return Cumulative(score[last_of_tie], sig, bkg)


def _totals(c: Cumulative) -> tuple[float, float]:
    sig, bkg = float(c.signal[-1]), float(c.background[-1])
    if sig <= 0 or bkg <= 0:
        raise ValueError(
            f"the signed weight sum must be positive for both classes (signal {sig:g}, background {bkg:g})"
        )
    return sig, bkg


def roc_curve(
    y: ArrayLike, score: ArrayLike, w: ArrayLike | None = None
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Weighted ROC curve: ``(fpr, tpr, thresholds)``, starting at (0, 0) with threshold +inf.

    With negative weights the curve may step backwards; it is returned as is.
    """
    c = cumulative(y, score, w)
    sig, bkg = _totals(c)
    fpr = np.r_[0.0, c.background / bkg]
    tpr = np.r_[0.0, c.signal / sig]
    return fpr, tpr, np.r_[np.inf, c.thresholds]


def roc_auc(y: ArrayLike, score: ArrayLike, w: ArrayLike | None = None) -> float:
    """Weighted area under the ROC curve (weighted Mann-Whitney; ties count one half)."""
    fpr, tpr, _ = roc_curve(y, score, w)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1])) / 2.0)


def signal_efficiency_at(
    y: ArrayLike, score: ArrayLike, w: ArrayLike | None = None, background_efficiency: float = 0.1
) -> float:
    """Signal efficiency at the first cut where the background efficiency reaches the target.

    Linear interpolation between the two ROC points around the target.
    """
    if not 0.0 < background_efficiency <= 1.0:
        raise ValueError(f"background_efficiency must be in (0, 1], got {background_efficiency}")
    fpr, tpr, _ = roc_curve(y, score, w)
    i = int(np.argmax(fpr >= background_efficiency))
    if i == 0:
        return float(tpr[0])
    x0, x1, y0, y1 = fpr[i - 1], fpr[i], tpr[i - 1], tpr[i]
    if x1 == x0:
        return float(y1)
    return float(y0 + (y1 - y0) * (background_efficiency - x0) / (x1 - x0))


def ams(s: ArrayLike, b: ArrayLike, b_reg: float = 0.0) -> NDArray[np.float64]:
    """Approximate median significance ``sqrt(2((s+b+br) ln(1+s/(b+br)) - s))``.

    ``s`` and ``b`` are expected signal and background yields; ``b_reg`` regularises small
    backgrounds. Where ``b + b_reg <= 0`` or ``s < 0`` the result is NaN.
    """
    s = np.asarray(s, dtype=np.float64)
    bb = np.asarray(b, dtype=np.float64) + b_reg
    ok = (bb > 0) & (s >= 0)
    safe_b = np.where(ok, bb, 1.0)
    safe_s = np.where(ok, s, 0.0)
    radicand = 2.0 * ((safe_s + safe_b) * np.log1p(safe_s / safe_b) - safe_s)
    return np.where(ok, np.sqrt(np.maximum(radicand, 0.0)), np.nan)


class CutScan(NamedTuple):
    """Quantities for a selection ``score >= threshold`` at every distinct threshold."""

    thresholds: NDArray[np.float64]
    signal: NDArray[np.float64]  # selected signal yield
    background: NDArray[np.float64]  # selected background yield
    efficiency: NDArray[np.float64]  # signal efficiency
    purity: NDArray[np.float64]  # s / (s + b)
    ams: NDArray[np.float64]


def cut_scan(y: ArrayLike, score: ArrayLike, w: ArrayLike | None = None, b_reg: float = 0.0) -> CutScan:
    """Signal and background yields, efficiency, purity and AMS for every cut on the score.

    ``w`` should be physical weights (expected yields) for the AMS to mean a significance.
    """
    c = cumulative(y, score, w)
    sig_total, _ = _totals(c)
    selected = c.signal + c.background
    with np.errstate(divide="ignore", invalid="ignore"):
        purity = np.where(selected > 0, c.signal / selected, np.nan)
    return CutScan(c.thresholds, c.signal, c.background, c.signal / sig_total, purity, ams(c.signal, c.background, b_reg))


def best_ams(y: ArrayLike, score: ArrayLike, w: ArrayLike | None = None, b_reg: float = 0.0) -> tuple[float, float]:
    """The highest AMS over all cuts and the cut that gives it: ``(ams, threshold)``."""
    scan = cut_scan(y, score, w, b_reg)
    if np.all(np.isnan(scan.ams)):
        return float("nan"), float("nan")
    i = int(np.nanargmax(scan.ams))
    return float(scan.ams[i]), float(scan.thresholds[i])


def confusion_matrix(y: ArrayLike, score: ArrayLike, w: ArrayLike | None = None, cut: float = 0.5) -> NDArray[np.float64]:
    """Weighted confusion matrix at ``score >= cut``: ``[[TN, FP], [FN, TP]]`` (rows: true class)."""
    is_sig, score, w = _inputs(y, score, w)
    selected = score >= cut
    return np.array(
        [
            [w[~is_sig & ~selected].sum(), w[~is_sig & selected].sum()],
            [w[is_sig & ~selected].sum(), w[is_sig & selected].sum()],
        ]
    )
