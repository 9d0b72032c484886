"""A plug-in model whose validation score is fixed by its configuration and its number of training events.

It learns nothing: its signal score is a fixed sum of input columns, chosen by the hyperparameter
``k`` and by whether it trains on fewer than ``switch_events`` events. So a multi-fidelity study's
pruning is the same in any order of trials and workers (tiny dataset of ``conftest``: column 0 is
the most separating, then 1, ..., 4 the least):

- ``k`` < 6, *good*: column 0 on few events, columns 0 + 1 (better) on many;
- ``k`` >= 6 even, *early*: column 4 always (worse than good at every rung);
- ``k`` >= 6 odd, *late*: column 0 on few events (as good as good), column 4 on many.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from hpo.data.prepared import Split
from hpo.models import Accepts, FitResult, Model, Reporter

__version__ = "1.0"


class RungModel(Model):
    """Scores a fixed sum of columns; see the module docstring."""

    hyperparameters = {"k": Accepts(int, 0, 100)}
    settings = {
        "switch_events": Accepts(int, 0, 10**9, default=0),
        "sleep_s": Accepts(float, 0, 60, default=0.0),
    }
    space = {"params": {"k": {"type": "int", "low": 0, "high": 9, "values": list(range(10))}}, "fixed": {"switch_events": 0, "sleep_s": 0.0}}

    def build(self, config: Mapping[str, Any], n_features: int, *, threads: int = 1, seed: int = 0) -> Any:
        return None

    def fit(
        self, config: Mapping[str, Any], train: Split, val: Split | None, *, threads: int = 1, seed: int = 0,
        staged: bool = False, report: Reporter | None = None,
    ) -> FitResult:  # fmt: skip
        time.sleep(float(config["sleep_s"]))
        many = len(train) >= int(config["switch_events"])
        k = int(config["k"])
        weights = np.zeros(train.X.shape[1])
        if k < 6:
            weights[[0, 1] if many else [0]] = 1.0
        elif k % 2 == 0 or many:
            weights[-1] = 1.0
        else:
            weights[0] = 1.0
        if report is not None and val is not None:
            report(1, self.predict(weights, val.X))
        watched = 0 if val is None else len(val)  # the validation events it was given to watch
        return FitResult(weights, float(config["sleep_s"]), {"n_params": int(weights.sum()), "watched": watched})

    def predict(self, estimator: Any, X: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(np.asarray(X, dtype=np.float64) @ estimator)))
