"""What the training entry points share: the git-ignored runs/ folder for their logs, shipping a trained model with
its manifest record, the command-line runner that records the exact argv (so the manifest's command reproduces
the run), and command-line options generated from config dataclasses (so the flags cannot drift from the config).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import typing
from pathlib import Path
from typing import Any, Callable, Collection, Sequence

import torch

from ..checkpoints import PRETRAINED, save_checkpoint
from ..options import UsageError

RUNS = Path(__file__).resolve().parents[2] / "runs"


def log_path(requested: str | None, default_name: str) -> Path:
    """``requested`` (resolved) or runs/<default_name>; its folder is created when needed."""
    path = Path(requested).resolve() if requested else RUNS / default_name
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def log_label(path: Path) -> str:
    """The log's path relative to the repository when it lies inside it (as stored in the manifest)."""
    return str(path.relative_to(RUNS.parent)) if path.is_relative_to(RUNS.parent) else str(path)


def run(build_parser: Callable[[], argparse.ArgumentParser], train: Callable, argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default: the process arguments), keep it on ``args.argv`` and train. A UsageError (options
    that do not fit together) is one line on stderr and exit code 2."""
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = argv
    try:
        train(args)
    except UsageError as e:
        print(f"{parser.prog}: error: {e}", file=sys.stderr)
        return 2
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


def _options(config_class: type, exclude: Collection[str] = ()):
    """(field, element type, is a sequence) for every field of a config dataclass that is a command-line option."""
    hints = typing.get_type_hints(config_class)
    for f in dataclasses.fields(config_class):
        if not f.init or f.metadata.get("option") is False or f.name in exclude:
            continue
        kind = hints[f.name]
        args = [t for t in typing.get_args(kind) if t is not type(None)]
        sequence = typing.get_origin(kind) in (tuple, list)
        if args:
            kind = args[0]
        yield f, kind, sequence


def add_config_options(parser: argparse.ArgumentParser, config_class: type, defaults: dict[str, Any] | None = None,
                       choices: dict[str, Sequence[Any]] | None = None, exclude: Collection[str] = ()) -> None:
    """One option per field of a config dataclass: ``--field-name`` with the field's type and default (or the one in
    ``defaults``). Field metadata (or ``choices``) may give ``help`` and ``choices``, or ``option=False`` for a field that is not an
    option (e.g. computed from the data; ``exclude`` names more); bool fields become ``--name/--no-name``; ``X | None`` fields take X;
    tuple and list fields take any number of values."""
    for f, kind, sequence in _options(config_class, exclude):
        option = "--" + f.name.replace("_", "-")
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        default = (defaults or {}).get(f.name, default)
        extra: dict[str, Any] = {"help": f.metadata.get("help"), "default": default}
        if kind is bool:
            parser.add_argument(option, action=argparse.BooleanOptionalAction, **extra)
        elif sequence:
            parser.add_argument(option, type=kind, nargs="*", **extra)
        else:
            parser.add_argument(option, type=kind, choices=(choices or {}).get(f.name, f.metadata.get("choices")), **extra)


def config_from_args(config_class: type, args: argparse.Namespace, exclude: Collection[str] = ()):
    """The config dataclass filled from the options ``add_config_options`` made (other fields keep their defaults)."""
    values = {}
    for f, _, sequence in _options(config_class, exclude):
        value = getattr(args, f.name)
        values[f.name] = tuple(value) if sequence and typing.get_origin(typing.get_type_hints(config_class)[f.name]) is tuple else value
    return config_class(**values)
