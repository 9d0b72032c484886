"""Reading the input files of a description: file lookup, ROOT and CSV readers, expressions, cut flow.

:func:`read_file` turns one input file into one row per event: the features and observables
(NaN where undefined), the scaled weight, the class, the fixed split if any and the identifiers,
plus which events pass the selection and the missing-value rules, step by step. Preparation keeps
the passing events; ``hpo export`` keeps every row and marks the others invalid.
"""

from __future__ import annotations

import difflib
import glob
import hashlib
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import pandas as pd
import uproot
import vector

from hpo import paths
from hpo.data.description import CSV_SUFFIXES, ROLES, DatasetDescription, DerivedFeature, ProcessSpec
from hpo.data.expressions import Expression, ExpressionError, to_mask, to_numpy
from hpo.errors import DataError

DATA_ROOT_ENV = "HPO_DATA_ROOT"
RANDOM_SPLIT = 255  # role code of events that hpo's random split places
PB_PER_INVERSE_FB = 1000.0  # cross sections in pb times luminosity in fb^-1


def default_data_root() -> Path:
    """``$HPO_DATA_ROOT``, else ``../shared/data`` from the current folder, else next to the checkout."""
    if os.environ.get(DATA_ROOT_ENV):
        return Path(os.environ[DATA_ROOT_ENV]).expanduser().resolve()
    for candidate in (Path.cwd() / ".." / "shared" / "data", paths.repo_root().parent / "shared" / "data"):
        if candidate.is_dir():
            return candidate.resolve()
    return (Path.cwd() / ".." / "shared" / "data").resolve()


@dataclass(frozen=True)
class InputFile:
    """One existing input file of a process, and its fixed split (None: hpo's random split)."""

    path: Path
    role: str | None = None
    entry: str = ""  # the file entry as the description wrote it

    @property
    def shown(self) -> str:
        """The file as the user wrote it (the matched file where the entry is a glob)."""
        if self.entry and not glob.has_magic(self.entry) and "${" not in self.entry:
            return self.entry
        return str(self.path)


def resolve_files(
    description: DatasetDescription, process: ProcessSpec, data_root: str | os.PathLike[str] | None = None
) -> list[InputFile]:
    """The existing files of ``process`` (globs expanded, synthetic samples generated on first use).

    Returns an empty list for a missing optional process; raises :class:`DataError` otherwise.
    """
    from hpo.data.synthetic import default_folder, synthesize

    root = Path(data_root).expanduser().resolve() if data_root is not None else default_data_root()
    synthetic = description.synthetic
    synthetic_folder = default_folder(synthetic.seed, synthetic.scale) if synthetic else None
    base = description.base_dir or root
    found: list[InputFile] = []
    for entry, role in process.entries():
        if entry.startswith("${SYNTHETIC}/") and synthetic is not None:
            path = synthetic_folder / entry.removeprefix("${SYNTHETIC}/")
            if not path.exists():
                synthesize(synthetic.channel, seed=synthetic.seed, scale=synthetic.scale, folder=synthetic_folder)
        else:
            path = base / os.path.expanduser(entry.replace("${DATA_ROOT}", str(root)))
        matches = sorted(Path(p) for p in glob.glob(str(path))) if glob.has_magic(str(path)) else [path]
        matches = [m for m in matches if m.is_file()]
        if not matches:
            if process.optional:
                return []
            hint = "set --data-root or HPO_DATA_ROOT" if description.base_dir is None else "fix the path in the description"
            raise DataError(f"input file {entry} of process {process.name!r} does not exist ({path}); {hint}")
        found.extend(InputFile(m, role, entry) for m in matches)
    return found


_FINGERPRINTS: dict[tuple[str, int, int], str] = {}


