"""Reliability, safety: the dashboard stays on loopback, passwords never leak, pickles warn."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy.exc
from conftest import make_tiny_dataset
from test_drivers import CheapObjective

from hpo import drivers
from hpo.cli import build_parser, main
from hpo.errors import StoreError
from hpo.objectives import load_model, train_model
from hpo.store import load_study, open_storage, redact, store_failures

pytestmark = pytest.mark.reliability

SECRET = "s3cr3t-pw"
PG_URL = f"postgresql://alice:{SECRET}@127.0.0.1:1/studies"  # nothing listens on port 1


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Calls of optuna_dashboard.run_server (recorded instead of serving)."""
    calls: list[dict] = []
    monkeypatch.setattr("optuna_dashboard.run_server", lambda storage, **kwargs: calls.append(kwargs))
    return calls


def test_dashboard_binds_to_loopback_unless_told_otherwise(served: list[dict], capsys: pytest.CaptureFixture[str]) -> None:
    assert build_parser().parse_args(["dashboard"]).host == "127.0.0.1"
    assert main(["dashboard", "--port", "8765"]) == 0
    assert served == [{"host": "127.0.0.1", "port": 8765}]
    assert "warning" not in capsys.readouterr().err

    assert main(["dashboard", "--host", "0.0.0.0", "--port", "8765"]) == 0
    assert served[-1]["host"] == "0.0.0.0"
    assert "reachable from other machines" in capsys.readouterr().err


def test_redact_hides_passwords() -> None:
    shown = redact(PG_URL)
    assert SECRET not in shown and shown == "postgresql://alice:***@127.0.0.1:1/studies"
    assert redact("sqlite:////tmp/hpo.db") == "sqlite:////tmp/hpo.db"
    assert SECRET not in redact(f"not a url {SECRET}")


@pytest.mark.parametrize("argv", [["list"], ["show", "s"], ["check", "s"], ["resume", "s"], ["dashboard"]])
def test_unreachable_store_with_password_is_reported_without_it(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*argv, "--storage", PG_URL]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hpo: error: ") and len(err.strip().splitlines()) == 1
    assert SECRET not in err and "alice:***@" in err


# Every form SQLAlchemy accepts a password in: user:password@, ?password=, other secret parameters, percent-encoded.
PASSWORD_FORMS = [
    f"postgresql://alice@127.0.0.1:1/studies?password={SECRET}",
    f"postgresql+psycopg://alice@127.0.0.1:1/studies?sslmode=disable&password={SECRET}&application_name=hpo",
    f"postgresql://alice@127.0.0.1:1/studies?sslpassword={SECRET}",
    f"postgresql://alice:{SECRET}@127.0.0.1:1/studies?password={SECRET}2",
]


@pytest.mark.parametrize("url", PASSWORD_FORMS)
def test_redact_masks_passwords_in_every_url_form(url: str) -> None:
    shown = redact(url)
    assert SECRET not in shown and "***" in shown and "127.0.0.1:1/studies" in shown
    assert "%2A" not in shown  # the mask is shown as it is, not percent-encoded


@pytest.mark.parametrize("url", PASSWORD_FORMS[:2])
@pytest.mark.parametrize("argv", [["list"], ["show", "s"], ["check", "s"], ["resume", "s"], ["dashboard"]])
def test_unreachable_store_with_password_parameter_is_reported_without_it(
    argv: list[str], url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--storage", url]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hpo: error: ") and len(err.strip().splitlines()) == 1
    assert SECRET not in err and "password=***" in err


@pytest.mark.filterwarnings("ignore:Query string argument:sqlalchemy.exc.SAWarning")  # SQLite ignores ?password=, saying so
def test_working_store_with_password_parameter_never_shows_it(tmp_path: Path, served: list[dict], capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}?password={SECRET}"
    data = make_tiny_dataset().write(tmp_path / "tiny.arrow")
    drivers.run("rf", "random", data, n_trials=2, jobs=1, storage=url, study_name="s", progress=False, objective_factory=CheapObjective())
    for argv in (["list"], ["show", "s"], ["check", "s"], ["dashboard"]):
        assert main([*argv, "--storage", url]) == 0
    out = capsys.readouterr()
    assert SECRET not in out.out + out.err
    assert out.out.count("password=***") == 3  # show, check, the dashboard's banner
    assert SECRET not in drivers.summary_line(load_study("s", open_storage(url)), url)


