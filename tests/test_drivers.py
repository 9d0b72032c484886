"""Study drivers: exact trial counts with parallel workers, grid points exactly once, resume, best."""

from __future__ import annotations

import json
import time
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import optuna
import pytest
from conftest import make_tiny_dataset
from optuna.trial import TrialState

import hpo
from hpo import drivers
from hpo.drivers.queue import enqueue_missing, pop_waiting_trial
from hpo.errors import DataError, UsageError
from hpo.spaces import SearchSpace, load_space
from hpo.store import count_trials, load_study, open_storage

RF_GRID = SearchSpace.from_dict(
    {
        "model": "rf",
        "params": {
            "n_estimators": {"type": "int", "low": 5, "high": 10, "values": [5, 10]},
            "max_depth": {"type": "int", "low": 2, "high": 3, "values": [2, 3]},
            "criterion": {"type": "categorical", "choices": ["gini", "entropy"]},
        },
        "fixed": {"min_samples_leaf": 5, "min_samples_split": 10, "max_features": 1.0, "bootstrap": True},
    }
)


@dataclass(frozen=True)
class CheapObjective:
    """Objective factory with the signature of hpo.objectives.build_objective: no training, a hash score."""

    delay_s: float = 0.0
    fail_every: int = 0  # trial numbers divisible by this raise (0: never)

    def __call__(self, model, data, space, *, metric, prune, threads, seed):  # noqa: ANN001, ANN204
        assert data.path is not None and data.n_features == 5  # opened from its file in the worker

        def objective(trial: optuna.Trial) -> float:
            params = space.suggest(trial)
            time.sleep(self.delay_s)
            if self.fail_every and trial.number % self.fail_every == 0:
                raise RuntimeError("diverged")
            return zlib.crc32(json.dumps(params, sort_keys=True).encode()) % 1000 / 1000

        return objective


def _counted(study: optuna.Study) -> int:
    return len(drivers.budget_trials(study))


def _grid_keys(study: optuna.Study, names: list[str]) -> Counter:
    return Counter(tuple(t.params[n] for n in names) for t in drivers.budget_trials(study))


# every algorithm once, each model's space with both kinds of sampler (samplers and models are
# independent pieces: the full cross product would only repeat worker start-up)
@pytest.mark.parametrize(("algo", "model"), [("grid", "rf"), ("random", "ann"), ("bayes", "ann"), ("tpe", "rf"), ("cmaes", "ann"), ("bayes", "rf")])
def test_each_algorithm_and_model_with_two_workers(model: str, algo: str) -> None:
    data = make_tiny_dataset()
    space = load_space(model)
    study = drivers.run(
        model, algo, data, n_trials=7, jobs=2, seed=5, grid_levels=2, progress=False, objective_factory=CheapObjective()
    )
    assert study.study_name == f"{model}-{algo}-{data.hash[:8]}"
    counts = count_trials(study)
    assert counts["COMPLETE"] == _counted(study) == 7
    assert counts["WAITING"] == counts["RUNNING"] == 0
    params = [tuple(sorted(t.params.items())) for t in study.trials]
    assert len(set(params)) == 7  # no two trials (or workers) evaluated the same point
    attrs = study.user_attrs
    assert attrs["model"] == model and attrs["algo"] == algo and attrs["seed"] == 5
    assert attrs["dataset_hash"] == data.hash and Path(attrs["dataset_path"]).is_file()
    assert attrs["space"] == space.to_dict() and attrs["target_trials"] == 7 and attrs["grid_levels"] == 2
    assert attrs["metric"] == "auc" and attrs["prune"] == "none" and attrs["dataset_name"] == "tiny"
    assert {"hpo", "optuna", "scikit-learn", "scikit-optimize"} <= set(attrs["versions"])
    if algo == "grid":
        grid = space.grid(2)
        assert all(t.params in grid for t in study.trials)


def test_grid_runs_every_point_exactly_once_across_workers_and_resumes() -> None:
    data = make_tiny_dataset()
    study = drivers.run("rf", "grid", data, space=RF_GRID, n_trials=3, jobs=2, progress=False, objective_factory=CheapObjective(0.02))
    assert _counted(study) == 3 and study.user_attrs["target_trials"] == 3
    study = drivers.resume(study.study_name, jobs=2, n_trials=100, progress=False, objective_factory=CheapObjective(0.02))
    keys = _grid_keys(study, RF_GRID.names)
    assert len(keys) == 8 and set(keys.values()) == {1}
    assert study.user_attrs["target_trials"] == 8 and len(study.trials) == 8


