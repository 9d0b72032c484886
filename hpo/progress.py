"""Progress shown to a person: on a terminal (or in a notebook) only, never in pipes, logs or files.

Commands that take a while (``hpo best``, ``report``, ``compare``, ``export``) draw a tqdm bar on
standard error while it is a terminal; with output redirected, or with ``--quiet``
(``enabled=False``), nothing is drawn, so logs and pipes only hold the results.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator

from tqdm.auto import tqdm

REFRESH_S = 0.5


def shown(enabled: bool = True) -> bool:
    """Whether progress is drawn: ``enabled`` and standard error is a terminal (or a notebook)."""
    notebook = any(cls.__module__ == "tqdm.notebook" for cls in tqdm.__mro__)  # tqdm.auto picked its widget
    return enabled and (notebook or bool(getattr(sys.stderr, "isatty", lambda: False)()))


def bar(total: int | None, desc: str, unit: str, *, enabled: bool = True) -> tqdm:
    """A progress bar of ``total`` steps that vanishes when done; drawn only where :func:`shown`."""
    return tqdm(total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True, disable=not shown(enabled))


@contextlib.contextmanager
def working(desc: str, *, enabled: bool = True) -> Iterator[None]:
    """A ``desc: 0:12`` line with the elapsed time for one long step (such as retraining a model)."""
    line = tqdm(total=None, desc=desc, bar_format="{desc}: {elapsed}", leave=False, disable=not shown(enabled))
    if line.disable:
        yield
        return
    done = threading.Event()

    def tick() -> None:
        while not done.wait(REFRESH_S):
            line.refresh()

    ticker = threading.Thread(target=tick, name="hpo-progress", daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()
        ticker.join()
        line.close()
