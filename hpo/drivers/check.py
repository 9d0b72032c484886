"""``hpo check``: is a study's store consistent, and can the study be resumed?

Besides the store's own integrity (:func:`hpo.store.integrity_problems`: orphan rows, RUNNING
trials without a live heartbeat, duplicated numbers), a study made by ``hpo run`` must have its
settings recorded (with the dataset hash), its prepared dataset on disk, no more trials counted or
queued than its target, and - for grid studies - no grid point held by two trials.
WAITING trials are the queue of an interrupted or running study and are not a problem.
"""

from __future__ import annotations

from collections import defaultdict

from hpo.drivers.config import StudyConfig
from hpo.drivers.datasets import recorded_dataset
from hpo.drivers.queue import budget_trials, pending_trials, point_key, trial_params
from hpo.errors import DataError, StoreError
from hpo.store import integrity_problems, load_study, open_storage


def check_study(study_name: str, storage: str | None = None) -> list[str]:
    """One line per problem of study ``study_name`` in ``storage`` (empty when healthy).

    A missing study or an unreadable store is a :class:`~hpo.errors.StoreError`, not a problem line.
    """
    store = open_storage(storage, create=False)
    study = load_study(study_name, store)
    problems = integrity_problems(store, study_name)
    try:
        config = StudyConfig.from_attrs(study_name, study.user_attrs)
    except (StoreError, TypeError) as err:
        return [*problems, f"the recorded settings are unreadable: {err}"]
    if not config.dataset_hash:
        problems.append("no dataset hash is recorded; the study cannot be checked against its data")
    else:
        try:
            recorded_dataset(study_name, config, None, force=False)
        except DataError as err:
            problems.append(str(err))
    counted, pending = budget_trials(study), pending_trials(study)
    if len(counted) > config.target_trials:
        problems.append(f"{len(counted)} trials are counted but the target is {config.target_trials} (over-filled)")
    elif len(counted) + len(pending) > config.target_trials:
        problems.append(
            f"{len(counted)} counted and {len(pending)} queued or running trials exceed the target of {config.target_trials} (queue over-filled)"
        )
    grid = config.grid_points()
    if grid:
        holders: dict[str, list[int]] = defaultdict(list)
        for trial in counted + pending:
            holders[point_key(trial_params(trial), list(grid[0]))].append(trial.number)
        problems += [f"grid point {key} is held by trials {', '.join(map(str, numbers))}" for key, numbers in holders.items() if len(numbers) > 1]
    return problems
