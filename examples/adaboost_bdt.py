"""A model of your own in hpo: scikit-learn's AdaBoost BDT, the classic TMVA-style classifier.

Tune it with every hpo command, from the checkout's root (the current directory is searched)::

    hpo run --model examples.adaboost_bdt:AdaBoostBDT --algo tpe --trials 20 --prune median
    hpo resume adaboostbdt-tpe-<hash> --trials 40
    hpo best adaboostbdt-tpe-<hash>
    hpo report adaboostbdt-tpe-<hash>

or register it under a name in your package's ``pyproject.toml`` and use ``--model adaboost``::

    [project.entry-points."hpo.models"]
    adaboost = "mypkg.adaboost_bdt:AdaBoostBDT"

Only :meth:`build` is required; :meth:`fit` is written here to report the validation scores as
the boosting proceeds, so that ``--prune`` can stop bad trials early. Saving, loading, scoring and
importances use :class:`hpo.models.Model`'s defaults for scikit-learn classifiers (joblib,
``predict_proba``, ``feature_importances_``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.ensemble import AdaBoostClassifier
from sklearn.tree import DecisionTreeClassifier

from hpo.data.prepared import Split
from hpo.models import Accepts, FitResult, Model, Reporter, loss_weights

__version__ = "1.0"


class AdaBoostBDT(Model):
    """AdaBoost (SAMME) over shallow decision trees, fitted with event weights."""

    hyperparameters = {
        "n_estimators": Accepts(int, 1, 10_000, doc="boosting rounds"),
        "learning_rate": Accepts(float, 0, 10, low_open=True, doc="weight of each tree"),
        "max_depth": Accepts(int, 1, 32, doc="depth of each tree"),
        "min_samples_leaf": Accepts(float, 0, 0.5, low_open=True, doc="smallest leaf, as a fraction of the events"),
    }
    settings = {
        "report_stages": Accepts(int, 1, 1000, default=4, doc="validation scores reported during the boosting"),
    }
    space = {
        "description": "scikit-learn AdaBoost BDT (TMVA-style)",
        "params": {
            "n_estimators": {"type": "int", "low": 20, "high": 400, "log": True},
            "learning_rate": {"type": "float", "low": 0.05, "high": 1.0, "log": True},
            "max_depth": {"type": "int", "low": 1, "high": 4},
            "min_samples_leaf": {"type": "float", "low": 0.001, "high": 0.05, "log": True},
        },
        "fixed": {"report_stages": 4},
    }

    def build(self, config: Mapping[str, Any], n_features: int, *, threads: int = 1, seed: int = 0) -> AdaBoostClassifier:
        tree = DecisionTreeClassifier(max_depth=int(config["max_depth"]), min_samples_leaf=float(config["min_samples_leaf"]), random_state=seed)
        return AdaBoostClassifier(tree, n_estimators=int(config["n_estimators"]), learning_rate=float(config["learning_rate"]), random_state=seed)

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
        booster = self.build(config, train.X.shape[1], threads=threads, seed=seed)
        start = time.perf_counter()
        booster.fit(train.X, train.y, sample_weight=loss_weights(train.w_train))
        elapsed = time.perf_counter() - start
        if report is not None and val is not None:
            rounds = len(booster.estimators_)
            steps = set(np.linspace(0, rounds, int(config["report_stages"]) + 1, dtype=int)[1:]) if staged else {rounds}
            for i, proba in enumerate(booster.staged_predict_proba(val.X), start=1):
                if i in steps:
                    report(i, proba[:, 1])
        return FitResult(booster, elapsed, {"n_estimators": len(booster.estimators_)})
