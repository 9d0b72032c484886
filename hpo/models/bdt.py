"""Boosted decision trees: XGBoost's histogram gradient boosting with event weights.

Training uses the event weights of the training split; the weighted log-loss on the validation
split stops the boosting after ``early_stopping_rounds`` rounds without improvement, and the
booster is cut back to its best round. Every ``report_every`` rounds the validation scores are
reported, so that a pruner can stop the trial. NaN inputs are missing values, handled natively.
The booster is saved in XGBoost's own UBJ format (``model.ubj``), not as a pickle.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from hpo.data.prepared import Split
from hpo.models import boosters
from hpo.models.base import FitResult, Model, Reporter
from hpo.spaces.models import BDT as SCHEMA

if TYPE_CHECKING:
    import xgboost


def booster_params(config: Mapping[str, Any], *, threads: int = 1, seed: int = 0) -> dict[str, Any]:
    """XGBoost's training parameters for ``config``."""
    return {
        "objective": "binary:logistic",
        "eval_metric": "logloss",
        "tree_method": "hist",
        "device": config["device"],
        "learning_rate": float(config["learning_rate"]),
        "max_depth": int(config["max_depth"]),
        "min_child_weight": float(config["min_child_weight"]),
        "subsample": float(config["subsample"]),
        "colsample_bytree": float(config["colsample_bytree"]),
        "reg_alpha": float(config["reg_alpha"]),
        "reg_lambda": float(config["reg_lambda"]),
        "gamma": float(config["gamma"]),
        "max_bin": int(config["max_bin"]),
        "nthread": threads,
        "seed": seed,
        "verbosity": 0,
    }


class BDT(Model):
    """XGBoost gradient-boosted trees (``--model bdt``)."""

    hyperparameters = SCHEMA.tunable
    settings = SCHEMA.settings
    monitors_validation: ClassVar[bool] = True

    def build(self, config: Mapping[str, Any], n_features: int, *, threads: int = 1, seed: int = 0) -> dict[str, Any]:
        """The booster's training parameters (XGBoost builds the booster while training)."""
        return booster_params(config, threads=threads, seed=seed)

    def fit(
        self,
        config: Mapping[str, Any],
        train: Split,
        val: Split | None,
        *,
        threads: int = 1,
        seed: int = 0,
        staged: bool = False,
        report: Reporter | None = None,
    ) -> FitResult:
        """Boost up to ``n_estimators`` rounds on ``train``, stopping early on ``val``'s weighted log-loss.

        ``report`` gets the rounds and the ``val`` scores every ``report_every`` rounds (and at the
        end); ``staged`` is accepted for symmetry: the booster always reports as it grows.
        """
        import xgboost

        params = self.build(config, train.X.shape[1], threads=threads, seed=seed)
        start = time.perf_counter()
        dtrain, dval = boosters.training_matrices(train, val, max_bin=int(config["max_bin"]))
        callbacks: list[xgboost.callback.TrainingCallback] = []
        patience = int(config["early_stopping_rounds"])
        if dval is not None and patience > 0:
            callbacks.append(xgboost.callback.EarlyStopping(rounds=patience, data_name="val", save_best=False))
        if report is not None and val is not None:
            callbacks.append(_reporting_callback(report, val.X, int(config["report_every"])))
        booster = xgboost.train(
            params,
            dtrain,
            num_boost_round=int(config["n_estimators"]),
            evals=[(dval, "val")] if dval is not None else (),
            callbacks=callbacks,
            verbose_eval=False,
        )
        trained = booster.num_boosted_rounds()
        best = int(booster.attr("best_iteration") or trained - 1) + 1
        if best < trained:
            booster = booster[:best]  # keep the best round's trees only
        elapsed = time.perf_counter() - start
        if report is not None and val is not None and trained < int(config["report_every"]):  # not reported yet
            report(best, self.predict(booster, val.X))
        return FitResult(booster, elapsed, {"n_estimators": best, "rounds_trained": trained, "n_params": boosters.n_nodes(booster)})

    def predict(self, estimator: xgboost.Booster, X: np.ndarray) -> np.ndarray:
        """Signal probability of each row of ``X`` (NaN entries are missing values)."""
        return boosters.predict(estimator, X)

    def feature_importances(self, estimator: xgboost.Booster) -> np.ndarray:
        """Each input's share of the total split gain."""
        return boosters.importances(estimator)

    def save(self, estimator: xgboost.Booster, folder: Path) -> Path:
        """Write the booster to ``folder/model.ubj`` (XGBoost's format)."""
        return boosters.save(estimator, folder)

    def load(self, folder: Path, *, threads: int = 1) -> xgboost.Booster:
        """Read a booster written by :meth:`save`."""
        return boosters.load(folder, threads=threads)

    def handles_missing(self, config: Mapping[str, Any]) -> bool:
        """XGBoost treats NaN as a missing value."""
        return True


def _reporting_callback(report: Reporter, X_val: np.ndarray, every: int) -> Any:
    import xgboost

    staged = boosters.StagedScores(X_val)

    class _Report(xgboost.callback.TrainingCallback):
        """Reports the validation scores every ``every`` rounds (the reporter may prune the trial)."""

        def after_iteration(self, model: xgboost.Booster, epoch: int, evals_log: dict) -> bool:
            rounds = epoch + 1
            if rounds % every == 0:
                scores = staged(model, rounds)
                if np.all(np.isfinite(scores)):
                    report(rounds, scores)
            return False

    return _Report()
