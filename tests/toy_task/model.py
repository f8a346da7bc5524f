"""Node logits from an encoding alone: logits = w · e + b (equivariant whenever the encoding is)."""
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch
from torch import nn

from backend.checkpoints import PRETRAINED, load_model
from backend.encodings import NONE, SYMPE, Encoding, names
from backend.sympe import GraphEncoder
from backend.tasks.task import ModelConfig

from .data import N_MAX

ENCODINGS = (NONE, SYMPE)
VARIANTS = names(ENCODINGS)


@dataclass
class ToyConfig(ModelConfig):
    encodings: ClassVar[tuple[Encoding, ...]] = ENCODINGS
    variant: str = "sympe"
    encoding_dim: int = 4


class ToyModel(nn.Module):
    def __init__(self, config: ToyConfig):
        super().__init__()
        self.config = config
        self.encoder = GraphEncoder(config.encoding, N_MAX, config.encoding_dim)
        self.readout = nn.Linear(max(self.encoder.node_dim, 1), 1)

    def forward(self, adj, mask, generator=None):
        e = self.encoder(adj, mask, generator=generator).nodes
        e = torch.ones(*mask.shape, 1) if e is None else e
        return self.readout(e).squeeze(-1).masked_fill(~mask, -torch.inf)  # (B, n)


def load_toy(variant: str, root: Path | None = None) -> ToyModel:
    return load_model(f"toy/{variant}", lambda config: ToyModel(ToyConfig(**config)), PRETRAINED if root is None else root)
