"""The random forest, fitted with event weights, on one of two engines chosen by the ``engine`` setting.

``sklearn`` (the default, the exercise's): scikit-learn's ``RandomForestClassifier``, optionally
grown in stages with ``warm_start`` so that a pruner can stop it, saved with joblib.

``xgboost``: XGBoost's histogram random forest (one boosting round of ``n_estimators`` parallel
trees, learning rate 1), an order of magnitude faster and NaN-tolerant, saved in XGBoost's format.
The hyperparameters map where they exist:

=====================  ======================================================================
``n_estimators``       ``num_parallel_tree``
``max_depth``          ``max_depth``
``max_features``       ``colsample_bynode`` (a count is divided by the number of inputs)
``bootstrap``          ``subsample`` 0.632 (the share of distinct events in a bootstrap sample,
                       drawn without replacement) if true, else 1
``min_samples_leaf``   ``min_child_weight`` = 0.25 x ``min_samples_leaf``: the hessian of an
                       event of weight 1 at the balanced start p = 0.5 is p(1 - p) = 0.25
``criterion``          not used: XGBoost splits on the second-order gain of the log-loss
``min_samples_split``  not used: XGBoost has no such limit
=====================  ======================================================================

The XGBoost forest grows in one step, so it reports its validation scores once, at the end.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hpo.data.prepared import Split
from hpo.models import boosters
from hpo.models.base import FitResult, Model, Reporter, load_joblib, loss_weights, save_joblib
from hpo.spaces.models import RF as SCHEMA

if TYPE_CHECKING:  # scikit-learn is imported when a forest is built: checking a space needs only the schema
    from sklearn.ensemble import RandomForestClassifier

#: Share of distinct events in a bootstrap sample of n events (1 - 1/e), for ``bootstrap`` on XGBoost.
BOOTSTRAP_SUBSAMPLE = 0.632
#: Hessian of the log-loss of an event of weight 1 at p = 0.5, for ``min_samples_leaf`` on XGBoost.
HESSIAN_AT_HALF = 0.25


def max_features(value: int | float, n_features: int) -> int | float:
    """sklearn's ``max_features`` for ``value``: an int counts features and is clipped to the inputs;
    a float up to 1 is a fraction of them (above 1 it is read as a count)."""
    if isinstance(value, (int, np.integer)) or value > 1.0:
        return int(max(1, min(round(value), n_features)))
    return float(value)


def build_forest(config: Mapping[str, Any], n_features: int, *, threads: int = 1, seed: int = 0) -> RandomForestClassifier:
    """An unfitted scikit-learn forest for ``config`` (the space's parameters plus settings)."""
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(
        n_estimators=int(config["n_estimators"]),
        criterion=config["criterion"],
        max_depth=int(config["max_depth"]),
        min_samples_leaf=int(config["min_samples_leaf"]),
        min_samples_split=int(config["min_samples_split"]),
        max_features=max_features(config["max_features"], n_features),
        bootstrap=bool(config["bootstrap"]),
        n_jobs=threads,
        random_state=seed,
    )


def xgboost_params(config: Mapping[str, Any], n_features: int, *, threads: int = 1, seed: int = 0) -> dict[str, Any]:
    """XGBoost's random-forest parameters for ``config`` (see the module's mapping table)."""
    features = max_features(config["max_features"], n_features)
    return {
        "objective": "binary:logistic",
        "tree_method": "hist",
        "num_parallel_tree": int(config["n_estimators"]),
        "learning_rate": 1.0,
        "max_depth": int(config["max_depth"]),
        "min_child_weight": HESSIAN_AT_HALF * int(config["min_samples_leaf"]),
        "colsample_bynode": features / n_features if isinstance(features, int) else features,
        "subsample": BOOTSTRAP_SUBSAMPLE if config["bootstrap"] else 1.0,
        "reg_lambda": 1e-5,  # as XGBRFClassifier: the leaves are averages, hardly shrunk
        "nthread": threads,
        "seed": seed,
        "verbosity": 0,
    }


def stages(n_estimators: int, n_stages: int) -> list[int]:
    """Forest sizes after each growth stage, ending at ``n_estimators``."""
    sizes = np.ceil(np.linspace(0, n_estimators, n_stages + 1)[1:]).astype(int)
    return sorted({int(s) for s in sizes if s > 0})


class RandomForest(Model):
    """The random forest (``--model rf``) on scikit-learn (default) or XGBoost (``engine: xgboost``)."""

    hyperparameters = SCHEMA.tunable
    settings = SCHEMA.settings
    fill_missing = "value"  # scikit-learn's forest sees the stated value (the marker) and an indicator column

    def build(self, config: Mapping[str, Any], n_features: int, *, threads: int = 1, seed: int = 0) -> Any:
        """The unfitted scikit-learn forest, or the XGBoost forest's training parameters."""
        if config.get("engine", "sklearn") == "xgboost":
            return xgboost_params(config, n_features, threads=threads, seed=seed)
        return build_forest(config, n_features, threads=threads, seed=seed)

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
        """Fit a forest on ``train`` with ``w_train`` (rescaled to mean 1) as sample weights.

        scikit-learn engine with ``staged``: the forest grows with ``warm_start`` in
        ``prune_stages`` stages; after each stage (or once at the end otherwise) ``report`` gets
        the trees grown and the ``val`` scores. The XGBoost engine reports once, at the end.
        """
        if config.get("engine", "sklearn") == "xgboost":
            return self._fit_xgboost(config, train, val, threads=threads, seed=seed, report=report)
        forest = build_forest(config, train.X.shape[1], threads=threads, seed=seed)
        weights = loss_weights(train.w_train)
        sizes = stages(forest.n_estimators, int(config.get("prune_stages", 1))) if staged else [forest.n_estimators]
        forest.set_params(warm_start=len(sizes) > 1)
        start = time.perf_counter()
        for size in sizes:
            forest.set_params(n_estimators=size)
            forest.fit(train.X, train.y, sample_weight=weights)
            if report is not None and val is not None:
                report(size, self.predict(forest, val.X))
        forest.set_params(warm_start=False)
        elapsed = time.perf_counter() - start
        n_nodes = sum(int(tree.tree_.node_count) for tree in forest.estimators_)
        return FitResult(forest, elapsed, {"n_estimators": len(forest.estimators_), "n_params": n_nodes})

    def _fit_xgboost(
        self, config: Mapping[str, Any], train: Split, val: Split | None, *, threads: int, seed: int, report: Reporter | None
    ) -> FitResult:
        import xgboost

        params = xgboost_params(config, train.X.shape[1], threads=threads, seed=seed)
        start = time.perf_counter()
        dtrain, _ = boosters.training_matrices(train, None)
        booster = xgboost.train(params, dtrain, num_boost_round=1, verbose_eval=False)
        elapsed = time.perf_counter() - start
        if report is not None and val is not None:
            report(params["num_parallel_tree"], self.predict(booster, val.X))
        return FitResult(booster, elapsed, {"n_estimators": params["num_parallel_tree"], "n_params": boosters.n_nodes(booster)})

    def predict(self, estimator: Any, X: np.ndarray) -> np.ndarray:
        """Signal probability of each row of ``X``."""
        if boosters.is_booster(estimator):
            return boosters.predict(estimator, X)
        return super().predict(estimator, X)

    def feature_importances(self, estimator: Any) -> np.ndarray | None:
        """Mean decrease in impurity (scikit-learn) or share of the split gain (XGBoost) of each input."""
        if boosters.is_booster(estimator):
            return boosters.importances(estimator)
        return np.asarray(estimator.feature_importances_, dtype=np.float64)

    def save(self, estimator: Any, folder: Path) -> Path:
        """``model.joblib`` for a scikit-learn forest, ``model.ubj`` (XGBoost's format) for an XGBoost one."""
        return boosters.save(estimator, folder) if boosters.is_booster(estimator) else save_joblib(estimator, folder)

    def load(self, folder: Path, *, threads: int = 1) -> Any:
        """Read a forest written by :meth:`save` (a joblib pickle only from a trusted source)."""
        if (folder / boosters.FILE).is_file():
            return boosters.load(folder, threads=threads)
        return load_joblib(folder)

    def handles_missing(self, config: Mapping[str, Any]) -> bool:
        """Only the XGBoost engine takes NaN inputs."""
        return config.get("engine", "sklearn") == "xgboost"
