"""``hpo delete``: remove a study from its store, with the files hpo keeps for it."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import optuna

from hpo import paths
from hpo.store import load_study, open_storage, store_lock


@dataclass(frozen=True)
class DeletedStudy:
    """What :func:`delete` removed."""

    name: str
    trials: int
    folder: Path | None  # the study's folder under the hpo home, if it had one


def study_folder(name: str) -> Path | None:
    """The folder of study ``name`` under the hpo home if it exists (None for names that cannot name one)."""
    if not paths.is_study_name(name):
        return None
    folder = paths.study_dir(name)
    return folder if folder.exists() else None


def delete(study_name: str, storage: str | None = None) -> DeletedStudy:
    """Delete study ``study_name`` (trials, settings) from ``storage`` and its folder under the hpo home.

    Works on any study, including one whose creation was interrupted. The prepared dataset is kept:
    other studies may use it. A missing study is a :class:`~hpo.errors.StoreError`.
    """
    store = open_storage(storage, create=False)
    with store_lock(store, f"create:{study_name}"):  # not while 'hpo run' creates it
        study = load_study(study_name, store)
        trials = len(study.get_trials(deepcopy=False))
        folder = study_folder(study_name)
        optuna.delete_study(study_name=study_name, storage=store)
    if folder is not None:
        shutil.rmtree(folder)
    return DeletedStudy(study_name, trials, folder)
