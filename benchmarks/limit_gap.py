"""Benchmark 6: the best test AUC of each algorithm against the Bayes-optimal AUC of the synthetic data."""

from __future__ import annotations

import pandas as pd

import hpo.data
from benchmarks.equal_budget import budget_rows, exercise_rows, summarise
from benchmarks.report import Table
from benchmarks.session import Session

TITLE = "Gap to the limit: best test AUC vs the Bayes-optimal AUC (synthetic data)"


def run(session: Session) -> list[Table]:
    s = session.settings
    data = session.dataset("synthetic")
    limit = hpo.data.bayes_limit(data, "test")
    budget = max(s.budgets)
    rows: list[dict] = []
    for model in s.models:
        rows += exercise_rows(session, "synthetic", model)
        rows += budget_rows(session, "synthetic", model, s.algos, (budget,))  # reuses equal-budget studies
    summary = summarise(pd.DataFrame(rows))
    summary["bayes_limit"] = limit
    summary["gap"] = limit - summary["test_auc"]
    summary["fraction_of_headroom_left"] = summary["gap"] / (limit - 0.5)
    notes = [
        f"Bayes limit: weighted AUC of the exact likelihood ratio on the same test split ({len(data.test)} events; "
        "hpo.data.bayes_limit, as `hpo data limit`)",
        f"each algorithm's best of {budget} trials, retrained on the training split; median over {s.seeds} seed(s)",
        "fraction_of_headroom_left = gap / (limit - 0.5)",
    ]
    return [Table("Gap to the Bayes limit", summary[["model", "algo", "budget", "seeds", "test_auc", "bayes_limit", "gap", "fraction_of_headroom_left"]], notes)]
