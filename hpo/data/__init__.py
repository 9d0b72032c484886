"""Datasets: descriptions of input ntuples, the synthetic default, and the prepared file.

Public API (the ``hpo data`` commands call these):

- :func:`prepare` reads and cleans the inputs once and returns a memory-mapped
  :class:`PreparedDataset`, cached under ``studies/data`` by content hash;
- :func:`open_prepared` opens a prepared dataset by hash (or unique prefix) or path;
- :class:`PreparedDataset` and :class:`Split` are what objectives train on.
"""

from hpo.data.prepared import SPLITS, PreparedDataset, Split

__all__ = ["SPLITS", "PreparedDataset", "Split"]
