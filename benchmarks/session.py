"""What the benchmarks of one invocation share: prepared data, search spaces, one study store.

Studies of the accuracy benchmarks (equal budget, gap to the limit) are named by model,
algorithm, dataset and seed, so a later benchmark of the same invocation reuses them; the timing
benchmarks give their studies fresh names.
"""

from __future__ import annotations

import hashlib
import itertools
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import optuna
import pandas as pd
from optuna.trial import TrialState

import hpo.data
import hpo.drivers
from hpo import metrics, paths
from hpo.data import PreparedDataset
from hpo.objectives import train_model
from hpo.spaces import SearchSpace, load_space
from benchmarks.settings import DATASETS, MODELS, VARIANTS, Settings, base_model


@dataclass(frozen=True)
class Scores:
    """Validation and test AUC of one configuration trained on the training split."""

    val_auc: float
    test_auc: float


class Session:
    """Data, spaces, the study store and a cache of retrained configurations for one run."""

    def __init__(self, settings: Settings, store_dir: Path | None = None) -> None:
        self.settings = settings
        self._tmp = None if store_dir else tempfile.TemporaryDirectory(prefix="hpo-bench-")
        self.store_dir = Path(store_dir or self._tmp.name)
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self.storage = f"sqlite:///{self.store_dir / 'benchmarks.db'}"
        self._data: dict[tuple[str, str | None], PreparedDataset] = {}
        self._scores: dict[tuple, Scores] = {}
        self._studies: dict[str, tuple[int, optuna.Study]] = {}
        self._names = itertools.count()

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()

    # -- data ------------------------------------------------------------------------------
    def dataset(self, name: str, features: str | None = None) -> PreparedDataset:
        """Preset ``name`` prepared by hpo (``synthetic``: the default) with feature set ``features``
        (None: the preset's default), subsampled to ``settings.events``."""
        key = (name, features)
        if key not in self._data:
            full = hpo.data.prepare(None if name == "synthetic" else name, features=features, progress=False)
            events = self.settings.events
            self._data[key] = full if events is None or events >= len(full.table) else subsample(full, events)
        return self._data[key]

    def cases(self, default_model: str) -> Iterator[tuple[str, str, PreparedDataset, str]]:
        """(dataset, feature set, its prepared data, model) of the benchmarks over feature sets:
        ``--datasets`` (default: the synthetic sample only) x ``--features`` x ``--models``
        (default: ``default_model`` only; the others at full size take hours on 2 cores)."""
        s = self.settings
        datasets = s.datasets if s.datasets != tuple(DATASETS) else ("synthetic",)
        models = s.models if s.models != MODELS else (default_model,)
        for dataset in datasets:
            for features in s.feature_sets:
                data = self.dataset(dataset, features)
                for model in models:
                    yield dataset, features, data, model

    # -- spaces ----------------------------------------------------------------------------
    def space(self, label: str) -> SearchSpace:
        """The space of row ``label``'s model, with the RF's tree count capped and the ANN's epochs capped
        (the BDT's as is), and a variant's settings pinned (``rf-xgboost``: ``engine: xgboost``)."""
        model = base_model(label)
        space = load_space(model)
        if model == "rf":
            data = space.to_dict()
            trees = data["params"]["n_estimators"]
            trees["high"] = min(trees["high"], self.settings.rf_max_trees)
            trees["low"] = min(trees["low"], max(1, trees["high"] // 4))
            space = SearchSpace.from_dict(data, f"{space.source} (n_estimators <= {trees['high']})")
        elif model == "ann":
            space = space.with_overrides({"epochs": self.settings.ann_epochs})
        return space.with_overrides(VARIANTS[label][1]) if label in VARIANTS else space

    def exercise_grid(self) -> SearchSpace:
        """The exercise's 192-point RF grid; in quick mode reduced (labelled in the source)."""
        space = load_space("rf-exercise-grid")
        scale = self.settings.rf_trees_scale
        if scale == 1:
            return space
        data = space.to_dict()
        for key in ("n_estimators", "min_samples_leaf", "min_samples_split"):
            p = data["params"][key]
            p["values"] = [max(2, v // scale) for v in p["values"]]
            p["low"], p["high"] = min(p["values"]), max(p["values"])
        reduced = SearchSpace.from_dict(data).with_overrides({"criterion": "gini", "bootstrap": False})
        return SearchSpace.from_dict(reduced.to_dict(), f"exercise grid reduced (trees and leaf sizes / {scale}, gini, no bootstrap)")

    # -- studies ---------------------------------------------------------------------------
    def study(
        self,
        model: str,
        algo: str,
        data: PreparedDataset,
        *,
        space: SearchSpace,
        n_trials: int,
        seed: int = 0,
        jobs: int | None = None,
        fresh: bool = False,
        **options: Any,
    ) -> optuna.Study:
        """Run (or continue to ``n_trials``) a study of row ``model`` (a model or a variant's label) on
        this session's store; ``fresh`` for a new name."""
        tag = hashlib.sha256(repr(space.to_dict()).encode()).hexdigest()[:6]
        name = f"{model}-{algo}-{data.hash[:8]}-{tag}-s{seed}"
        if fresh:
            name += f"-r{next(self._names)}"
        elif name in self._studies and self._studies[name][0] >= n_trials:
            return self._studies[name][1]  # already run this far: starting idle workers costs seconds
        study = hpo.drivers.run(
            base_model(model), algo, data, space=space, n_trials=n_trials, jobs=jobs or self.settings.jobs,
            storage=self.storage, study_name=name, seed=seed, progress=False, **options,
        )  # fmt: skip
        self._studies[name] = (n_trials, study)
        return study

    def scores(self, model: str, params: dict[str, Any], data: PreparedDataset, space: SearchSpace | None = None, seed: int = 0) -> Scores:
        """Validation and test AUC of ``params`` of row ``model`` trained on the training split (cached)."""
        config = space.configuration(params) if space is not None else dict(params)
        key = (model, data.hash, seed, tuple(sorted(config.items())))
        if key not in self._scores:
            trained = train_model(base_model(model), config, data, fit_splits=("train",), threads=joblib.cpu_count(), seed=seed)
            val, test = data.val, data.test
            self._scores[key] = Scores(
                metrics.roc_auc(val.y, trained.predict(val.X), val.w),
                metrics.roc_auc(test.y, trained.predict(test.X), test.w),
            )
        return self._scores[key]


def subsample(data: PreparedDataset, n_events: int, seed: int = 0) -> PreparedDataset:
    """``n_events`` rows of ``data`` drawn at random (each keeps its split), written beside the prepared files."""
    rows = np.sort(np.random.default_rng(seed).choice(len(data.table), size=n_events, replace=False))
    digest = hashlib.sha256(f"{data.hash}:subsample:{n_events}:{seed}".encode()).hexdigest()
    meta = {**data.meta, "hash": digest, "subsample": {"of": data.hash, "events": n_events, "seed": seed}}
    path = paths.prepared_dir() / f"{digest}.arrow"
    if not path.exists():
        PreparedDataset(data.table.take(rows), meta).write(path)
    return PreparedDataset.open(path)


def trials_frame(study: optuna.Study) -> pd.DataFrame:
    """Complete trials in trial order: number, value, val AUC, fit time, wall time (start to end), start/end times, params."""
    rows = []
    for t in sorted(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)), key=lambda t: t.number):
        rows.append(
            {
                "number": t.number,
                "value": t.value,
                "val_auc": t.user_attrs.get("val_auc", t.value),
                "fit_time_s": t.user_attrs.get("fit_time_s", np.nan),
                "trial_s": (t.datetime_complete - t.datetime_start).total_seconds(),
                "start": t.datetime_start,
                "complete": t.datetime_complete,
                "params": t.params,
            }
        )
    return pd.DataFrame(rows)


def best_within(frame: pd.DataFrame, budget: int) -> pd.Series:
    """The best complete trial among the first ``budget`` trials."""
    head = frame[frame["number"] < budget]
    return head.loc[head["value"].idxmax()]


def median_iqr(values: list[float]) -> str:
    """``median [q25, q75]`` of ``values`` (the spread over seeds), formatted."""
    v = np.asarray(values, dtype=float)
    if len(v) == 1:
        return f"{v[0]:.4f}"
    q25, q50, q75 = np.percentile(v, [25, 50, 75])
    return f"{q50:.4f} [{q25:.4f}, {q75:.4f}]"
