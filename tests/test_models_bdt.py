"""The XGBoost models: boosted trees (bdt) and the forest's XGBoost engine; weights, early
stopping, pruning, NaN inputs, the booster file; NaN refused by the models that cannot take it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pytest
from conftest import make_tiny_dataset

import hpo
from hpo import metrics
from hpo.cli import main
from hpo.data.prepared import PreparedDataset, Split
from hpo.errors import UsageError
from hpo.models import get_model
from hpo.models.rf import HESSIAN_AT_HALF, xgboost_params
from hpo.objectives import build_objective, load_model, train_model
from hpo.spaces import SearchSpace, load_space
from hpo.store import list_studies, open_storage

optuna.logging.set_verbosity(optuna.logging.WARNING)

BDT_CONFIG = {
    "n_estimators": 60, "learning_rate": 0.2, "max_depth": 3, "min_child_weight": 1.0, "subsample": 1.0,
    "colsample_bytree": 1.0, "reg_alpha": 0.0, "reg_lambda": 1.0, "gamma": 0.0,
}  # fmt: skip
RF_XGB = {"n_estimators": 30, "criterion": "gini", "max_depth": 4, "min_samples_leaf": 4, "min_samples_split": 2,
          "max_features": 3, "bootstrap": True, "engine": "xgboost"}  # fmt: skip


def with_missing(data: PreparedDataset, fraction: float = 0.3, seed: int = 12345) -> PreparedDataset:
    """``data`` with a random ``fraction`` of feature x1 missing (NaN), as a prepared dataset may keep them
    (``seed`` must differ from the dataset's, whose first draws decide the labels)."""
    frame = data.table.to_pandas()
    rng = np.random.default_rng(seed)
    frame.loc[rng.random(len(frame)) < fraction, "col:x1"] = np.nan
    return PreparedDataset.from_frame(frame, {**data.meta, "hash": data.hash[:-2] + "na"})


def bdt_space(**fixed: object) -> SearchSpace:
    return load_space("bdt").with_overrides({"n_estimators": 60, **fixed})


def run_study(objective, n_trials: int, pruner: optuna.pruners.BasePruner | None = None) -> optuna.Study:
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=3),
                                pruner=pruner or optuna.pruners.NopPruner())  # fmt: skip
    study.optimize(objective, n_trials=n_trials)
    return study


def test_bdt_objective_reports_every_few_rounds_and_stops_early() -> None:
    data = make_tiny_dataset(n=3000)
    study = run_study(build_objective("bdt", data, bdt_space(n_estimators=400, report_every=5)), n_trials=3)
    for trial in study.trials:
        assert trial.state == optuna.trial.TrialState.COMPLETE
        attrs = trial.user_attrs
        assert attrs["rounds_trained"] < 400  # early stopping on the validation log-loss
        assert attrs["n_estimators"] == attrs["rounds_trained"] - 20  # cut back to the best round
        assert sorted(trial.intermediate_values) == list(range(5, attrs["rounds_trained"] + 1, 5))
        assert trial.value == pytest.approx(attrs["val_auc"])
    assert study.best_value > 0.8


def test_bdt_trials_are_pruned() -> None:
    data = make_tiny_dataset(n=3000)
    space = bdt_space(n_estimators=100, early_stopping_rounds=0)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
    study = run_study(build_objective("bdt", data, space, prune=True), n_trials=10, pruner=pruner)
    states = [t.state for t in study.trials]
    assert optuna.trial.TrialState.PRUNED in states and optuna.trial.TrialState.COMPLETE in states
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    assert all(max(t.intermediate_values) < 100 for t in pruned)  # stopped before the last round


