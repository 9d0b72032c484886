"""Bayesian optimisation with scikit-optimize's Gaussian process, behind Optuna's sampler interface.

Each new trial builds a fresh :class:`skopt.Optimizer` (GP surrogate), tells it every finished
trial of the study, and asks it for one point. Rebuilding from the store instead of keeping an
optimiser in memory is what lets many worker processes, and later resumes, share one study: the
store is the only state. A GP on a few hundred points refits in well under a second.

Parallel workers use a *constant liar*: trials still running elsewhere are told to the optimiser
with the worst value seen so far, so that two workers asking at the same moment do not propose the
same point (each trial also draws its own random state). Pruned and failed trials are not told.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from hpo.spaces import SearchSpace

ACQ_FUNCS = ("gp_hedge", "EI", "PI", "LCB")


class SkoptSampler(BaseSampler):
    """Gaussian-process Bayesian optimisation (scikit-optimize) over an hpo search space.

    Args:
        space: the search space; its hyperparameters are sampled jointly by the GP.
        n_initial_points: random points before the GP takes over.
        acq_func: scikit-optimize acquisition function (``gp_hedge``, ``EI``, ``PI``, ``LCB``).
        constant_liar: tell running trials with the worst value so far (for parallel workers).
        seed: seed of the per-trial random states and of the fallback sampler.

    Parameters outside the space (suggested by an objective but not declared) are sampled
    independently by a :class:`~optuna.samplers.RandomSampler`.
    """

    def __init__(
        self,
        space: SearchSpace,
        *,
        n_initial_points: int = 10,
        acq_func: str = "gp_hedge",
        constant_liar: bool = True,
        seed: int | None = None,
    ) -> None:
        if n_initial_points < 1:
            raise ValueError(f"n_initial_points must be at least 1, got {n_initial_points}")
        if acq_func not in ACQ_FUNCS:
            raise ValueError(f"acq_func must be one of {', '.join(ACQ_FUNCS)}, got {acq_func!r}")
        self._space = space
        self._n_initial_points = n_initial_points
        self._acq_func = acq_func
        self._constant_liar = constant_liar
        self._seed = seed
        self._independent_sampler = RandomSampler(seed=seed)

    def reseed_rng(self) -> None:
        self._seed = None
        self._independent_sampler.reseed_rng()

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return {name: d for name, d in self._space.distributions().items() if not d.single()}

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        points, values = self._observations(study, trial)
        optimizer = self._optimizer(trial.number)
        with warnings.catch_warnings():  # "The objective has been evaluated at point ... before"
            warnings.simplefilter("ignore", UserWarning)
            if points:
                optimizer.tell(points, values)
            point = optimizer.ask()
        params = self._space.params_from_skopt(point)
        return {name: value for name, value in params.items() if name in search_space}

    def sample_independent(
        self, study: optuna.Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        return self._independent_sampler.sample_independent(study, trial, param_name, param_distribution)

    # -- helpers ----------------------------------------------------------------------------
    def _optimizer(self, trial_number: int) -> Any:
        import skopt

        random_state = None if self._seed is None else int(np.random.SeedSequence([self._seed, trial_number]).generate_state(1)[0])
        return skopt.Optimizer(
            self._space.skopt_dimensions(),
            base_estimator="GP",
            n_initial_points=self._n_initial_points,
            acq_func=self._acq_func,
            random_state=random_state,
        )

    def _observations(self, study: optuna.Study, current: FrozenTrial) -> tuple[list[list[Any]], list[float]]:
        """Points and values (to minimise) of the finished trials, plus running ones as liars."""
        sign = -1.0 if study.direction == StudyDirection.MAXIMIZE else 1.0
        names = self._space.names
        states = (TrialState.COMPLETE, TrialState.RUNNING) if self._constant_liar else (TrialState.COMPLETE,)
        points: list[list[Any]] = []
        values: list[float] = []
        running: list[list[Any]] = []
        for t in study.get_trials(deepcopy=False, states=states):
            if t.number == current.number or any(n not in t.params for n in names):
                continue
            point = self._space.skopt_from_params(t.params)
            if t.state == TrialState.COMPLETE and t.value is not None and np.isfinite(t.value):
                points.append(point)
                values.append(sign * float(t.value))
            elif t.state == TrialState.RUNNING:
                running.append(point)
        if running and values:
            points += running
            values += [max(values)] * len(running)
        return points, values

    def after_trial(
        self, study: optuna.Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        self._independent_sampler.after_trial(study, trial, state, values)
