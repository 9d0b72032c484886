"""The interface every tunable model follows: :class:`Model`.

A model is a small, stateless object that knows how to build, fit, score, save and load one
kind of classifier, and which hyperparameters and settings it accepts. The built-in ``ann``,
``rf`` and ``bdt`` are subclasses of it, and so is a user's own model (see :mod:`hpo.models`)::

    from sklearn.ensemble import ExtraTreesClassifier
    from hpo.models import Accepts, Model

    class ExtraTrees(Model):
        hyperparameters = {"n_estimators": Accepts(int, 1, 5000), "max_depth": Accepts(int, 1, 64)}
        space = {"params": {"n_estimators": {"type": "int", "low": 50, "high": 500, "log": True},
                            "max_depth": {"type": "int", "low": 2, "high": 12}}}

        def build(self, config, n_features, *, threads=1, seed=0):
            return ExtraTreesClassifier(n_estimators=config["n_estimators"], max_depth=config["max_depth"],
                                        n_jobs=threads, random_state=seed)

:meth:`Model.build` is the only method a subclass must write: the defaults fit any scikit-learn
style classifier (``fit(X, y, sample_weight=...)``, ``predict_proba``, ``feature_importances_``)
and save it with joblib. Override :meth:`fit` to report intermediate validation scores (so that
``--prune`` can stop bad trials early) or to use early stopping, and :meth:`save`/:meth:`load` to
write the model in its library's own format.
"""

from __future__ import annotations

import abc
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from hpo.data.prepared import Split
from hpo.errors import DataError
from hpo.spaces.models import Accepts

#: Called during a fit with the step (epochs trained, trees grown, boosting rounds) and the
#: validation scores; may raise ``optuna.TrialPruned`` to stop the fit.
Reporter = Callable[[int, np.ndarray], None]


@dataclass
class FitResult:
    """A fitted estimator and what is known about its training."""

    estimator: Any
    fit_time_s: float
    attrs: dict[str, Any] = field(default_factory=dict)  # epochs / n_estimators, n_params, ... (JSON values)


