"""The Train page's defaults on this machine: train the default variants side by side exactly as the page does (one
job, app.training.run_job) and print the wall time and the final evaluation per variant.

    OMP_NUM_THREADS=1 python scripts/train_page_benchmark.py [--steps N] [--lr X] [--seed S] [--variants none sympe]

A benchmark, not a test: docs/app.md quotes its output with the date and the machine.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from app import training  # noqa: E402
from app.jobs import JobManager  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    defaults = training.Knobs()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=defaults.steps)
    p.add_argument("--lr", type=float, default=defaults.lr)
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--variants", nargs="+", default=list(defaults.variants))
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    knobs = replace(defaults, steps=args.steps, lr=args.lr, seed=args.seed, variants=tuple(args.variants))
    problems = training.validate(knobs)
    if problems:
        p.error("; ".join(problems))
    manager = JobManager(limit=1)
    start = time.perf_counter()
    job = manager.submit("benchmark", lambda j: training.run_job(manager, knobs, j))
    while job.active:
        time.sleep(0.5)
    seconds = time.perf_counter() - start
    if job.state != "done":
        print(f"job {job.state}: {job.error}")
        return 1
    print(f"knobs: {knobs}")
    print(f"wall time (Start to all variants done, {len(knobs.variants)} variants side by side): {seconds:.1f} s")
    header = "| variant | " + " | ".join(training.PHASES) + " | coverage |"
    print(header)
    print("|" + "---|" * (len(training.PHASES) + 2))
    for variant, (_, evaluation) in job.result.items():
        cells = [f"{evaluation['exact'].get(ph, float('nan')):.0%}" for ph in training.PHASES]
        cov = evaluation["coverage"]
        print(f"| {variant} | " + " | ".join(cells) + f" | {cov:.0%} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
