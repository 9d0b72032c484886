"""Search algorithms as Optuna samplers, so that every study lives in the same store.

==========  =====================================================================================
algorithm   sampler
==========  =====================================================================================
``grid``    :class:`~optuna.samplers.RandomSampler`; the driver enqueues each grid point as a
            trial with fixed parameters, so the sampler only fills parameters outside the grid
``random``  :class:`~optuna.samplers.RandomSampler`
``bayes``   :class:`SkoptSampler`: scikit-optimize's Gaussian process (ask/tell)
``tpe``     :class:`~optuna.samplers.TPESampler`, multivariate, constant liar for parallel workers
``cmaes``   :class:`~optuna.samplers.CmaEsSampler` (categorical parameters sampled at random)
==========  =====================================================================================
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import optuna
from optuna.samplers import BaseSampler

from hpo.errors import UsageError
from hpo.options import SAMPLER_ALGORITHMS
from hpo.samplers.skopt_sampler import SkoptSampler
from hpo.spaces import SearchSpace


def _random(space: SearchSpace, seed: int | None, **opts: Any) -> BaseSampler:
    return optuna.samplers.RandomSampler(seed=seed, **opts)


def _bayes(space: SearchSpace, seed: int | None, **opts: Any) -> BaseSampler:
    return SkoptSampler(space, seed=seed, **opts)


def _tpe(space: SearchSpace, seed: int | None, **opts: Any) -> BaseSampler:
    return optuna.samplers.TPESampler(**{"multivariate": True, "constant_liar": True, **opts}, seed=seed)


def _cmaes(space: SearchSpace, seed: int | None, **opts: Any) -> BaseSampler:
    return optuna.samplers.CmaEsSampler(**{"warn_independent_sampling": False, **opts}, seed=seed)


_FACTORIES: dict[str, Callable[..., BaseSampler]] = {
    "grid": _random,
    "random": _random,
    "bayes": _bayes,
    "tpe": _tpe,
    "cmaes": _cmaes,
}

#: The algorithm names that :func:`make_sampler` accepts (one factory each).
ALGORITHMS: tuple[str, ...] = SAMPLER_ALGORITHMS


def check_algorithm(algo: str) -> str:
    """``algo`` if it names an algorithm, else a :class:`UsageError` listing the valid ones."""
    if algo not in _FACTORIES:
        raise UsageError(f"unknown algorithm {algo!r}; choose one of {', '.join(ALGORITHMS)}")
    return algo


def make_sampler(algo: str, space: SearchSpace, seed: int | None = None, **opts: Any) -> BaseSampler:
    """The Optuna sampler of algorithm ``algo`` over ``space``.

    ``opts`` go to the sampler's constructor (e.g. ``n_initial_points`` and ``acq_func`` for
    ``bayes``, ``n_startup_trials`` for ``tpe``). With parallel workers give each worker its own
    ``seed``: samplers with equal seeds and equal histories propose equal points.
    """
    factory = _FACTORIES[check_algorithm(algo)]
    try:
        with warnings.catch_warnings():  # constant_liar and multivariate TPE are "experimental"
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return factory(space, seed, **opts)
    except (TypeError, ValueError) as err:
        raise UsageError(f"invalid option for the {algo} sampler: {err}") from None


__all__ = ["ALGORITHMS", "SkoptSampler", "check_algorithm", "make_sampler"]
