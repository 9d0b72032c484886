"""Physics plots of a trained classifier: ROC, overtraining check, cut scan, confusion matrix,
feature importances and observables of the selected events.

Every weighted quantity comes from :mod:`hpo.metrics`, which stays correct with negative event
weights. Each ``plot_*`` function writes one PNG file; those that compute
numbers on the way (AUCs, p-values, yields) return them, the others return the path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import mplhep as hep
import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from hpo import metrics
from hpo.reports import style


class Labelled(NamedTuple):
    """Events of one sample: true labels, classifier scores and weights."""

    y: NDArray
    score: NDArray
    w: NDArray


# -- ROC ---------------------------------------------------------------------------------------
def plot_roc(samples: Mapping[str, Labelled], path: str | Path) -> dict[str, float]:
    """ROC curves (signal against background efficiency, linear and log) with the weighted AUC
    of each sample; returns ``{sample: auc}``."""
    aucs = {name: metrics.roc_auc(*s) for name, s in samples.items()}
    with style.hep_style():
        fig, axes = style.figure(ncols=2)
        for ax, log in zip(axes, (False, True)):
            for (name, s), color in zip(samples.items(), ("tab:blue", "tab:red", "tab:green")):
                fpr, tpr, _ = metrics.roc_curve(*s)
                ax.plot(fpr, tpr, color=color, lw=2, label=f"{name} (AUC = {aucs[name]:.4f})")
            grid = np.geomspace(1e-4, 1, 200) if log else np.linspace(0, 1, 2)
            ax.plot(grid, grid, color="gray", ls=":", label="Random")
            ax.set_xlabel("Background efficiency")
            ax.set_ylabel("Signal efficiency")
            if log:
                ax.set_xscale("log")
                ax.set_xlim(1e-4, 1)
            else:
                ax.set_xlim(0, 1)
            ax.set_ylim(0, 1.05)
            ax.legend(loc="lower right", fontsize=14)
            style.label(ax, "ROC")
        style.save(fig, path)
    return aucs


# -- overtraining check --------------------------------------------------------------------------
def weighted_ks(a: ArrayLike, wa: ArrayLike, b: ArrayLike, wb: ArrayLike) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov test on weighted samples: ``(statistic, p-value)``.

    The statistic is the largest distance between the weighted empirical distribution functions;
    the p-value uses the asymptotic Kolmogorov distribution with the effective sample sizes
    ``(sum w)^2 / sum w^2`` (as ROOT's ``TH1::KolmogorovTest`` does for weighted histograms).
    """
    a, wa, b, wb = (np.asarray(v, dtype=np.float64) for v in (a, wa, b, wb))
    points = np.sort(np.concatenate([a, b]))

    def ecdf(x: NDArray, w: NDArray) -> NDArray:
        order = np.argsort(x, kind="mergesort")
        cum = np.r_[0.0, np.cumsum(w[order])] / w.sum()
        return cum[np.searchsorted(x[order], points, side="right")]

    statistic = float(np.max(np.abs(ecdf(a, wa) - ecdf(b, wb))))
    na, nb = (w.sum() ** 2 / np.sum(w**2) for w in (wa, wb))
    p_value = float(stats.kstwobign.sf(statistic * np.sqrt(na * nb / (na + nb))))
    return statistic, p_value


