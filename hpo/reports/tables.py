"""The comparison table of studies, written as CSV and Markdown."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pandas as pd

from hpo.reports.history import CONVERGENCE_TOLERANCE, StudyHistory
from hpo.reports.regret import Reference, regret

# Columns of the comparison table, in order.
COLUMNS = (
    "study",
    "model",
    "algo",
    "seed",
    "trials",
    "pruned",
    "best_val",
    "regret",
    "best_test_auc",
    "val_test_gap",
    "total_trial_time_s",
    "median_trial_time_s",
    "wall_time_s",
    "trials_to_within_0.002",
)


def compare_table(studies: list[optuna.Study], histories: list[StudyHistory], reference: Reference | None = None) -> pd.DataFrame:
    """One row per study: best validation value, its regret (distance to ``reference``; NaN without
    one), test AUC of the retrained best model and its validation-to-test gap (validation AUC
    minus test AUC; both when ``hpo best`` recorded them), complete and pruned trials, the time of
    every ended trial (pruned and failed ones cost time too) and the median of the complete ones,
    wall-clock span, and the number of trials after which it first came within 0.002 of its final
    best."""
    rows = []
    for study, h in zip(studies, histories, strict=True):
        test_auc = study.user_attrs.get("best_test_auc")
        gap = study.user_attrs.get("best_val_test_gap")
        if gap is None and test_auc is not None:  # tested before the gap was recorded: from the tested trial
            gap = _gap_of_tested_trial(study, float(test_auc))
        rows.append(
            {
                "study": h.name,
                "model": h.model,
                "algo": h.algo,
                "seed": h.seed,
                "trials": len(h),
                "pruned": h.pruned,
                "best_val": h.best,
                "regret": float(regret(h, reference)[-1]) if reference is not None and len(h) else np.nan,
                "best_test_auc": np.nan if test_auc is None else float(test_auc),
                "val_test_gap": np.nan if gap is None else float(gap),
                "total_trial_time_s": h.spent_s if not np.isnan(h.spent_s) else float(np.nansum(h.durations_s)),
                "median_trial_time_s": float(np.nanmedian(h.durations_s)) if len(h) else np.nan,
                "wall_time_s": float(h.elapsed_s.max()) if len(h) else np.nan,
                "trials_to_within_0.002": h.trials_to_within(CONVERGENCE_TOLERANCE),
            }
        )
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    table["seed"] = table["seed"].astype("Int64")
    table["trials_to_within_0.002"] = table["trials_to_within_0.002"].astype("Int64")
    return table


def _gap_of_tested_trial(study: optuna.Study, test_auc: float) -> float | None:
    """Validation AUC of the trial ``hpo best`` tested minus ``test_auc`` (None if unknown)."""
    number = study.user_attrs.get("best_trial_number")
    trial = next((t for t in study.get_trials(deepcopy=False) if t.number == number), None)
    val_auc = trial.user_attrs.get("val_auc") if trial is not None else None
    return float(val_auc) - test_auc if isinstance(val_auc, (int, float)) else None


def to_markdown(table: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table (values rounded for reading; the CSV keeps full precision)."""
    readable = table.astype(object).where(table.notna(), None)  # tabulate shows None, not NaN, as missing
    return readable.to_markdown(index=False, floatfmt=".4f", missingval="-")


def write_table(table: pd.DataFrame, stem: str | Path) -> tuple[Path, Path]:
    """Write ``<stem>.csv`` (full precision) and ``<stem>.md``; return both paths."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    csv, md = stem.with_suffix(".csv"), stem.with_suffix(".md")
    table.to_csv(csv, index=False)
    md.write_text(to_markdown(table) + "\n")
    return csv, md
