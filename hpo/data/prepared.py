"""The prepared dataset: one Arrow file that every trial and worker reads, memory-mapped.

A prepared dataset is written once by :func:`hpo.data.prepare` and named by the content hash of
its inputs and settings. The file is an uncompressed Arrow IPC file, opened with a memory map, so
opening it in a new worker costs milliseconds and the pages are shared between processes.

Layout of the table (one row per event that survived cleaning, already shuffled):

========================  =========  ===========================================================
column                    type       meaning
========================  =========  ===========================================================
``col:<name>``            float32    raw (unscaled) value of a feature or physics observable
``label``                 int8       1 signal, 0 background, -1 real data
``weight``                float64    signed event weight, normalised to unit sum per class
``train_weight``          float64    weight used in training losses (negative-weight policy)
``phys_weight``           float64    the original event weight (expected yield)
``split``                 uint8      0 train, 1 validation, 2 test, 3 real collision data (no label)
``process``               int16      index into ``meta["processes"]``
``run``, ``event``        int64      event identifiers from the input (-1 where unknown)
========================  =========  ===========================================================

The schema metadata key ``hpo`` holds a JSON document: ``format``, ``hash``, ``features`` (model
inputs, in order), ``observables`` (other stored columns), ``plotted`` (the columns reports plot),
``display`` (axis labels and units), ``scaler`` (``mean`` and ``scale`` per feature, fitted on the
training split), ``missing`` (per feature with absent values: their count, the value trees get,
the mean the network gets and the indicator column's name), ``weighted``, ``fixed_split``,
``processes``, ``cutflow``, ``description``, ``settings`` and ``checksum``.

Absent values are stored as NaN. What a model sees depends on what it can take (``missing``):

- ``native``: NaN stays (models that handle missing values, such as XGBoost);
- ``value``: the stated value, by default the description's marker (trees split it off), plus an
  indicator column per feature with absent values;
- ``mean``: the training mean (0 after scaling), plus the indicator columns (the network).

Without absent values the three are the same matrix.

The ``hash`` names the inputs and settings; the ``checksum`` (XXH3-128) covers what was written: every
column's name, type and values, and the rest of the metadata. :meth:`PreparedDataset.open` reads
only the header; :meth:`PreparedDataset.verify` checks the content before it is first used (the
``table`` property calls it), once per process and file (a file changed on disk is checked again), so
damaged bytes are refused instead of silently trained on. Hashing the 115k-event sample costs about two
milliseconds.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, fields
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np
import pyarrow as pa
import pyarrow.ipc
import xxhash

from hpo.errors import DataError
from hpo.options import SPLITS
from hpo.staging import staging_path

if TYPE_CHECKING:  # pyarrow imports pandas itself when a frame is made; opening a file needs none
    import pandas as pd

DATA_SPLIT = 3  # split code of real collision data events (no label), kept for reports
ROW_KINDS = (*SPLITS, "data")
INDICATOR_SUFFIX = "_missing"
MissingView = Literal["native", "value", "mean"]
MISSING_VIEWS: tuple[str, ...] = get_args(MissingView)
DEFAULT_VIEW: MissingView = "mean"
FORMAT_VERSION = 2  # 2: the metadata carries a checksum of the content
_META_KEY = b"hpo"
_CHECKSUM_KEY = "checksum"
_CHECKSUM_ALGORITHM = "xxh3_128"

# Files whose checksum this process has verified, by (path, device, inode, size, mtime).
_verified: set[tuple[str, int, int, int, int]] = set()


def content_checksum(table: pa.Table, meta: dict[str, Any]) -> str:
    """Checksum of a prepared table: each column's name, type and values, and ``meta`` (less the checksum)."""
    digest = xxhash.xxh3_128()
    document = {k: v for k, v in meta.items() if k != _CHECKSUM_KEY}
    digest.update(json.dumps(document, sort_keys=True).encode())
    for name, column in zip(table.column_names, table.columns):
        digest.update(f"\0{name}\0{column.type}\0{len(column)}\0".encode())
        for chunk in column.chunks:
            values = np.ascontiguousarray(chunk.to_numpy(zero_copy_only=False))
            digest.update(values.view(np.uint8).reshape(-1) if values.dtype != object else repr(values.tolist()).encode())
    return f"{_CHECKSUM_ALGORITHM}:{digest.hexdigest()}"


def _damaged(path: Path, why: str) -> DataError:
    return DataError(
        f"prepared dataset {path} is damaged ({why}); rebuild it with 'hpo data prepare --force' and the "
        "settings it was made with, or delete it"
    )


