"""``hpo report``: one study explained on one page (HTML with embedded figures, and Markdown)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd

from hpo import paths, progress
from hpo.data.prepared import SPLITS, PreparedDataset
from hpo.reports import history, optimisation, physics, style
from hpo.reports.html import Fact, FigureRef, Section, write_report
from hpo.reports.sources import best_model, open_studies, study_dataset
from hpo.store import count_trials

PERMUTATION_REPEATS = 3


@dataclass(frozen=True)
class StudyReport:
    """Where a report was written and the headline numbers it shows."""

    html: Path
    markdown: Path
    figures: list[Path]
    train_auc: float
    test_auc: float
    best_cut: physics.BestCut


def report(study_name: str, storage: str | None = None, out: str | Path | None = None, *, show_progress: bool = True) -> StudyReport:
    """Write ``report.html`` (self-contained) and ``report.md`` plus the PNG figures to ``out``
    (default ``<hpo home>/<study>/report``), retraining the best model first if ``hpo best`` has
    not saved it yet. The figures carry the experiment tag and status of the dataset description.
    A progress bar is drawn on a terminal unless ``show_progress`` is False."""
    (study,) = open_studies([study_name], storage)
    out = Path(out) if out is not None else paths.home() / study_name / "report"
    out.mkdir(parents=True, exist_ok=True)
    dataset = study_dataset(study)
    description = dataset.meta.get("description", {})
    with progress.bar(4, f"report {study_name}", "part", enabled=show_progress) as steps, style.tagged(style.tag_of(description)):
        sections = [_summary(study, dataset)]
        steps.update()
        sections += _optimisation(study, out)
        steps.update()
        model = best_model(study, storage)
        steps.update()
        model_sections, numbers = _best_model(study, model, dataset, out)
        sections += model_sections
        steps.update()
    html_path, md_path = write_report(f"Study {study_name}", sections, out / "report")
    figures = [f.path for s in sections for f in s.figures]
    return StudyReport(html_path, md_path, figures, **numbers)


def _summary(study: optuna.Study, dataset: PreparedDataset) -> Section:
    attrs = study.user_attrs
    facts = [Fact("Study", study.study_name)]
    for key, label in (("model", "Model"), ("algo", "Algorithm"), ("seed", "Seed"), ("metric", "Objective")):
        if key in attrs:
            facts.append(Fact(label, attrs[key]))
    description = dataset.meta.get("description", {})
    facts += [
        Fact("Dataset", f"{description.get('name', '?')} ({dataset.hash[:12]})"),
        *sample_facts(description),
        Fact("Features", ", ".join(dataset.features)),
        Fact("Events (train / val / test)", " / ".join(str(int(dataset.mask(s).sum())) for s in SPLITS)),
    ]
    counts = {state: n for state, n in count_trials(study).items() if n}
    facts.append(Fact("Trials", ", ".join(f"{n} {state.lower()}" for state, n in counts.items()) or "none"))
    best = history.load_history(study)
    if len(best):
        facts.append(Fact(f"Best {history.metric_label(best.metric).lower()}", best.best, key="best-val"))
        facts.append(Fact("Best parameters", json.dumps(study.best_params)))
    for key in ("space", "versions"):
        if key in attrs:
            facts.append(Fact(key.capitalize(), json.dumps(attrs[key]) if not isinstance(attrs[key], str) else attrs[key]))
    return Section("Summary", facts=facts)


def sample_facts(description: dict[str, Any]) -> list[Fact]:
    """What the dataset description says about the sample: title, experiment tag and status,
    centre-of-mass energy and integrated luminosity (each only when given)."""
    facts = []
    if description.get("title"):
        facts.append(Fact("Sample", description["title"]))
    tag = style.tag_of(description)
    if tag:
        facts.append(Fact("Experiment", str(tag), key="experiment"))
    if description.get("energy") is not None:
        facts.append(Fact("Centre-of-mass energy", f"\u221as = {description['energy']:g} TeV"))
    if description.get("luminosity") is not None:
        facts.append(Fact("Integrated luminosity", f"{description['luminosity']:g} fb\u207b\u00b9"))
    return facts


def _optimisation(study: optuna.Study, out: Path) -> list[Section]:
    h = history.load_history(study)
    sections = [Section("Optimisation history", figures=[FigureRef(history.plot_history(h, out / "history.png"),
                                                                   "Objective of each trial and best so far")])]
    importances, note = optimisation.param_importances(study)
    section = Section("Hyperparameter importances")
    if note:
        section.notes.append(f"Importances are not shown: {note}.")
    else:
        section.figures.append(FigureRef(optimisation.plot_importances(importances, out / "importances.png"),
                                         "Importance of each hyperparameter for the objective (Optuna)"))
    sections.append(section)
    top = list(importances)[:2] or optimisation.varied_params(study.get_trials(deepcopy=False))[:2]
    section = Section("Most important parameters")
    if top and len(h):
        section.figures.append(FigureRef(optimisation.plot_parameters(study, top, out / "parameters.png"),
                                         f"Objective against {' and '.join(top)}"))
    else:
        section.notes.append("No hyperparameter varied over the finished trials.")
    sections.append(section)
    return sections


def _yields(dataset: PreparedDataset, split: str) -> np.ndarray:
    """Physical weights of ``split`` scaled per class to the expected yield of the whole sample."""
    labels = np.concatenate([dataset.split(s).y for s in SPLITS])
    w_all = np.concatenate([dataset.split(s).w_phys for s in SPLITS])
    part = dataset.split(split)
    out = part.w_phys.copy()
    for cls in (0, 1):
        in_split = part.w_phys[part.y == cls].sum()
        if in_split != 0:
            out[part.y == cls] *= w_all[labels == cls].sum() / in_split
    return out


def _best_model(study: optuna.Study, model: Any, dataset: PreparedDataset, out: Path) -> tuple[list[Section], dict]:
    fit_splits = [s for s in model.info.get("fit_splits", ("train", "val")) if s != "test"]
    fit = [dataset.split(s) for s in fit_splits]
    test = dataset.test
    train = physics.Labelled(np.concatenate([s.y for s in fit]), np.concatenate([model.predict(s.X) for s in fit]),
                             np.concatenate([s.w for s in fit]))
    tested = physics.Labelled(test.y, np.asarray(model.predict(test.X), dtype=np.float64).ravel(), test.w)
    aucs = physics.plot_roc({"Train": train, "Test": tested}, out / "roc.png")
    facts = [Fact(f"Train AUC (weighted, {' + '.join(fit_splits)})", aucs["Train"], key="train-auc"),
             Fact("Test AUC (weighted)", aucs["Test"], key="test-auc")]
    recorded = study.user_attrs.get("best_test_auc")
    if recorded is not None:
        facts.append(Fact("Test AUC recorded by 'hpo best'", float(recorded)))
    performance = Section("Best model: ROC", facts=facts, figures=[FigureRef(out / "roc.png", "ROC curves, weighted AUC")])

    p_values = physics.plot_scores(train, tested, out / "scores.png")
    overtraining = Section(
        "Best model: overtraining check",
        facts=[Fact("KS p-value, signal train vs test", p_values["signal"]),
               Fact("KS p-value, background train vs test", p_values["background"])],
        figures=[FigureRef(out / "scores.png", "Classifier score for signal and background, train (points) and test (filled)")],
    )

    yields = physics.Labelled(tested.y, tested.score, _yields(dataset, "test"))
    cut = physics.best_cut(yields)
    physics.plot_cut_scan(yields, cut, out / "cut_scan.png")
    matrix = physics.plot_confusion(yields, cut.threshold, out / "confusion.png")
    selection = Section(
        "Best model: selection",
        facts=[Fact("Best cut (max AMS)", cut.threshold, key="best-cut"), Fact("AMS", cut.ams),
               Fact("Selected signal (expected)", cut.signal), Fact("Selected background (expected)", cut.background),
               Fact("Signal efficiency", cut.efficiency), Fact("Purity", cut.purity)],
        notes=["Yields are the test events' physical weights scaled per class to the whole sample."],
        table=pd.DataFrame(matrix, index=["Background", "Signal"], columns=["Rejected", "Selected"])
        .rename_axis("True class").reset_index(),
        figures=[FigureRef(out / "cut_scan.png", "AMS and purity x efficiency against the cut"),
                 FigureRef(out / "confusion.png", "Weighted confusion matrix at the best cut")],
    )

    impurity = model.feature_importances()  # None for models without one (ANN)
    permutation = physics.permutation_importance(model.predict, test.X, tested, n_repeats=PERMUTATION_REPEATS)
    importance = Section(
        "Best model: feature importances",
        notes=[f"Permutation importance: drop of the weighted test AUC when a feature is shuffled "
               f"(mean and spread of {PERMUTATION_REPEATS} shuffles)."],
        figures=[FigureRef(physics.plot_importances(dataset.features, permutation, out / "feature_importances.png",
                                                    impurity=None if impurity is None else [impurity[f] for f in dataset.features]),
                             "Feature importances")],
    )

    observables = Section("Physics observables (test sample)")
    selected = tested.score >= cut.threshold
    frame = dataset.frame("test")
    for obs in physics.OBSERVABLES:
        column = obs.column(dataset.columns)
        if column is None:
            observables.notes.append(f"{obs.key}: not in this dataset (no column {' / '.join(obs.aliases)}); skipped.")
            continue
        path = physics.plot_observable(obs, frame[column].to_numpy(np.float64), yields, selected, out / f"obs_{obs.key}.png")
        observables.figures.append(FigureRef(path, f"{obs.key} for true signal, true background and selected events"))
    numbers = {"train_auc": aucs["Train"], "test_auc": aucs["Test"], "best_cut": cut}
    return [performance, overtraining, selection, importance, observables], numbers
