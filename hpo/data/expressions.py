"""Expressions over columns: derived features, selections, weights and labels of a description.

An expression is written like Python arithmetic over column (branch) names and is evaluated
column-wise by awkward and numpy, so per-object (jagged) ROOT branches work as well as flat ones::

    sqrt(DER_pt_h**2 + 1)                 # arithmetic and functions
    Muon_pt[0]                            # the leading muon's pt (missing where there is none)
    Jet_eta[1]                            # the second jet's eta
    count(Jet_pt > 30)                    # the number of jets above 30 GeV
    max(abs(Jet_eta[Jet_pt > 30]))        # a reduction over the selected objects
    nMuon >= 2 and Muon_charge[0] != Muon_charge[1]   # a selection
    where(PRI_jet_num > 0, PRI_jet_leading_pt, 0)

The text is parsed by Python's own parser (:mod:`ast`) and only a small set of node types is
accepted: numbers (and ``True``/``False``), column names, ``pi``, ``inf``, ``nan``, arithmetic, comparisons, ``and``/``or``/``not`` (also ROOT's
``&&``, ``||``, ``!``), ``&``/``|``/``~``, calls of the functions in :data:`FUNCTIONS`, an integer
index or a boolean mask in brackets. Nothing is passed to :func:`eval`: there is no attribute
access, no import and no name outside the columns and the functions.

Missing values: an index past the end of an event's list (``Muon_pt[0]`` without a muon), the
maximum or minimum of an empty list, and NaN in the input are *missing* (NaN in the result); what
happens to such events is the description's ``missing`` rule. ``sum`` and ``count`` of an empty
list are 0. In a selection a missing value counts as false.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any

import awkward as ak
import numpy as np

MAX_LENGTH = 4000  # characters; an expression is one line of physics, not a program


class ExpressionError(ValueError):
    """An expression that does not parse, uses something not allowed, or cannot be evaluated."""


def _reducer(name: str, fn: Callable[..., Any], elementwise: Callable[..., Any] | None = None) -> Callable[..., Any]:
    def reduce(*args: Any) -> Any:
        if len(args) == 2 and elementwise is not None:
            return elementwise(*args)
        if len(args) != 1:
            raise ExpressionError(f"{name}() takes one list per event{' or two values' if elementwise else ''}")
        (values,) = args
        if _depth(values) < 2:
            if elementwise is not None:
                return values  # max/min of one value per event is the value itself
            raise ExpressionError(f"{name}() needs a list per event (a jagged branch), not one value per event")
        return fn(values, axis=-1)

    return reduce


def _depth(values: Any) -> int:
    if isinstance(values, ak.Array):
        return values.ndim
    return np.ndim(values)


def _where(condition: Any, yes: Any, no: Any) -> Any:
    return ak.where(condition, yes, no)


def _count(values: Any) -> Any:
    if _depth(values) < 2:
        raise ExpressionError("count() needs a list per event, e.g. count(Jet_pt > 30)")
    return ak.count_nonzero(values, axis=-1)


def _num(values: Any) -> Any:
    if _depth(values) < 2:
        raise ExpressionError("len() needs a list per event, e.g. len(Muon_pt)")
    return ak.num(values, axis=-1)


#: The functions an expression may call.
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": np.abs, "sqrt": np.sqrt, "log": np.log, "log10": np.log10, "exp": np.exp,
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "arcsin": np.arcsin, "arccos": np.arccos, "arctan": np.arctan,
    "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh, "arctan2": np.arctan2, "hypot": np.hypot,
    "where": _where, "isnan": np.isnan,
    "sum": _reducer("sum", ak.sum), "mean": _reducer("mean", ak.mean),
    "max": _reducer("max", ak.max, np.maximum), "min": _reducer("min", ak.min, np.minimum),
    "any": _reducer("any", ak.any), "all": _reducer("all", ak.all),
    "count": _count, "len": _num,
}  # fmt: skip

CONSTANTS: dict[str, float] = {"pi": np.pi, "inf": np.inf, "nan": np.nan}

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
    ast.BitAnd: np.logical_and, ast.BitOr: np.logical_or, ast.BitXor: np.logical_xor,
}  # fmt: skip
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.Eq: operator.eq, ast.NotEq: operator.ne,
}  # fmt: skip
_UNARY: dict[type, Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: np.logical_not,
                                            ast.Invert: np.logical_not}  # fmt: skip

# ROOT/C++ spellings of the logical operators, rewritten to Python's before parsing.
_ROOT_LOGIC = ((re.compile(r"&&"), " and "), (re.compile(r"\|\|"), " or "), (re.compile(r"!(?!=)"), " not "))


class Expression:
    """A parsed, checked expression; :attr:`names` are the columns it reads."""

    def __init__(self, text: str) -> None:
        if not isinstance(text, str) or not text.strip():
            raise ExpressionError("an expression must be a non-empty string")
        if len(text) > MAX_LENGTH:
            raise ExpressionError(f"expression of {len(text)} characters is too long (at most {MAX_LENGTH})")
        self.text = text
        source = text.strip()
        for pattern, replacement in _ROOT_LOGIC:
            source = pattern.sub(replacement, source)
        try:
            self._tree = ast.parse(source.strip(), mode="eval").body
        except SyntaxError as err:
            raise ExpressionError(f"expression {text!r} does not parse ({err.msg}); write it like Python arithmetic") from None
        self._check(self._tree)

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    @property
    def is_column(self) -> bool:
        """Whether the expression is one bare column name."""
        return isinstance(self._tree, ast.Name) and self._tree.id not in CONSTANTS

    @cached_property
    def names(self) -> list[str]:
        """Column names the expression reads, in order of appearance."""
        found = [n.id for n in ast.walk(self._tree) if isinstance(n, ast.Name)]
        return list(dict.fromkeys(n for n in found if n not in CONSTANTS and n not in FUNCTIONS))

    def _check(self, node: ast.AST) -> None:
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, (bool, int, float)):
                raise ExpressionError(f"expression {self.text!r}: only numbers may appear as constants, not {node.value!r}")
        elif isinstance(node, ast.Name):
            if node.id in FUNCTIONS:
                raise ExpressionError(f"expression {self.text!r}: {node.id} is a function; call it, e.g. {node.id}(x)")
        elif isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                called = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
                raise ExpressionError(
                    f"expression {self.text!r} calls unknown function {called!r}; functions: {', '.join(FUNCTIONS)}"
                )
            if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
                raise ExpressionError(f"expression {self.text!r}: {node.func.id}() takes plain arguments only")
            for arg in node.args:
                self._check(arg)
        elif isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            self._check(node.left)
            self._check(node.right)
        elif isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            self._check(node.operand)
        elif isinstance(node, ast.BoolOp):
            for value in node.values:
                self._check(value)
        elif isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
            for value in (node.left, *node.comparators):
                self._check(value)
        elif isinstance(node, ast.Subscript):
            self._check(node.value)
            if _integer(node.slice) is None:
                self._check(node.slice)
        else:
            what = {ast.Attribute: "attribute access", ast.Lambda: "lambda", ast.IfExp: "'if ... else' (use where())"}.get(
                type(node), type(node).__name__
            )
            raise ExpressionError(f"expression {self.text!r} uses {what}, which expressions do not allow")

    def evaluate(self, columns: Mapping[str, Any]) -> Any:
        """The expression's value per event (an awkward or numpy array), given every column in :attr:`names`."""
        try:
            with np.errstate(all="ignore"):
                return self._eval(self._tree, columns)
        except ExpressionError:
            raise
        except (ValueError, TypeError, ak.errors.FieldNotFoundError) as err:  # awkward's broadcasting errors
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ExpressionError(f"expression {self.text!r} cannot be evaluated: {first[:200]}") from None

    def _eval(self, node: ast.AST, columns: Mapping[str, Any]) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return CONSTANTS[node.id] if node.id in CONSTANTS else columns[node.id]
        if isinstance(node, ast.Call):
            return FUNCTIONS[node.func.id](*(self._eval(a, columns) for a in node.args))  # type: ignore[union-attr]
        if isinstance(node, ast.BinOp):
            return _BINARY[type(node.op)](self._eval(node.left, columns), self._eval(node.right, columns))
        if isinstance(node, ast.UnaryOp):
            return _UNARY[type(node.op)](self._eval(node.operand, columns))
        if isinstance(node, ast.BoolOp):
            combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            result = self._eval(node.values[0], columns)
            for value in node.values[1:]:
                result = combine(result, self._eval(value, columns))
            return result
        if isinstance(node, ast.Compare):
            result, left = None, self._eval(node.left, columns)
            for op, comparator in zip(node.ops, node.comparators):
                right = self._eval(comparator, columns)
                step = _COMPARE[type(op)](left, right)
                result = step if result is None else np.logical_and(result, step)
                left = right
            return result
        if isinstance(node, ast.Subscript):
            return self._subscript(node, columns)
        raise ExpressionError(f"expression {self.text!r}: cannot evaluate {type(node).__name__}")  # _check forbids it

    def _subscript(self, node: ast.Subscript, columns: Mapping[str, Any]) -> Any:
        values = self._eval(node.value, columns)
        if _depth(values) < 2:
            raise ExpressionError(
                f"expression {self.text!r}: {ast.unparse(node.value)} has one value per event, not a list; it cannot be indexed"
            )
        values = ak.Array(values) if not isinstance(values, ak.Array) else values
        index = _integer(node.slice)
        if index is not None:  # the index-th object, missing where the event has fewer
            stop = index + 1 if index != -1 else None
            return ak.firsts(values[:, index:stop], axis=1)
        mask = self._eval(node.slice, columns)
        if _depth(mask) < 2:
            raise ExpressionError(f"expression {self.text!r}: select objects with a condition on a list, e.g. Jet_pt[Jet_pt > 30]")
        return values[ak.fill_none(mask, False)]