@dataclass(frozen=True)
class Split:
    """The arrays of one split, ready for a classifier."""

    X: np.ndarray  # (n, n_features) float32, scaled with the training-split scaler
    y: np.ndarray  # (n,) int8: 1 signal, 0 background
    w: np.ndarray  # (n,) float64: signed weight, unit sum per class; use for metrics
    w_train: np.ndarray  # (n,) float64: weight for training losses
    w_phys: np.ndarray  # (n,) float64: original event weight (expected yield); use for AMS

    def __len__(self) -> int:
        return len(self.y)

    def take(self, index: np.ndarray) -> Split:
        """The events at ``index`` (positions or a boolean mask), every array alike."""
        return Split(*(getattr(self, f.name)[index] for f in fields(self)))

    @staticmethod
    def concat(splits: Sequence[Split]) -> Split:
        """The events of ``splits`` one after the other (the split itself, uncopied, when there is one)."""
        if len(splits) == 1:
            return splits[0]
        return Split(*(np.concatenate([getattr(s, f.name) for s in splits]) for f in fields(Split)))


class PreparedDataset:
    """A prepared dataset: shuffled, cleaned, labelled, weighted and split events.

    Create one with :func:`hpo.data.prepare`, or open a file with :meth:`open`.
    """

    def __init__(self, table: pa.Table, meta: dict[str, Any], path: Path | None = None) -> None:
        self._table = table
        self.meta = meta
        self.path = path
        self._file_key: tuple[str, int, int, int, int] | None = None  # set by open(): the file to verify

    @property
    def table(self) -> pa.Table:
        """The Arrow table; a file's checksum is verified before its content is first handed out."""
        self.verify()
        return self._table

    def verify(self) -> None:
        """Check an opened file's content against its checksum (once per process and file).

        Raises :class:`~hpo.errors.DataError` naming the file and how to rebuild it when the content
        was damaged. In-memory datasets and files already verified by this process pass at once.
        """
        key = self._file_key
        if key is None or key in _verified:
            return
        try:
            actual = content_checksum(self._table, self.meta)
        except (pa.ArrowException, ValueError, TypeError) as err:
            raise _damaged(Path(key[0]), f"its columns cannot be read: {err}") from None
        if actual != self.meta.get(_CHECKSUM_KEY):
            raise _damaged(Path(key[0]), "its content does not match the checksum it was written with")
        _verified.add(key)

    # -- file I/O ---------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> PreparedDataset:
        """Open a prepared-dataset file, memory-mapped (nothing is copied until used).

        The header and metadata are checked now; the content is checked against its checksum by
        :meth:`verify`, which runs before the data is first used.
        """
        path = Path(path)
        if not path.is_file():
            raise DataError(f"prepared dataset {path} does not exist; create it with 'hpo data prepare'")
        try:
            stat = path.stat()
            with pa.memory_map(str(path), "r") as source:
                table = pa.ipc.open_file(source).read_all()
        except (pa.ArrowInvalid, OSError) as err:
            raise DataError(f"{path} is not a prepared dataset ({err}); delete it and run 'hpo data prepare' again") from None
        raw = (table.schema.metadata or {}).get(_META_KEY)
        if raw is None:
            raise DataError(f"{path} has no hpo metadata; delete it and run 'hpo data prepare' again")
        try:
            meta = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise _damaged(path, "its metadata is not valid JSON") from None
        if not isinstance(meta, dict):
            raise _damaged(path, "its metadata is not a JSON object")
        if meta.get("format") != FORMAT_VERSION:
            raise DataError(f"{path} was written by another hpo version; delete it and run 'hpo data prepare' again")
        dataset = cls(table, meta, path)
        dataset._file_key = (str(path.resolve()), stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
        return dataset

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, meta: dict[str, Any]) -> PreparedDataset:
        """Build an in-memory dataset from a frame with the columns of the layout above."""
        meta = {"format": FORMAT_VERSION, **meta}
        return cls(pa.Table.from_pandas(frame, preserve_index=False), meta)

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the dataset atomically (a temporary file renamed into place) and return its path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.meta = {**self.meta, _CHECKSUM_KEY: content_checksum(self.table, self.meta)}
        table = self.table.replace_schema_metadata({_META_KEY: json.dumps(self.meta).encode()})
        tmp = staging_path(path)
        try:
            with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        self.path = path
        return path

    # -- description ------------------------------------------------------------------------
    @property
    def hash(self) -> str:
        """Content hash of the inputs and settings that produced this dataset."""
        return str(self.meta["hash"])

    @property
    def features(self) -> list[str]:
        """Names of the model inputs, in column order of ``X``."""
        return list(self.meta["features"])

    @property
    def n_features(self) -> int:
        return len(self.meta["features"])

    @property
    def columns(self) -> list[str]:
        """Names of every stored raw column (features and observables)."""
        return [c[4:] for c in self.table.column_names if c.startswith("col:")]

    @property
    def plotted(self) -> list[str]:
        """Columns the reports plot for signal, background and selected events."""
        default = [*self.features[:4], *self.meta.get("observables", [])]  # files written before 'plotted' was recorded
        return [c for c in dict.fromkeys(self.meta.get("plotted", default)) if c in self.columns]

    def display(self, column: str) -> dict[str, Any]:
        """Axis label, unit and log scale of a column (defaults: its name, no unit, linear)."""
        shown = {"label": column, "unit": "", "log": False}
        return shown | {k: v for k, v in self.meta.get("display", {}).get(column, {}).items() if v not in ("", None)}

    @property
    def weighted(self) -> bool:
        """Whether the events carry physical weights (expected yields) rather than counting one each."""
        return bool(self.meta.get("weighted", True))

    @property
    def b_reg(self) -> float:
        """Background regularisation of the AMS that the dataset's description asks for."""
        return float(self.meta.get("description", {}).get("b_reg", 0.0))

    @property
    def missing(self) -> dict[str, dict[str, Any]]:
        """Features with absent values: count, value for trees, mean for the network, indicator name."""
        return dict(self.meta.get("missing", {}))

    def input_names(self, missing: MissingView = DEFAULT_VIEW) -> list[str]:
        """Names of the columns of ``X`` in the ``missing`` view: the features, then the indicators."""
        _check_view(missing)
        indicators = [] if missing == "native" else [self.missing[f]["indicator"] for f in self.features if f in self.missing]
        return [*self.features, *indicators]

    # -- arrays -----------------------------------------------------------------------------
    def _column(self, name: str) -> np.ndarray:
        return self.table.column(name).to_numpy()

    @cached_property
    def _split_codes(self) -> np.ndarray:
        return self._column("split")

    def mask(self, split: str) -> np.ndarray:
        """Boolean mask of the rows of ``split`` ('train', 'val', 'test' or 'data')."""
        if split not in ROW_KINDS:
            raise ValueError(f"unknown split {split!r}; choose one of {', '.join(ROW_KINDS)}")
        return self._split_codes == ROW_KINDS.index(split)

    @property
    def has_data(self) -> bool:
        """Whether the dataset holds real collision data events."""
        return bool(self.mask("data").any())

    def transform(self, raw: np.ndarray, missing: MissingView = DEFAULT_VIEW) -> np.ndarray:
        """Scale raw feature values (columns in :attr:`features` order) as the models expect, with
        absent values (NaN) handled as the ``missing`` view says (module docstring)."""
        _check_view(missing)
        mean = np.asarray(self.meta["scaler"]["mean"], dtype=np.float64)
        scale = np.asarray(self.meta["scaler"]["scale"], dtype=np.float64)
        raw = np.asarray(raw, dtype=np.float64)
        X = (raw - mean) / scale
        if missing == "native" or not self.missing:
            return X.astype(np.float32)
        indicators = []
        for j, name in enumerate(self.features):
            if name not in self.missing:
                continue
            absent = np.isnan(raw[:, j])
            fill = self.missing[name]["value" if missing == "value" else "mean"]
            X[absent, j] = (fill - mean[j]) / scale[j]
            indicators.append(absent)
        return np.column_stack([X, *indicators]).astype(np.float32)

    def raw_features(self, split: str | None = None) -> np.ndarray:
        """Unscaled feature matrix of ``split`` (all rows if None), NaN where absent."""
        cols = [self._column(f"col:{f}") for f in self.features]
        X = np.column_stack(cols) if cols else np.empty((len(self.table), 0), np.float32)
        return X if split is None else X[self.mask(split)]

    def split(self, name: str, missing: MissingView = DEFAULT_VIEW) -> Split:
        """Arrays of one split ('data': the real collision events, label -1) in the ``missing`` view (cached)."""
        _check_view(missing)
        if missing not in self._views:
            self._views[missing] = self._build_splits(missing)
        return self._views[missing][name]

    @cached_property
    def _views(self) -> dict[str, dict[str, Split]]:
        return {}

    def _build_splits(self, missing: MissingView) -> dict[str, Split]:
        X = self.transform(self.raw_features(), missing)
        y = self._column("label").astype(np.int8)
        w, w_train, w_phys = (self._column(c).astype(np.float64) for c in ("weight", "train_weight", "phys_weight"))
        out = {}
        for name in ROW_KINDS:
            m = self.mask(name)
            out[name] = Split(X[m], y[m], w[m], w_train[m], w_phys[m])
        return out

    @property
    def train(self) -> Split:
        return self.split("train")

    @property
    def val(self) -> Split:
        return self.split("val")

    @property
    def test(self) -> Split:
        return self.split("test")

    def frame(self, split: str | None = None) -> pd.DataFrame:
        """Raw columns, labels, weights and identifiers as a DataFrame (column prefix ``col:`` dropped)."""
        table = self.table if split is None else self.table.filter(pa.array(self.mask(split)))
        df = table.to_pandas()
        df.columns = [c[4:] if c.startswith("col:") else c for c in df.columns]
        return df

    def __repr__(self) -> str:
        sizes = ", ".join(f"{s}={int(self.mask(s).sum())}" for s in ROW_KINDS if s in SPLITS or self.has_data)
        return f"PreparedDataset(hash={self.hash[:12]}, features={self.n_features}, {sizes})"


def _check_view(missing: str) -> None:
    if missing not in MISSING_VIEWS:
        raise ValueError(f"unknown missing-value view {missing!r}; choose one of {', '.join(MISSING_VIEWS)}")
