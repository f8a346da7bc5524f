"""The Ising task: exact references, phases, annealing, and the model's joint equivariance (float64)."""
import itertools

import numpy as np
import pytest
import torch

from backend.equivariance import equivariance_error
from backend.groups import LatticeGroup
from backend.tasks.ising.data import (
    constant_couplings,
    energy,
    exact_ground,
    greedy_descent,
    local_field,
    mean_field_energy,
    mean_field_free_energy,
    phase_of,
    sample_constant_hamiltonians,
    sample_varying_hamiltonians,
    simulated_annealing,
)
from backend.tasks.ising.model import IsingConfig, IsingModel, IsingOutput, nearby_search

ALL_4x4 = torch.tensor(list(itertools.product([1.0, -1.0], repeat=16)), dtype=torch.float64).reshape(-1, 4, 4)

# Constant Hamiltonians (J_x, J_y, h) with dyadic entries, so every energy below is exact in float64 and, times 4,
# an integer. GENERIC ones lie inside a phase; BOUNDARY ones sit exactly where phases tie, and there ground states
# that are not 2-periodic exist (their number is in the comment, from the row transfer matrix at L = 8).
GENERIC = [
    (-1.0, -1.0, 0.0),  # antiferromagnet: the two checkerboards
    (1.0, 1.0, 0.0),  # ferromagnet: all up, all down
    (1.0, 0.5, 0.25),  # ferromagnet in a field: all up
    (1.0, -1.0, 0.0),  # rows alternate
    (-1.0, 1.0, 0.5),  # columns alternate
    (-0.5, -0.5, 3.0),  # field-polarized
    (-1.0, -1.0, 1.5),  # antiferromagnet in a field
    (0.75, -0.25, -1.25),  # field-polarized, all down
    (0.0, 0.0, 0.5),  # no couplings: all up
]
BOUNDARY = [
    (-1.0, 0.0, 0.25),  # J_y = 0: every state whose rows alternate (2^8 at L = 8), not only the 4 two-periodic ones
    (-0.5, -0.5, 2.0),  # checkerboards, the polarized state and the 3:1 states tie
    (1.0, -1.0, 2.0),  # rows alternate or all up: constant rows with no two adjacent down rows (47 at L = 8)
]


@pytest.mark.parametrize("params", GENERIC + BOUNDARY + [(0.0, 0.0, 0.0)])
def test_exact_ground_agrees_with_brute_force_over_all_4x4_states_both_ways(params):
    """Against all 2^16 states of the 4×4 torus: the reference energy is the brute-force minimum; every state the
    reference flags is a brute-force minimiser and every brute-force minimiser that is 2-periodic is flagged (so the
    flags are exactly the 2-periodic ground states); and inside a phase there is no other ground state at all, so
    the flagged states are all the ground states. On a boundary only the first three hold (more states tie)."""
    J, h = constant_couplings(*params, 4)
    ex = exact_ground(J, h)
    energies = energy(J[0], h[0], ALL_4x4)
    minimum = energies.min()
    assert ex.energy[0] == minimum  # dyadic inputs: exact
    ground = {tuple(s.flatten().tolist()) for s in ALL_4x4[energies == minimum]}
    flagged = {tuple(s.flatten().tolist()) for s in ex.states[0][ex.is_ground[0]]}
    periodic = {tuple(s.flatten().tolist()) for s in ex.states[0]}
    assert len(periodic) == 16
    assert flagged <= ground
    assert ground & periodic == flagged
    if params in GENERIC:
        assert ground == flagged
    else:
        assert len(ground) > len(flagged)


def test_exact_ground_agrees_with_brute_force_on_random_4x4_hamiltonians():
    """The same two directions for 24 Hamiltonians of the training law (continuous couplings, so no exact ties):
    energy equal to the brute-force minimum, and the flagged states are exactly the brute-force minimisers."""
    J, h = sample_constant_hamiltonians(24, 4, torch.Generator().manual_seed(0))
    ex = exact_ground(J, h)
    for b in range(len(J)):
        energies = energy(J[b], h[b], ALL_4x4)
        assert torch.isclose(energies.min(), ex.energy[b], atol=1e-12)
        ground = {tuple(s.flatten().tolist()) for s in ALL_4x4[(energies - energies.min()).abs() < 1e-9]}
        flagged = {tuple(s.flatten().tolist()) for s in ex.states[b][ex.is_ground[b]]}
        assert ground == flagged


