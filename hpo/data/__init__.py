"""Datasets: descriptions of input ntuples, the synthetic default, and the prepared file.

Public API (the ``hpo data`` commands call these):

- :func:`prepare` reads and cleans the inputs once and returns a memory-mapped
  :class:`PreparedDataset`, cached under ``studies/data`` by content hash;
- :func:`open_prepared` opens a prepared dataset by hash (or unique prefix) or path;
- :func:`load_description` / :func:`list_presets`: dataset descriptions (YAML or presets);
- :func:`synthesize` writes the synthetic ROOT samples; :func:`bayes_limit` gives their
  Bayes-optimal AUC; :func:`describe` summarises a prepared dataset;
- :class:`PreparedDataset` and :class:`Split` are what objectives train on.
"""

from __future__ import annotations

from hpo.data.description import (
    ALL_FEATURES,
    HIGH_LEVEL,
    LOW_LEVEL,
    DatasetDescription,
    list_presets,
    load_description,
)
from hpo.data.limit import bayes_limit
from hpo.data.preparation import DEFAULT_NEGATIVE_WEIGHTS, NEGATIVE_WEIGHT_POLICIES, open_prepared, prepare
from hpo.data.prepared import SPLITS, PreparedDataset, Split
from hpo.data.summary import describe
from hpo.data.synthetic import synthesize

__all__ = [
    "ALL_FEATURES",
    "DEFAULT_NEGATIVE_WEIGHTS",
    "HIGH_LEVEL",
    "LOW_LEVEL",
    "NEGATIVE_WEIGHT_POLICIES",
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
