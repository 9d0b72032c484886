"""The Keras dense network (``--model ann``), fitted with event weights, early stopping and LR reduction.

TensorFlow and Keras are imported inside the functions here, so that ``import hpo`` and
random-forest runs never load them.
"""

from __future__ import annotations

import math
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from hpo.data.prepared import Split
from hpo.models.base import FitResult, Model, Reporter, loss_weights
from hpo.objectives.threads import configure_tensorflow
from hpo.spaces.models import ANN as SCHEMA

if TYPE_CHECKING:
    import keras

FILE = "model.keras"
PREDICT_BATCH = 8192
#: Batches run per call into TensorFlow's compiled step: one Python round trip per 32 batches
#: instead of one per batch, which dominates an epoch of these small networks on a CPU.
STEPS_PER_EXECUTION = 32
#: Compiled networks kept per process, one per architecture (see :func:`_trainer`).
TRAINERS_KEPT = 4
_trainers: OrderedDict[tuple[Any, ...], _Trainer] = OrderedDict()


def _keras(threads: int) -> Any:
    """Import Keras on the TensorFlow backend with TensorFlow's thread pools capped at ``threads``."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    configure_tensorflow(threads)
    import keras

    return keras


def hidden_units(config: Mapping[str, Any], n_inputs: int) -> list[int]:
    """Widths of the hidden layers: layer k has ``max(min_width_factor, width_factor / shrink**k)``
    times ``n_inputs`` units (the exercise's 10x, 2x, 1x is width_factor 10, shrink 5, floor 1)."""
    floor = float(config.get("min_width_factor", 1.0))
    factors = [max(floor, float(config["width_factor"]) / float(config["shrink"]) ** k) for k in range(int(config["n_layers"]))]
    return [max(1, round(f * n_inputs)) for f in factors]


def build_network(config: Mapping[str, Any], n_inputs: int, *, threads: int = 1) -> keras.Model:
    """The compiled network for ``config``: dense hidden layers with dropout, one sigmoid output."""
    keras = _keras(threads)
    activation = config["activation"]
    init = "lecun_normal" if activation == "selu" else "glorot_uniform"
    inputs = keras.Input(shape=(n_inputs,), name="features")
    x = inputs
    for i, units in enumerate(hidden_units(config, n_inputs)):
        x = keras.layers.Dense(units, activation=activation, kernel_initializer=init, name=f"hidden_{i}")(x)
        if config["dropout"] > 0:
            x = keras.layers.Dropout(float(config["dropout"]), name=f"dropout_{i}")(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="score")(x)
    model = keras.Model(inputs, outputs, name="ann")
    optimizer = getattr(keras.optimizers, config["optimizer"])(learning_rate=float(config["learning_rate"]))
    # XLA compilation costs seconds per new network on a CPU and gains nothing at these sizes
    model.compile(optimizer=optimizer, loss="binary_crossentropy", steps_per_execution=STEPS_PER_EXECUTION, jit_compile=False)
    return model


def fit(
    config: Mapping[str, Any],
    train: Split,
    val: Split,
    *,
    threads: int = 1,
    seed: int = 0,
    staged: bool = False,
    report: Reporter | None = None,
) -> FitResult:
    """Fit the network on ``train`` with ``w_train`` (rescaled to mean 1) in the loss.

    ``val`` is scored once per epoch: its weighted loss (weights likewise) drives early stopping
    with the best weights restored and the learning-rate reduction, and ``report`` gets the epoch
    and the ``val`` scores.
    ``staged`` is accepted for symmetry with the forest: the network always reports per epoch.
    """
    keras = _keras(threads)
    keras.backend.clear_session(free_memory=False)  # Keras's global state is reset; its gc.collect() cost half a second a network
    trainer = _trainer(config, train.X.shape[1], threads)  # built, where it is new, before the seed is set
    keras.utils.set_random_seed(seed)
    model = build_network(config, train.X.shape[1], threads=threads)
    network = trainer.load(model, float(config["learning_rate"]))
    # the validation callback comes first: it puts the epoch's val_loss into the logs the others read
    callbacks = [
        _validation_callback(keras, val, trainer.predict, report),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=int(config["early_stopping_patience"]), restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss",
            factor=float(config["lr_reduce_factor"]),
            patience=int(config["lr_reduce_patience"]),
            min_lr=float(config["min_learning_rate"]),
        ),
        keras.callbacks.TerminateOnNaN(),
    ]
    start = time.perf_counter()
    history = network.fit(
        np.asarray(train.X, np.float32),
        train.y.astype(np.float32),
        sample_weight=loss_weights(train.w_train).astype(np.float32),
        epochs=int(config["epochs"]),
        batch_size=int(config["batch_size"]),
        # the number of batches, given, lets Keras reuse the data iterator it opens at an epoch's end
        # for the next epoch instead of opening a second one (16 ms an epoch)
        steps_per_epoch=math.ceil(len(train) / int(config["batch_size"])),
        callbacks=callbacks,
        shuffle=True,
        verbose=0,
    )
    elapsed = time.perf_counter() - start
    trainer.unload(model)  # the trainer serves the next network of its architecture
    val_loss = np.asarray(history.history.get("val_loss", [np.nan]), dtype=float)
    attrs = {
        "epochs": len(history.epoch),
        "best_epoch": int(np.nanargmin(val_loss)) + 1 if np.isfinite(val_loss).any() else 0,
        "n_params": int(model.count_params()),
        "hidden_units": hidden_units(config, train.X.shape[1]),
    }
    return FitResult(model, elapsed, attrs)


