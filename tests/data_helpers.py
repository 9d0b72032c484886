"""Helpers for the data-stage tests: small synthetic descriptions and tiny CSV datasets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from hpo.data import DatasetDescription, load_description
from hpo.data.description import SyntheticSpec


def small_synthetic(name: str = "synthetic", scale: float = 0.1, channel: str = "4mu") -> DatasetDescription:
    """A preset whose ``${SYNTHETIC}`` samples are generated at ``scale`` of the default size."""
    return load_description(name).model_copy(update={"synthetic": SyntheticSpec(channel=channel, scale=scale)})


def csv_frame(n: int, seed: int, *, signal: bool) -> pd.DataFrame:
    """``n`` events in the ATLAS CSV layout (weight, mass4l, detajj, massjj), a quarter without jets."""
    rng = np.random.default_rng(seed)
    shift = 1.5 if signal else 0.0
    frame = pd.DataFrame({
        "weight": rng.uniform(0.5, 1.5, n),
        "mass4l": rng.normal(125, 2, n),
        "detajj": np.abs(rng.normal(2 + shift, 1, n)),
        "massjj": rng.lognormal(5.5 + shift / 3, 0.5, n),
    })  # fmt: skip
    no_jets = rng.random(n) < 0.25
    frame.loc[no_jets, ["detajj", "massjj"]] = -1.0
    return frame


def write_csv_dataset(
    folder: Path, signal: pd.DataFrame | None = None, background: pd.DataFrame | None = None, **overrides
) -> Path:
    """Write a two-class CSV dataset and its YAML description (fields replaced by ``overrides``); return the YAML."""
    signal = csv_frame(300, 1, signal=True) if signal is None else signal
    background = csv_frame(500, 2, signal=False) if background is None else background
    signal.to_csv(folder / "sig.csv", index=False)
    background.to_csv(folder / "bkg.csv", index=False)
    description = {
        "name": "tiny-csv",
        "format": "csv",
        "weight": "weight",
        "marker": -1,
        "checked": ["f_massjj", "f_deltajj"],
        "columns": {"f_massjj": "massjj", "f_deltajj": "detajj", "f_mass4l": "mass4l"},
        "signal": [{"name": "sig", "files": ["sig.csv"]}],
        "background": [{"name": "bkg", "files": ["bkg.csv"]}],
        **overrides,
    }
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(description))
    return path
