"""``--backend dask``: worker loops as tasks of a local Dask cluster on 127.0.0.1, exact trial
counts, and the prepared dataset opened once per task, not once per trial."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import joblib
import optuna
import pytest
from conftest import make_tiny_dataset, write_rf_grid_space
from distributed import Client, LocalCluster
from optuna.trial import TrialState

from hpo import drivers, paths
from hpo.cli import main
from hpo.drivers import backends
from hpo.objectives import build_objective
from hpo.store import load_study, open_storage

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    """Two single-threaded Dask worker processes on loopback, closed at the end of the module."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None) as c:
        yield c


@pytest.fixture
def worker_pids(cluster: LocalCluster) -> set[int]:
    with Client(cluster, set_as_default=False) as client:
        return set(client.run(os.getpid).values())


@pytest.fixture
def space(tmp_path: Path) -> Path:
    return write_rf_grid_space(tmp_path / "rf-dask.yaml", fixed={"n_estimators": 10})


@pytest.fixture
def tiny_file(hpo_home: Path) -> Path:
    return make_tiny_dataset(n=1000).write(hpo_home / "data" / "tiny.arrow")


class RecordingFactory:
    """hpo's objective, plus user attributes saying which process and which dataset object ran each trial."""

    def __call__(self, model, data, space, **kwargs):  # noqa: ANN001, ANN003, ANN204
        objective = build_objective(model, data, space, **kwargs)
        loaded = f"{os.getpid()}:{id(data)}"  # one value per opening of the dataset

        def run(trial: optuna.Trial) -> float:
            trial.set_user_attr("dataset_copy", loaded)
            trial.set_user_attr("threads", kwargs["threads"])
            return objective(trial)

        return run


def test_dask_tasks_share_the_queue_and_open_the_dataset_once(
    cluster: LocalCluster, worker_pids: set[int], tiny_file: Path, space: Path
) -> None:
    jobs, target = 2, 10
    drivers.run("rf", "tpe", tiny_file, space=space, n_trials=target, jobs=jobs, backend="dask", scheduler=cluster.scheduler_address,
                study_name="on-dask", objective_factory=RecordingFactory(), progress=False)  # fmt: skip
    trials = load_study("on-dask", open_storage(paths.default_storage_url())).get_trials()
    assert len(trials) == target and all(t.state == TrialState.COMPLETE for t in trials)
    copies = Counter(t.user_attrs["dataset_copy"] for t in trials)
    assert len(copies) <= jobs < target  # each task opened the file once and kept it for all its trials
    assert {int(c.split(":")[0]) for c in copies} <= worker_pids and os.getpid() not in {int(c.split(":")[0]) for c in copies}
    # two task slots on this host: each task gets its share of the cores
    assert {t.user_attrs["threads"] for t in trials} == {max(1, joblib.cpu_count() // 2)}


def test_cli_grid_on_dask_runs_every_point_once(cluster: LocalCluster, tiny_file: Path, space: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["run", "--model", "rf", "--algo", "grid", "--space", str(space), "--prepared", str(tiny_file), "--study", "grid-dask",
            "--jobs", "3", "--backend", "dask", "--scheduler", cluster.scheduler_address, "--quiet"]  # fmt: skip
    assert main(argv) == 0
    assert "8/8 trials" in capsys.readouterr().out
    study = load_study("grid-dask", open_storage(paths.default_storage_url()))
    points = Counter(tuple(sorted(t.params.items())) for t in study.get_trials())
    assert len(points) == 8 and set(points.values()) == {1}


def test_multi_fidelity_grid_on_dask_records_the_rungs(cluster: LocalCluster, tiny_file: Path, space: Path) -> None:
    argv = ["run", "--model", "rf", "--algo", "grid", "--space", str(space), "--prepared", str(tiny_file), "--study", "rungs-dask",
            "--jobs", "2", "--backend", "dask", "--scheduler", cluster.scheduler_address, "--fidelity", "1/4,1/2,1",
            "--prune", "median", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    study = load_study("rungs-dask", open_storage(paths.default_storage_url()))
    trials = study.get_trials()
    points = Counter(tuple(sorted(t.params.items())) for t in trials)
    assert len(points) == 8 and set(points.values()) == {1}  # pruned trials count too: each point once
    assert all(t.state.name in ("COMPLETE", "PRUNED") and t.user_attrs["rung"] in (0, 1, 2) for t in trials)
    assert all(sorted(t.intermediate_values) == [1, 2, 4][: t.user_attrs["rung"] + 1] for t in trials)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--backend", "dask"], "--backend dask needs --scheduler"),
        (["--scheduler", "tcp://127.0.0.1:8786"], "is for --backend dask"),
        (["--backend", "dask", "--scheduler", "tcp://127.0.0.1:{port}"], "cannot reach the Dask scheduler"),
    ],
)
def test_backend_mistakes_are_one_line(
    extra: list[str], message: str, tiny_file: Path, space: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from servers import free_port

    monkeypatch.setattr(backends, "CONNECT_TIMEOUT_S", 2)
    extra = [e.replace("{port}", str(free_port())) for e in extra]
    argv = ["run", "--model", "rf", "--algo", "tpe", "--space", str(space), "--prepared", str(tiny_file), "--trials", "2", *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not Path(paths.default_storage_url().removeprefix("sqlite:///")).exists()  # refused before any study was created
