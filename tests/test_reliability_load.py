"""Reliability, load: 8 worker processes on one SQLite store, no trial failed, lost or duplicated.

CI runs 8 workers x 240 trials of an instant objective (about 25 s per algorithm on 2 cores);
``HPO_RELIABILITY_FULL=1`` runs the full setting, 8 workers x 2,000 trials (about
10 minutes per algorithm on 2 shared cores).
"""

from __future__ import annotations

import os
import time
from collections import Counter

import optuna
import pytest
from conftest import make_tiny_dataset
from test_drivers import CheapObjective

from hpo import drivers
from hpo.spaces import SearchSpace
from hpo.store import count_trials

pytestmark = pytest.mark.reliability

FULL = os.environ.get("HPO_RELIABILITY_FULL") == "1"
N_WORKERS = 8
N_TRIALS = 2000 if FULL else 240  # a multiple of 4: the grid is trees x criterion x bootstrap
_FIXED = {"min_samples_leaf": 5, "min_samples_split": 10, "max_features": 1.0, "max_depth": 3}


def _space(algo: str) -> SearchSpace:
    """A complete RF space; for ``grid`` one of exactly N_TRIALS points (trees x criterion x bootstrap)."""
    trees = list(range(1, N_TRIALS // 4 + 1))
    grid_trees = {"type": "int", "low": 1, "high": len(trees), "values": trees}
    params = {
        "n_estimators": grid_trees if algo == "grid" else {"type": "int", "low": 1, "high": 10_000},
        "criterion": {"type": "categorical", "choices": ["gini", "entropy"]},
        "bootstrap": {"type": "bool"},
    }
    return SearchSpace.from_dict({"model": "rf", "params": params, "fixed": _FIXED}, f"load-{algo}")


@pytest.mark.parametrize("algo", ["random", "grid"])
def test_eight_workers_share_one_sqlite_store(algo: str, capsys: pytest.CaptureFixture[str]) -> None:
    space = _space(algo)
    started = time.monotonic()
    study = drivers.run(
        "rf", algo, make_tiny_dataset(), space=space, n_trials=N_TRIALS, jobs=N_WORKERS, progress=False, objective_factory=CheapObjective()
    )
    wall = time.monotonic() - started

    trials = study.get_trials(deepcopy=False)
    counts = count_trials(study)
    assert counts["COMPLETE"] == N_TRIALS and sum(counts.values()) == N_TRIALS  # no FAIL, nothing left over
    assert sorted(t.number for t in trials) == list(range(N_TRIALS))  # none lost, none duplicated
    assert not [t.number for t in trials if "error" in t.user_attrs]
    assert all(t.state == optuna.trial.TrialState.COMPLETE and t.value is not None for t in trials)
    workers = Counter(t.user_attrs["worker"] for t in trials)
    assert len(workers) > N_WORKERS // 2  # the load really was shared
    if algo == "grid":
        points = Counter(tuple(sorted(t.params.items())) for t in trials)
        assert set(points.values()) == {1}
        assert set(points) == {tuple(sorted(p.items())) for p in space.grid()}  # every point exactly once
    assert drivers.check_study(study.study_name) == []
    with capsys.disabled():
        print(f"\n[reliability] load {algo}: {N_WORKERS} workers, {N_TRIALS} trials, 0 failed, {len(workers)} workers used, "
              f"{wall:.1f} s, {N_TRIALS / wall:.1f} trials/s")  # fmt: skip
