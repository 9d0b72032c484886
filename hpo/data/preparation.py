"""Preparation: read, clean, label, weight, shuffle, split and scale once; cache by content hash.

The steps: read every file of every process, evaluate the features, the selection (recorded as a
cut flow per process) and the missing-value rules (drop the event, or keep the value as absent),
label signal 1 and background 0 (by process or by label column), scale each process's weights
(cross section x luminosity / generated events) and renormalise them to unit (signed) sum per
class, shuffle with a seed, split off the test set and then the validation set (or keep the
description's fixed splits), and fit the feature scaling on the training split only. The result is one Arrow file,
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from hpo import paths
from hpo.data.description import DatasetDescription, ProcessSpec, load_description
from hpo.data.prepared import DATA_SPLIT, INDICATOR_SUFFIX, SPLITS, PreparedDataset
from hpo.data.readers import (
    RANDOM_SPLIT,
    InputFile,
    input_fingerprint,
    named_as_written,
    process_scale,
    read_file,
    resolve_files,
)
from hpo.errors import DataError, UsageError
from hpo.options import DEFAULT_NEGATIVE_WEIGHTS, NEGATIVE_WEIGHT_POLICIES, NegativeWeights

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
    features: str | list[str] | None = None,
    seed: int = 0,
    test_size: float = 0.2,
    val_size: float = 0.3,
    negative_weights: NegativeWeights = DEFAULT_NEGATIVE_WEIGHTS,
    data_root: str | os.PathLike[str] | None = None,
    force: bool = False,
    progress: bool = True,
) -> PreparedDataset:
    """Prepare ``dataset`` (preset name, YAML path or description; None: ``synthetic``) or reuse its cache.

    ``features`` is a feature set of the description ('high', 'low', 'all' for the exercise's
    presets; None: its default set), a comma-separated string or a list of names; ``test_size``
    is the test fraction of all events and ``val_size`` the validation fraction of the rest (both
    unused where the description fixes the splits); ``negative_weights`` is the training-weight
    policy (module docstring). ``force`` rebuilds the cached file. Returns the memory-mapped
    :class:`PreparedDataset`.
    """
    _check_settings(test_size, val_size, negative_weights, seed)
    description = load_description(dataset)
    names = description.resolve_features(features)
    stored = list(dict.fromkeys([*names, *description.observables_for(names)]))
    sources = [*description.processes, *description.data]
    files = {p.name: resolve_files(description, p, data_root) for p in sources}
    sources = [p for p in sources if files[p.name]]
    settings = {
        "features": names, "seed": int(seed), "test_size": test_size, "val_size": val_size,
        "negative_weights": negative_weights,
    }  # fmt: skip
    digest = _content_hash(description, settings, {p.name: files[p.name] for p in sources})
    path = paths.prepared_dir() / f"{digest}.arrow"
    if path.exists() and not force:
        return PreparedDataset.open(path)

    read = _read_all(description, sources, files, stored, names, progress)
    events, data_events = read.events, read.data
    _check_classes(description, events)
    _check_features(description, events, names)
    events = events.iloc[np.random.default_rng(seed).permutation(len(events))].reset_index(drop=True)
    split = _split_codes(events["role"].to_numpy(), test_size, val_size)
    _check_splits(description, events, split)
    weights = _weights(events, negative_weights)
    from sklearn.preprocessing import StandardScaler  # here: every command's start-up would pay for scikit-learn

    train_rows = events.loc[split == SPLITS.index("train"), names].to_numpy(np.float64)
    scaler = StandardScaler().fit(train_rows)  # ignores NaN (absent values) in the fit
    missing = _missing_meta(description, events, split, names)

    table = pd.DataFrame({f"col:{c}": events[c].to_numpy(np.float32) for c in stored})
    table["label"] = events["label"].to_numpy(np.int8)
    table = table.assign(**weights)
    table["split"] = split
    table["process"] = events["process"].to_numpy(np.int16)
    table["run"], table["event"] = events["run"].to_numpy(np.int64), events["event"].to_numpy(np.int64)
    if len(data_events):
        data_table = pd.DataFrame({f"col:{c}": data_events[c].to_numpy(np.float32) for c in stored})
        data_table["label"] = np.int8(-1)
        for column in ("weight", "train_weight"):
            data_table[column] = 0.0
        data_table["phys_weight"] = data_events["weight"].to_numpy(np.float64)
        data_table["split"] = np.uint8(DATA_SPLIT)
        data_table["process"] = data_events["process"].to_numpy(np.int16)
        data_table["run"], data_table["event"] = data_events["run"].to_numpy(np.int64), data_events["event"].to_numpy(np.int64)
        table = pd.concat([table, data_table], ignore_index=True)
    meta = {
        "hash": digest,
        "features": names,
        "observables": [c for c in stored if c not in names],
        "plotted": description.observables_for(names),
        "display": {c: d.model_dump() for c, d in description.display.items() if c in stored},
        "scaler": {"mean": scaler.mean_.tolist(), "scale": scaler.scale_.tolist()},
        "missing": missing,
        "weighted": bool(description.weight) or any(process_scale(description, p) != 1.0 for p in description.processes),
        "fixed_split": bool((events["role"].to_numpy() != RANDOM_SPLIT).any()),
        "processes": read.processes,
        "cutflow": read.cutflow,
        "description": description.model_dump(mode="json"),
        "settings": settings,
    }
    PreparedDataset.from_frame(table, meta).write(path)
    return PreparedDataset.open(path)


@dataclass
class _Read:
    """Events kept from every input file, and what each process contributed."""

    events: pd.DataFrame
    data: pd.DataFrame
    processes: list[dict[str, Any]]
    cutflow: dict[str, list[list[Any]]]


def _read_all(
    description: DatasetDescription,
    sources: list[ProcessSpec],
    files: dict[str, list[InputFile]],
    stored: list[str],
    features: list[str],
    progress: bool,
) -> _Read:
    """Read every file of every process; number the (process, class) pairs; sum the cut flows."""
    entries: dict[tuple[str, int], int] = {}
    processes: list[dict[str, Any]] = []
    cutflow: dict[str, list[list[Any]]] = {}
    frames, data_frames = [], []
    kept_entries: dict[Path, dict[int, tuple[str, np.ndarray]]] = {}
    total = sum(len(files[p.name]) for p in sources)
    bar = tqdm(total=total, desc="reading", unit="file", leave=False, disable=None if progress else True)  # None: only on a terminal
    for process in sources:
        is_data = process in description.data
        label = -1 if is_data else description.label_of(process)
        flows: dict[int, list[list[Any]]] = {}
        for source in files[process.name]:
            bar.set_postfix_str(f"{process.name}: {source.path.name}")
            with named_as_written(source):
                read = read_file(description, process, source, stored, features, label=label)
            frame = read.frame[read.keep]
            classes = [label] if label is not None else [1, 0]
            for value in classes:
                key = (process.name, value)
                if key not in entries:
                    entries[key] = len(processes)
                    suffix = "" if label is not None else f" {CLASS_NAMES[value]}"
                    processes.append({"name": process.name + suffix, "label": value, "files": []})
                entry = processes[entries[key]]
                if str(source.path) not in entry["files"]:
                    entry["files"].append(str(source.path))
                steps = flows.setdefault(value, [[step, 0, 0.0] for step, _ in read.cutflow])
                for row, (_, counts) in zip(steps, read.cutflow):
                    row[1] += counts[value][0]
                    row[2] += counts[value][1]
                rows = frame["label"].to_numpy() == value
                if label is not None and not is_data:
                    by_class = kept_entries.setdefault(source.path.resolve(), {})
                    name, seen = by_class.get(value, (process.name, np.empty(0, np.int64)))
                    by_class[value] = (name, np.union1d(seen, frame["entry"].to_numpy()[rows]))
                part = frame[rows].assign(process=np.int16(entries[key]))
                (data_frames if is_data else frames).append(part)
            bar.update()
        for value, steps in flows.items():
            cutflow[processes[entries[(process.name, value)]]["name"]] = steps
    bar.close()
    _check_disjoint(kept_entries)
    columns = [*stored, "weight", "label", "role", "run", "event", "process"]
    events = pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
    data = pd.concat(data_frames, ignore_index=True)[columns] if data_frames else pd.DataFrame(columns=columns)
    return _Read(events, data, processes, cutflow)


def _check_disjoint(kept: dict[Path, dict[int, tuple[str, np.ndarray]]]) -> None:
    """Refuse events of one file given to both classes (the same file as signal and background)."""
    for path, by_class in kept.items():
        if 0 in by_class and 1 in by_class:
            shared = np.intersect1d(by_class[0][1], by_class[1][1])
            if len(shared):
                raise DataError(
                    f"{len(shared)} event(s) of {path} are given to both signal ({by_class[1][0]!r}) and background "
                    f"({by_class[0][0]!r}); give each class its own files, or selections that do not overlap"
                )


def _content_hash(description: DatasetDescription, settings: dict, files: dict[str, list[InputFile]]) -> str:
    """SHA-256 over the description, the settings and every input file's events (see :func:`input_fingerprint`)."""
    document = {
        "description": description.hash_document(),
        "settings": settings,
        "files": {name: [[f.path.name, input_fingerprint(f)] for f in fs] for name, fs in files.items()},
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def _check_classes(description: DatasetDescription, events: pd.DataFrame) -> None:
    """Insist on both classes remaining after the selection and the missing-value rules."""
    for label, name in CLASS_NAMES.items():
        if not (events["label"] == label).any():
            rules = description.missing_rules()
            marker = next((r.value for r in rules if r.action == "drop" and r.value is not None), None)
            cuts = [s.name for s in description.selection] + [p.selection for p in description.processes if p.selection]
            raise DataError(
                f"no {name} events left in dataset {description.name!r} after "
                + (f"the selection ({'; '.join(map(str, cuts))}) and " if cuts else "")
                + (f"dropping marker {marker:g} on {', '.join(r for rule in rules for r in (rule.columns or ['every input']))}"
                   if marker is not None else "the missing-value rules")
                + f"; a classifier needs both classes - check the {name} files, the selection and 'missing'"
            )


def _check_features(description: DatasetDescription, events: pd.DataFrame, names: list[str]) -> None:
    """Refuse a feature that is entirely undefined or constant after the selection."""
    for name in names:
        values = events[name].to_numpy(np.float64)
        defined = values[~np.isnan(values)]
        if not len(defined):
            raise DataError(f"feature {name!r} of dataset {description.name!r} is undefined in every selected event; "
                            "check its column or expression, or drop it from the features")  # fmt: skip
        if defined.min() == defined.max():
            raise DataError(f"feature {name!r} of dataset {description.name!r} is constant ({defined[0]:g}) in every "
                            "selected event, so it cannot tell the classes apart; drop it from the features")  # fmt: skip


def _check_splits(description: DatasetDescription, events: pd.DataFrame, split: np.ndarray) -> None:
    label = events["label"].to_numpy()
    for code, part in enumerate(SPLITS):
        for value, name in CLASS_NAMES.items():
            if not ((split == code) & (label == value)).any():
                raise DataError(
                    f"the {part} split of dataset {description.name!r} has no {name} events; "
                    + ("check the fixed split files or 'split' values" if (events["role"] != RANDOM_SPLIT).any()
                       else "use more events or larger --test-size / --val-size")
                )


def _missing_meta(description: DatasetDescription, events: pd.DataFrame, split: np.ndarray, names: list[str]) -> dict[str, Any]:
    """For each input with absent values: how many, the value trees get and the training mean the network gets."""
    rules = description.missing_rules()
    train = split == SPLITS.index("train")
    out: dict[str, Any] = {}
    for name in names:
        values = events[name].to_numpy(np.float64)
        absent = np.isnan(values)
        if not absent.any():
            continue
        rule = next(r for r in rules if r.covers(name))
        mean = float(np.nanmean(values[train])) if (~absent & train).any() else 0.0
        tree_fill = rule.fill if rule.fill is not None else rule.value if rule.value is not None else mean
        out[name] = {"count": int(absent.sum()), "value": float(tree_fill), "mean": float(rule.fill if rule.fill is not None else mean),
                     "indicator": f"{name}{INDICATOR_SUFFIX}"}  # fmt: skip
    return out


def _split_codes(roles: np.ndarray, test_size: float, val_size: float) -> np.ndarray:
    """Split codes of already shuffled rows.

    Without fixed splits the first ``test_size`` are test, then ``val_size`` of the rest validation,
    then train. With fixed splits each event keeps its split; where no validation events are
    given, ``val_size`` of the training events (at random) become the validation split.
    """
    n = len(roles)
    codes = np.full(n, SPLITS.index("train"), np.uint8)
    if not (roles != RANDOM_SPLIT).any():
        n_test = int(round(n * test_size))
        n_val = int(round((n - n_test) * val_size))
        codes[:n_test] = SPLITS.index("test")
        codes[n_test : n_test + n_val] = SPLITS.index("val")
        return codes
    fixed = roles != RANDOM_SPLIT
    codes[fixed] = roles[fixed]
    pool = ~fixed if (roles == SPLITS.index("val")).any() else ~fixed | (roles == SPLITS.index("train"))
    rows = np.flatnonzero(pool)
    codes[rows[: int(round(len(rows) * val_size))]] = SPLITS.index("val")
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
