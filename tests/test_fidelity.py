"""Multi-fidelity rungs over training events, K-fold cross-validation scores and the validation-to-test gap."""

from __future__ import annotations

import os
import signal
import subprocess
from collections import Counter
from pathlib import Path

import numpy as np
import optuna
import pytest
from conftest import make_tiny_dataset
from optuna.trial import TrialState
from test_cli_study import HPO, _exit_code, _wait_for

from hpo import drivers, metrics
from hpo.cli import main
from hpo.data import open_prepared
from hpo.errors import DataError, UsageError
from hpo.fidelity import check_budget_options, parse_fidelity, rung_steps
from hpo.objectives import backend, build_objective
from hpo.objectives.fidelity import rung_indices
from hpo.reports import history, tables
from hpo.models import default_space
from hpo.spaces import load_space
from hpo.store import count_trials, load_study, open_storage

TESTS = Path(__file__).resolve().parent
RUNG_MODEL = "fidelity_model:RungModel"
RUNGS = "1/9,1/3,1"


@pytest.fixture(autouse=True)
def tests_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Worker processes and ``python -m hpo`` import the test plug-in model from this folder."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS.parent), str(TESTS), os.environ.get("PYTHONPATH", "")]))


@pytest.fixture
def tiny_file(hpo_home: Path) -> Path:
    return make_tiny_dataset(n=2000).write(hpo_home / "data" / "tiny.arrow")


def _switch(path: Path) -> int:
    """Training events between rung 0 (1/9) and rung 1 (1/3): the test model changes its score there."""
    return len(open_prepared(path).split("train")) // 5


def _by_rung(study: optuna.Study) -> Counter:
    return Counter((t.state, t.user_attrs.get("rung")) for t in drivers.budget_trials(study))


