"""Every algorithm a study can run: Optuna samplers (:mod:`hpo.samplers`) and KerasTuner
searches (:mod:`hpo.tuners`), checked by one name lookup."""

from __future__ import annotations

from hpo.errors import UsageError
from hpo.options import ALGORITHMS


def check_algorithm(algo: str) -> str:
    """``algo`` if it names an algorithm, else a :class:`UsageError` listing the valid ones."""
    if algo not in ALGORITHMS:
        raise UsageError(f"unknown algorithm {algo!r}; choose one of {', '.join(ALGORITHMS)}")
    return algo
