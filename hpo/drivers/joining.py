"""``hpo worker``: more workers for a study that is already running, from this or another machine.

A joining worker reads everything from the store (model, algorithm, space, seed, dataset hash
and path), opens the prepared dataset by its recorded path (or the one given), and pops trials
from the study's queue like the driver's own workers, topping it up under the store's lock only
while the study is below the target recorded by ``hpo run`` / ``hpo resume``; so the study still
ends with exactly its target number of trials however many workers join. A worker stops when the
target is met and no trial is running, or after its share of ``n_trials``.
"""

from __future__ import annotations

import os
import secrets
import time

import joblib
import optuna

from hpo import paths, tuners
from hpo.data.prepared import PreparedDataset
from hpo.drivers.config import StudyConfig
from hpo.drivers.datasets import recorded_dataset
from hpo.drivers.queue import pending_trials
from hpo.drivers.stopping import StopRequested, StudyStopped
from hpo.drivers.study import _check_positive, _check_timeout, _Progress, _run_processes
from hpo.drivers.worker import WorkerSpec, run_worker, worker_seeds
from hpo.errors import StoreError, UsageError
from hpo.store import load_study, open_storage

_POLL_S = 1.0


def join(
    study_name: str,
    *,
    storage: str | None = None,
    n_trials: int | None = None,
    jobs: int = 1,
    data: PreparedDataset | str | os.PathLike[str] | None = None,
    force: bool = False,
    wait_s: float = 0.0,
    timeout: float | None = None,
    progress: bool = True,
) -> optuna.Study:
    """Run ``jobs`` workers on the queue of the running study ``study_name`` until it is empty.

    ``n_trials`` caps the trials these workers run (shared among them). ``wait_s`` waits up to
    that many seconds for the study to appear and have queued trials (workers started before
    the driver). ``timeout`` (seconds): no trial starts after it, as in :func:`hpo.drivers.run`.
    ``data``/``force`` as in :func:`hpo.drivers.resume`. Returns the study.
    """
    _check_positive("jobs", jobs)
    if n_trials is not None:
        _check_positive("n_trials", n_trials)
    _check_timeout(timeout)
    if not wait_s >= 0:
        raise UsageError(f"--wait must be a non-negative number of seconds, got {wait_s!r}")
    url = storage or paths.default_storage_url()
    store = open_storage(storage)
    study, config = _await_queue(store, study_name, wait_s)
    if tuners.is_kerastuner(config.algo):
        raise UsageError(
            f"study {study_name!r} is a KerasTuner search ({config.algo}), which one process runs; continue it with 'hpo resume {study_name}'"
        )
    dataset = recorded_dataset(study_name, config, data, force)
    shares = [None] * jobs if n_trials is None else [n_trials // jobs + (i < n_trials % jobs) for i in range(min(jobs, n_trials))]
    # seeds unrelated to the driver's, so that a joining worker never proposes the driver's points
    seeds = worker_seeds(secrets.randbits(32), len(shares), len(study.get_trials(deepcopy=False)))
    threads = max(1, joblib.cpu_count() // len(shares))
    deadline = None if timeout is None else time.time() + timeout
    specs = [WorkerSpec(url, study_name, str(dataset.path), threads, seed, max_trials=share, deadline=deadline)
             for seed, share in zip(seeds, shares)]  # fmt: skip
    try:
        with _Progress(study, config.target_trials, enabled=progress) as bar:
            if len(specs) == 1:
                run_worker(specs[0], on_trial_done=bar.refresh)
            else:
                _run_processes(specs, bar, study_name)
    except StopRequested as stop:
        raise StudyStopped(f"worker of study {study_name!r} {stop}; its running trials were re-queued", stop.signum) from None
    return study


def _await_queue(store: optuna.storages.BaseStorage, name: str, wait_s: float) -> tuple[optuna.Study, StudyConfig]:
    """The study and its settings once it has queued or running trials, or when ``wait_s`` is over."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            study = load_study(name, store)
            try:
                config = StudyConfig.from_attrs(name, study.user_attrs)
            except TypeError:  # the driver is recording the settings right now
                raise StoreError(f"study {name!r} is still being created; try again, or give --wait SECONDS") from None
        except StoreError:
            if time.monotonic() >= deadline:
                raise
        else:
            if pending_trials(study) or time.monotonic() >= deadline:
                return study, config
        time.sleep(_POLL_S)
