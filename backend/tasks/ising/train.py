"""Train one Ising variant and ship it: ``python -m backend.tasks.ising.train --variant sympe``.

Every variant gets the same backbone, data, number of steps, optimiser and seed (``backend.tasks.trainer``). The
training set is a fixed set of constant Hamiltonians (every phase, random 90° rotations, a quarter at zero field)
plus spatially varying ones; for ``sympe`` their canonical forms are computed once and a fresh inversion-kernel
sample is drawn at every step. The loss is the mean-field free energy per site, its temperature annealed linearly
to 0 over the first 75% of the steps, then the mean-field energy (backend.tasks.ising). The optimiser is Adam with
a 10× learning rate on the learned field v and a one-cycle schedule. Writes pretrained/ising/<variant>.safetensors,
the manifest entry (config, command, seed, data sizes, training time, small fixed-set metrics) and a log in
runs/ising-<variant>.log.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from tqdm import tqdm

from ...canonical import LatticeCanonicalForm
from ..trainer import Trainable, TrainConfig, training_main
from .data import mean_field_free_energy, sample_constant_hamiltonians, sample_varying_hamiltonians
from .evaluate import small_eval
from .model import VARIANTS, IsingConfig, IsingModel


@dataclass
class IsingTrainingConfig:
    num_constant: int = field(default=4096, metadata={"help": "constant Hamiltonians in the training set"})
    num_varying: int = field(default=1024, metadata={"help": "spatially varying Hamiltonians in the training set"})
    multiscale_fraction: float = field(default=0.3, metadata={"help": "share of couplings rescaled by 10^U(-2,0)"})
    anneal: float = field(default=0.3, metadata={"help": "initial temperature of the mean-field free energy (0: plain energy)"})
    anneal_until: float = field(default=0.75, metadata={"help": "fraction of the steps after which the temperature is 0"})
    encoding_lr_mult: float = field(default=10.0, metadata={"help": "learning-rate factor of the learned field v"})


@dataclass(frozen=True)
class IsingData:
    J: torch.Tensor  # (N, 2, L, L)
    h: torch.Tensor  # (N, L, L)
    canonical: LatticeCanonicalForm | None = None  # sympe: the canonical forms of all N inputs


class IsingTraining(Trainable):
    name = "ising"
    module = "backend.tasks.ising.train"
    variants = VARIANTS

    def __init__(self, options: IsingTrainingConfig):
        self.options = options

    def training_data(self, model_config: IsingConfig, seed: int) -> IsingData:
        o, gen = self.options, torch.Generator().manual_seed(seed)
        Jc, hc = sample_constant_hamiltonians(o.num_constant, model_config.L, gen, multiscale_fraction=o.multiscale_fraction)
        Jv, hv, _ = sample_varying_hamiltonians(o.num_varying, model_config.L, gen)
        return IsingData(torch.cat([Jc, Jv]).float(), torch.cat([hc, hv]).float())

    def build(self, model_config: IsingConfig, data: IsingData) -> IsingModel:
        return IsingModel(model_config)

    def prepare(self, model: IsingModel, data: IsingData, batch: int = 256) -> IsingData:
        if not model.config.encoding.canonicalizes:
            return data
        parts = [model.canonicalize(data.J[i : i + batch], data.h[i : i + batch])
                 for i in tqdm(range(0, len(data.J), batch), desc="canonicalize", leave=False)]
        return IsingData(data.J, data.h, LatticeCanonicalForm.concat(parts))

    def size(self, data: IsingData) -> int:
        return len(data.J)

    def optimiser(self, model: IsingModel, cfg: TrainConfig):
        encoding = [p for n, p in model.named_parameters() if n.startswith("encoder.")]
        others = [p for n, p in model.named_parameters() if not n.startswith("encoder.")]
        groups = [{"params": others, "lr": cfg.lr}]
        if encoding:
            groups.append({"params": encoding, "lr": cfg.lr * self.options.encoding_lr_mult})
        optimiser = torch.optim.Adam(groups)
        return optimiser, torch.optim.lr_scheduler.OneCycleLR(
            optimiser, max_lr=[g["lr"] for g in groups], total_steps=cfg.steps, pct_start=0.05)

    def loss(self, model, data: IsingData, indices, generator, device, step, steps):
        J, h = data.J[indices].to(device), data.h[indices].to(device)
        out = model(J, h, generator=generator, canonical=None if data.canonical is None else data.canonical[indices])
        temperature = self.options.anneal * max(0.0, 1 - step / (self.options.anneal_until * steps))
        L = J.shape[-1]
        return mean_field_free_energy(J, h, out.logits, temperature).mean() / L**2, {"temperature": temperature}

    def record(self, model: IsingModel, data: IsingData) -> dict:
        o = self.options
        return {
            "data": {"constant_hamiltonians": o.num_constant, "multiscale_fraction": o.multiscale_fraction,
                     "varying_hamiltonians": o.num_varying, "L": model.config.L},
            "training": {"encoding_lr_mult": o.encoding_lr_mult, "anneal": o.anneal, "anneal_until": o.anneal_until,
                         "optimiser": "Adam", "schedule": "one-cycle (5% warm-up)",
                         "loss": "mean-field energy per site" if not o.anneal else
                         f"mean-field free energy per site, T from {o.anneal} linearly to 0 at {o.anneal_until:.0%} of the steps, then the energy"},
            "small_eval": small_eval(model),
        }


def main(argv: list[str] | None = None) -> int:
    return training_main(IsingTraining, IsingConfig, argv, IsingTrainingConfig,
                         model_defaults={"sharpness": (3.0, 30.0, 300.0)},
                         train_defaults={"steps": 12000, "batch": 64, "lr": 1e-3, "threads": 0})


if __name__ == "__main__":
    raise SystemExit(main())
