"""Time the shipped Ising model's frozen core (``backend.nn.lattice.FrozenP4MCNN``) on K samples at each lattice size
the app offers, its batch on one thread against split over two, and say which one ``MIN_CHUNK_SITES`` picks.

    python scripts/lattice_core_speed.py [--variant noise] [--K 16] [--runs 7] [--sizes 8 16 32 64]

Each figure is the median of ``--runs`` forward passes (after two warm-up passes) of the model's core and head on
random couplings and fields, in ms, with one torch thread per Python thread as in the app. The ratio is one thread's
time over two threads'; above 1 the split pays.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.nn.lattice import FrozenP4MCNN  # noqa: E402
from backend.tasks.ising.model import load_ising, with_frozen_core  # noqa: E402

SIZES = (8, 16, 24, 32, 48, 64)


def forward_ms(model, L: int, K: int, runs: int) -> float:
    J, h = torch.randn(K, 2, L, L), torch.randn(K, L, L)
    generator = torch.Generator().manual_seed(0)
    times = []
    with torch.inference_mode():
        for _ in range(runs + 2):
            start = time.perf_counter()
            model(J, h, generator=generator)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times[2:])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variant", default="noise")
    ap.add_argument("--K", type=int, default=16, help="samples per batch (default 16, the latency table's)")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    print(f"ising/{args.variant}, K = {args.K}, MIN_CHUNK_SITES = {FrozenP4MCNN.MIN_CHUNK_SITES}")
    print("| L | sites | one thread (ms) | two threads (ms) | one / two | the rule splits |")
    print("|---|---|---|---|---|---|")
    for L in args.sizes:
        model = load_ising(args.variant).at_size(L).eval()
        one = with_frozen_core(model, 1)
        two = with_frozen_core(model, 2)
        splits = two.core.chunks(args.K, L) > 1
        two.core.MIN_CHUNK_SITES = 1  # split whatever the rule says
        t1, t2 = forward_ms(one, L, args.K, args.runs), forward_ms(two, L, args.K, args.runs)
        print(f"| {L} | {args.K * L * L:,} | {t1:.1f} | {t2:.1f} | {t1 / t2:.2f} | {'yes' if splits else 'no'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
