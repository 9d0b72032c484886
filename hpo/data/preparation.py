"""Preparation: read, clean, label, weight, shuffle, split and scale once; cache by content hash.

The steps follow the VBF exercise: drop events where a checked variable carries the "missing"
marker, label signal 1 and background 0, renormalise the weights to unit (signed) sum per class,
shuffle with a seed, split off the test set and then the validation set, and fit the feature
scaling on the training split only. The result is one Arrow file,
``<home>/data/<hash>.arrow``, named by a SHA-256 over the input files' contents, the description
and the settings; a later call with the same inputs opens that file without reading any ROOT file.

Negative event weights (NLO simulation) follow ``negative_weights`` for the *training* weights
only; metrics always use the signed weights:

- ``abs`` (default): train on ``|w|``. Every event keeps its kinematics with a positive weight, so
  losses stay bounded below and tree splits stay well defined; the shape is biased only by
  twice the small negative share (0.06-0.15% of events in the ATLAS samples).
- ``zero``: leave negative-weight events out of training (biases where they cluster);
- ``keep``: train on the signed weights (unbiased, but a loss can run to minus infinity and many
  estimators reject negative sample weights).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Literal, get_args

import numpy as np
import pandas as pd
from sklearn.preprocessing import StandardScaler
from tqdm.auto import tqdm

from hpo import paths
from hpo.data.description import DatasetDescription, load_description
from hpo.data.prepared import SPLITS, PreparedDataset
from hpo.data.readers import fingerprint, read_process, resolve_files
from hpo.errors import DataError, UsageError

NegativeWeights = Literal["keep", "abs", "zero"]
NEGATIVE_WEIGHT_POLICIES: tuple[str, ...] = get_args(NegativeWeights)
DEFAULT_NEGATIVE_WEIGHTS: NegativeWeights = "abs"
CLASS_NAMES = {0: "background", 1: "signal"}


def _check_settings(test_size: float, val_size: float, negative_weights: str, seed: int) -> None:
    for name, value in (("test_size", test_size), ("val_size", val_size)):
        if not 0 < value < 1:
            raise UsageError(f"{name} must lie strictly between 0 and 1, got {value}")
    if negative_weights not in NEGATIVE_WEIGHT_POLICIES:
        raise UsageError(
            f"unknown negative_weights policy {negative_weights!r}; choose one of {', '.join(NEGATIVE_WEIGHT_POLICIES)}"
        )
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise UsageError(f"seed must be a non-negative integer, got {seed!r}")


def prepare(
    dataset: str | os.PathLike[str] | DatasetDescription | None = None,
    *,
    features: str | list[str] = "high",
    seed: int = 0,
    test_size: float = 0.2,
    val_size: float = 0.3,
    negative_weights: NegativeWeights = DEFAULT_NEGATIVE_WEIGHTS,
    data_root: str | os.PathLike[str] | None = None,
    force: bool = False,
    progress: bool = True,
) -> PreparedDataset:
    """Prepare ``dataset`` (preset name, YAML path or description; None: ``synthetic``) or reuse its cache.

    ``features`` is 'high', 'low', 'all', a comma-separated string or a list of canonical names;
    ``test_size`` is the test fraction of all events and ``val_size`` the validation fraction of
    the rest; ``negative_weights`` is the training-weight policy (module docstring). ``force``
    rebuilds the cached file. Returns the memory-mapped :class:`PreparedDataset`.
    """
    _check_settings(test_size, val_size, negative_weights, seed)
    description = load_description(dataset)
    names = description.resolve_features(features)
    stored = list(dict.fromkeys([*names, *description.observables]))
    files = {p.name: resolve_files(description, p, data_root) for p in description.processes}
    processes = [p for p in description.processes if files[p.name]]
    settings = {
        "features": names, "seed": int(seed), "test_size": test_size, "val_size": val_size,
        "negative_weights": negative_weights,
    }  # fmt: skip
    digest = _content_hash(description, settings, {p.name: files[p.name] for p in processes})
    path = paths.prepared_dir() / f"{digest}.arrow"
    if path.exists() and not force:
        return PreparedDataset.open(path)

    frames = []
    bar = tqdm(processes, desc="reading", unit="process", leave=False, disable=None if progress else True)  # None: only on a terminal
    for index, process in enumerate(bar):
        bar.set_postfix_str(process.name)
        frame = read_process(description, process, files[process.name], stored)
        frame["label"] = np.int8(description.label_of(process))
        frame["process"] = np.int16(index)
        frames.append(frame)
    events = _clean(description, pd.concat(frames, ignore_index=True))
    events = events.iloc[np.random.default_rng(seed).permutation(len(events))].reset_index(drop=True)
    split = _split_codes(len(events), test_size, val_size)
    weights = _weights(events, negative_weights)
    scaler = StandardScaler().fit(events.loc[split == 0, names].to_numpy(np.float64))

    table = pd.DataFrame({f"col:{c}": events[c].to_numpy(np.float32) for c in stored})
    table["label"] = events["label"].to_numpy(np.int8)
    table = table.assign(**weights)
    table["split"] = split
    table["process"] = events["process"].to_numpy(np.int16)
    table["run"], table["event"] = events["run"].to_numpy(np.int64), events["event"].to_numpy(np.int64)
    meta = {
        "hash": digest,
        "features": names,
        "observables": [c for c in stored if c not in names],
        "scaler": {"mean": scaler.mean_.tolist(), "scale": scaler.scale_.tolist()},
        "processes": [
            {"name": p.name, "label": description.label_of(p), "files": [str(f) for f in files[p.name]]} for p in processes
        ],
        "description": description.model_dump(mode="json"),
        "settings": settings,
    }
    PreparedDataset.from_frame(table, meta).write(path)
    return PreparedDataset.open(path)


def _content_hash(description: DatasetDescription, settings: dict, files: dict[str, list[Path]]) -> str:
    """SHA-256 over the description, the settings and every input file's contents."""
    document = {
        "description": description.model_dump(mode="json"),
        "settings": settings,
        "files": {name: [[f.name, f.stat().st_size, fingerprint(f)] for f in fs] for name, fs in files.items()},
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def _clean(description: DatasetDescription, events: pd.DataFrame) -> pd.DataFrame:
    """Drop events whose checked variables carry the marker; insist on both classes remaining."""
    if description.marker is not None and description.checked:
        missing = (events[description.checked] == description.marker).any(axis=1)
        events = events[~missing].reset_index(drop=True)
    for label, name in CLASS_NAMES.items():
        if not (events["label"] == label).any():
            raise DataError(
                f"no {name} events left in dataset {description.name!r} after dropping marker {description.marker:g} "
                f"on {', '.join(description.checked)}; a classifier needs both classes - check the {name} files, "
                "'marker' and 'checked'"
                if description.marker is not None
                else f"dataset {description.name!r} has no {name} events; a classifier needs both classes"
            )
    return events


def _split_codes(n: int, test_size: float, val_size: float) -> np.ndarray:
    """Split codes of already shuffled rows: the first ``test_size`` are test, then validation, then train."""
    n_test = int(round(n * test_size))
    n_val = int(round((n - n_test) * val_size))
    codes = np.full(n, SPLITS.index("train"), np.uint8)
    codes[:n_test] = SPLITS.index("test")
    codes[n_test : n_test + n_val] = SPLITS.index("val")
    return codes


def _weights(events: pd.DataFrame, policy: str) -> dict[str, np.ndarray]:
    """``weight`` (signed, unit sum per class), ``train_weight`` (policy, mean 1, classes balanced), ``phys_weight``."""
    phys = events["weight"].to_numpy(np.float64)
    label = events["label"].to_numpy()
    train = {"keep": phys, "abs": np.abs(phys), "zero": np.clip(phys, 0.0, None)}[policy]
    weight, train_weight = np.empty_like(phys), np.empty_like(phys)
    for value, name in CLASS_NAMES.items():
        sel = label == value
        total = phys[sel].sum()
        if not total > 0:
            raise DataError(
                f"the {name} events have a signed weight sum of {total:g}, which is not positive; per-class "
                "normalisation is impossible - check the weight column and the files of that class"
            )
        weight[sel] = phys[sel] / total
        train_weight[sel] = train[sel] * (len(phys) / 2.0 / train[sel].sum())
    return {"weight": weight, "train_weight": train_weight, "phys_weight": phys}


def open_prepared(hash_or_path: str | os.PathLike[str]) -> PreparedDataset:
    """Open a prepared dataset by file path, full hash or unique hash prefix."""
    path = Path(hash_or_path)
    if path.suffix == ".arrow" or path.is_file():
        return PreparedDataset.open(path)
    prefix = str(hash_or_path)
    matches = sorted(paths.prepared_dir().glob(f"{prefix}*.arrow"))
    if not matches:
        raise DataError(f"no prepared dataset matches {prefix!r} in {paths.prepared_dir()}; run 'hpo data prepare' first")
    if len(matches) > 1:
        raise DataError(f"hash prefix {prefix!r} is ambiguous ({len(matches)} prepared datasets); give more characters")
    return PreparedDataset.open(matches[0])