def _row_transfer_ground(L: int, jx4: int, jy4: int, h4: int) -> tuple[int, int]:
    """(4 × ground energy, number of ground states) of the constant Hamiltonian 4·(J_x, J_y, h) = (jx4, jy4, h4)
    (integers) on the L×L torus, by a row transfer matrix in the (min, +) semiring: rows r in {±1}^L, T[r, r'] =
    E_row(r) + E_between(r, r') with E_row(r) = -jx4 Σ_j r_j r_(j+1) - h4 Σ_j r_j and E_between = -jy4 r·r'. A
    state is a closed walk r_0 → r_1 → … → r_(L-1) → r_0, its energy the sum of the L entries, so the ground
    energy is min_r (T^L)[r, r]; each entry also carries how many walks reach its minimum, so the trace counts
    the ground states. Exact integer arithmetic; T^L by repeated squaring (L a power of 2)."""
    rows = np.array(list(itertools.product([1, -1], repeat=L)), dtype=np.int64)
    within = -(jx4 * (rows * np.roll(rows, -1, 1)).sum(1) + h4 * rows.sum(1))
    T = within[:, None] - jy4 * (rows @ rows.T)
    C = np.ones_like(T)
    steps = 1
    while steps < L:
        out, cnt = np.empty_like(T), np.empty_like(C)
        for s in range(0, len(T), 16):  # (min, +) product T·T, 16 rows at a time
            S = T[s : s + 16, :, None] + T[None, :, :]
            best = S.min(1)
            out[s : s + 16] = best
            cnt[s : s + 16] = ((S == best[:, None, :]) * (C[s : s + 16, :, None] * C[None, :, :])).sum(1)
        T, C, steps = out, cnt, 2 * steps
    assert steps == L
    diagonal = np.diagonal(T)
    return int(diagonal.min()), int(np.diagonal(C)[diagonal == diagonal.min()].sum())


@pytest.mark.parametrize("params", GENERIC + BOUNDARY)
def test_exact_ground_at_L8_against_a_row_transfer_matrix(params):
    """L = 8 (2^64 states) by an independent method, the (min, +) row transfer matrix over the 256 row states with
    exact integers: the reference energy is the true ground energy; a 2-periodic state is flagged exactly when its
    energy, summed row by row, is that minimum; and inside a phase the flagged states are all the ground states
    (their number equals the transfer matrix's count), while on a boundary the count is larger."""
    L = 8
    J, h = constant_couplings(*params, L)
    ex = exact_ground(J, h)
    jx4, jy4, h4 = (int(4 * p) for p in params)
    assert (jx4, jy4, h4) == tuple(4 * p for p in params)
    minimum4, count = _row_transfer_ground(L, jx4, jy4, h4)
    assert 4 * float(ex.energy[0]) == minimum4
    for state, flagged in zip(ex.states[0].long().numpy(), ex.is_ground[0].tolist()):
        e4 = sum(-jx4 * int((r * np.roll(r, -1)).sum()) - h4 * int(r.sum()) - jy4 * int(r @ state[(i + 1) % L])
                 for i, r in enumerate(state))
        assert e4 >= minimum4 and flagged == (e4 == minimum4)
    flagged_count = int(ex.is_ground[0].sum())
    if params in GENERIC:
        assert count == flagged_count
    else:
        assert count > flagged_count


@pytest.mark.parametrize(
    "jx, jy, h, phase, degeneracy",
    [
        (1.0, 1.0, 0.0, "ferromagnet", 2),
        (1.0, 0.5, 0.3, "ferromagnet", 1),
        (-1.0, -1.0, 0.0, "antiferromagnet", 2),
        (-1.0, -1.0, 1.0, "antiferromagnet", 2),
        (1.0, -1.0, 0.0, "stripes-horizontal", 2),
        (-1.0, 1.0, 0.5, "stripes-vertical", 2),
        (-0.5, -0.5, 3.0, "field-polarized", 1),
    ],
)
def test_phases_and_degeneracies(jx, jy, h, phase, degeneracy):
    assert phase_of(jx, jy, h) == phase
    J, hf = constant_couplings(jx, jy, h, 8)
    assert int(exact_ground(J, hf).is_ground.sum()) == degeneracy


def test_stripes_orientation_is_rows_alternating_for_ferromagnetic_rows():
    J, h = constant_couplings(1.0, -1.0, 0.0, 4)
    ex = exact_ground(J, h)
    for state in ex.states[0][ex.is_ground[0]]:
        assert torch.equal(state[0], state[0, :1].expand(4))  # constant along a row
        assert torch.equal(state[1], -state[0])  # rows alternate


