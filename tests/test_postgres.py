"""A real PostgreSQL store on 127.0.0.1: run, extra ``hpo worker`` processes, resume, list, show,
compare, report and the dashboard, with exact trial counts and the password never shown."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from conftest import make_tiny_dataset, write_rf_grid_space
from optuna.trial import TrialState
from servers import PG_PASSWORD, PostgresServer, free_port, postgres_server

from hpo.cli import main
from hpo.data import open_prepared
from hpo.store import count_trials, load_study, open_storage

HPO = [sys.executable, "-m", "hpo"]
pytestmark = pytest.mark.postgres
TIMEOUT_S = 240


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server


@pytest.fixture
def pg_url(postgres: PostgresServer) -> str:
    """A fresh database of the session's server."""
    return postgres.create_database()


@pytest.fixture
def tiny_file(hpo_home: Path) -> Path:
    return make_tiny_dataset(n=2000).write(hpo_home / "data" / "tiny.arrow")


def _space(folder: Path, n_estimators: tuple[int, int]) -> Path:
    """A small RF space: an 8-point grid (criterion x depth x bootstrap), forests of the given sizes."""
    low, high = n_estimators
    n_trees = {"type": "int", "low": low, "high": high, "values": [high]}
    return write_rf_grid_space(folder / "rf-pg.yaml", params={"n_estimators": n_trees})


def _secret_free(*texts: str) -> None:
    for text in texts:
        assert PG_PASSWORD not in text