def test_rungs_are_parsed_and_bad_combinations_refused() -> None:
    assert parse_fidelity("events") == parse_fidelity(RUNGS) == pytest.approx([1 / 9, 1 / 3, 1])
    assert parse_fidelity("1/4, 1/2, 1") == [0.25, 0.5, 1.0] and parse_fidelity(None) == parse_fidelity("none") == []
    assert rung_steps(parse_fidelity(RUNGS)) == [1, 3, 9] and rung_steps([0.25, 0.5, 1]) == [1, 2, 4]
    for bad in ("1/3,1/9,1", "1/9,1/3,1/2", "1/5,1/3,1", "1", "0,1", "a,1", "1/0,1"):
        with pytest.raises(UsageError, match="--fidelity"):
            parse_fidelity(bad)
    with pytest.raises(UsageError, match="--prune median or halving or hyperband"):
        check_budget_options("none", [1 / 3, 1], 0)
    with pytest.raises(UsageError, match="cannot be combined"):
        check_budget_options("median", [1 / 3, 1], 5)
    with pytest.raises(UsageError, match="with --cv K"):
        check_budget_options("wilcoxon", [], 0)
    with pytest.raises(UsageError, match="--cv 1"):
        check_budget_options("none", [], 1)
    pruner = drivers.make_pruner("hyperband", parse_fidelity("1/27,1/9,1/3,1"))
    assert isinstance(pruner, optuna.pruners.HyperbandPruner) and pruner._reduction_factor == 3 and pruner._max_resource == 27
    assert isinstance(drivers.make_pruner("halving", [0.25, 0.5, 1]), optuna.pruners.SuccessiveHalvingPruner)
    assert isinstance(drivers.make_pruner("wilcoxon", [], 5), optuna.pruners.WilcoxonPruner)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--fidelity", "1/2,1/3"], "--fidelity 1/2,1/3: each rung is a fraction"),
        (["--fidelity", "events"], "--fidelity needs a pruner"),
        (["--cv", "1"], "--cv 1: give a number of folds"),
        (["--prune", "wilcoxon"], "--prune wilcoxon compares cross-validation folds"),
        (["--cv", "3", "--fidelity", "events", "--prune", "median"], "cannot be combined"),
        (["--algo", "kt-bayes", "--cv", "3"], "--algo kt-bayes decides itself how each model is trained"),
    ],
)
def test_bad_budget_options_are_one_line_and_exit_2(extra: list[str], message: str, tiny_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["run", "--model", "rf", "--algo", "tpe", "--prepared", str(tiny_file), *extra]
    assert _exit_code(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_rungs_and_folds_too_small_for_the_data_are_refused_before_any_trial() -> None:
    small = make_tiny_dataset(n=100)
    with pytest.raises(DataError, match=r"the first rung \(0.01235 of \d+ training events\) holds"):
        drivers.run("rf", "random", small, prune="halving", fidelity="1/81,1/27,1/9,1/3,1", progress=False)
    with pytest.raises(DataError, match="--cv 20: train\\+validation holds only"):
        drivers.run("rf", "random", small, cv=20, progress=False)
    assert not open_storage().get_all_studies()


def test_rungs_are_nested_stratified_and_fixed_by_the_seed() -> None:
    y = (np.arange(900) % 4 == 0).astype(np.int8)
    rungs = rung_indices(y, [1 / 9, 1 / 3, 1], seed=3)
    assert [len(r) for r in rungs] == [100, 300, 900]
    assert set(rungs[0]) < set(rungs[1]) < set(rungs[2])
    assert [int(y[r].sum()) for r in rungs] == [25, 75, 225]
    assert all(np.array_equal(a, b) for a, b in zip(rungs, rung_indices(y, [1 / 9, 1 / 3, 1], seed=3)))
    assert not np.array_equal(rungs[0], rung_indices(y, [1 / 9, 1 / 3, 1], seed=4)[0])


def test_objective_reports_only_rung_ends_and_halving_prunes_at_each_rung(tiny_dataset) -> None:  # noqa: ANN001
    switch = len(tiny_dataset.split("train")) // 5
    space = default_space(RUNG_MODEL).with_overrides({"switch_events": switch})
    objective = build_objective(RUNG_MODEL, tiny_dataset, space, prune=True, rungs=[1 / 9, 1 / 3, 1])
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3))
    for k in (0, 7, 6, 1):  # good, late (pruned at rung 1), early (pruned at rung 0), good
        study.enqueue_trial({"k": k})
    study.optimize(objective, n_trials=4)
    good, late, early, _ = study.trials
    assert good.state == TrialState.COMPLETE and sorted(good.intermediate_values) == [1, 3, 9]
    assert good.user_attrs["rung"] == 2 and good.user_attrs["events"] == len(tiny_dataset.split("train"))
    assert good.value == good.user_attrs["rung_scores"][-1] == good.intermediate_values[9]
    assert late.state == TrialState.PRUNED and late.user_attrs["rung"] == 1 and sorted(late.intermediate_values) == [1, 3]
    assert early.state == TrialState.PRUNED and early.user_attrs["rung"] == 0 and len(early.user_attrs["rung_scores"]) == 1
    assert early.user_attrs["events"] < late.user_attrs["events"] < good.user_attrs["events"]
    # each rung watches its fraction of the validation events while it trains and is scored on all of them
    val = tiny_dataset.split("val")
    watched = [len(index) for index in rung_indices(val.y, [1 / 9, 1 / 3, 1], objective.seed)]
    assert watched[0] < watched[1] < watched[2] == len(val)
    assert [early.user_attrs["watched"], late.user_attrs["watched"], good.user_attrs["watched"]] == watched
    assert early.user_attrs["rung_scores"] == [pytest.approx(metrics.roc_auc(val.y, val.X[:, -1], val.w))]


@pytest.mark.parametrize(("model", "fast"), [
    ("ann", {"epochs": 3, "batch_size": 64, "n_layers": 1}),
    ("bdt", {"n_estimators": 30, "report_every": 5}),
    ("rf", {"n_estimators": 12, "prune_stages": 3}),
])  # fmt: skip
def test_the_models_own_steps_are_not_reported_between_rungs(model: str, fast: dict, tiny_dataset) -> None:  # noqa: ANN001
    objective = build_objective(model, tiny_dataset, load_space(model).with_overrides(fast), prune=True, rungs=[1 / 9, 1 / 3, 1])
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=2))
    study.optimize(objective, n_trials=1)
    trial = study.trials[0]
    assert trial.state == TrialState.COMPLETE and sorted(trial.intermediate_values) == [1, 3, 9]
    assert trial.user_attrs["rung"] == 2 and trial.value == pytest.approx(trial.user_attrs["val_auc"])


