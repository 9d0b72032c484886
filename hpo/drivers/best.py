"""``hpo best``: retrain a study's best configuration on train+validation and test it once."""

from __future__ import annotations

import os
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import pandas as pd

from hpo import metrics, paths
from hpo.data.prepared import Split
from hpo.drivers.config import StudyConfig
from hpo.drivers.datasets import recorded_dataset
from hpo.errors import StoreError
from hpo.staging import staging_path
from hpo.store import load_study, open_storage

PREDICTIONS_FILE = "test_predictions.parquet"


@dataclass(frozen=True)
class BestResult:
    """The retrained best configuration of a study and its score on the held-out test split."""

    study_name: str
    trial_number: int
    params: dict[str, Any]  # full configuration (hyperparameters and settings)
    val_score: float  # the study's objective value of the best trial
    test_auc: float  # weighted ROC AUC on the test split, model fitted on train+validation
    folder: Path  # model files, hpo-model.json and test predictions
    val_test_gap: float | None = None  # the trial's validation AUC minus test_auc (None if it recorded no val_auc)


def best(study_name: str, storage: str | None = None) -> BestResult:
    """Retrain the best trial of ``study_name`` on train+validation and evaluate it on the test split.

    The model and its test predictions (``run``, ``event``, ``label``, ``weight``,
    ``phys_weight``, ``score``) are saved under ``<hpo home>/<study>/best/``, replacing an earlier
    result; the saved model is read back and must reproduce the test AUC (to 1e-9); the model's
    metadata names the trial (``info["trial_number"]``), and the test AUC is recorded on the study
    as ``best_test_auc`` beside ``best_trial_number``, with ``best_val_test_gap``: the trial's
    validation AUC (the mean over the folds with ``--cv``) minus the test AUC, a sign of over-tuning
    to the validation events when it is large.
    """
    from hpo.objectives import train_model

    store = open_storage(storage, create=False)
    study = load_study(study_name, store)
    config = StudyConfig.from_attrs(study_name, study.user_attrs)
    try:
        trial = study.best_trial
    except ValueError:
        raise StoreError(f"study {study_name!r} has no complete trial yet; run or resume it first") from None
    data = recorded_dataset(study_name, config, None, force=False)
    params = config.search_space().configuration(trial.params)
    model = train_model(config.model, params, data, fit_splits=("train", "val"), threads=joblib.cpu_count(), seed=config.seed)
    model.info.update(study=study_name, trial_number=trial.number)  # ties the saved model to its trial
    test = data.split("test", model.missing_values)
    scores = model.predict(test.X)
    test_auc = metrics.roc_auc(test.y, scores, test.w)

    folder = paths.study_dir(study_name) / "best"
    staging = staging_path(folder)
    shutil.rmtree(staging, ignore_errors=True)
    try:
        model.save(staging)
        _check_reloads(staging, test, test_auc)
        ids = data.frame("test")[["run", "event", "label"]]
        predictions = ids.assign(weight=test.w, phys_weight=test.w_phys, score=scores)
        predictions.to_parquet(staging / PREDICTIONS_FILE, index=False)
        shutil.rmtree(folder, ignore_errors=True)
        staging.replace(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    val_auc = trial.user_attrs.get("val_auc")
    gap = float(val_auc) - test_auc if isinstance(val_auc, (int, float)) else None
    study.set_user_attr("best_test_auc", test_auc)
    study.set_user_attr("best_val_test_gap", gap)
    study.set_user_attr("best_trial_number", trial.number)
    return BestResult(study_name, trial.number, params, float(trial.value), test_auc, folder, gap)


def _check_reloads(folder: Path, test: Split, test_auc: float) -> None:
    """Score the test split with the model as saved in ``folder``: it must reproduce ``test_auc`` to 1e-9."""
    from hpo.objectives import load_model

    with warnings.catch_warnings():  # hpo has just written this file
        warnings.filterwarnings("ignore", message=".*unpickles Python objects.*")
        saved = load_model(folder)
    reloaded = metrics.roc_auc(test.y, saved.predict(test.X), test.w)
    if not abs(reloaded - test_auc) <= 1e-9:
        raise RuntimeError(f"the model saved in {folder} scores test AUC {reloaded:.12f}, the trained one {test_auc:.12f}")


def read_predictions(folder: str | os.PathLike[str]) -> pd.DataFrame:
    """The test predictions saved by :func:`best` in ``folder``."""
    return pd.read_parquet(Path(folder) / PREDICTIONS_FILE)
