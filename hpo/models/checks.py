"""Checks made before any trial: a model's default space, NaN inputs, and a plug-in's trial run."""

from __future__ import annotations

import inspect
import itertools
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hpo.data.prepared import SPLITS, PreparedDataset, Split
from hpo.errors import UsageError
from hpo.models.registry import ModelLike, get_model, is_builtin, model_ref, one_line
from hpo.spaces.loading import load_space
from hpo.spaces.space import SearchSpace

#: Events of each class a plug-in is tried on before a study starts.
TRY_EVENTS = 100


def default_space(model: ModelLike) -> SearchSpace:
    """The search space a model is tuned over when none is given.

    Built-in models: ``search_spaces/<name>.yaml``. Plug-ins: their ``space`` attribute, a
    mapping in the YAML layout or a YAML file (relative to the model's module); its ``model:``
    key may be left out.
    """
    ref = model_ref(model)
    if is_builtin(ref):
        return load_space(ref)
    instance = get_model(ref)
    declared = type(instance).space
    if declared is None:
        raise UsageError(f"model {ref} declares no default search space; pass --space FILE (a YAML file whose model: is {ref})")
    if isinstance(declared, Mapping):
        return SearchSpace.from_dict({**declared, "model": ref}, f"{ref}.space")
    path = Path(declared)
    if not path.is_absolute():
        path = Path(inspect.getfile(type(instance))).parent / path
    data = load_space(path).to_dict()
    return SearchSpace.from_dict({**data, "model": ref}, str(path))


def features_with_missing(data: PreparedDataset, splits: tuple[str, ...] = SPLITS) -> list[str]:
    """The input features that hold NaN in any of ``splits``."""
    found = np.zeros(data.n_features, dtype=bool)
    for name in splits:
        X = data.split(name).X[:, : data.n_features]  # absent values the description states are filled here
        if len(X):
            found |= np.isnan(X).any(axis=0)
    return [f for f, bad in zip(data.features, found) if bad]


def check_missing_values(model: ModelLike, data: PreparedDataset, configs: list[Mapping[str, Any]] | SearchSpace) -> None:
    """A one-line :class:`UsageError` if ``data`` has NaN inputs that ``model`` cannot take with one
    of ``configs`` (a space stands for every combination of its categorical choices)."""
    missing = features_with_missing(data)
    if not missing:
        return
    instance = get_model(model)
    candidates = _configurations(configs) if isinstance(configs, SearchSpace) else iter(configs)
    if all(instance.handles_missing(config) for config in candidates):
        return
    ref = model_ref(model)
    shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    hint = "use --model bdt or rf with --set engine=xgboost (both take NaN)"
    raise UsageError(
        f"dataset {data.path or data.hash} has missing values (NaN) in {shown}; model {ref} cannot take them: "
        f"{hint}, or prepare the data with a fill value"
    )


def check_plugin(model: ModelLike, space: SearchSpace, data: PreparedDataset) -> None:
    """Try a plug-in model once on a few events before any trial: build, fit, predict, save and
    load with the first configuration of ``space``. Each failure is a one-line :class:`UsageError`.
    Built-in models are not tried (their tests cover them)."""
    ref = model_ref(model)
    if is_builtin(ref):
        return
    instance = get_model(model)
    name = type(instance).__qualname__
    config = space.configuration({k: v[0] for k, v in space.grid_values(1).items()})
    train, val = _sample(data.train), _sample(data.val)
    if not len(train) or not len(val) or len(np.unique(train.y)) < 2:
        return  # too little data to try on; the trials themselves will tell
    reported: list[int] = []

    def report(step: int, scores: np.ndarray) -> None:
        _check_scores(ref, f"{name}.fit reported scores of", scores, len(val))
        reported.append(step)

    try:
        fit = instance.fit(config, train, val, threads=1, seed=0, staged=True, report=report)
    except UsageError:
        raise
    except Exception as err:  # noqa: BLE001 - a failing plug-in is one line
        raise UsageError(f"--model {ref}: {name}.fit failed on {len(train)} events ({one_line(err)})") from None
    if not hasattr(fit, "estimator") or not hasattr(fit, "fit_time_s"):
        raise UsageError(f"--model {ref}: {name}.fit returned {type(fit).__name__}, not hpo.models.FitResult")
    scores = _call(ref, name, "predict", instance.predict, fit.estimator, val.X)
    _check_scores(ref, f"{name}.predict returned", scores, len(val))
    importances = _call(ref, name, "feature_importances", instance.feature_importances, fit.estimator)
    if importances is not None and np.shape(importances) != (data.n_features,):
        raise UsageError(
            f"--model {ref}: {name}.feature_importances returned shape {np.shape(importances)}; "
            f"return one value per input, shape ({data.n_features},), or None"
        )
    with tempfile.TemporaryDirectory(prefix="hpo-try-") as tmp:
        _call(ref, name, "save", instance.save, fit.estimator, Path(tmp))
        with warnings.catch_warnings():  # the joblib warning is about files from elsewhere; this one was just written
            warnings.filterwarnings("ignore", message=".*unpickles Python objects.*")
            reloaded = _call(ref, name, "load", instance.load, Path(tmp))
        again = _call(ref, name, "predict", instance.predict, reloaded, val.X)
    if not np.allclose(np.asarray(again, dtype=float), np.asarray(scores, dtype=float), rtol=1e-6, atol=1e-9):
        raise UsageError(f"--model {ref}: the model {name}.load reads back predicts differently from the one {name}.save wrote")


def _configurations(space: SearchSpace) -> Iterator[dict[str, Any]]:
    """Every combination of the space's categorical choices (numeric values at their lower end)."""
    axes = {k: (v if space.params[k].type in ("categorical", "bool") else v[:1]) for k, v in space.grid_values(1).items()}
    for combo in itertools.product(*axes.values()):
        yield space.configuration(dict(zip(axes, combo)))


def _sample(split: Split) -> Split:
    """Up to :data:`TRY_EVENTS` events of each class."""
    keep = np.concatenate([np.flatnonzero(split.y == label)[:TRY_EVENTS] for label in (0, 1)])
    keep.sort()
    return split.take(keep)


def _call(ref: str, name: str, method: str, func: Any, *args: Any) -> Any:
    try:
        return func(*args)
    except Exception as err:  # noqa: BLE001
        raise UsageError(f"--model {ref}: {name}.{method} failed ({one_line(err)})") from None


def _check_scores(ref: str, what: str, scores: Any, n: int) -> None:
    shape = np.shape(scores)
    if shape != (n,):
        raise UsageError(f"--model {ref}: {what} shape {shape} for {n} events; return one score per event, shape ({n},)")
    if not np.issubdtype(np.asarray(scores).dtype, np.number):
        raise UsageError(f"--model {ref}: {what} {np.asarray(scores).dtype} values; return numbers")


__all__ = ["check_missing_values", "check_plugin", "default_space", "features_with_missing"]
