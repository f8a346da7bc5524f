"""Ising Hamiltonians on the periodic L×L lattice: energies, exact references, phases, the training samplers
and simulated annealing.
Ising ground states on the periodic L×L lattice: Hamiltonians, exact references, data, model and metrics.

Hamiltonian (i is the row, j the column, indices mod L):

    H(s) = -Σ J_x[i,j] s[i,j] s[i,j+1] - Σ J_y[i,j] s[i,j] s[i+1,j] - Σ h[i,j] s[i,j].

Couplings are a bond field J of shape (2, L, L) (J[0] = J_x, J[1] = J_y) and the field a site field h of
shape (L, L). The symmetry group is p4m × Z2: the spin flip changes the sign of h and of the spins.

Exact reference for constant parameters and even L: the ground state is one of the 16 states that are
periodic with period 2 in both directions (checked by brute force on 4×4 in the tests), so the exact ground
energy is the smallest of their energies, and the set of degenerate ground states is the set of such states
that reach it.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
from torch import nn

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
