"""Benchmarks of hpo against the tools physicists use today.

``python -m benchmarks [NAME ...] [--quick]`` runs them; each prints its tables and writes
``benchmarks/results/<name>[.quick].json`` and ``.md``. :data:`BENCHMARKS` maps each name to
its module, whose ``run(session) -> list[Table]`` does the work and whose ``TITLE`` names it.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from benchmarks import equal_budget, equal_time, fidelity, limit_gap, noise, overhead, raw_libraries, scaling, time_to_target

#: Benchmark name -> module, in the order of RESULTS.md.
BENCHMARKS: dict[str, ModuleType] = {
    "time-to-target": time_to_target,
    "equal-budget": equal_budget,
    "raw-libraries": raw_libraries,
    "overhead": overhead,
    "scaling": scaling,
    "limit-gap": limit_gap,
    "multi-fidelity": fidelity,
    "small-sample": noise,
    "equal-time": equal_time,
}

#: The folder of the result files, ``<name>[.<label>][.quick].json`` and ``.md``.
RESULTS: Path = Path(__file__).resolve().parent / "results"

__all__ = ["BENCHMARKS", "RESULTS"]
