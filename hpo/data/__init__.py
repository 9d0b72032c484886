"""Datasets: descriptions of input ntuples, the synthetic default, and the prepared file.

Public API (the ``hpo data`` commands call these):

- :func:`prepare` reads and cleans the inputs once and returns a memory-mapped
  :class:`PreparedDataset`, cached under ``studies/data`` by content hash;
- :func:`open_prepared` opens a prepared dataset by hash (or unique prefix) or path;
- :func:`load_description` / :func:`list_presets`: dataset descriptions (YAML or presets), with
  expressions over columns (:mod:`hpo.data.expressions`);
- :func:`synthesize` writes the synthetic ROOT samples; :func:`bayes_limit` gives their
  Bayes-optimal AUC; :func:`describe` summarises a prepared dataset;
- :class:`PreparedDataset` and :class:`Split` are what objectives train on.
"""

from __future__ import annotations

import importlib
from typing import Any

from hpo.data.prepared import MISSING_VIEWS, SPLITS, PreparedDataset, Split

# Everything else is imported on first use: workers open a prepared file and need neither
# uproot nor scipy.stats (the generator), which cost over a second to import.
_LAZY = {
    "ALL_FEATURES": "synthetic",
    "HIGH_LEVEL": "synthetic",
    "LOW_LEVEL": "synthetic",
    "DatasetDescription": "description",
    "list_presets": "description",
    "load_description": "description",
    "bayes_limit": "limit",
    "DEFAULT_NEGATIVE_WEIGHTS": "preparation",
    "NEGATIVE_WEIGHT_POLICIES": "preparation",
    "open_prepared": "preparation",
    "prepare": "preparation",
    "describe": "summary",
    "synthesize": "synthetic",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"hpo.data.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'hpo.data' has no attribute {name!r}")


__all__ = [
    "ALL_FEATURES",
    "DEFAULT_NEGATIVE_WEIGHTS",
    "HIGH_LEVEL",
    "LOW_LEVEL",
    "NEGATIVE_WEIGHT_POLICIES",
    "MISSING_VIEWS",
    "SPLITS",
    "DatasetDescription",
    "PreparedDataset",
    "Split",
    "bayes_limit",
    "describe",
    "list_presets",
    "load_description",
    "open_prepared",
    "prepare",
    "synthesize",
]
