"""``hpo export``: the best model's score for every event of an input file, as CSV and ROOT.

The input is read with the study's dataset description (or another one given), so its columns
map to the features the model was trained on; the features are scaled with the prepared
dataset's scaler. Events that carry the description's missing-value marker were never seen in
training: they keep their row, with ``valid = 0`` and a NaN score.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import uproot

from hpo import paths, progress
from hpo.data.description import DatasetDescription, ProcessSpec, load_description
from hpo.data.prepared import PreparedDataset
from hpo.data.readers import read_process
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


def _file_columns(description: DatasetDescription, path: Path) -> set[str]:
    """Names of the columns (CSV) or branches (ROOT tree) of an input file."""
    try:
        if description.format == "csv":
            return set(pd.read_csv(path, nrows=0).columns)
        with uproot.open(path) as file:
            return set(file[description.tree].keys()) if description.tree in file else set()
    except Exception as err:  # uproot and pandas raise many types for unreadable files
        raise DataError(f"cannot read {path} as {description.format.upper()} ({type(err).__name__}: {err})") from None


def read_events(path: Path, description: DatasetDescription, features: list[str]) -> pd.DataFrame:
    """The features and identifiers (``run``, ``event``; the entry index where the file has no
    event number) of every event of ``path``, read with ``description``'s column mapping."""
    unknown = [f for f in features if f not in description.available]
    if unknown:
        raise DataError(
            f"dataset description {description.name!r} does not say where to find feature(s) {', '.join(unknown)} "
            "the model needs; give --dataset-description with a 'columns' entry for each"
        )
    available = _file_columns(description, path)
    ids = {key: getattr(description, key) for key in ("run", "event")}
    # A file to score needs no weights; identifiers it lacks fall back to -1 (run) and the entry index.
    reader = description.model_copy(update={"weight": None, **{k: (c if c in available else None) for k, c in ids.items()}})
    return read_process(reader, ProcessSpec(name=path.name, files=[str(path)]), [path], features)


def _valid(events: pd.DataFrame, description: DatasetDescription) -> np.ndarray:
    """Events without the missing-value marker in any checked feature (those training kept)."""
    checked = [c for c in description.checked if c in events]
    if description.marker is None or not checked:
        return np.ones(len(events), dtype=bool)
    return ~(events[checked] == description.marker).any(axis=1).to_numpy()


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
    ``<out>.root`` (tree ``scores``: run, event, valid, score). ``out`` defaults to
    ``<hpo home>/<study>/export/<input name>_scores``. A progress bar is drawn on a terminal unless
    ``show_progress`` is False."""
    path = Path(input_path)
    if not path.is_file():
        raise UsageError(f"--input {path} does not exist; give a ROOT or CSV file to score")
    (study,) = open_studies([study_name], storage)
    dataset: PreparedDataset = study_dataset(study)
    if description is None:
        spec = DatasetDescription(**dataset.meta["description"])
    else:
        spec = load_description(description)
    with progress.bar(3, f"export {path.name}", "step", enabled=show_progress) as steps:
        model = best_model(study, storage)
        steps.update()
        events = read_events(path, spec, model.features)
        steps.update()
        valid = _valid(events, spec)
        scores = np.full(len(events), np.nan)
        if valid.any():
            scores[valid] = model.predict(dataset.transform(events.loc[valid, model.features].to_numpy(np.float64)))
        steps.update()
    table = pd.DataFrame({"run": events["run"].to_numpy(np.int64), "event": events["event"].to_numpy(np.int64),
                          "valid": valid.astype(np.int8), "score": scores})

    stem = Path(out) if out is not None else paths.home() / study_name / "export" / f"{path.name.split('.')[0]}_scores"
    stem.parent.mkdir(parents=True, exist_ok=True)
    csv, root = stem.with_name(stem.name + ".csv"), stem.with_name(stem.name + ".root")
    tmp_csv, tmp_root = (p.with_name(f".{p.name}.{os.getpid()}.tmp") for p in (csv, root))
    try:
        table.to_csv(tmp_csv, index=False)
        with uproot.recreate(tmp_root) as file:  # a TTree (uproot's default for a dict is an RNTuple)
            tree = file.mktree(TREE, {column: table[column].dtype for column in table.columns})
            tree.extend({column: table[column].to_numpy() for column in table.columns})
        os.replace(tmp_csv, csv)
        os.replace(tmp_root, root)
    finally:
        tmp_csv.unlink(missing_ok=True)
        tmp_root.unlink(missing_ok=True)
    return Export(csv, root, len(table), int(valid.sum()))
