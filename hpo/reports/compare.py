"""``hpo compare``: which search reaches the best classifier for the least compute."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from hpo import paths
from hpo.reports import history, tables
from hpo.reports.sources import open_studies


@dataclass(frozen=True)
class Comparison:
    """The comparison table and the files written."""

    table: pd.DataFrame
    csv: Path
    markdown: Path
    by_trials: Path
    by_time: Path


def compare(study_names: list[str], storage: str | None = None, out: str | Path | None = None) -> Comparison:
    """Best-so-far curves against trials and wall-clock time (``best_vs_trials.png``,
    ``best_vs_time.png``) and the table ``compare.csv`` / ``compare.md`` in ``out`` (default
    ``<hpo home>/compare``)."""
    studies = open_studies(list(study_names), storage)
    out = Path(out) if out is not None else paths.home() / "compare"
    histories = [history.load_history(s) for s in studies]
    by_trials = history.plot_comparison(histories, "trials", out / "best_vs_trials.png")
    by_time = history.plot_comparison(histories, "time", out / "best_vs_time.png")
    table = tables.compare_table(studies, histories)
    csv, markdown = tables.write_table(table, out / "compare")
    return Comparison(table, csv, markdown, by_trials, by_time)
