"""Where a study's workers run: processes on this machine, or tasks on a Dask cluster.

``local`` (default): ``--jobs N`` worker processes here (see :mod:`.study`).

``dask``: ``--backend dask --scheduler tcp://HOST:8786`` submits ``--jobs N`` tasks to the
cluster's scheduler through a :class:`distributed.Client`; each task is one worker loop
(:func:`hpo.drivers.worker.run_worker`) that pops trials from the study's queue until it is empty,
so the trial count stays exact however many tasks run at once. How the data reaches the workers:

- the store: every task opens it by URL; use a server database (``postgresql://...``) that the
  Dask workers can reach, or an SQLite file on a filesystem they share with this machine;
- the prepared dataset: every task memory-maps the file at the study's recorded path *once* and
  keeps it for all the trials it runs (never once per trial, and no arrays travel through the
  scheduler); the Dask workers must see that path, on a shared filesystem or as a copy at the
  same place (``studies/data/<hash>.arrow``). Tasks of one machine share the file's pages.

Each task caps its compute threads at the machine's cores divided by the Dask task slots
(worker threads) on that machine, so a cluster is not oversubscribed.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import joblib

from hpo.drivers.worker import WorkerSpec, run_worker
from hpo.errors import UsageError
from hpo.options import BACKENDS

if TYPE_CHECKING:
    import distributed

#: Seconds to wait for the Dask scheduler to answer.
CONNECT_TIMEOUT_S = 20
_POLL_S = 1.0


def check_backend(backend: str, scheduler: str | None) -> None:
    """Refuse an unknown backend, a Dask backend without scheduler, a scheduler without Dask."""
    if backend not in BACKENDS:
        raise UsageError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "dask" and not scheduler:
        raise UsageError("--backend dask needs --scheduler ADDRESS (e.g. tcp://10.0.0.5:8786, printed by 'dask scheduler')")
    if backend != "dask" and scheduler:
        raise UsageError(f"--scheduler {scheduler} is for --backend dask")
    if backend == "dask":
        _connect(scheduler).close()  # an unreachable scheduler is refused before the study is touched


def run_on_dask(specs: Sequence[WorkerSpec], scheduler: str, on_poll: Callable[[], None] | None = None) -> list[int]:
    """Run one worker loop per spec as a task of the Dask cluster at ``scheduler``; returns the
    number of trials each ran. A task's error (a :class:`~hpo.errors.HpoError` included) is raised here."""
    with _connect(scheduler) as client:
        slots = task_slots(client)
        futures = client.map(_worker_task, specs, slots=slots, pure=False, key=[f"hpo-worker-{i}-{s.seed}" for i, s in enumerate(specs)])
        while not all(f.done() for f in futures) and not any(f.status == "error" for f in futures):
            time.sleep(_POLL_S)
            if on_poll is not None:
                on_poll()
        return client.gather(futures)


def _connect(scheduler: str) -> distributed.Client:
    """A client of the Dask scheduler at ``scheduler``, or a :class:`UsageError` saying why not."""
    from distributed import Client

    try:
        return Client(scheduler, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UsageError(f"cannot reach the Dask scheduler at {scheduler} ({reason}); start one with 'dask scheduler' and check the address") from None


def task_slots(client: distributed.Client) -> dict[str, int]:
    """Dask task slots (worker threads) per host of the cluster behind ``client``."""
    slots: Counter[str] = Counter()
    for worker in client.scheduler_info(n_workers=-1)["workers"].values():
        slots[worker["host"]] += int(worker["nthreads"])
    return dict(slots)


def _worker_task(spec: WorkerSpec, slots: dict[str, int]) -> int:
    """One worker loop inside a Dask worker, with threads capped for its machine's share."""
    import optuna
    from distributed import get_worker
    from distributed.comm import get_address_host

    worker = get_worker()
    share = slots.get(get_address_host(worker.address), worker.state.nthreads)
    threads = max(1, joblib.cpu_count() // max(1, share))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return run_worker(dataclasses.replace(spec, threads=threads))
