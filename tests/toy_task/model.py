"""Node logits from an encoding alone: logits = w · e + b (equivariant whenever the encoding is)."""
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from backend.checkpoints import PRETRAINED, load_model
from backend.encodings import NONE, SYMPE, encoding, names
from backend.sympe import GraphEncoder

from .data import N_MAX

ENCODINGS = (NONE, SYMPE)
VARIANTS = names(ENCODINGS)


@dataclass
class ToyConfig:
    variant: str = "sympe"
    encoding_dim: int = 4

    def __post_init__(self):
        self.encoding  # raises ValueError for an unknown variant

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def encoding(self):
        return encoding(self.variant, ENCODINGS)


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
