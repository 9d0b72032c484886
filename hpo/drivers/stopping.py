"""Stopping a study cleanly on Ctrl-C (SIGINT) or SIGTERM (batch systems, ``kill``, ``docker stop``).

A process that runs trials handles both signals with a :class:`GracefulStop`. The first one asks
for a stop: while a trial runs, it raises :class:`StopRequested` inside it (the worker fails the
trial and re-queues a copy); between trials it only sets a flag, so that no store write is cut in
half. Any further signal is ignored: pressing Ctrl-C repeatedly cannot interrupt the clean-up that
fails and re-queues the running trial. The driver passes the first signal on to its worker
processes (which ignore SIGINT outside their trial loop, see :func:`ignore_interrupts`) and reports
:class:`StudyStopped`, which the command line prints with the ``hpo resume`` command and exit
status 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM). The command line runs a study
inside :func:`interrupt_once`: a Ctrl-C before the workers start interrupts it at once, and none
after the first can cut its clean-up or its exit short.

A worker whose driver died (SIGKILL, out of memory) notices that its parent process changed,
finishes its running trial and stops, instead of running the whole queue on its own.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from types import FrameType

#: The signals that stop a study cleanly.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: Exit status of a study stopped by SIGTERM.
EXIT_STOPPED = 128 + signal.SIGTERM

# Set by the first stop signal this process receives, in any GracefulStop or interrupt_once block.
_stopping = threading.Event()


def exit_status(signum: int) -> int:
    """Exit status of a study stopped by signal ``signum`` (the shell's 128 + number)."""
    return 128 + signum


def signal_name(signum: int) -> str:
    """``SIGTERM``, or ``Ctrl-C (SIGINT)``: how messages name a stop signal."""
    name = signal.Signals(signum).name
    return f"Ctrl-C ({name})" if signum == signal.SIGINT else name


class StopRequested(BaseException):
    """A stop signal arrived in a process running trials (a BaseException: objectives must not catch it).

    Carries the signal's number only, so that it crosses process boundaries intact."""

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        super().__init__(signum)
        self.signum = signum

    def __str__(self) -> str:
        return f"stopped by {signal_name(self.signum)}"


class StudyStopped(RuntimeError):
    """The study was stopped by a signal; finished trials are kept and the running ones re-queued."""

    def __init__(self, message: str, signum: int = signal.SIGTERM) -> None:
        super().__init__(message)
        self.exit_status = exit_status(signum)


class GracefulStop:
    """SIGINT and SIGTERM handler of a process that runs trials; see the module docstring.

    ``forward_to`` lists the process ids the first signal is passed on to (a driver's workers);
    ``parent_pid`` makes :attr:`requested` true once that parent process is gone.
    """

    def __init__(self, forward_to: Callable[[], Iterable[int]] | None = None, parent_pid: int | None = None) -> None:
        self._forward_to = forward_to
        self._parent_pid = parent_pid
        self._signum: int | None = None
        self._in_trial = False

    @property
    def requested(self) -> bool:
        """True once a stop signal arrived or the parent process died."""
        return self.signalled or (self._parent_pid is not None and os.getppid() != self._parent_pid)

    @property
    def signalled(self) -> bool:
        """True once a stop signal arrived."""
        return self._signum is not None

    @property
    def signum(self) -> int:
        """The first stop signal that arrived (SIGTERM before any did)."""
        return signal.SIGTERM if self._signum is None else self._signum

    def stop_requested(self) -> StopRequested:
        """The exception that ends this process's trials, naming the first signal."""
        return StopRequested(self.signum)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._signum is not None:
            return  # already stopping: a repeated Ctrl-C must not cut the clean-up short
        self._signum = signum
        _stopping.set()
        for pid in self._forward_to() if self._forward_to is not None else ():
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                continue
        if self._in_trial:
            self._in_trial = False
            raise StopRequested(signum)

    @contextmanager
    def installed(self) -> Iterator[GracefulStop]:
        """Handle SIGINT and SIGTERM in this block (only the main thread can; elsewhere this does nothing)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {signum: signal.signal(signum, self._handle) for signum in STOP_SIGNALS}
        previous_hook = sys.unraisablehook
        sys.unraisablehook = _quiet_stop(previous_hook)
        try:
            yield self
        finally:
            sys.unraisablehook = previous_hook
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    @contextmanager
    def trial(self) -> Iterator[None]:
        """Let the first stop signal interrupt the block (the objective of a running trial)."""
        if self.signalled:
            raise self.stop_requested()
        self._in_trial = True
        try:
            yield
        finally:
            self._in_trial = False


def _quiet_stop(hook: Callable[[sys.UnraisableHookArgs], object]) -> Callable[[sys.UnraisableHookArgs], object]:
    """``hook`` for every unraisable exception except a :class:`StopRequested`.

    A signal that arrives while Python runs a finaliser or weak-reference callback (a garbage
    collection inside the trial) raises there, where Python can only print it. The stop is not
    lost: its flag is set, so the worker ends after that trial; only the traceback is kept out
    of the one-line output."""

    def quiet(unraisable: sys.UnraisableHookArgs) -> None:
        if not isinstance(unraisable.exc_value, StopRequested):
            hook(unraisable)

    return quiet


@contextmanager
def interrupt_once() -> Iterator[None]:
    """Ctrl-C for a whole command that runs trials: the first press interrupts it (a
    KeyboardInterrupt, or a clean stop where a :class:`GracefulStop` is installed); every later
    press is ignored, during the clean-up and until the process exits, so that it cannot leave a
    trial half-failed. Only the main thread can set this up; elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        if not _stopping.is_set():
            _stopping.set()
            raise KeyboardInterrupt

    _stopping.clear()
    previous = signal.signal(signal.SIGINT, handle)
    try:
        yield
    finally:
        # Once interrupted, the command is ending: a later Ctrl-C would only cut its clean-up short.
        signal.signal(signal.SIGINT, signal.SIG_IGN if _stopping.is_set() else previous)


def ignore_interrupts() -> None:
    """Ignore SIGINT in this process (a worker process: Ctrl-C reaches it with its driver, and only
    its trial loop, which handles it, may act on it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
