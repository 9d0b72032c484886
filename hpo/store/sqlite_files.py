"""What a SQLite file holds, found out read-only before hpo opens it as a study store.

Opening a store through Optuna creates its tables and hpo switches the file to WAL journaling, so a
mistyped ``--storage`` path would otherwise be turned into a store (or another application's database
be given a dozen new tables). :func:`check_sqlite_store` refuses, without writing anything:

- a file that is not a SQLite database, or a database holding tables that are not Optuna's;
- for read-only commands (``create=False``), a missing file or one without Optuna's tables.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

from optuna.storages._rdb import models

from hpo.errors import StoreError

#: Columns of each table of an Optuna store (its models, and Alembic's version table).
OPTUNA_COLUMNS = {
    **{name: frozenset(table.columns.keys()) for name, table in models.BaseModel.metadata.tables.items()},
    "alembic_version": frozenset(["version_num"]),
}


def table_columns(path: Path) -> tuple[dict[str, set[str]], bool]:
    """Tables of the SQLite file ``path`` and their columns (SQLite's internal tables left out), and
    whether Optuna's version tables hold their rows (a store completely created). Read-only."""
    connection = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True, timeout=60)  # a writer may hold it
    try:
        names = [n for (n,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'") if not n.startswith("sqlite_")]
        tables = {n: {row[1] for row in connection.execute(f"PRAGMA table_info({_quoted(n)})")} for n in names}
        stamped = all(
            name in tables and connection.execute(f"SELECT count(*) FROM {name}").fetchone()[0] > 0
            for name in ("version_info", "alembic_version")
        )
        return tables, stamped
    finally:
        connection.close()


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def check_sqlite_store(path: Path, shown: str, *, create: bool) -> bool:
    """Whether ``path`` already is a complete Optuna store; refuse (:class:`StoreError`) what must not be opened.

    With ``create`` a missing or empty file is fine (it becomes a store); without, it is refused.
    """
    if not path.exists() or path.stat().st_size == 0:
        if create:
            return False
        raise StoreError(f"there is no study store at {shown}; check --storage, or start one with 'hpo run'")
    try:
        tables, stamped = table_columns(path)
    except sqlite3.DatabaseError as err:
        raise StoreError(f"cannot open the study store {shown}: {path} is not a study store ({err}); give another --storage") from None
    # Optuna's tables without its version rows are a store another process is creating (its
    # tables appear one by one): not foreign; the schema lock of open_storage lets it finish.
    foreign = sorted(n for n, columns in tables.items() if n not in OPTUNA_COLUMNS or not OPTUNA_COLUMNS[n] <= columns)
    if foreign:
        listed = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise StoreError(
            f"{path} is another application's SQLite database (tables {listed}), not a study store; "
            "it is left untouched - give another --storage"
        )
    if not tables and not create:
        raise StoreError(f"{shown} holds no study store (no tables); check --storage, or start one with 'hpo run'")
    return stamped and OPTUNA_COLUMNS.keys() <= tables.keys()
