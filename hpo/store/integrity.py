"""Integrity of a study in the store, read from Optuna's tables directly.

Optuna's SQLite schema declares foreign keys but SQLite does not enforce them, and a killed process
can leave a trial RUNNING forever. :func:`integrity_problems` lists, one line each:

- rows of the trial and study tables that point to a trial or study that does not exist (store-wide);
- trial numbers used twice in the study;
- RUNNING trials without a live heartbeat (older than the grace period, or none at all although the
  trial started longer than the grace period ago: its worker died before its first beat);
- COMPLETE trials without an objective value.
"""

from __future__ import annotations

import datetime as dt

import optuna
import sqlalchemy as sa
from optuna.storages._rdb import models
from optuna.trial import TrialState


def integrity_problems(storage: optuna.storages.RDBStorage, study_name: str) -> list[str]:
    """Problems of study ``study_name`` and orphan rows of ``storage`` (empty when healthy)."""
    problems = _orphan_rows(storage.engine)
    study_id = storage.get_study_id_from_name(study_name)
    trials = models.TrialModel.__table__
    with storage.engine.connect() as connection:
        duplicated = connection.execute(
            sa.select(trials.c.number, sa.func.count())
            .where(trials.c.study_id == study_id)
            .group_by(trials.c.number)
            .having(sa.func.count() > 1)
        ).all()
        problems += [f"trial number {number} is used by {count} trials" for number, count in duplicated]
        problems += _stale_running(connection, study_id, storage.get_heartbeat_interval(), storage.grace_period)
        values = models.TrialValueModel.__table__
        valueless = connection.execute(
            sa.select(trials.c.number)
            .where(trials.c.study_id == study_id, trials.c.state == TrialState.COMPLETE.name)
            .where(~sa.exists().where(values.c.trial_id == trials.c.trial_id))
        ).scalars()
        problems += [f"trial {number} is COMPLETE but has no objective value" for number in valueless]
    return problems


def _orphan_rows(engine: sa.engine.Engine) -> list[str]:
    """``N rows of TABLE point to missing trials/studies`` for every table with such rows."""
    parents = {"trial_id": models.TrialModel.__table__, "study_id": models.StudyModel.__table__}
    problems = []
    with engine.connect() as connection:
        for table in models.BaseModel.metadata.sorted_tables:
            for key, parent in parents.items():
                if table is parent or key not in table.c:
                    continue
                count = connection.execute(
                    sa.select(sa.func.count()).select_from(table).where(table.c[key].not_in(sa.select(parent.c[key])))
                ).scalar_one()
                if count:
                    what = "trials" if key == "trial_id" else "studies"
                    problems.append(f"{count} rows of table {table.name} point to missing {what} (orphan rows)")
    return problems


def _stale_running(connection: sa.engine.Connection, study_id: int, interval: int | None, grace: int | None) -> list[str]:
    """RUNNING trials whose worker stopped beating (or never beat, when heartbeats are on)."""
    if interval is None:
        return []
    grace_s = grace if grace is not None else 2 * interval
    trials, beats = models.TrialModel.__table__, models.TrialHeartbeatModel.__table__
    now = connection.execute(sa.select(sa.func.current_timestamp())).scalar_one()
    rows = connection.execute(
        sa.select(trials.c.number, beats.c.heartbeat)
        .select_from(trials.outerjoin(beats, beats.c.trial_id == trials.c.trial_id))
        .where(trials.c.study_id == study_id, trials.c.state == TrialState.RUNNING.name)
        .where(beats.c.heartbeat.is_not(None))
    ).all()
    problems = []
    for number, beat in rows:
        age = (_naive(now) - _naive(beat)).total_seconds()
        if age > grace_s:
            problems.append(f"trial {number} is RUNNING but its worker's last heartbeat is {age:.0f} s old (stale); 'hpo resume' re-runs it")
    problems += [
        f"trial {number} is RUNNING but no worker recorded a heartbeat for it in {age:.0f} s; 'hpo resume' re-runs it"
        for _, number, age in unbeaten_trials(connection, study_id, grace_s)
    ]
    return problems


def unbeaten_trials(connection: sa.engine.Connection, study_id: int, grace_s: float) -> list[tuple[int, int, float]]:
    """``(trial_id, number, seconds since start)`` of RUNNING trials that never had a heartbeat and
    started more than ``grace_s`` ago: their worker died between taking them and its first beat.

    Optuna's own stale-trial search only looks at trials with a heartbeat, so these would stay RUNNING.
    ``datetime_start`` is written by Optuna in local time, hence the comparison with local ``now``.
    """
    trials, beats = models.TrialModel.__table__, models.TrialHeartbeatModel.__table__
    rows = connection.execute(
        sa.select(trials.c.trial_id, trials.c.number, trials.c.datetime_start)
        .select_from(trials.outerjoin(beats, beats.c.trial_id == trials.c.trial_id))
        .where(trials.c.study_id == study_id, trials.c.state == TrialState.RUNNING.name, beats.c.heartbeat.is_(None))
        .order_by(trials.c.number)
    ).all()
    now = dt.datetime.now()
    out = []
    for trial_id, number, started in rows:
        age = float("inf") if started is None else (now - _naive_local(started)).total_seconds()
        if age > grace_s:
            out.append((trial_id, number, age))
    return out


def _naive_local(value: dt.datetime | str) -> dt.datetime:
    """An Optuna start time (naive local time; SQLite may hand back text) as a naive local datetime."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.astimezone().replace(tzinfo=None) if value.tzinfo else value


def _naive(value: dt.datetime | str) -> dt.datetime:
    """A database timestamp as a naive UTC datetime (SQLite may hand back text)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None) if value.tzinfo else value
