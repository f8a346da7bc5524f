"""Time training steps and one reverse diffusion step of the QM9 denoiser at the shipped size and at a paper-scale
size, on this machine, and estimate from them what a paper-scale run would cost.

    python scripts/qm9_scale_estimate.py [--steps 20] [--batch 128] [--threads 1] [--device cpu]

Each configuration trains ``--steps`` steps of the real loop's loss (``QM9Training.loss`` with AdamW) on the real
training data and times them after two warm-up steps; a reverse step is one forward pass on a batch of noisy
molecules, so sampling one batch costs T of them. The estimates are products of these measured times and say so.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.device import select_device  # noqa: E402
from backend.tasks.qm9.model import QM9Config  # noqa: E402
from backend.tasks.qm9.train import QM9Training, QM9TrainingConfig  # noqa: E402

CONFIGS = {
    "shipped": {},
    "paper-scale": {"T": 500, "hidden": 256, "hidden_edge": 64, "hidden_global": 64, "num_layers": 8, "num_heads": 8},
}
SHIPPED_STEPS = 16_000  # the shipped models' training length (pretrained/manifest.json)


def measure(overrides: dict, steps: int, batch: int, device: torch.device) -> dict:
    task = QM9Training(QM9TrainingConfig())
    config = QM9Config(variant="sympe", **overrides)
    data = task.training_data(config, 0)
    model = task.build(config, data)
    data = task.prepare(model, data)
    model.to(device).train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(0)

    def step(k: int) -> None:
        optimiser.zero_grad(set_to_none=True)
        loss, _ = task.loss(model, data, task.indices(data, batch, generator), generator, device, k, steps)
        loss.backward()
        optimiser.step()

    for k in range(2):
        step(k)
    start = time.perf_counter()
    for k in range(steps):
        step(k)
    step_seconds = (time.perf_counter() - start) / steps
    X, E, mask = data.train.batch(torch.arange(batch), device)
    t = torch.full((batch,), config.T // 2, dtype=torch.long, device=device)
    model.eval()
    with torch.no_grad():
        model(X, E, mask, t, generator=generator)
        start = time.perf_counter()
        for _ in range(5):
            model(X, E, mask, t, generator=generator)
    forward_seconds = (time.perf_counter() - start) / 5
    return {"parameters": sum(p.numel() for p in model.parameters()), "T": config.T, "step_s": step_seconds,
            "reverse_step_s": forward_seconds}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = select_device(args.device)
    print(f"device {device}, {args.threads} thread(s), batch {args.batch}, {args.steps} timed steps, torch {torch.__version__}")
    print("| config | parameters | T | s / training step | s / reverse step | 16,000 steps (estimate) | sampling a batch (estimate) |")
    print("|---|---|---|---|---|---|---|")
    for name, overrides in CONFIGS.items():
        m = measure(overrides, args.steps, args.batch, device)
        print(f"| {name} | {m['parameters']:,} | {m['T']} | {m['step_s']:.3f} | {m['reverse_step_s']:.3f} | "
              f"{SHIPPED_STEPS * m['step_s'] / 3600:.1f} h | {m['T'] * m['reverse_step_s']:.0f} s |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
