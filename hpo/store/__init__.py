"""The study store: one Optuna RDB storage (SQLite by default) shared by every worker.

- :func:`open_storage` opens any SQLAlchemy URL, with SQLite set up for concurrent writers and
  heartbeats that re-queue the trials of dead workers;
- :func:`redact` hides passwords in URLs before anything prints or records them;
- :func:`list_studies`, :func:`load_study`, :func:`study_attrs`, :func:`count_trials` read it back.
"""

from __future__ import annotations

from hpo.store.storage import fail_stale_trials, heartbeat_interval, open_storage, redact
from hpo.store.studies import StudyInfo, best_value, count_trials, list_studies, load_study, study_attrs, study_names

__all__ = [
    "StudyInfo",
    "best_value",
    "count_trials",
    "fail_stale_trials",
    "heartbeat_interval",
    "list_studies",
    "load_study",
    "open_storage",
    "redact",
    "study_attrs",
    "study_names",
]
