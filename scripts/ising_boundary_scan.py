"""The shipped Ising model on the lattice lab's slider grid, on and off the exact phase boundaries.

    python scripts/ising_boundary_scan.py [--variant sympe] [--num 1500] [--search 4]

The lattice lab's sliders move J_x, J_y and h in steps of 0.05, so they often land exactly on a phase boundary
(for example J_y = 0), where the model was never trained: its training couplings are continuous. This script
takes every grid point inside the training range (|J_x|, |J_y| ≤ 1, |h| ≤ 3; 41 · 41 · 121 points), splits
them into points where more than two of the 2-periodic states tie for the ground state (exact boundaries) and
the rest, draws ``--num`` points of each group (seed 0), samples the model once per point (seed 1) and prints
the share of samples that reach the exact ground energy, without and with the nearby search.
"""
from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.tasks.ising.data import constant_couplings, exact_ground  # noqa: E402
from backend.tasks.ising.evaluate import SEARCH_PROPOSALS, constant_outcomes  # noqa: E402
from backend.tasks.ising.model import VARIANTS, load_ising  # noqa: E402

STEP, J_MAX, H_MAX, L = 0.05, 1.0, 3.0, 8


def slider_grid() -> torch.Tensor:
    """Every (J_x, J_y, h) on the sliders' 0.05 grid inside the training range. Shape (N, 3), float64."""
    j = [round(k * STEP, 2) for k in range(-round(J_MAX / STEP), round(J_MAX / STEP) + 1)]
    h = [round(k * STEP, 2) for k in range(-round(H_MAX / STEP), round(H_MAX / STEP) + 1)]
    return torch.tensor(list(itertools.product(j, j, h)), dtype=torch.float64)


def tied_states(params: torch.Tensor, batch: int = 20000) -> torch.Tensor:
    """How many of the 16 two-periodic states reach the ground energy, per row of ``params``. Shape (N,)."""
    out = []
    for i in range(0, len(params), batch):
        J, h = constant_couplings(*params[i : i + batch].T, L)
        out.append(exact_ground(J, h).is_ground.sum(-1))
    return torch.cat(out)


def ground_rate(model, params: torch.Tensor, search: int) -> float:
    """Share of single samples (seed 1) that reach the exact ground energy, after ``search`` proposals if > 0."""
    J, h = constant_couplings(*params.T, L)
    return float(constant_outcomes(model, J, h, torch.Generator().manual_seed(1), search).exact.double().mean())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python scripts/ising_boundary_scan.py", description=__doc__.splitlines()[0])
    p.add_argument("--variant", choices=VARIANTS, default="sympe")
    p.add_argument("--num", type=int, default=1500, help="grid points drawn from each group")
    p.add_argument("--search", type=int, default=SEARCH_PROPOSALS, help="proposals of the nearby search for the second column")
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    grid = slider_grid()
    ties = tied_states(grid)
    model = load_ising(args.variant)
    pick = torch.Generator().manual_seed(0)
    print(f"{len(grid)} grid points, {int((ties > 2).sum())} of them on an exact phase boundary "
          f"(more than two tied 2-periodic states)")
    print(f"| {args.variant}: grid points | count | ground state %, plain | ground state %, search P = {args.search} |")
    print("|---|---|---|---|")
    for name, rows in (("on a boundary", (ties > 2).nonzero().flatten()), ("off the boundaries", (ties <= 2).nonzero().flatten())):
        rows = rows[torch.randperm(len(rows), generator=pick)[: args.num]]
        plain, searched = (100 * ground_rate(model, grid[rows], s) for s in (0, args.search))
        print(f"| {name} | {len(rows)} | {plain:.1f} | {searched:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
