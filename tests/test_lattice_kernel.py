"""The lattice inversion kernel on constant and painted lattices: stabilizers of several sizes and structures found
by brute force over the group's actions (independently of the canonicalization), every draw in the coset
G_x·γ(x), and chi-square uniformity over the coset with the power to reject a biased sampler."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from backend.canonical import canonicalize_lattice
from backend.groups import LatticeGroup

L = 4


def lattice_input(jx: float, jy: float, h: float, paint=()):
    J = torch.zeros(2, L, L, dtype=torch.float64)
    J[0], J[1] = jx, jy
    field = torch.full((L, L), h, dtype=torch.float64)
    for kind, i, j, value in paint:
        if kind == "h":
            field[i, j] = value
        else:
            J[0 if kind == "jx" else 1, i, j] = value
    return J, field


CASES = {  # name: (input, expected |G_x| from the structure of the input)
    "antiferromagnet, h = 0": (lattice_input(-1, -1, 0), 16 * L * L),  # every translation, point element and the flip
    "ferromagnet in a field": (lattice_input(1, 1, 0.5), 8 * L * L),  # the flip negates h
    "J_x ≠ J_y, h = 0": (lattice_input(1, -0.5, 0), 8 * L * L),  # the 4 axis-keeping point elements, translations, flip
    "one painted site": (lattice_input(-1, -1, 0, [("h", 1, 2, 2.0)]), 8),  # the point group about that site
    "a painted bond": (lattice_input(-1, -1, 0.25, [("jx", 0, 0, 2.0)]), 4),  # the mirrors and rotation fixing the bond
    "site and bond": (lattice_input(-1, -1, 0, [("h", 0, 0, 1.5), ("jx", 0, 0, 2.0)]), 2),  # the mirror through both
    "random": ((torch.randn(2, L, L, generator=torch.Generator().manual_seed(0), dtype=torch.float64),
                torch.randn(L, L, generator=torch.Generator().manual_seed(1), dtype=torch.float64)), 1),
}


def brute_force_stabilizer(group: LatticeGroup, J: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """(|G|,) bool: the elements s with s·x = x, by applying every element's action to the input."""
    g = group.elements()
    n = group.order
    hs = g.act_sites(h.expand(n, 1, L, L), odd=True)[:, 0]
    Js = g.act_bonds(J.expand(n, 2, L, L))
    return (hs == h).flatten(1).all(1) & (Js == J).flatten(1).all(1)


@pytest.mark.parametrize("name", CASES)
def test_stabilizer_coset_and_uniform_draws(name):
    (J, h), expected = CASES[name]
    group = LatticeGroup(L, spin_flip=True)
    stab = brute_force_stabilizer(group, J, h)
    assert int(stab.sum()) == expected
    form = canonicalize_lattice(group, h[None, None], J[None], odd=[True])
    assert torch.equal(form.stabilizer_mask[0], stab)
    coset = torch.nonzero(form.coset_mask[0]).flatten()
    assert len(coset) == expected

    draws = 400 * expected if expected > 1 else 50
    sampled = form.sample(torch.Generator().manual_seed(7), draws)[0]
    elements = group.elements()
    index = ((((1 - sampled.sign) // 2) * 8 + sampled.point) * L + sampled.shift[:, 0]) * L + sampled.shift[:, 1]
    assert torch.equal(elements[index].point, sampled.point) and torch.equal(elements[index].sign, sampled.sign)
    assert form.coset_mask[0, index].all()  # every draw h has h⁻¹·x = c(x)
    gamma = form.gamma[0]
    canonical = gamma.inverse().act_sites(h[None], odd=True), gamma.inverse().act_bonds(J)
    inv = sampled.inverse()
    assert torch.equal(inv.act_sites(h.expand(draws, 1, L, L), odd=True), canonical[0].expand(draws, 1, L, L))
    assert torch.equal(inv.act_bonds(J.expand(draws, 2, L, L)), canonical[1].expand(draws, 2, L, L))
    if expected == 1:
        return
    counts = torch.bincount(index, minlength=group.order)[coset].numpy()
    critical = stats.chi2.ppf(1 - 1e-6, expected - 1)
    assert stats.chisquare(counts).statistic < critical  # a correct sampler fails with probability 1e-6
    biased = np.full(expected, 400.0)
    biased[0] *= 2  # one element drawn twice as often as the others
    assert stats.chisquare(biased * draws / biased.sum()).statistic > critical
