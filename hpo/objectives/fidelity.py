"""The events behind each rung (``--fidelity``) and each fold (``--cv``); see :mod:`hpo.fidelity`.

Both are fixed by the study's seed, so every trial, worker and resume of a study trains on the same
events: rung ``r`` takes the first ``round(fraction_r * n)`` events of each class in one random
order of the training split (so the rungs are nested and keep the class mix; the validation events
a rung's early stopping watches are drawn the same way from the validation split), and the folds are
scikit-learn's ``StratifiedKFold(K, shuffle=True, random_state=seed)`` over the training events
followed by the validation events.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hpo.data.prepared import PreparedDataset, Split
from hpo.errors import DataError


def rung_indices(y: np.ndarray, rungs: Sequence[float], seed: int) -> list[np.ndarray]:
    """Sorted positions of the training events of each rung: nested, stratified, fixed by ``seed``."""
    rng = np.random.default_rng(seed)
    orders = [rng.permutation(np.flatnonzero(y == label)) for label in (0, 1)]
    out = []
    for fraction in rungs:
        parts = [order[: max(1, int(round(fraction * len(order))))] if len(order) else order for order in orders]
        out.append(np.sort(np.concatenate(parts)))
    return out


def cv_folds(train: Split, val: Split, k: int, seed: int) -> list[tuple[Split, Split]]:
    """``k`` (fit, held-out) pairs of stratified folds of train+validation, fixed by ``seed``."""
    from sklearn.model_selection import StratifiedKFold

    events = Split.concat([train, val])
    folds = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(events)), events.y)
    return [(events.take(fit), events.take(held)) for fit, held in folds]


def check_budgets(data: PreparedDataset, rungs: Sequence[float], cv: int) -> None:
    """A :class:`DataError` if the first rung or a fold would hold fewer than 2 events of a class."""
    if not rungs and not cv:
        return
    y_train = data.split("train").y
    if rungs:
        counts = [int((y_train[i] == label).sum()) for i in rung_indices(y_train, rungs[:1], 0) for label in (0, 1)]
        if min(counts) < 2:
            raise DataError(
                f"the first rung ({rungs[0]:.4g} of {len(y_train)} training events) holds {counts[0]} background and "
                f"{counts[1]} signal events; use fewer or larger rungs, or more events"
            )
    if cv:
        y = np.concatenate([y_train, data.split("val").y])
        fewest = min(int((y == label).sum()) for label in (0, 1))
        if fewest < 2 * cv:
            raise DataError(f"--cv {cv}: train+validation holds only {fewest} events of one class, too few for {cv} folds")
