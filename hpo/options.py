"""The values that options accept, and their defaults, in one module that imports nothing.

The command line builds its whole parser from these at every start, before it knows which command
runs; keeping them here (and not in the modules that use them, which import Optuna, pandas or
SQLAlchemy) lets a command that is refused at once, such as an oversized grid, start in a fraction
of a second. The modules that act on an option import its names from here.
"""

from __future__ import annotations

from typing import Literal, get_args

#: Algorithms run by an Optuna sampler (:mod:`hpo.samplers`).
SAMPLER_ALGORITHMS: tuple[str, ...] = ("grid", "random", "bayes", "tpe", "cmaes")
#: Algorithms run by a KerasTuner search (:mod:`hpo.tuners`).
KERASTUNER_ALGORITHMS: tuple[str, ...] = ("kt-hyperband", "kt-bayes")
#: The names ``--algo`` accepts.
ALGORITHMS: tuple[str, ...] = (*SAMPLER_ALGORITHMS, *KERASTUNER_ALGORITHMS)
#: The names ``--prune`` accepts.
PRUNERS: tuple[str, ...] = ("none", "median", "halving", "hyperband", "wilcoxon")
#: The names ``--backend`` accepts (see :mod:`hpo.drivers.backends`).
BACKENDS: tuple[str, ...] = ("local", "dask")

#: Trials of a study when ``n_trials`` is not given (a grid study runs its whole grid).
DEFAULT_TRIALS = 20
#: Worker processes when ``jobs`` is not given.
DEFAULT_JOBS = 2
#: Grids of more points are refused unless ``--max-grid-points`` raises the limit.
DEFAULT_MAX_GRID_POINTS = 100_000

#: The splits of a prepared dataset, in their stored order.
SPLITS: tuple[str, ...] = ("train", "val", "test")
#: Channels of the synthetic generator.
Channel = Literal["4mu", "4e"]
CHANNELS: tuple[str, ...] = get_args(Channel)
#: Training weight of negative-weight events (metrics always use the signed weights).
NegativeWeights = Literal["keep", "abs", "zero"]
NEGATIVE_WEIGHT_POLICIES: tuple[str, ...] = get_args(NegativeWeights)
DEFAULT_NEGATIVE_WEIGHTS: NegativeWeights = "abs"

#: Units ``--timeout`` accepts after its number, in seconds.
DURATION_UNITS: dict[str, float] = {"s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Seconds of a duration such as ``90``, ``90s``, ``10m`` or ``1.5h``; ValueError otherwise."""
    number = text.strip().lower()
    unit = next((u for u in sorted(DURATION_UNITS, key=len, reverse=True) if number.endswith(u)), "s")
    number = number.removesuffix(unit)
    try:
        seconds = float(number) * DURATION_UNITS[unit]
    except ValueError:
        raise ValueError(f"{text!r} is not a duration; give seconds or a number with s, m or h, e.g. 90, 10m, 1.5h") from None
    if not 0 < seconds < float("inf"):
        raise ValueError(f"{text!r} is not a positive duration; give seconds or a number with s, m or h, e.g. 90, 10m, 1.5h")
    return seconds
