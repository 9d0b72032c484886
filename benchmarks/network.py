"""``python -m benchmarks.network``: the network's per-epoch time and fixed cost per new network.

Side by side, on the training split of a prepared dataset (default: the default synthetic sample,
high-level features) with ``--threads`` threads, for each ``--batches`` size:

- *plain*: the exercise's network compiled with Keras's defaults and trained with a plain
  ``model.fit`` (event weights, validation data), as the exercise does;
- *hpo*: the same configuration trained by :func:`hpo.models.ann.fit`, as a trial trains it,
  including the trial's per-epoch validation scoring for the pruner: once as the first network of
  its architecture in the process (its training graph traced anew), once as a later one (the graph
  an earlier network of that architecture traced is reused, as for the folds of ``--cv``, the rungs
  of multi-fidelity and repeated grid architectures).

Per-epoch time: the median duration of epochs 2 to ``--epochs``; fixed cost per network: the
time from building the network to the end of its first epoch, minus one per-epoch time (graph
building, tracing and the first pass). Medians over ``--repeats`` networks. Writes
``benchmarks/results/network[.<label>].json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from typing import Any

import numpy as np

from benchmarks import RESULTS
from benchmarks.report import machine
from hpo import data as hpo_data
from hpo.data.prepared import Split
from hpo.models import ann
from hpo.models.base import loss_weights
from hpo.objectives import EXERCISE_PARAMS, limit_threads
from hpo.spaces.models import MODELS



def _config(batch: int, epochs: int) -> dict[str, Any]:
    """The exercise's network at ``batch``, with early stopping out of the way for ``epochs``."""
    return {**MODELS["ann"].defaults(), **EXERCISE_PARAMS["ann"], "batch_size": batch, "epochs": epochs,
            "early_stopping_patience": epochs + 1, "lr_reduce_patience": epochs + 1}  # fmt: skip


def _summary(start: float, ends: list[float]) -> tuple[float, float]:
    """Per-epoch time (median of epochs 2..) and fixed cost (first epoch's end minus one epoch)."""
    per_epoch = statistics.median(np.diff(ends))
    return per_epoch, ends[0] - start - per_epoch


def plain_fit(config: dict[str, Any], train: Split, val: Split) -> tuple[float, float]:
    """The exercise's way: default ``compile``, one ``model.fit`` with validation data."""
    keras = ann._keras(1)
    ends: list[float] = []

    class EpochEnds(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            ends.append(time.perf_counter())

    start = time.perf_counter()
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(train.X.shape[1],))
    x = inputs
    for units in ann.hidden_units(config, train.X.shape[1]):
        x = keras.layers.Dense(units, activation=config["activation"], kernel_initializer="lecun_normal")(x)
        x = keras.layers.Dropout(config["dropout"])(x)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=config["learning_rate"]), loss="binary_crossentropy")
    model.fit(train.X, train.y, sample_weight=loss_weights(train.w_train), batch_size=config["batch_size"],
              validation_data=(val.X, val.y, loss_weights(val.w_train)), epochs=config["epochs"], verbose=0,
              callbacks=[EpochEnds()])  # fmt: skip
    return _summary(start, ends)


def hpo_fit(config: dict[str, Any], train: Split, val: Split) -> tuple[float, float]:
    """hpo's trial training of the first network of its architecture in the process."""
    ann.clear_trainers()
    return hpo_fit_again(config, train, val)


def hpo_fit_again(config: dict[str, Any], train: Split, val: Split) -> tuple[float, float]:
    """hpo's trial training, with the per-epoch validation scores a pruner receives, reusing the
    graph of a network of the same architecture where one was trained before in the process."""
    ends: list[float] = []
    start = time.perf_counter()
    ann.fit(config, train, val, threads=1, seed=0, report=lambda epoch, scores: ends.append(time.perf_counter()))
    return _summary(start, ends)


def run(dataset: str | None, batches: list[int], epochs: int, repeats: int) -> list[dict]:
    prepared = hpo_data.prepare(dataset, progress=False)
    view = ann.ANN().missing_view({})
    train, val = prepared.split("train", view), prepared.split("val", view)
    rows = []
    for batch in batches:
        config = _config(batch, epochs)
        loops = (("plain model.fit", plain_fit), ("hpo, new architecture", hpo_fit), ("hpo, architecture seen before", hpo_fit_again))
        for name, fit in loops:
            runs = [fit(config, train, val) for _ in range(repeats)]
            per_epoch = statistics.median(r[0] for r in runs)
            fixed = statistics.median(r[1] for r in runs)
            rows.append({"batch": batch, "loop": name, "train_events": len(train), "features": train.X.shape[1],
                         "per_epoch_s": round(per_epoch, 3), "fixed_s": round(fixed, 2),
                         "runs": [[round(a, 3), round(b, 2)] for a, b in runs]})  # fmt: skip
            print(rows[-1], flush=True)
    return rows


def markdown(rows: list[dict], command: str, load: tuple[float, float]) -> str:
    lines = [f"Command: `{command}` (load average {load[0]:.1f} before, {load[1]:.1f} after)", "",
             "| batch | loop | per-epoch s | speed-up | fixed cost per network s |", "|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        plain = next(x for x in rows if x["batch"] == r["batch"] and x["loop"] == "plain model.fit")
        lines.append(f"| {r['batch']} | {r['loop']} | {r['per_epoch_s']:.3f} | {plain['per_epoch_s'] / r['per_epoch_s']:.1f}x | {r['fixed_s']:.2f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.network", description=__doc__)
    p.add_argument("--dataset", default=None, help="dataset preset (default: the default synthetic sample)")
    p.add_argument("--batches", default="250,1024", help="comma-separated batch sizes (default: 250,1024)")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--label", default=None)
    args = p.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    limit_threads(1)
    command = "python -m benchmarks.network" + (f" --dataset {args.dataset}" if args.dataset else "") + \
        f" --batches {args.batches} --epochs {args.epochs} --repeats {args.repeats}"  # fmt: skip
    before = os.getloadavg()[0]
    rows = run(args.dataset, [int(b) for b in args.batches.split(",")], args.epochs, args.repeats)
    load = (before, os.getloadavg()[0])
    stem = "network" + (f".{args.label}" if args.label else "")  # not Path.with_suffix: it would replace the label
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps({"command": command, "machine": machine(), "load_average": load, "rows": rows}, indent=2))
    (RESULTS / f"{stem}.md").write_text(markdown(rows, command, load))
    print(markdown(rows, command, load))


if __name__ == "__main__":
    main()
