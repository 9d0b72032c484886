"""Reliability, faults: SIGKILL of a worker or of the driver, SIGTERM, two drivers at once, ``hpo check``.

Each fault is followed by ``hpo check`` (which must name what is wrong, or pass) and ``hpo resume``
(which must finish the study with every grid point exactly once and leave the store healthy).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import optuna
import pytest
from conftest import make_tiny_dataset
from test_cli_study import HPO, _grid_once, _space_file, _wait_for
from test_drivers import CheapObjective

from hpo import drivers
from hpo.store import count_trials, load_study, open_storage

pytestmark = pytest.mark.reliability

STUDY = "rf-grid-tiny0000"


def _env() -> dict[str, str]:
    """The test's environment (its own HPO_HOME) with a 1 s heartbeat."""
    return {**os.environ, "HPO_HEARTBEAT_INTERVAL": "1"}


@pytest.fixture
def tiny_file(hpo_home: Path) -> Path:
    return make_tiny_dataset(n=2000).write(hpo_home / "data" / "tiny.arrow")


def _start_grid_run(tmp_path: Path, tiny_file: Path, *, jobs: int = 2, own_group: bool = False) -> subprocess.Popen[str]:
    """``hpo run`` of an 8-point grid; ``own_group``: in a process group of its own, as a terminal runs it."""
    space = _space_file(tmp_path, [200, 400])  # 8 points, trials of a fraction of a second
    argv = [*HPO, "run", "--model", "rf", "--algo", "grid", "--space", str(space), "--prepared", str(tiny_file), "--jobs", str(jobs), "--quiet"]
    return subprocess.Popen(argv, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=own_group)


def _running_worker_pids(hpo_home: Path) -> list[int]:
    """Worker pids of RUNNING trials once at least one trial is complete (empty before)."""
    if not (hpo_home / "hpo.db").exists():
        return []
    try:
        study = load_study(STUDY, open_storage())
    except Exception:  # noqa: BLE001 - not created yet
        return []
    trials = study.get_trials(deepcopy=False)
    if not any(t.state == optuna.trial.TrialState.COMPLETE for t in trials):
        return []
    return [int(t.user_attrs["worker"].rsplit(":", 1)[1]) for t in trials if t.state.name == "RUNNING" and "worker" in t.user_attrs]


def _hpo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HPO, *args], env=_env(), capture_output=True, text=True, timeout=300)


