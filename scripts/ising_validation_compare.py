"""Compare Ising models on the validation set (seed 123, never the test seed), for choices made during development.

    python scripts/ising_validation_compare.py [--misses] [--search K] shipped:sympe: lr1e-3:sympe:runs/ising-lr1e-3

Each argument is label:variant:root (an empty root is pretrained/). For every model it prints the exact ground-state
rate in % on 2000 constant Hamiltonians, overall and per phase, and the number of misses. With --search K each
sample is taken by backend.tasks.ising.model.nearby_search with K proposals (repeat the option for several rows per
model). With --misses it then lists every miss of the plain samples: the couplings, the phase, the energy per site
above the ground state, the gap per site from the ground state to the next 2-periodic state, and whether the output
is itself 2-periodic.
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.tasks.ising.data import PHASES  # noqa: E402
from backend.tasks.ising.evaluate import validation_metrics, validation_outcomes  # noqa: E402
from backend.tasks.ising.model import IsingModel, load_ising  # noqa: E402


def list_misses(label: str, model: IsingModel, num: int = 2000) -> None:
    """The misses of ``validation_metrics`` (same Hamiltonians and sampling seeds), one line each."""
    out = validation_outcomes(model, num)
    sites = out.h[0].numel()
    for b in (~out.exact).nonzero().flatten().tolist():
        jx, jy, hb = float(out.J[b, 0, 0, 0]), float(out.J[b, 1, 0, 0]), float(out.h[b, 0, 0])
        s = out.spins[b]
        periodic = bool((s == s.roll(2, 0)).all() and (s == s.roll(2, 1)).all())
        print(f"{label} #{b}: J_x {jx:+.3f}, J_y {jy:+.3f}, h {hb:+.3f}, {out.phases[b]}, "
              f"{float(out.excess[b]) / sites:.4f} per site above the ground state, next 2-periodic state "
              f"{float(out.margin[b]) / sites:.4f} above it, output {'' if periodic else 'not '}2-periodic")


def main(specs: list[str]) -> int:
    usage = "usage: python scripts/ising_validation_compare.py [--misses] [--search K ...] label:variant:root [...]"
    show_misses = "--misses" in specs
    specs = [s for s in specs if s != "--misses"]
    searches = []
    while "--search" in specs:
        i = specs.index("--search")
        if i + 1 >= len(specs) or not specs[i + 1].isdigit():
            print(usage, file=sys.stderr)
            return 2
        searches.append(int(specs[i + 1]))
        del specs[i : i + 2]
    if not specs or any(s.count(":") != 2 for s in specs):
        print(usage, file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    print("| model | " + " | ".join(PHASES) + " | all | misses |")
    print("|---" * (len(PHASES) + 3) + "|")
    models = {label: load_ising(variant, Path(root) if root else None) for label, variant, root in (s.split(":") for s in specs)}
    for label, model in models.items():
        for search in searches or [0]:
            m = validation_metrics(model, search=search)
            per_phase = [f"{100 * m['per_phase'][p]['exact_rate']:.1f}" for p in PHASES]
            misses = round(m["count"] * (1 - m["exact_rate"]))
            name = f"{label}, search {search}" if searches else label
            print(f"| {name} | " + " | ".join(per_phase) + f" | {100 * m['exact_rate']:.1f} | {misses} |", flush=True)
    if show_misses:
        for label, model in models.items():
            list_misses(label, model)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