def test_workers_in_several_processes_share_one_postgres_study(pg_url: str, tiny_file: Path, tmp_path: Path) -> None:
    space = _space(tmp_path, (300, 500))
    target = 12
    # two workers wait for the study, then the driver creates it, fills the queue and runs trials too
    workers = [subprocess.Popen([*HPO, "worker", "pg-tpe", "--storage", pg_url, "--wait", "120", "--quiet"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]  # fmt: skip
    try:
        driver = subprocess.run(
            [*HPO, "run", "--model", "rf", "--algo", "tpe", "--space", str(space), "--prepared", str(tiny_file), "--trials",
             str(target), "--jobs", "1", "--study", "pg-tpe", "--storage", pg_url, "--quiet"],
            capture_output=True, text=True, timeout=TIMEOUT_S,
        )  # fmt: skip
        outputs = [w.communicate(timeout=TIMEOUT_S) for w in workers]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait()
    assert driver.returncode == 0, driver.stderr
    assert [w.returncode for w in workers] == [0, 0], [err for _, err in outputs]
    assert "postgresql://hpo:***@127.0.0.1" in driver.stdout and f"{target}/{target} trials" in driver.stdout
    _secret_free(driver.stdout, driver.stderr, *(o for pair in outputs for o in pair))

    study = load_study("pg-tpe", open_storage(pg_url))
    counts = count_trials(study)
    assert counts["COMPLETE"] == target and sum(counts.values()) == target
    by_worker = Counter(t.user_attrs["worker"].rsplit(":", 1)[1] for t in study.get_trials())
    assert len(by_worker) >= 2 and {str(w.pid) for w in workers} & set(by_worker), by_worker  # the joined workers ran trials
    _secret_free(json.dumps(study.user_attrs), json.dumps([t.user_attrs for t in study.get_trials()]))

    # a worker joining a finished study has nothing to do and leaves at once
    late = subprocess.run([*HPO, "worker", "pg-tpe", "--storage", pg_url, "--trials", "3", "--quiet"],
                          capture_output=True, text=True, timeout=TIMEOUT_S)  # fmt: skip
    assert late.returncode == 0 and f"{target}/{target} trials" in late.stdout
    assert count_trials(load_study("pg-tpe", open_storage(pg_url)))["COMPLETE"] == target


def test_grid_resume_and_every_reading_command_on_postgres(
    pg_url: str, tiny_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    space = _space(tmp_path, (5, 10))
    run = ["run", "--model", "rf", "--algo", "grid", "--space", str(space), "--prepared", str(tiny_file), "--storage", pg_url, "--quiet"]
    assert main([*run, "--trials", "4", "--jobs", "2", "--study", "pg-grid"]) == 0
    assert main(["resume", "pg-grid", "--storage", pg_url, "--trials", "8", "--jobs", "2", "--quiet"]) == 0
    assert main([*run, "--algo", "random", "--trials", "3", "--jobs", "1", "--study", "pg-random"]) == 0
    study = load_study("pg-grid", open_storage(pg_url))
    points = Counter(tuple(sorted(t.params.items())) for t in study.get_trials())
    assert len(points) == 8 and set(points.values()) == {1} and all(t.state == TrialState.COMPLETE for t in study.get_trials())

    assert main(["list", "--storage", pg_url]) == 0
    listing = capsys.readouterr().out
    assert "pg-grid" in listing and "pg-random" in listing
    assert main(["show", "pg-grid", "--storage", pg_url]) == 0
    shown = capsys.readouterr().out
    assert "8/8 counted" in shown and "postgresql://hpo:***@" in shown
    assert main(["compare", "pg-grid", "pg-random", "--storage", pg_url, "--out", str(tmp_path / "cmp")]) == 0
    assert (tmp_path / "cmp" / "compare.csv").read_text().count("\n") == 3
    assert main(["report", "pg-grid", "--storage", pg_url, "--out", str(tmp_path / "report")]) == 0
    assert (tmp_path / "report" / "report.html").stat().st_size > 0
    _secret_free(capsys.readouterr().out, *(p.read_text() for p in (tmp_path / "report").glob("*.md")))


def test_multi_fidelity_grid_with_a_joining_worker_on_postgres(
    pg_url: str, tiny_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # the test model's score is fixed by k and the training events (tests/fidelity_model.py):
    # k < 6 is best at every rung, so the pruner may stop only k >= 6
    tests = Path(__file__).resolve().parent
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tests.parent), str(tests), os.environ.get("PYTHONPATH", "")]))
    switch = len(open_prepared(tiny_file).split("train")) // 5
    worker = subprocess.Popen([*HPO, "worker", "pg-mf", "--storage", pg_url, "--wait", "120", "--quiet"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        driver = subprocess.run(
            [*HPO, "run", "--model", "fidelity_model:RungModel", "--algo", "grid", "--prepared", str(tiny_file), "--jobs", "2",
             "--fidelity", "1/9,1/3,1", "--prune", "median", "--set", f"switch_events={switch}", "--set", "sleep_s=0.5",
             "--study", "pg-mf", "--storage", pg_url, "--quiet"],
            capture_output=True, text=True, timeout=TIMEOUT_S,
        )  # fmt: skip
        _, worker_err = worker.communicate(timeout=TIMEOUT_S)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert driver.returncode == 0, driver.stderr
    assert worker.returncode == 0, worker_err
    study = load_study("pg-mf", open_storage(pg_url))
    trials = study.get_trials()
    assert sorted(t.params["k"] for t in trials) == list(range(10))  # the exact count, each grid point once
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
    assert all(sorted(t.intermediate_values) == [1, 3, 9][: t.user_attrs["rung"] + 1] for t in trials)
    assert all(t.state == TrialState.COMPLETE and t.user_attrs["rung"] == 2 for t in trials if t.params["k"] < 6)
    assert {t.user_attrs["worker"].rsplit(":", 1)[1] for t in trials} >= {str(worker.pid)}  # the joined worker ran rungs too
    assert main(["show", "pg-mf", "--storage", pg_url]) == 0
    assert "fidelity    rungs 1/9,1/3,1 of the training events" in capsys.readouterr().out


def test_dashboard_serves_a_postgres_store(pg_url: str) -> None:
    optuna.create_study(study_name="on-postgres", storage=open_storage(pg_url))
    port = free_port()
    server = subprocess.Popen([*HPO, "dashboard", "--storage", pg_url, "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=2) as response:
                    body = json.load(response)
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "the dashboard did not start"
                time.sleep(0.2)
        assert [s["study_name"] for s in body["study_summaries"]] == ["on-postgres"]
    finally:
        server.terminate()
        try:
            output, _ = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            output, _ = server.communicate()
    assert "postgresql://hpo:***@127.0.0.1" in output
    _secret_free(output)


def test_bad_postgres_url_is_one_line(postgres: PostgresServer, capsys: pytest.CaptureFixture[str]) -> None:
    wrong = postgres.url("postgres").replace(PG_PASSWORD, "wrong-password")
    assert main(["list", "--storage", wrong]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hpo: error: cannot open the study store postgresql://hpo:***@") and err.count("\n") == 1
    assert "wrong-password" not in err
    assert main(["worker", "nope", "--storage", postgres.url()]) == 2
    assert "no study named 'nope'" in capsys.readouterr().err
