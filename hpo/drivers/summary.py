"""What ``hpo show`` and the end of ``hpo run`` print about a study."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

import optuna

from hpo import paths
from hpo.drivers.queue import budget_trials
from hpo.store import best_value, count_trials, load_study, open_storage, redact


@dataclass(frozen=True)
class StudyReport:
    """A study's settings, progress, best trial and timing."""

    name: str
    store: str  # redacted URL
    attrs: dict[str, Any]
    counts: dict[str, int]  # trials by state
    counted: int  # trials that count toward the target
    target: int | None
    best_value: float | None
    best_params: dict[str, Any] | None
    best_trial: int | None
    mean_trial_s: float | None  # mean duration of finished trials
    wall_s: float | None  # first trial start to last trial end


def study_report(study_name: str, storage: str | None = None) -> StudyReport:
    """Summarise study ``study_name`` of ``storage`` (default store if None)."""
    study = load_study(study_name, open_storage(storage))
    return report_of(study, storage)


def report_of(study: optuna.Study, storage: str | None = None) -> StudyReport:
    trials = study.get_trials(deepcopy=False)
    finished = [t for t in trials if t.datetime_start and t.datetime_complete]
    durations = [(t.datetime_complete - t.datetime_start).total_seconds() for t in finished]
    wall = (max(t.datetime_complete for t in finished) - min(t.datetime_start for t in finished)).total_seconds() if finished else None
    best = best_value(study)
    best_trial = study.best_trial if best is not None else None
    return StudyReport(
        name=study.study_name,
        store=redact(storage or paths.default_storage_url()),
        attrs=dict(study.user_attrs),
        counts={k: v for k, v in count_trials(study).items() if v},
        counted=len(budget_trials(study)),
        target=study.user_attrs.get("target_trials"),
        best_value=best,
        best_params=dict(best_trial.params) if best_trial else None,
        best_trial=best_trial.number if best_trial else None,
        mean_trial_s=statistics.fmean(durations) if durations else None,
        wall_s=wall,
    )


def summary_line(study: optuna.Study, storage: str | None = None) -> str:
    """``study NAME in STORE: N/TARGET trials, best validation auc V`` (the store URL redacted)."""
    report = report_of(study, storage)
    metric = report.attrs.get("metric", "value")
    if report.best_value is not None:
        best = f"best validation {metric} {report.best_value:.4f} (trial {report.best_trial})"
    else:
        errors = [t.user_attrs["error"] for t in study.get_trials(deepcopy=False) if "error" in t.user_attrs]
        best = "no complete trial" + (f" ({len(errors)} failed; first error: {errors[0]})" if errors else "")
    return f"study {report.name} in {report.store}: {report.counted}/{report.target} trials, {best}"

