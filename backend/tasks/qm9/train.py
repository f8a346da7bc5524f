"""Train one QM9 diffusion variant and ship it: ``python -m backend.tasks.qm9.train --variant sympe``.

Every variant gets the same denoiser, widths, data, number of steps, batch, optimiser and seed; only the encoding
differs (``backend.tasks.qm9.model``; the loop is ``backend.tasks.trainer``). Each step draws a batch of
training molecules, one t ~ U{1..T} and one noisy graph per molecule, and (for the sympe variants) one
inversion-kernel sample of every noisy graph; with ``--draws K`` the loss is the mixture likelihood over K samples
(``mixture_training_loss``; an experiment that the shipped weights do not use). The atom-type, bond-type and size
marginals of the training split go into the model config. Writes pretrained/qm9/<variant>.safetensors, the
manifest entry (config, command, seed, split hash, data sizes, training time, the small fixed-set evaluation) and
a JSON-lines log in runs/qm9-<variant>.log, with the validation NLL and validity every ``--eval-every`` steps.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import torch

from ..trainer import Trainable, TrainConfig, training_main, warmup_cosine
from .data import QM9Graphs, load_qm9, type_marginals
from .evaluate import small_eval, validity_rate
from .model import VARIANTS, QM9Config, QM9Denoiser, mixture_training_loss, nll_terms, training_loss

DATA_FIELDS = ("node_marginal", "edge_marginal", "size_distribution", "n_max")  # filled from the data, not options


@dataclass
class QM9TrainingConfig:
    split_seed: int = field(default=0, metadata={"help": "seed of the train/val/test split"})
    num_train: int = field(default=0, metadata={"help": "use only the first N training molecules (0: all)"})
    num_val: int = field(default=512, metadata={"help": "validation molecules (a seeded subset) for the log's NLL and validity"})
    draws: int = field(default=1, metadata={"help": "encoding draws per molecule: 1 = per-atom cross-entropy, K > 1 = the mixture likelihood over K draws"})
    weight_decay: float = field(default=1e-12, metadata={"help": "AdamW weight decay"})


@dataclass(frozen=True)
class Molecules:
    """Dense molecules: atom types X (N, n_max), bond types E (N, n_max, n_max), sizes (N,)."""

    X: torch.Tensor
    E: torch.Tensor
    sizes: torch.Tensor

    def batch(self, idx: torch.Tensor, device: torch.device):
        n = int(self.sizes[idx].max())
        mask = torch.arange(n).unsqueeze(0) < self.sizes[idx].unsqueeze(1)
        return self.X[idx, :n].to(device), self.E[idx, :n, :n].to(device), mask.to(device)


@dataclass(frozen=True)
class QM9TrainingData:
    data: QM9Graphs
    train: Molecules
    val: Molecules


class QM9Training(Trainable):
    name = "qm9"
    module = "backend.tasks.qm9.train"
    variants = VARIANTS

    def __init__(self, options: QM9TrainingConfig):
        self.options = options

    def training_data(self, model_config: QM9Config, seed: int) -> QM9TrainingData:
        o = self.options
        data = load_qm9(seed=o.split_seed)
        X, E, N = data.tensors("train")
        if o.num_train:
            X, E, N = X[: o.num_train], E[: o.num_train], N[: o.num_train]
        rows = torch.randperm(len(data.split["val"]), generator=torch.Generator().manual_seed(0))[: o.num_val]
        return QM9TrainingData(data, Molecules(X, E, N), Molecules(*(t[rows] for t in data.tensors("val"))))

    def build(self, model_config: QM9Config, data: QM9TrainingData) -> QM9Denoiser:
        node, edge, sizes = type_marginals(data.data, "train")
        config = dataclasses.replace(model_config, node_marginal=node.tolist(), edge_marginal=edge.tolist(),
                                     size_distribution=sizes.tolist())
        return QM9Denoiser(config)

    def size(self, data: QM9TrainingData) -> int:
        return len(data.train.sizes)

    def optimiser(self, model: QM9Denoiser, cfg: TrainConfig):
        optimiser = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=self.options.weight_decay)
        return optimiser, warmup_cosine(optimiser, cfg.steps, floor=0.05)

    def loss(self, model, data: QM9TrainingData, indices, generator, device, step, steps):
        x0, e0, mask = data.train.batch(indices, device)
        if self.options.draws > 1:
            return mixture_training_loss(model, x0, e0, mask, generator, draws=self.options.draws)
        return training_loss(model, x0, e0, mask, generator)

    def validate(self, model: QM9Denoiser, data: QM9TrainingData) -> dict:
        generator = torch.Generator().manual_seed(0)
        x0, e0, mask = data.val.batch(torch.arange(len(data.val.sizes)), next(model.parameters()).device)
        return {"nll": round(float(nll_terms(model, x0, e0, mask, generator)["nll"].mean()), 3),
                "validity": round(validity_rate(model, 128, generator), 3)}

    def record(self, model: QM9Denoiser, data: QM9TrainingData) -> dict:
        o = self.options
        return {
            "data": {"source": "qm9pack wheel (QM9 SMILES), RDKit, kekulized, heavy atoms", "train": len(data.train.sizes),
                     "molecules": len(data.data), "skipped": data.data.skipped, "split_seed": o.split_seed,
                     "split_hash": data.data.split_hash, "split_sizes": {k: len(v) for k, v in data.data.split.items()}},
            "training": {"weight_decay": o.weight_decay, "schedule": "linear warm-up (2%) then cosine to 5% of lr",
                         "optimiser": "AdamW", "draws": o.draws,
                         "loss": "CE nodes + 5 * CE pairs (t ~ U{1..T})" if o.draws == 1 else
                                 f"mixture over {o.draws} encoding draws: -log mean_k exp(sum log p_h_k(x_i) + 5 * sum log p_h_k(e_ij)) per atom (t ~ U{{1..T}})"},
            "small_eval": small_eval(model),
        }


def main(argv: list[str] | None = None) -> int:
    return training_main(QM9Training, QM9Config, argv, QM9TrainingConfig, model_exclude=DATA_FIELDS,
                         train_defaults={"steps": 16000, "batch": 128, "lr": 1e-3, "clip": 1.0, "eval_every": 1000})


if __name__ == "__main__":
    raise SystemExit(main())
