"""Running and resuming studies: create or check the study, fill the queue, start the workers."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, wait
from typing import Any

import joblib
import optuna
from tqdm.auto import tqdm

from hpo import paths, tuners
from hpo.data.prepared import PreparedDataset
from hpo.drivers.algorithms import check_algorithm
from hpo.drivers.backends import check_backend, run_on_dask
from hpo.drivers.config import StudyConfig, check_model_code, check_study_name, default_study_name, is_half_created, make_pruner
from hpo.drivers.datasets import dataset_on_disk, recorded_dataset
from hpo.drivers.queue import budget_trials, enqueue_missing
from hpo.drivers.stopping import GracefulStop, StopRequested, StudyStopped, ignore_interrupts
from hpo.drivers.worker import ObjectiveFactory, WorkerSpec, run_worker, run_worker_process, worker_seeds
from hpo.errors import UsageError
from hpo.fidelity import check_budget_options, parse_fidelity
from hpo.models import check_missing_values, check_plugin, code_differences, default_space, get_model, model_code, model_ref
from hpo.models.registry import ModelLike
from hpo.options import DEFAULT_JOBS, DEFAULT_TRIALS
from hpo.progress import shown as progress_shown
from hpo.spaces import DEFAULT_MAX_GRID_POINTS, SearchSpace, check_grid_size, load_space
from hpo.store import best_value, deleted_while_running, fail_stale_trials, load_study, open_storage, store_failures, store_lock

_POLL_S = 1.0


class WorkerDied(RuntimeError):
    """A worker process ended abnormally (killed, out of memory); the study can be resumed."""


def run(
    model: ModelLike,
    algo: str,
    data: PreparedDataset | str | os.PathLike[str],
    *,
    space: SearchSpace | str | os.PathLike[str] | None = None,
    n_trials: int | None = None,
    jobs: int | None = None,
    backend: str = "local",
    scheduler: str | None = None,
    storage: str | None = None,
    study_name: str | None = None,
    seed: int = 0,
    metric: str = "auc",
    prune: str = "none",
    grid_levels: int | None = None,
    max_grid_points: int = DEFAULT_MAX_GRID_POINTS,
    sampler_options: Mapping[str, Any] | None = None,
    fidelity: str | Sequence[float] | None = None,
    cv: int = 0,
    timeout: float | None = None,
    progress: bool = True,
    objective_factory: ObjectiveFactory | None = None,
) -> optuna.Study:
    """Tune ``model`` with algorithm ``algo`` on ``data`` until the study holds ``n_trials`` trials.

    ``model`` is a built-in name (``ann``, ``rf``, ``bdt``), an ``hpo.models`` entry-point name,
    ``package.module:Class`` or a :class:`~hpo.models.Model` class; a plug-in is tried on a few
    events before the study starts. ``data`` is a prepared dataset or its path/hash; ``space`` a
    search space, its name or YAML path (default: the model's own, ``search_spaces/<model>.yaml``
    or a plug-in's ``space``). ``n_trials`` is the study's total (default 20; for ``grid`` the
    whole grid, or its first ``n_trials`` points; a grid of more than ``max_grid_points`` points is
    refused with its size before anything starts). ``jobs``
    worker processes share the study (default 2); ``backend="dask"`` runs them as tasks of the
    Dask cluster at ``scheduler`` (:mod:`.backends`). ``kt-hyperband``/``kt-bayes`` run a
    KerasTuner search in this process (:mod:`hpo.tuners`). ``prune`` names the pruner
    (:data:`~hpo.drivers.config.PRUNERS`). ``fidelity`` (``"events"``, ``"1/9,1/3,1"`` or a list
    of fractions) trains each trial on growing nested fractions of the training events and lets
    the pruner stop it at each rung; ``cv`` (K >= 2) scores each configuration by K-fold
    cross-validation on train+validation (see :mod:`hpo.fidelity`). ``timeout`` (seconds) is a
    wall-clock budget: once it has passed no trial starts, the running ones finish, and
    :func:`resume` continues the study. An existing study of the same name continues if its
    recorded settings match, and is refused otherwise. Returns the study.
    """
    model = model_ref(model)
    get_model(model)  # one line for an unknown model or a broken plug-in
    check_algorithm(algo)
    rungs = parse_fidelity(fidelity)
    check_budget_options(prune, rungs, cv, algo)  # before the KerasTuner checks, which refuse any pruner
    jobs = _workers(algo, model, prune, jobs, backend, scheduler)
    make_pruner(prune, rungs, cv)
    _check_positive("seed", seed, allow_zero=True)
    if n_trials is not None:
        _check_positive("n_trials", n_trials)
    if grid_levels is not None:
        _check_positive("grid_levels", grid_levels)
    _check_positive("max_grid_points", max_grid_points)
    _check_timeout(timeout, algo)
    _check_metric(metric)
    space = _resolve_space(space if space is not None else default_space(model), model)
    grid_size = len(check_grid_size(space.grid(grid_levels), max_grid_points, space.source, grid_levels)) if algo == "grid" else None
    dataset = dataset_on_disk(data)
    check_missing_values(model, dataset, space)
    check_plugin(model, space, dataset)
    _check_rung_events(dataset, rungs, cv)
    config = StudyConfig(
        model=model,
        algo=algo,
        space=space.to_dict(),
        dataset_hash=dataset.hash,
        dataset_path=str(dataset.path),
        dataset_name=str(dataset.meta.get("description", {}).get("name", "")),
        target_trials=_target(n_trials, grid_size),
        seed=seed,
        metric=metric,
        prune=prune,
        grid_levels=grid_levels,
        sampler_options=dict(sampler_options or {}),
        rungs=rungs,
        cv=cv,
        model_code=model_code(model),
    )
    name = check_study_name(study_name or default_study_name(model, algo, dataset.hash))
    url = storage or paths.default_storage_url()
    store = open_storage(storage)
    with store_lock(store, f"create:{name}"):  # two 'hpo run' at once: one creates, the other continues
        _create_or_continue(store, name, config)
    return _drive(store, url, name, config, jobs=jobs, backend=backend, scheduler=scheduler, progress=progress,
                  objective_factory=objective_factory, timeout=timeout)


def run_repeats(
    model: ModelLike,
    algo: str,
    data: PreparedDataset | str | os.PathLike[str],
    *,
    repeats: int,
    seed: int = 0,
    study_name: str | None = None,
    **options: Any,
) -> list[optuna.Study]:
    """Run ``repeats`` studies that differ only in their seed (``seed``, ``seed + 1``, ...).

    The studies are named ``<name>-seed<k>`` (``<name>`` as in :func:`run`), which
    :func:`hpo.reports.compare` draws as one median line with an inter-quartile band. ``options``
    are those of :func:`run`.
    """
    _check_positive("repeats", repeats)
    _check_positive("seed", seed, allow_zero=True)
    dataset = dataset_on_disk(data)
    model = model_ref(model)
    base = check_study_name(study_name or default_study_name(model, algo, dataset.hash))
    return [
        run(model, algo, dataset, seed=s, study_name=f"{base}-seed{s}", **options)
        for s in range(seed, seed + repeats)
    ]


def resume(
    study_name: str,
    *,
    storage: str | None = None,
    n_trials: int | None = None,
    jobs: int | None = None,
    backend: str = "local",
    scheduler: str | None = None,
    data: PreparedDataset | str | os.PathLike[str] | None = None,
    force: bool = False,
    timeout: float | None = None,
    progress: bool = True,
    objective_factory: ObjectiveFactory | None = None,
) -> optuna.Study:
    """Continue ``study_name`` with its recorded algorithm, space and dataset until its target.

    ``n_trials`` sets a new total target (default: the recorded one); ``timeout`` is a wall-clock
    budget as in :func:`run`. Trials left running by dead workers are failed by heartbeat and
    re-run. The study's prepared dataset is opened from its recorded path (or by hash under
    ``studies/data``); a missing file or a different hash is refused unless ``force`` (with
    ``data`` naming the dataset to use instead).
    """
    if n_trials is not None:
        _check_positive("n_trials", n_trials)
    url = storage or paths.default_storage_url()
    store = open_storage(storage, create=False)  # a study to continue lives in an existing store
    study = load_study(study_name, store)
    config = StudyConfig.from_attrs(study_name, study.user_attrs)
    config.model_code = check_model_code(study_name, config)  # refuses other model code than recorded
    jobs = _workers(config.algo, config.model, config.prune, jobs, backend, scheduler)
    _check_timeout(timeout, config.algo)
    if n_trials is not None:
        finished = len(budget_trials(study))
        if n_trials < finished:
            raise UsageError(
                f"study {study_name!r} already has {finished} finished trials, more than --trials {n_trials}; "
                f"give at least {finished} (or leave --trials out to keep its target of {config.target_trials})"
            )
    dataset = recorded_dataset(study_name, config, data, force)
    space = config.search_space()
    check_missing_values(config.model, dataset, space)
    check_plugin(config.model, space, dataset)
    if dataset.hash != config.dataset_hash or str(dataset.path) != config.dataset_path:
        study.set_user_attr("previous_datasets", [*study.user_attrs.get("previous_datasets", []), config.dataset_hash])
        config.dataset_hash, config.dataset_path = dataset.hash, str(dataset.path)
    if n_trials is not None:
        grid = config.grid_points()
        config.target_trials = _target(n_trials, None if grid is None else len(grid))
    config.record(study)
    return _drive(store, url, study_name, config, jobs=jobs, backend=backend, scheduler=scheduler, progress=progress,
                  objective_factory=objective_factory, timeout=timeout)


# -- the study -------------------------------------------------------------------------------
def _create_or_continue(store: optuna.storages.RDBStorage, name: str, config: StudyConfig) -> None:
    """Create study ``name`` with ``config`` recorded, or check that the existing one matches.

    The settings are recorded with their completion marker last, so a creation killed half-way is
    recognised (:func:`~hpo.drivers.config.is_half_created`) and made anew by the next run.
    """
    try:
        study = optuna.create_study(study_name=name, storage=store, direction="maximize")
    except optuna.exceptions.DuplicatedStudyError:
        study = load_study(name, store)
        if is_half_created(study.user_attrs) and not study.get_trials(deepcopy=False):
            optuna.delete_study(study_name=name, storage=store)  # an interrupted creation: made anew
            _create_or_continue(store, name, config)
            return
        recorded = StudyConfig.from_attrs(name, study.user_attrs)
        changed = recorded.differences(config)
        if recorded.model_code:
            changed += [f"model {k}" for k in code_differences(recorded.model_code, config.model_code, config.model)]
        if changed:
            raise UsageError(
                f"study {name!r} already exists with different {', '.join(changed)}; "
                f"pass --study NEW_NAME for a new study, or 'hpo resume {name}' to continue it as it was"
            )
        study.set_user_attr("target_trials", config.target_trials)
        return
    try:
        config.record(study)
    except BaseException:
        optuna.delete_study(study_name=name, storage=store)  # no half-recorded study is left behind
        raise


def _drive(
    store: optuna.storages.RDBStorage,
    url: str,
    name: str,
    config: StudyConfig,
    *,
    jobs: int,
    backend: str = "local",
    scheduler: str | None = None,
    progress: bool,
    objective_factory: ObjectiveFactory | None,
    timeout: float | None = None,
) -> optuna.Study:
    """Fill the queue up to the target and run ``jobs`` workers until it is empty (or ``timeout``
    seconds have passed: then no trial starts and the running ones finish).

    Ctrl-C or SIGTERM stops the workers cleanly (:class:`StudyStopped`); a store that fails on the way is a
    :class:`~hpo.errors.StoreError`; both keep every finished trial (see :mod:`.stopping`).
    """
    try:
        with store_failures(url, name), deleted_while_running(name, lambda: store):
            study = load_study(name, store)
            if tuners.is_kerastuner(config.algo):  # KerasTuner proposes the trials and adds them to the study
                with _Progress(study, config.target_trials, enabled=progress) as bar:
                    tuners.search(study, config, dataset_on_disk(config.dataset_path), threads=joblib.cpu_count(),
                                  objective_factory=objective_factory, on_trial_done=bar.refresh)
                return study
            fail_stale_trials(study)
            enqueue_missing(study, config.target_trials, config.grid_points(), limit=jobs)  # workers top it up
            seeds = worker_seeds(config.seed, jobs, len(study.get_trials(deepcopy=False)))
            threads = max(1, joblib.cpu_count() // jobs)
            deadline = None if timeout is None else time.time() + timeout
            specs = [WorkerSpec(url, name, config.dataset_path, threads, s, objective_factory, deadline=deadline) for s in seeds]
            with _Progress(study, config.target_trials, enabled=progress) as bar:
                if backend == "dask":
                    run_on_dask(specs, scheduler, on_poll=bar.refresh)
                elif jobs == 1:
                    run_worker(specs[0], on_trial_done=bar.refresh)
                else:
                    _run_processes(specs, bar, name)
    except StopRequested as stop:
        raise StudyStopped(
            f"study {name!r} {stop}; finished trials are kept and the running ones were failed and re-queued; "
            f"continue with: hpo resume {name}",
            stop.signum,
        ) from None
    return study


def _run_processes(specs: list[WorkerSpec], bar: _Progress, name: str) -> None:
    from joblib.externals.loky import ProcessPoolExecutor
    from joblib.externals.loky.process_executor import TerminatedWorkerError

    # The handler stays installed until the pool has shut down: a Ctrl-C pressed while the workers
    # fail and re-queue their trials must not interrupt the wait for them. The workers ignore
    # Ctrl-C outside their trial loop, where it would end them with a traceback.
    pool = ProcessPoolExecutor(max_workers=len(specs), initializer=ignore_interrupts)
    with GracefulStop(forward_to=lambda: list(pool._processes)).installed(), pool:
        futures = [pool.submit(run_worker_process, spec) for spec in specs]
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=_POLL_S, return_when=FIRST_EXCEPTION)
            bar.refresh()
            if any(f.exception() is not None for f in done):
                break
        try:
            for future in futures:
                future.result()
        except TerminatedWorkerError as err:
            raise WorkerDied(
                f"a worker process died ({str(err).splitlines()[0]}); finished trials are kept, "
                f"continue with: hpo resume {name}"
            ) from None


class _Progress:
    """tqdm bar of counted trials / target with the best value so far, refreshed from the store."""

    def __init__(self, study: optuna.Study, target: int, *, enabled: bool) -> None:
        self.study = study
        self.bar = tqdm(total=target, desc=study.study_name, unit="trial", disable=not progress_shown(enabled), dynamic_ncols=True)
        self.bar.n = self.bar.last_print_n = len(budget_trials(study))
        self._last = 0.0

    def refresh(self) -> None:
        if self.bar.disable or time.monotonic() - self._last < _POLL_S:
            return
        self._last = time.monotonic()
        self.bar.update(len(budget_trials(self.study)) - self.bar.n)
        best = best_value(self.study)
        if best is not None:
            self.bar.set_postfix_str(f"best {best:.4f}", refresh=True)

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self._last = 0.0
        self.refresh()
        self.bar.close()


# -- checks and helpers -------------------------------------------------------------------------
def _check_positive(name: str, value: object, *, allow_zero: bool = False) -> None:
    ok = isinstance(value, int) and not isinstance(value, bool) and (value >= 0 if allow_zero else value >= 1)
    if not ok:
        raise UsageError(f"{name} must be {'a non-negative' if allow_zero else 'a positive'} integer, got {value!r}")


def _check_timeout(timeout: float | None, algo: str | None = None) -> None:
    """Refuse a ``timeout`` that is not a positive, finite number of seconds, or one for a KerasTuner ``algo``."""
    if timeout is None:
        return
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < float("inf"):
        raise UsageError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if algo is not None and tuners.is_kerastuner(algo):
        raise UsageError(f"--timeout is not available for KerasTuner searches ({algo}); give --trials instead")


def _workers(algo: str, model: str, prune: str, jobs: int | None, backend: str, scheduler: str | None) -> int:
    """The number of workers once the options are checked (default 2; KerasTuner searches: 1)."""
    if tuners.is_kerastuner(algo):
        jobs = 1 if jobs is None else jobs
        tuners.check_options(algo, model=model, jobs=jobs, prune=prune, backend=backend)
    jobs = DEFAULT_JOBS if jobs is None else jobs
    _check_positive("jobs", jobs)
    check_backend(backend, scheduler)
    return jobs


def _check_rung_events(data: PreparedDataset, rungs: list[float], cv: int) -> None:
    """Refuse rungs or folds that leave a class with fewer than 2 training events."""
    from hpo.objectives.fidelity import check_budgets

    check_budgets(data, rungs, cv)


def _check_metric(metric: str) -> None:
    from hpo.objectives import make_scorer

    make_scorer(metric)


def _target(n_trials: int | None, grid_size: int | None) -> int:
    if grid_size is None:
        return DEFAULT_TRIALS if n_trials is None else n_trials
    return grid_size if n_trials is None else min(n_trials, grid_size)


def _resolve_space(space: SearchSpace | str | os.PathLike[str], model: str) -> SearchSpace:
    if not isinstance(space, SearchSpace):
        space = load_space(space)
    if space.model != model:
        raise UsageError(f"search space {space.source} is for model {space.model!r}, not --model {model}")
    return space.check_complete()


__all__ = ["DEFAULT_JOBS", "DEFAULT_TRIALS", "StudyStopped", "WorkerDied", "resume", "run", "run_repeats"]
