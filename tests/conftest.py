"""Shared fixtures: an isolated hpo home per test and a tiny in-memory prepared dataset."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from system_packages import NEEDS, CannotInstall, ensure_installed

from hpo.data.prepared import SPLITS, PreparedDataset

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

# Keep TensorFlow quiet and small in every test process (workers inherit the environment).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def pytest_collection_finish(session: pytest.Session) -> None:
    """Install the system programs the selected tests drive (Chromium, chromedriver, PostgreSQL) when missing."""
    markers = {name for item in session.items for name in NEEDS if item.get_closest_marker(name)}
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    log = reporter.write_line if reporter is not None else print
    try:
        ensure_installed(sorted(markers), log=log)
    except CannotInstall as err:
        raise pytest.UsageError(str(err)) from None


@pytest.fixture(autouse=True)
def hpo_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own HPO_HOME, so stores and prepared files never leak between tests."""
    home = tmp_path / "studies"
    monkeypatch.setenv("HPO_HOME", str(home))
    return home


def write_rf_grid_space(path: Path, *, params: dict | None = None, fixed: dict | None = None) -> Path:
    """A small RF space file whose grid has 8 points (criterion x max_depth 2/4 x bootstrap), plus ``params`` and ``fixed``."""
    path.write_text(yaml.safe_dump({
        "model": "rf",
        "params": {
            "criterion": {"type": "categorical", "choices": ["gini", "entropy"]},
            "max_depth": {"type": "int", "low": 2, "high": 4, "values": [2, 4]},
            "bootstrap": {"type": "bool"},
            **(params or {}),
        },
        "fixed": {"min_samples_leaf": 5, "min_samples_split": 10, "max_features": 1.0, **(fixed or {})},
    }))  # fmt: skip
    return path


def make_tiny_dataset(n: int = 600, n_features: int = 5, seed: int = 0, separation: float = 1.0) -> PreparedDataset:
    """A small two-Gaussian dataset in the prepared layout, for tests that need no real inputs."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.4).astype(np.int8)
    X = rng.normal(size=(n, n_features)).astype(np.float32) + separation * y[:, None] * np.linspace(1, 0.2, n_features)
    names = [f"x{i}" for i in range(n_features)]
    split = rng.choice(3, size=n, p=[0.56, 0.24, 0.2]).astype(np.uint8)
    w = np.where(y == 1, 1.0 / max(1, y.sum()), 1.0 / max(1, (1 - y).sum()))
    frame = pd.DataFrame({f"col:{c}": X[:, i] for i, c in enumerate(names)})
    frame["label"] = y
    frame["weight"] = w
    frame["train_weight"] = w
    frame["phys_weight"] = w * 10.0
    frame["split"] = split
    frame["process"] = y.astype(np.int16)
    frame["run"] = np.ones(n, np.int64)
    frame["event"] = np.arange(n, dtype=np.int64)
    train = X[split == SPLITS.index("train")]
    meta = {
        "hash": f"tiny{seed:04d}{n:08d}{n_features:02d}",
        "features": names,
        "observables": [],
        "scaler": {"mean": train.mean(0).tolist(), "scale": train.std(0).tolist()},
        "processes": [{"name": "background", "label": 0}, {"name": "signal", "label": 1}],
        "description": {"name": "tiny"},
        "settings": {"seed": seed},
    }
    return PreparedDataset.from_frame(frame, meta)


@pytest.fixture
def tiny_dataset() -> PreparedDataset:
    """A 600-event, 5-feature dataset with separable classes."""
    return make_tiny_dataset()