def test_resume_raises_the_target_and_continues_the_same_study() -> None:
    study = drivers.run("rf", "tpe", make_tiny_dataset(), n_trials=4, jobs=1, progress=False, objective_factory=CheapObjective())
    study = drivers.resume(study.study_name, n_trials=9, jobs=2, progress=False, objective_factory=CheapObjective())
    assert _counted(study) == len(study.trials) == 9


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_time_budget_starts_no_trial_after_it_and_resume_finishes_the_study(jobs: int, capsys: pytest.CaptureFixture[str]) -> None:
    from hpo.drivers.summary import end_summary

    data = make_tiny_dataset()
    study = drivers.run("rf", "random", data, n_trials=60, jobs=jobs, timeout=3, study_name="budget", progress=False,
                        objective_factory=CheapObjective(0.5))  # fmt: skip
    counts = count_trials(study)
    assert counts["COMPLETE"] < 60 and counts["RUNNING"] == counts["FAIL"] == 0  # running trials finished, none cut
    if jobs == 1:  # no worker process to start: the budget is all trials
        assert 2 <= counts["COMPLETE"] <= 8
    summary = end_summary([study])
    assert "hpo resume budget" in summary and f"# {60 - counts['COMPLETE']} trials still to run" in summary
    study = drivers.resume("budget", jobs=jobs, progress=False, objective_factory=CheapObjective())
    assert count_trials(study)["COMPLETE"] == _counted(study) == len(study.trials) == 60


def test_same_settings_continue_and_different_settings_are_refused() -> None:
    data = make_tiny_dataset()
    kwargs = dict(jobs=1, progress=False, objective_factory=CheapObjective(), study_name="s")
    drivers.run("rf", "random", data, n_trials=3, **kwargs)
    study = drivers.run("rf", "random", data, n_trials=5, **kwargs)
    assert _counted(study) == 5
    with pytest.raises(UsageError, match=r"study 's' already exists with different algo; pass --study"):
        drivers.run("rf", "tpe", data, n_trials=5, **kwargs)
    with pytest.raises(UsageError, match="different dataset_hash"):
        drivers.run("rf", "random", make_tiny_dataset(seed=1), n_trials=5, **kwargs)
    with pytest.raises(UsageError, match="different space"):
        drivers.run("rf", "random", data, space=load_space("rf").with_overrides({"bootstrap": True}), n_trials=5, **kwargs)


def test_failed_trials_count_and_are_recorded() -> None:
    study = drivers.run("rf", "random", make_tiny_dataset(), n_trials=6, jobs=2, progress=False, objective_factory=CheapObjective(fail_every=3))
    counts = count_trials(study)
    assert counts["FAIL"] == 2 and counts["COMPLETE"] == 4 and _counted(study) == 6
    failed = [t for t in study.trials if t.state == TrialState.FAIL]
    assert all(t.user_attrs["error"] == "RuntimeError: diverged" for t in failed)


def test_trial_of_a_dead_worker_is_failed_by_heartbeat_and_rerun(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HPO_HEARTBEAT_INTERVAL", "1")
    study = drivers.run("rf", "grid", make_tiny_dataset(), space=RF_GRID, n_trials=4, jobs=1, progress=False, objective_factory=CheapObjective())
    storage = open_storage()
    # A worker claims a trial, beats once and dies before telling anything.
    study = load_study(study.study_name, storage)
    enqueue_missing(study, 6, RF_GRID.grid())
    orphan = pop_waiting_trial(study)
    assert orphan is not None
    storage.record_heartbeat(orphan)
    started = time.monotonic()
    study = drivers.resume(study.study_name, n_trials=6, jobs=2, progress=False, objective_factory=CheapObjective())
    assert time.monotonic() - started >= 3  # the grace period (3 heartbeats) had to pass
    counts = count_trials(study)
    assert counts["FAIL"] == 1 and counts["COMPLETE"] == 6 == _counted(study)
    keys = _grid_keys(study, RF_GRID.names)
    assert len(keys) == 6 and set(keys.values()) == {1}
    retried = [t for t in study.trials if t.system_attrs.get("failed_trial") is not None]
    assert len(retried) == 1 and retried[0].state == TrialState.COMPLETE


def test_resume_checks_the_prepared_dataset(hpo_home: Path) -> None:
    data = make_tiny_dataset()
    study = drivers.run("rf", "random", data, n_trials=2, jobs=1, progress=False, objective_factory=CheapObjective())
    other = make_tiny_dataset(seed=7)
    other.write(hpo_home / "elsewhere.arrow")
    with pytest.raises(DataError, match="pass --force"):
        drivers.resume(study.study_name, data=other, progress=False, objective_factory=CheapObjective())
    Path(study.user_attrs["dataset_path"]).unlink()
    with pytest.raises(DataError, match="is missing"):
        drivers.resume(study.study_name, progress=False, objective_factory=CheapObjective())
    study = drivers.resume(study.study_name, data=other, force=True, n_trials=3, jobs=1, progress=False, objective_factory=CheapObjective())
    assert study.user_attrs["dataset_hash"] == other.hash and study.user_attrs["previous_datasets"] == [data.hash]
    assert _counted(study) == 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(model="svm"), "unknown model 'svm'"),
        (dict(algo="anneal"), "unknown algorithm 'anneal'"),
        (dict(jobs=0), "jobs must be a positive integer"),
        (dict(n_trials=0), "n_trials must be a positive integer"),
        (dict(prune="always"), "unknown pruner 'always'"),
        (dict(metric="f1"), "unknown metric 'f1'"),
        (dict(space="ann"), "is for model 'ann', not --model rf"),
        (dict(study_name="a b/c"), "--study 'a b/c'"),
        (dict(storage="sqlite:////no/such/dir/x.db"), "does not exist"),
        (dict(timeout=0), "timeout must be a positive number of seconds"),
        (dict(timeout=float("nan")), "timeout must be a positive number of seconds"),
    ],
)
def test_invalid_arguments_are_refused_before_any_trial(kwargs: dict, message: str) -> None:
    args = {"model": "rf", "algo": "random", **kwargs}
    with pytest.raises(hpo.errors.HpoError, match=message):
        drivers.run(args.pop("model"), args.pop("algo"), make_tiny_dataset(), progress=False, **args)