def _resume_and_check() -> optuna.Study:
    """``hpo resume`` finishes the study, then ``hpo check`` passes; returns the study."""
    resumed = _hpo("resume", STUDY, "--jobs", "2", "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert "8/8 trials" in resumed.stdout
    study = load_study(STUDY, open_storage())
    counts = count_trials(study)
    assert counts["COMPLETE"] == 8 and counts["RUNNING"] == counts["WAITING"] == 0
    assert _grid_once(study) and len(drivers.budget_trials(study)) == 8
    checked = _hpo("check", STUDY)
    assert checked.returncode == 0 and "healthy; 8/8 trials counted" in checked.stdout, checked.stdout
    return study


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie that no one has reaped yet does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def test_sigkill_of_a_worker_is_found_by_check_and_repaired_by_resume(tmp_path: Path, tiny_file: Path, hpo_home: Path) -> None:
    run = _start_grid_run(tmp_path, tiny_file)
    try:
        victim = _wait_for(lambda: _running_worker_pids(hpo_home), 120, "a running trial")[0]
        os.kill(victim, signal.SIGKILL)
        _, err = run.communicate(timeout=120)
    finally:
        run.kill()
    assert run.returncode == 1 and f"continue with: hpo resume {STUDY}" in err
    time.sleep(4)  # the killed trial's heartbeat turns stale (grace period: 3 heartbeats)
    checked = _hpo("check", STUDY)
    assert checked.returncode == 1
    assert any("is RUNNING but its worker's last heartbeat is" in line for line in checked.stdout.splitlines()), checked.stdout
    study = _resume_and_check()
    assert any(t.system_attrs.get("failed_trial") is not None for t in study.trials)  # the killed trial was re-run


def test_sigkill_of_the_driver_stops_its_workers_and_resume_finishes(tmp_path: Path, tiny_file: Path, hpo_home: Path) -> None:
    run = _start_grid_run(tmp_path, tiny_file)
    try:
        workers = _wait_for(lambda: _running_worker_pids(hpo_home), 120, "a running trial")
        os.kill(run.pid, signal.SIGKILL)
        run.wait(timeout=30)
    finally:
        run.kill()
    # Orphaned workers finish the trial they run and stop; they do not run the queue on their own.
    _wait_for(lambda: not any(_alive(pid) for pid in workers), 60, "the orphaned workers to stop")
    study = load_study(STUDY, open_storage())
    assert count_trials(study)["COMPLETE"] < 8
    _resume_and_check()


def test_sigterm_fails_and_requeues_running_trials_and_says_how_to_resume(tmp_path: Path, tiny_file: Path, hpo_home: Path) -> None:
    run = _start_grid_run(tmp_path, tiny_file)
    try:
        _wait_for(lambda: _running_worker_pids(hpo_home), 120, "a running trial")
        run.send_signal(signal.SIGTERM)
        _, err = run.communicate(timeout=60)
    finally:
        run.kill()
    assert run.returncode == drivers.EXIT_STOPPED == 143
    assert err.strip().splitlines() == [
        f"hpo: study '{STUDY}' stopped by SIGTERM; finished trials are kept and the running ones were failed and re-queued; "
        f"continue with: hpo resume {STUDY}"
    ]
    study = load_study(STUDY, open_storage())
    counts = count_trials(study)
    assert counts["RUNNING"] == 0 and counts["FAIL"] >= 1 and counts["COMPLETE"] < 8  # nothing left for a heartbeat to find
    assert _hpo("check", STUDY).returncode == 0  # an interrupted study is consistent, only unfinished
    study = _resume_and_check()
    assert count_trials(study)["FAIL"] == counts["FAIL"]  # the stopped trials were re-run, not counted


@pytest.mark.parametrize("jobs", [1, 2])
def test_ctrl_c_pressed_repeatedly_fails_and_requeues_running_trials(jobs: int, tmp_path: Path, tiny_file: Path, hpo_home: Path) -> None:
    run = _start_grid_run(tmp_path, tiny_file, jobs=jobs, own_group=True)
    try:
        _wait_for(lambda: _running_worker_pids(hpo_home), 120, "a running trial")
        for pause in (0, 0.01, 0.02, 0.05, 0.1, 0.2):  # Ctrl-C hammered: the driver and its workers get each one
            time.sleep(pause)
            os.killpg(run.pid, signal.SIGINT)
        _, err = run.communicate(timeout=120)
        _wait_for(lambda: not _group_alive(run.pid), 60, "the workers to end")
    finally:
        _kill_group(run.pid)
    study = load_study(STUDY, open_storage())
    counts = count_trials(study)
    assert counts["RUNNING"] == 0 and counts["FAIL"] >= 1 and counts["COMPLETE"] < 8, counts  # none left for a heartbeat to find
    assert run.returncode == 130
    assert err.strip().splitlines() == [
        f"hpo: study '{STUDY}' stopped by Ctrl-C (SIGINT); finished trials are kept and the running ones were failed and re-queued; "
        f"continue with: hpo resume {STUDY}"
    ]
    assert _hpo("check", STUDY).returncode == 0
    study = _resume_and_check()
    assert count_trials(study)["FAIL"] == counts["FAIL"]  # the interrupted trials were re-run, not counted


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return any(_alive(int(p.name)) for p in Path("/proc").iterdir() if p.name.isdigit() and _pgid(int(p.name)) == pgid)


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


_CONCURRENT_RUN = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from test_drivers import CheapObjective
    from hpo import drivers
    while not Path({go!r}).exists():
        time.sleep(0.01)
    drivers.run("rf", "{algo}", {data!r}, study_name="both", n_trials=60, jobs=2, progress=False,
                objective_factory=CheapObjective(0.01))
    """
)


@pytest.mark.parametrize("algo", ["random", "grid"])
def test_two_runs_started_at_the_same_moment_do_not_overfill(algo: str, tmp_path: Path, tiny_file: Path) -> None:
    go = tmp_path / "go"
    script = _CONCURRENT_RUN.format(tests=str(Path(__file__).parent), go=str(go), algo=algo, data=str(tiny_file))
    runs = [subprocess.Popen([sys.executable, "-c", script], env=_env(), stderr=subprocess.PIPE, text=True) for _ in range(2)]
    time.sleep(3)  # both imported and waiting
    go.touch()
    for run in runs:
        _, err = run.communicate(timeout=300)
        assert run.returncode == 0, err
    study = load_study("both", open_storage())
    target = study.user_attrs["target_trials"]
    assert count_trials(study)["COMPLETE"] == len(study.trials) == target == 60  # not 120, not 61
    assert drivers.check_study("both") == []
    if algo == "grid":
        assert _grid_once(study)


def test_check_names_orphan_rows_overfilled_queues_and_a_missing_dataset(tiny_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hpo.cli import main

    study = drivers.run("rf", "random", tiny_file, n_trials=3, jobs=1, study_name="hurt", progress=False, objective_factory=CheapObjective())
    assert main(["check", "hurt"]) == 0
    assert "study hurt in sqlite:///" in capsys.readouterr().out
    storage = open_storage()
    with storage.engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) VALUES (999, 'x', 1, '{}')")
        connection.exec_driver_sql("INSERT INTO trial_user_attributes (trial_id, key, value_json) VALUES (998, 'k', '1')")
    study.enqueue_trial({})  # one more than the target of 3
    tiny_file.unlink()
    assert main(["check", "hurt"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "hurt: 1 rows of table trial_params point to missing trials (orphan rows)",
        "hurt: 1 rows of table trial_user_attributes point to missing trials (orphan rows)",
        f"hurt: the prepared dataset of study 'hurt' ({tiny_file}, hash {study.user_attrs['dataset_hash'][:12]}) is missing; "
        "re-create it with 'hpo data prepare' using the same settings, or give another with --prepared (and --force)",
        "hurt: 3 counted and 1 queued or running trials exceed the target of 3 (queue over-filled)",
    ]


def test_resume_fails_and_requeues_a_running_trial_that_never_had_a_heartbeat(
    tmp_path: Path, tiny_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HPO_HEARTBEAT_INTERVAL", "1")
    space = _space_file(tmp_path, [5, 10])
    drivers.run("rf", "random", tiny_file, space=space, n_trials=3, jobs=1, study_name="unbeaten", progress=False,
                objective_factory=CheapObjective())  # fmt: skip
    study = load_study("unbeaten", open_storage())
    taken = study.ask()  # a worker took trial 3 and died before its first heartbeat
    assert not any("heartbeat" in line for line in drivers.check_study("unbeaten"))  # just taken: not stale yet
    time.sleep(3.5)  # older than the grace period (3 heartbeats)
    checked = _hpo("check", "unbeaten")
    assert checked.returncode == 1
    assert f"unbeaten: trial {taken.number} is RUNNING but no worker recorded a heartbeat for it in" in checked.stdout, checked.stdout
    resumed = subprocess.run([*HPO, "resume", "unbeaten", "--trials", "4", "--jobs", "1", "--quiet"], env=_env(),
                             capture_output=True, text=True, timeout=120)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert "4/4 trials" in resumed.stdout
    study = load_study("unbeaten", open_storage())
    assert study.trials[taken.number].state == optuna.trial.TrialState.FAIL
    retried = [t for t in study.trials if t.system_attrs.get("failed_trial") == taken.number]
    assert len(retried) == 1 and retried[0].state == optuna.trial.TrialState.COMPLETE
    assert count_trials(study)["RUNNING"] == 0
    assert _hpo("check", "unbeaten").returncode == 0


def test_resume_with_fewer_trials_than_finished_is_refused_and_changes_nothing(tiny_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hpo.cli import main

    drivers.run("rf", "random", tiny_file, n_trials=6, jobs=1, study_name="six", progress=False, objective_factory=CheapObjective())
    before = load_study("six", open_storage()).user_attrs
    assert main(["resume", "six", "--trials", "5", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "hpo: error: study 'six' already has 6 finished trials, more than --trials 5; give at least 6 (or leave --trials out to keep its target of 6)"
    ]
    study = load_study("six", open_storage())
    assert study.user_attrs == before and len(study.trials) == 6
    assert drivers.check_study("six") == []


def test_staging_left_by_killed_processes_is_removed_by_the_next_write(tmp_path: Path, hpo_home: Path) -> None:
    import socket

    host = socket.gethostname()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    final = hpo_home / "data" / "tiny.arrow"
    final.parent.mkdir(parents=True)
    leftover = final.with_name(f".tiny.arrow.{host}.{dead}.tmp")
    leftover.write_bytes(b"half a file")
    other_host = final.with_name(f".tiny.arrow.elsewhere.{dead}.tmp")  # another machine's: not ours to judge
    other_host.write_bytes(b"x")
    make_tiny_dataset(n=200).write(final)
    assert not leftover.exists() and other_host.exists() and final.is_file()

    drivers.run("rf", "random", final, n_trials=1, jobs=1, study_name="st", progress=False, objective_factory=CheapObjective())
    staged = hpo_home / "st" / f".best.{host}.{dead}.tmp"
    staged.mkdir(parents=True)
    (staged / "model.joblib").write_bytes(b"half")
    drivers.best("st")
    assert not staged.exists() and (hpo_home / "st" / "best").is_dir()
    assert [p.name for p in (hpo_home / "st").iterdir()] == ["best"]


def test_staging_left_by_a_killed_synthesis_is_removed_by_the_next(tmp_path: Path) -> None:
    import socket

    from hpo.data import synthesize

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    folder = tmp_path / "synthetic"
    (first,) = synthesize(["4mu"], scale=0.01, folder=folder)[:1]
    leftover = first.with_name(f".{first.name}.{socket.gethostname()}.{dead}.tmp")
    leftover.write_bytes(b"half a ROOT file")
    synthesize(["4mu"], scale=0.01, folder=folder, overwrite=True)
    assert not leftover.exists() and first.is_file()
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize(
    "attrs",
    [{}, {"model": "rf", "algo": "random", "space": {}}, {"hpo_format": 1, "model": "rf", "algo": "random"}],
    ids=["killed-after-create", "killed-while-recording", "marker-first-then-killed"],
)
def test_a_study_whose_creation_was_killed_is_named_and_made_anew_by_run(
    attrs: dict, tiny_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hpo.cli import main

    half = optuna.create_study(study_name="half", storage=open_storage(), direction="maximize")
    for key, value in attrs.items():
        half.set_user_attr(key, value)
    for argv in (["resume", "half"], ["best", "half"], ["worker", "half"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.strip().splitlines() == [
            "hpo: error: study 'half' was not completely created (its 'hpo run' was interrupted); run the same 'hpo run' "
            "again to create it anew, or remove it with 'hpo delete half'"
        ]
    assert drivers.check_study("half") == [
        "the recorded settings are unreadable: study 'half' was not completely created (its 'hpo run' was interrupted); "
        "run the same 'hpo run' again to create it anew, or remove it with 'hpo delete half'"
    ]
    study = drivers.run("rf", "random", tiny_file, n_trials=2, jobs=1, study_name="half", progress=False, objective_factory=CheapObjective())
    assert len(study.trials) == 2 and drivers.check_study("half") == []


def test_delete_removes_a_study_and_its_folder_and_asks_first(tiny_file: Path, hpo_home: Path, capsys: pytest.CaptureFixture[str],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from hpo.cli import main

    drivers.run("rf", "random", tiny_file, n_trials=2, jobs=1, study_name="gone", progress=False, objective_factory=CheapObjective())
    drivers.run("rf", "random", tiny_file, n_trials=1, jobs=1, study_name="kept", progress=False, objective_factory=CheapObjective())
    drivers.best("gone")
    assert (hpo_home / "gone" / "best").is_dir()
    monkeypatch.setattr("sys.stdin", open(os.devnull))  # no terminal: --yes is needed
    assert main(["delete", "gone"]) == 2
    assert "'hpo delete' would delete study 'gone' (2 trials) and its folder" in capsys.readouterr().err
    assert (hpo_home / "gone").is_dir()
    assert main(["delete", "gone", "--yes"]) == 0
    assert capsys.readouterr().out.startswith("deleted study 'gone' (2 trials) and ")
    assert not (hpo_home / "gone").exists() and tiny_file.is_file()
    assert [s.study_name for s in open_storage().get_all_studies()] == ["kept"] and drivers.check_study("kept") == []
    assert main(["delete", "gone", "--yes"]) == 2
    assert "no study named 'gone'" in capsys.readouterr().err
    optuna.create_study(study_name="half", storage=open_storage()).set_user_attr("model", "rf")  # an interrupted creation
    assert main(["delete", "half", "--yes"]) == 0


_RUN_TO_BE_DELETED = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from test_drivers import CheapObjective
    from hpo import drivers
    from hpo.errors import HpoError
    try:
        drivers.run("rf", "random", {data!r}, study_name="doomed", n_trials=200, jobs={jobs}, progress=False,
                    objective_factory=CheapObjective(0.2))
    except HpoError as err:  # as the command line reports it
        sys.exit(f"hpo: error: {{err}}")
    """
)


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_study_deleted_while_it_runs_stops_its_workers_in_one_line(jobs: int, tiny_file: Path) -> None:
    from hpo.cli import main

    script = _RUN_TO_BE_DELETED.format(tests=str(Path(__file__).parent), data=str(tiny_file), jobs=jobs)
    run = subprocess.Popen([sys.executable, "-c", script], env=_env(), stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: count_trials(load_study("doomed", open_storage()))["COMPLETE"] >= 3 if _has_study("doomed") else False,
                  120, "three finished trials")  # fmt: skip
        assert main(["delete", "doomed", "--yes"]) == 0
        _, err = run.communicate(timeout=120)
    finally:
        run.kill()
    assert run.returncode == 1  # sys.exit(message)
    assert err.strip().splitlines()[-1] == (
        "hpo: error: study 'doomed' was deleted from the store while it ran (by 'hpo delete' or the dashboard); its workers stopped"
    ), err
    assert "Traceback" not in err


