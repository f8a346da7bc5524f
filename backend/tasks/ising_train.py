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
from torch import nn
from tqdm import tqdm

from ..checkpoints import PRETRAINED
from ..device import select_device
from .ising import (
    VARIANTS,
    IsingConfig,
    IsingModel,
    IsingOutput,
    LatticeCanonicalForm,
    energy,
    greedy_descent,
    mean_field_free_energy,
    spins_from_logits,
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


@torch.no_grad()
def improved_states(
    model: IsingModel, J: torch.Tensor, h: torch.Tensor, out: IsingOutput, generator: torch.Generator,
    proposals: int, spread: tuple[float, float] = (0.01, 0.3), sweeps: int = 2,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Self-improvement targets: the lowest-energy state among the model's own output and its outputs for
    ``proposals`` nearby Hamiltonians, each polished by ``greedy_descent`` under the true Hamiltonian.

    A nearby Hamiltonian adds a scalar a·σ to every J_x, b·σ to every J_y and c·σ to every h, with a, b, c ~ N(0, 1)
    and σ log-uniform in ``spread`` times the Hamiltonian's scale mean(|J_x| + |J_y| + |h|). It keeps a constant
    input constant and reuses the same encoding draw (``out.elements``), so a proposal lies in the same orbit
    position as the output it may replace. Near a phase boundary the model's answer for a neighbour on the other
    side is the competing state, and the energy of the true Hamiltonian decides between them. No labels are used:
    only the model and the energy. J (B, 2, L, L), h (B, L, L). Returns the targets (B, L, L) in ±1 and a mask (B,)
    of the rows where a target is strictly lower in energy than the model's own sign(logits).
    """
    own = spins_from_logits(out.logits)
    best = greedy_descent(J, h, own, sweeps)
    best_e = energy(J, h, best)
    scale = (J.abs().sum(1) + h.abs()).mean(dim=(-1, -2))  # (B,)
    lo, hi = torch.log(torch.tensor(spread, dtype=torch.float64))
    for _ in range(proposals):
        sigma = scale * torch.exp(lo + (hi - lo) * torch.rand(len(J), generator=generator, dtype=torch.float64)).to(scale)
        shift = torch.randn(len(J), 3, generator=generator, dtype=torch.float64).to(scale) * sigma[:, None]  # (B, 3)
        Jn = J + shift[:, :2, None, None]
        hn = h + shift[:, 2, None, None]
        logits = model(Jn, hn, generator=generator, elements=out.elements).logits
        candidate = greedy_descent(J, h, spins_from_logits(logits), sweeps)
        e = energy(J, h, candidate)
        better = e < best_e
        best = torch.where(better[:, None, None], candidate, best)
        best_e = torch.where(better, e, best_e)
    improved = best_e < energy(J, h, own) - 1e-6 * scale * h[0].numel()
    return best, improved


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
                         sharpness=tuple(args.sharpness), global_context=args.global_context)
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
    improved_rate = None
    with open(log_file, "w") as log, tqdm(range(args.steps), desc=f"ising/{args.variant}") as bar:
        for step in bar:
            idx = torch.randint(len(J), (args.batch,), generator=step_gen)
            Jb, hb = J[idx].to(device), h[idx].to(device)
            out = model(Jb, hb, generator=step_gen, canonical=None if canonical is None else canonical[idx])
            temperature = args.anneal * max(0.0, 1 - step / (args.anneal_until * args.steps))
            loss = mean_field_free_energy(Jb, hb, out.logits, temperature).mean() / args.L**2
            if args.improve_proposals and step >= args.improve_from * args.steps:
                target, improved = improved_states(model, Jb, hb, out, step_gen, args.improve_proposals)
                ce = nn.functional.binary_cross_entropy_with_logits(2 * out.logits, (1 + target) / 2, reduction="none").mean(dim=(-1, -2))
                loss = loss + args.improve_weight * (ce * improved).mean()
                improved_rate = improved.float().mean().item()
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            if step % 50 == 0 or step == args.steps - 1:
                bar.set_postfix(loss_per_site=f"{loss.item():.4f}")
                log.write(json.dumps({"step": step, "loss_per_site": loss.item(), "temperature": temperature, "improved_rate": improved_rate, "seconds": time.perf_counter() - start}) + "\n")
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
                     "anneal": args.anneal, "anneal_until": args.anneal_until,
                     "self_improvement": None if not args.improve_proposals else {
                         "proposals": args.improve_proposals, "from": args.improve_from, "weight": args.improve_weight,
                         "loss": "cross-entropy towards improved_states where they beat sign(logits)"}},
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
    p.add_argument("--global-context", action="store_true", help="add the blocks' global mean activations (P4MCNN)")
    p.add_argument("--num-constant", type=int, default=4096)
    p.add_argument("--num-varying", type=int, default=1024)
    p.add_argument("--multiscale-fraction", type=float, default=0.3, help="share of couplings rescaled by 10^U(-2,0)")
    p.add_argument("--anneal", type=float, default=0.3, help="initial temperature of the mean-field free energy (0: plain energy)")
    p.add_argument("--anneal-until", type=float, default=0.75, help="fraction of the steps after which the temperature is 0")
    p.add_argument("--improve-proposals", type=int, default=0, help="nearby Hamiltonians per example for the self-improvement targets (0: off)")
    p.add_argument("--improve-from", type=float, default=0.75, help="fraction of the steps after which the self-improvement loss is on")
    p.add_argument("--improve-weight", type=float, default=1.0, help="weight of the self-improvement cross-entropy")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--out", default=str(PRETRAINED), help="folder for weights and manifest")
    return p


def main(argv: list[str] | None = None) -> int:
    return run(build_parser, train, argv)


if __name__ == "__main__":
    raise SystemExit(main())
