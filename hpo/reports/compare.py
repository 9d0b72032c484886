"""``hpo compare``: which search reaches the best classifier for the least compute."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import optuna
import pandas as pd

from hpo import paths, progress
from hpo.data.prepared import PreparedDataset
from hpo.errors import HpoError
from hpo.reports import history, regret, style, tables
from hpo.reports.sources import open_studies, study_dataset
from hpo.store import best_value


@dataclass(frozen=True)
class Comparison:
    """The comparison table, the regret reference and the files written."""

    table: pd.DataFrame
    reference: regret.Reference
    csv: Path
    markdown: Path
    by_trials: Path
    by_time: Path
    regret_by_trials: Path
    regret_by_time: Path
    regret_csv: Path


def compare(
    study_names: list[str],
    storage: str | None = None,
    out: str | Path | None = None,
    *,
    test_auc: bool = False,
    show_progress: bool = True,
) -> Comparison:
    """Compare studies in ``out`` (default ``<hpo home>/compare``).

    Writes best-so-far curves against trials and wall-clock time (``best_vs_trials.png``,
    ``best_vs_time.png``), the regret beside them on a log scale (``regret_vs_trials.png``,
    ``regret_vs_time.png``, values in ``regret.csv``: distance to the Bayes limit for AUC studies of
    one synthetic dataset, otherwise to the best value any of them reached) and the table
    ``compare.csv`` / ``compare.md``. With ``test_auc``, studies whose best configuration ``hpo best``
    has not retrained yet are retrained first, so the table's test AUC is filled for every study.
    """
    studies = open_studies(list(study_names), storage)
    out = Path(out) if out is not None else paths.home() / "compare"
    if test_auc:
        _retrain_missing(studies, storage, show_progress)
    histories = [history.load_history(s) for s in studies]
    dataset = _common_dataset(studies)
    tag = style.tag_of(dataset.meta.get("description") if dataset is not None else None)
    with style.tagged(tag):
        ref = regret.reference(histories, dataset)
        by_trials = history.plot_comparison(histories, "trials", out / "best_vs_trials.png")
        by_time = history.plot_comparison(histories, "time", out / "best_vs_time.png")
        regret_by_trials = regret.plot_regret(histories, ref, "trials", out / "regret_vs_trials.png")
        regret_by_time = regret.plot_regret(histories, ref, "time", out / "regret_vs_time.png")
    regret_csv = out / "regret.csv"
    regret.regret_table(histories, ref).to_csv(regret_csv, index=False)
    table = tables.compare_table(studies, histories, ref)
    csv, markdown = tables.write_table(table, out / "compare")
    return Comparison(table, ref, csv, markdown, by_trials, by_time, regret_by_trials, regret_by_time, regret_csv)


def _common_dataset(studies: list[optuna.Study]) -> PreparedDataset | None:
    """The prepared dataset every study tuned on, if they share one and it is on this machine."""
    hashes = {s.user_attrs.get("dataset_hash") for s in studies}
    if len(hashes) != 1 or None in hashes:
        return None
    try:
        return study_dataset(studies[0])
    except HpoError:
        return None


def _retrain_missing(studies: list[optuna.Study], storage: str | None, show_progress: bool) -> None:
    """Run ``hpo best`` for each study with a complete trial and no recorded test AUC."""
    from hpo.drivers import best

    todo = [s for s in studies if "best_test_auc" not in s.user_attrs and best_value(s) is not None]
    if not todo:
        return
    with progress.bar(len(todo), "retraining best configurations", "study", enabled=show_progress) as bar:
        for study in todo:
            bar.set_postfix_str(study.study_name)
            best(study.study_name, storage)
            bar.update()
