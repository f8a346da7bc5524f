"""Ising ground states on the periodic L×L lattice: Hamiltonians, exact references, data, model and metrics.

Hamiltonian (i is the row, j the column, indices mod L):

    H(s) = -Σ J_x[i,j] s[i,j] s[i,j+1] - Σ J_y[i,j] s[i,j] s[i+1,j] - Σ h[i,j] s[i,j].

Couplings are a bond field J of shape (2, L, L) (J[0] = J_x, J[1] = J_y) and the field a site field h of
shape (L, L). The symmetry group is p4m × Z2: the spin flip changes the sign of h and of the spins.

Exact reference for constant parameters and even L: the ground state is one of the 16 states that are
periodic with period 2 in both directions (checked by brute force on 4×4 in the tests), so the exact ground
energy is the smallest of their energies, and the set of degenerate ground states is the set of such states
that reach it.

Training is unsupervised: the network outputs logits a and the loss is the energy of the magnetisation
m = tanh(a), which is the exact expected energy of independent spins with E[s] = m (mean-field relaxation).
At evaluation the spins are s = sign(a) (a ≥ 0 gives +1).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from ..canonical import LatticeCanonicalForm, canonicalize_lattice
from ..groups import LatticeElement, LatticeGroup
from ..nn.lattice import P4MCNN, P4MCNNConfig
from ..sympe import LatticeEncoder

__all__ = [
    "VARIANTS",
    "PHASES",
    "energy",
    "local_field",
    "mean_field_energy",
    "mean_field_free_energy",
    "constant_couplings",
    "periodic2_states",
    "exact_ground",
    "phase_of",
    "sample_constant_hamiltonians",
    "sample_varying_hamiltonians",
    "simulated_annealing",
    "greedy_descent",
    "IsingConfig",
    "IsingModel",
    "IsingOutput",
    "spins_from_logits",
    "nearby_search",
]

VARIANTS = ("none", "noise", "sympe", "fixed")
PHASES = ("ferromagnet", "antiferromagnet", "stripes-horizontal", "stripes-vertical", "field-polarized")


# ----------------------------------------------------------------------------------------------------------------------
# Energies


def energy(J: torch.Tensor, h: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """H(s) for J (..., 2, L, L), h (..., L, L), s (..., L, L) (broadcast). Returns (...)."""
    horizontal = J[..., 0, :, :] * s * s.roll(-1, dims=-1)
    vertical = J[..., 1, :, :] * s * s.roll(-1, dims=-2)
    return -(horizontal + vertical + h * s).sum(dim=(-1, -2))


def local_field(J: torch.Tensor, h: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """The field on each site, -∂H/∂s[i,j] = Σ_neighbours J_bond s_neighbour + h[i,j], for J (..., 2, L, L),
    h (..., L, L), s (..., L, L) (spins or magnetisations). Flipping spin (i,j) changes H by 2·s[i,j]·field[i,j].
    Equivariant: it transforms like the spins under every lattice symmetry and is odd under (h, s) -> (-h, -s)."""
    Jx, Jy = J[..., 0, :, :], J[..., 1, :, :]
    return Jx * s.roll(-1, -1) + Jx.roll(1, -1) * s.roll(1, -1) + Jy * s.roll(-1, -2) + Jy.roll(1, -2) * s.roll(1, -2) + h


def mean_field_energy(J: torch.Tensor, h: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """Expected energy of independent spins with E[s] = tanh(logits). Returns (...)."""
    return energy(J, h, torch.tanh(logits))


def mean_field_free_energy(J: torch.Tensor, h: torch.Tensor, logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Mean-field free energy E(m) − T·Σ_i S(m_i) of independent spins with E[s] = m = tanh(logits), with S the
    entropy of one spin (P(s = +1) = σ(2·logits)). At T = 0 it is ``mean_field_energy``; a positive T keeps the
    spins away from saturation, where tanh has no gradient (deterministic annealing). Returns (...)."""
    e = mean_field_energy(J, h, logits)
    if temperature == 0:
        return e
    p_up = torch.sigmoid(2 * logits)
    entropy = nn.functional.binary_cross_entropy_with_logits(2 * logits, p_up, reduction="none").sum(dim=(-1, -2))
    return e - temperature * entropy


