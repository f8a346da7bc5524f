"""Compare Ising models on the validation set (seed 123, never the test seed), for choices made during development.

    python scripts/ising_validation_compare.py shipped:sympe: lr1e-3:sympe:runs/ising-lr1e-3

Each argument is label:variant:root (an empty root is pretrained/). For every model it prints the exact ground-state
rate in % on 2000 constant Hamiltonians, overall and per phase, and the number of misses.
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.tasks.ising import PHASES  # noqa: E402
from backend.tasks.ising_eval import load_ising, validation_metrics  # noqa: E402


def main(specs: list[str]) -> int:
    if not specs or any(s.count(":") != 2 for s in specs):
        print("usage: python scripts/ising_validation_compare.py label:variant:root [...]", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    print("| model | " + " | ".join(PHASES) + " | all | misses |")
    print("|---" * (len(PHASES) + 3) + "|")
    for label, variant, root in (s.split(":") for s in specs):
        m = validation_metrics(load_ising(variant, Path(root) if root else None))
        per_phase = [f"{100 * m['per_phase'][p]['exact_rate']:.1f}" for p in PHASES]
        misses = round(m["count"] * (1 - m["exact_rate"]))
        print(f"| {label} | " + " | ".join(per_phase) + f" | {100 * m['exact_rate']:.1f} | {misses} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
