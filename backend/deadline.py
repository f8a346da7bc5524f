"""A wall-clock deadline for a block of code, shared by the benchmark and the fuzzing harness."""
from __future__ import annotations

import contextlib
import signal
import threading
from typing import Callable, Iterator

__all__ = ["deadline"]


@contextlib.contextmanager
def deadline(seconds: float | None, error: Callable[[], BaseException]) -> Iterator[None]:
    """Raise ``error()`` in the main thread once ``seconds`` have passed (SIGALRM with a real-time interval timer).

    The signal is handled between Python bytecodes, so a blocking system call (opening a FIFO, reading a pipe) is
    interrupted but a long C function finishes first. Without a limit, off the main thread or on a system without
    SIGALRM it does nothing; the previous handler is restored on exit."""
    if seconds is None or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum, frame):
        raise error()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