def constant_couplings(jx, jy, h, L: int, dtype=torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """Constant fields from parameters of shape (B,) (or scalars): J (B, 2, L, L), h (B, L, L)."""
    jx, jy, h = (torch.as_tensor(v, dtype=dtype).reshape(-1) for v in (jx, jy, h))
    J = torch.stack([jx, jy], -1)[:, :, None, None].expand(-1, 2, L, L).contiguous()
    return J, h[:, None, None].expand(-1, L, L).contiguous()


def periodic2_states(L: int, dtype=torch.float64) -> torch.Tensor:
    """The 16 spin states with period 2 in both directions, tiled to L×L (L even). Shape (16, L, L)."""
    if L % 2:
        raise ValueError("2-periodic states need an even L")
    cells = torch.tensor(list(itertools.product([1.0, -1.0], repeat=4)), dtype=dtype).reshape(16, 2, 2)
    return cells.repeat(1, L // 2, L // 2)


@dataclass(frozen=True)
class ExactGround:
    """Exact ground data of constant Hamiltonians. Shapes: energy (B,), states (B, 16, L, L) the
    2-periodic states, is_ground (B, 16) which of them reach the minimum (distinct states, no duplicates)."""

    energy: torch.Tensor
    states: torch.Tensor
    is_ground: torch.Tensor


def exact_ground(J: torch.Tensor, h: torch.Tensor, atol: float = 1e-9) -> ExactGround:
    """Exact ground energies of constant Hamiltonians (J (B, 2, L, L), h (B, L, L), even L)."""
    L = h.shape[-1]
    states = periodic2_states(L, J.dtype).to(J.device)  # (16, L, L)
    e = energy(J[:, None], h[:, None], states[None])  # (B, 16)
    best = e.min(-1).values
    return ExactGround(best, states.expand(J.shape[0], 16, L, L), (e - best[:, None]).abs() <= atol * (1 + best.abs()[:, None]))


def phase_of(jx: float, jy: float, h: float) -> str:
    """The phase of a constant Hamiltonian, named by its 2-periodic ground state.

    ferromagnet: uniform ground state that is uniform without the field too; field-polarized: uniform only
    because of the field; antiferromagnet: checkerboard; stripes-horizontal: rows alternate (ferromagnetic
    along rows, J_x > 0 > J_y); stripes-vertical: columns alternate. Ties go to the first in this order.
    """
    per_site = {
        "uniform": -(jx + jy) - abs(h),
        "antiferromagnet": jx + jy,
        "stripes-horizontal": -jx + jy,
        "stripes-vertical": jx - jy,
        "three-one": -abs(h) / 2,
    }
    best = min(per_site, key=per_site.get)
    if best == "uniform":
        return "ferromagnet" if -(jx + jy) <= min(jx + jy, -jx + jy, jx - jy) else "field-polarized"
    if best == "three-one":
        return "field-polarized"
    return best


# ----------------------------------------------------------------------------------------------------------------------
# Data


def sample_constant_hamiltonians(
    num: int, L: int, generator: torch.Generator, zero_field_fraction: float = 0.25, field_scale: float = 3.0,
    multiscale_fraction: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Constant Hamiltonians covering every phase: J_x, J_y ~ U[-1, 1]; h = 0 with probability
    ``zero_field_fraction`` (the degenerate cases), else U[-field_scale, field_scale]; then a random 90°
    rotation (which swaps J_x and J_y) with probability 1/2. With probability ``multiscale_fraction`` each coupling
    is multiplied by 10^U(-2, 0), which puts more Hamiltonians close to the phase boundaries J_x = 0 and J_y = 0
    (used for training only; evaluation uses the plain law). Returns J (num, 2, L, L), h (num, L, L)."""
    u = torch.rand(num, 3, generator=generator, dtype=torch.float64) * 2 - 1
    if multiscale_fraction > 0:
        scale = 10 ** (-2 * torch.rand(num, 2, generator=generator, dtype=torch.float64))
        pick = torch.rand(num, 2, generator=generator) < multiscale_fraction
        u[:, :2] = torch.where(pick, u[:, :2] * scale, u[:, :2])
    jx, jy = u[:, 0], u[:, 1]
    zero = torch.rand(num, generator=generator) < zero_field_fraction
    hval = torch.where(zero, torch.zeros_like(u[:, 2]), u[:, 2] * field_scale)
    rotate = torch.rand(num, generator=generator) < 0.5
    jx, jy = torch.where(rotate, jy, jx), torch.where(rotate, jx, jy)
    return constant_couplings(jx, jy, hval, L)


VARYING_KINDS = ("defect-bond", "defect-site", "painted-region", "random-bonds")


def sample_varying_hamiltonians(num: int, L: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Spatially varying inputs with partial symmetry, cycling through VARYING_KINDS:

    defect-bond: a constant Hamiltonian with one bond set to another value (stabilizer: the reflections of the bond);
    defect-site: one site's field changed (stabilizer: the point group around the site);
    painted-region: a random rectangle with its own field and couplings (small or trivial stabilizer);
    random-bonds: ±J couplings on every bond and a small constant field (usually trivial stabilizer).
    """
    J, h = sample_constant_hamiltonians(num, L, generator)
    kinds = []
    for b in range(num):
        kind = VARYING_KINDS[b % len(VARYING_KINDS)]
        kinds.append(kind)
        r = lambda *shape: torch.rand(*shape, generator=generator, dtype=torch.float64)  # noqa: E731
        i, j = (int(x) for x in torch.randint(L, (2,), generator=generator))
        if kind == "defect-bond":
            J[b, int(torch.randint(2, (1,), generator=generator)), i, j] = float(r(1) * 4 - 2)
        elif kind == "defect-site":
            h[b, i, j] = float(r(1) * 6 - 3)
        elif kind == "painted-region":
            hh, ww = (int(x) for x in torch.randint(1, L // 2 + 1, (2,), generator=generator))
            rows, cols = [(i + a) % L for a in range(hh)], [(j + a) % L for a in range(ww)]
            region = torch.zeros(L, L, dtype=torch.bool)
            region[torch.tensor(rows)[:, None], torch.tensor(cols)[None, :]] = True
            h[b][region] = float(r(1) * 6 - 3)
            J[b, :, region] = (r(2, 1) * 2 - 1).expand(2, int(region.sum()))
        else:
            J[b] = torch.where(r(2, L, L) < 0.5, -1.0, 1.0)
            h[b] = float(r(1) * 0.5 - 0.25)
    return J, h, kinds


def greedy_descent(J: torch.Tensor, h: torch.Tensor, s: torch.Tensor, sweeps: int) -> torch.Tensor:
    """``sweeps`` zero-temperature checkerboard sweeps: every spin of one sublattice whose flip lowers the energy
    flips at once, then the other sublattice. The energy never rises. Needs even L. J (B, 2, L, L), h (B, L, L),
    s (B, L, L) spins; returns the new spins."""
    L = h.shape[-1]
    if L % 2:
        raise ValueError("checkerboard updates need an even L")
    ii, jj = torch.meshgrid(torch.arange(L, device=s.device), torch.arange(L, device=s.device), indexing="ij")
    for _ in range(sweeps):
        for parity in range(2):
            colour = (ii + jj) % 2 == parity
            delta = 2 * s * local_field(J, h, s)  # energy change of flipping each spin
            s = torch.where((delta < 0) & colour, -s, s)
    return s


def simulated_annealing(
    J: torch.Tensor, h: torch.Tensor, generator: torch.Generator, runs: int = 32, sweeps: int = 1500,
    t_start: float = 3.0, t_end: float = 0.02,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Best of ``runs`` independent annealing runs (checkerboard Metropolis updates, geometric schedule, a
    final zero-temperature sweep) for each Hamiltonian. Needs even L. Returns (energies (B,), states (B, L, L))."""
    B, L = h.shape[0], h.shape[-1]
    if L % 2:
        raise ValueError("checkerboard updates need an even L")
    Jr, hr = J.repeat_interleave(runs, 0), h.repeat_interleave(runs, 0)
    s = torch.where(torch.rand(B * runs, L, L, generator=generator) < 0.5, -1.0, 1.0).to(J.dtype)
    ii, jj = torch.meshgrid(torch.arange(L), torch.arange(L), indexing="ij")
    colours = [((ii + jj) % 2 == c) for c in range(2)]
    temps = [t_start * (t_end / t_start) ** (k / max(sweeps - 1, 1)) for k in range(sweeps)]
    for t in temps:
        for colour in colours:
            delta = 2 * s * local_field(Jr, hr, s)  # energy change of flipping each spin
            accept = torch.rand(s.shape, generator=generator, dtype=J.dtype) < torch.exp(-delta.clamp_min(0) / t)
            s = torch.where(accept & colour, -s, s)
    s = greedy_descent(Jr, hr, s, sweeps=1)
    e = energy(Jr, hr, s).reshape(B, runs)
    best = e.argmin(-1)
    return e[torch.arange(B), best], s.reshape(B, runs, L, L)[torch.arange(B), best]


# ----------------------------------------------------------------------------------------------------------------------
# Model


@dataclass
class IsingConfig:
    """Model config, stored in every checkpoint."""

    L: int = 8
    variant: str = "sympe"
    hidden: int = 8
    num_layers: int = 4
    kernel_size: int = 3
    encoding_dim: int = 8
    sharpness: tuple[float, ...] = ()  # κ of the extra input channels tanh(κ·J) and tanh(κ·h)

    def to_dict(self) -> dict:
        return asdict(self)


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
        if config.variant not in VARIANTS:
            raise ValueError(f"unknown variant {config.variant!r}; choose from {', '.join(VARIANTS)}")
        self.config = config
        self.group = LatticeGroup(config.L, spin_flip=True)
        self.encoder = LatticeEncoder(config.variant, self.group, config.encoding_dim)
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
    J (B, 2, L, L), h (B, L, L). Returns spins (B, L, L) in J's dtype.
    """
    dtype = next(model.parameters()).dtype
    best = spins_from_logits(out.logits).to(J.dtype)
    best_e = energy(J, h, best)
    scale = (J.abs().sum(1) + h.abs()).mean(dim=(-1, -2))  # (B,)
    lo, hi = (math.log(x) for x in spread)
    for _ in range(proposals):
        sigma = torch.exp(lo + (hi - lo) * torch.rand(len(J), generator=generator, dtype=torch.float64)).to(scale) * scale
        shift = torch.randn(len(J), 3, generator=generator, dtype=torch.float64).to(scale) * sigma[:, None]  # (B, 3)
        Jn, hn = (J + shift[:, :2, None, None]).to(dtype), (h + shift[:, 2, None, None]).to(dtype)
        logits = model(Jn, hn, generator=generator, elements=out.elements).logits
        candidate = spins_from_logits(logits).to(J.dtype)
        e = energy(J, h, candidate)
        better = e < best_e
        best = torch.where(better[:, None, None], candidate, best)
        best_e = torch.where(better, e, best_e)
    return best


def spins_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """s = sign(a) with a ≥ 0 giving +1."""
    return torch.where(logits >= 0, 1.0, -1.0).to(logits.dtype)
