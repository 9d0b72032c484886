"""What a study learnt about its search space: hyperparameter importances and the objective
against the two most important parameters."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from hpo.reports import style
from hpo.reports.history import metric_label

# Fewer finished trials than this give importances that mean nothing; the report says so instead.
MIN_TRIALS_FOR_IMPORTANCE = 4


def _finished(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))


def varied_params(trials: list[optuna.trial.FrozenTrial]) -> list[str]:
    """Parameters that took more than one value over ``trials``, in first-seen order."""
    names: dict[str, set] = {}
    for t in trials:
        for k, v in t.params.items():
            names.setdefault(k, set()).add(repr(v))
    return [k for k, values in names.items() if len(values) > 1]


def param_importances(study: optuna.Study) -> tuple[dict[str, float], str | None]:
    """Importance of each varied hyperparameter (Optuna's default evaluator), most important first,
    and a note explaining why there are none when the study is too small."""
    trials = _finished(study)
    varied = varied_params(trials)
    if len(trials) < MIN_TRIALS_FOR_IMPORTANCE:
        return {}, f"only {len(trials)} finished trial(s); importances need at least {MIN_TRIALS_FOR_IMPORTANCE}"
    if not varied:
        return {}, "no hyperparameter took more than one value"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna warns about small studies; the note above covers it
        importances = optuna.importance.get_param_importances(study, params=varied)
    return {k: float(v) for k, v in importances.items()}, None


def plot_importances(importances: dict[str, float], path: str | Path) -> Path:
    """Horizontal bars of the hyperparameter importances."""
    names = list(importances)
    y = np.arange(len(names))
    with style.hep_style():
        fig, (ax,) = style.figure(height=max(4.0, 0.6 * len(names) + 2))
        ax.barh(y, [importances[n] for n in names], color="tab:blue", alpha=0.8)
        ax.set_yticks(y, names)
        ax.minorticks_off()
        ax.invert_yaxis()
        ax.set_xlabel("Hyperparameter importance")
        style.label(ax)
        return style.save(fig, path)


def _axis_values(ax, trials: list[optuna.trial.FrozenTrial], name: str, which: str) -> np.ndarray:
    """Numeric positions of a parameter's values; categories become ticks, log ranges log axes."""
    dist = next(t.distributions[name] for t in trials if name in t.distributions)
    raw = [t.params[name] for t in trials]
    set_scale = ax.set_xscale if which == "x" else ax.set_yscale
    set_ticks = ax.set_xticks if which == "x" else ax.set_yticks
    if isinstance(dist, CategoricalDistribution):
        labels = [str(c) for c in dist.choices]
        set_ticks(np.arange(len(labels)), labels)
        return np.array([labels.index(str(v)) for v in raw], dtype=np.float64)
    if isinstance(dist, (FloatDistribution, IntDistribution)) and dist.log:
        set_scale("log")
    return np.asarray(raw, dtype=np.float64)


def plot_parameters(study: optuna.Study, params: list[str], path: str | Path) -> Path:
    """Slices (objective against each of ``params``) and, for two parameters, the trials in their
    plane coloured by the objective."""
    trials = [t for t in _finished(study) if all(p in t.params for p in params)]
    values = np.array([t.value for t in trials], dtype=np.float64)
    order = np.array([t.number for t in trials])
    ylabel = metric_label(str(study.user_attrs.get("metric", "auc")))
    with style.hep_style():
        fig, axes = style.figure(ncols=len(params) + (len(params) == 2), width=7.0)
        for ax, name in zip(axes, params):
            x = _axis_values(ax, trials, name, "x")
            points = ax.scatter(x, values, c=order, cmap="viridis", s=40, edgecolor="k", lw=0.5)
            ax.set_xlabel(name)
            ax.set_ylabel(ylabel)
            style.label(ax)
        fig.colorbar(points, ax=axes[: len(params)], label="Trial number")
        if len(params) == 2:
            ax = axes[2]
            x = _axis_values(ax, trials, params[0], "x")
            y = _axis_values(ax, trials, params[1], "y")
            plane = ax.scatter(x, y, c=values, cmap="plasma", s=60, edgecolor="k", lw=0.5)
            best = int(np.argmax(values) if study.direction == optuna.study.StudyDirection.MAXIMIZE else np.argmin(values))
            ax.scatter([x[best]], [y[best]], marker="*", s=400, color="gold", edgecolor="k", label="Best trial")
            ax.set_xlabel(params[0])
            ax.set_ylabel(params[1])
            ax.legend(loc="best", fontsize=13)
            fig.colorbar(plane, ax=ax, label=ylabel)
            style.label(ax)
        return style.save(fig, path)
