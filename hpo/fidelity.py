"""Evaluation budgets of a study: multi-fidelity rungs over training events and K-fold cross-validation.

``--fidelity`` trains each trial on growing, nested fractions of the training split (its *rungs*,
for example 1/9, 1/3 and all events) and reports the validation score at the end of each rung, so
that the study's pruner stops unpromising trials on a small budget. ``--cv K`` scores a
configuration by K-fold cross-validation on train+validation. Both are checked here, with the pruner
they go with, before anything runs; this module imports nothing heavy.

Step numbering (what ``trial.report`` receives):

- with rungs, only the rung ends are reported, at step ``round(fraction / first fraction)``
  (1, 3, 9 for 1/9, 1/3, 1): the budget in units of the first rung. The rungs must grow by one
  factor, which is the pruners' reduction factor, so successive halving and Hyperband
  (``min_resource=1``) decide exactly at the rung ends. The model's own budget (epochs, trees,
  boosting rounds, with its early stopping) still runs within every rung; its own intermediate
  scores are not reported, as they would collide with the rung steps;
- with ``--cv K``, fold ``k`` (1..K) is reported at step ``k``: the running mean of the folds so
  far, or, for the Wilcoxon pruner, the fold's own score (the signed-rank test pairs the folds
  of two trials, which needs each fold's score, not a running mean).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from hpo.errors import UsageError

#: The rungs of ``--fidelity events``.
DEFAULT_RUNGS = (1 / 9, 1 / 3, 1.0)
#: Pruners that use the rung structure (the others see the same steps and compare values per step).
FIDELITY_PRUNERS = ("median", "halving", "hyperband")
FIDELITY_HELP = "none, events (rungs 1/9,1/3,1 of the training events) or fractions growing by one factor ending at 1, e.g. 1/4,1/2,1"
_MAX_RUNGS = 8
_MAX_FOLDS = 20


def parse_fidelity(value: str | Sequence[float] | None) -> list[float]:
    """The rung fractions of ``--fidelity`` (``[]`` for none); a :class:`UsageError` for a bad value.

    ``value`` is ``None``/``"none"``, ``"events"`` (:data:`DEFAULT_RUNGS`), a comma-separated list
    such as ``"1/9,1/3,1"``, or a sequence of numbers.
    """
    if value is None or (isinstance(value, str) and value.strip() in ("", "none")):
        return []
    if isinstance(value, str) and value.strip() == "events":
        return list(DEFAULT_RUNGS)
    try:
        parts = value.split(",") if isinstance(value, str) else list(value)
        fractions = [Fraction(str(p).strip()).limit_denominator(10_000) for p in parts]
    except (ValueError, ZeroDivisionError, TypeError):
        raise UsageError(f"--fidelity {_text(value)}: use {FIDELITY_HELP}") from None
    return [float(f) for f in check_rungs(fractions, _text(value))]


def check_rungs(fractions: Sequence[Fraction | float], text: str = "") -> list[Fraction]:
    """``fractions`` as fractions if they make rungs: 2 to 8 of them in (0, 1], ending at 1 and growing
    by one factor of at least 2; else a :class:`UsageError`."""
    rungs = [Fraction(f).limit_denominator(10_000) for f in fractions]
    where = f"--fidelity {text or format_rungs(rungs)}"
    if not 2 <= len(rungs) <= _MAX_RUNGS:
        raise UsageError(f"{where}: give 2 to {_MAX_RUNGS} rungs ({FIDELITY_HELP})")
    if any(not 0 < f <= 1 for f in rungs) or rungs[-1] != 1:
        raise UsageError(f"{where}: each rung is a fraction in (0, 1] and the last is 1 (all events)")
    factor = rungs[1] / rungs[0]
    if factor < 2 or factor.denominator != 1 or any(b / a != factor for a, b in zip(rungs, rungs[1:])):
        raise UsageError(f"{where}: the rungs must grow by one whole factor of at least 2, e.g. 1/9,1/3,1 or 1/4,1/2,1")
    return rungs


def reduction_factor(rungs: Sequence[float]) -> int:
    """The factor by which the rungs grow (3 for 1/9, 1/3, 1): the pruners' reduction factor."""
    return int(round(rungs[1] / rungs[0]))


def rung_steps(rungs: Sequence[float]) -> list[int]:
    """The step each rung is reported at: its budget in units of the first rung (1, 3, 9)."""
    return [reduction_factor(rungs) ** r for r in range(len(rungs))]


def format_rungs(rungs: Sequence[float | Fraction]) -> str:
    """``1/9,1/3,1``."""
    return ",".join(str(Fraction(f).limit_denominator(10_000)) for f in rungs)


def check_cv(cv: object) -> int:
    """``cv`` if it is a number of folds (2 to 20, or 0 for none), else a :class:`UsageError`."""
    if isinstance(cv, bool) or not isinstance(cv, int) or cv < 0 or cv == 1 or cv > _MAX_FOLDS:
        raise UsageError(f"--cv {cv!r}: give a number of folds from 2 to {_MAX_FOLDS} (0: one validation split)")
    return cv


def check_budget_options(prune: str, rungs: Sequence[float], cv: int, algo: str = "") -> None:
    """Refuse combinations of ``--algo``, ``--prune``, ``--fidelity`` and ``--cv`` that cannot work, in one line."""
    from hpo.tuners import is_kerastuner

    check_cv(cv)
    if is_kerastuner(algo) and (rungs or cv):
        raise UsageError(f"--algo {algo} decides itself how each model is trained; leave out --fidelity and --cv")
    if rungs and cv:
        raise UsageError("--fidelity and --cv cannot be combined: choose rungs over training events or cross-validation folds")
    if rungs and prune not in FIDELITY_PRUNERS:
        raise UsageError(f"--fidelity needs a pruner that stops trials at the rungs: --prune {' or '.join(FIDELITY_PRUNERS)}")
    if prune == "wilcoxon" and not cv:
        raise UsageError("--prune wilcoxon compares cross-validation folds: use it with --cv K")


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    try:
        return ",".join(str(v) for v in value)  # type: ignore[attr-defined]
    except TypeError:
        return repr(value)
