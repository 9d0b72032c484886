"""Where hpo keeps its files.

Everything hpo writes lives under one *home* folder, ``./studies`` by default (override with the
``HPO_HOME`` environment variable): the default SQLite store, prepared datasets, the synthetic
samples, model files and reports.
"""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """The folder that holds stores, prepared datasets and outputs (``$HPO_HOME`` or ``./studies``)."""
    return Path(os.environ.get("HPO_HOME", "studies")).resolve()


def prepared_dir() -> Path:
    """Folder of prepared datasets (one file per content hash)."""
    return home() / "data"


def synthetic_dir() -> Path:
    """Folder of the generated synthetic ROOT samples."""
    return home() / "synthetic"


def default_storage_url() -> str:
    """The default study store: the SQLite file ``<home>/hpo.db``."""
    return f"sqlite:///{home() / 'hpo.db'}"


def repo_root() -> Path:
    """The checkout the package was installed from (editable installs)."""
    return Path(__file__).resolve().parents[1]