@pytest.mark.parametrize(
    ("suffix", "message"),
    [("x%00.db", "contains a NUL character (%00); give a plain file path"),
     ("x.db?timeout=abc", "could not convert string to float: 'abc'; check the options after '?'")],
)  # fmt: skip
def test_malformed_sqlite_urls_are_one_line(suffix: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    open_storage(f"sqlite:///{tmp_path}/x.db")  # an existing store, so that the URL's option is what fails
    assert main(["list", "--storage", f"sqlite:///{tmp_path}/{suffix}"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("hpo: error: ") and message in err


def test_store_failure_mid_study_is_reported_without_the_password() -> None:
    with pytest.raises(StoreError) as info, store_failures(PG_URL, "s"):
        raise sqlalchemy.exc.OperationalError("INSERT ...", {}, Exception(f"connection to {PG_URL} lost"))
    assert SECRET not in str(info.value).replace(PG_URL, "") and "alice:***@" in str(info.value)


def test_studies_never_record_the_storage_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    study = drivers.run("rf", "random", make_tiny_dataset(), n_trials=2, jobs=2, storage=url, progress=False, objective_factory=CheapObjective())
    stored = load_study(study.study_name, open_storage(url))
    storage = open_storage(url)
    study_id = storage.get_study_id_from_name(study.study_name)
    recorded = json.dumps([stored.user_attrs, storage.get_study_system_attrs(study_id), [(t.user_attrs, t.system_attrs) for t in stored.trials]])
    assert "sqlite:" not in recorded and "store.db" not in recorded


def test_loading_a_pickled_model_warns_it_must_be_trusted(tmp_path: Path) -> None:
    params = {"n_estimators": 3, "criterion": "gini", "max_depth": 2, "min_samples_leaf": 5, "min_samples_split": 10,
              "max_features": 1.0, "bootstrap": True}  # fmt: skip
    folder = train_model("rf", params, make_tiny_dataset()).save(tmp_path / "model")
    with pytest.warns(UserWarning, match="unpickles Python objects; only load model files from a trusted source"):
        model = load_model(folder)
    assert model.model == "rf"


# -- study names ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["ok\n", "rf-grid\n"])  # the pattern matched up to a final newline
def test_bad_study_names_are_refused_by_run(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = make_tiny_dataset().write(tmp_path / "tiny.arrow")
    assert main(["run", "--model", "rf", "--algo", "random", "--trials", "1", "--prepared", str(data), "--study", name, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "use letters, digits" in err
    assert not (tmp_path / "studies" / "hpo.db").exists() or not open_storage().get_all_studies()


def _copy_study_as(name: str) -> None:
    """A healthy study copied under ``name`` into the same store (as another program could)."""
    import optuna

    drivers.run("rf", "random", make_tiny_dataset(), n_trials=2, jobs=1, study_name="good", progress=False, objective_factory=CheapObjective())
    optuna.copy_study(from_study_name="good", from_storage=open_storage(), to_storage=open_storage(), to_study_name=name)


def test_a_study_name_read_from_the_store_never_leads_outside_the_home(hpo_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    precious = hpo_home.parent / "victim" / "best" / "precious.txt"
    precious.parent.mkdir(parents=True)
    precious.write_text("keep me")
    _copy_study_as("../victim")
    for argv in (["best", "../victim"], ["report", "../victim"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("hpo: error: study name '../victim' cannot name a folder") and len(err.strip().splitlines()) == 1
    assert precious.read_text() == "keep me" and sorted(p.name for p in precious.parent.parent.iterdir()) == ["best"]
    assert main(["list"]) == 0  # listed, with the name shown safely
    assert "../victim" in capsys.readouterr().out


def test_a_study_folder_linked_outside_the_home_is_refused(hpo_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outside = hpo_home.parent / "outside"
    outside.mkdir()
    _copy_study_as("linked")
    (hpo_home / "linked").symlink_to(outside)
    assert main(["best", "linked"]) == 2
    assert "leads outside the hpo home" in capsys.readouterr().err
    assert list(outside.iterdir()) == []


# -- output folders ------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["report", "compare"])
def test_out_that_is_a_file_or_a_folder_of_other_files_is_refused(command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    crowded = tmp_path / "home"
    (crowded / "projects").mkdir(parents=True)
    (crowded / ".bashrc").write_text("mine")
    for out, message in ((a_file, f"--out {a_file} is a file, not a folder"),
                         (crowded, f"--out {crowded} already holds other files (.bashrc, projects)")):  # fmt: skip
        assert main([command, "s", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and message in err
    assert a_file.read_text() == "mine" and sorted(p.name for p in crowded.iterdir()) == [".bashrc", "projects"]


def test_export_out_that_is_a_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "s", "--input", str(tmp_path / "x.csv"), "--out", str(tmp_path)]) == 2
    assert f"--out {tmp_path} is a folder; give a path prefix such as {tmp_path / 'scores'}" in capsys.readouterr().err
