"""The trial queue in the store: how a study ends with exactly its target number of trials.

Trials are never created by a sampler asking for a new one: they are *enqueued* as WAITING trials
under the store's lock, by :func:`enqueue_missing`, only while counted plus pending trials are
fewer than the target, and workers *pop* them atomically. So the number of trials is exact whatever
the number of workers, and a grid point is enqueued only if no trial holds it already.

The queue is kept short: the driver enqueues one trial per worker and each worker tops it up by
one when it finds it empty. (Optuna's storage cache re-reads every unfinished trial on each access,
so a queue holding the whole budget would make each trial cost time proportional to the budget.)

Which trials count toward the target (:func:`budget_trials`): COMPLETE, PRUNED and FAIL trials,
except failed trials that were re-queued (a worker died or was stopped during the trial: the
heartbeat callback adds a WAITING copy with the same parameters, which takes its place).
RUNNING and WAITING trials are *pending*: they will turn into one counted trial each.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import FrozenTrial, TrialState

from hpo.store import store_lock

_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
_PENDING = (TrialState.RUNNING, TrialState.WAITING)


def retried_numbers(trials: Iterable[FrozenTrial]) -> set[int]:
    """Numbers of the trials that were failed and re-queued as another trial."""
    return {n for t in trials for n in t.system_attrs.get("retry_history", ())}


def counted(trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    """Those of ``trials`` that count toward the study's target (see the module docstring)."""
    retried = retried_numbers(trials)
    return [t for t in trials if t.state in _FINISHED and t.number not in retried]


def budget_trials(study: optuna.Study) -> list[FrozenTrial]:
    """The trials that count toward the study's target (see the module docstring)."""
    return counted(study.get_trials(deepcopy=False))


def pending_trials(study: optuna.Study) -> list[FrozenTrial]:
    """RUNNING and WAITING trials."""
    return study.get_trials(deepcopy=False, states=_PENDING)


def point_key(params: Mapping[str, Any], names: Sequence[str]) -> str:
    """A hashable key of the values of ``names`` in ``params`` (grid-point identity)."""
    return json.dumps([params.get(n) for n in names])


def trial_params(trial: FrozenTrial) -> dict[str, Any]:
    """Parameters a trial has or will have: the suggested ones, else those fixed when enqueued."""
    return {**trial.system_attrs.get("fixed_params", {}), **trial.params}


def enqueue_missing(
    study: optuna.Study, target: int, grid: Sequence[Mapping[str, Any]] | None = None, *, limit: int | None = None
) -> int:
    """Enqueue WAITING trials towards ``target`` counted plus pending trials; returns how many.

    At most ``limit`` trials are added (all that are missing if None). With a ``grid``, the trials
    are the first grid points that no counted or pending trial holds (at most ``target`` points in
    all), found by walking the grid lazily only as far as needed; without, they are empty trials
    that the sampler fills. The count and the enqueueing hold
    the store's lock, so drivers and workers topping the queue up at once never over-fill it.
    """
    with store_lock(study._storage, f"queue:{study.study_name}"):  # two drivers at once must not both fill it
        # One read: trials finish outside the lock, and two reads could miss one between them.
        trials = study.get_trials(deepcopy=False)
        held = counted(trials) + [t for t in trials if t.state in _PENDING]
        wanted = max(0, target - len(held))
        wanted = wanted if limit is None else min(wanted, limit)
        if grid is None:
            todo: list[Mapping[str, Any]] = [{}] * wanted
        else:
            names = list(grid[0]) if len(grid) else []
            taken = {point_key(trial_params(t), names) for t in held}
            todo = list(itertools.islice((p for p in grid if point_key(p, names) not in taken), wanted))
        for point in todo:
            study.enqueue_trial(dict(point))
    return len(todo)


def pop_waiting_trial(study: optuna.Study) -> int | None:
    """Atomically claim a WAITING trial (now RUNNING) and return its id, or None if there is none.

    The store's ``set_trial_state_values`` succeeds for exactly one of several workers trying the
    same trial; the others move on to the next (as :meth:`optuna.Study.ask` does internally).
    """
    storage = study._storage
    for trial in study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
        try:
            if storage.set_trial_state_values(trial._trial_id, state=TrialState.RUNNING):
                return trial._trial_id
        except UpdateFinishedTrialError:
            continue
    return None
