"""What users are told and what they may type, shared by ``backend.cli``, the task CLIs, the readers and the app:
one exception for bad user input, bounded integer options whose messages name the option and its bounds, and
``one_line``, the form of every error message shown to a user."""
from __future__ import annotations

from typing import Callable

__all__ = ["UsageError", "integer_option", "bounded", "one_line"]


def one_line(message: object, limit: int | None = None) -> str:
    """``message`` (an exception's text, or its type's name when the text is empty) as one printable line: whitespace
    runs become one space, other non-printable characters (controls, surrogates, ...) their backslash escapes; with
    ``limit``, a longer line is cut to ``limit`` characters ending in "..."."""
    text = " ".join(str(message).split())
    if not text and isinstance(message, BaseException):
        text = type(message).__name__
    if not text.isprintable():
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if limit is None or len(text) <= limit else text[: limit - 3] + "..."


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
