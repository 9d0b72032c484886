"""The tunable models: the :class:`Model` interface, the built-in models and plug-ins.

Built in: ``ann`` (Keras dense network), ``rf`` (random forest on scikit-learn or XGBoost) and
``bdt`` (XGBoost boosted decision trees). A model of your own is a :class:`Model` subclass; give
it to ``hpo run --model package.module:Class`` (or to :func:`hpo.drivers.run` as the class), or
register it under a name in the ``hpo.models`` entry-point group of your package::

    [project.entry-points."hpo.models"]
    adaboost = "mypkg.models:AdaBoost"

>>> from hpo.models import get_model
>>> bdt = get_model("bdt")
>>> fit = bdt.fit(config, data.train, data.val, threads=2)
>>> scores = bdt.predict(fit.estimator, data.test.X)

XGBoost, TensorFlow and the plug-ins are imported only when their model is asked for.
"""

from __future__ import annotations

from hpo.models.base import FitResult, Model, Reporter, loss_weights
from hpo.models.checks import check_missing_values, check_plugin, default_space, features_with_missing
from hpo.models.registry import (
    BUILTIN,
    ENTRY_POINT_GROUP,
    available_models,
    clear_cache,
    code_differences,
    get_model,
    is_builtin,
    model_code,
    model_ref,
    model_schema,
)
from hpo.spaces.models import Accepts

__all__ = [
    "BUILTIN",
    "ENTRY_POINT_GROUP",
    "Accepts",
    "FitResult",
    "Model",
    "Reporter",
    "available_models",
    "check_missing_values",
    "check_plugin",
    "clear_cache",
    "code_differences",
    "default_space",
    "features_with_missing",
    "get_model",
    "loss_weights",
    "is_builtin",
    "model_code",
    "model_ref",
    "model_schema",
]
