"""What the training entry points share: the git-ignored runs/ folder for their logs, shipping a trained model with
its manifest record, and the command-line runner that records the exact argv (so the manifest's command
reproduces the run)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable

import torch

from ..checkpoints import PRETRAINED, save_checkpoint

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


def ship(model: torch.nn.Module, key: str, record: dict, save: bool = True, root: Path = PRETRAINED) -> dict:
    """Write the weights and the manifest entry ``key`` (unless ``save`` is False) and print the headline: file,
    sha256 and the small evaluation. Returns the manifest entry, or the record when nothing was saved."""
    if not save:
        print(json.dumps(record["small_eval"], indent=2))
        return record
    entry = save_checkpoint(model, key, record, root)
    print(json.dumps({k: entry[k] for k in ("file", "sha256", "small_eval")}, indent=2))
    return entry
