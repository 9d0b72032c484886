"""KerasTuner searches of the ANN, written into the same Optuna store as every other study.

``hpo run --model ann --algo kt-hyperband`` (or ``kt-bayes``) lets KerasTuner choose the
configurations while hpo trains and scores them (:mod:`.kerastuner`); the search space is the
model's YAML space translated to KerasTuner hyperparameters (:mod:`.hyperparameters`).

``--trials N`` is the number of models KerasTuner trains. For ``kt-hyperband`` each trial trains
a configuration for its bracket round's epoch budget (1 up to the space's ``epochs`` setting, a
factor 3 apart), from scratch; Hyperband brackets repeat until N trials ran. One process runs the
search (``--jobs 1``); its trials run one after the other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from hpo.errors import UsageError
from hpo.options import KERASTUNER_ALGORITHMS
from hpo.tuners.hyperparameters import declare, kt_hyperparameters, params_from_kt

if TYPE_CHECKING:
    import optuna

    from hpo.data.prepared import PreparedDataset
    from hpo.drivers.config import StudyConfig

#: The KerasTuner algorithm names (``--algo``).
ALGORITHMS: tuple[str, ...] = KERASTUNER_ALGORITHMS


def is_kerastuner(algo: str) -> bool:
    """Whether ``algo`` names a KerasTuner search."""
    return algo in ALGORITHMS


def check_options(algo: str, *, model: str, jobs: int, prune: str, backend: str = "local") -> None:
    """Refuse settings a KerasTuner search cannot honour, with the option to change."""
    if model != "ann":
        raise UsageError(f"--algo {algo} tunes Keras networks only; use --model ann (or an Optuna algorithm for {model})")
    if jobs != 1:
        raise UsageError(f"--algo {algo} runs its trials one after the other in one process; use --jobs 1")
    if prune != "none":
        raise UsageError(f"--algo {algo} decides itself how long each model trains; leave out --prune {prune}")
    if backend != "local":
        raise UsageError(f"--algo {algo} runs in this process; leave out --backend {backend}")


def search(
    study: optuna.Study,
    config: StudyConfig,
    data: PreparedDataset,
    *,
    threads: int = 1,
    objective_factory: Callable[..., Callable] | None = None,
    on_trial_done: Callable[[], None] | None = None,
) -> None:
    """Run or continue the KerasTuner search of ``study`` up to its target (see :mod:`.kerastuner`)."""
    from hpo.objectives import limit_threads

    limit_threads(threads)  # before KerasTuner's import starts TensorFlow
    from hpo.tuners import kerastuner

    kerastuner.search(study, config, data, threads=threads, objective_factory=objective_factory, on_trial_done=on_trial_done)


__all__ = ["ALGORITHMS", "check_options", "declare", "is_kerastuner", "kt_hyperparameters", "params_from_kt", "search"]