def fingerprint(path: Path) -> str:
    """SHA-256 of a file's bytes (memoised per path, size and modification time)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _FINGERPRINTS:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                digest.update(block)
        _FINGERPRINTS[key] = digest.hexdigest()
    return _FINGERPRINTS[key]


def input_fingerprint(file: InputFile) -> str:
    """What identifies an input file's events: the SHA-256 of its bytes, or for a synthetic sample
    the generator that made it (the same events on every machine, in files whose bytes differ)."""
    if file.entry.startswith("${SYNTHETIC}/"):
        from hpo.data.synthetic import generator_fingerprint

        return f"synthetic:{generator_fingerprint()}:{file.path.parent.name}/{file.path.name}"
    return fingerprint(file.path)


# -- raw columns ---------------------------------------------------------------------------------
def file_format(description: DatasetDescription, path: Path) -> str:
    """'root' or 'csv': the description's ``format``, else the file's suffix."""
    if description.format is not None:
        return description.format
    name = path.name.lower()
    if name.endswith(".root"):
        return "root"
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    raise DataError(f"cannot tell whether {path} is ROOT or CSV from its name; set 'format: root' or 'format: csv' in the description")


def _nearest(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=4, cutoff=0.5)
    return ", ".join(close) if close else "none close"


def file_columns(description: DatasetDescription, path: Path) -> list[str]:
    """Names of the columns (CSV) or branches (ROOT tree) of an input file."""
    if file_format(description, path) == "csv":
        return list(_csv_header(path))
    with _open_root(path) as file:
        return list(_tree(file, path, description.tree).keys())


def _csv_header(path: Path) -> pd.Index:
    try:
        return pd.read_csv(path, nrows=0).columns
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} is empty (no header line); check the file") from None
    except (OSError, ValueError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise DataError(f"cannot read {path} as CSV ({str(err).splitlines()[0]}); check the file") from None


def _open_root(path: Path) -> Any:
    if path.stat().st_size == 0:
        raise DataError(f"{path} is empty (0 bytes); check the file")
    try:
        return uproot.open(path)
    except Exception as err:  # uproot raises many types for a file that is not ROOT
        raise DataError(f"cannot read {path} as a ROOT file ({type(err).__name__}: {err}); check the file") from None


def _tree(file: Any, path: Path, name: str | None) -> Any:
    trees = sorted({k.split(";")[0] for k, c in file.classnames().items() if c.startswith("TTree")})
    if name is None:
        if len(trees) != 1:
            raise DataError(f"{path} holds {len(trees)} trees ({', '.join(trees) or 'none'}); set 'tree' in the description")
        name = trees[0]
    if name not in trees:
        raise DataError(f"{path} has no tree {name!r}; set 'tree' in the description to one of: {', '.join(trees) or '(none)'}")
    return file[name]


def read_columns(description: DatasetDescription, path: Path, columns: list[str]) -> dict[str, Any]:
    """The named columns (branches or CSV columns) of one file: numpy arrays, awkward for jagged branches."""
    if file_format(description, path) == "csv":
        return _read_csv(path, columns)
    return _read_root(path, description.tree, columns)


def _read_root(path: Path, tree: str | None, columns: list[str]) -> dict[str, Any]:
    with _open_root(path) as file:
        ttree = _tree(file, path, tree)
        missing = [c for c in columns if c not in ttree]
        if missing:
            raise DataError(
                f"{path} (tree {ttree.name!r}) has no branch {missing[0]} (nearest: {_nearest(missing[0], ttree.keys())})"
                f"{f' nor {len(missing) - 1} other(s)' if len(missing) > 1 else ''}; fix 'columns', 'features' or the expression "
                "in the description"
            )
        arrays = ttree.arrays(columns, library="ak", how=dict) if columns else {}
    out: dict[str, Any] = {}
    for column, values in arrays.items():
        out[column] = ak.to_numpy(values) if values.ndim == 1 and not isinstance(values.type.content, ak.types.OptionType) else values
    return out


def _read_csv(path: Path, columns: list[str]) -> dict[str, Any]:
    header = _csv_header(path)
    missing = [c for c in columns if c not in header]
    if missing:
        raise DataError(
            f"{path} has no column {missing[0]} (nearest: {_nearest(missing[0], header)})"
            f"{f' nor {len(missing) - 1} other(s)' if len(missing) > 1 else ''}; fix 'columns', 'features' or the expression "
            "in the description"
        )
    frame = pd.read_csv(path, usecols=columns) if columns else pd.DataFrame(index=pd.RangeIndex(len(pd.read_csv(path, usecols=[0]))))
    return {c: frame[c].to_numpy() for c in columns}


def invariant_mass(arrays: Mapping[str, Any], vectors: list[tuple[str, str, str, str]]) -> np.ndarray:
    """Invariant mass of the sum of (pt, eta, phi, mass) four-vectors given by column names."""
    total = None
    for pt, eta, phi, mass in vectors:
        v = vector.array({k: np.asarray(arrays[c], np.float64) for k, c in zip(("pt", "eta", "phi", "mass"), (pt, eta, phi, mass))})
        total = v if total is None else total + v
    return np.asarray(total.mass, dtype=np.float64)


# -- evaluating a description over one file ------------------------------------------------------
class Columns(Mapping[str, Any]):
    """Raw columns of one file plus the description's derived names, computed on first use."""

    def __init__(self, description: DatasetDescription, raw: dict[str, Any], path: Path) -> None:
        self.description, self.raw, self.path = description, raw, path
        self._cache: dict[str, Any] = {}
        self._busy: list[str] = []

    def __getitem__(self, name: str) -> Any:
        if name in self._cache:
            return self._cache[name]
        source = self.description.source_of(name)
        if isinstance(source, DerivedFeature):
            value = invariant_mass(self, source.invariant_mass)
        elif name in self.description.derived:
            if name in self._busy:
                raise DataError(f"derived feature {name!r} depends on itself ({' -> '.join([*self._busy, name])}); fix 'derived'")
            self._busy.append(name)
            try:
                value = Expression(source).evaluate(self)
            except ExpressionError as err:
                raise DataError(f"{self.path}: derived feature {name!r}: {err}") from None
            finally:
                self._busy.pop()
        else:
            value = self.raw[source]
        self._cache[name] = value
        return value

    def __iter__(self):  # pragma: no cover - Mapping protocol
        return iter(self.raw)

    def __len__(self) -> int:  # pragma: no cover - Mapping protocol
        return len(self.raw)


