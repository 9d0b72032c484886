"""Grids of a search space: counted from their axes, enumerated lazily, never held whole in memory.

A grid is the Cartesian product of one axis per hyperparameter. :class:`Grid` keeps only the axes,
so its size is known before any point exists, any point is computed from its index, and iterating
yields the points one at a time (the queue needs only the next few). :func:`check_grid_size`
refuses grids larger than a stated limit, with their size, before a study starts.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, overload

from hpo.errors import UsageError

#: Most points of one numeric axis (``--grid-levels`` or a parameter's ``levels``).
MAX_GRID_LEVELS = 10_000


class Grid(Sequence[dict[str, Any]]):
    """Every combination of ``axes`` (name -> values) in a fixed order, the last axis varying fastest."""

    def __init__(self, axes: Mapping[str, Sequence[Any]]) -> None:
        self.axes = {name: list(values) for name, values in axes.items()}
        self.names = list(self.axes)

    def __len__(self) -> int:
        return math.prod(len(values) for values in self.axes.values())

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        size = len(self)
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError(f"grid point {index} of a grid of {size}")
        point = {}
        for name in reversed(self.names):  # mixed-radix digits, last axis fastest
            values = self.axes[name]
            index, digit = divmod(index, len(values))
            point[name] = values[digit]
        return {name: point[name] for name in self.names}

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for combo in itertools.product(*self.axes.values()):
            yield dict(zip(self.names, combo))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Grid):
            return self.axes == other.axes
        if isinstance(other, Sequence) and not isinstance(other, str):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Grid({len(self):,} points: {', '.join(f'{n} x{len(v)}' for n, v in self.axes.items())})"


def check_grid_size(grid: Grid, limit: int, source: str, levels: int | None = None) -> Grid:
    """``grid`` if it has at most ``limit`` points, else a :class:`~hpo.errors.UsageError` with its size."""
    size = len(grid)
    if size > limit:
        shape = " x ".join(str(len(v)) for v in grid.axes.values())
        with_levels = f" with --grid-levels {levels}" if levels is not None else ""
        raise UsageError(
            f"the grid of search space {source}{with_levels} has {size:,} points ({shape}), more than the limit of "
            f"{limit:,}; lower --grid-levels or give fewer values, or raise the limit with --max-grid-points {size}"
        )
    return grid