def test_mean_field_free_energy_against_brute_force_expectation():
    """On 2×2 (16 states): E(m) is the exact expectation of H over independent spins with P(s = +1) = σ(2a), and
    the free energy subtracts T times the exact entropy of that product distribution; T = 0 gives the energy."""
    L, T = 2, 0.7
    J, h = torch.randn(2, L, L, dtype=torch.float64), torch.randn(L, L, dtype=torch.float64)
    a = torch.randn(L, L, dtype=torch.float64)
    states = torch.tensor(list(itertools.product([1.0, -1.0], repeat=4)), dtype=torch.float64).reshape(16, L, L)
    p_up = torch.sigmoid(2 * a)
    probs = torch.where(states > 0, p_up, 1 - p_up).flatten(1).prod(-1)  # (16,)
    expected_energy = (probs * energy(J, h, states)).sum()
    entropy = -(probs * probs.log()).sum()
    assert torch.isclose(mean_field_energy(J, h, a), expected_energy, atol=1e-12)
    assert torch.isclose(mean_field_free_energy(J, h, a, T), expected_energy - T * entropy, atol=1e-12)
    assert mean_field_free_energy(J, h, a, 0.0) == mean_field_energy(J, h, a)


def test_annealing_reaches_exact_ground_of_constant_hamiltonians():
    J, h = sample_constant_hamiltonians(12, 6, torch.Generator().manual_seed(1))
    e, s = simulated_annealing(J, h, torch.Generator().manual_seed(2), runs=8, sweeps=300)
    assert torch.allclose(energy(J, h, s), e)
    assert torch.allclose(e, exact_ground(J, h).energy, atol=1e-9)