def test_two_workers_prune_at_each_rung_with_the_exact_count_and_each_grid_point_once(
    tiny_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    space = default_space(RUNG_MODEL).with_overrides({"switch_events": _switch(tiny_file)})
    study = drivers.run(RUNG_MODEL, "grid", tiny_file, space=space, jobs=2, prune="median", fidelity=RUNGS, study_name="mf", progress=False)
    counted = drivers.budget_trials(study)
    assert len(counted) == len(study.trials) == 10 and study.user_attrs["rungs"] == pytest.approx([1 / 9, 1 / 3, 1])
    assert Counter(t.params["k"] for t in counted) == Counter(range(10))  # each grid point once
    by_rung = _by_rung(study)
    # good points (k < 6) go the whole way; early ones (6, 8) stop at rung 0, late ones (7, 9) at rung 1
    assert by_rung == {(TrialState.COMPLETE, 2): 6, (TrialState.PRUNED, 0): 2, (TrialState.PRUNED, 1): 2}
    assert {t.params["k"] for t in counted if t.state == TrialState.PRUNED and t.user_attrs["rung"] == 1} == {7, 9}
    events = sorted({t.user_attrs["events"] for t in counted})
    assert len(events) == 3 and events[-1] == len(open_prepared(tiny_file).split("train"))

    assert main(["show", "mf"]) == 0
    out = capsys.readouterr().out
    assert "fidelity    rungs 1/9,1/3,1 of the training events" in out
    assert "  rung 0     1/9" in out and "10 trials trained, 2 pruned here" in out
    assert "  rung 1     1/3" in out and "8 trials trained, 2 pruned here" in out
    assert "6 trials trained, 0 pruned here" in out


@pytest.mark.parametrize(("algo", "prune", "jobs"), [("tpe", "hyperband", 2), ("bayes", "halving", 2), ("cmaes", "hyperband", 1), ("random", "median", 1)])
def test_every_sampler_with_rungs(algo: str, prune: str, jobs: int, tiny_file: Path) -> None:
    space = default_space(RUNG_MODEL).with_overrides({"switch_events": _switch(tiny_file)})
    study = drivers.run(RUNG_MODEL, algo, tiny_file, space=space, n_trials=8, jobs=jobs, prune=prune, fidelity="events", progress=False)
    counts = count_trials(study)
    assert len(drivers.budget_trials(study)) == len(study.trials) == 8 and counts["COMPLETE"] >= 1
    assert counts["COMPLETE"] + counts["PRUNED"] == 8
    assert all(isinstance(t.user_attrs["rung"], int) and t.user_attrs["events"] > 0 for t in study.trials)
    assert all(t.user_attrs["rung"] == 2 for t in study.trials if t.state == TrialState.COMPLETE)


def test_killed_multi_fidelity_study_resumes_to_the_exact_count_with_rungs(tiny_file: Path, hpo_home: Path) -> None:
    env = {**os.environ, "HPO_HEARTBEAT_INTERVAL": "1"}
    run = subprocess.Popen(
        [*HPO, "run", "--model", RUNG_MODEL, "--algo", "grid", "--prune", "median", "--fidelity", RUNGS, "--jobs", "2", "--quiet",
         "--prepared", str(tiny_file), "--study", "killed", "--set", f"switch_events={_switch(tiny_file)}", "--set", "sleep_s=0.25"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        storage = _wait_for(lambda: (hpo_home / "hpo.db").exists() and open_storage(), 60, "the store")

        def mid_study() -> bool:
            try:
                trials = load_study("killed", storage).get_trials(deepcopy=False)
            except Exception:  # noqa: BLE001 - not created yet
                return False
            finished = sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
            return finished >= 2 and any(t.state == TrialState.RUNNING and "rung" in t.user_attrs for t in trials)

        _wait_for(mid_study, 120, "a trial past its first rung")
        os.killpg(run.pid, signal.SIGKILL)  # the driver and its workers, mid-trial
        run.wait(timeout=60)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    study = load_study("killed", storage)
    assert len(drivers.budget_trials(study)) < 10 and count_trials(study)["RUNNING"] >= 1

    resumed = subprocess.run([*HPO, "resume", "killed", "--jobs", "2", "--quiet"], env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "10/10 trials" in resumed.stdout
    study = load_study("killed", storage)
    counted = drivers.budget_trials(study)
    counts = count_trials(study)
    assert len(counted) == 10 and counts["RUNNING"] == counts["WAITING"] == 0 and counts["FAIL"] >= 1
    assert Counter(t.params["k"] for t in counted) == Counter(range(10))  # each grid point once, the killed ones re-run
    assert all(isinstance(t.user_attrs.get("rung"), int) and t.user_attrs["events"] > 0 for t in counted)
    assert all(t.user_attrs["rung"] == 2 for t in counted if t.state == TrialState.COMPLETE)
    assert any(t.system_attrs.get("failed_trial") is not None for t in counted)


def test_cv_score_is_the_mean_of_the_folds_computed_by_hand(tiny_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["run", "--model", "rf", "--algo", "random", "--trials", "1", "--jobs", "1", "--quiet", "--cv", "5", "--seed", "7",
            "--prepared", str(tiny_file), "--study", "cv", "--set", "n_estimators=8", "--set", "max_depth=4"]  # fmt: skip
    assert main(argv) == 0
    study = load_study("cv", open_storage())
    trial = study.trials[0]
    assert study.user_attrs["cv"] == 5 and sorted(trial.intermediate_values) == [1, 2, 3, 4, 5]

    from sklearn.model_selection import StratifiedKFold

    data = open_prepared(tiny_file)
    config = load_space("rf").with_overrides({"n_estimators": 8, "max_depth": 4}).configuration(trial.params)
    model = backend("rf")
    view = model.missing_view(config)
    train, val = data.split("train", view), data.split("val", view)
    X, y, w = (np.concatenate([getattr(train, f), getattr(val, f)]) for f in ("X", "y", "w"))
    w_train = np.concatenate([train.w_train, val.w_train])
    w_phys = np.concatenate([train.w_phys, val.w_phys])
    by_hand = []
    for fit, held in StratifiedKFold(n_splits=5, shuffle=True, random_state=7).split(X, y):
        from hpo.data.prepared import Split

        split = lambda i: Split(X[i], y[i], w[i], w_train[i], w_phys[i])  # noqa: E731
        result = model.fit(config, split(fit), split(held), threads=1, seed=7 + trial.number)
        by_hand.append(metrics.roc_auc(y[held], model.predict(result.estimator, X[held]), w[held]))
    assert trial.value == pytest.approx(np.mean(by_hand), abs=1e-9)
    assert trial.user_attrs["cv_scores"] == pytest.approx(by_hand, abs=1e-9)
    assert trial.intermediate_values[5] == pytest.approx(np.mean(by_hand), abs=1e-9)  # the running mean
    assert trial.intermediate_values[1] == pytest.approx(by_hand[0], abs=1e-9)

    result = drivers.best("cv")
    study = load_study("cv", open_storage())
    assert result.val_test_gap == pytest.approx(trial.user_attrs["val_auc"] - result.test_auc)
    assert study.user_attrs["best_val_test_gap"] == pytest.approx(result.val_test_gap)
    table = tables.compare_table([study], [history.load_history(study)])
    assert table.loc[0, "val_test_gap"] == pytest.approx(result.val_test_gap)
    capsys.readouterr()
    assert main(["show", "cv"]) == 0
    out = capsys.readouterr().out
    assert "5-fold cross-validation on train+validation" in out and f"val - test  {result.val_test_gap:+.5f}" in out
    study.set_user_attr("best_val_test_gap", None)  # tested before the gap was recorded: read from the trial
    table = tables.compare_table([study], [history.load_history(study)])
    assert table.loc[0, "val_test_gap"] == pytest.approx(result.val_test_gap)


def test_wilcoxon_sees_each_fold_score(tiny_file: Path) -> None:
    space = load_space("rf").with_overrides({"n_estimators": 5})
    study = drivers.run("rf", "random", tiny_file, space=space, n_trials=4, jobs=1, prune="wilcoxon", cv=3, progress=False)
    assert len(drivers.budget_trials(study)) == 4 and study.user_attrs["prune"] == "wilcoxon"
    for trial in study.trials:
        folds = trial.user_attrs["cv_scores"]
        assert [trial.intermediate_values[k] for k in sorted(trial.intermediate_values)] == pytest.approx(folds)
        if trial.state == TrialState.COMPLETE:
            assert len(folds) == 3 and trial.value == pytest.approx(np.mean(folds))
