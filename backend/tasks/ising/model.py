"""The Ising model: a p4m group CNN from (couplings, field) to spin logits, with one of the encodings.

Training is unsupervised: the network outputs logits a and the loss is the energy of the magnetisation
m = tanh(a), which is the exact expected energy of independent spins with E[s] = m (mean-field relaxation).
At evaluation the spins are s = sign(a) (a ≥ 0 gives +1).
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import torch
from torch import nn

from ...canonical import LatticeCanonicalForm, canonicalize_lattice
from ...checkpoints import PRETRAINED, load_model
from ...encodings import FIXED, NOISE, NONE, SYMPE, Encoding, names
from ...groups import LatticeElement, LatticeGroup
from ...nn.lattice import P4MCNN, FrozenP4MCNN, P4MCNNConfig
from ...sympe import LatticeEncoder
from ..task import ModelConfig
from .data import energy

ENCODINGS = (NONE, NOISE, SYMPE, FIXED)
VARIANTS = names(ENCODINGS)



@dataclass
class IsingConfig(ModelConfig):
    """Model config, stored in every checkpoint."""

    encodings: ClassVar[tuple[Encoding, ...]] = ENCODINGS
    L: int = 8
    variant: str = "sympe"
    hidden: int = 8
    num_layers: int = 4
    kernel_size: int = 3
    encoding_dim: int = 8
    sharpness: tuple[float, ...] = ()  # κ of the extra input channels tanh(κ·J) and tanh(κ·h)
    noise_scale: float = 1.0  # σ of the noise variant's N(0, σ²) fields (checkpoints without it: 1)


@dataclass
class IsingOutput:
    """Shapes: logits (B, L, L); elements (B,) or None (the sampled group elements for sympe)."""

    logits: torch.Tensor
    elements: LatticeElement | None = field(default=None)


class IsingModel(nn.Module):
    """A p4m group CNN from (couplings, field) to spin logits, with one of the four encodings.

    For ``sympe`` the group is p4m × Z2 and the model is f(x, h) = z · core(z ⋆ x, g·v) for h = (g, z):
    z ⋆ x flips the field, g·v is the SymPE field. core is p4m-equivariant, so f is jointly equivariant
    under p4m × Z2: f(k·x, k∘h) = k·f(x, h), with spins odd under the flip. The other variants use core
    alone (equivariant under p4m only; ``fixed`` is not equivariant at all).
    """

    def __init__(self, config: IsingConfig):
        super().__init__()
        self.config = config
        self.group = LatticeGroup(config.L, spin_flip=True)
        self.encoder = LatticeEncoder(config.variant, self.group, config.encoding_dim, config.noise_scale)
        self.core = P4MCNN(P4MCNNConfig(
            site_in=1 + len(config.sharpness) + self.encoder.out_dim, bond_in=True,
            bond_channels=1 + len(config.sharpness), hidden=config.hidden,
            num_layers=config.num_layers, kernel_size=config.kernel_size, out=1,
        ))

    def canonicalize(self, J: torch.Tensor, h: torch.Tensor) -> LatticeCanonicalForm:
        return canonicalize_lattice(self.group, h.detach().cpu().unsqueeze(1), J.detach().cpu(), odd=[True])

    def forward(
        self,
        J: torch.Tensor,
        h: torch.Tensor,
        *,
        generator: torch.Generator | None = None,
        elements: LatticeElement | None = None,
        canonical: LatticeCanonicalForm | None = None,
    ) -> IsingOutput:
        """J (B, 2, L, L), h (B, L, L) -> logits (B, L, L)."""
        enc = self.encoder(h.unsqueeze(1), J, odd=[True], generator=generator, elements=elements, canonical=canonical)
        bonds = self.input_features(J)  # (B, 1 + len(sharpness), 2, L, L)
        if enc.elements is None:
            sites = self.input_features(h)  # (B, 1 + len(sharpness), L, L)
            inputs = sites if enc.fields is None else torch.cat([sites, enc.fields], 1)
            return IsingOutput(self.core(inputs, bonds)[:, 0])
        z = enc.elements.sign.to(device=h.device, dtype=h.dtype)[:, None, None, None]  # (B, 1, 1, 1)
        logits = z * self.core(torch.cat([self.input_features(z[:, 0] * h), enc.fields], 1), bonds)
        return IsingOutput(logits[:, 0], enc.elements)

    def input_features(self, x: torch.Tensor) -> torch.Tensor:
        """x and tanh(κ·x) for every κ in ``config.sharpness``, stacked on a new axis 1. Pointwise and odd, so
        they commute with every lattice symmetry and with the spin flip; they let a small network resolve the
        sign of a weak coupling, which decides the phase near the boundaries J_x = 0 and J_y = 0."""
        return torch.stack([x] + [torch.tanh(k * x) for k in self.config.sharpness], 1)

    def at_size(self, L: int) -> "IsingModel":
        """A copy for another lattice size (the weights are shared in value, never mutated here). The learned
        field v of sympe/fixed is extended periodically (tiled or cropped): exact in spirit only when L is a
        multiple of the training size."""
        config = IsingConfig(**{**self.config.to_dict(), "L": L})
        other = IsingModel(config).to(next(self.parameters()).device, next(self.parameters()).dtype)
        state = {k: v.clone() for k, v in self.state_dict().items()}
        if "encoder.field" in state:
            v = state["encoder.field"]
            reps = math.ceil(L / v.shape[-1])
            state["encoder.field"] = v.repeat(1, reps, reps)[:, :L, :L].contiguous()
        other.load_state_dict(state)
        return other


def with_frozen_core(model: IsingModel, threads: int = 1) -> IsingModel:
    """A copy of ``model`` for inference whose core is a ``backend.nn.lattice.FrozenP4MCNN`` (its batches split over
    ``threads`` Python threads): the same logits, from the same encoding draws for the same generator
    (tests/test_lattice_frozen_core.py), in about three quarters of the time on one thread (16 samples at 64×64).
    The copy shares every parameter and buffer with ``model``, which is not changed. No gradients flow through it."""
    fast = copy.copy(model)
    fast._modules = {**model._modules, "core": FrozenP4MCNN(model.core, threads)}
    return fast


def load_ising(variant: str, root: Path | None = None) -> IsingModel:
    """The shipped model for ``variant`` (sha256-checked safetensors; under ``root`` instead of pretrained/ if
    given), in eval mode on the CPU."""
    return load_model(f"ising/{variant}", lambda config: IsingModel(IsingConfig(**config)), PRETRAINED if root is None else root)


@torch.no_grad()
def nearby_search(
    model: IsingModel, J: torch.Tensor, h: torch.Tensor, out: IsingOutput, generator: torch.Generator | None,
    proposals: int, spread: tuple[float, float] = (0.01, 0.3),
) -> torch.Tensor:
    """Energy-guided search over the model's own answers: the lowest-energy state among sign(out.logits) and the
    model's states for ``proposals`` nearby Hamiltonians, all judged by the true Hamiltonian (J, h).

    A nearby Hamiltonian adds a scalar a·σ to every J_x, b·σ to every J_y and c·σ to every h, with a, b, c ~ N(0, 1)
    and σ log-uniform in ``spread`` times the Hamiltonian's scale mean(|J_x| + |J_y| + |h|). It reuses the encoding
    draw of ``out`` (the same group elements for sympe). Near a phase boundary the model's answer for a neighbour
    on the other side is the competing state, and the true energy decides between them. Ties keep the model's own
    state, and the law of (a, b, c) is invariant under p4m × Z2 (90° rotations swap a and b, the flip negates c),
    so the search keeps an equivariant model's output law equivariant. It uses the Hamiltonian, never a label.
    J (B, 2, L, L), h (B, L, L), judged on their own device and dtype while the model runs on its own. Returns spins
    (B, L, L) like J.
    """
    weights = next(model.parameters())
    best = spins_from_logits(out.logits).to(J)
    best_e = energy(J, h, best)
    scale = (J.abs().sum(1) + h.abs()).mean(dim=(-1, -2))  # (B,)
    lo, hi = (math.log(x) for x in spread)
    for _ in range(proposals):
        sigma = torch.exp(lo + (hi - lo) * torch.rand(len(J), generator=generator, dtype=torch.float64)).to(scale) * scale
        shift = torch.randn(len(J), 3, generator=generator, dtype=torch.float64).to(scale) * sigma[:, None]  # (B, 3)
        Jn, hn = (J + shift[:, :2, None, None]).to(weights), (h + shift[:, 2, None, None]).to(weights)
        logits = model(Jn, hn, generator=generator, elements=out.elements).logits
        candidate = spins_from_logits(logits).to(J)
        e = energy(J, h, candidate)
        better = e < best_e
        best = torch.where(better[:, None, None], candidate, best)
        best_e = torch.where(better, e, best_e)
    return best


def spins_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """s = sign(a) with a ≥ 0 giving +1."""
    return torch.where(logits >= 0, 1.0, -1.0).to(logits.dtype)
