"""The evaluation entry point every task shares: ``python -m backend.tasks.<task>... [--variants ...] [--quick]
[--threads N] [--json FILE] [--write-manifest]``.

It evaluates every requested variant that is shipped, prints the task's markdown table, optionally writes all
results to a JSON file, and with ``--write-manifest`` (never with ``--quick``) stores each variant's metrics in
pretrained/manifest.json with the exact command that produced them (``metrics_command``).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Callable

import torch

from ..checkpoints import MANIFEST, read_manifest, update_manifest

__all__ = ["evaluation_main"]


def evaluation_main(
    module: str,
    experiment: str,
    variants: tuple[str, ...],
    evaluate: Callable[[str, argparse.Namespace], dict],
    markdown_table: Callable[[dict[str, dict]], str],
    argv: list[str] | None = None,
    add_options: Callable[[argparse.ArgumentParser], None] | None = None,
    description: str | None = None,
    threads: int = 1,
    manifest: Path = MANIFEST,
    finish: Callable[[dict[str, dict]], None] | None = None,
) -> int:
    """Run the evaluation CLI of one task. ``evaluate(variant, args)`` returns that variant's metrics;
    ``add_options`` adds the task's own options; ``finish(results)`` completes the results of all variants in place
    (figures that compare variants) before they are printed and stored."""
    argv = sys.argv[1:] if argv is None else list(argv)
    p = argparse.ArgumentParser(prog=f"python -m {module}", description=description or f"Evaluate the shipped {experiment} variants")
    p.add_argument("--variants", nargs="*", default=list(variants), choices=variants)
    p.add_argument("--quick", action="store_true", help="smaller evaluation sets (a smoke run; never written to the manifest)")
    p.add_argument("--threads", type=int, default=threads, help="torch CPU threads")
    p.add_argument("--json", default=None, help="also write all results to this JSON file")
    p.add_argument("--write-manifest", action="store_true", help="store the metrics in pretrained/manifest.json")
    if add_options:
        add_options(p)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    shipped = read_manifest(manifest)
    results: dict[str, dict[str, Any]] = {}
    for variant in args.variants:
        if f"{experiment}/{variant}" not in shipped:
            print(f"skipping {variant}: not shipped", file=sys.stderr)
            continue
        start = time.perf_counter()
        results[variant] = evaluate(variant, args)
        print(f"{variant}: evaluated in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    if not results:
        print(f"no shipped {experiment} variants", file=sys.stderr)
        return 1
    if finish:
        finish(results)
    print(markdown_table(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    if args.write_manifest and not args.quick:
        command = f"python -m {module} " + " ".join(argv)

        def store(manifest: dict) -> None:
            for variant, r in results.items():
                manifest[f"{experiment}/{variant}"].update(metrics=r, metrics_command=command)

        update_manifest(store, manifest)
    return 0
