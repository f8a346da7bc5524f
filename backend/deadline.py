"""A wall-clock deadline for a block of code, shared by the benchmark and the fuzzing harness."""
from __future__ import annotations

import contextlib
import signal
import threading
from typing import Callable, Iterator

__all__ = ["deadline"]


REPEAT_S = 0.05  # once expired, the alarm comes again this often until the block has ended


@contextlib.contextmanager
def deadline(seconds: float | None, error: Callable[[], BaseException]) -> Iterator[None]:
    """Raise ``error()`` in the main thread once ``seconds`` have passed (SIGALRM with a real-time interval timer).

    The signal is handled between Python bytecodes, so a blocking system call (opening a FIFO, reading a pipe) is
    interrupted but a long C function finishes first. Python ignores an exception raised inside a finalizer or a
    weakref callback (it prints "Exception ignored in ..."), so the alarm comes again every REPEAT_S seconds until
    one raise reaches the block. Without a limit, off the main thread or on a system without SIGALRM it does nothing;
    the timer is stopped and the previous handler restored on exit, also when an alarm lands in that exit."""
    if seconds is None or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return
    active = True

    def expire(signum, frame):
        if active:
            signal.setitimer(signal.ITIMER_REAL, REPEAT_S)
            raise error()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        while active:
            try:
                active = False
                signal.setitimer(signal.ITIMER_REAL, 0)
            except BaseException:  # noqa: BLE001 - an alarm that landed in this exit: the block is over anyway
                active = True
        signal.signal(signal.SIGALRM, previous)
