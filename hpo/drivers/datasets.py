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
    """``data`` opened from its file; an in-memory dataset is first written to ``studies/data``."""
    from hpo.data import open_prepared

    if not isinstance(data, PreparedDataset):
        return open_prepared(data)
    if data.path is None or not Path(data.path).is_file():
        data.write(paths.prepared_dir() / f"{data.hash}.arrow")
    return data


def recorded_dataset(name: str, config: StudyConfig, data: Any, force: bool) -> PreparedDataset:
    """The study's dataset, or ``data`` if given; a changed or missing dataset needs ``force``."""
    from hpo.data import open_prepared

    if data is None:
        for candidate in (config.dataset_path, config.dataset_hash):
            try:
                dataset = open_prepared(candidate)
                break
            except DataError:
                continue
        else:
            raise DataError(
                f"the prepared dataset of study {name!r} ({config.dataset_path}, hash {config.dataset_hash[:12]}) is missing; "
                "re-create it with 'hpo data prepare' using the same settings, or give another with --prepared (and --force)"
            )
    else:
        dataset = dataset_on_disk(data)
    if dataset.hash != config.dataset_hash and not force:
        raise DataError(
            f"the prepared dataset {dataset.path} has hash {dataset.hash[:12]}, but study {name!r} was run on "
            f"{config.dataset_hash[:12]}; pass --force to continue on it anyway"
        )
    return dataset
