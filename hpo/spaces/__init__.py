"""Declarative search spaces: YAML files in ``search_spaces/`` translated to every algorithm's form.

>>> from hpo.spaces import load_space
>>> space = load_space("rf-exercise-grid")
>>> len(space.grid())
192
"""

from __future__ import annotations

from hpo.options import DEFAULT_MAX_GRID_POINTS
from hpo.spaces.grid import MAX_GRID_LEVELS, Grid, check_grid_size
from hpo.spaces.loading import available_spaces, load_space, parse_assignments, resolve_space, search_dirs
from hpo.spaces.models import MODELS, Accepts, ModelSchema
from hpo.spaces.space import DEFAULT_GRID_LEVELS, SearchSpace
from hpo.spaces.spec import ParamSpec, SpaceSpec

__all__ = [
    "DEFAULT_GRID_LEVELS",
    "DEFAULT_MAX_GRID_POINTS",
    "MAX_GRID_LEVELS",
    "MODELS",
    "Accepts",
    "ModelSchema",
    "ParamSpec",
    "SearchSpace",
    "SpaceSpec",
    "Grid",
    "available_spaces",
    "check_grid_size",
    "load_space",
    "parse_assignments",
    "resolve_space",
    "search_dirs",
]
