"""What the training entry points share: the git-ignored runs/ folder for their logs, and the command-line runner
that records the exact argv (so the manifest's command reproduces the run)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

RUNS = Path(__file__).resolve().parents[2] / "runs"


def log_path(requested: str | None, default_name: str) -> Path:
    """``requested`` (resolved) or runs/<default_name>; runs/ is created when needed."""
    RUNS.mkdir(exist_ok=True)
    return Path(requested).resolve() if requested else RUNS / default_name


def log_label(path: Path) -> str:
    """The log's path relative to the repository when it lies inside it (as stored in the manifest)."""
    return str(path.relative_to(RUNS.parent)) if path.is_relative_to(RUNS.parent) else str(path)


def run(build_parser: Callable[[], argparse.ArgumentParser], train: Callable, argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default: the process arguments), keep it on ``args.argv`` and train."""
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    args.argv = argv
    train(args)
    return 0
