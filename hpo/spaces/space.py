"""A validated search space and its translations to every algorithm's form."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pydantic

from hpo.errors import SpaceError
from hpo.spaces.grid import MAX_GRID_LEVELS, Grid
from hpo.spaces.models import ModelSchema
from hpo.spaces.spec import ParamSpec, SpaceSpec

if TYPE_CHECKING:
    import optuna
    from skopt.space import Dimension

DEFAULT_GRID_LEVELS = 3


class SearchSpace:
    """The hyperparameters one model is tuned over, plus the settings pinned for every trial.

    Build one with :func:`hpo.spaces.load_space` (from YAML) or :meth:`from_dict` (from the JSON
    stored on a study). Invalid specifications raise :class:`~hpo.errors.SpaceError` naming the
    source and the offending key.
    """

    def __init__(self, spec: SpaceSpec, source: str = "<dict>") -> None:
        self.spec = spec
        self.source = source
        _check_against_model(spec, source)

    # -- description ------------------------------------------------------------------------
    @property
    def model(self) -> str:
        return self.spec.model

    @property
    def schema(self) -> ModelSchema:
        """What the space's model accepts (a built-in's, or a plug-in's declared hyperparameters)."""
        return _schema(self.model, self.source)

    @property
    def params(self) -> Mapping[str, ParamSpec]:
        """The searched hyperparameters, in suggestion order."""
        return self.spec.params

    @property
    def names(self) -> list[str]:
        return list(self.spec.params)

    @property
    def fixed(self) -> dict[str, Any]:
        """Pinned hyperparameters and settings as written in the space (no model defaults)."""
        return dict(self.spec.fixed)

    def missing(self) -> list[str]:
        """Hyperparameters the model needs that the space neither searches nor pins."""
        return [name for name in self.schema.tunable if name not in self.spec.params and name not in self.spec.fixed]

    def check_complete(self) -> SearchSpace:
        """This space if it gives the model every hyperparameter it needs, else a :class:`SpaceError`.

        Partial spaces are fine for sampling; a space that trains models must be complete, or
        every trial would fail on the missing value.
        """
        missing = self.missing()
        if missing:
            raise SpaceError(
                f"search space {self.source}: {', '.join(missing)}: model {self.model} needs "
                f"{'this hyperparameter' if len(missing) == 1 else 'these hyperparameters'}; "
                "search it under 'params' or pin it under 'fixed' (or with --set KEY=VALUE)"
            )
        return self

    def configuration(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Everything a model is built from: setting defaults, then ``fixed``, then ``params``."""
        return {**self.schema.defaults(), **self.spec.fixed, **params}

    def __repr__(self) -> str:
        return f"SearchSpace(model={self.model!r}, params={self.names}, source={self.source!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SearchSpace) and self.to_dict() == other.to_dict()

    # -- serialisation ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible description that :meth:`from_dict` rebuilds exactly."""
        return self.spec.model_dump(mode="json", exclude_defaults=True) | {"model": self.model}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<dict>") -> SearchSpace:
        """Validate and build a space from its dictionary form (YAML or :meth:`to_dict`)."""
        if not isinstance(data, Mapping):
            raise SpaceError(f"search space {source}: expected a mapping with 'model', 'params' and 'fixed'")
        try:
            spec = SpaceSpec.model_validate(dict(data))
        except pydantic.ValidationError as err:
            raise SpaceError(f"search space {source}: {_describe(err)}") from None
        return cls(spec, source)

    def with_overrides(self, fixed: Mapping[str, Any]) -> SearchSpace:
        """A copy with more pinned values; pinning a searched hyperparameter stops searching it."""
        data = self.to_dict()
        data["params"] = {k: v for k, v in data.get("params", {}).items() if k not in fixed}
        data["fixed"] = {**data.get("fixed", {}), **fixed}
        return SearchSpace.from_dict(data, f"{self.source} with overrides {', '.join(fixed)}")

    # -- Optuna -----------------------------------------------------------------------------
    def distributions(self) -> dict[str, optuna.distributions.BaseDistribution]:
        """Optuna distributions of the searched hyperparameters (what :meth:`suggest` samples)."""
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        out: dict[str, optuna.distributions.BaseDistribution] = {}
        for name, p in self.params.items():
            if p.type == "int":
                out[name] = IntDistribution(int(p.low), int(p.high), log=p.log, step=int(p.step or 1))
            elif p.type == "float":
                out[name] = FloatDistribution(p.low, p.high, log=p.log, step=p.step)
            else:
                out[name] = CategoricalDistribution(_choices(p))
        return out

    def suggest(self, trial: optuna.trial.BaseTrial) -> dict[str, Any]:
        """Ask ``trial`` for every searched hyperparameter; returns ``{name: value}``."""
        out: dict[str, Any] = {}
        for name, p in self.params.items():
            if p.type == "int":
                out[name] = trial.suggest_int(name, int(p.low), int(p.high), step=int(p.step or 1), log=p.log)
            elif p.type == "float":
                out[name] = trial.suggest_float(name, p.low, p.high, step=p.step, log=p.log)
            else:
                out[name] = trial.suggest_categorical(name, _choices(p))
        return out

    # -- grid -------------------------------------------------------------------------------
    def grid_values(self, levels: int | None = None) -> dict[str, list[Any]]:
        """Grid points of each hyperparameter.

        Explicit ``values``/``choices`` are used as given; other numeric ranges get ``levels``
        points (the argument, else the parameter's own ``levels``, else 3), log-spaced for log
        parameters, snapped to ``step`` and, for integers, rounded and deduplicated.
        """
        if levels is not None and not 1 <= levels <= MAX_GRID_LEVELS:
            raise SpaceError(f"grid levels must be between 1 and {MAX_GRID_LEVELS}, got {levels}")
        return {name: _grid_axis(p, levels) for name, p in self.params.items()}

    def grid(self, levels: int | None = None) -> Grid:
        """The grid: every point as a parameter dict, in a fixed order (the last parameter varies fastest).

        The :class:`~hpo.spaces.grid.Grid` holds only the axes: ``len`` counts the points without
        building them, and iterating or indexing makes them one at a time.
        """
        return Grid(self.grid_values(levels))

    # -- scikit-optimize --------------------------------------------------------------------
    def skopt_dimensions(self) -> list[Dimension]:
        """scikit-optimize dimensions of the searched hyperparameters, in :attr:`names` order."""
        from skopt.space import Categorical, Integer, Real

        dims: list[Dimension] = []
        for name, p in self.params.items():
            prior = "log-uniform" if p.log else "uniform"
            if p.type in ("categorical", "bool") or p.low == p.high:
                dims.append(Categorical(_choices(p) if p.type in ("categorical", "bool") else [_cast(p, p.low)], name=name))
            elif p.type == "int":
                dims.append(Integer(int(p.low), int(p.high), prior=prior, name=name))
            else:
                dims.append(Real(p.low, p.high, prior=prior, name=name))
        return dims

    def params_from_skopt(self, point: Sequence[Any]) -> dict[str, Any]:
        """Parameter dict of a scikit-optimize point (plain Python values, snapped to ``step``)."""
        if len(point) != len(self.params):
            raise ValueError(f"point has {len(point)} values, the space {len(self.params)} parameters")
        return {name: _cast(p, v) for (name, p), v in zip(self.params.items(), point)}

    def skopt_from_params(self, params: Mapping[str, Any]) -> list[Any]:
        """The scikit-optimize point of a parameter dict (the inverse of :meth:`params_from_skopt`)."""
        missing = [n for n in self.params if n not in params]
        if missing:
            raise ValueError(f"parameters {missing} missing from {dict(params)}")
        return [_cast(p, params[name]) for name, p in self.params.items()]


# -- helpers ------------------------------------------------------------------------------------
def _choices(p: ParamSpec) -> list[Any]:
    return [False, True] if p.type == "bool" else list(p.choices or [])


def _cast(p: ParamSpec, value: Any) -> Any:
    """``value`` as the plain Python type of ``p``, snapped to its step and range."""
    if p.type == "bool":
        return bool(value)
    if p.type == "categorical":
        for c in p.choices or []:  # the spec's own object (a numpy scalar compares equal to it)
            if c == value and isinstance(c, bool) == isinstance(value, (bool, np.bool_)):
                return c
        raise ValueError(f"{value!r} is not one of the choices {p.choices}")
    value = float(value)
    if p.step:
        value = p.low + round((value - p.low) / p.step) * p.step
    value = min(max(value, p.low), p.high)
    return int(round(value)) if p.type == "int" else float(f"{value:.12g}")


def _grid_axis(p: ParamSpec, levels: int | None) -> list[Any]:
    if p.type in ("categorical", "bool"):
        return _choices(p)
    if p.values is not None:
        return [_cast(p, v) for v in p.values]
    n = levels or p.levels or DEFAULT_GRID_LEVELS
    points = np.geomspace(p.low, p.high, n) if p.log else np.linspace(p.low, p.high, n)
    return list(dict.fromkeys(_cast(p, v) for v in points))


def _schema(model: str, source: str) -> ModelSchema:
    from hpo.errors import UsageError
    from hpo.models.registry import model_schema

    try:
        return model_schema(model)
    except UsageError as err:
        raise SpaceError(f"search space {source}: model: {str(err).removeprefix(f'--model {model}: ')}") from None


def _check_against_model(spec: SpaceSpec, source: str) -> None:
    schema = _schema(spec.model, source)
    known = ", ".join([*schema.tunable, *schema.settings])
    for name, p in spec.params.items():
        accepts = schema.tunable.get(name)
        if accepts is None:
            hint = " (a setting: put it under 'fixed')" if name in schema.settings else f" (searchable: {', '.join(schema.tunable)})"
            raise SpaceError(f"search space {source}: params.{name}: model {spec.model} has no hyperparameter {name!r}{hint}")
        if p.type in ("int", "float") and accepts.kind not in (int, float):
            raise SpaceError(f"search space {source}: params.{name}.type: {name} takes {accepts.kind.__name__} values, not {p.type}")
        if p.type == "float" and accepts.kind is int:
            raise SpaceError(f"search space {source}: params.{name}.type: {name} takes integers; use type: int")
        if p.type == "bool" and accepts.kind is not bool:
            raise SpaceError(f"search space {source}: params.{name}.type: {name} is not a yes/no option")
        candidates: Iterable[tuple[str, Any]]
        if p.type in ("categorical", "bool"):
            candidates = (("choices", c) for c in _choices(p))
        else:
            candidates = (("low", _cast(p, p.low)), ("high", _cast(p, p.high)))
        for key, value in candidates:
            problem = accepts.problem(value)
            if problem:
                raise SpaceError(f"search space {source}: params.{name}.{key}: {problem}")
    for name, value in spec.fixed.items():
        accepts = schema.accepts(name)
        if accepts is None:
            raise SpaceError(f"search space {source}: fixed.{name}: model {spec.model} has no setting {name!r} (known: {known})")
        problem = accepts.problem(value)
        if problem:
            raise SpaceError(f"search space {source}: fixed.{name}: {problem}")
        if name in spec.params:
            raise SpaceError(f"search space {source}: fixed.{name}: {name} is also searched under 'params'; keep one")


def _describe(err: pydantic.ValidationError) -> str:
    """The first pydantic error as ``dotted.key: message``."""
    e = err.errors()[0]
    loc = ".".join(str(part) for part in e["loc"])
    if e["type"] == "extra_forbidden":
        parent = SpaceSpec if len(e["loc"]) == 1 else ParamSpec
        return f"{loc}: unknown key (allowed: {', '.join(parent.model_fields)})"
    if e["type"] == "missing":
        return f"{loc}: required key missing"
    msg = e["msg"].removeprefix("Value error, ")
    if e["type"] == "literal_error" and e["loc"][-1] == "type":
        msg = f"unknown type {e['input']!r}; use int, float, categorical or bool"
    return f"{loc}: {msg}"