def _integer(node: ast.AST) -> int | None:
    """The value of an integer literal (or its negation), else None."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _integer(node.operand)
        return None if inner is None else -inner
    return None


def to_numpy(values: Any, n: int, what: str) -> np.ndarray:
    """One float64 value per event (NaN where missing) from an expression's result.

    Raises :class:`ExpressionError` when the result still holds a list per event (``what`` names
    the expression in the message).
    """
    if _depth(values) == 0:  # a constant
        return np.full(n, float(values))
    if _depth(values) > 1:
        raise ExpressionError(f"{what} gives a list per event; take one object ([0]) or reduce it (sum, max, count)")
    if isinstance(values, ak.Array):
        values = ak.to_numpy(ak.fill_none(values, np.nan), allow_missing=False)
    out = np.asarray(values)
    if out.dtype.kind not in "biuf":
        raise ExpressionError(f"{what} is not numeric ({out.dtype})")
    return out.astype(np.float64)


def to_mask(values: Any, n: int, what: str) -> np.ndarray:
    """A boolean mask (missing counts as false) from a selection's result."""
    if _depth(values) == 0:
        return np.full(n, bool(values))
    if _depth(values) > 1:
        raise ExpressionError(f"{what} gives a list per event; combine it with any(), all() or count()")
    if isinstance(values, ak.Array):
        values = ak.to_numpy(ak.fill_none(values, False), allow_missing=False)
    out = np.asarray(values)
    if out.dtype.kind == "f":
        out = np.nan_to_num(out, nan=0.0)
    return out.astype(bool)
