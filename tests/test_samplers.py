"""The sampler registry and the scikit-optimize GP sampler."""

from __future__ import annotations

import optuna
import pytest

from hpo.errors import UsageError
from hpo.samplers import ALGORITHMS, SkoptSampler, make_sampler
from hpo.spaces import SearchSpace, load_space

SPACE = SearchSpace.from_dict(
    {
        "model": "rf",
        "params": {
            "max_features": {"type": "float", "low": 0.2, "high": 1.0},
            "max_depth": {"type": "int", "low": 2, "high": 16},
            "criterion": {"type": "categorical", "choices": ["gini", "entropy"]},
        },
    }
)


def _score(params: dict) -> float:
    return -((params["max_features"] - 0.7) ** 2) - 0.01 * (params["max_depth"] - 9) ** 2 + 0.1 * (params["criterion"] == "entropy")


def _optimise(sampler: optuna.samplers.BaseSampler, n: int) -> optuna.Study:
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(lambda t: _score(SPACE.suggest(t)), n_trials=n)
    return study


@pytest.mark.parametrize(
    ("algo", "kind"),
    [
        ("grid", optuna.samplers.RandomSampler),
        ("random", optuna.samplers.RandomSampler),
        ("bayes", SkoptSampler),
        ("tpe", optuna.samplers.TPESampler),
        ("cmaes", optuna.samplers.CmaEsSampler),
    ],
)
def test_registry_builds_each_algorithm(algo: str, kind: type) -> None:
    assert isinstance(make_sampler(algo, load_space("rf"), seed=1), kind)


def test_registry_lists_algorithms_and_rejects_unknown_ones() -> None:
    assert ALGORITHMS == ("grid", "random", "bayes", "tpe", "cmaes")
    with pytest.raises(UsageError, match="unknown algorithm 'hyperopt'; choose one of grid, random, bayes, tpe, cmaes"):
        make_sampler("hyperopt", SPACE)
    with pytest.raises(UsageError, match="invalid option for the bayes sampler"):
        make_sampler("bayes", SPACE, acq_func="magic")
    with pytest.raises(UsageError, match="invalid option for the tpe sampler"):
        make_sampler("tpe", SPACE, no_such_option=1)


def test_skopt_sampler_stays_in_the_space_and_is_reproducible() -> None:
    first = _optimise(SkoptSampler(SPACE, n_initial_points=4, seed=3), 8)
    again = _optimise(SkoptSampler(SPACE, n_initial_points=4, seed=3), 8)
    assert [t.params for t in first.trials] == [t.params for t in again.trials]
    for t in first.trials:
        assert 0.2 <= t.params["max_features"] <= 1.0
        assert isinstance(t.params["max_depth"], int) and 2 <= t.params["max_depth"] <= 16
        assert t.params["criterion"] in ("gini", "entropy")


def test_skopt_gp_beats_its_random_start() -> None:
    study = _optimise(SkoptSampler(SPACE, n_initial_points=5, seed=0), 20)
    start = max(t.value for t in study.trials[:5])
    assert study.best_value > start
    assert study.best_value > -0.02  # near the optimum 0.1 - small penalties


def test_skopt_constant_liar_separates_concurrent_trials() -> None:
    def gap(constant_liar: bool) -> float:
        sampler = SkoptSampler(SPACE, n_initial_points=3, seed=0, constant_liar=constant_liar)
        study = optuna.create_study(direction="maximize", sampler=sampler)
        study.optimize(lambda t: _score(SPACE.suggest(t)), n_trials=6)
        first, second = study.ask(), study.ask()  # two workers asking before either tells
        return abs(SPACE.suggest(first)["max_features"] - SPACE.suggest(second)["max_features"])

    # without the liar the second worker re-proposes (nearly) the first one's point
    assert gap(True) > 0.05 > 10 * gap(False)


def test_skopt_sampler_validates_options() -> None:
    with pytest.raises(ValueError, match="n_initial_points"):
        SkoptSampler(SPACE, n_initial_points=0)