def plot_scores(train: Labelled, test: Labelled, path: str | Path, bins: int = 40) -> dict[str, float]:
    """Score distributions of signal and background, test as filled histograms and train as
    points, each normalised to unit area; returns the KS p-values train vs test per class."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    lo, hi = min(train.score.min(), test.score.min()), max(train.score.max(), test.score.max())
    if lo < 0.0 or hi > 1.0:  # scores that are not probabilities
        edges = np.linspace(lo, hi, bins + 1)
    p_values = {}
    with style.hep_style():
        fig, (ax,) = style.figure()
        for cls, name, color in ((1, "Signal", style.SIGNAL_COLOR), (0, "Background", style.BACKGROUND_COLOR)):
            tr, te = train.y == cls, test.y == cls
            _, p_values[name.lower()] = weighted_ks(train.score[tr], train.w[tr], test.score[te], test.w[te])
            h_test, _ = np.histogram(test.score[te], edges, weights=test.w[te], density=True)
            h_train, _ = np.histogram(train.score[tr], edges, weights=train.w[tr], density=True)
            hep.histplot(h_test, edges, ax=ax, histtype="fill", alpha=0.35, color=color, label=f"{name} (test)")
            hep.histplot(h_train, edges, ax=ax, histtype="errorbar", color=color, yerr=False, marker="o", markersize=5,
                         label=f"{name} (train), KS p = {p_values[name.lower()]:.3f}")
        ax.set_yscale("log")
        bottom, top = ax.get_ylim()
        ax.set_ylim(bottom, top * 100)  # room for the legend above the distributions
        ax.set_xlabel("Classifier score")
        ax.set_ylabel("Normalised events / bin width")
        ax.legend(loc="upper center", fontsize=13)
        style.label(ax, "overtraining check")
        style.save(fig, path)
    return p_values

# -- cut scan ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BestCut:
    """The cut on the score that maximises the AMS, and what it selects."""

    threshold: float
    ams: float
    signal: float  # selected signal yield
    background: float  # selected background yield
    efficiency: float
    purity: float


def best_cut(sample: Labelled, b_reg: float = 0.0) -> BestCut:
    """The AMS-maximising cut of :func:`hpo.metrics.cut_scan` (``sample.w`` must be yields)."""
    scan = metrics.cut_scan(*sample, b_reg=b_reg)
    i = int(np.nanargmax(scan.ams))
    return BestCut(float(scan.thresholds[i]), float(scan.ams[i]), float(scan.signal[i]), float(scan.background[i]),
                   float(scan.efficiency[i]), float(scan.purity[i]))


def plot_cut_scan(sample: Labelled, cut: BestCut, path: str | Path, b_reg: float = 0.0) -> Path:
    """AMS and purity x efficiency against the cut on the score, the best-AMS cut marked."""
    scan = metrics.cut_scan(*sample, b_reg=b_reg)
    with style.hep_style():
        fig, axes = style.figure(ncols=2)
        for ax, values, ylabel in (
            (axes[0], scan.ams, "AMS"),
            (axes[1], scan.purity * scan.efficiency, r"Purity $\times$ efficiency"),
        ):
            ax.plot(scan.thresholds, values, color="black", lw=2)
            ax.axvline(cut.threshold, color="tab:red", ls="--", label=f"Best AMS cut: score $\\geq$ {cut.threshold:.3f}")
            ax.set_xlabel("Cut on classifier score")
            ax.set_ylabel(ylabel)
            ax.set_ylim(bottom=0)
            ax.legend(loc="lower left", fontsize=13)
            style.label(ax, "test sample")
        return style.save(fig, path)


def plot_confusion(sample: Labelled, cut: float, path: str | Path) -> NDArray[np.float64]:
    """Weighted confusion matrix at ``score >= cut``: cells show the class fraction and the
    weighted yield; returns the yield matrix ``[[TN, FP], [FN, TP]]``."""
    yields = metrics.confusion_matrix(*sample, cut=cut)
    fractions = yields / yields.sum(axis=1, keepdims=True)
    with style.hep_style():
        fig, (ax,) = style.figure(width=7.5)
        image = ax.imshow(fractions, cmap="Blues", vmin=0, vmax=1)
        for i in range(2):
            for j in range(2):
                ax.text(j, i, f"{fractions[i, j]:.3f}\n({yields[i, j]:.3g})", ha="center", va="center",
                        color="white" if fractions[i, j] > 0.6 else "black", fontsize=16)
        ax.set_xticks([0, 1], ["Rejected", "Selected"])
        ax.set_yticks([0, 1], ["Background", "Signal"])
        ax.minorticks_off()
        ax.set_xlabel(f"Selection: score $\\geq$ {cut:.3f}")
        ax.set_ylabel("True class")
        fig.colorbar(image, ax=ax, label="Fraction of true class")
        style.label(ax, "weighted")
        style.save(fig, path)
    return yields


# -- feature importances -------------------------------------------------------------------------
def permutation_importance(
    predict: Callable[[NDArray], NDArray],
    X: NDArray,
    sample: Labelled,
    n_repeats: int = 5,
    seed: int = 0,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Drop of the weighted AUC when each feature's column is shuffled: ``(mean, std)`` over repeats."""
    if n_repeats < 1:
        raise ValueError(f"n_repeats must be at least 1, got {n_repeats}")
    rng = np.random.default_rng(seed)
    reference = metrics.roc_auc(sample.y, predict(X), sample.w)
    drops = np.empty((X.shape[1], n_repeats))
    for j in range(X.shape[1]):
        shuffled = X.copy()
        for r in range(n_repeats):
            shuffled[:, j] = X[rng.permutation(len(X)), j]
            drops[j, r] = reference - metrics.roc_auc(sample.y, predict(shuffled), sample.w)
    return drops.mean(axis=1), drops.std(axis=1)