def _raw_names(description: DatasetDescription, names: Iterable[str], seen: set[str] | None = None) -> list[str]:
    """The file columns that computing ``names`` needs (through derived names and renames)."""
    seen = set() if seen is None else seen
    out: list[str] = []
    for name in names:
        if name in seen:
            continue
        seen.add(name)
        source = description.source_of(name)
        if isinstance(source, DerivedFeature):
            out += _raw_names(description, source.inputs, seen)
        elif name in description.derived:
            out += _raw_names(description, Expression(source).names, seen)
        else:
            out.append(source)
    return list(dict.fromkeys(out))


@dataclass
class FileEvents:
    """Every event of one file: values, weights, classes and which events the cuts keep.

    ``frame`` has one column per feature and observable (float64, NaN where undefined), and
    ``weight`` (scaled), ``label`` (1, 0; -1 for data), ``role`` (fixed split code or
    :data:`RANDOM_SPLIT`), ``run``, ``event``, ``entry`` (index in the file) and the identifiers.
    ``keep`` marks the events that pass the selection and the drop rules; ``cutflow`` lists, after
    each step, the events and weighted yield of each class (1, 0, -1).
    """

    frame: pd.DataFrame
    keep: np.ndarray
    cutflow: list[tuple[str, dict[int, tuple[int, float]]]] = field(default_factory=list)


