"""A KerasTuner search whose every finished trial becomes a trial of the Optuna study.

KerasTuner's oracle (Hyperband or Gaussian-process Bayesian optimisation) proposes the values;
:class:`StudyTuner` trains and scores them with hpo's own ANN objective (the same network,
weights, early stopping and validation score as every other algorithm) and adds the result to
the study: parameters in the space's Optuna distributions, the value, the validation score per
epoch as intermediate values, the objective's user attributes and the KerasTuner bookkeeping
(``kt_trial_id``, and for Hyperband ``kt_epochs``, ``kt_bracket``, ``kt_round``).

KerasTuner keeps its own state (oracle, one folder per trial) under
``<hpo home>/<study>/kerastuner/`` and continues from it when the study is resumed
(``overwrite=False``): a trial it had started but not finished is run again, and a trial that
already reached the store is not trained twice.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import keras_tuner
import optuna
from keras_tuner.engine.base_tuner import BaseTuner
from optuna.trial import FrozenTrial, TrialState

from hpo import paths
from hpo.data.prepared import PreparedDataset
from hpo.drivers.config import StudyConfig
from hpo.errors import HpoError, StoreError, UsageError
from hpo.spaces import SearchSpace
from hpo.tuners.hyperparameters import kt_hyperparameters, params_from_kt

#: Name of the score KerasTuner maximises (the study's metric).
OBJECTIVE = "score"
#: Folder of KerasTuner's files inside ``<hpo home>/<study>/``.
PROJECT = "kerastuner"
#: Bookkeeping values of Hyperband trials, recorded as user attributes under these names.
_TUNER_ENTRIES = {"tuner/epochs": "kt_epochs", "tuner/bracket": "kt_bracket", "tuner/round": "kt_round"}

ObjectiveFactory = Callable[..., Callable[[optuna.trial.BaseTrial], float]]


def working_dir(study_name: str) -> Path:
    """Where KerasTuner keeps the files of study ``study_name``."""
    return paths.study_dir(study_name) / PROJECT


def make_oracle(config: StudyConfig) -> keras_tuner.Oracle:
    """The KerasTuner oracle of ``config.algo`` over the study's space, stopping at its target.

    ``kt-hyperband`` brackets run from 1 epoch up to the space's ``epochs`` setting and repeat
    until the target number of trials is reached; ``config.sampler_options`` go to the oracle
    (e.g. ``factor`` for Hyperband, ``num_initial_points``, ``alpha``, ``beta`` for Bayes).
    """
    space = config.search_space()
    common = {
        "objective": keras_tuner.Objective(OBJECTIVE, direction="max"),
        "hyperparameters": kt_hyperparameters(space),
        "allow_new_entries": False,
        "seed": config.seed + 1,  # KerasTuner draws a random seed for 0
        "max_consecutive_failed_trials": sys.maxsize,  # failed trials never end a study (as with Optuna)
        **config.sampler_options,
    }
    try:
        if config.algo == "kt-hyperband":
            epochs = int(space.configuration({})["epochs"])
            oracle = keras_tuner.oracles.HyperbandOracle(max_epochs=epochs, hyperband_iterations=None, **common)
        elif config.algo == "kt-bayes":
            oracle = keras_tuner.oracles.BayesianOptimizationOracle(max_trials=config.target_trials, **common)
        else:
            raise UsageError(f"{config.algo!r} is not a KerasTuner algorithm")
    except (TypeError, ValueError) as err:
        raise UsageError(f"invalid option for the {config.algo} tuner: {err}") from None
    oracle.max_trials = config.target_trials  # Hyperband's own budget is in brackets; stop at the target
    return oracle


class _RecordingTrial(optuna.trial.FixedTrial):
    """A fixed-parameter trial that keeps what the objective reports per epoch."""

    def __init__(self, params: dict[str, Any], number: int) -> None:
        super().__init__(params, number)
        self.intermediate_values: dict[int, float] = {}

    def report(self, value: float, step: int) -> None:
        self.intermediate_values[int(step)] = float(value)


class _Stop(keras_tuner.errors.FatalError):
    """A user mistake (:class:`HpoError`) inside a trial: KerasTuner must stop, not retry."""


class StudyTuner(BaseTuner):
    """A KerasTuner tuner that runs hpo's objective and writes each finished trial into ``study``."""

    def __init__(
        self,
        oracle: keras_tuner.Oracle,
        study: optuna.Study,
        config: StudyConfig,
        data: PreparedDataset,
        *,
        threads: int = 1,
        objective_factory: ObjectiveFactory | None = None,
        on_trial_done: Callable[[], None] | None = None,
    ) -> None:
        recorded = {t.user_attrs["kt_trial_id"]: t for t in study.get_trials(deepcopy=False) if "kt_trial_id" in t.user_attrs}
        folder = working_dir(study.study_name)
        if recorded and not (folder / "oracle.json").is_file():
            raise StoreError(
                f"study {study.study_name!r} has {len(recorded)} KerasTuner trials but KerasTuner's files are missing "
                f"from {folder}; resume it on the machine (or hpo home) that ran it"
            )
        self.study = study
        self.config = config
        self.space = config.search_space()
        self.data = data
        self.threads = threads
        self.objective_factory = objective_factory
        self.on_trial_done = on_trial_done
        self.recorded = recorded
        with _quiet():  # "Reloading Tuner from ..."
            super().__init__(oracle, directory=str(folder.parent), project_name=PROJECT, overwrite=not recorded)
        self.oracle.max_trials = config.target_trials  # reloading keeps the oracle's state, not its target

    def run_trial(self, trial: keras_tuner.engine.trial.Trial, *args: Any, **kwargs: Any) -> dict[str, float]:
        """Train and score ``trial``'s values, add the outcome to the study and return the score."""
        known = self.recorded.get(trial.trial_id)
        if known is not None:  # in the store already: the tuner stopped before it saved its own state
            return self._outcome(known)
        values = dict(trial.hyperparameters.values)
        params = params_from_kt(self.space, values)
        space = self.space
        if "tuner/epochs" in values:  # a Hyperband round trains for its own epoch budget
            space = space.with_overrides({"epochs": int(values["tuner/epochs"])})
        attrs: dict[str, Any] = {
            "worker": f"{socket.gethostname()}:{os.getpid()}",
            "kt_trial_id": trial.trial_id,
            **{attr: values[key] for key, attr in _TUNER_ENTRIES.items() if key in values},
        }
        fixed = _RecordingTrial(params, int(trial.trial_id))
        start = dt.datetime.now()
        try:
            value = self._objective(space)(fixed)
        except HpoError as err:
            raise _Stop(str(err)) from err
        except Exception as err:  # noqa: BLE001 - a failed trial is recorded and the search goes on
            attrs["error"] = f"{type(err).__name__}: {err}"[:500]
            value = math.nan
        attrs = {**fixed.user_attrs, **attrs}
        frozen = self._record(params, value, attrs, fixed.intermediate_values, start)
        return self._outcome(frozen)

    def on_trial_end(self, trial: keras_tuner.engine.trial.Trial) -> None:
        super().on_trial_end(trial)
        if self.on_trial_done is not None:
            self.on_trial_done()

    def _objective(self, space: SearchSpace) -> Callable[[optuna.trial.BaseTrial], float]:
        factory = self.objective_factory
        if factory is None:
            from hpo.objectives import build_objective as factory
        c = self.config
        return factory(c.model, self.data, space, metric=c.metric, prune=False, threads=self.threads, seed=c.seed)

    def _record(self, params: dict[str, Any], value: float, attrs: dict[str, Any], steps: dict[int, float], start: dt.datetime) -> FrozenTrial:
        """Add one finished trial to the study: COMPLETE with a finite value, else FAIL."""
        complete = math.isfinite(value)
        frozen = FrozenTrial(
            number=-1,  # assigned by the store
            trial_id=-1,
            state=TrialState.COMPLETE if complete else TrialState.FAIL,
            value=float(value) if complete else None,
            datetime_start=start,
            datetime_complete=dt.datetime.now(),
            params=params,
            distributions=self.space.distributions(),
            user_attrs=attrs,
            system_attrs={},
            intermediate_values={k: v for k, v in steps.items() if math.isfinite(v)},
        )
        self.study.add_trial(frozen)
        self.recorded[attrs["kt_trial_id"]] = frozen
        return frozen

    @staticmethod
    def _outcome(frozen: FrozenTrial) -> dict[str, float]:
        if frozen.state != TrialState.COMPLETE:
            reason = frozen.user_attrs.get("error") or frozen.user_attrs.get("failure") or "no finite score"
            raise keras_tuner.errors.FailedTrialError(reason)  # failed, not retried: the store counts it once
        return {OBJECTIVE: float(frozen.value)}


def search(
    study: optuna.Study,
    config: StudyConfig,
    data: PreparedDataset,
    *,
    threads: int = 1,
    objective_factory: ObjectiveFactory | None = None,
    on_trial_done: Callable[[], None] | None = None,
) -> None:
    """Run (or continue) the KerasTuner search of ``study`` until it has ``config.target_trials`` trials."""
    tuner = StudyTuner(
        make_oracle(config), study, config, data, threads=threads, objective_factory=objective_factory, on_trial_done=on_trial_done
    )
    try:
        with _quiet():  # KerasTuner's per-trial tables; the progress bar shows progress
            tuner.search(verbose=0)
    except _Stop as stop:
        raise stop.__cause__ from None


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """KerasTuner prints to stdout; hpo's output there is its own summary only."""
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        yield