def test_event_weights_change_the_booster() -> None:
    data = make_tiny_dataset(n=3000)
    bdt = get_model("bdt")
    config = {**bdt_space().configuration({}), **BDT_CONFIG, "early_stopping_rounds": 0}
    train, val = data.train, data.val

    def fitted(w_train: np.ndarray) -> np.ndarray:
        split = Split(train.X, train.y, train.w, w_train, train.w_phys)
        return bdt.predict(bdt.fit(config, split, val, threads=1).estimator, data.test.X)

    base = fitted(train.w_train)
    np.testing.assert_array_equal(fitted(train.w_train * 7.0), base)  # only relative weights matter
    upweighted = np.where(train.X[:, 0] > 0, 5.0, 1.0) * train.w_train  # events with large x0 count five times
    changed = fitted(upweighted)
    assert np.abs(changed - base).max() > 1e-3
    # the upweighted region is learnt better: more signal-like where x0 is large, for background too
    assert changed[(data.test.X[:, 0] > 0)].mean() != pytest.approx(base[(data.test.X[:, 0] > 0)].mean(), abs=1e-4)


def test_bdt_takes_missing_values_and_saves_the_booster(tmp_path: Path) -> None:
    data = with_missing(make_tiny_dataset(n=3000))
    assert np.isnan(data.train.X[:, 1]).any()
    study = run_study(build_objective("bdt", data, bdt_space(), prune=True), n_trials=2)
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)

    model = train_model("bdt", {**BDT_CONFIG}, data, fit_splits=("train", "val"))
    scores = model.predict(data.test.X)
    assert np.isfinite(scores).all()
    assert model.info["n_fitted_events"] == pytest.approx(0.9 * (len(data.train) + len(data.val)), abs=2)  # 10% held out
    folder = model.save(tmp_path / "bdt")
    assert (folder / "model.ubj").is_file() and not (folder / "model.joblib").exists()
    import xgboost

    booster = xgboost.Booster(model_file=str(folder / "model.ubj"))  # XGBoost's own file, readable without hpo
    assert booster.num_boosted_rounds() == model.info["n_estimators"]
    again = load_model(folder)
    np.testing.assert_array_equal(again.predict(data.test.X), scores)
    auc = metrics.roc_auc(data.test.y, scores, data.test.w)
    assert abs(metrics.roc_auc(data.test.y, again.predict(data.test.X), data.test.w) - auc) < 1e-9
    importances = again.feature_importances()
    assert set(importances) == set(data.features) and sum(importances.values()) == pytest.approx(1.0)
    assert importances["x0"] == max(importances.values())  # the most separating input


def test_forest_on_xgboost_maps_the_hyperparameters_and_takes_nan(tmp_path: Path) -> None:
    params = xgboost_params(RF_XGB, 5)
    assert params["num_parallel_tree"] == 30 and params["learning_rate"] == 1.0
    assert params["colsample_bynode"] == pytest.approx(3 / 5)
    assert params["min_child_weight"] == HESSIAN_AT_HALF * 4 and params["subsample"] == pytest.approx(0.632)
    assert xgboost_params({**RF_XGB, "bootstrap": False, "max_features": 0.5}, 5)["subsample"] == 1.0

    data = with_missing(make_tiny_dataset(n=3000))
    space = load_space("rf").with_overrides({"n_estimators": 30, "engine": "xgboost"})
    study = run_study(build_objective("rf", data, space, prune=True), n_trials=2)
    for trial in study.trials:
        assert trial.state == optuna.trial.TrialState.COMPLETE
        assert list(trial.intermediate_values) == [30]  # one step: the forest grows at once
    model = train_model("rf", RF_XGB, data)
    folder = model.save(tmp_path / "rf")
    assert (folder / "model.ubj").is_file()
    np.testing.assert_array_equal(load_model(folder).predict(data.test.X), model.predict(data.test.X))
    assert metrics.roc_auc(data.test.y, model.predict(data.test.X), data.test.w) > 0.75  # 30% of x1 missing


@pytest.mark.parametrize("model, space", [("rf", "rf"), ("ann", "ann")])
def test_models_that_cannot_take_nan_refuse_it_in_one_line(model: str, space: str) -> None:
    data = with_missing(make_tiny_dataset())
    with pytest.raises(UsageError, match=rf"missing values \(NaN\) in x1; model {model} cannot take them: use --model bdt"):
        build_objective(model, data, load_space(space))
    with pytest.raises(UsageError, match="cannot take them"):
        train_model("rf", {**RF_XGB, "engine": "sklearn"}, data)


