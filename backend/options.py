"""Validation of command-line values, shared by ``backend.cli`` and the task CLIs: one exception for bad user input
and bounded integer options whose messages name the option and its bounds."""
from __future__ import annotations

from typing import Callable

__all__ = ["UsageError", "integer_option", "bounded"]


class UsageError(Exception):
    """Bad input from the user: reported as one line on stderr with exit code 2."""


def integer_option(name: str, text: str, low: int, high: int) -> int:
    """An integer command-line value in [low, high]; anything else is a UsageError naming the option."""
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise UsageError(f"--{name} must be an integer, got {text!r}") from None
    if not low <= value <= high:
        raise UsageError(f"--{name} must be between {low} and {high}, got {value}")
    return value


def bounded(name: str, low: int, high: int) -> Callable[[str], int]:
    """An argparse ``type=`` for an integer option in [low, high]."""
    return lambda text: integer_option(name, text, low, high)
