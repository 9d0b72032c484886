"""A :class:`~hpo.spaces.SearchSpace` as KerasTuner hyperparameters, and KerasTuner values back.

=============================  ==========================================================
search-space parameter          KerasTuner hyperparameter
=============================  ==========================================================
``int`` (``log``, ``step``)     ``hp.Int(name, low, high, step, sampling="log"|"linear")``
``float`` (``log``, ``step``)   ``hp.Float(name, low, high, step, sampling=...)``
``categorical``                 ``hp.Choice(name, choices)`` (choices of one type)
``bool``                        ``hp.Boolean(name)``
a range with one value          ``hp.Fixed(name, value)``
=============================  ==========================================================

Values coming back are snapped to the space (types, steps, bounds) so that they lie inside the
space's Optuna distributions, as trials of every other algorithm do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hpo.errors import SpaceError
from hpo.spaces import SearchSpace

if TYPE_CHECKING:
    import keras_tuner


def declare(space: SearchSpace, hp: keras_tuner.HyperParameters) -> None:
    """Declare every searched hyperparameter of ``space`` on ``hp`` (in the space's order)."""
    for name, p in space.params.items():
        if p.type == "bool":
            hp.Boolean(name)
        elif p.type == "categorical":
            choices = list(p.choices or [])
            if len({type(c) for c in choices}) > 1:
                raise SpaceError(
                    f"search space {space.source}: params.{name}.choices: KerasTuner needs choices of one type, "
                    f"got {choices}"
                )
            hp.Choice(name, choices)
        elif p.low == p.high:
            hp.Fixed(name, int(p.low) if p.type == "int" else float(p.low))
        elif p.type == "int":
            hp.Int(name, int(p.low), int(p.high), step=int(p.step) if p.step else None, sampling=_sampling(p.log))
        else:
            hp.Float(name, float(p.low), float(p.high), step=p.step, sampling=_sampling(p.log))


def kt_hyperparameters(space: SearchSpace) -> keras_tuner.HyperParameters:
    """A new :class:`keras_tuner.HyperParameters` holding the searched part of ``space``."""
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    declare(space, hp)
    return hp


def params_from_kt(space: SearchSpace, values: Mapping[str, Any]) -> dict[str, Any]:
    """The space's parameters of a KerasTuner trial's ``values`` (tuner entries such as
    ``tuner/epochs`` are left out), as plain Python values inside the space's distributions."""
    missing = [name for name in space.names if name not in values]
    if missing:
        raise ValueError(f"KerasTuner values {dict(values)} lack {missing}")
    # params_from_skopt takes a point in ``names`` order and snaps each value to its parameter
    return space.params_from_skopt([values[name] for name in space.names])


def _sampling(log: bool) -> str:
    return "log" if log else "linear"
