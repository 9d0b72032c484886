"""The prepared dataset of a study: written to disk for the workers, found again on resume."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hpo import paths
from hpo.data.prepared import PreparedDataset
from hpo.drivers.config import StudyConfig
from hpo.errors import DataError


def dataset_on_disk(data: PreparedDataset | str | os.PathLike[str]) -> PreparedDataset:
    """``data`` opened from its file and verified; an in-memory dataset is first written to ``studies/data``."""
    from hpo.data import open_prepared

    if not isinstance(data, PreparedDataset):
        data = open_prepared(data)
    elif data.path is None or not Path(data.path).is_file():
        data.write(paths.prepared_dir() / f"{data.hash}.arrow")
    data.verify()
    return data


def _open_recorded(name: str, config: StudyConfig) -> PreparedDataset:
    """The study's dataset from its recorded path, else by its hash; a damaged file is refused, not skipped."""
    from hpo.data import open_prepared

    candidates = [config.dataset_path] if config.dataset_path and Path(config.dataset_path).is_file() else []
    if config.dataset_hash and any(paths.prepared_dir().glob(f"{config.dataset_hash}*.arrow")):
        candidates.append(config.dataset_hash)
    if not candidates:
        raise DataError(
            f"the prepared dataset of study {name!r} ({config.dataset_path}, hash {config.dataset_hash[:12]}) is missing; "
            "re-create it with 'hpo data prepare' using the same settings, or give another with --prepared (and --force)"
        )
    dataset = open_prepared(candidates[0])
    dataset.verify()
    return dataset


def recorded_dataset(name: str, config: StudyConfig, data: Any, force: bool) -> PreparedDataset:
    """The study's dataset (verified), or ``data`` if given; a changed or missing dataset needs ``force``.

    A damaged prepared file is a :class:`~hpo.errors.DataError` naming it, never silently replaced.
    """
    if data is None:
        dataset = _open_recorded(name, config)
    else:
        dataset = dataset_on_disk(data)
    if dataset.hash != config.dataset_hash and not force:
        raise DataError(
            f"the prepared dataset {dataset.path} has hash {dataset.hash[:12]}, but study {name!r} was run on "
            f"{config.dataset_hash[:12]}; pass --force to continue on it anyway"
        )
    return dataset
