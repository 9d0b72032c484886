"""Opening the study store: an Optuna :class:`~optuna.storages.RDBStorage` fit for many writers.

Any SQLAlchemy URL works (``sqlite:///path``, ``postgresql://user@host/db``, ...). SQLite files are
set up for several worker processes writing at once:

- WAL journal mode, so that readers (the dashboard, progress bars) never block writers;
- every transaction starts with ``BEGIN IMMEDIATE``: a transaction takes the write lock before its
  first read, so a read-then-write (such as popping a waiting trial) is atomic across processes and
  never fails with "database is locked" half-way; waiting writers queue on the busy timeout.

Heartbeats are on: a worker records one every :func:`heartbeat_interval` seconds while it runs a
trial; a running trial whose heartbeat is older than the grace period is failed and re-queued with
the same parameters (:class:`optuna.storages.RetryHeartbeatStaleTrialCallback`).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy
import sqlalchemy.exc
from sqlalchemy.engine import URL, make_url

from hpo import paths
from hpo.errors import StoreError
from hpo.store.integrity import unbeaten_trials
from hpo.store.locks import sqlite_lock
from hpo.store.sqlite_files import check_sqlite_store
from hpo.store.urls import redact, scrub

#: Seconds a writer waits for the SQLite lock before giving up.
BUSY_TIMEOUT_S = 120.0
#: Heartbeat period of running trials (override with ``$HPO_HEARTBEAT_INTERVAL``, e.g. in tests).
DEFAULT_HEARTBEAT_INTERVAL_S = 20
#: How many times a trial whose worker died is re-queued before it is left failed.
MAX_RETRY = 3
#: PostgreSQL advisory-lock number held while the store's tables are created (CRC32 of "hpo-schema").
_SCHEMA_LOCK_KEY = zlib.crc32(b"hpo-schema")


def heartbeat_interval() -> int:
    """Seconds between heartbeats of a running trial (``$HPO_HEARTBEAT_INTERVAL`` or 20)."""
    raw = os.environ.get("HPO_HEARTBEAT_INTERVAL", str(DEFAULT_HEARTBEAT_INTERVAL_S))
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise StoreError(f"HPO_HEARTBEAT_INTERVAL must be a positive whole number of seconds, not {raw!r}")
    return value


def open_storage(url: str | None = None, *, create: bool = True) -> optuna.storages.RDBStorage:
    """Open the study store at ``url`` (default: ``<hpo home>/hpo.db``), creating it if ``create``.

    Read-only commands pass ``create=False``: a SQLite store that does not exist yet is then refused
    instead of created, and nothing is written to the file. A SQLite file that holds another
    application's tables is never opened (see :mod:`.sqlite_files`).

    Raises :class:`~hpo.errors.StoreError` with a one-line reason for a malformed URL, a missing
    database driver, a missing directory, a read-only file, an unreachable server, a missing store
    (without ``create``) or a file that is not a study store.
    """
    if url is None:
        url = paths.default_storage_url()
        if create:
            paths.home().mkdir(parents=True, exist_ok=True)
    try:
        parsed = make_url(url)
    except (sqlalchemy.exc.ArgumentError, ValueError):
        raise StoreError(  # the value is not echoed: it may hold a password
            "the storage URL is not a database URL; use e.g. sqlite:///studies/hpo.db or postgresql://user@host/db"
        ) from None
    shown = redact(parsed)
    is_sqlite = parsed.get_backend_name() == "sqlite"
    exists = False
    if is_sqlite:
        _check_sqlite_file(parsed, shown, create=create)
        exists = check_sqlite_store(Path(parsed.database), shown, create=create)
    interval = heartbeat_interval()
    engine_kwargs: dict[str, Any] = {"connect_args": {"timeout": BUSY_TIMEOUT_S}} if is_sqlite else {"pool_pre_ping": True}
    try:
        # An existing SQLite store's tables are there: no lock (file) is needed to create them.
        with warnings.catch_warnings(), _schema_lock(parsed) if not exists else contextlib.nullcontext():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeats are "experimental"
            storage = optuna.storages.RDBStorage(
                url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=interval,
                grace_period=3 * interval,
                heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY),
            )
            if is_sqlite:
                _configure_sqlite(storage.engine)
                storage.get_all_studies()  # touch the file through the configured engine: WAL needs write access
    except ImportError:
        raise StoreError(f"no database driver for {shown}; install the driver package for '{parsed.drivername}'") from None
    except (sqlalchemy.exc.SQLAlchemyError, sqlite3.Error, RuntimeError) as err:
        raise StoreError(f"cannot open the study store {shown}: {scrub(_reason(err), parsed)}") from None
    except (ValueError, TypeError) as err:  # an option of the URL the driver cannot use (?timeout=abc)
        raise StoreError(f"cannot open the study store {shown}: {scrub(_reason(err), parsed)}; check the options after '?'") from None
    return storage


@contextmanager
def store_failures(url: str, study_name: str) -> Iterator[None]:
    """Turn a store that fails while a study runs (disk full, made read-only, server gone) into a
    one-line :class:`~hpo.errors.StoreError` that says the finished trials are kept and how to go on.

    Each trial is written in its own transaction, so a failed write loses at most the trial being
    told; a trial left RUNNING is failed by heartbeat and re-run by ``hpo resume``.
    """
    try:
        yield
    except (optuna.exceptions.StorageInternalError, sqlalchemy.exc.SQLAlchemyError, sqlite3.Error) as err:
        cause = err.__cause__ if isinstance(err, optuna.exceptions.StorageInternalError) and err.__cause__ else err
        raise StoreError(
            f"the study store {redact(url)} failed while running study {study_name!r} ({scrub(_reason(cause), url)}); "
            f"finished trials are kept; free disk space or restore write access, then continue with: hpo resume {study_name}"
        ) from None


@contextmanager
def _schema_lock(url: URL) -> Iterator[None]:
    """Serialise opening an empty PostgreSQL database: workers started at once on several machines
    would otherwise race creating Optuna's tables (``duplicate key ... pg_type_typname_nsp_index``).
    A new SQLite file races the same way (``UNIQUE constraint failed: alembic_version``): its lock
    file is held. Other databases need nothing."""
    if url.get_backend_name() == "sqlite":
        with sqlite_lock(url.database):
            yield
        return
    if url.get_backend_name() != "postgresql":
        yield
        return
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as connection:  # a session-level advisory lock, released with the session
            connection.execute(sqlalchemy.text("SELECT pg_advisory_lock(:key)"), {"key": _SCHEMA_LOCK_KEY})
            yield
    finally:
        engine.dispose()


def fail_stale_trials(study: optuna.Study) -> None:
    """Fail the running trials of ``study`` whose worker is gone, re-queueing them (see module doc).

    Stale are the trials whose heartbeat stopped (Optuna's own search) and those that never had a
    heartbeat although they started more than the grace period ago (a worker killed between taking
    the trial and its first beat), which Optuna's search skips.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    storage = study._storage  # Optuna wraps the RDB storage in a cache; write through the wrapper
    backend = getattr(storage, "_backend", storage)
    interval = backend.get_heartbeat_interval() if isinstance(backend, optuna.storages.RDBStorage) else None
    if interval is None:
        return
    grace_s = backend.grace_period if backend.grace_period is not None else 2 * interval
    with backend.engine.connect() as connection:
        unbeaten = unbeaten_trials(connection, study._study_id, grace_s)
    failed = []
    for trial_id, _, _ in unbeaten:
        try:
            if storage.set_trial_state_values(trial_id, state=optuna.trial.TrialState.FAIL):
                failed.append(trial_id)
        except optuna.exceptions.UpdateFinishedTrialError:
            pass  # another process failed or finished it first
    callback = storage.get_heartbeat_stale_trial_callback()
    if callback is not None:
        for trial_id in failed:
            callback(study, storage.get_trial(trial_id))


def _check_sqlite_file(url: URL, shown: str, *, create: bool = True) -> None:
    """Turn the usual SQLite path mistakes into clear messages before SQLAlchemy sees them."""
    database = url.database
    if database and "\x00" in database:
        raise StoreError(f"the path of the study store {shown} contains a NUL character (%00); give a plain file path")
    if not database or database == ":memory:":
        raise StoreError(f"--storage {shown} is an in-memory database, which worker processes cannot share; give a file path")
    path = Path(database)
    if not path.parent.is_dir():
        raise StoreError(f"the folder of the study store {shown} does not exist; create {path.parent} first")
    if not create and not path.exists():
        return  # refused by check_sqlite_store, which names the store
    if path.exists() and not os.access(path, os.W_OK):
        raise StoreError(f"the study store {path} is read-only; make it writable or copy it elsewhere")
    if not os.access(path.parent, os.W_OK):
        raise StoreError(f"the folder {path.parent} of the study store is read-only; SQLite needs to write its journal there")


def _configure_sqlite(engine: sqlalchemy.engine.Engine) -> None:
    """WAL journal and ``BEGIN IMMEDIATE`` transactions on every new connection of ``engine``."""

    @sqlalchemy.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's "begin" event open transactions
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @sqlalchemy.event.listens_for(engine, "begin")
    def _on_begin(connection: sqlalchemy.engine.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()  # connections opened while Optuna created the tables lack the settings above


def _reason(err: BaseException) -> str:
    """The first line of a database error, without SQLAlchemy's statement dump."""
    orig = getattr(err, "orig", None)
    text = str(orig if orig is not None else err).strip()
    return text.splitlines()[0] if text else type(err).__name__
