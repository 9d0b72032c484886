"""``hpo worker`` and the ``--backend``/``--scheduler`` options: studies on many machines.

A thin layer over :func:`hpo.drivers.joining.join` and :mod:`hpo.drivers.backends`.
"""

from __future__ import annotations

import argparse
import sys

from hpo.options import BACKENDS, parse_duration

_STORAGE_HELP = "SQLAlchemy URL of the study store, e.g. postgresql://user:password@host:5432/db (default: sqlite:///<hpo home>/hpo.db)"


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``hpo worker`` to the ``hpo`` parser."""
    worker = sub.add_parser(
        "worker", help="join a running study with more workers (this or another machine)",
        description="Pop trials from the queue of a study that 'hpo run' or 'hpo resume' filled, until it is empty. "
        "Settings and dataset are read from the store; the study still ends with exactly its target number of trials.",
    )  # fmt: skip
    worker.add_argument("study", metavar="STUDY")
    worker.add_argument("--storage", metavar="URL", default=None, help=_STORAGE_HELP)
    worker.add_argument("--trials", type=int, default=None, metavar="N", help="run at most N trials (default: until the queue is empty)")
    worker.add_argument("--jobs", type=int, default=1, metavar="N", help="worker processes on this machine (default: 1)")
    worker.add_argument("--prepared", metavar="HASH_OR_PATH", default=None,
                        help="the prepared dataset, if not at the recorded path on this machine")  # fmt: skip
    worker.add_argument("--force", action="store_true", help="use --prepared even if its hash differs from the recorded one")
    worker.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                        help="wait up to this long for the study to exist and have queued trials (default: 0)")  # fmt: skip
    add_timeout_option(worker)
    worker.add_argument("--quiet", action="store_true", help="no progress bar")
    worker.set_defaults(handler=_worker)


def add_backend_options(parser: argparse.ArgumentParser) -> None:
    """``--backend`` and ``--scheduler`` for the commands that start workers."""
    parser.add_argument("--backend", choices=BACKENDS, default="local",
                        help="where the workers run: local processes, or tasks on a Dask cluster (default: local)")  # fmt: skip
    parser.add_argument("--scheduler", metavar="ADDRESS", default=None,
                        help="Dask scheduler address for --backend dask, e.g. tcp://10.0.0.5:8786")  # fmt: skip


def add_timeout_option(parser: argparse.ArgumentParser) -> None:
    """``--timeout``: the wall-clock budget of the commands that run trials."""
    parser.add_argument("--timeout", type=_duration, default=None, metavar="DURATION",
                        help="start no trial after this long, e.g. 90 (seconds), 10m, 1.5h; running trials finish, "
                             "and 'hpo resume' continues (default: none)")  # fmt: skip


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _worker(args: argparse.Namespace) -> int:
    import time

    import optuna

    from hpo.drivers.joining import join
    from hpo.drivers.stopping import StudyStopped, interrupt_once
    from hpo.drivers.summary import end_summary

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    started = time.monotonic()
    try:
        with interrupt_once():
            study = join(
                args.study, storage=args.storage, n_trials=args.trials, jobs=args.jobs, data=args.prepared, force=args.force,
                wait_s=args.wait, timeout=args.timeout, progress=not args.quiet,
            )  # fmt: skip
    except StudyStopped as err:
        print(f"hpo: {err}", file=sys.stderr)
        return err.exit_status
    print(end_summary([study], args.storage, time.monotonic() - started))
    return 0
