"""What ``hpo show`` and the end of ``hpo run``, ``resume`` and ``worker`` print about a study."""

from __future__ import annotations

import shlex
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
    rungs: tuple[RungCount, ...] = ()  # per rung of a multi-fidelity study (--fidelity)


@dataclass(frozen=True)
class RungCount:
    """How the counted trials of a multi-fidelity study fared at one rung."""

    rung: int
    fraction: float  # of the training events
    events: int | None  # training events of the rung (None until a trial trained on it)
    reached: int  # counted trials trained on this rung
    pruned: int  # of which were stopped here


def study_report(study_name: str, storage: str | None = None) -> StudyReport:
    """Summarise study ``study_name`` of ``storage`` (default store if None; never created)."""
    study = load_study(study_name, open_storage(storage, create=False))
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
        rungs=_rung_counts(study.user_attrs.get("rungs") or [], budget_trials(study)),
    )


def _rung_counts(rungs: list[float], trials: list[optuna.trial.FrozenTrial]) -> tuple[RungCount, ...]:
    reached = [t for t in trials if isinstance(t.user_attrs.get("rung"), int)]
    out = []
    for r, fraction in enumerate(rungs):
        events = next((t.user_attrs.get("events") for t in reached if t.user_attrs["rung"] == r), None)
        pruned = sum(t.user_attrs["rung"] == r and t.state == optuna.trial.TrialState.PRUNED for t in reached)
        out.append(RungCount(r, float(fraction), events, sum(t.user_attrs["rung"] >= r for t in reached), pruned))
    return tuple(out)


def budget_lines(report: StudyReport) -> list[str]:
    """``hpo show``'s lines on the rungs (``--fidelity``) or folds (``--cv``) of a study, and on the
    validation-to-test gap of its best configuration once ``hpo best`` measured it."""
    from hpo.fidelity import format_rungs

    lines = []
    if report.rungs:
        lines.append(f"fidelity    rungs {format_rungs([r.fraction for r in report.rungs])} of the training events")
        for r in report.rungs:
            events = "-" if r.events is None else f"{r.events:,}"
            lines.append(f"  rung {r.rung}  {format_rungs([r.fraction]):>6}  {events:>9} events  {r.reached:>4} trials trained, {r.pruned} pruned here")
    cv = report.attrs.get("cv") or 0
    if cv:
        lines.append(f"scores      {cv}-fold cross-validation on train+validation (mean of the folds)")
    gap = report.attrs.get("best_val_test_gap")
    if gap is not None:
        lines.append(f"val - test  {gap:+.5f} (validation AUC of the tested trial minus its test AUC)")
    return lines


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



def duration_text(seconds: float | None) -> str:
    """A duration for people: ``12.3s``, ``4m05s``, ``2h03m10s`` (``-`` if unknown)."""
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{seconds:.1f}s"


def storage_option(storage: str | None) -> str:
    """`` --storage URL`` to repeat in a suggested command, quoted for the shell, with any password
    shown as ``***``; empty for the default store."""
    if storage is None or storage == paths.default_storage_url():
        return ""
    return f" --storage {shlex.quote(redact(storage))}"


def _next_lines(commands: list[tuple[str, str]], storage: str | None) -> list[str]:
    width = max(len(command) for command, _ in commands)
    lines = ["next:"] + [f"  {command.ljust(width)}   # {why}" for command, why in commands]
    if "***" in storage_option(storage):
        lines.append("  (put the store's password back in place of ***)")
    return lines


def end_summary(studies: list[optuna.Study], storage: str | None = None, elapsed_s: float | None = None) -> str:
    """What ``hpo run``, ``resume`` and ``worker`` print at the end: for each study its best value and
    trial, best parameters, trials by state and wall time, then the commands to run next with the
    study's real name and the ``--storage`` that was given."""
    lines: list[str] = []
    option = storage_option(storage)
    reports = [report_of(study, storage) for study in studies]
    for study, report in zip(studies, reports, strict=True):
        lines.append(summary_line(study, storage))
        if report.best_params is not None:
            params = ", ".join(f"{key}={value:.4g}" if isinstance(value, float) else f"{key}={value}"
                               for key, value in report.best_params.items())  # fmt: skip
            lines.append(f"  best parameters  {params or '(none varied)'}")
        lines.append("  trials           " + (", ".join(f"{n} {state.lower()}" for state, n in report.counts.items()) or "none"))
        times = [f"{duration_text(elapsed_s)} for this command"] if elapsed_s is not None else []
        if report.wall_s is not None:
            times.append(f"{duration_text(report.wall_s)} from first to last trial")
        if report.mean_trial_s is not None:
            times.append(f"{duration_text(report.mean_trial_s)} per trial on average")
        if times:
            lines.append(f"  wall time        {'; '.join(times)}")
    names = [r.name for r in reports]
    commands: list[tuple[str, str]] = []
    for report in reports:
        if report.target is not None and report.counted < report.target:
            commands.append((f"hpo resume {report.name}{option}", f"{report.target - report.counted} trials still to run"))
    done = [r.name for r in reports if r.best_value is not None]
    if not done:
        commands += [(f"hpo show {name}{option}", "see why no trial completed") for name in names]
    elif len(names) > 1:
        commands.append((f"hpo compare {' '.join(names)}{option}", "best-so-far and regret curves of the seeds, and a table"))
    if len(done) == 1:
        commands += [(f"hpo best {done[0]}{option}", "retrain the best configuration on train+validation, test AUC"),
                     (f"hpo report {done[0]}{option}", "HTML report of the study and its best model")]  # fmt: skip
    commands.append((f"hpo dashboard{option}", "browse the trials in optuna-dashboard"))
    return "\n".join(lines + _next_lines(commands, storage))
