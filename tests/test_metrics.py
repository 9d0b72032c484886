"""Weighted metrics with signed weights against independent computations."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from hpo import metrics


def pairwise_mann_whitney(y: np.ndarray, score: np.ndarray, w: np.ndarray) -> float:
    """Weighted Mann-Whitney statistic by brute force over every signal-background pair."""
    s, b = y == 1, y == 0
    ss, sb = score[s][:, None], score[b][None, :]
    pair = (ss > sb) + 0.5 * (ss == sb)
    num = (w[s][:, None] * w[b][None, :] * pair).sum()
    return float(num / (w[s].sum() * w[b].sum()))


@pytest.fixture
def signed_sample() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    n = 400
    y = (rng.random(n) < 0.5).astype(int)
    score = np.round(rng.normal(y * 0.8, 1.0), 1)  # rounding makes ties
    w = rng.exponential(1.0, n)
    neg = rng.random(n) < 0.08
    w[neg] *= -0.5
    return y, score, w


def test_auc_matches_pairwise_mann_whitney_with_negative_weights(signed_sample):
    y, score, w = signed_sample
    assert (w < 0).any()
    assert metrics.roc_auc(y, score, w) == pytest.approx(pairwise_mann_whitney(y, score, w), abs=1e-9)


def test_sklearn_raises_on_the_same_signed_input(signed_sample):
    y, score, w = signed_sample
    with pytest.raises(ValueError):
        roc_auc_score(y, score, sample_weight=w)


def test_auc_equals_sklearn_for_positive_weights():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 500)
    score = rng.normal(y, 1.0)
    w = rng.exponential(1.0, 500)
    assert metrics.roc_auc(y, score, w) == pytest.approx(roc_auc_score(y, score, sample_weight=w), abs=1e-12)


def test_roc_curve_ends_at_one_and_cut_scan_is_consistent(signed_sample):
    y, score, w = signed_sample
    fpr, tpr, thr = metrics.roc_curve(y, score, w)
    assert fpr[0] == tpr[0] == 0 and fpr[-1] == pytest.approx(1) and tpr[-1] == pytest.approx(1)
    assert np.isinf(thr[0])
    scan = metrics.cut_scan(y, score, np.abs(w))
    assert np.all(np.diff(scan.signal) >= 0)
    cm = metrics.confusion_matrix(y, score, w, cut=0.3)
    assert cm.sum() == pytest.approx(w.sum())
    assert cm[1, 1] == pytest.approx(w[(y == 1) & (score >= 0.3)].sum())


def test_signal_efficiency_at_background_efficiency():
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    score = np.array([8, 7, 6, 2, 5, 4, 3, 1], float)
    # At 25% background efficiency (one background event above the cut), 3 of 4 signal pass.
    assert metrics.signal_efficiency_at(y, score, None, 0.25) == pytest.approx(0.75)


def test_ams_formula():
    s, b = 10.0, 100.0
    expected = np.sqrt(2 * ((s + b) * np.log(1 + s / b) - s))
    assert metrics.ams(s, b) == pytest.approx(expected)
    assert np.isnan(metrics.ams(1.0, 0.0))
    value, cut = metrics.best_ams([1, 1, 0, 0], [0.9, 0.8, 0.7, 0.1], [5.0, 5.0, 1.0, 50.0])
    # Cuts at 0.9 and 0.8 select no background (AMS undefined without regularisation).
    assert cut == pytest.approx(0.7) and value == pytest.approx(float(metrics.ams(10.0, 1.0)))


def test_non_positive_class_sum_is_refused():
    with pytest.raises(ValueError, match="signed weight sum"):
        metrics.roc_auc([1, 0, 1], [0.1, 0.2, 0.3], [1.0, 1.0, -2.0])