def plot_importances(
    features: list[str],
    permutation: tuple[NDArray, NDArray],
    path: str | Path,
    impurity: NDArray | None = None,
) -> Path:
    """Horizontal bars of the permutation importance (AUC drop), and of the impurity importance
    when the model has one (random forest)."""
    panels = [("Permutation importance (AUC drop)", *permutation)]
    if impurity is not None:
        panels.insert(0, ("Impurity importance", np.asarray(impurity), None))
    y = np.arange(len(features))
    with style.hep_style():
        fig, axes = style.figure(ncols=len(panels), height=max(4.0, 0.5 * len(features) + 2))
        for ax, (xlabel, values, errors) in zip(axes, panels):
            ax.barh(y, values, xerr=errors, color="tab:blue", alpha=0.8)
            ax.set_yticks(y, features)
            ax.minorticks_off()
            ax.invert_yaxis()
            ax.set_xlabel(xlabel)
            style.label(ax)
        return style.save(fig, path)


# -- observables ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Observable:
    """A column to plot and how its axis reads (from the dataset description's ``display``)."""

    column: str
    label: str
    unit: str = ""
    log: bool = False

    def axis_label(self) -> str:
        return f"{self.label} [{self.unit}]" if self.unit else self.label


def plot_observable(
    observable: Observable,
    values: NDArray,
    sample: Labelled,
    selected: NDArray[np.bool_],
    path: str | Path,
    bins: int = 30,
    weighted: bool = True,
) -> Path:
    """Distributions of an observable for true signal, true background and the events the cut
    selects (all classes): expected yields for a weighted sample, event counts otherwise.
    Undefined values (NaN) are left out."""
    finite = np.isfinite(values)
    lo, hi = np.percentile(values[finite], [0.5, 99.5]) if finite.any() else (0.0, 1.0)
    integer = finite.any() and np.all(values[finite] == np.round(values[finite])) and hi - lo <= 50
    edges = np.arange(lo - 0.5, hi + 1.5) if integer else np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
    with style.hep_style():
        fig, (ax,) = style.figure()
        for mask, name, color, kind in (
            (sample.y == 1, "True signal", style.SIGNAL_COLOR, "fill"),
            (sample.y == 0, "True background", style.BACKGROUND_COLOR, "fill"),
            (selected, "Selected", style.SELECTED_COLOR, "step"),
        ):
            h, _ = np.histogram(values[mask & finite], edges, weights=sample.w[mask & finite] if weighted else None)
            hep.histplot(h, edges, ax=ax, histtype=kind, color=color, label=name, alpha=0.35 if kind == "fill" else 1.0,
                         lw=2, flow=None)
        ax.set_xlabel(observable.axis_label())
        ax.set_ylabel("Expected events / bin" if weighted else "Events / bin")
        if observable.log:
            ax.set_yscale("log")
        ax.legend(loc="upper right")
        style.label(ax, "test sample")
        return style.save(fig, path)


# -- real data over the simulation ---------------------------------------------------------------
def plot_data_overlay(
    processes: Mapping[str, tuple[NDArray, NDArray]],
    data_scores: NDArray,
    path: str | Path,
    bins: int = 20,
) -> dict[str, float]:
    """The classifier score of real collision events (points with Poisson errors) over the
    stacked simulation (expected yields per process); returns the total expected and observed events."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    everything = np.concatenate([data_scores, *(s for s, _ in processes.values())])
    if len(everything) and (everything.min() < 0.0 or everything.max() > 1.0):
        edges = np.linspace(everything.min(), everything.max(), bins + 1)
    stack = {name: np.histogram(s, edges, weights=w)[0] for name, (s, w) in processes.items()}
    observed, _ = np.histogram(data_scores, edges)
    with style.hep_style():
        fig, (ax,) = style.figure()
        if stack:
            hep.histplot(list(stack.values()), edges, ax=ax, stack=True, histtype="fill", label=list(stack), alpha=0.6)
        hep.histplot(observed, edges, ax=ax, histtype="errorbar", yerr=np.sqrt(observed), color="black", marker="o",
                     markersize=5, label=f"Data ({len(data_scores)} events)")
        ax.set_xlabel("Classifier score")
        ax.set_ylabel("Events / bin")
        ax.legend(loc="upper center", fontsize=13)
        style.label(ax, "data and simulation")
        style.save(fig, path)
    return {"expected": float(sum(h.sum() for h in stack.values())), "observed": float(observed.sum())}
