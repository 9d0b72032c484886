"""Capping the threads of one worker so that parallel workers do not oversubscribe the cores."""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any

_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)

_limit: int | None = None
_blas_limiter: Any = None  # keeps the threadpoolctl limit in force


def limit_threads(n: int) -> None:
    """Cap this process at ``n`` compute threads: BLAS/OpenMP now, TensorFlow before its first use.

    Call it at worker start. It sets the usual environment variables (read by libraries loaded
    later), limits already loaded BLAS/OpenMP pools with threadpoolctl, and caps TensorFlow's
    intra- and inter-op pools, now if TensorFlow is imported and its runtime not yet started,
    otherwise when the ANN objective first imports it.
    """
    global _limit, _blas_limiter
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"thread limit must be a positive integer, got {n!r}")
    _limit = n
    for var in _ENV_VARS:
        os.environ[var] = str(n)
    from threadpoolctl import threadpool_limits

    _blas_limiter = threadpool_limits(limits=n)
    if "tensorflow" in sys.modules:
        configure_tensorflow(n)


def thread_limit() -> int | None:
    """The limit set by :func:`limit_threads` in this process, if any."""
    return _limit


def configure_tensorflow(threads: int) -> None:
    """Set TensorFlow's thread pools (the :func:`limit_threads` cap wins); a no-op once TF runs."""
    import tensorflow as tf

    n = min(threads, _limit) if _limit else threads
    cfg = tf.config.threading
    if cfg.get_intra_op_parallelism_threads() == n and cfg.get_inter_op_parallelism_threads() == n:
        return
    try:
        cfg.set_intra_op_parallelism_threads(n)
        cfg.set_inter_op_parallelism_threads(n)
    except RuntimeError:  # the runtime is already initialised; its pools can no longer change
        warnings.warn(
            f"TensorFlow was started before its threads could be capped at {n}; "
            "call hpo.objectives.limit_threads() before the first model is trained",
            RuntimeWarning,
            stacklevel=2,
        )
