"""Where hpo keeps its files.

Everything hpo writes lives under one *home* folder, ``./studies`` by default (override with the
``HPO_HOME`` environment variable): the default SQLite store, prepared datasets, the synthetic
samples, model files and reports.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from hpo.errors import StoreError

#: A study name: also the name of its folder under the home, so no separators, no leading dot.
STUDY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def home() -> Path:
    """The folder that holds stores, prepared datasets and outputs (``$HPO_HOME`` or ``./studies``)."""
    return Path(os.environ.get("HPO_HOME", "studies")).resolve()


def prepared_dir() -> Path:
    """Folder of prepared datasets (one file per content hash)."""
    return home() / "data"


def synthetic_dir() -> Path:
    """Folder of the generated synthetic ROOT samples."""
    return home() / "synthetic"


def is_study_name(name: object) -> bool:
    """Whether ``name`` is a usable study name (letters, digits, '.', '_', '-'; the whole string)."""
    return isinstance(name, str) and STUDY_NAME.fullmatch(name) is not None


def study_dir(name: str) -> Path:
    """The folder of study ``name``'s files, ``<home>/<name>``: the one place where names become paths.

    A name that is not a plain folder name (one read from a store written by other means, say) or
    a folder that resolves outside the home (a symbolic link) is a :class:`~hpo.errors.StoreError`.
    """
    if not is_study_name(name):
        raise StoreError(
            f"study name {name!r} cannot name a folder (letters, digits, '.', '_' and '-', at most 128, "
            "not starting with a symbol); rename the study in its store"
        )
    root = home()
    folder = root / name
    if not folder.resolve().is_relative_to(root.resolve()):
        raise StoreError(f"the folder of study {name!r}, {folder}, leads outside the hpo home {root}; remove that link")
    return folder


def default_storage_url() -> str:
    """The default study store: the SQLite file ``<home>/hpo.db``."""
    return f"sqlite:///{home() / 'hpo.db'}"


def repo_root() -> Path:
    """The checkout the package was installed from (editable installs)."""
    return Path(__file__).resolve().parents[1]
