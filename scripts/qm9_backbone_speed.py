"""Time the shipped QM9 denoiser's backbone eager, traced (``TracedGraphTransformer``) and exported
(``torch.export``), and one live 100-step sampling run eager against traced (``with_traced_backbone``, what the app
samples with: the traced backbone, and the whole logits traced for one molecule), on this machine.

    python scripts/qm9_backbone_speed.py [--variant sympe] [--runs 10] [--threads 1] [--no-export]

The backbone is timed per call on the inputs the model passes it in a sampling run (one molecule, captured with a
forward pre-hook) and, for the exported module, on a batch of 2 of them (``torch.export`` specializes a batch of 1);
each figure is the median of ``--runs`` timings after a warm-up. Sampling runs draw one molecule with seeds 1..runs,
as the Molecule lab's live mode does.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.nn.graph import TracedGraphTransformer, _NodeAndEdgeOutputs  # noqa: E402
from backend.tasks.qm9.model import load_qm9_model, sample_molecules, with_traced_backbone  # noqa: E402


def per_call_ms(fn, calls: int = 200) -> float:
    for _ in range(10):
        fn()
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1000


def sampling_ms(model, runs: int) -> float:
    def once(seed: int):
        sample_molecules(model, 1, torch.Generator().manual_seed(seed), 100, keep_trajectory=True,
                         track_symmetry=False)

    once(0)
    times = []
    for seed in range(1, runs + 1):
        start = time.perf_counter()
        once(seed)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variant", default="sympe")
    ap.add_argument("--runs", type=int, default=10, help="sampling runs per path (default 10)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-export", dest="export", action="store_false", help="skip torch.export (about 10 s)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    model = load_qm9_model(args.variant)
    captured = []
    hook = model.net.register_forward_pre_hook(lambda module, inputs: captured.append(inputs) if not captured else None)
    with torch.inference_mode():
        sample_molecules(model, 1, torch.Generator().manual_seed(0), 2, track_symmetry=False)
    hook.remove()
    inputs = captured[0]
    traced = TracedGraphTransformer(model.net)
    rows = []
    with torch.inference_mode():
        rows.append(("backbone, eager (ms per call)", per_call_ms(lambda: model.net(*inputs))))
        rows.append(("backbone, traced (ms per call)", per_call_ms(lambda: traced(*inputs))))
    if args.export:
        pair = tuple(torch.cat([t, t]) for t in inputs)
        auto = torch.export.Dim.AUTO
        shapes = tuple({i: auto for i in range(t.dim())} for t in pair)
        exported = torch.export.export(_NodeAndEdgeOutputs(model.net).eval(), pair, dynamic_shapes=(shapes,)).module()
        with torch.inference_mode():
            rows.append(("backbone, eager, batch 2 (ms per call)", per_call_ms(lambda: model.net(*pair))))
            rows.append(("backbone, exported, batch 2 (ms per call)", per_call_ms(lambda: exported(*pair))))
    with torch.inference_mode():
        rows.append(("100-step sampling, eager (ms, median)", sampling_ms(model, args.runs)))
        rows.append(("100-step sampling, traced (ms, median)", sampling_ms(with_traced_backbone(model), args.runs)))
    n = inputs[0].shape[1]
    print(f"qm9/{args.variant}, {n} nodes, {args.threads} thread(s)")
    for label, ms in rows:
        print(f"{label:45s} {ms:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