def test_real_objectives_and_best_retrain(hpo_home: Path) -> None:
    data = make_tiny_dataset(n=1200)
    study = drivers.run("rf", "grid", data, space=RF_GRID, jobs=2, progress=False)
    assert count_trials(study)["COMPLETE"] == 8
    assert all(0.5 < t.value <= 1 and "val_auc" in t.user_attrs for t in study.trials)
    ann_space = load_space("ann").with_overrides({"epochs": 2, "n_layers": 1, "batch_size": 128})
    ann = drivers.run("ann", "bayes", data, space=ann_space, n_trials=3, jobs=2, progress=False)
    assert count_trials(ann)["COMPLETE"] == 3

    result = drivers.best(study.study_name)
    assert result.trial_number == study.best_trial.number and 0.5 < result.test_auc <= 1
    assert result.folder == hpo_home / study.study_name / "best"
    predictions = drivers.read_predictions(result.folder)
    assert len(predictions) == len(data.test) and set(predictions.columns) >= {"run", "event", "label", "weight", "score"}
    assert load_study(study.study_name, open_storage()).user_attrs["best_test_auc"] == pytest.approx(result.test_auc)


@pytest.mark.parametrize(
    ("model", "algo", "startup", "overrides"),
    [
        ("ann", "bayes", "n_initial_points", {"epochs": 2, "n_layers": 1, "batch_size": 128}),
        ("bdt", "tpe", "n_startup_trials", {"n_estimators": 20}),
    ],
)
def test_one_worker_repeats_a_study_from_its_seed(hpo_home: Path, model: str, algo: str, startup: str, overrides: dict) -> None:
    data = make_tiny_dataset(n=1200)
    space = load_space(model).with_overrides(overrides)

    def trials(name: str) -> list[tuple]:
        study = drivers.run(model, algo, data, space=space, n_trials=5, jobs=1, seed=3, study_name=name,
                            sampler_options={startup: 2}, progress=False)  # fmt: skip
        return [(t.params, t.value) for t in study.trials]

    first, second = trials("first"), trials("second")  # 2 random trials, then 3 from the sampler's model
    assert len(first) == 5 and len({str(p) for p, _ in first}) == 5
    assert first == second  # the same configurations, trained to the same scores


def test_pruners_are_built_from_their_names() -> None:
    assert isinstance(drivers.make_pruner("median"), optuna.pruners.MedianPruner)
    assert isinstance(drivers.make_pruner("hyperband"), optuna.pruners.HyperbandPruner)
    assert isinstance(drivers.make_pruner("none"), optuna.pruners.NopPruner)
    assert isinstance(drivers.make_pruner("halving"), optuna.pruners.SuccessiveHalvingPruner)
    assert isinstance(drivers.make_pruner("wilcoxon", cv=3), optuna.pruners.WilcoxonPruner)
    assert drivers.PRUNERS == ("none", "median", "halving", "hyperband", "wilcoxon")
