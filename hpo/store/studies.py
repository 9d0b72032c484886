"""Reading what a store holds: its studies, their recorded settings and trial counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import TrialState

from hpo.errors import StoreError


@dataclass(frozen=True)
class StudyInfo:
    """One line of ``hpo list``: a study's name, recorded settings, trial counts and best value."""

    name: str
    attrs: dict[str, Any]
    counts: dict[str, int] = field(default_factory=dict)
    best_value: float | None = None


def study_names(storage: optuna.storages.BaseStorage) -> list[str]:
    """Names of the studies in ``storage``, sorted."""
    return sorted(s.study_name for s in storage.get_all_studies())


def list_studies(storage: optuna.storages.BaseStorage) -> list[StudyInfo]:
    """Every study of ``storage`` with its user attributes, trial counts by state and best value."""
    out = []
    for frozen in sorted(storage.get_all_studies(), key=lambda s: s.study_name):
        study = optuna.load_study(study_name=frozen.study_name, storage=storage)
        out.append(StudyInfo(frozen.study_name, dict(frozen.user_attrs), count_trials(study), best_value(study)))
    return out


def load_study(name: str, storage: optuna.storages.BaseStorage, **kwargs: Any) -> optuna.Study:
    """Load study ``name``; a missing study is a :class:`StoreError` naming the ones that exist."""
    try:
        return optuna.load_study(study_name=name, storage=storage, **kwargs)
    except KeyError:
        known = study_names(storage)
        hint = f"studies in this store: {', '.join(known)}" if known else "this store holds no study yet; start one with 'hpo run'"
        raise StoreError(f"no study named {name!r} ({hint})") from None


def study_attrs(name: str, storage: optuna.storages.BaseStorage) -> dict[str, Any]:
    """The user attributes recorded on study ``name`` (its settings; see :mod:`hpo.drivers`)."""
    return dict(load_study(name, storage).user_attrs)


def count_trials(study: optuna.Study) -> dict[str, int]:
    """Number of trials of ``study`` in each state, keyed by state name (``COMPLETE``, ``FAIL``, ...)."""
    counts = Counter(t.state.name for t in study.get_trials(deepcopy=False))
    return {state.name: counts.get(state.name, 0) for state in TrialState}


def best_value(study: optuna.Study) -> float | None:
    """The study's best objective value, or None before its first complete trial."""
    try:
        return float(study.best_value)
    except ValueError:
        return None


@contextmanager
def deleted_while_running(study_name: str, storage: Callable[[], optuna.storages.BaseStorage]) -> Iterator[None]:
    """Turn the ``KeyError`` Optuna raises once study ``study_name`` is deleted under a running study
    (``hpo delete``, the dashboard's delete button) into a one-line :class:`StoreError`.

    ``storage`` opens the store, only when such an error has to be told from another one.
    """
    try:
        yield
    except KeyError:
        if study_name in study_names(storage()):
            raise
        raise StoreError(
            f"study {study_name!r} was deleted from the store while it ran (by 'hpo delete' or the dashboard); its workers stopped"
        ) from None
