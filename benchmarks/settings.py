"""Benchmark sizes: the full preset, the ``--quick`` preset, and command-line overrides."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace
from typing import Any

#: Dataset presets of :func:`hpo.data.prepare` the benchmarks know, with a short label.
DATASETS: dict[str, str] = {
    "synthetic": "synthetic VBF vs ggH+ZZ (4mu)",
    "atlas-opendata-4l": "ATLAS Open Data VBF vs ggF (4l)",
    "rgs-2e2mu": "RGS 2e2mu VBF vs ggH+ZZ",
}
ALGOS: tuple[str, ...] = ("grid", "random", "bayes", "tpe", "cmaes")
MODELS: tuple[str, ...] = ("rf", "ann", "bdt")
#: Benchmark rows that run a model with settings of its space pinned: label -> (model, pinned settings).
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "rf-xgboost": ("rf", {"engine": "xgboost"}),  # the forest on XGBoost's histogram random forest
}
ROWS: tuple[str, ...] = (*MODELS, *VARIANTS)  # what --models accepts


def base_model(label: str) -> str:
    """The hpo model a benchmark row runs: ``rf-xgboost`` -> ``rf``; a model name is itself."""
    return VARIANTS[label][0] if label in VARIANTS else label


#: Feature sets of the synthetic presets: the 18 lepton and jet pt/eta/phi, or the 5 high-level ones.
FEATURE_SETS: tuple[str, ...] = ("low", "high")


@dataclass(frozen=True)
class Settings:
    """Every size a benchmark uses; :data:`FULL` and :data:`QUICK` are the two presets.

    ``models`` are labels of :data:`ROWS` (a model, or a variant of one). ``events`` caps the
    events drawn (at random, split codes kept) from each prepared dataset, None for all of them
    (``--events all``). ``rf_trees_scale`` divides the tree counts and minimum leaf/split sizes
    of the exercise's RF grid (1: the grid verbatim); ``rf_max_trees`` caps ``n_estimators`` of
    the general RF space; ``ann_epochs`` caps the ANN's epochs.
    """

    quick: bool
    datasets: tuple[str, ...]
    models: tuple[str, ...] = MODELS
    algos: tuple[str, ...] = ALGOS
    events: int | None = None
    seeds: int = 3
    first_seed: int = 0  # seeds run: first_seed, first_seed + 1, ... (a later run adds seeds to an earlier one)
    jobs: int = 2
    budgets: tuple[int, ...] = (10, 25, 50, 100)
    target_trials: int = 60  # hpo trials allowed to reach the grid's target (benchmark 1)
    fidelity_trials: int = 100  # trials of each study of the multi-fidelity benchmark
    noise_trials: int = 30  # trials of each study of the small-sample benchmark
    noise_folds: int = 5  # K of its cross-validated studies
    wall_budgets_s: tuple[int, ...] = (600, 1800, 3600)  # equal wall-clock budgets, seconds
    feature_sets: tuple[str, ...] = ("low",)  # feature sets of the multi-fidelity benchmark
    raw_trials: int = 30  # budget of the raw-library comparison (benchmark 3)
    overhead_trials: tuple[int, int] = (200, 1000)  # cheap-objective study sizes (benchmark 4)
    real_overhead_trials: int = 20  # trials with the real objectives (benchmark 4)
    scaling_trials: int = 24  # fixed trial count of the scaling runs (benchmark 5)
    rf_trees_scale: int = 1
    rf_max_trees: int = 300
    ann_epochs: int = 20
    cv_folds: int = 3
    exercise: bool = True  # train the exercise's hand-picked configurations as a reference
    target_margin: float = 0.002
    label: str | None = None  # result files are <name>[.<label>][.quick].json

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with the non-None ``changes`` applied."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @property
    def seed_values(self) -> range:
        """The seeds this run uses: ``seeds`` of them from ``first_seed`` on."""
        return range(self.first_seed, self.first_seed + self.seeds)

    @property
    def mode(self) -> str:
        return "quick" if self.quick else "full"

    @property
    def notes(self) -> tuple[str, ...]:
        """What these sizes leave out of the exercise, written into every result file."""
        if self.quick:
            events = "all" if self.events is None else f"{self.events:,}"
            return (
                f"QUICK MODE: {events} events per dataset, {self.seeds} seed(s), budgets "
                f"{'/'.join(map(str, self.budgets))}, RF grid reduced (tree counts and minimum leaf/split sizes divided "
                f"by {self.rf_trees_scale}, criterion and bootstrap pinned), ANN <= {self.ann_epochs} epochs - a smoke "
                "test of the harness, not a measurement",
            )
        events = "all events" if self.events is None else f"{self.events:,} events drawn at random (split codes kept)"
        return (
            f"each dataset: {events}; the exercise-sized synthetic sample (115k events) makes one 300-tree forest "
            "take over a minute on 2 cores, so the 576 fits of the 3-fold 192-point grid alone would take hours",
            f"the general RF space has n_estimators capped at {self.rf_max_trees}; the ANN stops after at most "
            f"{self.ann_epochs} epochs",
        )


def parse_label(text: str) -> str:
    """``--label``: letters, digits, ``-`` and ``_`` (it becomes part of the result files' names)."""
    if not text or not all(c.isalnum() or c in "-_" for c in text):
        raise argparse.ArgumentTypeError(f"a label is letters, digits, '-' and '_', got {text!r}")
    return text


FULL = Settings(quick=False, datasets=tuple(DATASETS), events=8000)

QUICK = Settings(
    quick=True,
    datasets=("synthetic",),
    models=("rf",),
    events=1500,
    seeds=1,
    budgets=(5, 10),
    target_trials=12,
    fidelity_trials=12,
    noise_trials=4,
    noise_folds=3,
    wall_budgets_s=(3, 6),
    raw_trials=8,
    overhead_trials=(20, 60),
    real_overhead_trials=4,
    scaling_trials=6,
    rf_trees_scale=10,
    rf_max_trees=40,
    ann_epochs=2,
)