def test_cli_refuses_nan_for_the_sklearn_forest_before_any_trial(hpo_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = with_missing(make_tiny_dataset()).write(hpo_home / "data" / "nan.arrow")
    argv = ["run", "--model", "rf", "--algo", "random", "--trials", "2", "--jobs", "1", "--quiet", "--prepared", str(path)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has missing values (NaN) in x1; model rf cannot take them" in err
    assert list_studies(open_storage()) == []
    # the forest's XGBoost engine takes them
    assert main([*argv, "--set", "engine=xgboost", "--set", "n_estimators=10"]) == 0


def test_cli_bdt_study_with_hyperband_best_report_compare(hpo_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = make_tiny_dataset(n=3000).write(hpo_home / "data" / "tiny.arrow")
    argv = ["run", "--model", "bdt", "--algo", "tpe", "--trials", "8", "--prune", "hyperband", "--jobs", "2", "--quiet",
            "--prepared", str(path), "--set", "n_estimators=80", "--set", "early_stopping_rounds=0"]  # fmt: skip
    assert main(argv) == 0
    assert "bdt-tpe-tiny0000 in sqlite:///" in capsys.readouterr().out
    study = optuna.load_study(study_name="bdt-tpe-tiny0000", storage=open_storage())
    assert len(study.trials) == 8 and study.user_attrs["model_code"] == {"module": "hpo.models.bdt", "class": "BDT", "version": hpo.__version__}
    assert main(["best", "bdt-tpe-tiny0000"]) == 0  # reads the saved booster back and checks the test AUC
    folder = hpo_home / "bdt-tpe-tiny0000" / "best"
    test = PreparedDataset.open(path).test
    auc = metrics.roc_auc(test.y, load_model(folder).predict(test.X), test.w)
    assert abs(auc - study.user_attrs["best_test_auc"]) < 1e-9
    assert main(["report", "bdt-tpe-tiny0000"]) == 0
    assert (hpo_home / "bdt-tpe-tiny0000" / "report" / "report.html").is_file()
    assert main(["compare", "bdt-tpe-tiny0000"]) == 0
    assert "bdt" in capsys.readouterr().out


def test_staged_validation_scores_are_the_full_predictions_of_each_round() -> None:
    # The scores reported as the booster grows sum the new trees' margins onto the last ones;
    # they must be what a prediction with all the trees so far gives, missing values included.
    from hpo.models import boosters

    data = with_missing(make_tiny_dataset(n=3000))
    config = {**bdt_space().configuration({}), **BDT_CONFIG, "early_stopping_rounds": 0, "report_every": 7}
    reported: dict[int, np.ndarray] = {}
    fit = get_model("bdt").fit(config, data.train, data.val, report=lambda rounds, s: reported.__setitem__(rounds, s))
    assert sorted(reported) == list(range(7, 61, 7))
    for rounds, scores in reported.items():
        np.testing.assert_allclose(scores, boosters.predict(fit.estimator, data.val.X, rounds=rounds), rtol=1e-5, atol=1e-6)


def test_training_matrices_are_kept_for_the_same_events_and_weights() -> None:
    from hpo.models import boosters

    data = make_tiny_dataset(n=3000)
    train, val = data.train, data.val
    boosters.clear_matrices()
    first = boosters.training_matrices(train, val)
    copy = Split(train.X.copy(), train.y.copy(), train.w, train.w_train.copy(), train.w_phys)
    assert boosters.training_matrices(copy, val) == first  # the same contents: the same matrices
    reweighted = Split(train.X, train.y, train.w, train.w_train * 2, train.w_phys)
    assert boosters.training_matrices(reweighted, val)[0] is not first[0]
    assert boosters.training_matrices(train, val, max_bin=32)[0] is not first[0]
    assert boosters.training_matrices(train, None)[0] is not first[0]
