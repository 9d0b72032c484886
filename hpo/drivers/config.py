"""A study's settings, recorded on the study as user attributes so that anyone can continue it.

Everything a worker, ``hpo resume`` or ``hpo best`` needs is read back from the store: model,
algorithm, search space, dataset (hash and file), seed, metric, pruner, grid levels, the rungs of
``--fidelity`` and the folds of ``--cv``, and the target number of trials. The dashboard shows the same attributes.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections.abc import Sequence
from dataclasses import MISSING, asdict, dataclass, field, fields
from importlib import metadata
from typing import Any

import optuna

from hpo import paths
from hpo.errors import StoreError, UsageError
from hpo.options import PRUNERS
from hpo.spaces import Grid, SearchSpace

#: Settings that define a study: running it again with any of them changed is refused.
IDENTITY = ("model", "algo", "space", "dataset_hash", "metric", "prune", "grid_levels", "seed", "sampler_options", "rungs", "cv")

_FORMAT = 1
_VERSIONED = ("hpo", "optuna", "scikit-learn", "scikit-optimize", "numpy", "keras", "tensorflow-cpu", "tensorflow")


@dataclass
class StudyConfig:
    """The recorded settings of one study (its user attributes)."""

    model: str
    algo: str
    space: dict[str, Any]  # SearchSpace.to_dict()
    dataset_hash: str
    dataset_path: str
    dataset_name: str
    target_trials: int
    seed: int = 0
    metric: str = "auc"
    prune: str = "none"
    grid_levels: int | None = None
    sampler_options: dict[str, Any] = field(default_factory=dict)
    rungs: list[float] = field(default_factory=list)  # fractions of the training events (--fidelity); [] for none
    cv: int = 0  # folds of cross-validation on train+validation (--cv); 0 for the validation split
    model_code: dict[str, str] = field(default_factory=dict)  # hpo.models.model_code: module, class, version
    versions: dict[str, str] = field(default_factory=lambda: package_versions())
    created: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))

    def search_space(self) -> SearchSpace:
        return SearchSpace.from_dict(self.space, "recorded on the study")

    def grid_points(self) -> Grid | None:
        """The grid of a ``grid`` study, enumerated lazily (None for the other algorithms)."""
        return self.search_space().grid(self.grid_levels) if self.algo == "grid" else None

    def to_attrs(self) -> dict[str, Any]:
        """The user attributes, ``hpo_format`` last: it marks a completely recorded study."""
        return {**asdict(self), "hpo_format": _FORMAT}

    @classmethod
    def from_attrs(cls, name: str, attrs: dict[str, Any]) -> StudyConfig:
        """Read the settings back from a study's user attributes.

        A study whose recording was interrupted (see :func:`is_half_created`) and one not made by
        ``hpo run`` raise a :class:`~hpo.errors.StoreError` that says what to do.
        """
        if is_half_created(attrs):
            raise StoreError(
                f"study {name!r} was not completely created (its 'hpo run' was interrupted); run the same 'hpo run' "
                f"again to create it anew, or remove it with 'hpo delete {name}'"
            )
        if attrs.get("hpo_format") != _FORMAT:
            raise StoreError(f"study {name!r} was not created by 'hpo run' (or by an incompatible version); it cannot be continued")
        try:
            return cls(**{f.name: attrs[f.name] for f in fields(cls) if f.name in attrs})
        except TypeError as err:  # a recorded setting of the wrong type
            raise StoreError(f"study {name!r} has unreadable recorded settings ({err}); remove it with 'hpo delete {name}'") from None

    def differences(self, other: StudyConfig) -> list[str]:
        """Names of the identity settings in which ``other`` differs from this one."""
        return [key for key in IDENTITY if getattr(self, key) != getattr(other, key)]

    def record(self, study: optuna.Study) -> None:
        for key, value in self.to_attrs().items():
            study.set_user_attr(key, value)


def is_half_created(attrs: dict[str, Any]) -> bool:
    """Whether a study's attributes are those of an interrupted creation: no attribute at all, some
    of hpo's settings without the ``hpo_format`` marker, or the marker without a required setting."""
    required = [f.name for f in fields(StudyConfig) if f.default is MISSING and f.default_factory is MISSING]
    if not attrs:
        return True
    if attrs.get("hpo_format") == _FORMAT:
        return any(key not in attrs for key in required)
    return "hpo_format" not in attrs and any(key in attrs for key in required)


def default_study_name(model: str, algo: str, dataset_hash: str) -> str:
    """``<model>-<algo>-<first 8 characters of the dataset hash>`` (a plug-in ``module:Class`` gives
    its class name in lower case)."""
    short = re.sub(r"[^A-Za-z0-9._-]", "-", model.rpartition(":")[2].rpartition(".")[2].lower()) or "model"
    return f"{short}-{algo}-{dataset_hash[:8]}"


def check_model_code(name: str, config: StudyConfig) -> dict[str, str]:
    """The model code of the study's model now; a :class:`UsageError` if it is not the code the study
    recorded (another module or class, or another version of a plug-in)."""
    from hpo.models import code_differences, model_code

    current = model_code(config.model)
    changed = code_differences(config.model_code, current, config.model) if config.model_code else []
    if changed:
        was = config.model_code
        raise UsageError(
            f"study {name!r} was run with model code {was.get('module')}:{was.get('class')} {was.get('version')}, "
            f"but {config.model} is now {current['module']}:{current['class']} {current['version']}; "
            "install the recorded version, or start a new study with --study NEW_NAME"
        )
    return current


def check_study_name(name: str) -> str:
    """``name`` if it is usable as a study name and folder name, else a :class:`UsageError`."""
    if not paths.is_study_name(name):
        raise UsageError(f"--study {name!r}: use letters, digits, '.', '_' and '-' (at most 128, not starting with a symbol)")
    return name


def make_pruner(prune: str, rungs: Sequence[float] = (), cv: int = 0) -> optuna.pruners.BasePruner:
    """The pruner of ``--prune``: ``none``, ``median``, ``halving`` (successive halving),
    ``hyperband`` or ``wilcoxon`` (with ``--cv``), all Optuna's own.

    With ``rungs`` (``--fidelity``), successive halving and Hyperband take the rungs' growth factor
    as reduction factor and the first rung as minimum resource (steps as in :mod:`hpo.fidelity`):
    they keep the best 1/factor of the trials at each rung; TPE with Hyperband is then BOHB-like
    (Optuna's TPE models each Hyperband bracket from the trials of that bracket).
    """
    from hpo.fidelity import check_budget_options, reduction_factor, rung_steps

    if prune not in PRUNERS:
        raise UsageError(f"unknown pruner {prune!r}; choose one of {', '.join(PRUNERS)}")
    check_budget_options(prune, rungs, cv)
    if prune == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
    if prune == "halving":
        if rungs:
            return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=reduction_factor(rungs))
        return optuna.pruners.SuccessiveHalvingPruner()
    if prune == "hyperband":
        if rungs:
            factor = reduction_factor(rungs)
            return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=rung_steps(rungs)[-1], reduction_factor=factor)
        return optuna.pruners.HyperbandPruner()
    if prune == "wilcoxon":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.pruners.WilcoxonPruner(p_threshold=0.1, n_startup_steps=2)
    return optuna.pruners.NopPruner()


def package_versions() -> dict[str, str]:
    """Versions of the installed packages that decide a study's results (read without importing them)."""
    out = {}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out
