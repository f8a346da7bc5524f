"""The graph autoencoder.

Model (``GraphAE``): an EGNN encoder (``backend.nn.EGNN``, all pairs with the adjacency as an edge attribute)
embeds each node into invariant features z_i and coordinates c_i; the decoder predicts each edge from the
pair, symmetrically in i and j:

    logit_ij = MLP([ (W_a z_i) ⊙ (W_b z_j) + (W_b z_i) ⊙ (W_a z_j),  (z_i - z_j)²,  ‖c_i - c_j‖² ]).

The diagonal and padding are masked. Variants (same backbone and widths; only the node input differs):

- ``none``:  x_i = 1 for every node and c_i = 0 (identical deterministic initial features);
- ``noise``: x_i = [1, ε_i], ε_i ~ N(0, σ² I_d) i.i.d. per node (σ = ``noise_scale``, 1 by default);
  c_i = W_c ε_i (random Gaussian coordinates, as in the EGNN paper);
- ``sympe``: x_i = [1, e_i] with e = h·v, h an inversion-kernel sample (node h[k] gets row k of the learned
  table v); c_i = W_c e_i;
- ``fixed``: as sympe with h = identity (node i gets row i of v): breaks symmetry, not equivariant.

For sympe the model is jointly equivariant: f(g·A, g∘h) = g·f(A, h) for every relabelling g.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Sequence

import torch
from torch import nn

from ...canonical import GraphCanonicalForm
from ...checkpoints import PRETRAINED, load_model
from ...encodings import FIXED, NOISE, NONE, SYMPE, Encoding, names
from ...groups import Permutation
from ...nn.graph import EGNN
from ...sympe import GraphEncoder
from ..task import ModelConfig
from .data import N_MAX

ENCODINGS = (NONE, NOISE, SYMPE, FIXED)
VARIANTS = names(ENCODINGS)


# ----------------------------------------------------------------------------------------------------------------------
# Model


@dataclass
class GraphAEConfig(ModelConfig):
    """Model config, stored in every checkpoint."""

    encodings: ClassVar[tuple[Encoding, ...]] = ENCODINGS
    variant: str = "sympe"
    n_max: int = N_MAX
    hidden: int = 64
    num_layers: int = 4
    embed_dim: int = 32
    coord_dim: int = 3
    encoding_dim: int = 32
    noise_scale: float = 1.0  # σ of the noise variant's ε_i ~ N(0, σ² I_d) (checkpoints without it: 1)


@dataclass
class GraphAEOutput:
    """Shapes: logits (B, n, n), symmetric, zero on the diagonal and padding; valid (B, n, n) bool, the off-diagonal
    pairs of real nodes; elements (B, n) (sympe) or None."""

    logits: torch.Tensor
    valid: torch.Tensor
    elements: Permutation | None = field(default=None)

    @property
    def probs(self) -> torch.Tensor:
        """Edge probabilities (B, n, n); zero on the diagonal and padding."""
        return torch.where(self.valid, torch.sigmoid(self.logits), torch.zeros_like(self.logits))


class GraphAE(nn.Module):
    """EGNN encoder + symmetric pair decoder, with one of the four encodings (see the module docstring)."""

    def __init__(self, config: GraphAEConfig):
        super().__init__()
        self.config = config
        self.encoding = GraphEncoder(config.variant, config.n_max, config.encoding_dim, config.noise_scale)
        d = self.encoding.node_dim
        self.coord_in = nn.Linear(d, config.coord_dim, bias=False) if d else None
        self.encoder = EGNN(1 + d, config.hidden, config.embed_dim, config.num_layers, config.coord_dim)
        self.dec_a = nn.Linear(config.embed_dim, config.hidden, bias=False)
        self.dec_b = nn.Linear(config.embed_dim, config.hidden, bias=False)
        self.decoder = nn.Sequential(
            nn.Linear(config.hidden + config.embed_dim + 1, config.hidden), nn.SiLU(),
            nn.Linear(config.hidden, config.hidden), nn.SiLU(), nn.Linear(config.hidden, 1),
        )

    def encode(self, adj: torch.Tensor, mask: torch.Tensor, *, generator=None, elements: Permutation | None = None):
        """Node embeddings z (B, n, embed_dim), coordinates c (B, n, coord_dim) and the encoding used."""
        if adj.shape[-1] > self.config.n_max:
            raise ValueError(f"graphs with {adj.shape[-1]} nodes exceed this model's limit of {self.config.n_max}")
        enc = self.encoding(adj, mask, generator=generator, elements=elements)
        ones = mask.unsqueeze(-1).to(adj.dtype)
        if enc.nodes is None:
            x, coords = ones, None
        else:
            x, coords = torch.cat([ones, enc.nodes], -1), self.coord_in(enc.nodes)
        z, c = self.encoder(x, adj, mask, coords)
        return z, c, enc

    def decode(self, z: torch.Tensor, c: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Symmetric edge logits (B, n, n), exactly zero on the diagonal and on padding, and the valid-pair mask."""
        a, b = self.dec_a(z), self.dec_b(z)
        prod = a.unsqueeze(2) * b.unsqueeze(1)
        prod = prod + prod.transpose(1, 2)
        sq = (z.unsqueeze(2) - z.unsqueeze(1)) ** 2
        d2 = ((c.unsqueeze(2) - c.unsqueeze(1)) ** 2).sum(-1, keepdim=True)
        logits = self.decoder(torch.cat([prod, sq, d2], -1)).squeeze(-1)
        n = mask.shape[-1]
        valid = mask.unsqueeze(2) & mask.unsqueeze(1) & ~torch.eye(n, dtype=torch.bool, device=mask.device)
        return torch.where(valid, logits, torch.zeros((), dtype=logits.dtype, device=logits.device)), valid

    def forward(self, adj: torch.Tensor, mask: torch.Tensor, *, generator: torch.Generator | None = None,
                elements: Permutation | None = None) -> GraphAEOutput:
        """adj (B, n, n) 0/1, mask (B, n) bool -> edge logits (B, n, n). For sympe, ``elements`` (B, n) are the
        inversion-kernel samples (drawn from ``generator`` with BLISS when omitted; see ``sympe_elements`` for the
        cheap path from precomputed canonical forms)."""
        z, c, enc = self.encode(adj, mask, generator=generator, elements=elements)
        logits, valid = self.decode(z, c, mask)
        return GraphAEOutput(logits, valid, enc.elements)


def load_graph_ae(variant: str, root: Path | None = None) -> GraphAE:
    """The shipped model for ``variant`` (sha256-checked safetensors, pretrained/graph_ae/<variant>.safetensors),
    in eval mode on the CPU. Raises backend.checkpoints.CheckpointError when it is missing or altered."""

    return load_model(f"graph_ae/{variant}", lambda config: GraphAE(GraphAEConfig(**config)), PRETRAINED if root is None else root)


def sympe_elements(forms: Sequence[GraphCanonicalForm], n: int, generator: torch.Generator | None = None) -> Permutation:
    """One fresh inversion-kernel sample per graph from precomputed canonical forms, padded to n nodes with the
    identity on the padding. Shape (B, n); h[b, k] is the node at canonical position k."""
    out = torch.arange(n).repeat(len(forms), 1)
    for b, form in enumerate(forms):
        out[b, : form.n] = form.sample(1, generator)[0]
    return Permutation(out)
