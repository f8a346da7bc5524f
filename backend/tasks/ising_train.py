"""Train one Ising variant and ship it: ``python -m backend.tasks.ising_train --variant sympe``.

Every variant gets the same backbone, data, number of steps, optimiser and seed. The training set is a fixed
set of constant Hamiltonians (every phase, random 90° rotations, a quarter at zero field) plus spatially
varying ones; for ``sympe`` their canonical forms are computed once and a fresh inversion-kernel sample is
drawn at every step. The loss is the mean-field free energy per site, its temperature annealed linearly to 0
over the first 75% of the steps, then the mean-field energy (backend.tasks.ising). Writes
pretrained/ising/<variant>.safetensors, the manifest entry (config, command, seed, data sizes, training time,
small fixed-set metrics) and a log in runs/ising-<variant>-<name of the --out folder>.log.
"""
from __future__ import annotations

import argparse
import json
import shlex
import time
from pathlib import Path

import torch
from tqdm import tqdm

from ..checkpoints import PRETRAINED
from ..device import select_device
from .ising import (
    VARIANTS,
    IsingConfig,
    IsingModel,
    LatticeCanonicalForm,
    mean_field_free_energy,
    sample_constant_hamiltonians,
    sample_varying_hamiltonians,
)
from .ising_eval import small_eval
from .training import log_path, run, ship


def canonical_forms(model: IsingModel, J: torch.Tensor, h: torch.Tensor, batch: int = 256) -> LatticeCanonicalForm | None:
    if model.config.variant != "sympe":
        return None
    parts = [model.canonicalize(J[i : i + batch], h[i : i + batch]) for i in tqdm(range(0, len(J), batch), desc="canonicalize", leave=False)]
    return LatticeCanonicalForm.concat(parts)


def train(args) -> dict:
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = select_device(args.device)
    data_gen = torch.Generator().manual_seed(args.seed)
    Jc, hc = sample_constant_hamiltonians(args.num_constant, args.L, data_gen, multiscale_fraction=args.multiscale_fraction)
    Jv, hv, _ = sample_varying_hamiltonians(args.num_varying, args.L, data_gen)
    J, h = torch.cat([Jc, Jv]).float(), torch.cat([hc, hv]).float()

    config = IsingConfig(L=args.L, variant=args.variant, hidden=args.hidden, num_layers=args.layers, encoding_dim=args.encoding_dim,
                         sharpness=tuple(args.sharpness))
    model = IsingModel(config)
    canonical = canonical_forms(model, J, h)
    model.to(device)
    encoding = [p for n, p in model.named_parameters() if n.startswith("encoder.")]
    others = [p for n, p in model.named_parameters() if not n.startswith("encoder.")]
    groups = [{"params": others, "lr": args.lr}] + ([{"params": encoding, "lr": args.lr * args.encoding_lr_mult}] if encoding else [])
    optimiser = torch.optim.Adam(groups)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=[g["lr"] for g in groups], total_steps=args.steps, pct_start=0.05
    )
    step_gen = torch.Generator().manual_seed(args.seed + 1)

    log_file = log_path(None, f"ising-{args.variant}-{Path(args.out).name}.log")
    start = time.perf_counter()
    with open(log_file, "w") as log, tqdm(range(args.steps), desc=f"ising/{args.variant}") as bar:
        for step in bar:
            idx = torch.randint(len(J), (args.batch,), generator=step_gen)
            Jb, hb = J[idx].to(device), h[idx].to(device)
            out = model(Jb, hb, generator=step_gen, canonical=None if canonical is None else canonical[idx])
            temperature = args.anneal * max(0.0, 1 - step / (args.anneal_until * args.steps))
            loss = mean_field_free_energy(Jb, hb, out.logits, temperature).mean() / args.L**2
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            if step % 50 == 0 or step == args.steps - 1:
                bar.set_postfix(loss_per_site=f"{loss.item():.4f}")
                log.write(json.dumps({"step": step, "loss_per_site": loss.item(), "temperature": temperature, "seconds": time.perf_counter() - start}) + "\n")
                log.flush()
    seconds = time.perf_counter() - start
    model.cpu().eval()
    record = {
        "experiment": "ising",
        "variant": args.variant,
        "config": config.to_dict(),
        "command": "python -m backend.tasks.ising_train " + " ".join(shlex.quote(a) for a in args.argv),
        "seed": args.seed,
        "data": {"constant_hamiltonians": args.num_constant, "multiscale_fraction": args.multiscale_fraction, "varying_hamiltonians": args.num_varying, "L": args.L},
        "training": {"steps": args.steps, "batch": args.batch, "lr": args.lr, "encoding_lr_mult": args.encoding_lr_mult, "seconds": round(seconds, 1),
                     "device": str(device), "torch": torch.__version__, "loss": "mean-field energy per site" if not args.anneal else
                     f"mean-field free energy per site, T from {args.anneal} linearly to 0 at {args.anneal_until:.0%} of the steps, then the energy",
                     "anneal": args.anneal, "anneal_until": args.anneal_until},
        "small_eval": small_eval(model),
    }
    return ship(model, f"ising/{args.variant}", record, root=Path(args.out))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m backend.tasks.ising_train", description=__doc__.splitlines()[0])
    p.add_argument("--variant", choices=VARIANTS, required=True)
    p.add_argument("--L", type=int, default=8)
    p.add_argument("--steps", type=int, default=12000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--encoding-lr-mult", type=float, default=10.0, help="learning-rate factor of the learned field v")
    p.add_argument("--hidden", type=int, default=8)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--encoding-dim", type=int, default=8)
    p.add_argument("--sharpness", type=float, nargs="*", default=[3.0, 30.0, 300.0], help="κ of extra input channels tanh(κ·J), tanh(κ·h)")
    p.add_argument("--num-constant", type=int, default=4096)
    p.add_argument("--num-varying", type=int, default=1024)
    p.add_argument("--multiscale-fraction", type=float, default=0.3, help="share of couplings rescaled by 10^U(-2,0)")
    p.add_argument("--anneal", type=float, default=0.3, help="initial temperature of the mean-field free energy (0: plain energy)")
    p.add_argument("--anneal-until", type=float, default=0.75, help="fraction of the steps after which the temperature is 0")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--out", default=str(PRETRAINED), help="folder for weights and manifest")
    return p


def main(argv: list[str] | None = None) -> int:
    return run(build_parser, train, argv)


if __name__ == "__main__":
    raise SystemExit(main())