class _Trainer:
    """A compiled network that trains every new network of its architecture in this process.

    Tracing a new network's training function is most of its fixed cost in TensorFlow; the folds
    of ``--cv``, the rungs of multi-fidelity and repeated grid architectures train the same graph.
    :meth:`load` copies a new network's state into the trainer, which is then trained in its place.
    """

    def __init__(self, config: Mapping[str, Any], n_inputs: int, threads: int) -> None:
        self.model = build_network(config, n_inputs, threads=threads)
        self.model.optimizer.build(self.model.trainable_variables)
        self._optimizer_start = [v.numpy() for v in self.model.optimizer.variables]
        self._predict: Any = None

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The trainer's signal scores for ``X``, from a prediction graph traced once per trainer
        (a few hundredths of a second, against as much per call on the whole validation split eagerly)."""
        if self._predict is None:
            import tensorflow as tf

            model = self.model
            self._predict = tf.function(lambda x: model(x, training=False), input_signature=[tf.TensorSpec([None, X.shape[1]], tf.float32)])
        return _in_blocks(self._predict, X)

    def load(self, network: keras.Model, learning_rate: float) -> keras.Model:
        """The trainer, holding ``network``'s weights and dropout seeds and a new optimizer."""
        _assign(self.model.variables, network.variables)
        _assign(self.model.optimizer.variables, self._optimizer_start)
        self.model.optimizer.learning_rate = learning_rate
        return self.model

    def unload(self, network: keras.Model) -> keras.Model:
        """``network``, given the trainer's trained weights and optimizer state."""
        _assign(network.variables, self.model.variables)
        network.optimizer.build(network.trainable_variables)
        _assign(network.optimizer.variables, self.model.optimizer.variables)
        return network


def _assign(targets: list[Any], sources: list[Any]) -> None:
    for target, source in zip(targets, sources, strict=True):
        target.assign(source)


def clear_trainers() -> None:
    """Forget the kept trainers (their traced graphs and memory): the next network of any
    architecture is traced anew."""
    _trainers.clear()


def _trainer(config: Mapping[str, Any], n_inputs: int, threads: int) -> _Trainer:
    """The trainer of ``config``'s architecture, made where it is new (the last :data:`TRAINERS_KEPT` are kept)."""
    key = (n_inputs, tuple(hidden_units(config, n_inputs)), config["activation"], float(config["dropout"]), config["optimizer"])
    trainer = _trainers.pop(key, None) or _Trainer(config, n_inputs, threads)
    _trainers[key] = trainer
    while len(_trainers) > TRAINERS_KEPT:
        _trainers.popitem(last=False)
    return trainer


