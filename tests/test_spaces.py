"""Search spaces: validation, lookup, grid, Optuna and scikit-optimize forms."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import optuna
import pytest
from skopt.space import Space

from hpo.errors import SpaceError, UsageError
from hpo.spaces import MODELS, SearchSpace, available_spaces, load_space, parse_assignments

SHIPPED = ("ann", "rf", "rf-exercise-grid")


def write(tmp_path: Path, text: str, name: str = "space.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_spaces_load(name: str) -> None:
    space = load_space(name)
    assert space.model in MODELS
    assert space.names
    assert set(space.distributions()) == set(space.names)


def test_exercise_grid_has_192_unique_points_in_a_fixed_order() -> None:
    space = load_space("rf-exercise-grid")
    grid = space.grid()
    assert len(grid) == 192
    assert len({tuple(sorted(p.items())) for p in grid}) == 192
    assert space.grid_values() == {
        "criterion": ["gini", "entropy"],
        "n_estimators": [300, 500],
        "bootstrap": [False, True],
        "max_depth": [3, 5],
        "min_samples_leaf": [300, 500],
        "min_samples_split": [200, 400],
        "max_features": [3, 4, 5],
    }
    assert all(type(p["n_estimators"]) is int and type(p["bootstrap"]) is bool for p in grid)
    assert load_space("rf-exercise-grid").grid() == grid


INVALID = [
    ("model: rf\nparams: {}\nfixd: {}\n", "fixd"),
    ("model: rf\nparams:\n  max_depth: {type: int, lo: 1, high: 3}\n", "params.max_depth.lo"),
    ("model: rf\nparams:\n  max_depth: {type: int, low: 5, high: 3}\n", "params.max_depth"),
    ("model: rf\nparams:\n  max_depth: {type: int, low: 3, high: 3}\n", "params.max_depth"),
    ("model: ann\nparams:\n  learning_rate: {type: float, low: 0, high: 0.1, log: true}\n", "params.learning_rate"),
    ("model: ann\nparams:\n  learning_rate: {type: float, low: 1e-4, high: 0.1, log: true, step: 0.1}\n", "params.learning_rate"),
    ("model: rf\nparams:\n  max_depth: {type: integer, low: 1, high: 3}\n", "params.max_depth.type"),
    ("model: rf\nparams:\n  criterion: {type: categorical, choices: []}\n", "params.criterion"),
    ("model: rf\nparams:\n  criterion: {type: categorical, choices: [gini, hinge]}\n", "params.criterion.choices"),
    ("model: rf\nparams:\n  max_depth: {type: int, low: 1.5, high: 3}\n", "params.max_depth"),
    ("model: rf\nparams:\n  max_depth: {type: float, low: 1, high: 3}\n", "params.max_depth.type"),
    ("model: rf\nparams:\n  learning_rate: {type: float, low: 0.1, high: 0.3}\n", "params.learning_rate"),
    ("model: ann\nparams:\n  epochs: {type: int, low: 1, high: 30}\n", "params.epochs"),
    ("model: ann\nparams:\n  dropout: {type: float, low: 0.0, high: 1.5}\n", "params.dropout.high"),
    ("model: ann\nfixed:\n  epoch: 5\n", "fixed.epoch"),
    ("model: ann\nfixed:\n  epochs: 0\n", "fixed.epochs"),
    ("model: ann\nfixed:\n  epochs: many\n", "fixed.epochs"),
    ("model: rf\nparams:\n  max_depth: {type: int, low: 2, high: 4}\nfixed:\n  max_depth: 3\n", "fixed.max_depth"),
    ("model: svm\nparams: {}\n", "model"),
    ("params: {}\n", "model"),
    ("model: rf\nparams:\n  max_depth: {type: int, low: 2, high: 4, values: [2, 9]}\n", "params.max_depth"),
    ("model: rf\nparams:\n  bootstrap: {type: bool, low: 0}\n", "params.bootstrap"),
    ("model: rf\nparams: [max_depth]\n", "params"),
    ("model: rf\nparams: {max_depth: {type: int\n", "line"),
    ("- just\n- a list\n", "mapping"),
]


@pytest.mark.parametrize(("text", "key"), INVALID)
def test_invalid_space_is_rejected_naming_file_and_key(tmp_path: Path, text: str, key: str) -> None:
    path = write(tmp_path, text, "bad-space.yaml")
    with pytest.raises(SpaceError) as info:
        load_space(path)
    message = str(info.value)
    assert "bad-space.yaml" in message
    assert key in message
    assert "\n" not in message


def test_name_lookup_prefers_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "search_spaces").mkdir()
    write(tmp_path / "search_spaces", "model: rf\nparams:\n  max_depth: {type: int, low: 2, high: 4}\n", "rf.yaml")
    assert load_space("rf").names == ["max_depth"]
    assert len(load_space("ann").names) > 1  # falls back to the checkout's spaces
    assert {"ann", "rf", "rf-exercise-grid"} <= set(available_spaces())
    with pytest.raises(SpaceError, match="no search space named 'nope'.*rf-exercise-grid"):
        load_space("nope")
    with pytest.raises(SpaceError, match="missing.yaml does not exist"):
        load_space(tmp_path / "missing.yaml")


def test_grid_levels_are_log_spaced_rounded_and_deduplicated() -> None:
    space = SearchSpace.from_dict(
        {
            "model": "ann",
            "params": {
                "learning_rate": {"type": "float", "low": 1e-5, "high": 1e-1, "log": True, "levels": 5},
                "n_layers": {"type": "int", "low": 1, "high": 4},
                "batch_size": {"type": "int", "low": 32, "high": 512, "log": True},
                "dropout": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.2},
            },
        }
    )
    axes = space.grid_values()
    assert axes["learning_rate"] == [1e-5, 1e-4, 1e-3, 1e-2, 1e-1]
    assert axes["n_layers"] == [1, 2, 4]  # 3 default levels: 1, 2.5 -> 2, 4
    assert axes["batch_size"] == [32, 128, 512]
    assert axes["dropout"] == [0.0, 0.2, 0.4]  # 0.25 snaps to 0.2, 0.5 clips to the last step below it
    many = space.grid_values(levels=10)
    assert many["n_layers"] == [1, 2, 3, 4]
    assert len(many["learning_rate"]) == 10
    assert len(space.grid(levels=2)) == np.prod([len(v) for v in space.grid_values(2).values()])


def test_dict_form_round_trips_through_json() -> None:
    for name in SHIPPED:
        space = load_space(name)
        rebuilt = SearchSpace.from_dict(json.loads(json.dumps(space.to_dict())))
        assert rebuilt == space
        assert rebuilt.distributions() == space.distributions()
        assert rebuilt.grid(2) == space.grid(2)
        assert rebuilt.fixed == space.fixed


@pytest.mark.parametrize("name", SHIPPED)
def test_skopt_points_and_params_convert_both_ways(name: str) -> None:
    space = load_space(name)
    dims = space.skopt_dimensions()
    assert [d.name for d in dims] == space.names
    distributions = space.distributions()
    for point in Space(dims).rvs(25, random_state=1):
        params = space.params_from_skopt(point)
        for key, value in params.items():
            assert distributions[key]._contains(distributions[key].to_internal_repr(value)), (key, value)
            assert not isinstance(value, np.generic)
        assert space.params_from_skopt(space.skopt_from_params(params)) == params
        assert Space(dims).transform([space.skopt_from_params(params)]).shape[0] == 1
    for params in space.grid(2)[:20]:
        assert space.params_from_skopt(space.skopt_from_params(params)) == params


def test_suggest_matches_distributions_in_a_real_study() -> None:
    space = load_space("ann")
    study = optuna.create_study(storage=optuna.storages.InMemoryStorage(), sampler=optuna.samplers.TPESampler(seed=0))
    seen: list[dict] = []
    study.optimize(lambda t: (seen.append(space.suggest(t)), 0.0)[1], n_trials=8)
    for trial, params in zip(study.trials, seen):
        assert trial.params == params
        assert trial.distributions == space.distributions()


def test_grid_sampler_visits_every_exercise_point_once() -> None:
    space = load_space("rf-exercise-grid")
    study = optuna.create_study(sampler=optuna.samplers.GridSampler(space.grid_values(), seed=0))
    study.optimize(lambda t: (space.suggest(t), 0.0)[1], n_trials=250)
    visited = [tuple(sorted(t.params.items())) for t in study.trials]
    assert len(visited) == 192 == len(set(visited))
    assert set(visited) == {tuple(sorted(p.items())) for p in space.grid()}


def test_overrides_pin_settings_and_searched_parameters() -> None:
    space = load_space("ann")
    pinned = space.with_overrides(parse_assignments(["epochs=3", "activation=relu", "min_learning_rate=1e-6"]))
    assert "activation" not in pinned.names
    assert pinned.fixed["epochs"] == 3 and pinned.fixed["activation"] == "relu"
    config = pinned.configuration({"n_layers": 2})
    assert config["epochs"] == 3 and config["min_learning_rate"] == 1e-6 and config["n_layers"] == 2
    assert space.fixed["epochs"] != 3  # the original is unchanged
    assert SearchSpace.from_dict(pinned.to_dict()) == pinned
    with pytest.raises(SpaceError, match="fixed.epocs"):
        space.with_overrides({"epocs": 3})
    with pytest.raises(SpaceError, match="fixed.dropout"):
        space.with_overrides({"dropout": "high"})


def test_configuration_fills_setting_defaults() -> None:
    space = SearchSpace.from_dict({"model": "ann", "params": {"dropout": {"type": "float", "low": 0, "high": 0.5}}})
    assert space.configuration({"dropout": 0.1}) == {**MODELS["ann"].defaults(), "dropout": 0.1}


def test_parse_assignments() -> None:
    assert parse_assignments(["epochs=5", "lr_reduce_factor=1e-1", "activation=selu", "bootstrap=false"]) == {
        "epochs": 5,
        "lr_reduce_factor": 0.1,
        "activation": "selu",
        "bootstrap": False,
    }
    with pytest.raises(UsageError, match="key=value"):
        parse_assignments(["epochs"])