class Model(abc.ABC):
    """A classifier that hpo can tune: what it accepts and how to build, fit, score, save and load it.

    Class attributes:

    ``hyperparameters``
        ``{name: Accepts}``: what a search space may search (and must give, searched or fixed).
    ``settings``
        ``{name: Accepts(default=...)}``: fixed options with defaults (epoch caps, stages, ...).
    ``space``
        the default search space: a mapping in the YAML layout (``params``, ``fixed``), or a YAML
        file path (relative paths are read next to the model's module); None for a built-in model,
        whose space is ``search_spaces/<name>.yaml``.
    ``monitors_validation``
        True when :meth:`fit` needs a validation split (early stopping); ``hpo best`` then holds
        out ``holdout_fraction`` (a setting, default 0.1) of train+validation for it.
    ``fill_missing``
        how absent input values reach the model when :meth:`handles_missing` is False: ``"mean"``
        (the training mean, for networks) or ``"value"`` (the description's stated value, by
        default its marker, for trees); both add one indicator column per feature with absent values.

    Instances must be stateless: every fitted object is returned in a :class:`FitResult`.
    """

    hyperparameters: ClassVar[Mapping[str, Accepts]] = {}
    settings: ClassVar[Mapping[str, Accepts]] = {}
    space: ClassVar[Mapping[str, Any] | str | Path | None] = None
    monitors_validation: ClassVar[bool] = False
    fill_missing: ClassVar[str] = "mean"

    # -- what a subclass writes --------------------------------------------------------------
    @abc.abstractmethod
    def build(self, config: Mapping[str, Any], n_features: int, *, threads: int = 1, seed: int = 0) -> Any:
        """An unfitted estimator for ``config`` (every hyperparameter and setting), using at most
        ``threads`` threads and seeded with ``seed``."""

    def fit(
        self,
        config: Mapping[str, Any],
        train: Split,
        val: Split | None,
        *,
        threads: int = 1,
        seed: int = 0,
        staged: bool = False,
        report: Reporter | None = None,
    ) -> FitResult:
        """Fit on ``train`` with the event weights ``train.w_train`` and return the estimator.

        ``val`` (None when there is no validation split; on a multi-fidelity rung below the last, that
        rung's share of the validation events) may drive early stopping; ``report``,
        when given, is called with a step and the ``val`` scores, at least once; with ``staged``
        the study prunes, so report several times if the model can. The default builds the
        estimator and calls ``fit(X, y, sample_weight=...)`` with the weights rescaled to mean 1,
        then reports once.
        """
        estimator = self.build(config, train.X.shape[1], threads=threads, seed=seed)
        start = time.perf_counter()
        estimator.fit(train.X, train.y, sample_weight=loss_weights(train.w_train))
        elapsed = time.perf_counter() - start
        if report is not None and val is not None:
            report(1, self.predict(estimator, val.X))
        return FitResult(estimator, elapsed)

    def predict(self, estimator: Any, X: np.ndarray) -> np.ndarray:
        """Signal score of each row of ``X``, shape ``(n,)``, higher is more signal-like.

        The default is the signal column of ``predict_proba``."""
        proba = np.asarray(estimator.predict_proba(X))
        classes = list(getattr(estimator, "classes_", [0, 1]))
        if 1 not in classes:
            return np.zeros(len(X))
        return proba[:, classes.index(1)].astype(np.float64)

    def feature_importances(self, estimator: Any) -> np.ndarray | None:
        """Importance of each input, or None when the model has no such measure.

        The default is the estimator's ``feature_importances_`` where it has one."""
        values = getattr(estimator, "feature_importances_", None)
        return None if values is None else np.asarray(values, dtype=np.float64)

    def save(self, estimator: Any, folder: Path) -> Path:
        """Write the estimator into ``folder`` (which exists) and return the file written.

        The default is a joblib pickle ``model.joblib``, written atomically."""
        return save_joblib(estimator, folder)

    def load(self, folder: Path, *, threads: int = 1) -> Any:
        """Read an estimator written by :meth:`save` from ``folder``."""
        return load_joblib(folder)

    def handles_missing(self, config: Mapping[str, Any]) -> bool:
        """Whether the estimator for ``config`` accepts NaN inputs (missing values); default False."""
        return False

    def missing_view(self, config: Mapping[str, Any]) -> str:
        """The view of a prepared dataset (:meth:`hpo.data.PreparedDataset.split`) the model's
        inputs come from: ``"native"`` (NaN) where it handles missing values, else :attr:`fill_missing`."""
        return "native" if self.handles_missing(config) else self.fill_missing


def loss_weights(w_train: np.ndarray, name: str = "training") -> np.ndarray:
    """Training weights rescaled to mean 1.

    The prepared weights sum to one per class, so single weights are ~1/n: tiny gradients for the
    ANN and a meaningless ``min_weight_fraction`` scale for trees. A common factor changes neither
    the optimum nor the ROC curve, only the numerical scale.
    """
    mean = float(np.mean(w_train)) if len(w_train) else 0.0
    if not mean > 0:
        raise DataError(f"the {name} weights have a non-positive mean ({mean:g}); check the dataset's weight policy")
    return (w_train / mean).astype(np.float64)


JOBLIB_FILE = "model.joblib"


def save_joblib(estimator: Any, folder: Path) -> Path:
    """Write ``estimator`` to ``folder/model.joblib`` (atomically)."""
    import joblib  # here, not at the top: checking a space needs the models, not joblib's start-up

    path = folder / JOBLIB_FILE
    tmp = folder / f".{JOBLIB_FILE}.tmp"
    try:
        joblib.dump(estimator, tmp, compress=3)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_joblib(folder: Path) -> Any:
    """Read ``folder/model.joblib`` (a pickle: only from a trusted source, and it warns so)."""
    import joblib

    warnings.warn(
        f"loading {folder / JOBLIB_FILE} unpickles Python objects; only load model files from a trusted source",
        UserWarning,
        stacklevel=3,
    )
    return joblib.load(folder / JOBLIB_FILE)
