"""Train one graph-autoencoder variant and ship it: ``python -m backend.tasks.graph_ae.train --variant sympe``.

Every variant gets the same backbone, widths, data, number of steps, optimiser and seed (``backend.tasks.trainer``).
One model per variant is trained on the union of the three training sets: Community-Small (5000), Erdős–Rényi
(5000) and the symmetric set's training families and sizes; each step draws a batch from the mixture (weights
``--mix``: Community-Small, Erdős–Rényi, symmetric). For ``sympe`` the canonical forms of the fixed training set
are computed once (BLISS) and a fresh inversion-kernel sample per graph is drawn at every step from the stored
form. The loss is the binary cross-entropy of every off-diagonal pair of real nodes. Writes
pretrained/graph_ae/<variant>.safetensors, the manifest entry (config, command, seed, data sizes, training time,
small fixed-set metrics) and a JSON-lines log in runs/graph_ae-<variant>.log, with validation figures every
``--eval-every`` steps.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from ...groups import Permutation
from ..trainer import Trainable, training_main
from .data import GraphSet, load_split
from .evaluate import small_eval
from .metrics import aggregate, reconstruct
from .model import VARIANTS, GraphAE, GraphAEConfig, sympe_elements

TRAINING_SETS = ("community-small", "erdos-renyi", "symmetric")


@dataclass
class GraphAETrainingConfig:
    num_train: int = field(default=5000, metadata={"help": "graphs per generated training set"})
    num_val: int = field(default=128, metadata={"help": "graphs per generated validation set used in the log"})
    mix: tuple[float, ...] = field(default=(0.4, 0.4, 0.2), metadata={"help": "batch shares: Community-Small, Erdős–Rényi, symmetric"})


@dataclass(frozen=True)
class GraphAEData:
    sets: list[GraphSet]  # the three training sets, in TRAINING_SETS order
    train: GraphSet  # their union, canonicalized
    weights: torch.Tensor  # (N,) the sampling probability of each training graph
    validation: dict[str, GraphSet]


class GraphAETraining(Trainable):
    name = "graph_ae"
    module = "backend.tasks.graph_ae.train"
    variants = VARIANTS

    def __init__(self, options: GraphAETrainingConfig):
        if len(options.mix) != len(TRAINING_SETS):
            raise ValueError(f"--mix takes {len(TRAINING_SETS)} shares ({', '.join(TRAINING_SETS)})")
        self.options = options

    def training_data(self, model_config: GraphAEConfig, seed: int) -> GraphAEData:
        o = self.options
        sets = [load_split(name, "train", None if name == "symmetric" else o.num_train) for name in TRAINING_SETS]
        train = GraphSet.concat("train", sets).canonicalize()
        validation = {name: load_split(name, "val", None if name == "symmetric" else o.num_val) for name in TRAINING_SETS}
        weights = torch.cat([torch.full((len(s),), w / len(s), dtype=torch.float64) for s, w in zip(sets, o.mix)])
        return GraphAEData(sets, train, weights, validation)

    def build(self, model_config: GraphAEConfig, data: GraphAEData) -> GraphAE:
        return GraphAE(model_config)

    def size(self, data: GraphAEData) -> int:
        return len(data.train)

    def indices(self, data: GraphAEData, batch: int, generator: torch.Generator) -> torch.Tensor:
        return torch.multinomial(data.weights, batch, replacement=True, generator=generator)

    def loss(self, model, data: GraphAEData, indices, generator, device, step, steps):
        adj, mask = data.train.batch(indices)
        elements = None
        if getattr(model, "module", model).config.encoding.canonicalizes:  # also through DistributedDataParallel
            perm = sympe_elements([data.train.forms[i] for i in indices.tolist()], adj.shape[-1], generator).perm
            elements = Permutation(perm.to(device))
        adj, mask = adj.to(device), mask.to(device)
        out = model(adj, mask, generator=generator, elements=elements)
        return F.binary_cross_entropy_with_logits(out.logits[out.valid], adj[out.valid]), {}

    def validate(self, model: GraphAE, data: GraphAEData) -> dict:
        figures = {}
        for name, graphs in data.validation.items():
            m = aggregate(reconstruct(model, graphs, torch.Generator().manual_seed(0)))
            figures[name] = {"bce": round(m["bce"], 4), "edge_error_pct": round(m["edge_error_pct"], 3),
                             "exact_pct": round(m["exact_pct"], 1)}
        return figures

    def record(self, model: GraphAE, data: GraphAEData) -> dict:
        return {
            "data": {"community_small_train": len(data.sets[0]), "erdos_renyi_train": len(data.sets[1]),
                     "symmetric_train": len(data.sets[2]), "mix": list(self.options.mix), "n_max": model.config.n_max,
                     "split_seeds": "backend.tasks.graph_ae.data.SPLIT_SEEDS / SYMMETRIC_SEED"},
            "training": {"schedule": "linear warm-up (2%) then cosine to 0", "optimiser": "AdamW (no weight decay)",
                         "loss": "BCE over off-diagonal pairs of real nodes"},
            "small_eval": small_eval(model),
        }


def main(argv: list[str] | None = None) -> int:
    return training_main(GraphAETraining, GraphAEConfig, argv, GraphAETrainingConfig, model_defaults={"encoding_dim": 64},
                         train_defaults={"steps": 6000, "batch": 32, "lr": 2e-3, "clip": 1.0, "eval_every": 500})


if __name__ == "__main__":
    raise SystemExit(main())
