"""hpo: hyperparameter optimisation of particle-physics classifiers.

The command line (``hpo ...``) is a thin layer over this package; every command has a Python
counterpart that can be called from a notebook:

>>> import hpo
>>> data = hpo.data.prepare()                      # the synthetic default, cached under studies/
>>> study = hpo.drivers.run("ann", "bayes", data, n_trials=20)

Submodules are imported on first use so that ``import hpo`` stays fast (TensorFlow is only loaded
by the ANN objective).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = {"data", "spaces", "objectives", "samplers", "drivers", "store", "reports", "metrics"}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"hpo.{name}")
    raise AttributeError(f"module 'hpo' has no attribute {name!r}")
