"""backend.deadline: the alarm raises in the block, also when its first raise lands in a finalizer (where Python
ignores exceptions), and leaves no timer or handler behind."""
import signal
import time

import pytest

from backend.deadline import deadline


def busy(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def test_the_block_is_stopped_and_nothing_is_left_armed():
    before = signal.getsignal(signal.SIGALRM)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        with deadline(0.1, TimeoutError):
            busy(5)
    assert time.monotonic() - started < 1
    assert signal.getsignal(signal.SIGALRM) is before and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the first raise, ignored on purpose
def test_a_raise_swallowed_by_a_finalizer_is_repeated_until_it_reaches_the_block():
    class SlowToDie:
        def __del__(self):
            busy(0.3)  # the alarm at 0.1 s fires in here, and Python ignores the exception

    started = time.monotonic()
    with pytest.raises(TimeoutError):
        with deadline(0.1, TimeoutError):
            SlowToDie()
            busy(5)
    assert time.monotonic() - started < 1


def test_a_block_that_ends_in_time_is_left_alone():
    with deadline(5, TimeoutError):
        busy(0.05)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