def process_scale(description: DatasetDescription, process: ProcessSpec) -> float:
    """The factor on a process's event weights: ``scale`` x cross section x luminosity / generated."""
    factor = process.scale
    if process.cross_section is not None and process.generated is not None and description.luminosity is not None:
        factor *= process.cross_section * PB_PER_INVERSE_FB * description.luminosity / process.generated
    return factor


@contextmanager
def named_as_written(source: InputFile) -> Iterator[None]:
    """Name ``source`` in error messages as the description wrote it rather than by its resolved path."""
    try:
        yield
    except DataError as err:
        if source.shown == str(source.path):
            raise
        raise DataError(str(err).replace(str(source.path), source.shown)) from None


def read_file(
    description: DatasetDescription,
    process: ProcessSpec,
    source: InputFile,
    names: list[str],
    features: list[str],
    *,
    label: int | None,
    scoring: bool = False,
    extra: Iterable[str] = (),
) -> FileEvents:
    """Read ``names`` (features first, then observables) of one file and apply the description.

    ``label`` is the class of every event (1, 0, -1 for data or unknown) or None when the label
    column decides. ``scoring=True`` reads a file to score: no weight or split column, and an
    undefined feature that no rule covers marks its event as not kept instead of being refused.
    ``extra`` columns are copied as they are (identifiers for export).
    """
    weighted = not scoring and label != -1  # real data events count one each
    path = source.path
    cuts = [(step.name, step.cut) for step in description.selection]
    if any(p.selection for p in description.processes):  # one row for every process, so cut flows line up
        cuts.append(("process selection", process.selection or "True"))
    texts = [cut for _, cut in cuts]
    if weighted and description.weight:
        texts.append(description.weight)
    if label is None and description.label:
        texts.append(description.label.column)
    if description.split and not scoring:
        texts.append(description.split.column)
    expressions = {text: Expression(text) for text in texts}
    needed = [*names, *(name for e in expressions.values() for name in e.names)]
    ids = [c for c in (description.run, description.event) if c]
    _check_columns(description, path, names, cuts, weighted, label is None and not scoring)
    raw = read_columns(description, path, list(dict.fromkeys([*_raw_names(description, needed), *ids, *extra])))
    n = _length(raw, path)
    columns = Columns(description, raw, path)

    def value(text: str, what: str) -> Any:
        try:
            return expressions[text].evaluate(columns)
        except ExpressionError as err:
            raise DataError(f"{path}: {what}: {err}") from None
        except KeyError as err:
            raise DataError(f"{path}: {what}: no column {err}") from None

    frame = pd.DataFrame(index=pd.RangeIndex(n))
    for name in names:
        try:
            values = to_numpy(columns[name], n, f"feature {name!r}")
        except ExpressionError as err:
            raise DataError(f"{path}: {err}") from None
        if np.isinf(values).any():
            raise DataError(
                f"{path}: column {description.source_of(name)!r} (feature {name!r}) has {int(np.isinf(values).sum())} "
                "NaN or infinite value(s); fix the input or drop those events with a selection"
            )
        frame[name] = values
    weight = np.ones(n)
    if weighted and description.weight:
        weight = _numeric(value(description.weight, "weight"), n, f"weight {description.weight!r}", path)
        bad = int(np.count_nonzero(~np.isfinite(weight)))
        if bad:
            raise DataError(f"{path}: weight {description.weight!r} is NaN or infinite for {bad} event(s); fix the weight expression")
    frame["weight"] = weight * process_scale(description, process)
    frame["label"] = _labels(description, value, path, n) if label is None else np.full(n, label, np.int8)
    frame["role"] = np.full(n, RANDOM_SPLIT, np.uint8) if scoring else _roles(description, source, value, path, n)
    frame["run"] = np.asarray(raw[description.run], np.int64) if description.run else np.full(n, -1, np.int64)
    frame["event"] = np.asarray(raw[description.event], np.int64) if description.event else np.arange(n, dtype=np.int64)
    frame["entry"] = np.arange(n, dtype=np.int64)
    for column in extra:
        if column not in frame:
            frame[column] = np.asarray(raw[column])

    keep = np.ones(n, bool)
    cutflow = [_flow("read", frame, keep)]
    for name, text in cuts:
        keep &= to_mask(value(text, f"selection {name!r}"), n, f"selection {name!r}")
        cutflow.append(_flow(name, frame, keep))
    dropped = _apply_missing(description, frame, features, keep, path, strict=not scoring)
    keep &= ~dropped
    cutflow.append(_flow("missing values", frame, keep))
    return FileEvents(frame, keep, cutflow)


