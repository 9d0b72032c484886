"""``hpo export``: the best model's score for every event of an input file, as CSV and ROOT.

The input is read with the study's dataset description (or another one given): its expressions
give the features the model was trained on, which are scaled with the prepared dataset's scaler,
and absent values reach the model as they did in training. Events that the selection or a
missing-value rule removes were never seen in training: they keep their row, with ``valid = 0``
and a NaN score. Where the file carries the description's label column (or is one of its process
files), the true class is written as ``label`` beside the score, so a test AUC needs no hand work;
the description's ``identifiers`` are copied too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import uproot

from hpo import paths, progress
from hpo.data.description import DatasetDescription, ProcessSpec, from_mapping, load_description
from hpo.data.expressions import Expression
from hpo.data.prepared import PreparedDataset
from hpo.data.readers import InputFile, file_columns, read_file
from hpo.errors import DataError, UsageError
from hpo.reports.sources import best_model, open_studies, study_dataset

#: Name of the TTree written to the ROOT output.
TREE = "scores"


@dataclass(frozen=True)
class Export:
    """The files written and how many events they hold."""

    csv: Path
    root: Path
    n_events: int
    n_valid: int


def _known_label(description: DatasetDescription, path: Path, available: set[str], classes: dict[str, int]) -> int | None | str:
    """None where the label column decides, the class of a file the dataset was prepared from, or 'unknown'."""
    if description.label is not None:
        return None if set(Expression(description.label.column).names) <= available else "unknown"
    return classes.get(str(path.resolve()), "unknown")


def read_events(
    path: Path, description: DatasetDescription, features: list[str], classes: dict[str, int] | None = None
) -> tuple[pd.DataFrame, np.ndarray, bool]:
    """The features, identifiers and (where known) labels of every event of ``path``, which
    events the description keeps, and whether the labels are known. ``classes`` gives the class
    of files (by resolved path) that hold one class each."""
    unknown = [f for f in features if f not in description.available]
    if unknown:
        raise DataError(
            f"dataset description {description.name!r} does not say where to find feature(s) {', '.join(unknown)} "
            "the model needs; give --dataset-description with those features"
        )
    available = set(file_columns(description, path))
    ids = {key: getattr(description, key) for key in ("run", "event")}
    # A file to score needs no weights; identifiers it lacks fall back to -1 (run) and the entry index.
    reader = description.model_copy(update={k: (c if c in available else None) for k, c in ids.items()})
    label = _known_label(description, path, available, classes or {})
    extra = [c for c in description.identifiers if c in available]
    read = read_file(reader, ProcessSpec(name=path.name, files=[str(path)]), InputFile(path), features, features,
                     label=-1 if label == "unknown" else label, scoring=True, extra=extra)  # type: ignore[arg-type]
    return read.frame, read.keep, label != "unknown"


def _raw_features(events: pd.DataFrame, dataset: PreparedDataset) -> np.ndarray:
    return events[dataset.features].to_numpy(np.float64)


def export(
    study_name: str,
    input_path: str | os.PathLike[str],
    description: str | os.PathLike[str] | DatasetDescription | None = None,
    out: str | os.PathLike[str] | None = None,
    storage: str | None = None,
    *,
    show_progress: bool = True,
) -> Export:
    """Score the events of ``input_path`` with the study's best model; write ``<out>.csv`` and
    ``<out>.root`` (tree ``scores``: run, event, the identifiers, label where known, valid, score).
    ``out`` defaults to ``<hpo home>/<study>/export/<input name>_scores``. A progress bar is drawn
    on a terminal unless ``show_progress`` is False."""
    path = Path(input_path)
    if not path.is_file():
        raise UsageError(f"--input {path} does not exist; give a ROOT or CSV file to score")
    (study,) = open_studies([study_name], storage)
    dataset: PreparedDataset = study_dataset(study)
    if description is None:
        spec = from_mapping(dataset.meta["description"], where=f"the description recorded in {dataset.path}")
    else:
        spec = load_description(description)
    classes = {str(Path(f).resolve()): p["label"] for p in dataset.meta["processes"] if p["label"] in (0, 1) for f in p.get("files", [])}
    with progress.bar(3, f"export {path.name}", "step", enabled=show_progress) as steps:
        model = best_model(study, storage)
        steps.update()
        events, valid, labelled = read_events(path, spec, dataset.features, classes)
        steps.update()
        scores = np.full(len(events), np.nan)
        if valid.any():
            scores[valid] = model.predict(dataset.transform(_raw_features(events[valid], dataset), model.missing_values))
        steps.update()
    table = pd.DataFrame({"run": events["run"].to_numpy(np.int64), "event": events["event"].to_numpy(np.int64)})
    for column in spec.identifiers:
        if column in events and column not in table:
            table[column] = events[column].to_numpy()
    if labelled:
        table["label"] = events["label"].to_numpy(np.int8)
    table["valid"] = valid.astype(np.int8)
    table["score"] = scores

    stem = Path(out) if out is not None else paths.study_dir(study_name) / "export" / f"{path.name.split('.')[0]}_scores"
    stem.parent.mkdir(parents=True, exist_ok=True)
    csv, root = stem.with_name(stem.name + ".csv"), stem.with_name(stem.name + ".root")
    tmp_csv, tmp_root = (p.with_name(f".{p.name}.{os.getpid()}.tmp") for p in (csv, root))
    try:
        table.to_csv(tmp_csv, index=False)
        with uproot.recreate(tmp_root) as file:  # a TTree (uproot's default for a dict is an RNTuple)
            numeric = [c for c in table.columns if pd.api.types.is_numeric_dtype(table[c])]  # text identifiers: CSV only
            tree = file.mktree(TREE, {column: table[column].to_numpy().dtype for column in numeric})
            tree.extend({column: table[column].to_numpy() for column in numeric})
        os.replace(tmp_csv, csv)
        os.replace(tmp_root, root)
    finally:
        tmp_csv.unlink(missing_ok=True)
        tmp_root.unlink(missing_ok=True)
    return Export(csv, root, len(table), int(valid.sum()))
