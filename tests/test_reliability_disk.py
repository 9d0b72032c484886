"""Reliability, disk and permissions: a read-only store, a missing folder, a disk that fills up mid-study.

Each ends in one line ``hpo: error: ...`` with exit status 2, and no finished trial is lost. Tests
run as root, where permission bits do not stop writes: the store is made immutable (``chattr +i``)
instead, and the full disk is a size-limited tmpfs (or, where ``mount`` is not allowed, SQLite's
own "database or disk is full" raised by a page limit on every connection).
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import optuna
import pytest
import sqlalchemy
from conftest import make_tiny_dataset
from test_drivers import CheapObjective

from hpo import drivers
from hpo.cli import main
from hpo.store import count_trials, load_study, open_storage

pytestmark = pytest.mark.reliability


@pytest.fixture
def tiny_file(hpo_home: Path) -> Path:
    return make_tiny_dataset().write(hpo_home / "data" / "tiny.arrow")


def _one_line_error(capsys: pytest.CaptureFixture[str], *needles: str) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("hpo: error: ") and "Traceback" not in err, err
    assert all(n in err for n in needles), err
    return err


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """``path`` cannot be written, even by root (immutable attribute; permission bits otherwise)."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)


@pytest.mark.parametrize("what", ["file", "folder"])
def test_read_only_store_is_refused_in_one_line_and_keeps_its_trials(
    what: str, tmp_path: Path, tiny_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "store"
    folder.mkdir()
    url = f"sqlite:///{folder / 'hpo.db'}"
    study = drivers.run("rf", "random", tiny_file, n_trials=3, jobs=1, storage=url, progress=False, objective_factory=CheapObjective())
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with read_only(folder / "hpo.db" if what == "file" else folder):
        run = ["run", "--model", "rf", "--algo", "random", "--trials", "5", "--prepared", str(tiny_file), "--storage", url, "--quiet"]
        assert main(run) == 2
        _one_line_error(capsys, "read-only")
        assert main(["resume", study.study_name, "--storage", url, "--quiet"]) == 2
        _one_line_error(capsys, "read-only")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # not a byte written
    assert count_trials(load_study(study.study_name, open_storage(url)))["COMPLETE"] == 3


@pytest.mark.parametrize("command", ["run", "resume", "list", "check"])
def test_missing_store_folder_is_one_line_and_creates_nothing(
    command: str, tmp_path: Path, tiny_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'gone' / 'hpo.db'}"
    argv = {
        "run": ["run", "--model", "rf", "--algo", "tpe", "--prepared", str(tiny_file), "--quiet"],
        "resume": ["resume", "some-study"],
        "list": ["list"],
        "check": ["check", "some-study"],
    }[command]
    assert main([*argv, "--storage", url]) == 2
    _one_line_error(capsys, "does not exist", f"create {tmp_path / 'gone'} first")
    assert not (tmp_path / "gone").exists()


class FullDisk:
    """A folder whose file system can be filled on demand: a 4 MiB tmpfs, else a simulated one.

    The simulation caps every SQLite connection of this process at its current page count, so the
    next write that grows the database fails with SQLite's own ``database or disk is full``.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir()
        self.mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)], capture_output=True).returncode == 0
        self._full = False
        if not self.mounted:
            sqlalchemy.event.listen(sqlalchemy.engine.Engine, "begin", self._cap)

    def _cap(self, connection: sqlalchemy.engine.Connection) -> None:
        if self._full:
            pages = connection.exec_driver_sql("PRAGMA page_count").scalar()
            connection.exec_driver_sql(f"PRAGMA max_page_count = {pages}")

    def fill(self) -> None:
        """Take every free byte (a ballast file that another program might have written)."""
        self._full = True
        if not self.mounted:
            return
        with open(self.folder / "ballast", "wb") as ballast:
            try:
                while True:
                    ballast.write(b"\0" * 65536)
                    ballast.flush()
            except OSError as err:
                assert err.errno == errno.ENOSPC

    def free(self) -> None:
        self._full = False
        (self.folder / "ballast").unlink(missing_ok=True)

    def close(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.folder)], check=True)
        else:
            sqlalchemy.event.remove(sqlalchemy.engine.Engine, "begin", self._cap)


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[FullDisk]:
    disk = FullDisk(tmp_path / "small-disk")
    try:
        yield disk
    finally:
        disk.close()


def _filling_objective(disk: FullDisk, after: int) -> Callable[..., Callable[[optuna.Trial], float]]:
    """An objective factory like build_objective whose trial number ``after`` fills the disk first."""
    cheap = CheapObjective()

    def factory(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        objective = cheap(*args, **kwargs)

        def run(trial: optuna.Trial) -> float:
            if trial.number == after:
                disk.fill()
                trial.set_user_attr("padding", "x" * 200_000)  # this trial's own writes need room
            return objective(trial)

        return run

    return factory


def test_disk_full_mid_study_is_one_line_keeps_finished_trials_and_resumes(
    full_disk: FullDisk, tiny_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HPO_HEARTBEAT_INTERVAL", "1")
    monkeypatch.setattr("hpo.objectives.build_objective", _filling_objective(full_disk, after=5))
    url = f"sqlite:///{full_disk.folder / 'hpo.db'}"
    argv = ["run", "--model", "rf", "--algo", "random", "--trials", "12", "--jobs", "1", "--prepared", str(tiny_file),
            "--storage", url, "--study", "filled", "--quiet"]  # fmt: skip
    assert main(argv) == 2
    _one_line_error(capsys, "database or disk is full", "finished trials are kept", "continue with: hpo resume filled")

    full_disk.free()
    study = load_study("filled", open_storage(url))
    assert count_trials(study)["COMPLETE"] == 5  # every trial finished before the disk filled is there
    monkeypatch.setattr("hpo.objectives.build_objective", CheapObjective())
    assert main(["resume", "filled", "--storage", url, "--jobs", "1", "--quiet"]) == 0
    assert "12/12 trials" in capsys.readouterr().out
    assert main(["check", "filled", "--storage", url]) == 0
    study = load_study("filled", open_storage(url))
    assert count_trials(study)["COMPLETE"] == len(drivers.budget_trials(study)) == 12
    shutil.rmtree(full_disk.folder, ignore_errors=True)


# -- stores that are not hpo's -------------------------------------------------------------------
def _foreign_database(path: Path, tables: dict[str, str]) -> bytes:
    """Another application's SQLite file with ``tables`` (name -> columns); returns its bytes."""
    import sqlite3

    connection = sqlite3.connect(path)
    for name, columns in tables.items():
        connection.execute(f"CREATE TABLE {name} ({columns})")
        connection.execute(f"INSERT INTO {name} DEFAULT VALUES")
    connection.commit()
    connection.close()
    return path.read_bytes()


@pytest.mark.parametrize("tables", [{"notes": "id INTEGER, text TEXT"}, {"studies": "id INTEGER, name TEXT", "trials": "x INTEGER"}])
@pytest.mark.parametrize("argv", [["list"], ["show", "s"], ["check", "s"], ["best", "s"], ["resume", "s"], ["dashboard"],
                                  ["run", "--model", "rf", "--algo", "random", "--trials", "1", "--quiet", "--study", "s"]])  # fmt: skip
def test_another_applications_sqlite_file_is_refused_and_never_modified(
    tables: dict[str, str], argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "other.db"
    before = _foreign_database(path, tables)
    data = make_tiny_dataset().write(tmp_path / "tiny.arrow")
    extra = ["--prepared", str(data)] if argv[0] == "run" else []
    assert main([*argv, *extra, "--storage", f"sqlite:///{path}"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert f"{path} is another application's SQLite database (tables {', '.join(sorted(tables))}), not a study store" in err
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.glob("other.db*")] == ["other.db"]  # no journal, WAL or lock file beside it


def test_a_store_caught_while_another_process_creates_its_tables_is_not_called_foreign(tmp_path: Path) -> None:
    # Optuna creates a store's tables one by one: a second process that looks in between sees
    # some of Optuna's tables and no version rows, and must wait for the store, not refuse it.
    from optuna.storages._rdb import models

    path = tmp_path / "hpo.db"
    engine = sqlalchemy.create_engine(f"sqlite:///{path}")
    models.BaseModel.metadata.tables["studies"].create(engine)
    engine.dispose()
    storage = open_storage(f"sqlite:///{path}")
    assert optuna.create_study(storage=storage, study_name="s").study_name == "s"


@pytest.mark.parametrize("argv", [["list"], ["show", "s"], ["check", "s"], ["best", "s"], ["resume", "s"], ["report", "s"],
                                  ["compare", "s"], ["export", "s", "--input", __file__]])  # fmt: skip
def test_read_only_commands_on_a_mistyped_store_create_nothing(argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    typo = tmp_path / "hpo.bd"
    assert main([*argv, "--storage", f"sqlite:///{typo}"]) == 2
    assert f"there is no study store at sqlite:///{typo}; check --storage" in capsys.readouterr().err
    assert main(argv) == 2  # the default store, in a home that does not exist yet (and is not created)
    assert capsys.readouterr().err.startswith("hpo: error: the folder of the study store sqlite:///")
    assert list(tmp_path.iterdir()) == []


def test_dashboard_on_a_mistyped_store_creates_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    served: list[str] = []
    monkeypatch.setattr("optuna_dashboard.run_server", lambda storage, **kwargs: served.append(storage.url))
    typo = tmp_path / "hpo.bd"
    assert main(["dashboard", "--storage", f"sqlite:///{typo}"]) == 2
    _one_line_error(capsys, f"there is no study store at sqlite:///{typo}; check --storage")
    assert list(tmp_path.iterdir()) == [] and served == []
    assert main(["dashboard"]) == 0  # the default store may start empty: studies started later appear in it
    assert served == [f"sqlite:///{tmp_path / 'studies' / 'hpo.db'}"]


def test_an_existing_store_is_read_without_being_switched_or_relocked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    drivers.run("rf", "random", make_tiny_dataset(), n_trials=2, jobs=1, storage=url, study_name="s", progress=False,
                objective_factory=CheapObjective())  # fmt: skip
    (tmp_path / "store.db.lock").unlink()
    for argv in (["list"], ["show", "s"], ["check", "s"]):
        assert main([*argv, "--storage", url]) == 0
    assert not (tmp_path / "store.db.lock").exists()
