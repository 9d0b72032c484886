"""``hpo run/resume/list/show/best/dashboard``: end to end, a killed worker, bad input, the dashboard."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import optuna
import pytest
import yaml
from conftest import make_tiny_dataset

from hpo import drivers
from hpo.cli import main
from hpo.store import count_trials, load_study, open_storage

HPO = [sys.executable, "-m", "hpo"]


def _space_file(folder: Path, n_estimators: list[int]) -> Path:
    path = folder / "rf-small.yaml"
    space = {
        "model": "rf",
        "params": {
            "n_estimators": {"type": "int", "low": min(n_estimators), "high": max(n_estimators), "values": n_estimators},
            "max_depth": {"type": "int", "low": 3, "high": 6, "values": [3, 6]},
            "criterion": {"type": "categorical", "choices": ["gini", "entropy"]},
        },
        "fixed": {"min_samples_leaf": 5, "min_samples_split": 10, "max_features": 1.0, "bootstrap": True},
    }
    path.write_text(yaml.safe_dump(space))
    return path


@pytest.fixture
def tiny_file(hpo_home: Path) -> Path:
    return make_tiny_dataset(n=2000).write(hpo_home / "data" / "tiny.arrow")


def _grid_once(study: optuna.Study) -> bool:
    keys = Counter(tuple(sorted(t.params.items())) for t in drivers.budget_trials(study))
    return set(keys.values()) == {1}


def test_run_list_show_best(tmp_path: Path, tiny_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    space = _space_file(tmp_path, [5, 10])
    argv = ["run", "--model", "rf", "--algo", "grid", "--space", str(space), "--prepared", str(tiny_file), "--jobs", "2", "--quiet"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "study rf-grid-tiny0000 in sqlite:///" in out and "hpo.db: 8/8 trials, best validation auc 0." in out

    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["STUDY", "MODEL", "ALGO", "COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING", "TARGET", "BEST"]
    assert lines[1].split()[:9] == ["rf-grid-tiny0000", "rf", "grid", "8", "0", "0", "0", "0", "8"]

    assert main(["show", "rf-grid-tiny0000"]) == 0
    out = capsys.readouterr().out
    assert "trials      8/8 counted; complete 8" in out and "n_estimators" in out and "algorithm grid" in out

    assert main(["best", "rf-grid-tiny0000"]) == 0
    out = capsys.readouterr().out
    assert "test AUC 0." in out and "rf-grid-tiny0000/best" in out


def test_run_with_settings_pinned_by_set(tiny_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["run", "--model", "rf", "--algo", "random", "--trials", "2", "--jobs", "1", "--quiet", "--prepared", str(tiny_file),
            "--set", "n_estimators=5", "--set", "max_depth=2", "--study", "pinned"]  # fmt: skip
    assert main(argv) == 0
    study = load_study("pinned", open_storage())
    assert all("n_estimators" not in t.params for t in study.trials)
    assert study.user_attrs["space"]["fixed"]["n_estimators"] == 5


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--model", "svm", "--algo", "bayes"], "unknown model 'svm'; choose one of ann, rf, bdt"),
        (["run", "--model", "rf", "--algo", "hyperopt"], "invalid choice: 'hyperopt'"),
        (["run", "--model", "rf", "--algo", "tpe", "--space", "{bad}"], "params.depth: model rf has no hyperparameter 'depth'"),
        (["run", "--model", "rf", "--algo", "tpe", "--space", "no-such-space"], "no search space named 'no-such-space'"),
        (["run", "--model", "rf", "--algo", "tpe", "--set", "depth"], "--set expects key=value"),
        (["run", "--model", "rf", "--algo", "tpe", "--storage", "postgres//u:pw@host/db", "--prepared", "{data}"], "not a database URL"),
        (["run", "--model", "rf", "--algo", "tpe", "--metric", "f1", "--prepared", "{data}"], "unknown metric 'f1'"),
        (["run", "--model", "rf", "--algo", "tpe", "--jobs", "0", "--prepared", "{data}"], "jobs must be a positive integer"),
        (["run", "--model", "rf", "--algo", "tpe", "--timeout", "10x"], "argument --timeout: '10x' is not a duration"),
        (["resume", "nope", "--timeout=-1m"], "argument --timeout: '-1m' is not a positive duration"),
        (["run", "--model", "ann", "--algo", "kt-bayes", "--timeout", "1h", "--prepared", "{data}"], "--timeout is not available for KerasTuner"),
        (["list", "--storage", "sqlite:////no/such/folder/hpo.db"], "does not exist; create /no/such/folder"),
        (["list", "--storage", "mysql://u:pw@localhost/db"], "no database driver"),
        (["show", "nope"], "there is no study store at sqlite:///"),  # read-only or continuing: no store is created
        (["resume", "nope"], "there is no study store at sqlite:///"),  # read-only or continuing: no store is created
        (["best", "nope"], "there is no study store at sqlite:///"),  # read-only or continuing: no store is created
        (["dashboard", "--port", "70000"], "--port 70000"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str], message: str, tmp_path: Path, tiny_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: rf\nparams:\n  depth: {type: int, low: 2, high: 10}\n")
    argv = [a.replace("{bad}", str(bad)).replace("{data}", str(tiny_file)) for a in argv]
    assert _exit_code(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err and ":pw@" not in err


def _exit_code(argv: list[str]) -> int | str | None:
    """``hpo`` run in-process; argparse mistakes end in SystemExit."""
    try:
        return main(argv)
    except SystemExit as exit_:
        return exit_.code


def _wait_for(predicate, timeout: float, what: str):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_killed_worker_then_resume_finishes_every_grid_point_once(tmp_path: Path, tiny_file: Path, hpo_home: Path) -> None:
    space = _space_file(tmp_path, [200, 400])  # trials of a fraction of a second
    env = {**os.environ, "HPO_HEARTBEAT_INTERVAL": "1"}
    run = subprocess.Popen(
        [*HPO, "run", "--model", "rf", "--algo", "grid", "--space", str(space), "--prepared", str(tiny_file), "--jobs", "2", "--quiet"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        storage = _wait_for(lambda: (hpo_home / "hpo.db").exists() and open_storage(), 60, "the store")

        def running_worker() -> int | None:
            try:
                study = load_study("rf-grid-tiny0000", storage)
            except Exception:  # noqa: BLE001 - not created yet
                return None
            trials = study.get_trials(deepcopy=False)
            done = sum(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
            running = [t for t in trials if t.state == optuna.trial.TrialState.RUNNING and "worker" in t.user_attrs]
            return int(running[0].user_attrs["worker"].rsplit(":", 1)[1]) if done >= 1 and running else None

        os.kill(_wait_for(running_worker, 120, "a running trial"), signal.SIGKILL)
        _, err = run.communicate(timeout=120)
    finally:
        run.kill()
    assert run.returncode == 1 and "continue with: hpo resume rf-grid-tiny0000" in err

    study = load_study("rf-grid-tiny0000", storage)
    assert count_trials(study)["COMPLETE"] < 8
    resumed = subprocess.run([*HPO, "resume", "rf-grid-tiny0000", "--jobs", "2", "--quiet"], env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "8/8 trials" in resumed.stdout
    study = load_study("rf-grid-tiny0000", storage)
    counts = count_trials(study)
    assert counts["COMPLETE"] == 8 and counts["RUNNING"] == counts["WAITING"] == 0 and counts["FAIL"] >= 1
    assert _grid_once(study) and len(drivers.budget_trials(study)) == 8
    assert any(t.system_attrs.get("failed_trial") is not None for t in study.trials)  # the killed trial was re-run


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dashboard_serves_the_study_list_on_loopback(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dash.db'}"
    optuna.create_study(study_name="shown-on-dashboard", storage=open_storage(url))
    port = _free_port()
    server = subprocess.Popen([*HPO, "dashboard", "--storage", url, "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:

        def fetch() -> dict | None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=2) as response:
                    return json.load(response)
            except OSError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                return None

        body = _wait_for(fetch, 60, "the dashboard")
        assert [s["study_name"] for s in body["study_summaries"]] == ["shown-on-dashboard"]
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    assert "dashboard of " + url in server.stdout.read()


def test_run_repeats_makes_one_study_per_seed(tmp_path: Path, tiny_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    space = _space_file(tmp_path, [5, 10])
    argv = ["run", "--model", "rf", "--algo", "tpe", "--space", str(space), "--prepared", str(tiny_file),
            "--trials", "3", "--jobs", "1", "--seed", "4", "--repeats", "2", "--study", "rep", "--quiet"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "study rep-seed4 " in out and "study rep-seed5 " in out
    store = open_storage()
    seeds = {name: load_study(name, store).user_attrs["seed"] for name in ("rep-seed4", "rep-seed5")}
    assert seeds == {"rep-seed4": 4, "rep-seed5": 5}
    assert all(count_trials(load_study(name, store)).get("COMPLETE") == 3 for name in seeds)
    assert main(argv[:-3] + ["--repeats", "0", "--quiet"]) == 2
    assert "repeats must be a positive integer" in capsys.readouterr().err


def test_run_resume_and_worker_end_with_a_summary_and_next_commands(tmp_path: Path, tiny_file: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    space = _space_file(tmp_path, [5, 10])
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    argv = ["run", "--model", "rf", "--algo", "random", "--space", str(space), "--prepared", str(tiny_file), "--trials", "3",
            "--jobs", "1", "--study", "higgs-rf", "--storage", url, "--quiet"]  # fmt: skip
    for command in (argv, ["resume", "higgs-rf", "--trials", "5", "--jobs", "1", "--storage", url, "--quiet"],
                    ["worker", "higgs-rf", "--storage", url, "--quiet"]):  # fmt: skip
        assert main(command) == 0
        out = capsys.readouterr().out
        study = load_study("higgs-rf", open_storage(url))
        best = study.best_trial
        assert f"best validation auc {best.value:.4f} (trial {best.number})" in out
        params = out.split("best parameters", 1)[1].splitlines()[0]
        for key, value in best.params.items():
            assert f"{key}={value}" in params
        assert f"  trials           {len(study.trials)} complete\n" in out
        assert "for this command" in out and "per trial on average" in out
        next_lines = out.split("next:\n", 1)[1].splitlines()
        assert [line.split("#")[0].strip() for line in next_lines] == [
            f"hpo best higgs-rf --storage {url}", f"hpo report higgs-rf --storage {url}", f"hpo dashboard --storage {url}"]


def test_summary_of_an_unfinished_study_says_resume(tmp_path: Path, tiny_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hpo.drivers.summary import end_summary

    space = _space_file(tmp_path, [5, 10])
    assert main(["run", "--model", "rf", "--algo", "random", "--space", str(space), "--prepared", str(tiny_file), "--trials", "2",
                 "--jobs", "1", "--study", "short", "--quiet"]) == 0  # fmt: skip
    capsys.readouterr()
    study = load_study("short", open_storage())
    study.set_user_attr("target_trials", 4)  # as if the run had been stopped half-way
    summary = end_summary([study])
    assert re.search(r"\n  hpo resume short +# 2 trials still to run\n", summary) and "--storage" not in summary
