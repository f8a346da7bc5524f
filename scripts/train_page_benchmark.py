"""The Train page's defaults on this machine: train the default variants of one experiment side by side exactly as
the page does (one job in its own process, app.training.run_job_in_process) and print the wall time and the final
evaluation per variant.

    OMP_NUM_THREADS=1 python scripts/train_page_benchmark.py [--experiment ising|graph_ae] [--steps N] [--lr X]
        [--seed S] [--variants none sympe]

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
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--experiment", choices=list(training.EXPERIMENTS), default="ising")
    p.add_argument("--steps", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--variants", nargs="+")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    exp = training.EXPERIMENTS[args.experiment]
    given = {k: v for k, v in (("steps", args.steps), ("lr", args.lr), ("seed", args.seed)) if v is not None}
    knobs = replace(exp.defaults, **given, **({"variants": tuple(args.variants)} if args.variants else {}))
    problems = training.validate(knobs)
    if problems:
        p.error("; ".join(problems))
    manager = JobManager(limit=1)
    start = time.perf_counter()
    job = manager.submit("benchmark", lambda j: training.run_job_in_process(manager, knobs, j))
    while job.active:
        time.sleep(0.5)
    seconds = time.perf_counter() - start
    if job.state != "done":
        print(f"job {job.state}: {job.error}")
        return 1
    print(f"knobs: {knobs}")
    print(f"wall time (Start to all variants done, {len(knobs.variants)} variants side by side): {seconds:.1f} s")
    rows = [{"variant": v, **exp.row(evaluation)} for v, (_, evaluation) in job.result.items()]
    print("| " + " | ".join(rows[0]) + " |")
    print("|" + "---|" * len(rows[0]))
    for row in rows:
        print("| " + " | ".join(str(x) for x in row.values()) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
