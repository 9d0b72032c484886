"""What the model back-ends (:mod:`.ann`, :mod:`.rf`) share: the fit result and the lookup."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from hpo.errors import DataError, UsageError
from hpo.spaces.models import MODELS

# Called after each epoch (ANN) or stage (RF) with the step (epochs trained / trees grown) and the
# validation scores; may raise optuna.TrialPruned to stop the fit.
Reporter = Callable[[int, np.ndarray], None]


@dataclass
class FitResult:
    """A fitted estimator and what is known about its training."""

    estimator: Any
    fit_time_s: float
    attrs: dict[str, Any] = field(default_factory=dict)  # epochs / n_estimators, n_params, ...


def backend(model: str) -> ModuleType:
    """The module that fits ``model`` (imported on first use; TensorFlow only loads inside it)."""
    if model not in MODELS:
        raise UsageError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    return importlib.import_module(f"hpo.objectives.{model}")


def missing_view(model: str) -> str:
    """How absent input values reach ``model``: 'native' (NaN), 'value' or 'mean' (see :mod:`hpo.data.prepared`)."""
    return str(getattr(backend(model), "MISSING_VALUES", "mean"))


def loss_weights(w_train: np.ndarray, name: str = "training") -> np.ndarray:
    """Training weights rescaled to mean 1.

    The prepared weights sum to one per class, so single weights are ~1/n: tiny gradients for the
    ANN and a meaningless ``min_weight_fraction`` scale for trees. A common factor changes neither
    the optimum nor the ROC curve, only the numerical scale.
    """
    mean = float(np.mean(w_train)) if len(w_train) else 0.0
    if not mean > 0:
        raise DataError(f"the {name} weights have a non-positive mean ({mean:g}); check the dataset's weight policy")
    return (w_train / mean).astype(np.float64)