def weighted_log_loss(y: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> float:
    """Keras's binary cross-entropy (scores clipped at its epsilon) averaged with ``weights``."""
    eps = 1e-7
    p = np.clip(scores, eps, 1 - eps)
    losses = -(y * np.log(p) + (1 - y) * np.log1p(-p))
    return float(np.sum(weights * losses) / len(y))


def _validation_callback(keras: Any, val: Split, predict: Callable[[np.ndarray], np.ndarray], report: Reporter | None) -> Any:
    X_val, y_val = np.asarray(val.X, np.float32), val.y.astype(np.float64)
    w_val = loss_weights(val.w_train, "validation")

    class _Validation(keras.callbacks.Callback):
        """Scores ``val`` once per epoch: its weighted loss drives early stopping and the LR
        reduction, and its scores go to ``report`` (which may prune the trial)."""

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            scores = predict(X_val)
            finite = bool(np.all(np.isfinite(scores)))
            if logs is not None:
                logs["val_loss"] = weighted_log_loss(y_val, scores, w_val) if finite else float("nan")
            if report is not None and finite:
                report(epoch + 1, scores)

    return _Validation()


def predict(model: keras.Model, X: np.ndarray) -> np.ndarray:
    """Signal score in [0, 1] of each row of ``X``.

    The network is called directly on blocks of rows: for these small networks Keras's
    ``model.predict`` machinery (data adapter, a traced function per network) costs more than
    the arithmetic.
    """
    return _in_blocks(lambda block: model(block, training=False), X)


def _in_blocks(network: Callable[[np.ndarray], Any], X: np.ndarray) -> np.ndarray:
    """``network``'s outputs for the rows of ``X``, :data:`PREDICT_BATCH` rows per call, as one float64 vector."""
    X = np.asarray(X, np.float32)
    blocks = [np.asarray(network(X[i : i + PREDICT_BATCH])) for i in range(0, len(X), PREDICT_BATCH)]
    return np.concatenate(blocks, dtype=np.float64).ravel() if blocks else np.empty(0)


def feature_importances(model: keras.Model) -> None:
    """Networks have no built-in importance measure."""
    return None


def save(model: keras.Model, folder: Path) -> Path:
    """Write the network to ``folder/model.keras`` (native Keras format, atomically)."""
    path = folder / FILE
    tmp = folder / f".tmp.{FILE}"
    try:
        model.save(tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load(folder: Path, *, threads: int = 1) -> keras.Model:
    """Read a network written by :func:`save`."""
    return _keras(threads).models.load_model(folder / FILE)


class ANN(Model):
    """The Keras dense network (``--model ann``); see :func:`build_network` and :func:`fit`."""

    hyperparameters = SCHEMA.tunable
    settings = SCHEMA.settings
    monitors_validation: ClassVar[bool] = True

    def build(self, config: Mapping[str, Any], n_features: int, *, threads: int = 1, seed: int = 0) -> keras.Model:
        """The compiled network (Keras draws its initial weights from the global seed set in :meth:`fit`)."""
        return build_network(config, n_features, threads=threads)

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
        """See :func:`fit`; the network needs ``val`` for early stopping."""
        if val is None:
            raise ValueError("the ANN needs a validation split for early stopping")
        return fit(config, train, val, threads=threads, seed=seed, staged=staged, report=report)

    def predict(self, estimator: keras.Model, X: np.ndarray) -> np.ndarray:
        return predict(estimator, X)

    def feature_importances(self, estimator: keras.Model) -> None:
        return feature_importances(estimator)

    def save(self, estimator: keras.Model, folder: Path) -> Path:
        return save(estimator, folder)

    def load(self, folder: Path, *, threads: int = 1) -> keras.Model:
        return load(folder, threads=threads)
