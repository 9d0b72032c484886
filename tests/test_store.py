"""The study store: SQLite set up for concurrent writers, clear errors, passwords never shown."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from hpo.errors import StoreError
from hpo.store import count_trials, list_studies, load_study, open_storage, redact, study_attrs


def test_default_store_is_created_under_home_in_wal_mode(hpo_home: Path) -> None:
    storage = open_storage()
    study = optuna.create_study(storage=storage, study_name="s", direction="maximize")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    db = hpo_home / "hpo.db"
    assert db.is_file()
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert storage.get_heartbeat_interval() is not None


def test_store_helpers_read_names_attrs_and_counts(tmp_path: Path) -> None:
    storage = open_storage(f"sqlite:///{tmp_path / 'x.db'}")
    study = optuna.create_study(storage=storage, study_name="b", direction="maximize")
    study.set_user_attr("model", "rf")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    study.enqueue_trial({"x": 0.5})
    optuna.create_study(storage=storage, study_name="a")
    infos = list_studies(storage)
    assert [i.name for i in infos] == ["a", "b"]
    assert infos[1].counts["COMPLETE"] == 3 and infos[1].counts["WAITING"] == 1 and infos[1].best_value is not None
    assert infos[0].best_value is None
    assert study_attrs("b", storage) == {"model": "rf"}
    assert count_trials(load_study("b", storage))[TrialState.FAIL.name] == 0
    with pytest.raises(StoreError, match="no study named 'c'.*a, b"):
        load_study("c", storage)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "not a database URL"),
        ("sqlite:///{tmp}/missing/dir/x.db", "does not exist; create"),
        ("sqlite://", "in-memory"),
        ("mysql://user:hunter2@localhost/db", "no database driver"),
    ],
)
def test_bad_urls_are_one_line_store_errors(tmp_path: Path, url: str, message: str) -> None:
    with pytest.raises(StoreError, match=message) as info:
        open_storage(url.format(tmp=tmp_path))
    text = str(info.value)
    assert "\n" not in text and "hunter2" not in text


def test_not_a_database_file_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot open the study store"):
        open_storage(f"sqlite:///{path}")


def test_redact_hides_passwords() -> None:
    assert redact("postgresql://alice:s3cret@db.example:5432/hpo") == "postgresql://alice:***@db.example:5432/hpo"
    assert redact("sqlite:///studies/hpo.db") == "sqlite:///studies/hpo.db"
    assert "s3cret" not in redact("postgresql://alice:s3cret@")


def test_heartbeat_interval_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HPO_HEARTBEAT_INTERVAL", "2")
    assert open_storage(f"sqlite:///{tmp_path / 'h.db'}").get_heartbeat_interval() == 2
    monkeypatch.setenv("HPO_HEARTBEAT_INTERVAL", "soon")
    with pytest.raises(StoreError, match="HPO_HEARTBEAT_INTERVAL"):
        open_storage(f"sqlite:///{tmp_path / 'h.db'}")
