"""The scikit-learn random forest, fitted with event weights (optionally grown in stages)."""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.ensemble import RandomForestClassifier

from hpo.data.prepared import Split
from hpo.objectives.base import FitResult, Reporter, loss_weights

FILE = "model.joblib"
# Absent input values reach the forest as the stated value (default: the marker) plus an indicator column.
MISSING_VALUES = "value"


def max_features(value: int | float, n_features: int) -> int | float:
    """sklearn's ``max_features`` for ``value``: an int counts features and is clipped to the inputs;
    a float up to 1 is a fraction of them (above 1 it is read as a count)."""
    if isinstance(value, (int, np.integer)) or value > 1.0:
        return int(max(1, min(round(value), n_features)))
    return float(value)


def build_forest(config: Mapping[str, Any], n_features: int, *, threads: int = 1, seed: int = 0) -> RandomForestClassifier:
    """An unfitted forest for ``config`` (the space's parameters plus settings)."""
    return RandomForestClassifier(
        n_estimators=int(config["n_estimators"]),
        criterion=config["criterion"],
        max_depth=int(config["max_depth"]),
        min_samples_leaf=int(config["min_samples_leaf"]),
        min_samples_split=int(config["min_samples_split"]),
        max_features=max_features(config["max_features"], n_features),
        bootstrap=bool(config["bootstrap"]),
        n_jobs=threads,
        random_state=seed,
    )


def stages(n_estimators: int, n_stages: int) -> list[int]:
    """Forest sizes after each growth stage, ending at ``n_estimators``."""
    sizes = np.ceil(np.linspace(0, n_estimators, n_stages + 1)[1:]).astype(int)
    return sorted({int(s) for s in sizes if s > 0})


def fit(
    config: Mapping[str, Any],
    train: Split,
    val: Split | None,
    *,
    threads: int = 1,
    seed: int = 0,
    staged: bool = False,
    report: Reporter | None = None,
) -> FitResult:
    """Fit a forest on ``train`` with ``w_train`` (rescaled to mean 1) as sample weights.

    With ``staged`` the forest grows with ``warm_start`` in ``prune_stages`` stages; after each
    stage (or once at the end otherwise) ``report`` gets the trees grown and the ``val`` scores.
    """
    forest = build_forest(config, train.X.shape[1], threads=threads, seed=seed)
    weights = loss_weights(train.w_train)
    sizes = stages(forest.n_estimators, int(config.get("prune_stages", 1))) if staged else [forest.n_estimators]
    forest.set_params(warm_start=len(sizes) > 1)
    start = time.perf_counter()
    for size in sizes:
        forest.set_params(n_estimators=size)
        forest.fit(train.X, train.y, sample_weight=weights)
        if report is not None and val is not None:
            report(size, predict(forest, val.X))
    forest.set_params(warm_start=False)
    elapsed = time.perf_counter() - start
    n_nodes = sum(int(tree.tree_.node_count) for tree in forest.estimators_)
    return FitResult(forest, elapsed, {"n_estimators": len(forest.estimators_), "n_params": n_nodes})


def predict(forest: RandomForestClassifier, X: np.ndarray) -> np.ndarray:
    """Signal probability of each row of ``X``."""
    proba = forest.predict_proba(X)
    signal = list(forest.classes_).index(1) if 1 in forest.classes_ else None
    return proba[:, signal].astype(np.float64) if signal is not None else np.zeros(len(X))


def feature_importances(forest: RandomForestClassifier) -> np.ndarray | None:
    """Mean decrease in impurity of each input."""
    return forest.feature_importances_


def save(forest: RandomForestClassifier, folder: Path) -> Path:
    """Write the forest to ``folder/model.joblib`` (atomically)."""
    path = folder / FILE
    tmp = folder / f".{FILE}.tmp"
    try:
        joblib.dump(forest, tmp, compress=3)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load(folder: Path) -> RandomForestClassifier:
    """Read a forest written by :func:`save` (a pickle: only from a trusted source)."""
    warnings.warn(
        f"loading {folder / FILE} unpickles Python objects; only load model files from a trusted source",
        UserWarning,
        stacklevel=3,
    )
    return joblib.load(folder / FILE)
