"""The Optuna objective: suggest a configuration, fit it, score it on the validation split."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from hpo import metrics
from hpo.data.prepared import PreparedDataset
from hpo.errors import UsageError
from hpo.models import Model, check_missing_values, model_ref
from hpo.models.registry import ModelLike
from hpo.objectives.base import backend
from hpo.objectives.scoring import make_scorer
from hpo.spaces.space import SearchSpace

if TYPE_CHECKING:
    import optuna


class Objective:
    """Callable ``(trial) -> validation score`` (higher is better) for one model, dataset and space.

    ``model`` is a built-in name, a plug-in reference (``package.module:Class`` or an entry-point
    name) or a :class:`~hpo.models.Model` class or instance from an importable module.

    Each trial stores the user attributes ``train_auc``, ``val_auc``, ``overtraining_gap``
    (train minus validation AUC), ``fit_time_s`` and what the model's fit adds: ``n_params``
    (ANN weights; tree nodes), ``epochs``/``best_epoch``/``hidden_units`` (ANN), ``n_estimators``
    (RF trees; BDT rounds kept) and ``rounds_trained`` (BDT). The model reports validation scores
    as it trains (ANN: every epoch; RF: every growth stage; BDT: every ``report_every`` rounds);
    with ``prune`` the trial is stopped with :class:`optuna.TrialPruned` when the study's pruner
    says so. Inputs with NaN are refused for a model that cannot take them. A configuration
    whose outputs are not finite (diverged training) records ``failure`` and returns NaN, which
    Optuna counts as a failed trial.
    """

    def __init__(
        self,
        model: ModelLike,
        data: PreparedDataset,
        space: SearchSpace,
        *,
        metric: str = "auc",
        prune: bool = False,
        threads: int = 1,
        seed: int = 0,
    ) -> None:
        model = model_ref(model)
        backend(model)  # validates the reference
        if space.model != model:
            raise UsageError(f"search space {space.source} is for model {space.model!r}, not {model!r}")
        space.check_complete()
        if not isinstance(threads, int) or threads < 1:
            raise UsageError(f"threads must be a positive integer, got {threads!r}")
        check_missing_values(model, data, space)
        self.model = model
        self.data = data
        self.space = space
        self.metric = metric
        self.scorer = make_scorer(metric, b_reg=data.b_reg)
        self.prune = prune
        self.threads = threads
        self.seed = seed

    @property
    def backend(self) -> Model:
        """The model object that fits (looked up on use, so the objective pickles for workers)."""
        return backend(self.model)

    def __call__(self, trial: optuna.trial.Trial) -> float:
        import optuna

        config = self.space.configuration(self.space.suggest(trial))
        view = self.backend.missing_view(config)
        train, val = self.data.split("train", view), self.data.split("val", view)
        fraction = len(val) / len(self.data.table)

        def report(step: int, val_scores: np.ndarray) -> None:
            trial.report(self.scorer(val, val_scores, fraction), step)
            if self.prune and trial.should_prune():
                raise optuna.TrialPruned(f"pruned at step {step}")

        fit = self.backend.fit(
            config, train, val, threads=self.threads, seed=self.seed + trial.number, staged=self.prune, report=report
        )
        train_scores = self.backend.predict(fit.estimator, train.X)
        val_scores = self.backend.predict(fit.estimator, val.X)
        attrs: dict[str, Any] = {"fit_time_s": round(fit.fit_time_s, 4), **fit.attrs}
        if not (np.all(np.isfinite(train_scores)) and np.all(np.isfinite(val_scores))):
            attrs["failure"] = "non-finite model outputs (training diverged)"
            _set_attrs(trial, attrs)
            return math.nan
        attrs["train_auc"] = metrics.roc_auc(train.y, train_scores, train.w)
        attrs["val_auc"] = metrics.roc_auc(val.y, val_scores, val.w)
        attrs["overtraining_gap"] = attrs["train_auc"] - attrs["val_auc"]
        _set_attrs(trial, attrs)
        return attrs["val_auc"] if self.metric == "auc" else self.scorer(val, val_scores, fraction)


def _set_attrs(trial: optuna.trial.Trial, attrs: dict[str, Any]) -> None:
    for key, value in attrs.items():
        trial.set_user_attr(key, value)


def build_objective(
    model: ModelLike,
    data: PreparedDataset,
    space: SearchSpace,
    *,
    metric: str = "auc",
    prune: bool = False,
    threads: int = 1,
    seed: int = 0,
) -> Objective:
    """The objective that tunes ``model`` over ``space`` on ``data``; see :class:`Objective`.

    ``metric``: ``auc`` (weighted ROC AUC, default), ``ams`` (best AMS over cuts, physical
    weights scaled to the full sample) or ``sig_eff@B`` (signal efficiency at background
    efficiency B). ``threads`` caps the forest's ``n_jobs`` and TensorFlow's thread pools;
    trial ``n`` is seeded with ``seed + n``.
    """
    return Objective(model, data, space, metric=metric, prune=prune, threads=threads, seed=seed)
