"""The study store: one Optuna RDB storage (SQLite by default) shared by every worker.

- :func:`open_storage` opens any SQLAlchemy URL, with SQLite set up for concurrent writers and
  heartbeats that re-queue the trials of dead workers;
- :func:`redact` hides passwords in URLs (in every form) before anything prints or records them;
- :func:`store_failures` reports a store that fails mid-study (disk full, read-only) in one line;
- :func:`store_lock` makes read-then-write steps (filling a queue) atomic across processes;
- :func:`integrity_problems` finds orphan rows and RUNNING trials whose worker is gone;
- :func:`list_studies`, :func:`load_study`, :func:`study_attrs`, :func:`count_trials` read it back.
"""

from __future__ import annotations

from hpo.store.integrity import integrity_problems
from hpo.store.locks import store_lock
from hpo.store.storage import fail_stale_trials, heartbeat_interval, open_storage, store_failures
from hpo.store.studies import (
    StudyInfo,
    best_value,
    count_trials,
    deleted_while_running,
    list_studies,
    load_study,
    study_attrs,
    study_names,
)
from hpo.store.urls import redact

__all__ = [
    "StudyInfo",
    "best_value",
    "count_trials",
    "deleted_while_running",
    "fail_stale_trials",
    "heartbeat_interval",
    "integrity_problems",
    "list_studies",
    "load_study",
    "open_storage",
    "redact",
    "store_failures",
    "store_lock",
    "study_attrs",
    "study_names",
]
