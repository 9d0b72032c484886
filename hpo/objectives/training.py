"""Retraining one configuration (``hpo best``, reports, benchmarks), saving and loading it."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hpo import __version__
from hpo.data.prepared import SPLITS, PreparedDataset, Split
from hpo.errors import DataError, UsageError
from hpo.models import check_missing_values, model_ref, model_schema
from hpo.models.registry import ModelLike
from hpo.objectives.base import backend

META_FILE = "hpo-model.json"

# The exercise's hand-picked configurations, in the parameter form of train_model.
EXERCISE_PARAMS: dict[str, dict[str, Any]] = {
    # hidden layers 10x, 2x, 1x the inputs (width_factor 10 shrinking 5x per layer, floor 1x)
    "ann": {
        "n_layers": 3,
        "width_factor": 10.0,
        "shrink": 5.0,
        "activation": "selu",
        "dropout": 0.1,
        "optimizer": "RMSprop",
        "learning_rate": 1e-4,
        "batch_size": 250,
    },
    "rf": {
        "n_estimators": 300,
        "criterion": "gini",
        "max_depth": 5,
        "min_samples_leaf": 500,
        "min_samples_split": 200,
        "max_features": 4,
        "bootstrap": False,
    },
}


@dataclass
class TrainedModel:
    """A fitted classifier with the configuration and inputs it was trained with."""

    model: str
    params: dict[str, Any]  # full configuration: hyperparameters and settings
    features: list[str]
    estimator: Any
    info: dict[str, Any] = field(default_factory=dict)  # fit time, epochs, size, data hash, ...

    @property
    def missing_values(self) -> str:
        """How absent inputs reach this model: the view of :meth:`PreparedDataset.split` its ``X`` comes from."""
        return backend(self.model).missing_view(self.params)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Signal scores in [0, 1] for rows of scaled features (``PreparedDataset.split(..., self.missing_values).X``)."""
        X = np.asarray(X, dtype=np.float32)  # NaN stays NaN for the models that take it ('native' view)
        if X.ndim != 2 or X.shape[1] != len(self.features):
            raise ValueError(f"expected an (n, {len(self.features)}) feature matrix, got shape {X.shape}")
        return backend(self.model).predict(self.estimator, X)

    def feature_importances(self) -> dict[str, float] | None:
        """Importance of each input where the model defines one (RF: impurity decrease; BDT: gain), else None."""
        values = backend(self.model).feature_importances(self.estimator)
        return None if values is None else dict(zip(self.features, map(float, values)))

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write the model file and ``hpo-model.json`` into ``folder``; returns the folder."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        backend(self.model).save(self.estimator, folder)
        meta = {"model": self.model, "params": self.params, "features": self.features, "info": self.info, "hpo_version": __version__}
        tmp = folder / f".{META_FILE}.tmp"
        tmp.write_text(json.dumps(meta, indent=2, default=_json_default), encoding="utf-8")
        tmp.replace(folder / META_FILE)
        return folder


def load_model(folder: str | os.PathLike[str]) -> TrainedModel:
    """Read a model saved by :meth:`TrainedModel.save`.

    A scikit-learn forest (or a plug-in's default save) is a joblib pickle, and loading it warns
    that it must come from a trusted source; boosters are XGBoost files, networks Keras files.
    """
    folder = Path(folder)
    try:
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{folder} holds no saved hpo model ({META_FILE} missing)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UsageError(f"{folder / META_FILE} is corrupt ({err}); save the model again") from None
    missing = [key for key in ("model", "params", "features") if not isinstance(meta, dict) or key not in meta]
    if missing:
        raise UsageError(f"{folder / META_FILE} is incomplete ({', '.join(missing)} missing); save the model again")
    try:
        estimator = backend(meta["model"]).load(folder)
    except UsageError:
        raise
    except Exception as err:  # noqa: BLE001 - a truncated or damaged model file fails in many ways
        raise UsageError(f"the model file in {folder} cannot be read ({type(err).__name__}: {err}); save the model again") from None
    return TrainedModel(meta["model"], meta["params"], meta["features"], estimator, meta.get("info", {}))


def train_model(
    model: ModelLike,
    params: Mapping[str, Any],
    data: PreparedDataset,
    *,
    fit_splits: Sequence[str] = ("train", "val"),
    threads: int = 1,
    seed: int = 0,
) -> TrainedModel:
    """Train one configuration of ``model`` on the events of ``fit_splits``.

    ``params`` holds every hyperparameter of the model (a trial's ``params`` or
    :data:`EXERCISE_PARAMS`) and optionally settings; missing settings take their defaults.
    A model that monitors a validation split (the ANN's early stopping and LR reduction, the BDT's
    early stopping) gets the validation split when it is not fitted, otherwise a random
    ``holdout_fraction`` (default 10%) of the fitted events. ``model`` is a reference, class or
    instance as for :class:`~hpo.objectives.Objective`.
    """
    model = model_ref(model)
    schema = model_schema(model)
    config = {**schema.defaults(), **params}
    for key, value in config.items():
        accepts = schema.accepts(key)
        if accepts is None:
            raise UsageError(f"{model} has no hyperparameter or setting {key!r}")
        problem = accepts.problem(value)
        if problem:
            raise UsageError(f"{model} parameter {key}: {problem}")
    missing = [k for k in schema.tunable if k not in config]
    if missing:
        raise UsageError(f"{model} configuration lacks {', '.join(missing)}")
    unknown = [s for s in fit_splits if s not in SPLITS]
    if unknown or not fit_splits:
        raise UsageError(f"fit_splits must name some of {', '.join(SPLITS)}, got {list(fit_splits)}")
    check_missing_values(model, data, [config])
    view = backend(model).missing_view(config)
    fitted = Split.concat([data.split(s, view) for s in dict.fromkeys(fit_splits)])
    monitor: Split | None = None
    if backend(model).monitors_validation:
        if "val" in fit_splits:
            fitted, monitor = _holdout(fitted, float(config.get("holdout_fraction", 0.1)), seed)
        else:
            monitor = data.split("val", view)
    result = backend(model).fit(config, fitted, monitor, threads=threads, seed=seed)
    info = {
        "fit_time_s": round(result.fit_time_s, 4),
        **result.attrs,
        "fit_splits": list(fit_splits),
        "n_fitted_events": len(fitted),
        "dataset_hash": data.hash,
        "seed": seed,
    }
    return TrainedModel(model, config, data.input_names(view), result.estimator, info)


def _holdout(split: Split, fraction: float, seed: int) -> tuple[Split, Split]:
    """Split off a random ``fraction`` of events, stratified by class."""
    rng = np.random.default_rng(seed)
    held = np.zeros(len(split), dtype=bool)
    for label in (0, 1):
        idx = np.flatnonzero(split.y == label)
        n = int(round(fraction * len(idx)))
        if n == 0 or n == len(idx):
            raise DataError(f"too few events of class {label} ({len(idx)}) to hold out {fraction:.0%} for early stopping")
        held[rng.choice(idx, size=n, replace=False)] = True
    return split.take(~held), split.take(held)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__} in {META_FILE}")
