"""One worker: pop waiting trials of a study from the store and run them until the target is met.

Workers are separate processes (or the calling process for one job). Each opens the store and the
prepared dataset itself (memory-mapped by path; no arrays are pickled), caps its threads, and then
loops: fail stale trials of dead workers (they are re-queued), pop a waiting trial (topping the
short queue up by one when it is empty and the study is below its target), run it while a
heartbeat thread keeps it alive, tell the result. A worker that finds no waiting trial waits while
other trials are still running (one of them may turn stale and come back) and stops when every
trial of the study is finished.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
import sqlalchemy.exc
from optuna.trial import TrialState

from hpo.drivers.config import StudyConfig, check_model_code, make_pruner
from hpo.drivers.queue import enqueue_missing, pending_trials, pop_waiting_trial
from hpo.drivers.stopping import GracefulStop
from hpo.errors import HpoError
from hpo.store import deleted_while_running, fail_stale_trials, load_study, open_storage, store_failures

_log = logging.getLogger(__name__)

#: ``(model, data, space, *, metric, prune, threads, seed[, rungs][, cv, fold_scores]) -> objective(trial) -> float``
ObjectiveFactory = Callable[..., Callable[[optuna.Trial], float]]


#: Seconds an idle worker waits before looking for re-queued trials again.
IDLE_POLL_S = 1.0


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker process needs; small and picklable (the storage URL, not a connection)."""

    storage_url: str
    study_name: str
    data_path: str
    threads: int
    seed: int  # this worker's sampler seed
    objective_factory: ObjectiveFactory | None = None  # default: hpo.objectives.build_objective
    max_trials: int | None = None  # stop after this many trials (a worker joining with 'hpo worker --trials')
    deadline: float | None = None  # time.time() after which no trial starts (--timeout); running ones finish


def run_worker(spec: WorkerSpec, on_trial_done: Callable[[], None] | None = None, *, stop: GracefulStop | None = None) -> int:
    """Run trials of ``spec.study_name`` until none is waiting or running; returns how many it ran.

    Ctrl-C or SIGTERM fails and re-queues the running trial and raises :class:`StopRequested`; a failing
    store (disk full, read-only) is a :class:`~hpo.errors.StoreError` (see :mod:`.stopping`).
    """
    stop = stop or GracefulStop()
    with stop.installed(), store_failures(spec.storage_url, spec.study_name), \
            deleted_while_running(spec.study_name, lambda: open_storage(spec.storage_url)):  # fmt: skip
        done = _work(spec, on_trial_done, stop)
    if stop.signalled:
        raise stop.stop_requested()
    return done


def _work(spec: WorkerSpec, on_trial_done: Callable[[], None] | None, stop: GracefulStop) -> int:
    from hpo.objectives import limit_threads

    limit_threads(spec.threads)  # before anything starts TensorFlow or a BLAS pool
    storage = open_storage(spec.storage_url)
    config = StudyConfig.from_attrs(spec.study_name, load_study(spec.study_name, storage).user_attrs)
    check_model_code(spec.study_name, config)  # this machine must run the model code the study recorded
    space = config.search_space()
    study = load_study(
        spec.study_name,
        storage,
        sampler=_sampler(config, spec.seed),
        pruner=make_pruner(config.prune, config.rungs, config.cv),
    )
    objective = _objective(spec, config, space)
    grid = config.grid_points()
    done = 0
    while not stop.requested and (spec.max_trials is None or done < spec.max_trials) and not past(spec.deadline):
        fail_stale_trials(study)  # dead workers' trials come back as WAITING copies
        trial_id = pop_waiting_trial(study)
        if trial_id is None and enqueue_missing(study, config.target_trials, grid, limit=1):
            trial_id = pop_waiting_trial(study)  # the queue is kept short: top it up by one
        if trial_id is None:
            if not pending_trials(study):
                return done
            time.sleep(IDLE_POLL_S)
            continue
        _run_trial(study, storage, trial_id, objective, stop)
        done += 1
        if on_trial_done is not None:
            on_trial_done()
    return done


def past(deadline: float | None) -> bool:
    """True once ``deadline`` (a ``time.time()``; None: no deadline) has passed."""
    return deadline is not None and time.time() >= deadline