def _check_columns(
    description: DatasetDescription, path: Path, names: list[str], cuts: list[tuple[str, str]], weighted: bool, labelled: bool
) -> None:
    """Refuse a column the file lacks with one line naming what needs it and the field to fix."""
    available = file_columns(description, path)
    kind = "column" if file_format(description, path) == "csv" else "branch"
    uses: list[tuple[str, str, list[str]]] = [(f"feature {n!r}", "'columns', 'features' or 'derived'", _raw_names(description, [n]))
                                              for n in names]  # fmt: skip
    uses += [(f"selection {name!r}", "the selection", _raw_names(description, Expression(text).names)) for name, text in cuts]
    if weighted and description.weight:
        uses.append((f"weight {description.weight!r}", "'weight'", _raw_names(description, Expression(description.weight).names)))
    if labelled and description.label:
        uses.append((f"label column {description.label.column!r}", "'label'", Expression(description.label.column).names))
    uses += [(f"'{key}'", f"'{key}'", [getattr(description, key)]) for key in ("run", "event") if getattr(description, key)]
    problems = [(what, field, c) for what, field, columns in uses for c in columns if c not in available]
    if problems:
        what, field, column = problems[0]
        more = len({c for _, _, c in problems}) - 1
        where = f" (tree {description.tree!r})" if kind == "branch" and description.tree else ""
        raise DataError(
            f"{path}{where} has no {kind} {column} (nearest: {_nearest(column, available)}), which {what} needs"
            f"{f'; {more} other missing column(s) too' if more else ''}; fix {field} in the description"
        )


def _length(raw: dict[str, Any], path: Path) -> int:
    lengths = {len(v) for v in raw.values()}
    if not lengths:
        raise DataError(f"{path}: the description reads no column from it; list some features")
    return lengths.pop()


def _numeric(values: Any, n: int, what: str, path: Path) -> np.ndarray:
    try:
        return to_numpy(values, n, what)
    except ExpressionError as err:
        raise DataError(f"{path}: {err}") from None


def _flow(step: str, frame: pd.DataFrame, keep: np.ndarray) -> tuple[str, dict[int, tuple[int, float]]]:
    """Events and weighted yield per class (1, 0, -1 for data) that pass up to ``step``."""
    label, w = frame["label"].to_numpy(), frame["weight"].to_numpy()
    counts = {}
    for value in (1, 0, -1):
        sel = keep & (label == value)
        counts[value] = (int(sel.sum()), float(w[sel].sum()))
    return step, counts


def _match(values: np.ndarray, wanted: list[Any]) -> np.ndarray:
    """Which of ``values`` equal one of ``wanted`` (numbers compared as numbers, text as text)."""
    if values.dtype.kind in "biuf":
        numbers = []
        for w in wanted:
            try:
                numbers.append(float(w))
            except (TypeError, ValueError):
                continue
        return np.isin(values.astype(np.float64), numbers)
    return np.isin(values.astype(str), [str(w) for w in wanted])


def _distinct(values: np.ndarray, limit: int = 6) -> str:
    seen = pd.unique(pd.Series(values))
    shown = ", ".join(repr(v.item() if hasattr(v, "item") else v) for v in seen[:limit])
    return shown + (", ..." if len(seen) > limit else "")


