"""XGBoost boosters as hpo estimators: matrices with weights, scores, importances and files.

Shared by the boosted trees (:mod:`.bdt`) and the forest's XGBoost engine (:mod:`.rf`). NaN in
the inputs is XGBoost's missing value: each split learns a default direction for it.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hpo.data.prepared import Split
from hpo.models.base import loss_weights

if TYPE_CHECKING:
    import xgboost

#: The booster file: XGBoost's own Universal Binary JSON format (exact, not a pickle).
FILE = "model.ubj"
#: Matrix pairs kept per process (see :func:`training_matrices`): the rungs of multi-fidelity and
#: the folds of ``--cv`` each have their own.
MATRICES_KEPT = 6
_matrices: OrderedDict[str, tuple[Any, Any]] = OrderedDict()


def training_matrices(
    train: Split, val: Split | None, *, max_bin: int = 256
) -> tuple[xgboost.QuantileDMatrix, xgboost.QuantileDMatrix | None]:
    """Histogram matrices of ``train`` and ``val`` with the training weights (mean 1) attached;
    the validation matrix shares the training bins.

    Binning the events costs about as much as boosting a hundred rounds on them, and every trial
    of a study trains on the same events: the last :data:`MATRICES_KEPT` pairs are kept in the
    process, found again by a digest of their contents.
    """
    import xgboost

    key = _digest(train, val, max_bin)
    if key in _matrices:
        _matrices.move_to_end(key)
        return _matrices[key]
    dtrain = xgboost.QuantileDMatrix(train.X, label=train.y, weight=loss_weights(train.w_train), max_bin=max_bin, missing=np.nan)
    dval = None
    if val is not None:
        dval = xgboost.QuantileDMatrix(
            val.X, label=val.y, weight=loss_weights(val.w_train, "validation"), ref=dtrain, max_bin=max_bin, missing=np.nan
        )
    _matrices[key] = (dtrain, dval)
    while len(_matrices) > MATRICES_KEPT:
        _matrices.popitem(last=False)
    return dtrain, dval


def _digest(train: Split, val: Split | None, max_bin: int) -> str:
    """A digest of the events, labels and weights of ``train`` and ``val`` and the bin count."""
    digest = hashlib.blake2b(str(max_bin).encode(), digest_size=16)
    for split in (train, val) if val is not None else (train,):
        for array in (split.X, split.y, split.w_train):
            array = np.ascontiguousarray(array)
            digest.update(f"{array.dtype}{array.shape}".encode())
            digest.update(array.data)
    return digest.hexdigest()


def clear_matrices() -> None:
    """Forget the kept training matrices."""
    _matrices.clear()


def predict(booster: xgboost.Booster, X: np.ndarray, *, rounds: int | None = None) -> np.ndarray:
    """Signal probability of each row of ``X`` (the first ``rounds`` boosting rounds, default all)."""
    iteration_range = (0, rounds) if rounds else (0, 0)
    scores = booster.inplace_predict(np.asarray(X, dtype=np.float32), iteration_range=iteration_range, missing=np.nan)
    return np.asarray(scores, dtype=np.float64).ravel()


class StagedScores:
    """Validation scores of a growing booster after each of a series of rounds, at the cost of the
    new trees only: the margins of the trees added since the last call are summed onto the last
    margins (a full prediction every few rounds costs as much as the training, late in a fit)."""

    def __init__(self, X: np.ndarray) -> None:
        self.X = np.asarray(X, dtype=np.float32)
        self.rounds = 0
        self.margin: np.ndarray | None = None

    def __call__(self, booster: xgboost.Booster, rounds: int) -> np.ndarray:
        """Signal probability of each row after the first ``rounds`` rounds (increasing between calls)."""
        from scipy.special import expit

        # the first call's margins hold the booster's base margin; a zero base margin leaves it out of the next ones
        base = None if self.margin is None else np.zeros(len(self.X), dtype=np.float32)
        new = booster.inplace_predict(self.X, iteration_range=(self.rounds, rounds), predict_type="margin", missing=np.nan, base_margin=base)
        new = np.asarray(new, dtype=np.float64).ravel()
        self.margin = new if self.margin is None else self.margin + new
        self.rounds = rounds
        return expit(self.margin)


def importances(booster: xgboost.Booster) -> np.ndarray:
    """Total gain of the splits on each input, normalised to sum 1 (0 for inputs never split on)."""
    gain = booster.get_score(importance_type="total_gain")
    values = np.zeros(booster.num_features())
    for key, value in gain.items():
        values[int(key.removeprefix("f"))] = float(value)
    total = values.sum()
    return values / total if total > 0 else values


def n_nodes(booster: xgboost.Booster) -> int:
    """Number of nodes of all trees (one line per node in the text dump)."""
    return sum(tree.count("\n") for tree in booster.get_dump())


def save(booster: xgboost.Booster, folder: Path) -> Path:
    """Write ``booster`` to ``folder/model.ubj`` in XGBoost's format (atomically)."""
    path = folder / FILE
    tmp = folder / f".tmp.{FILE}"  # the suffix tells XGBoost the format
    try:
        booster.save_model(tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load(folder: Path, *, threads: int = 1) -> xgboost.Booster:
    """Read a booster written by :func:`save`, set to use ``threads`` threads."""
    import xgboost

    booster = xgboost.Booster()
    booster.load_model(folder / FILE)
    booster.set_param({"nthread": threads})
    return booster


def is_booster(estimator: Any) -> bool:
    """Whether ``estimator`` is an XGBoost booster (without importing XGBoost for other models)."""
    return type(estimator).__module__.startswith("xgboost") and type(estimator).__name__ == "Booster"
