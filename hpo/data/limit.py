"""The Bayes-optimal weighted AUC of a synthetic dataset: the ceiling of any classifier on it."""

from __future__ import annotations

import numpy as np

from hpo.data.prepared import PreparedDataset
from hpo.data.synthetic import HIGH_LEVEL, log_likelihood_ratio
from hpo.errors import DataError
from hpo.metrics import roc_auc


def likelihood_ratio_score(dataset: PreparedDataset, split: str | None = "test") -> np.ndarray:
    """The exact log likelihood ratio of each event of ``split`` (all events if None).

    The background is the weighted mixture of the dataset's background processes, each with its
    share of the background weight, as the prepared per-class weights imply.
    """
    description = dataset.meta.get("description", {})
    synthetic = description.get("synthetic")
    files = [f for side in ("signal", "background") for p in description.get(side, []) for f in p["files"]]
    if not synthetic or not all(f.startswith("${SYNTHETIC}/") for f in files):
        raise DataError(
            f"dataset {description.get('name')!r} is not purely synthetic, so its Bayes limit is unknown; "
            "use the 'synthetic' or 'synthetic-4e' preset"
        )
    missing = [c for c in HIGH_LEVEL if c not in dataset.columns]
    if missing:
        raise DataError(f"prepared dataset {dataset.hash[:12]} lacks {', '.join(missing)}; prepare it again")
    label = dataset.table.column("label").to_numpy()
    phys = dataset.table.column("phys_weight").to_numpy()
    process = dataset.table.column("process").to_numpy()
    background = phys[label == 0].sum()
    shares = {
        p["name"]: float(phys[(process == i) & (label == 0)].sum() / background)
        for i, p in enumerate(dataset.meta["processes"])
        if p["label"] == 0
    }
    rows = np.ones(len(label), bool) if split is None else dataset.mask(split)
    x = {c: dataset.table.column(f"col:{c}").to_numpy()[rows].astype(np.float64) for c in HIGH_LEVEL}
    return log_likelihood_ratio(x, synthetic["channel"], shares)


def bayes_limit(dataset: PreparedDataset, split: str = "test") -> float:
    """Weighted ROC AUC of the exact likelihood ratio on ``split``: no classifier can do better in expectation."""
    score = likelihood_ratio_score(dataset, split)
    finite = score[np.isfinite(score)]  # +-inf: a density is exactly zero; rank those events first or last
    score = np.nan_to_num(score, posinf=finite.max() + 1.0, neginf=finite.min() - 1.0)
    s = dataset.split(split)
    return roc_auc(s.y, score, s.w)
