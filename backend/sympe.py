"""Symmetry-breaking encodings: none, noise, SymPE and a fixed (non-equivariant) contrast.

Every encoder is a small module with the same interface and returns the features to concatenate to the
backbone's input together with the group elements it used. Transformation laws (g acts on the input x):

- ``none``:  no features. The model stays a deterministic equivariant function and cannot break symmetry.
- ``noise``: i.i.d. N(0, 1) features per node or site. Equivariant in distribution (the law of the noise is
  invariant), but it spends randomness over the whole group.
- ``sympe``: e = h·v with h drawn from the inversion kernel of x and v a learned table on which G acts freely.
  For the joint input, e(g·x, g·h) = g·e(x, h), so a jointly equivariant backbone gives a model that is
  equivariant in distribution and free to break the symmetry of x.
  Graphs: v has one row per canonical position; node h[k] (the node at canonical position k) receives v[k].
  The "nodes and edges" variant also gives every pair the features (e_i ⊙ e_j, (e_i − e_j)²).
  Lattices: v is a learned L×L field; h translates, rotates and reflects it (even under the spin flip). It starts
  from lattice Fourier modes plus noise (``fourier_field``), like a sinusoidal positional encoding, and is learned.
- ``fixed``: e = v without canonicalization (h = identity): breaks symmetry but is not equivariant.

Randomness is always an argument: pass a torch.Generator, or the elements themselves (``elements=``) to make
the encoder deterministic, which is how joint equivariance is tested.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .canonical import LatticeCanonicalForm, canonicalize_lattice, sample_graph_inversion_kernel
from .encodings import ENCODINGS, FIXED, NOISE, NONE, SYMPE, Encoding, Features, encoding
from .groups import LatticeElement, LatticeGroup, Permutation

__all__ = [
    "GraphEncoding",
    "GraphEncoder",
    "LatticeEncoding",
    "LatticeEncoder",
    "fourier_field",
]

# ----------------------------------------------------------------------------------------------------------------------
# Graphs


@dataclass
class GraphEncoding:
    """Shapes: nodes (B, n, node_dim) or None; edges (B, n, n, edge_dim) or None; elements (B, n) or None."""

    nodes: torch.Tensor | None
    edges: torch.Tensor | None
    elements: Permutation | None


class GraphEncoder(nn.Module):
    """Encodings for padded graph batches.

    Args:
        kind: an Encoding of ``backend.encodings`` (or its name).
        n_max: the largest graph (rows of the learned table v).
        dim: width d of the node encoding.
        noise_scale: the standard deviation σ of the ``noise`` encoding's features, N(0, σ²) (1 by default;
            unused by the other kinds).

    Shapes:
        adj: (B, n, n); mask: (B, n) bool with real nodes first; node_colors: (B, n); edge_types: (B, n, n)
    """

    def __init__(self, kind: Encoding | str, n_max: int, dim: int = 8, noise_scale: float = 1.0):
        super().__init__()
        self.kind, self.n_max, self.dim, self.noise_scale = encoding(kind, ENCODINGS), n_max, dim, noise_scale
        self.node_dim = dim if self.kind.breaks_symmetry else 0
        self.edge_dim = 2 * dim if self.kind.pair_features else 0
        if self.kind.has_table:
            self.table = nn.Parameter(torch.randn(n_max, dim))

    @property
    def needs_canonicalization(self) -> bool:
        return self.kind.canonicalizes

    def forward(
        self,
        adj: torch.Tensor,
        mask: torch.Tensor,
        *,
        generator: torch.Generator | None = None,
        elements: Permutation | None = None,
        node_colors: torch.Tensor | None = None,
        edge_types: torch.Tensor | None = None,
    ) -> GraphEncoding:
        B, n = mask.shape
        if self.kind.features is Features.NOTHING:
            return GraphEncoding(None, None, None)
        m = mask.unsqueeze(-1).to(adj.dtype)
        if self.kind.features is Features.NOISE:
            noise = torch.randn(B, n, self.dim, generator=generator, dtype=adj.dtype).to(adj.device)
            return GraphEncoding(self.noise_scale * noise * m, None, None)
        if n > self.n_max:
            raise ValueError(f"graph with {n} nodes exceeds the encoder's table of {self.n_max} rows")
        v = self.table[:n].to(adj.dtype).expand(B, n, self.dim) * m  # row k for canonical position k
        if not self.kind.canonicalizes:
            return GraphEncoding(v, None, None)
        if elements is None:
            elements = sample_graph_inversion_kernel(adj, mask, generator, node_colors, edge_types)
        e = elements.act_nodes(v)  # e[h[k]] = v[k]
        edges = None
        if self.kind.pair_features:
            pair = torch.cat([e.unsqueeze(2) * e.unsqueeze(1), (e.unsqueeze(2) - e.unsqueeze(1)) ** 2], dim=-1)
            edges = pair * (m.unsqueeze(2) * m.unsqueeze(1))  # (B, n, n, 2d)
        return GraphEncoding(e, edges, elements)


# ----------------------------------------------------------------------------------------------------------------------
# Lattices


@dataclass
class LatticeEncoding:
    """Shapes: fields (B, dim, L, L) or None; elements (B,) or None."""

    fields: torch.Tensor | None
    elements: LatticeElement | None


def fourier_field(dim: int, L: int) -> torch.Tensor:
    """The initial value of the learned lattice field v: lattice Fourier modes, like sinusoidal positional encodings.

    Channels, for site q = (i, j): (-1)^(i+j), (-1)^i, (-1)^j (the zone-boundary modes: the sublattice parities that
    checkerboards and stripes are made of), then cos/sin(2πi/L), cos/sin(2πj/L) (which tell every site apart), then
    zeros. Together with the Gaussian noise added at initialisation no group element fixes v. Shape (dim, L, L).
    """
    i, j = torch.meshgrid(torch.arange(L, dtype=torch.float64), torch.arange(L, dtype=torch.float64), indexing="ij")
    modes = [(-1.0) ** (i + j), (-1.0) ** i, (-1.0) ** j, torch.cos(2 * torch.pi * i / L), torch.sin(2 * torch.pi * i / L),
             torch.cos(2 * torch.pi * j / L), torch.sin(2 * torch.pi * j / L)]
    modes += [torch.zeros(L, L, dtype=torch.float64)] * max(0, dim - len(modes))
    return torch.stack(modes[:dim]).float()


LATTICE_ENCODINGS = (NONE, NOISE, SYMPE, FIXED)  # a lattice has no pair features


class LatticeEncoder(nn.Module):
    """Encodings for batches of lattice inputs on the group ``group``.

    Shapes:
        sites: (B, C, L, L) site fields; bonds: (B, 2, L, L) or None; odd: flags of the site channels that change
        sign under the spin flip.

    ``noise_scale``: the standard deviation σ of the ``noise`` encoding's fields, N(0, σ²) (1 by default).
    """

    def __init__(self, kind: Encoding | str, group: LatticeGroup, dim: int = 4, noise_scale: float = 1.0):
        super().__init__()
        self.kind, self.group, self.dim, self.noise_scale = encoding(kind, LATTICE_ENCODINGS), group, dim, noise_scale
        self.out_dim = dim if self.kind.breaks_symmetry else 0
        if self.kind.has_table:
            self.field = nn.Parameter(fourier_field(dim, group.L) + 0.1 * torch.randn(dim, group.L, group.L))

    def forward(
        self,
        sites: torch.Tensor,
        bonds: torch.Tensor | None = None,
        *,
        odd=None,
        generator: torch.Generator | None = None,
        elements: LatticeElement | None = None,
        canonical: LatticeCanonicalForm | None = None,
    ) -> LatticeEncoding:
        B, _, L, _ = sites.shape
        if self.kind.features is Features.NOTHING:
            return LatticeEncoding(None, None)
        if self.kind.features is Features.NOISE:
            noise = torch.randn(B, self.dim, L, L, generator=generator, dtype=sites.dtype).to(sites.device)
            return LatticeEncoding(self.noise_scale * noise, None)
        if L != self.group.L:
            raise ValueError(f"this encoder's field is {self.group.L}×{self.group.L}, the input is {L}×{L}")
        v = self.field.to(sites.dtype)
        if not self.kind.canonicalizes:
            return LatticeEncoding(v.expand(B, *v.shape), None)
        if elements is None:
            if canonical is None:
                canonical = canonicalize_lattice(self.group, sites.detach().cpu(), None if bonds is None else bonds.detach().cpu(), odd)
            elements = canonical.sample(generator)
        return LatticeEncoding(elements.act_sites(v.expand(B, *v.shape)), elements)