def run_worker_process(spec: WorkerSpec) -> int:
    """:func:`run_worker` in a worker process, with Optuna's per-trial log lines silenced.

    If the driver process dies, the worker finishes its running trial and exits: no one is left
    to hand it more work or read its result.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    parent = os.getppid()
    done = run_worker(spec, stop=GracefulStop(parent_pid=parent))
    if os.getppid() != parent:
        os._exit(0)  # an orphan: the pool machinery would wait for its driver forever
    return done


def _sampler(config: StudyConfig, seed: int) -> optuna.samplers.BaseSampler:
    from hpo.samplers import make_sampler

    return make_sampler(config.algo, config.search_space(), seed, **config.sampler_options)


def _objective(spec: WorkerSpec, config: StudyConfig, space: Any) -> Callable[[optuna.Trial], float]:
    from hpo.data import open_prepared

    factory = spec.objective_factory
    if factory is None:
        from hpo.objectives import build_objective as factory
    data = open_prepared(spec.data_path)
    data.verify()  # a damaged file stops the worker before it takes a trial
    budgets: dict[str, Any] = {}  # passed only when set, so a factory without these options still serves other studies
    if config.rungs:
        budgets["rungs"] = list(config.rungs)
    if config.cv:
        budgets.update(cv=config.cv, fold_scores=config.prune == "wilcoxon")
    return factory(config.model, data, space, metric=config.metric, prune=config.prune != "none", threads=spec.threads,
                   seed=config.seed, **budgets)  # fmt: skip


def _run_trial(
    study: optuna.Study, storage: optuna.storages.RDBStorage, trial_id: int, objective: Callable[[optuna.Trial], float], stop: GracefulStop
) -> None:
    """Run one popped trial and tell its outcome; an interrupted trial is failed and re-queued."""
    with _heartbeat(storage, trial_id):
        trial = optuna.Trial(study, trial_id)
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        try:
            with stop.trial():
                value = objective(trial)
        except optuna.TrialPruned:
            study.tell(trial, state=TrialState.PRUNED)
        except (optuna.exceptions.StorageInternalError, sqlalchemy.exc.SQLAlchemyError):
            raise  # the store failed, not the trial: stop (the trial stays RUNNING; resume re-runs it)
        except HpoError:  # the user's to fix (bad setting, unusable data): stop the study
            _fail_and_requeue(study, storage, trial)
            raise
        except Exception as err:  # noqa: BLE001 - one failed trial must not end a long study
            if stop.signalled:  # the stop landed inside a library, which turned it into an error of its own
                _fail_and_requeue(study, storage, trial)
                raise stop.stop_requested() from err
            trial.set_user_attr("error", f"{type(err).__name__}: {err}"[:500])
            _log.warning("trial %d failed: %s: %s", trial.number, type(err).__name__, err)
            study.tell(trial, state=TrialState.FAIL)
        except BaseException:  # Ctrl-C or SIGTERM (StopRequested), KeyboardInterrupt: leave it for a later run
            _fail_and_requeue(study, storage, trial)
            raise
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a NaN value is told as FAIL with a warning
                study.tell(trial, value)


def _fail_and_requeue(study: optuna.Study, storage: optuna.storages.RDBStorage, trial: optuna.Trial) -> None:
    """Fail ``trial`` and add a WAITING copy, as the heartbeat callback does for dead workers."""
    frozen = study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
    callback = storage.get_heartbeat_stale_trial_callback()
    if callback is not None:
        callback(study, frozen)


@contextmanager
def _heartbeat(storage: optuna.storages.RDBStorage, trial_id: int) -> Iterator[None]:
    """Record heartbeats of ``trial_id`` from a background thread while the block runs."""
    interval = storage.get_heartbeat_interval()
    if interval is None:
        yield
        return
    storage.record_heartbeat(trial_id)
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(interval):
            try:
                storage.record_heartbeat(trial_id)
            except Exception as err:  # noqa: BLE001 - a missed beat is retried next period
                _log.warning("heartbeat of trial %d not recorded: %s", trial_id, err)

    thread = threading.Thread(target=beat, name=f"hpo-heartbeat-{trial_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def worker_seeds(seed: int, n_workers: int, n_existing: int) -> list[int]:
    """Distinct sampler seeds for ``n_workers`` workers (and distinct from earlier runs' seeds)."""
    states = np.random.SeedSequence([seed, n_existing]).spawn(n_workers)
    return [int(s.generate_state(1)[0]) for s in states]
