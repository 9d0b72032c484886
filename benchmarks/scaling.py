"""Benchmark 5: parallel scaling, a fixed number of trials with 1, 2, 4, ... worker processes.

The workload is the first N points of a grid, so every worker count runs exactly the same
configurations. hpo gives each of J workers ``cores // J`` threads, so one worker already uses
every core for the forest's trees and TensorFlow's ops: the speed-up measures process-level
parallelism against library threading.
"""

from __future__ import annotations

import os

import pandas as pd

from benchmarks.report import Table, stopwatch
from benchmarks.session import Session, trials_frame

TITLE = "Parallel scaling: fixed trial count with 1, 2, ... workers"


def worker_counts(cores: int) -> list[int]:
    """1, 2, 4, ... up to the number of cores (at least 1 and 2)."""
    counts, j = [1, 2], 4
    while j <= cores:
        counts.append(j)
        j *= 2
    return counts


def run(session: Session) -> list[Table]:
    s = session.settings
    data = session.dataset("synthetic")
    rows = []
    for model in s.models:
        space = session.exercise_grid() if model == "rf" else session.space(model)
        base = None
        for jobs in worker_counts(os.cpu_count() or 1):
            with stopwatch() as t:
                study = session.study(model, "grid", data, space=space, n_trials=s.scaling_trials, jobs=jobs, fresh=True)
            base = base or t["s"]
            fits = trials_frame(study)["fit_time_s"].sum()
            rows.append({"model": model, "workers": jobs, "threads_per_worker": max(1, (os.cpu_count() or 1) // jobs),
                         "trials": s.scaling_trials, "wall_s": t["s"], "sum_fit_s": fits,
                         "speed_up": base / t["s"], "efficiency": base / t["s"] / jobs})  # fmt: skip
    notes = [
        f"first {s.scaling_trials} grid points (rf: {session.exercise_grid().source}; ann: search_spaces/ann.yaml, "
        f"epochs <= {s.ann_epochs}) on the synthetic sample ({len(data.table)} events); wall time includes worker start-up",
        "efficiency = speed-up / workers; sum_fit_s: time spent fitting, added over trials",
    ]
    return [Table("Parallel scaling", pd.DataFrame(rows), notes)]