def test_varying_hamiltonians_have_partial_symmetry():
    from backend.canonical import canonicalize_lattice

    J, h, kinds = sample_varying_hamiltonians(8, 6, torch.Generator().manual_seed(3))
    form = canonicalize_lattice(LatticeGroup(6, spin_flip=True), h.unsqueeze(1), J, odd=[True])
    order = 16 * 36
    stab = form.stabilizer_order.tolist()
    assert all(s < order // 2 for s in stab)  # never all translations
    assert kinds[0] == "defect-bond" and stab[0] >= 2  # a single defect bond keeps its reflections


def _model(variant, L=4, sharpness=()):
    torch.manual_seed(0)
    return IsingModel(IsingConfig(L=L, variant=variant, hidden=4, num_layers=3, encoding_dim=2, sharpness=sharpness)).double()


@pytest.mark.parametrize("sharpness", [(), (3.0, 30.0)])
def test_sympe_model_is_jointly_equivariant_under_p4m_times_z2(sharpness):
    """f(k·x, k∘h) = k·f(x, h) for every k in p4m × Z2 at L = 4 (all 256 elements in one batch), with and without
    the sharpened input channels tanh(κ·J), tanh(κ·h)."""
    from backend.groups import LatticeElement

    L = 4
    model = _model("sympe", L, sharpness)
    group = LatticeGroup(L, spin_flip=True)
    N = group.order
    J = torch.randn(1, 2, L, L, dtype=torch.float64).expand(N, 2, L, L)
    h = torch.randn(1, L, L, dtype=torch.float64).expand(N, L, L)
    h_elem = group.sample((1,), torch.Generator().manual_seed(5))
    h_elem = LatticeElement(L, h_elem.point.expand(N), h_elem.shift.expand(N, 2), h_elem.sign.expand(N))

    def f(J, h, point, shift, sign):
        return model(J, h, elements=LatticeElement(L, point, shift, sign)).logits

    report = equivariance_error(
        f,
        [J, h, h_elem.point, h_elem.shift, h_elem.sign],
        group.elements(),
        [
            lambda g, x: g.act_bonds(x),
            lambda g, x: g.act_sites(x[:, None], odd=True)[:, 0],
            lambda g, x: g.compose(h_elem).point,
            lambda g, x: g.compose(h_elem).shift,
            lambda g, x: g.compose(h_elem).sign,
        ],
        lambda g, y: g.act_sites(y[:, None], odd=True)[:, 0],
    )
    assert report.output_scale > 1e-3
    assert report.max_abs_error < 1e-10


@pytest.mark.parametrize("sharpness", [(), (3.0, 30.0)])
@pytest.mark.parametrize("variant", ["none", "sympe"])
def test_p4m_equivariance_of_the_deterministic_part(variant, sharpness):
    L = 4
    model = _model(variant, L, sharpness)
    J = torch.randn(1, 2, L, L, dtype=torch.float64)
    h = torch.randn(1, L, L, dtype=torch.float64)
    group = LatticeGroup(L)
    if variant == "none":
        f = lambda J, h: model(J, h).logits  # noqa: E731
        N = group.order
        err = equivariance_error(f, [J.expand(N, 2, L, L), h.expand(N, L, L)], group.elements(),
                                 [lambda g, x: g.act_bonds(x), lambda g, x: g.act_sites(x[:, None])[:, 0]],
                                 lambda g, y: g.act_sites(y[:, None])[:, 0])
        assert err.max_abs_error < 1e-10
    else:
        # in distribution: the multiset of outputs over the whole coset transforms with g
        full = LatticeGroup(L, spin_flip=True)
        g = full.elements()[37:38]
        out_x = model(J, h, elements=model.canonicalize(J, h).gamma).logits
        Jg, hg = g.act_bonds(J), g.act_sites(h[:, None], odd=True)[:, 0]
        out_gx = model(Jg, hg, elements=model.canonicalize(Jg, hg).gamma).logits
        # random inputs have a trivial stabilizer: the kernel is deterministic and f(g·x) = g·f(x)
        assert torch.allclose(out_gx, g.act_sites(out_x[:, None], odd=True)[:, 0], atol=1e-10)


def test_unbroken_model_cannot_break_translation_symmetry():
    """On a constant antiferromagnet the 'none' output is the same on every site (theory: no state that breaks
    translations), while 'sympe' outputs vary across sites."""
    J, h = constant_couplings(-1.0, -1.0, 0.0, 4)
    none = _model("none")(J, h).logits
    assert (none - none[0, 0, 0]).abs().max() < 1e-10
    sympe = _model("sympe")(J, h, generator=torch.Generator().manual_seed(0)).logits
    assert (sympe - sympe[0, 0, 0]).abs().max() > 1e-3


def test_local_field_is_minus_the_energy_gradient_and_gives_flip_energies():
    J, h = sample_varying_hamiltonians(4, 4, torch.Generator().manual_seed(3))[:2]
    s = torch.where(torch.rand(4, 4, 4, generator=torch.Generator().manual_seed(4), dtype=torch.float64) < 0.5, -1.0, 1.0).double()
    m = (s * 0.7).requires_grad_()
    (grad,) = torch.autograd.grad(energy(J, h, m).sum(), m)
    assert torch.allclose(local_field(J, h, m.detach()), -grad, atol=1e-12)
    field = local_field(J, h, s)
    for i, j in [(0, 0), (1, 3), (3, 2)]:
        flipped = s.clone()
        flipped[:, i, j] *= -1
        assert torch.allclose(energy(J, h, flipped) - energy(J, h, s), 2 * s[:, i, j] * field[:, i, j], atol=1e-12)


def test_model_runs_at_other_sizes_without_mutating_the_original():
    model = _model("sympe", 4)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    bigger = model.at_size(8)
    J, h = constant_couplings(-1.0, -1.0, 0.0, 8)
    assert bigger(J, h, generator=torch.Generator().manual_seed(0)).logits.shape == (1, 8, 8)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_greedy_descent_never_raises_the_energy_and_ends_in_a_single_flip_minimum():
    J, h, _ = sample_varying_hamiltonians(16, 6, torch.Generator().manual_seed(0))
    s = torch.where(torch.rand(16, 6, 6, generator=torch.Generator().manual_seed(1), dtype=torch.float64) < 0.5, -1.0, 1.0)
    previous = energy(J, h, s)
    for _ in range(30):
        s = greedy_descent(J, h, s, sweeps=1)
        current = energy(J, h, s)
        assert (current <= previous + 1e-12).all()
        previous = current
    assert (2 * s * local_field(J, h, s) >= -1e-12).all()  # no single flip lowers the energy


class ShiftedOracle(torch.nn.Module):
    """A stand-in model that answers the exact ground state of J + offset·scale, scale = mean(|J_x| + |J_y| + |h|):
    wrong in a band along the phase boundaries, right elsewhere."""

    def __init__(self, offset: float):
        super().__init__()
        self.offset = offset
        self.unused = torch.nn.Parameter(torch.zeros((), dtype=torch.float64))  # gives the search a dtype

    def forward(self, J, h, *, generator=None, elements=None, canonical=None):
        scale = (J.abs().sum(1) + h.abs()).mean(dim=(-1, -2))
        ground = exact_ground(J + self.offset * scale[:, None, None, None], h)
        states = ground.states[torch.arange(len(J)), ground.is_ground.float().argmax(-1)]
        return IsingOutput(5.0 * states, elements)


def test_nearby_search_recovers_the_ground_state_where_the_model_is_wrong_near_a_boundary():
    model = ShiftedOracle(offset=0.03)
    J, h = sample_constant_hamiltonians(4000, 4, torch.Generator().manual_seed(3))
    truth = exact_ground(J, h).energy
    wrong = energy(J, h, torch.sign(model(J, h).logits)) > truth + 1e-9
    J, h, truth = J[wrong], h[wrong], truth[wrong]
    assert len(J) >= 100  # the band is populated
    out = model(J, h)
    found = nearby_search(model, J, h, out, torch.Generator().manual_seed(4), proposals=8)
    assert set(found.unique().tolist()) <= {-1.0, 1.0}
    e = energy(J, h, found)
    assert (e <= energy(J, h, torch.sign(out.logits)) + 1e-12).all()
    assert torch.isclose(e, truth, atol=1e-9).double().mean() > 0.9
    none_found = nearby_search(model, J, h, out, torch.Generator().manual_seed(4), proposals=0)
    assert torch.equal(none_found, torch.sign(out.logits))


def test_nearby_search_keeps_the_models_own_state_on_ties():
    model = ShiftedOracle(offset=0.0)
    J, h = sample_constant_hamiltonians(200, 4, torch.Generator().manual_seed(5))
    out = model(J, h)
    assert torch.equal(nearby_search(model, J, h, out, torch.Generator().manual_seed(6), proposals=4), torch.sign(out.logits))


def test_nearby_search_commutes_with_the_axis_preserving_lattice_symmetries():
    """For translations and the point elements that keep the axes, the shifts of J_x, J_y and h are the same for
    x and g·x, so with the same random numbers search(g·x, g∘h) = g·search(x, h) exactly; the other elements
    (90° rotations, the flip) map the shift law onto itself, so there it holds in distribution."""
    from backend.groups import D4_MATRICES, LatticeElement

    L = 4
    model = _model("sympe", L, (3.0, 30.0))
    group = LatticeGroup(L, spin_flip=True)
    J, h = sample_varying_hamiltonians(1, L, torch.Generator().manual_seed(7))[:2]
    h_elem = group.sample((1,), torch.Generator().manual_seed(8))
    diagonal = [k for k in range(8) if D4_MATRICES[k][0, 1] == 0]
    elements = group.elements()
    keep = [i for i in range(group.order) if int(elements.point[i]) in diagonal and int(elements.sign[i]) == 1][::5]
    for i in keep:
        g = elements[i : i + 1]
        out = model(J, h, elements=h_elem)
        found = nearby_search(model, J, h, out, torch.Generator().manual_seed(9), proposals=3)
        Jg, hg = g.act_bonds(J), g.act_sites(h[:, None])[:, 0]
        out_g = model(Jg, hg, elements=g.compose(h_elem))
        found_g = nearby_search(model, Jg, hg, out_g, torch.Generator().manual_seed(9), proposals=3)
        assert torch.equal(found_g, g.act_sites(found[:, None])[:, 0])
    assert len(keep) >= 4


def test_nearby_search_cannot_break_translation_symmetry_for_the_unbroken_model():
    J, h = constant_couplings(-1.0, -1.0, 0.0, 4)
    model = _model("none")
    found = nearby_search(model, J, h, model(J, h), torch.Generator().manual_seed(0), proposals=8)
    assert (found == found[0, 0, 0]).all()


def test_shared_bonds_are_lifted_once_with_the_same_result():
    """K samples of one Hamiltonian share their bond term; the batch must equal the samples run one at a time."""
    from backend.nn.lattice import P4MCNN, P4MCNNConfig

    torch.manual_seed(0)
    net = P4MCNN(P4MCNNConfig(site_in=2, bond_in=True, hidden=4, out=1, num_layers=2)).double()
    sites = torch.randn(5, 2, 6, 6, dtype=torch.float64)
    bonds = torch.randn(1, 2, 6, 6, dtype=torch.float64).expand(5, 2, 6, 6)
    together = net(sites, bonds)
    alone = torch.cat([net(sites[i : i + 1], bonds[i : i + 1]) for i in range(5)])
    assert torch.allclose(together, alone, atol=1e-12, rtol=0)
