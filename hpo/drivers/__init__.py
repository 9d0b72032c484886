"""Study drivers: run, resume and finish studies with parallel workers on one store.

>>> import hpo
>>> study = hpo.drivers.run("rf", "tpe", hpo.data.prepare(), n_trials=30, jobs=2)
>>> hpo.drivers.resume(study.study_name, n_trials=60)      # raise the target and continue
>>> result = hpo.drivers.best(study.study_name)             # retrain, test, save

How trials are counted and why the count is exact with any number of workers: :mod:`.queue`.
What a study records about itself: :mod:`.config`. Stopping on Ctrl-C or SIGTERM: :mod:`.stopping`;
checking a study's store: :mod:`.check`.
"""

from __future__ import annotations

from hpo.drivers.best import BestResult, best, read_predictions
from hpo.drivers.check import check_study
from hpo.drivers.algorithms import ALGORITHMS
from hpo.drivers.backends import BACKENDS
from hpo.drivers.deleting import DeletedStudy, delete
from hpo.drivers.config import IDENTITY, PRUNERS, StudyConfig, default_study_name, make_pruner
from hpo.drivers.joining import join
from hpo.drivers.queue import budget_trials, enqueue_missing, pop_waiting_trial
from hpo.drivers.stopping import EXIT_STOPPED, StudyStopped
from hpo.drivers.study import DEFAULT_JOBS, DEFAULT_TRIALS, WorkerDied, resume, run, run_repeats
from hpo.drivers.summary import RungCount, StudyReport, budget_lines, report_of, study_report, summary_line

__all__ = [
    "DeletedStudy",
    "delete",
    "ALGORITHMS",
    "BACKENDS",
    "DEFAULT_JOBS",
    "DEFAULT_TRIALS",
    "EXIT_STOPPED",
    "IDENTITY",
    "PRUNERS",
    "BestResult",
    "StudyConfig",
    "RungCount",
    "StudyReport",
    "StudyStopped",
    "WorkerDied",
    "best",
    "budget_lines",
    "budget_trials",
    "check_study",
    "default_study_name",
    "enqueue_missing",
    "join",
    "make_pruner",
    "pop_waiting_trial",
    "read_predictions",
    "report_of",
    "resume",
    "run",
    "run_repeats",
    "study_report",
    "summary_line",
]
