"""The lattice inversion kernel on constant and painted lattices, with and without the spin flip.

Independence: the stabilizers and cosets are found here by brute force with a test-local implementation of the
group (the 8 orthogonal integer 2×2 matrices found by search, every translation, the flip) acting on the Hamiltonian
as a site field and a set of undirected bonds, so neither the canonicalization nor the backend's act_sites /
act_bonds is trusted. The backend's D4 table is used only to translate an element's point index into its matrix.

Each case pins the stabilizer's order, number of reflections and number of elements with the spin flip, derived by
hand (its structure in the comment); the brute force must agree, and the canonicalization's masks must equal the
brute-force sets. Draws from LatticeCanonicalForm.sample must all lie in the coset {h : h⁻¹·x = c(x)} (checked
with the test-local action), reach all of it, and pass a chi-square test of uniformity at significance ALPHA per
case, so that a correct sampler fails any of the cases with probability below 1e-6 in all. The same threshold
rejects deliberately biased samplers built here, and the coset check rejects a sampler that forgets γ."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from scipy import stats

from backend.canonical import _dense_rank, canonicalize_lattice
from backend.groups import D4_MATRICES, LatticeGroup

ALPHA = 1e-8  # per case; about 20 cases, so a correct sampler fails somewhere with probability < 1e-6


def orthogonal_integer_matrices() -> list[np.ndarray]:
    """The point group D4 on (row, column), found by search: the integer 2×2 matrices M with M Mᵀ = I."""
    found = [np.array(m).reshape(2, 2) for m in itertools.product((-1, 0, 1), repeat=4)]
    found = [m for m in found if (m @ m.T == np.eye(2, dtype=int)).all()]
    assert len(found) == 8
    return found


D4 = orthogonal_integer_matrices()


def point_index(M: np.ndarray) -> int:
    """The backend's index of a matrix (only to name elements in the backend's enumeration)."""
    return next(k for k in range(8) if (D4_MATRICES[k].numpy() == M).all())


def group_elements(L: int, spin_flip: bool):
    """Every element (M, t, z) of p4m (× Z2): site p goes to M p + t (mod L), the field is multiplied by z."""
    for z in ((1, -1) if spin_flip else (1,)):
        for M in D4:
            for t in itertools.product(range(L), repeat=2):
                yield M, np.array(t), z


def backend_index(L: int, M: np.ndarray, t: np.ndarray, z: int) -> int:
    """Position of (M, t, z) in LatticeGroup.elements(): order (sign, point, row shift, column shift), +1 first."""
    return ((((1 - z) // 2) * 8 + point_index(M)) * L + int(t[0])) * L + int(t[1])


def hamiltonian(J: np.ndarray, h: np.ndarray) -> tuple[dict, dict]:
    """The input as a site field {p: h_p} and undirected bonds {{p, q}: J_pq}: J[0, i, j] joins (i, j) and
    (i, j + 1), J[1, i, j] joins (i, j) and (i + 1, j) (L ≥ 3, so no two bonds join the same pair)."""
    L = h.shape[0]
    sites = {(i, j): float(h[i, j]) for i in range(L) for j in range(L)}
    bonds = {}
    for i, j in itertools.product(range(L), repeat=2):
        bonds[frozenset({(i, j), (i, (j + 1) % L)})] = float(J[0, i, j])
        bonds[frozenset({(i, j), ((i + 1) % L, j)})] = float(J[1, i, j])
    return sites, bonds


def pull_back(x: tuple[dict, dict], M: np.ndarray, t: np.ndarray, z: int, L: int) -> tuple[dict, dict]:
    """g⁻¹·x for g = (M, t, z): (g·f)(g p) = z f(p) for the field, (g·J)(g e) = J(e) for the bonds, so
    (g⁻¹·x) reads x at the image: field z·h(g p), bond J(g e)."""
    sites, bonds = x

    def image(p):
        q = (M @ np.array(p) + t) % L
        return int(q[0]), int(q[1])

    return ({p: z * sites[image(p)] for p in sites},
            {e: bonds[frozenset(image(p) for p in e)] for e in bonds})


def lattice_input(L: int, jx: float, jy: float, h: float, paint=()) -> tuple[np.ndarray, np.ndarray]:
    J = np.zeros((2, L, L))
    J[0], J[1] = jx, jy
    field = np.full((L, L), h)
    for kind, i, j, value in paint:
        if kind == "h":
            field[i, j] = value
        else:
            J[0 if kind == "jx" else 1, i, j] = value
    return J, field


def tiled(L: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Generic couplings and field repeating with period 2 along both axes."""
    rng = np.random.default_rng(seed)
    J, h = rng.normal(size=(2, 2, 2)), rng.normal(size=(2, 2))
    return np.tile(J, (1, L // 2, L // 2)), np.tile(h, (L // 2, L // 2))


def random_input(L: int, seed: int, field: bool = True) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(2, L, L)), (rng.normal(size=(L, L)) if field else np.zeros((L, L)))


STAGGERED = lattice_input(4, -1, -1, 0)[0], 0.5 * (-1.0) ** np.add.outer(np.arange(4), np.arange(4))
# Four bonds, one sticking out of each corner of the plaquette (0,0),(0,1),(1,1),(1,0), turning one way round it.
PINWHEEL = [("jx", 0, 3, 2.0), ("jy", 3, 1, 2.0), ("jx", 1, 1, 2.0), ("jy", 1, 0, 2.0)]

CASES = {  # name: (L, spin flip, (J, h), (|G_x|, its reflections, its elements with the flip)), derived by hand
    "antiferromagnet, h = 0": (4, True, lattice_input(4, -1, -1, 0), (256, 128, 128)),  # the whole group
    "antiferromagnet, no flip": (4, False, lattice_input(4, -1, -1, 0), (128, 64, 0)),  # the whole group
    "ferromagnet in a field": (4, True, lattice_input(4, 1, 1, 0.5), (128, 64, 0)),  # p4m; the flip negates h
    "J_x ≠ J_y, h = 0": (  # the 4 point elements that keep the axes (two mirrors) × 16 translations × the flip
        4, True, lattice_input(4, 1, -0.5, 0), (128, 64, 64)),
    "J_x ≠ J_y, no flip": (4, False, lattice_input(4, 1, -0.5, 0), (64, 32, 0)),
    "staggered field": (  # D4 × the 8 even translations, and the flip combined with an odd translation
        4, True, STAGGERED, (128, 64, 64)),
    "four painted sites": (  # D4 × the translations by (0|2, 0|2)
        4, True, lattice_input(4, -1, -1, 0, [("h", i, j, 2.0) for i in (0, 2) for j in (0, 2)]), (32, 16, 0)),
    "two painted sites": (  # D4 × {0, (2, 2)}
        4, True, lattice_input(4, -1, -1, 0, [("h", 0, 0, 2.0), ("h", 2, 2, 2.0)]), (16, 8, 0)),
    "one painted site": (4, True, lattice_input(4, -1, -1, 0, [("h", 1, 2, 2.0)]), (8, 4, 0)),  # D4 about the site
    "one painted site, no flip": (4, False, lattice_input(4, -1, -1, 0, [("h", 1, 2, 2.0)]), (8, 4, 0)),
    "pinwheel, h = 0": (4, True, lattice_input(4, -1, -1, 0, PINWHEEL), (8, 0, 4)),  # C4 (no mirror) × the flip
    "pinwheel in a field": (4, True, lattice_input(4, -1, -1, 0.3, PINWHEEL), (4, 0, 0)),  # C4 about the plaquette
    "a painted bond": (  # the two mirrors through the bond and its centre, and rot180 about the centre
        4, True, lattice_input(4, -1, -1, 0.25, [("jx", 0, 0, 2.0)]), (4, 2, 0)),
    "period-2 tiling": (4, True, tiled(4, 3), (4, 0, 0)),  # the translations by (0|2, 0|2) only
    "site and bond": (  # the mirror through both
        4, True, lattice_input(4, -1, -1, 0, [("h", 0, 0, 1.5), ("jx", 0, 0, 2.0)]), (2, 1, 0)),
    "random J, h = 0": (4, True, random_input(4, 0, field=False), (2, 0, 1)),  # the flip alone
    "random J, h = 0, no flip": (4, False, random_input(4, 0, field=False), (1, 0, 0)),
    "random": (4, True, random_input(4, 1), (1, 0, 0)),
    "three sites on a diagonal, L = 6": (  # the translations by (2, 2)·k × {1, rot180, the two diagonal mirrors}
        6, True, lattice_input(6, -1, -1, 0, [("h", k, k, 2.0) for k in (0, 2, 4)]), (12, 6, 0)),
}


def brute_force(L: int, spin_flip: bool, x: tuple[dict, dict], c: tuple[dict, dict]):
    """Backend indices of the stabilizer {g : g⁻¹·x = x} and of the coset {g : g⁻¹·x = c}, and the stabilizer's
    structure: (order, how many of its elements reflect, how many flip the spins)."""
    stab, coset, reflections, flips = set(), set(), 0, 0
    for M, t, z in group_elements(L, spin_flip):
        y = pull_back(x, M, t, z, L)
        if y == x:
            stab.add(backend_index(L, M, t, z))
            reflections += round(np.linalg.det(M)) == -1
            flips += z == -1
        if y == c:
            coset.add(backend_index(L, M, t, z))
    return stab, coset, (len(stab), reflections, flips)


def decode(group: LatticeGroup, index: int) -> tuple[np.ndarray, np.ndarray, int]:
    e = group.elements()[index]
    return D4_MATRICES[int(e.point)].numpy(), e.shift.numpy(), int(e.sign)


def indices(group: LatticeGroup, sampled) -> torch.Tensor:
    L = group.L
    return ((((1 - sampled.sign) // 2) * 8 + sampled.point) * L + sampled.shift[..., 0]) * L + sampled.shift[..., 1]


def in_coset(group: LatticeGroup, drawn: torch.Tensor, x, c) -> bool:
    """Every distinct drawn element h (backend indices) has h⁻¹·x = c, by the test-local action."""
    return all(pull_back(x, *decode(group, int(k)), group.L) == c for k in torch.unique(drawn))


def chi_square(drawn: torch.Tensor, coset: list[int], order: int) -> float:
    counts = torch.bincount(drawn, minlength=order)
    assert int(counts[coset].sum()) == len(drawn)  # nothing outside the coset
    return float(stats.chisquare(counts[coset].numpy()).statistic)


def setup(name: str):
    L, flip, (J, h), structure = CASES[name]
    group = LatticeGroup(L, spin_flip=flip)
    form = canonicalize_lattice(group, torch.as_tensor(h)[None, None], torch.as_tensor(J)[None], odd=[True])
    x = hamiltonian(J, h)
    c = pull_back(x, *decode(group, int(form.canonical_index[0])), L)  # c(x) = γ⁻¹·x
    return group, form, x, c, structure


@pytest.mark.parametrize("name", CASES)
def test_stabilizer_and_coset_match_the_brute_force(name):
    group, form, x, c, structure = setup(name)
    stab, coset, found = brute_force(group.L, group.spin_flip, x, c)
    assert found == structure and len(coset) == len(stab)
    assert set(torch.nonzero(form.stabilizer_mask[0]).flatten().tolist()) == stab
    assert set(torch.nonzero(form.coset_mask[0]).flatten().tolist()) == coset


@pytest.mark.parametrize("name", CASES)
def test_kernel_draws_cover_the_coset_uniformly(name):
    group, form, x, c, (expected, _, _) = setup(name)
    draws = max(400 * expected, 20_000) if expected > 1 else 50
    drawn = indices(group, form.sample(torch.Generator().manual_seed(7), draws)[0])
    assert in_coset(group, drawn, x, c)
    assert torch.unique(drawn).numel() == expected  # the whole coset is reached (its size is brute-forced above)
    if expected == 1:
        return
    coset = torch.nonzero(form.coset_mask[0]).flatten().tolist()
    assert chi_square(drawn, coset, group.order) < stats.chi2.ppf(1 - ALPHA, expected - 1)


@pytest.mark.parametrize("name", [n for n in CASES if CASES[n][3][0] > 1])
def test_the_checks_reject_wrong_samplers(name):
    """Samplers built here with the coset's support but the wrong law fail the same chi-square threshold: half the
    coset drawn 1.5 times as often as the other half, and plain canonicalization (always γ). A sampler that draws s
    uniform on G_x but forgets γ fails the coset check whenever c(x) ≠ x."""
    group, form, x, c, (expected, _, _) = setup(name)
    draws = max(400 * expected, 20_000)
    coset = torch.nonzero(form.coset_mask[0]).flatten()
    critical = stats.chi2.ppf(1 - ALPHA, expected - 1)
    weights = torch.zeros(group.order, dtype=torch.float64)
    weights[coset] = 1.0
    weights[coset[: expected // 2]] = 1.5
    biased = torch.multinomial(weights, draws, replacement=True, generator=torch.Generator().manual_seed(7))
    assert chi_square(biased, coset.tolist(), group.order) > critical
    always_gamma = form.canonical_index[0].expand(draws)
    assert in_coset(group, always_gamma, x, c)
    assert chi_square(always_gamma, coset.tolist(), group.order) > critical
    stabilizer = torch.nonzero(form.stabilizer_mask[0]).flatten()
    forgot_gamma = stabilizer[torch.randint(expected, (200,), generator=torch.Generator().manual_seed(8))]
    assert in_coset(group, forgot_gamma, x, c) == (c == x)


@pytest.mark.parametrize("top", [0, 1, 5, 1000, 2**40])
def test_dense_rank_equals_the_ranks_of_sorting(top):
    """The linear-time path (nonnegative integers below 4·numel) and the sorting path give the ranks of torch.unique."""
    gen = torch.Generator().manual_seed(top % 97)
    values = torch.randint(0, top + 1, (3, 40, 7), generator=gen)
    assert torch.equal(_dense_rank(values), torch.unique(values, return_inverse=True)[1])
    floats = values.double() / 3
    assert torch.equal(_dense_rank(floats), torch.unique(floats, return_inverse=True)[1])
