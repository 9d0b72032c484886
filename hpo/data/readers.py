"""Reading the input files of a description: file lookup, ROOT and CSV readers, derived features."""

from __future__ import annotations

import glob
import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd
import uproot
import vector

from hpo import paths
from hpo.data.description import DatasetDescription, ProcessSpec
from hpo.errors import DataError

DATA_ROOT_ENV = "HPO_DATA_ROOT"


def default_data_root() -> Path:
    """``$HPO_DATA_ROOT``, else ``../shared/data`` from the current folder, else next to the checkout."""
    if os.environ.get(DATA_ROOT_ENV):
        return Path(os.environ[DATA_ROOT_ENV]).expanduser().resolve()
    for candidate in (Path.cwd() / ".." / "shared" / "data", paths.repo_root().parent / "shared" / "data"):
        if candidate.is_dir():
            return candidate.resolve()
    return (Path.cwd() / ".." / "shared" / "data").resolve()


def resolve_files(
    description: DatasetDescription, process: ProcessSpec, data_root: str | os.PathLike[str] | None = None
) -> list[Path]:
    """The existing files of ``process`` (globs expanded, synthetic samples generated on first use).

    Returns an empty list for a missing optional process; raises :class:`DataError` otherwise.
    """
    from hpo.data.synthetic import default_folder, synthesize

    root = Path(data_root).expanduser().resolve() if data_root is not None else default_data_root()
    synthetic = description.synthetic
    synthetic_folder = default_folder(synthetic.seed, synthetic.scale) if synthetic else None
    base = description.base_dir or root
    found: list[Path] = []
    for entry in process.files:
        if entry.startswith("${SYNTHETIC}/") and synthetic is not None:
            path = synthetic_folder / entry.removeprefix("${SYNTHETIC}/")
            if not path.exists():
                synthesize(synthetic.channel, seed=synthetic.seed, scale=synthetic.scale, folder=synthetic_folder)
        else:
            path = base / entry.replace("${DATA_ROOT}", str(root))
        matches = sorted(Path(p) for p in glob.glob(str(path))) if glob.has_magic(str(path)) else [path]
        matches = [m for m in matches if m.is_file()]
        if not matches:
            if process.optional:
                return []
            hint = "set --data-root or HPO_DATA_ROOT" if description.base_dir is None else "fix the path in the description"
            raise DataError(
                f"input file {path} of process {process.name!r} does not exist (data root {root}); {hint}"
            )
        found.extend(matches)
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


def read_columns(description: DatasetDescription, path: Path, columns: list[str]) -> dict[str, np.ndarray]:
    """The named input columns (branches or CSV columns) of one file as float64/int arrays."""
    if description.format == "csv":
        return _read_csv(path, columns)
    return _read_root(path, description.tree or "", columns)


def _read_root(path: Path, tree: str, columns: list[str]) -> dict[str, np.ndarray]:
    try:
        file = uproot.open(path)
    except Exception as err:  # uproot raises many types for a file that is not ROOT
        raise DataError(f"cannot read {path} as a ROOT file ({type(err).__name__}: {err}); check the file") from None
    with file:
        trees = sorted({k.split(";")[0] for k, c in file.classnames().items() if c.startswith("TTree")})
        if tree not in trees:
            raise DataError(f"{path} has no tree {tree!r}; set 'tree' in the description to one of: {', '.join(trees) or '(none)'}")
        ttree = file[tree]
        missing = [c for c in columns if c not in ttree]
        if missing:
            raise DataError(
                f"{path} (tree {tree!r}) has no branch {', '.join(missing)}; fix 'columns' in the description "
                f"(branches include: {', '.join(sorted(ttree.keys())[:12])}, ...)"
            )
        arrays = ttree.arrays(columns, library="np")
    return {c: np.asarray(arrays[c]) for c in columns}


def _read_csv(path: Path, columns: list[str]) -> dict[str, np.ndarray]:
    try:
        header = pd.read_csv(path, nrows=0).columns
    except (OSError, ValueError, pd.errors.ParserError) as err:
        raise DataError(f"cannot read {path} as CSV ({err}); check the file") from None
    missing = [c for c in columns if c not in header]
    if missing:
        raise DataError(f"{path} has no column {', '.join(missing)}; fix 'columns' in the description (columns: {', '.join(header)})")
    frame = pd.read_csv(path, usecols=columns)
    return {c: frame[c].to_numpy() for c in columns}


def invariant_mass(arrays: dict[str, np.ndarray], vectors: list[tuple[str, str, str, str]]) -> np.ndarray:
    """Invariant mass of the sum of (pt, eta, phi, mass) four-vectors given by column names."""
    total = None
    for pt, eta, phi, mass in vectors:
        v = vector.array({"pt": arrays[pt], "eta": arrays[eta], "phi": arrays[phi], "mass": arrays[mass]})
        total = v if total is None else total + v
    return np.asarray(total.mass, dtype=np.float64)


def input_columns(description: DatasetDescription, names: list[str]) -> list[str]:
    """Input columns needed for the canonical features ``names`` plus weight and identifiers."""
    needed: list[str] = []
    for name in names:
        needed += description.derived[name].inputs if name in description.derived else [description.columns[name]]
    needed += [c for c in (description.weight, description.run, description.event) if c]
    return list(dict.fromkeys(needed))


def read_process(
    description: DatasetDescription, process: ProcessSpec, files: list[Path], names: list[str]
) -> pd.DataFrame:
    """Canonical features ``names``, ``weight``, ``run`` and ``event`` of one process, every file merged."""
    columns = input_columns(description, names)
    frames = []
    for path in files:
        raw = read_columns(description, path, columns)
        for column in columns:
            values = raw[column]
            if values.dtype.kind not in "biuf":
                raise DataError(f"{path}: column {column!r} is not numeric ({values.dtype}); map a numeric column")
            bad = int(np.count_nonzero(~np.isfinite(values.astype(np.float64))))
            if bad:
                raise DataError(
                    f"{path}: column {column!r} has {bad} NaN or infinite value(s); fix the input or drop those events"
                )
        n = len(raw[columns[0]]) if columns else 0
        frame = pd.DataFrame(
            {
                name: invariant_mass(raw, description.derived[name].invariant_mass)
                if name in description.derived
                else raw[description.columns[name]].astype(np.float64)
                for name in names
            }
        )
        frame["weight"] = raw[description.weight].astype(np.float64) if description.weight else np.ones(n)
        frame["run"] = raw[description.run].astype(np.int64) if description.run else np.full(n, -1, np.int64)
        frame["event"] = raw[description.event].astype(np.int64) if description.event else np.arange(n, dtype=np.int64)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
