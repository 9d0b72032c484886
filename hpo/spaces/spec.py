"""The YAML schema of a search-space file, validated with pydantic.

A file holds one model's space::

    model: rf
    params:                        # searched hyperparameters, in the order trials suggest them
      n_estimators: {type: int, low: 100, high: 1000, log: true}
      criterion: {type: categorical, choices: [gini, entropy]}
      bootstrap: {type: bool}
      max_depth: {type: int, low: 3, high: 5, values: [3, 5]}   # grid uses `values`
    fixed:                         # pinned hyperparameters and model settings
      prune_stages: 4

Parameter keys: ``type`` (int, float, categorical, bool), ``low``/``high`` (inclusive range of
int and float), ``log`` (log-uniform; needs ``low > 0``), ``step`` (quantisation; not with
``log``), ``choices`` (categorical), ``values`` (explicit grid points of a numeric range; the
range defaults to their min and max) and ``levels`` (number of grid points spread over the range,
log-spaced for ``log`` parameters).
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hpo.spaces.grid import MAX_GRID_LEVELS

Scalar = bool | int | float | str


class ParamSpec(BaseModel):
    """One searched hyperparameter."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["int", "float", "categorical", "bool"]
    low: int | float | None = None
    high: int | float | None = None
    log: bool = False
    step: int | float | None = Field(default=None, gt=0)
    choices: list[Scalar] | None = None
    values: list[int | float] | None = None
    levels: int | None = Field(default=None, ge=2, le=MAX_GRID_LEVELS)

    @model_validator(mode="after")
    def _consistent(self) -> ParamSpec:
        numeric = self.type in ("int", "float")
        if not numeric:
            extra = [k for k in ("low", "high", "step", "values", "levels") if getattr(self, k) is not None]
            if self.log:
                extra.append("log")
            if extra:
                raise ValueError(f"{', '.join(extra)} cannot be used with type {self.type}")
        if self.type == "categorical":
            if not self.choices:
                raise ValueError("categorical needs a non-empty 'choices' list")
            if len(set(map(repr, self.choices))) != len(self.choices):
                raise ValueError(f"choices {self.choices} contain duplicates")
        elif self.choices is not None:
            raise ValueError(f"choices cannot be used with type {self.type} (use type: categorical)")
        if not numeric:
            return self
        if self.values is not None:
            if not self.values:
                raise ValueError("values must not be empty")
            if len(set(self.values)) != len(self.values):
                raise ValueError(f"values {self.values} contain duplicates")
            low = min(self.values) if self.low is None else self.low
            high = max(self.values) if self.high is None else self.high
            object.__setattr__(self, "low", low)
            object.__setattr__(self, "high", high)
            outside = [v for v in self.values if not low <= v <= high]
            if outside:
                raise ValueError(f"values {outside} lie outside [{low:g}, {high:g}]")
        if self.low is None or self.high is None:
            raise ValueError(f"type {self.type} needs 'low' and 'high' (or 'values')")
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ValueError("low and high must be finite")
        if self.low > self.high or (self.low == self.high and self.values is None):
            raise ValueError(f"low ({self.low:g}) must be below high ({self.high:g})")
        if self.log and self.low <= 0:
            raise ValueError(f"log scale needs low > 0, got {self.low:g}")
        if self.log and self.step is not None:
            raise ValueError("step cannot be combined with log")
        if self.type == "int":
            ints = [self.low, self.high, *(self.values or []), *([self.step] if self.step else [])]
            if any(v != int(v) for v in ints):
                raise ValueError("low, high, step and values of an int parameter must be integers")
        return self


class SpaceSpec(BaseModel):
    """A whole search-space file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str
    params: dict[str, ParamSpec] = Field(default_factory=dict)
    fixed: dict[str, Any] = Field(default_factory=dict)
    description: str = ""
