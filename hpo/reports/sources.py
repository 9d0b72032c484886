"""What reports read: studies from the store, a study's prepared dataset and its best model."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import optuna

from hpo import paths
from hpo.data.prepared import PreparedDataset
from hpo.errors import UsageError
from hpo.store import load_study, open_storage

if TYPE_CHECKING:
    from hpo.objectives import TrainedModel


def open_studies(names: list[str], storage: str | None = None) -> list[optuna.Study]:
    """Load the named studies from the store at ``storage`` (default: the hpo home's SQLite file).

    Reports only read studies: a store that does not exist is refused, never created."""
    if not names:
        raise UsageError("name at least one study (see 'hpo list')")
    if len(set(names)) != len(names):
        raise UsageError(f"study names repeat: {', '.join(names)}; name each study once")
    store = open_storage(storage, create=False)
    return [load_study(name, store) for name in names]


def study_dataset(study: optuna.Study) -> PreparedDataset:
    """The prepared dataset the study was tuned on, as recorded by ``hpo run``."""
    from hpo.drivers.config import StudyConfig
    from hpo.drivers.datasets import recorded_dataset

    config = StudyConfig.from_attrs(study.study_name, study.user_attrs)
    return recorded_dataset(study.study_name, config, None, force=False)


def best_dir(study_name: str) -> Path:
    """Where ``hpo best`` keeps the retrained best model of a study."""
    return paths.study_dir(study_name) / "best"


def best_model(study: optuna.Study, storage: str | None = None) -> TrainedModel:
    """The study's best configuration retrained as ``hpo best`` does; reuses the saved model when it
    was trained from the study's current best trial, otherwise runs :func:`hpo.drivers.best` (which
    saves it) and says why on standard error."""
    from hpo.drivers import best
    from hpo.objectives import load_model
    from hpo.objectives.training import META_FILE

    directory = best_dir(study.study_name)
    if (directory / META_FILE).is_file():
        try:
            with warnings.catch_warnings():  # the joblib warning is about files from elsewhere; hpo wrote this one
                warnings.filterwarnings("ignore", message=".*unpickles Python objects.*")
                model = load_model(directory)
        except UsageError as err:
            print(f"hpo: {err}; retraining the best trial", file=sys.stderr)
        else:
            saved, current = model.info.get("trial_number"), _best_number(study)
            if saved is not None and saved == current:
                return model
            print(f"hpo: the saved best model is of trial {saved if saved is not None else '?'}, but the study's best is now "
                  f"trial {current}; retraining it", file=sys.stderr)  # fmt: skip
    best(study.study_name, storage)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*unpickles Python objects.*")
        return load_model(directory)


def _best_number(study: optuna.Study) -> int | None:
    try:
        return study.best_trial.number
    except ValueError:
        return None
