"""Retraining a configuration, saving and loading it, the exercise's hand-picked models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hpo.data.prepared import PreparedDataset
from hpo.errors import UsageError
from hpo.objectives import EXERCISE_PARAMS, load_model, train_model
from tests.conftest import make_tiny_dataset

ANN_FAST = {**EXERCISE_PARAMS["ann"], "epochs": 2, "learning_rate": 1e-2}
RF_FAST = {**EXERCISE_PARAMS["rf"], "n_estimators": 10, "min_samples_leaf": 5, "min_samples_split": 10}


def test_rf_round_trip_gives_identical_predictions(tiny_dataset: PreparedDataset, tmp_path: Path) -> None:
    trained = train_model("rf", RF_FAST, tiny_dataset, threads=1, seed=3)
    assert trained.info["n_fitted_events"] == len(tiny_dataset.train) + len(tiny_dataset.val)
    scores = trained.predict(tiny_dataset.test.X)
    assert scores.shape == (len(tiny_dataset.test),) and np.all((scores >= 0) & (scores <= 1))
    trained.save(tmp_path / "rf")
    with pytest.warns(UserWarning, match="trusted source"):
        loaded = load_model(tmp_path / "rf")
    np.testing.assert_array_equal(loaded.predict(tiny_dataset.test.X), scores)
    assert loaded.params == trained.params and loaded.features == tiny_dataset.features
    importances = loaded.feature_importances()
    assert list(importances) == tiny_dataset.features
    assert sum(importances.values()) == pytest.approx(1.0)
    assert importances["x0"] == max(importances.values())  # x0 separates the classes most
    assert not list((tmp_path / "rf").glob(".*"))  # no temporary files left behind


def test_ann_round_trip_gives_identical_predictions(tiny_dataset: PreparedDataset, tmp_path: Path) -> None:
    trained = train_model("ann", ANN_FAST, tiny_dataset, seed=1)
    assert trained.info["hidden_units"] == [50, 10, 5]  # the exercise's 10x, 2x, 1x the inputs
    fitted = len(tiny_dataset.train) + len(tiny_dataset.val)
    assert trained.info["n_fitted_events"] == pytest.approx(0.9 * fitted, abs=2)  # 10% held out for early stopping
    scores = trained.predict(tiny_dataset.test.X)
    assert np.all((scores >= 0) & (scores <= 1))
    loaded = load_model(trained.save(tmp_path / "ann"))
    np.testing.assert_array_equal(loaded.predict(tiny_dataset.test.X), scores)
    assert loaded.feature_importances() is None
    assert loaded.info["epochs"] == trained.info["epochs"] <= 2


def test_training_on_train_only_monitors_the_validation_split(tiny_dataset: PreparedDataset) -> None:
    trained = train_model("ann", ANN_FAST, tiny_dataset, fit_splits=("train",))
    assert trained.info["n_fitted_events"] == len(tiny_dataset.train)


def test_max_features_is_clipped_to_the_inputs() -> None:
    data = make_tiny_dataset(n=300, n_features=3)
    trained = train_model("rf", {**RF_FAST, "max_features": 5}, data)
    assert trained.estimator.max_features == 3
    assert trained.predict(data.test.X).shape == (len(data.test),)


def test_exercise_forest_trains_as_given(tiny_dataset: PreparedDataset) -> None:
    trained = train_model("rf", EXERCISE_PARAMS["rf"], tiny_dataset)
    assert trained.info["n_estimators"] == 300
    forest = trained.estimator
    assert (forest.criterion, forest.max_depth, forest.min_samples_leaf, forest.min_samples_split, forest.bootstrap) == (
        "gini", 5, 500, 200, False
    )


@pytest.mark.parametrize(
    ("model", "params", "match"),
    [
        ("rf", {**RF_FAST, "n_trees": 3}, "n_trees"),
        ("rf", {k: v for k, v in RF_FAST.items() if k != "max_depth"}, "lacks max_depth"),
        ("rf", {**RF_FAST, "criterion": "hinge"}, "criterion"),
        ("svm", {}, "unknown model"),
    ],
)
def test_bad_configuration_is_a_usage_error(tiny_dataset: PreparedDataset, model: str, params: dict, match: str) -> None:
    with pytest.raises(UsageError, match=match):
        train_model(model, params, tiny_dataset)


def test_bad_fit_splits_and_missing_model_folder(tiny_dataset: PreparedDataset, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="fit_splits"):
        train_model("rf", RF_FAST, tiny_dataset, fit_splits=("training",))
    with pytest.raises(UsageError, match="no saved hpo model"):
        load_model(tmp_path)


def test_a_network_trained_on_a_reused_graph_is_the_network_trained_anew(tiny_dataset: PreparedDataset) -> None:
    # The networks of one architecture share one traced training graph in a process; each must
    # still start from its own seed's weights with a fresh optimizer and learning rate.
    from hpo.models import ann

    config = {**ANN_FAST, "epochs": 3, "dropout": 0.2}
    other = {**config, "learning_rate": 3e-2}  # same architecture, another rate
    ann._trainers.clear()
    first = train_model("ann", config, tiny_dataset, seed=4).predict(tiny_dataset.test.X)
    assert len(ann._trainers) == 1
    train_model("ann", other, tiny_dataset, seed=5)
    again = train_model("ann", config, tiny_dataset, seed=4).predict(tiny_dataset.test.X)
    assert len(ann._trainers) == 1  # one graph served all three
    np.testing.assert_array_equal(again, first)
    ann._trainers.clear()
    np.testing.assert_array_equal(train_model("ann", config, tiny_dataset, seed=4).predict(tiny_dataset.test.X), first)
    assert not np.array_equal(train_model("ann", config, tiny_dataset, seed=6).predict(tiny_dataset.test.X), first)


def test_the_network_sees_every_batch_once_an_epoch_and_is_scored_as_it_predicts(tiny_dataset: PreparedDataset) -> None:
    # Each epoch runs every batch of the training split once (the last one partial), and the
    # per-epoch validation scores, from the trainer's traced prediction graph, are those of the
    # returned network at its best epoch (early stopping restores that epoch's weights).
    from hpo.models import ann
    from hpo.spaces.models import MODELS

    train, val = tiny_dataset.split("train"), tiny_dataset.split("val")
    config = {**MODELS["ann"].defaults(), **ANN_FAST, "epochs": 4, "batch_size": 7}
    assert len(train) % 7  # a partial last batch
    scores: dict[int, np.ndarray] = {}
    fit = ann.fit(config, train, val, seed=3, report=lambda epoch, s: scores.__setitem__(epoch, s))
    assert int(fit.estimator.optimizer.iterations.numpy()) == fit.attrs["epochs"] * -(-len(train) // 7)
    assert sorted(scores) == list(range(1, fit.attrs["epochs"] + 1))
    np.testing.assert_allclose(scores[fit.attrs["best_epoch"]], ann.predict(fit.estimator, val.X), rtol=1e-5, atol=1e-7)
