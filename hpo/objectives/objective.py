"""The Optuna objective: suggest a configuration, fit it, score it on the validation split."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from hpo import metrics
from hpo.data.prepared import PreparedDataset, Split
from hpo.errors import UsageError
from hpo.fidelity import check_cv, check_rungs, rung_steps
from hpo.models import Model, check_missing_values, model_ref
from hpo.models.registry import ModelLike
from hpo.objectives.base import Reporter, backend
from hpo.objectives.fidelity import cv_folds, rung_indices
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

    With ``rungs`` (fractions of the training events, :mod:`hpo.fidelity`), the configuration is
    trained anew on each rung's events and scored on the whole validation split; while it trains,
    the model's early stopping watches the same fraction of the validation events (nested and
    stratified like the rungs), so a low rung costs its share of the validation too. Only the rung
    ends are reported (at steps 1, 3, 9 for 1/9, 1/3, 1), and the trial records ``rung`` (index of
    the last rung trained), ``events`` (its training events) and ``rung_scores``. With ``cv`` = K,
    the configuration is trained on K-1 folds of train+validation and scored on the K-th, K times;
    the value is the mean of the fold scores, reported after fold k at step k as the running mean
    (``fold_scores``: each fold's own score, for the Wilcoxon pruner), and the trial records
    ``cv_scores``, ``cv_std`` and ``val_auc`` (mean fold AUC).
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
        rungs: Sequence[float] = (),
        cv: int = 0,
        fold_scores: bool = False,
    ) -> None:
        model = model_ref(model)
        backend(model)  # validates the reference
        if space.model != model:
            raise UsageError(f"search space {space.source} is for model {space.model!r}, not {model!r}")
        space.check_complete()
        if not isinstance(threads, int) or threads < 1:
            raise UsageError(f"threads must be a positive integer, got {threads!r}")
        rungs = [float(f) for f in check_rungs(rungs)] if rungs else []
        check_cv(cv)
        if rungs and cv:
            raise UsageError("rungs and cross-validation folds cannot be combined")
        check_missing_values(model, data, space)
        self.model = model
        self.data = data
        self.space = space
        self.metric = metric
        self.scorer = make_scorer(metric, b_reg=data.b_reg)
        self.prune = prune
        self.threads = threads
        self.seed = seed
        self.rungs = rungs
        self.cv = cv
        self.fold_scores = fold_scores

    @property
    def backend(self) -> Model:
        """The model object that fits (looked up on use, so the objective pickles for workers)."""
        return backend(self.model)

    def __call__(self, trial: optuna.trial.Trial) -> float:
        config = self.space.configuration(self.space.suggest(trial))
        view = self.backend.missing_view(config)
        train, val = self.data.split("train", view), self.data.split("val", view)
        if self.rungs:
            return self._rungs(trial, config, train, val)
        if self.cv:
            return self._folds(trial, config, train, val)
        fraction = len(val) / len(self.data.table)

        def report(step: int, val_scores: np.ndarray) -> None:
            trial.report(self.scorer(val, val_scores, fraction), step)
            self._maybe_prune(trial, f"pruned at step {step}")

        return self._fit_and_score(trial, config, train, val, report, {})[0]

    def _fit_and_score(
        self,
        trial: optuna.trial.Trial,
        config: dict[str, Any],
        train: Split,
        val: Split,
        report: Reporter | None,
        attrs: dict[str, Any],
        watched: Split | None = None,
    ) -> tuple[float, dict[str, Any]]:
        """Fit on ``train``, watching ``watched`` (default ``val``) for early stopping; record the scores on
        ``val`` and the attributes; the validation score (NaN if diverged) and the attributes."""
        fit = self.backend.fit(
            config,
            train,
            val if watched is None else watched,
            threads=self.threads,
            seed=self.seed + trial.number,
            staged=self.prune and report is not None,
            report=report,
        )
        train_scores = self.backend.predict(fit.estimator, train.X)
        val_scores = self.backend.predict(fit.estimator, val.X)
        attrs = {"fit_time_s": round(fit.fit_time_s, 4), **fit.attrs, **attrs}
        if not (np.all(np.isfinite(train_scores)) and np.all(np.isfinite(val_scores))):
            attrs["failure"] = "non-finite model outputs (training diverged)"
            _set_attrs(trial, attrs)
            return math.nan, attrs
        attrs["train_auc"] = metrics.roc_auc(train.y, train_scores, train.w)
        attrs["val_auc"] = metrics.roc_auc(val.y, val_scores, val.w)
        attrs["overtraining_gap"] = attrs["train_auc"] - attrs["val_auc"]
        _set_attrs(trial, attrs)
        value = attrs["val_auc"] if self.metric == "auc" else self.scorer(val, val_scores, len(val) / len(self.data.table))
        return value, attrs

    def _rungs(self, trial: optuna.trial.Trial, config: dict[str, Any], train: Split, val: Split) -> float:
        """Train on each rung's events in turn; report at the rung ends; the last rung's score is the value."""
        scores: list[float] = []
        last = len(self.rungs) - 1
        train_rungs = rung_indices(train.y, self.rungs, self.seed)
        val_rungs = rung_indices(val.y, self.rungs, self.seed)
        for rung, (index, step) in enumerate(zip(train_rungs, rung_steps(self.rungs))):
            attrs = {"rung": rung, "events": int(len(index))}
            watched = val if rung == last else val.take(val_rungs[rung])
            value = self._fit_and_score(trial, config, train.take(index), val, None, attrs, watched)[0]
            if math.isnan(value):
                return value
            scores.append(value)
            trial.set_user_attr("rung_scores", scores)
            trial.report(value, step)
            if rung < last:  # the full budget is spent: its score is the trial's value, not a reason to stop
                self._maybe_prune(trial, f"pruned at rung {rung} ({len(index)} training events)")
        return scores[-1]

    def _folds(self, trial: optuna.trial.Trial, config: dict[str, Any], train: Split, val: Split) -> float:
        """Score each fold in turn; report after each; the mean of the fold scores is the value."""
        scores: list[float] = []
        folds: list[dict[str, Any]] = []
        for k, (fit_events, held) in enumerate(cv_folds(train, val, self.cv, self.seed), start=1):
            value, attrs = self._fit_and_score(trial, config, fit_events, held, None, {})
            if math.isnan(value):
                return value
            scores.append(value)
            folds.append(attrs)
            _set_attrs(trial, {"cv_scores": scores})
            trial.report(value if self.fold_scores else float(np.mean(scores)), k)
            if k < self.cv:
                self._maybe_prune(trial, f"pruned after fold {k} of {self.cv}")
        mean = {key: float(np.mean([f[key] for f in folds])) for key in ("train_auc", "val_auc", "overtraining_gap")}
        _set_attrs(trial, {**mean, "cv_std": float(np.std(scores)), "fit_time_s": round(sum(f["fit_time_s"] for f in folds), 4)})
        return float(np.mean(scores))

    def _maybe_prune(self, trial: optuna.trial.Trial, why: str) -> None:
        import optuna

        if self.prune and trial.should_prune():
            raise optuna.TrialPruned(why)


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
    rungs: Sequence[float] = (),
    cv: int = 0,
    fold_scores: bool = False,
) -> Objective:
    """The objective that tunes ``model`` over ``space`` on ``data``; see :class:`Objective`.

    ``metric``: ``auc`` (weighted ROC AUC, default), ``ams`` (best AMS over cuts, physical
    weights scaled to the full sample) or ``sig_eff@B`` (signal efficiency at background
    efficiency B). ``threads`` caps the forest's ``n_jobs`` and TensorFlow's thread pools;
    trial ``n`` is seeded with ``seed + n``. ``rungs``, ``cv`` and ``fold_scores``: multi-fidelity
    rungs or cross-validation folds, as in :class:`Objective`; both fixed by ``seed``.
    """
    return Objective(model, data, space, metric=metric, prune=prune, threads=threads, seed=seed, rungs=rungs, cv=cv, fold_scores=fold_scores)
