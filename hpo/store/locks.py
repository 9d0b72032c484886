"""A lock shared by every process of one store, for the few steps that read and then write.

Filling a study's queue (count the trials, then enqueue the missing ones) and creating a study
(create, then record its settings) are several storage calls each. Two ``hpo run`` started at the
same moment on one study would both count the same trials and over-fill the queue; holding
:func:`store_lock` around those steps makes them one step.

- SQLite: a lock file beside the database (``hpo.db.lock``), via :mod:`filelock`; it is also held
  while a new store's tables are created, which two processes must not do at once;
- PostgreSQL: a session-level advisory lock (``pg_advisory_lock``);
- MySQL / MariaDB: a named lock (``GET_LOCK``).
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

import filelock
import optuna
import sqlalchemy

from hpo.errors import StoreError

#: Seconds to wait for another process's lock before giving up.
LOCK_TIMEOUT_S = 300.0


@contextmanager
def sqlite_lock(database: str | os.PathLike[str]) -> Iterator[None]:
    """Hold the lock file ``<database>.lock`` of a SQLite store (also used while its tables are created)."""
    path = f"{os.fspath(database)}.lock"
    try:
        with filelock.FileLock(path, timeout=LOCK_TIMEOUT_S):
            yield
    except filelock.Timeout:
        raise StoreError(f"another hpo process holds {path} for over {LOCK_TIMEOUT_S:.0f} s; if none runs, delete the file") from None


@contextmanager
def store_lock(storage: optuna.storages.BaseStorage, name: str) -> Iterator[None]:
    """Hold the exclusive lock ``name`` of ``storage`` (across processes and machines sharing it).

    ``storage`` is an :class:`~optuna.storages.RDBStorage` or the cache a loaded study wraps it in.
    """
    rdb = getattr(storage, "_backend", storage)  # optuna.load_study wraps an RDBStorage in a cache
    if not isinstance(rdb, optuna.storages.RDBStorage):
        raise StoreError(f"hpo cannot lock a {type(rdb).__name__}; use a database store")
    engine = rdb.engine
    backend = engine.url.get_backend_name()
    if backend == "sqlite":
        with sqlite_lock(engine.url.database):  # one lock per store file: the locked steps are short
            yield
        return
    key = zlib.crc32(name.encode())  # advisory locks are numbered; a name's CRC32 is stable
    if backend == "postgresql":
        acquire, release = "SELECT pg_advisory_lock(:key)", "SELECT pg_advisory_unlock(:key)"
    elif backend in ("mysql", "mariadb"):
        acquire, release = f"SELECT GET_LOCK(:key, {int(LOCK_TIMEOUT_S)})", "SELECT RELEASE_LOCK(:key)"
    else:
        raise StoreError(f"hpo cannot lock a {backend} store; use SQLite, PostgreSQL or MySQL")
    with engine.connect() as connection:  # the lock lives as long as this connection's session
        connection.execute(sqlalchemy.text(acquire), {"key": key})
        try:
            yield
        finally:
            connection.execute(sqlalchemy.text(release), {"key": key})
            connection.commit()
