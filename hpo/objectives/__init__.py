"""Objectives and training of the tunable models (:mod:`hpo.models`: ANN, RF, BDT and plug-ins).

>>> from hpo.objectives import build_objective
>>> objective = build_objective("rf", data, load_space("rf"), metric="auc")
>>> study.optimize(objective, n_trials=20)

TensorFlow is imported only when an ANN is built, so random-forest runs never load it. Call
:func:`limit_threads` at the start of each parallel worker.
"""

from __future__ import annotations

from hpo.objectives.base import FitResult, backend, loss_weights
from hpo.objectives.objective import Objective, build_objective
from hpo.objectives.scoring import METRICS_HELP, Scorer, make_scorer
from hpo.objectives.threads import limit_threads, thread_limit
from hpo.objectives.training import EXERCISE_PARAMS, TrainedModel, load_model, train_model

__all__ = [
    "EXERCISE_PARAMS",
    "METRICS_HELP",
    "FitResult",
    "Objective",
    "Scorer",
    "TrainedModel",
    "backend",
    "build_objective",
    "limit_threads",
    "load_model",
    "loss_weights",
    "make_scorer",
    "thread_limit",
    "train_model",
]
