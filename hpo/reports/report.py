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
    out = Path(out) if out is not None else paths.study_dir(study_name) / "report"
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


def _yields(dataset: PreparedDataset, split: str, by: str = "label") -> np.ndarray:
    """Physical weights of ``split`` scaled per class (``by='label'``) or per process
    (``by='process'``) to the expected yield of the whole sample."""
    groups = dataset.table.column(by).to_numpy()
    w_phys = dataset.table.column("phys_weight").to_numpy().astype(np.float64)
    simulated = dataset.table.column("split").to_numpy() < len(SPLITS)  # not real data
    part = dataset.mask(split)
    keys, out = groups[part], w_phys[part].copy()
    for key in np.unique(keys):
        in_split = out[keys == key].sum()
        if in_split != 0:
            out[keys == key] *= w_phys[simulated & (groups == key)].sum() / in_split
    return out


def _best_model(study: optuna.Study, model: Any, dataset: PreparedDataset, out: Path) -> tuple[list[Section], dict]:
    fit_splits = [s for s in model.info.get("fit_splits", ("train", "val")) if s != "test"]
    view = model.missing_values
    fit = [dataset.split(s, view) for s in fit_splits]
    test = dataset.split("test", view)
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

    selection, yields, cut = _selection(dataset, tested, out)
    impurity = model.feature_importances()  # None for models without one (ANN)
    permutation = physics.permutation_importance(model.predict, test.X, tested, n_repeats=PERMUTATION_REPEATS)
    importance = Section(
        "Best model: feature importances",
        notes=[f"Permutation importance: drop of the weighted test AUC when a feature is shuffled "
               f"(mean and spread of {PERMUTATION_REPEATS} shuffles)."],
        figures=[FigureRef(physics.plot_importances(model.features, permutation, out / "feature_importances.png",
                                                    impurity=None if impurity is None else [impurity[f] for f in model.features]),
                             "Feature importances")],
    )
    sections = [performance, overtraining, selection, importance, _observables(dataset, yields, tested.score >= cut.threshold, out)]
    if dataset.has_data:
        sections.append(_data_overlay(dataset, model, out))
    numbers = {"train_auc": aucs["Train"], "test_auc": aucs["Test"], "best_cut": cut}
    return sections, numbers


def _selection(dataset: PreparedDataset, tested: physics.Labelled, out: Path) -> tuple[Section, physics.Labelled, physics.BestCut]:
    """The best cut on the score and what it selects, as yields (weighted samples) or event counts."""
    weights = _yields(dataset, "test") if dataset.weighted else np.ones(len(tested.y))
    yields = physics.Labelled(tested.y, tested.score, weights)
    cut = physics.best_cut(yields, b_reg=dataset.b_reg)
    physics.plot_cut_scan(yields, cut, out / "cut_scan.png", b_reg=dataset.b_reg)
    matrix = physics.plot_confusion(yields, cut.threshold, out / "confusion.png")
    unit = "expected" if dataset.weighted else "events"
    facts = [Fact("Best cut (max AMS)", cut.threshold, key="best-cut")]
    if dataset.weighted:
        facts.append(Fact(f"AMS{f' (b_reg = {dataset.b_reg:g})' if dataset.b_reg else ''}", cut.ams))
    facts += [Fact(f"Selected signal ({unit})", cut.signal), Fact(f"Selected background ({unit})", cut.background),
              Fact("Signal efficiency", cut.efficiency), Fact("Purity", cut.purity)]
    notes = (["Yields are the test events' physical weights scaled per class to the whole sample."] if dataset.weighted else
             ["The sample is unweighted: the numbers count test events, not expected yields, so no AMS is quoted "
              "(the cut shown maximises the AMS formula on event counts)."])
    section = Section(
        "Best model: selection", facts=facts, notes=notes,
        table=pd.DataFrame(matrix, index=["Background", "Signal"], columns=["Rejected", "Selected"])
        .rename_axis("True class").reset_index(),
        figures=[FigureRef(out / "cut_scan.png", "AMS and purity x efficiency against the cut"),
                 FigureRef(out / "confusion.png", f"Confusion matrix ({unit}) at the best cut")],
    )  # fmt: skip
    return section, yields, cut


def _observables(dataset: PreparedDataset, yields: physics.Labelled, selected: np.ndarray, out: Path) -> Section:
    """The description's observables for true signal, true background and selected test events."""
    section = Section("Physics observables (test sample)")
    frame = dataset.frame("test")
    for index, column in enumerate(dataset.plotted):
        shown = dataset.display(column)
        observable = physics.Observable(column, shown["label"], shown["unit"], bool(shown["log"]))
        path = physics.plot_observable(observable, frame[column].to_numpy(np.float64), yields, selected,
                                       out / f"obs_{index}_{_file_safe(column)}.png", weighted=dataset.weighted)
        section.figures.append(FigureRef(path, f"{shown['label']} for true signal, true background and selected events"))
    if not dataset.plotted:
        section.notes.append("The dataset names no observables to plot.")
    return section


def _data_overlay(dataset: PreparedDataset, model: Any, out: Path) -> Section:
    """Real collision data over the stacked simulation (test events scaled per process to the whole sample)."""
    test = dataset.split("test", model.missing_values)
    scores = np.asarray(model.predict(test.X), dtype=np.float64).ravel()
    weights = _yields(dataset, "test", by="process")
    process = dataset.frame("test")["process"].to_numpy()
    names = [p["name"] for p in dataset.meta["processes"]]
    stack = {names[i]: (scores[process == i], weights[process == i]) for i in np.unique(process)}
    data = dataset.split("data", model.missing_values)
    totals = physics.plot_data_overlay(stack, np.asarray(model.predict(data.X), dtype=np.float64).ravel(), out / "data_overlay.png")
    return Section(
        "Real data and simulation",
        facts=[Fact("Expected events (simulation)", totals["expected"]), Fact("Observed events (data)", totals["observed"])],
        notes=["The simulation is the test split, each process scaled to its expected yield in the whole sample."],
        figures=[FigureRef(out / "data_overlay.png", "Classifier score of the real data over the stacked simulation")],
    )


def _file_safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:60]
