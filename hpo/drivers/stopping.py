"""Stopping a study cleanly on SIGTERM (batch systems, ``kill``, ``docker stop``).

A process that runs trials handles SIGTERM with a :class:`GracefulStop`: while a trial runs, the
signal raises :class:`StopRequested` inside it (the worker fails the trial and re-queues a copy, as
for Ctrl-C); between trials it only sets a flag, so that no store write is cut in half. The driver
forwards the signal to its worker processes and reports :class:`StudyStopped`, which the command
line prints with the ``hpo resume`` command and exit status 143 (128 + SIGTERM).

A worker whose driver died (SIGKILL, out of memory) notices that its parent process changed,
finishes its running trial and stops, instead of running the whole queue on its own.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from types import FrameType

#: Exit status of a study stopped by SIGTERM.
EXIT_STOPPED = 128 + signal.SIGTERM


class StopRequested(BaseException):
    """SIGTERM arrived in a process running trials (a BaseException: objectives must not catch it)."""


class StudyStopped(RuntimeError):
    """The study was stopped by SIGTERM; finished trials are kept and the running ones re-queued."""


class GracefulStop:
    """SIGTERM handler of a process that runs trials; see the module docstring.

    ``forward_to`` lists the process ids the signal is passed on to (a driver's workers);
    ``parent_pid`` makes :attr:`requested` true once that parent process is gone.
    """

    def __init__(self, forward_to: Callable[[], Iterable[int]] | None = None, parent_pid: int | None = None) -> None:
        self._forward_to = forward_to
        self._parent_pid = parent_pid
        self._signalled = False
        self._in_trial = False

    @property
    def requested(self) -> bool:
        """True once SIGTERM arrived or the parent process died."""
        return self._signalled or (self._parent_pid is not None and os.getppid() != self._parent_pid)

    @property
    def signalled(self) -> bool:
        """True once SIGTERM arrived."""
        return self._signalled

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self._signalled = True
        for pid in self._forward_to() if self._forward_to is not None else ():
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        if self._in_trial:
            self._in_trial = False  # a second signal must not interrupt the re-queueing
            raise StopRequested(f"stopped by signal {signal.Signals(signum).name}")

    @contextmanager
    def installed(self) -> Iterator[GracefulStop]:
        """Handle SIGTERM in this block (only the main thread can; elsewhere this does nothing)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = signal.signal(signal.SIGTERM, self._handle)
        try:
            yield self
        finally:
            signal.signal(signal.SIGTERM, previous)

    @contextmanager
    def trial(self) -> Iterator[None]:
        """Let SIGTERM interrupt the block (the objective of a running trial)."""
        if self._signalled:
            raise StopRequested("stopped by signal SIGTERM")
        self._in_trial = True
        try:
            yield
        finally:
            self._in_trial = False