def _column_values(description: DatasetDescription, value: Any, text: str, what: str, path: Path, n: int) -> np.ndarray:
    expression = Expression(text)
    if expression.is_column:  # a plain column may hold text ('s'/'b')
        raw = value(text, what)
        return np.asarray(ak.to_numpy(raw) if isinstance(raw, ak.Array) else raw)
    return _numeric(value(text, what), n, what, path)


def _labels(description: DatasetDescription, value: Any, path: Path, n: int) -> np.ndarray:
    spec = description.label
    assert spec is not None
    values = _column_values(description, value, spec.column, "label column", path, n)
    signal = _match(values, spec.signal)
    background = ~signal if spec.background is None else _match(values, spec.background)
    if spec.background is not None:
        both = signal & background
        if both.any():
            raise DataError(f"label column {spec.column!r}: value(s) {_distinct(values[both])} are listed for both classes")
        unlisted = ~(signal | background)
        if unlisted.any():
            raise DataError(
                f"{path}: {int(unlisted.sum())} event(s) have label value(s) {_distinct(values[unlisted])} listed for neither "
                f"class in 'label' (signal: {spec.signal}, background: {spec.background}); list them or select them away"
            )
    if not signal.any() and not (spec.background is not None and background.all()):
        raise DataError(
            f"{path}: no event has a signal value {spec.signal} in label column {spec.column!r} (values: {_distinct(values)}); "
            "fix 'label.signal'"
        )
    return np.where(signal, 1, 0).astype(np.int8)


def _roles(description: DatasetDescription, source: InputFile, value: Any, path: Path, n: int) -> np.ndarray:
    if source.role is not None:
        return np.full(n, ROLES.index(source.role), np.uint8)
    spec = description.split
    if spec is None:
        return np.full(n, RANDOM_SPLIT, np.uint8)
    values = _column_values(description, value, spec.column, "split column", path, n)
    roles = np.full(n, RANDOM_SPLIT, np.uint8)
    listed = np.zeros(n, bool)
    for role in ("train", "val", "test"):
        hit = _match(values, getattr(spec, role))
        roles[hit] = ROLES.index(role) if role != "train" or spec.val else RANDOM_SPLIT  # train without val: val from train
        listed |= hit
    if not listed.all():
        raise DataError(
            f"{path}: {int((~listed).sum())} event(s) have split value(s) {_distinct(values[~listed])} that 'split' does not "
            f"list (train: {spec.train}, val: {spec.val}, test: {spec.test})"
        )
    return roles


def _apply_missing(
    description: DatasetDescription, frame: pd.DataFrame, features: list[str], keep: np.ndarray, path: Path, strict: bool = True
) -> np.ndarray:
    """Mark undefined values NaN in ``frame`` (in place) and return the events a drop rule removes.

    A feature no rule covers must be defined in every kept event (``strict``), else its undefined
    events count as dropped.
    """
    rules = description.missing_rules()
    dropped = np.zeros(len(frame), bool)
    uncovered: list[str] = []
    for name in frame.columns[: frame.columns.get_loc("weight")]:
        values = frame[name].to_numpy()
        undefined = np.isnan(values)
        covering = [r for r in rules if (r.covers(name) if name in features else r.columns is not None and name in r.columns)]
        for rule in covering:
            hit = undefined | (values == rule.value) if rule.value is not None else undefined
            if rule.action == "drop":
                dropped |= hit
            undefined |= hit
        if not covering and name in features and (undefined & keep).any():
            uncovered.append(name)
        frame[name] = np.where(undefined, np.nan, values)
    for name in uncovered:
        if not strict:
            dropped |= np.isnan(frame[name].to_numpy())
            continue
        count = int((np.isnan(frame[name].to_numpy()) & keep & ~dropped).sum())
        if count:
            raise DataError(
                f"{path}: column {description.source_of(name)!r} (feature {name!r}) has {count} NaN or infinite value(s) "
                "or an object the event lacks; add a 'missing' rule for it (action: drop or absent) or select those events away"
            )
    return dropped
