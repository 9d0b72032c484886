"""What each model accepts: its tunable hyperparameters and its fixed settings.

A search space may search any tunable hyperparameter of its model and may pin (``fixed:``) any
tunable or setting; anything else is rejected when the space is loaded. The settings' defaults
here apply whenever a space or a hand-written configuration leaves them out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Accepts:
    """The values a model accepts for one hyperparameter or setting."""

    kind: type  # int, float, str or bool (an int is accepted where a float is)
    low: float | None = None  # inclusive bounds, where any
    high: float | None = None
    choices: tuple[Any, ...] | None = None
    low_open: bool = False  # True: ``low`` itself is excluded
    default: Any = None  # for settings: the value used when nothing pins it
    doc: str = ""

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not acceptable, or None when it is."""
        if self.kind is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif self.kind is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:
            ok = isinstance(value, self.kind)
        if not ok:
            return f"{value!r} is not {'a' if self.kind is not int else 'an'} {self.kind.__name__}"
        if self.choices is not None and value not in self.choices:
            return f"{value!r} is not one of {', '.join(map(str, self.choices))}"
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return f"{value!r} is below the smallest accepted value {'(exclusive) ' if self.low_open else ''}{self.low:g}"
        if self.high is not None and value > self.high:
            return f"{value!r} is above the largest accepted value {self.high:g}"
        return None


@dataclass(frozen=True)
class ModelSchema:
    """The hyperparameters (searchable) and settings (fixed only) of one model."""

    name: str
    tunable: Mapping[str, Accepts]
    settings: Mapping[str, Accepts] = field(default_factory=dict)

    def accepts(self, key: str) -> Accepts | None:
        return self.tunable.get(key) or self.settings.get(key)

    def defaults(self) -> dict[str, Any]:
        """Default value of every setting."""
        return {k: a.default for k, a in self.settings.items()}


ANN = ModelSchema(
    "ann",
    tunable={
        "n_layers": Accepts(int, 1, 8, doc="number of hidden layers"),
        "width_factor": Accepts(float, 0, 1000, low_open=True, doc="first hidden layer width / number of inputs"),
        "shrink": Accepts(float, 1, 100, doc="each later layer is this many times narrower than the one before"),
        "activation": Accepts(str, choices=("selu", "relu", "elu", "tanh", "gelu", "swish", "leaky_relu", "sigmoid")),
        "dropout": Accepts(float, 0, 0.9, doc="dropout rate after each hidden layer"),
        "optimizer": Accepts(str, choices=("RMSprop", "Adam", "SGD", "Adagrad", "Adadelta", "Nadam", "Adamax", "AdamW")),
        "learning_rate": Accepts(float, 0, 1, low_open=True),
        "batch_size": Accepts(int, 1, 1_000_000),
    },
    settings={
        "epochs": Accepts(int, 1, 10_000, default=30, doc="epoch cap"),
        "early_stopping_patience": Accepts(int, 1, 10_000, default=5, doc="epochs without val-loss improvement before stopping"),
        "lr_reduce_factor": Accepts(float, 0, 1, low_open=True, default=0.5, doc="learning-rate reduction on a val-loss plateau"),
        "lr_reduce_patience": Accepts(int, 1, 10_000, default=3),
        "min_learning_rate": Accepts(float, 0, 1, default=1e-7),
        "min_width_factor": Accepts(float, 0, 1000, low_open=True, default=1.0, doc="no hidden layer narrower than this x inputs"),
        "holdout_fraction": Accepts(
            float, 0, 0.5, low_open=True, default=0.1,
            doc="share of the fitted events held out for early stopping when training on train+val",
        ),
    },
)

RF = ModelSchema(
    "rf",
    tunable={
        "n_estimators": Accepts(int, 1, 100_000),
        "criterion": Accepts(str, choices=("gini", "entropy", "log_loss")),
        "max_depth": Accepts(int, 1, 1_000),
        "min_samples_leaf": Accepts(int, 1, 100_000_000),
        "min_samples_split": Accepts(int, 2, 100_000_000),
        # an int counts features (clipped to the number of inputs); a float is a fraction of them
        "max_features": Accepts(float, 0, 10_000, low_open=True),
        "bootstrap": Accepts(bool),
    },
    settings={
        "prune_stages": Accepts(int, 1, 1_000, default=4, doc="stages the forest is grown in when pruning (sklearn engine)"),
        "engine": Accepts(
            str, choices=("sklearn", "xgboost"), default="sklearn",
            doc="sklearn: RandomForestClassifier; xgboost: XGBoost's histogram random forest (faster, takes NaN)",
        ),
    },
)

BDT = ModelSchema(
    "bdt",
    tunable={
        "n_estimators": Accepts(int, 1, 100_000, doc="boosting rounds (the cap: early stopping may use fewer)"),
        "learning_rate": Accepts(float, 0, 1, low_open=True, doc="shrinkage of each tree (XGBoost eta)"),
        "max_depth": Accepts(int, 1, 64),
        "min_child_weight": Accepts(float, 0, 1e9, doc="smallest hessian sum (weighted events x p(1-p)) in a leaf"),
        "subsample": Accepts(float, 0, 1, low_open=True, doc="fraction of events drawn for each tree"),
        "colsample_bytree": Accepts(float, 0, 1, low_open=True, doc="fraction of inputs drawn for each tree"),
        "reg_alpha": Accepts(float, 0, 1e6, doc="L1 regularisation of the leaf values"),
        "reg_lambda": Accepts(float, 0, 1e6, doc="L2 regularisation of the leaf values"),
        "gamma": Accepts(float, 0, 1e6, doc="smallest loss reduction to split a leaf"),
    },
    settings={
        "early_stopping_rounds": Accepts(int, 0, 100_000, default=20, doc="rounds without a better weighted validation log-loss before stopping (0: never)"),
        "report_every": Accepts(int, 1, 100_000, default=10, doc="boosting rounds between intermediate validation scores (pruning)"),
        "max_bin": Accepts(int, 2, 65_536, default=256, doc="histogram bins per input"),
        "device": Accepts(str, choices=("cpu", "cuda"), default="cpu", doc="cuda trains on the GPU (XGBoost's CUDA build)"),
        "holdout_fraction": Accepts(
            float, 0, 0.5, low_open=True, default=0.1,
            doc="share of the fitted events held out for early stopping when training on train+val",
        ),
    },
)

#: The built-in models' schemas; a plug-in model's comes from :func:`hpo.models.model_schema`.
MODELS: dict[str, ModelSchema] = {m.name: m for m in (ANN, RF, BDT)}
