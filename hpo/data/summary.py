"""What ``hpo data info`` shows: events, weights and negative weights per class and split, feature ranges."""

from __future__ import annotations

from typing import Any

import numpy as np

from hpo.data.prepared import SPLITS, PreparedDataset

CLASS_NAMES = ("background", "signal")


def describe(dataset: PreparedDataset) -> dict[str, Any]:
    """A JSON-ready summary of a prepared dataset.

    Per class: events per split, the original (``phys_weight``) weight sum, and the number of
    negative-weight events with their share of the class's absolute weight; per stored column:
    minimum and maximum of the defined values; the cut flow per process (events and weighted
    yield after each selection step and the missing-value rules); the number of absent values per
    feature; plus the hash, file, features, processes and settings.
    """
    label = dataset.table.column("label").to_numpy()
    phys = dataset.table.column("phys_weight").to_numpy()
    process = dataset.table.column("process").to_numpy()
    classes = {}
    for value, name in enumerate(CLASS_NAMES):
        sel = label == value
        w = phys[sel]
        negative = w < 0
        classes[name] = {
            "events": {s: int(np.count_nonzero(sel & dataset.mask(s))) for s in SPLITS} | {"total": int(sel.sum())},
            "weight_sum": float(w.sum()),
            "negative_events": int(negative.sum()),
            "negative_share": float(np.abs(w[negative]).sum() / np.abs(w).sum()) if len(w) else 0.0,
            "processes": {
                p["name"]: int(np.count_nonzero(process[sel] == i))
                for i, p in enumerate(dataset.meta["processes"])
                if p["label"] == value
            },
        }
    ranges = {}
    for column in dataset.columns:
        values = dataset.table.column(f"col:{column}").to_numpy()
        defined = values[~np.isnan(values)]
        ranges[column] = [float(defined.min()), float(defined.max())] if len(defined) else [float("nan")] * 2
    return {
        "hash": dataset.hash,
        "path": str(dataset.path) if dataset.path else None,
        "dataset": dataset.meta.get("description", {}).get("name"),
        "features": dataset.features,
        "observables": list(dataset.meta.get("observables", [])),
        "settings": dataset.meta.get("settings", {}),
        "classes": classes,
        "ranges": ranges,
        "cutflow": dataset.meta.get("cutflow", {}),
        "missing": {name: info["count"] for name, info in dataset.missing.items()},
        "weighted": dataset.weighted,
        "data_events": int(dataset.mask("data").sum()),
    }
