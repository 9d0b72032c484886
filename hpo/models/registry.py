"""Finding a model by its reference: a built-in name, an ``hpo.models`` entry point or ``module:Class``.

A reference is what ``--model`` and a space file's ``model:`` hold, and what a study records:

* ``ann``, ``rf``, ``bdt``: the built-in models;
* a name registered by an installed package in the ``hpo.models`` entry-point group, e.g. in its
  ``pyproject.toml``: ``[project.entry-points."hpo.models"] adaboost = "mypkg.models:AdaBoost"``;
* ``package.module:Class``: a :class:`~hpo.models.Model` subclass in an importable module (the
  current directory is searched too, as ``python -m`` does).

Every problem with a plug-in (import error, missing class, not a Model, abstract methods left,
bad hyperparameter declarations) is a :class:`~hpo.errors.UsageError` of one line.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
import os
import re
import sys
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from hpo import __version__
from hpo.errors import UsageError
from hpo.models.base import Model
from hpo.spaces.models import Accepts, ModelSchema

#: The entry-point group where installed packages register their models.
ENTRY_POINT_GROUP = "hpo.models"
#: The built-in models and their classes.
BUILTIN: dict[str, str] = {"ann": "hpo.models.ann:ANN", "rf": "hpo.models.rf:RandomForest", "bdt": "hpo.models.bdt:BDT"}

ModelLike = str | Model | type[Model]


def available_models() -> list[str]:
    """The built-in model names, then the names of installed ``hpo.models`` entry points."""
    return [*BUILTIN, *sorted(n for n in _entry_points() if n not in BUILTIN)]


def is_builtin(ref: str) -> bool:
    """Whether ``ref`` names a built-in model."""
    return ref in BUILTIN


def model_ref(model: ModelLike) -> str:
    """The reference of ``model``: a string as given, or ``module:Class`` of a class or instance
    (a built-in's name for the built-ins). A class must live in an importable module, since the
    study records the reference and workers import it."""
    if isinstance(model, str):
        return model
    cls = model if isinstance(model, type) else type(model)
    target = f"{cls.__module__}:{cls.__qualname__}"
    for name, path in BUILTIN.items():
        if path == target:
            return name
    if cls.__module__ == "__main__" or "<locals>" in cls.__qualname__:
        raise UsageError(
            f"model class {cls.__qualname__} is defined in {'a script' if cls.__module__ == '__main__' else 'a function'}; "
            "workers import models by name: move it to a module and pass 'module:Class'"
        )
    return target


def get_model(model: ModelLike) -> Model:
    """The model instance for a reference, class or instance (validated; one-line errors)."""
    if isinstance(model, Model):
        _check_class(type(model), model_ref(model))
        return model
    return _load(model_ref(model))


def model_schema(model: ModelLike) -> ModelSchema:
    """The hyperparameters and settings ``model`` accepts, named by its reference."""
    instance = get_model(model)
    return ModelSchema(model_ref(model), tunable=dict(instance.hyperparameters), settings=dict(instance.settings))


def model_class_path(model: ModelLike) -> str:
    """``module:Class`` of the code behind a reference (resolving built-in and entry-point names)."""
    cls = type(get_model(model))
    return f"{cls.__module__}:{cls.__qualname__}"


def model_code(model: ModelLike) -> dict[str, str]:
    """What a study records about the code of ``model``: ``module``, ``class`` and ``version``.

    The version is that of the installed distribution that holds the module, else the module's
    ``__version__``, else ``sha256:`` and the start of the hash of its source file.
    """
    cls = type(get_model(model))
    module = sys.modules[cls.__module__]
    return {"module": cls.__module__, "class": cls.__qualname__, "version": _version(module)}


def code_differences(recorded: Mapping[str, str], current: Mapping[str, str], ref: str) -> list[str]:
    """The fields of :func:`model_code` that differ (the version only counts for plug-ins:
    a built-in model changes with hpo, whose version the study records separately)."""
    keys = ("module", "class") if is_builtin(ref) else ("module", "class", "version")
    return [k for k in keys if recorded.get(k) != current.get(k)]


def clear_cache() -> None:
    """Forget resolved models (after installing a package or editing a model module)."""
    _load.cache_clear()
    _entry_points.cache_clear()


# -- resolution -------------------------------------------------------------------------------
_CLASS_PATH = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")


@functools.cache
def _load(ref: str) -> Model:
    if ref in BUILTIN:
        cls = _import(BUILTIN[ref], ref)
    elif ":" in ref:
        if not _CLASS_PATH.match(ref):
            raise UsageError(f"--model {ref!r}: write package.module:Class (Python names separated by dots)")
        cls = _import(ref, ref)
    else:
        entry = _entry_points().get(ref)
        if entry is None:
            raise UsageError(
                f"unknown model {ref!r}; choose one of {', '.join(available_models())}, "
                "or give a Model subclass as package.module:Class"
            )
        try:
            cls = entry.load()
        except Exception as err:  # noqa: BLE001 - any failure of the plug-in is reported as one line
            raise UsageError(f"--model {ref}: the entry point {entry.value!r} cannot be loaded ({one_line(err)})") from None
    _check_class(cls, ref)
    try:
        return cls()
    except Exception as err:  # noqa: BLE001
        raise UsageError(f"--model {ref}: {cls.__qualname__}() failed ({one_line(err)}); a model must build without arguments") from None


def _import(path: str, ref: str) -> Any:
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise UsageError(f"--model {ref}: write package.module:Class")
    try:
        module = _import_module(module_name)
    except Exception as err:  # noqa: BLE001 - an import error of the user's module is one line
        raise UsageError(f"--model {ref}: cannot import {module_name} ({one_line(err)})") from None
    obj: Any = module
    for part in attr.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise UsageError(f"--model {ref}: module {module_name} has no {attr}")
    return obj


def _import_module(name: str) -> Any:
    """Import ``name``, looking in the current directory too when it is not found elsewhere."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as err:
        cwd = os.getcwd()
        if err.name != name.split(".")[0] or cwd in sys.path or "" in sys.path:
            raise
        sys.path.append(cwd)
        importlib.invalidate_caches()
        return importlib.import_module(name)


def _check_class(cls: Any, ref: str) -> None:
    if not (isinstance(cls, type) and issubclass(cls, Model)):
        raise UsageError(f"--model {ref}: {getattr(cls, '__qualname__', cls)!r} is not a subclass of hpo.models.Model")
    missing = sorted(getattr(cls, "__abstractmethods__", ()))
    if missing:
        raise UsageError(f"--model {ref}: {cls.__qualname__} does not define {', '.join(missing)} (see hpo.models.Model)")
    for attr in ("hyperparameters", "settings"):
        declared = getattr(cls, attr)
        if not isinstance(declared, Mapping) or not all(isinstance(k, str) and isinstance(v, Accepts) for k, v in declared.items()):
            raise UsageError(f"--model {ref}: {cls.__qualname__}.{attr} must map names to hpo.models.Accepts")
    if not cls.hyperparameters:
        raise UsageError(f"--model {ref}: {cls.__qualname__}.hyperparameters is empty; declare what a space can tune")
    clash = sorted(set(cls.hyperparameters) & set(cls.settings))
    if clash:
        raise UsageError(f"--model {ref}: {cls.__qualname__} declares {', '.join(clash)} both as hyperparameter and setting")
    for name in ("build", "fit", "predict", "feature_importances", "save", "load", "handles_missing"):
        if not callable(getattr(cls, name, None)):
            raise UsageError(f"--model {ref}: {cls.__qualname__}.{name} is not a method")


@functools.cache
def _entry_points() -> dict[str, metadata.EntryPoint]:
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def _version(module: Any) -> str:
    if module.__name__.split(".")[0] == "hpo":
        return __version__
    top = module.__name__.split(".")[0]
    for dist in metadata.packages_distributions().get(top, []):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    version = getattr(module, "__version__", None)
    if isinstance(version, str):
        return version
    try:
        source = Path(inspect.getfile(module)).read_bytes()
    except (TypeError, OSError):
        return "unknown"
    return "sha256:" + hashlib.sha256(source).hexdigest()[:16]


def one_line(err: BaseException) -> str:
    """``Type: first line of the message`` of an exception raised by a plug-in."""
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0]}" if text else type(err).__name__