def _has_study(name: str) -> bool:
    from hpo.store import study_names

    try:
        return name in study_names(open_storage(create=False))
    except Exception:  # noqa: BLE001 - the store is being created
        return False


def test_a_stop_signal_landing_in_a_finaliser_is_kept_and_prints_nothing() -> None:
    # A signal handled while Python runs a weak-reference callback (a garbage collection inside
    # a trial) raises there, where Python can only print the exception: the stop must survive
    # as the flag, and no traceback may reach the one-line output.
    script = textwrap.dedent(
        """
        import os, signal, weakref
        from hpo.drivers.stopping import GracefulStop

        class Finalised:
            pass

        stop = GracefulStop()
        with stop.installed(), stop.trial():
            obj = Finalised()
            ref = weakref.ref(obj, lambda _: os.kill(os.getpid(), signal.SIGTERM))
            del obj
        print("stopped" if stop.signalled else "lost")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "stopped" and done.stderr == ""


_STOP_TURNED_INTO_AN_ERROR = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, {tests!r})
    from test_drivers import CheapObjective
    from hpo import drivers
    from hpo.drivers.stopping import StopRequested

    class StopTurnedIntoAnError(CheapObjective):
        def __call__(self, *args, **kwargs):
            scored = super().__call__(*args, **kwargs)

            def objective(trial):
                if trial.number == 1:
                    try:  # a library that catches the stop and raises its own error instead
                        os.kill(os.getpid(), signal.SIGTERM)
                    except StopRequested:
                        raise RuntimeError("release unlocked lock")
                return scored(trial)

            return objective

    try:
        drivers.run("rf", "random", {data!r}, study_name="turned", n_trials=4, jobs=1, progress=False,
                    objective_factory=StopTurnedIntoAnError())
    except drivers.StudyStopped as stopped:
        print(stopped, stopped.exit_status)
    """
)


def test_an_error_raised_by_a_library_after_the_stop_is_a_stop_not_a_failed_trial(tiny_file: Path) -> None:
    # A stop signal raised inside a library (in a lock's or a thread pool's clean-up) can come out of
    # the objective as that library's own error: the trial must be failed and re-queued all the same.
    script = _STOP_TURNED_INTO_AN_ERROR.format(tests=str(Path(__file__).parent), data=str(tiny_file))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=_env())
    assert done.returncode == 0, done.stderr
    assert "stopped by SIGTERM" in done.stdout and done.stdout.split()[-1] == "143", done.stdout
    assert "failed" not in done.stderr, done.stderr
    study = load_study("turned", open_storage())
    trials = {t.number: t for t in study.trials}
    assert trials[0].state == optuna.trial.TrialState.COMPLETE
    assert trials[1].state == optuna.trial.TrialState.FAIL and "error" not in trials[1].user_attrs
    assert count_trials(study)["WAITING"] == 1  # its copy, for 'hpo resume'
