"""Point clouds under O(3): the group O3Element, exact stabilizers of known point groups, the canonical frame's
invariance, and the inversion kernel's exactness and uniformity (float64)."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from scipy import stats

from backend.groups import O3Element
from backend.pointcloud import MAX_POINTS, PointCloudError, canonicalize_point_cloud, point_group_name

PHI = (1 + 5**0.5) / 2


def polygon(k: int, z: float = 0.0, phase: float = 0.0) -> np.ndarray:
    t = 2 * math.pi * np.arange(k) / k + phase
    return np.stack([np.cos(t), np.sin(t), np.full(k, z)], axis=1)


def even_permutations_of(v):
    return [tuple(v[i] for i in p) for p in ((0, 1, 2), (1, 2, 0), (2, 0, 1))]


ICOSAHEDRON = np.array([p for a in (1, -1) for b in (1, -1) for p in even_permutations_of((0, a, b * PHI))], float)
DODECAHEDRON = np.array(list(itertools.product([1, -1], repeat=3))
                        + [p for a in (1, -1) for b in (1, -1) for p in even_permutations_of((0, a / PHI, b * PHI))], float)
PINWHEEL = np.vstack([polygon(3), polygon(3, phase=0.4) * 1.7])  # planar, rotations but no in-plane mirror: C3h

# name: (points, types, expected order, expected Schoenflies symbol); orders from the point groups' tables
KNOWN = {
    "triangle": (polygon(3), None, 12, "D3h"),
    "square": (polygon(4), None, 16, "D4h"),
    "hexagon": (polygon(6), None, 24, "D6h"),
    "tetrahedron": (np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], float), None, 24, "Td"),
    "cube": (np.array(list(itertools.product([1, -1], repeat=3)), float), None, 48, "Oh"),
    "octahedron": (np.vstack([np.eye(3), -np.eye(3)]), None, 48, "Oh"),
    "icosahedron": (ICOSAHEDRON, None, 120, "Ih"),
    "dodecahedron": (DODECAHEDRON, None, 120, "Ih"),
    "generic": (np.random.default_rng(0).normal(size=(7, 3)), None, 1, "C1"),
    "two-coloured square": (polygon(4), ["C", "N", "C", "N"], 8, "D2h"),
    "benzene": (np.vstack([polygon(6) * 1.39, polygon(6) * 2.47]), ["C"] * 6 + ["H"] * 6, 24, "D6h"),
    "ammonia": (np.vstack([polygon(3), [[0, 0, 0.4]]]), ["H"] * 3 + ["N"], 6, "C3v"),
    "staggered ethane": (np.vstack([polygon(3, 1.0), polygon(3, -1.0, math.pi)]), None, 12, "D3d"),
    "pentagonal prism": (np.vstack([polygon(5, 0.0), polygon(5, 1.0)]), None, 20, "D5h"),
    "square antiprism": (np.vstack([polygon(4, 0.0), polygon(4, 1.0, math.pi / 4)]), None, 16, "D4d"),
    "pinwheel": (PINWHEEL, None, 6, "C3h"),
    "tetragonal disphenoid": (np.array([[1, 0, 0.6], [-1, 0, 0.6], [0, 1, -0.6], [0, -1, -0.6]]), None, 8, "D2d"),
    "water": (np.array([[0, 0, 0], [0.76, 0.59, 0], [-0.76, 0.59, 0]]), ["O", "H", "H"], 4, "C2v"),
}
CONTINUOUS = {
    "collinear": (np.array([[0, 0, 0], [0, 0, 1], [0, 0, 3.0]]), None, "C∞v"),
    "carbon dioxide": (np.array([[0, 0, -1.16], [0, 0, 0], [0, 0, 1.16]]), ["O", "C", "O"], "D∞h"),
    "hydrogen cyanide": (np.array([[0, 0, -1.06], [0, 0, 0], [0, 0, 1.15]]), ["H", "C", "N"], "C∞v"),
    "single point": (np.array([[0.3, -2.0, 5.0]]), None, "O(3)"),
    "empty": (np.zeros((0, 3)), None, "O(3)"),
}


def random_copy(x: np.ndarray, types, seed: int):
    """g·x re-indexed and translated, with g Haar on O(3) (reflections included); returns the copy and g."""
    g = O3Element.random((), torch.Generator().manual_seed(seed)).matrix.numpy()
    perm = np.random.default_rng(seed).permutation(len(x))
    moved = (x @ g.T)[perm] + np.random.default_rng(seed + 1).normal(size=3)
    return moved, None if types is None else [types[i] for i in perm], g


def match(a: np.ndarray, b: np.ndarray, atol: float = 1e-9) -> np.ndarray | None:
    """The permutation π with a[i] = b[π[i]] within atol, or None (brute force over nearest points)."""
    if len(a) == 0:
        return np.zeros(0, dtype=np.int64) if len(b) == 0 else None
    d = np.linalg.norm(a[:, None] - b[None], axis=-1)
    perm = d.argmin(1)
    ok = len(set(perm.tolist())) == len(perm) and (d[np.arange(len(a)), perm] < atol).all()
    return perm if ok else None


# ----------------------------------------------------------------------------------------------------------------------
# O(3)


def test_o3_group_laws_and_action():
    g, k, m = O3Element.random((3,), torch.Generator().manual_seed(0))
    x = torch.randn(5, 3, dtype=torch.float64)
    eye = torch.eye(3, dtype=torch.float64)
    for e in (g, k, m):
        assert torch.allclose(e.matrix @ e.matrix.T, eye, atol=1e-14)
        assert torch.allclose(e.compose(e.inverse()).matrix, eye, atol=1e-14)
    assert torch.allclose(g.compose(k).compose(m).matrix, g.compose(k.compose(m)).matrix, atol=1e-14)
    assert torch.allclose(g.act_points(k.act_points(x)), g.compose(k).act_points(x), atol=1e-14)
    assert torch.allclose(O3Element.identity().act_points(x), x)
    with pytest.raises(ValueError):
        O3Element(torch.zeros(2, 3))


def test_haar_draws_cover_both_components_evenly_and_proper_draws_are_rotations():
    draws = O3Element.random((4000,), torch.Generator().manual_seed(1))
    det = draws.det()
    assert torch.allclose(det.abs(), torch.ones_like(det), atol=1e-12)
    assert stats.binomtest(int((det > 0).sum()), 4000).pvalue > 1e-6
    # Haar: the image of a fixed unit vector is uniform on the sphere, so each coordinate is uniform on [-1, 1]
    assert stats.kstest(draws.matrix[:, 2, 0].numpy(), "uniform", args=(-1, 2)).pvalue > 1e-6
    proper = O3Element.random((500,), torch.Generator().manual_seed(2), proper=True)
    assert torch.allclose(proper.det(), torch.ones(500, dtype=torch.float64), atol=1e-12)


# ----------------------------------------------------------------------------------------------------------------------
# Stabilizers


@pytest.mark.parametrize("name", KNOWN)
def test_stabilizer_of_known_point_groups(name):
    """The order and symbol from the point-group tables; every element is orthogonal, maps the typed cloud onto
    itself with the permutation it reports, the elements are distinct and closed under composition."""
    x, types, order, symbol = KNOWN[name]
    form = canonicalize_point_cloud(x, types)
    assert form.stabilizer.order == order
    assert point_group_name(form.stabilizer) == symbol
    mats = form.stabilizer_elements().matrix.numpy()
    y = x - x.mean(0)
    t = np.array(types) if types is not None else np.zeros(len(x))
    assert np.allclose(mats[0], np.eye(3))
    for r, perm in zip(mats, form.stabilizer.permutations.numpy()):
        assert np.allclose(r @ r.T, np.eye(3), atol=1e-12)
        assert np.allclose(y @ r.T, y[perm], atol=1e-9)
        assert (t[perm] == t).all()
    keys = {tuple(np.round(r, 6).ravel()) for r in mats}
    assert len(keys) == order
    for a, b in itertools.product(mats[:12], mats[:12]):
        assert tuple(np.round(a @ b, 6).ravel()) in keys


@pytest.mark.parametrize("name", ["square", "cube", "icosahedron", "benzene", "pinwheel", "water", "generic"])
def test_each_stabilizer_element_is_the_procrustes_solution_of_its_permutation_alone(name):
    """The elements are solved together (one stacked SVD); each must be bit for bit what orthogonal Procrustes gives
    for its permutation on its own (a planar cloud: the in-plane solution, then its product with the mirror z ↦ −z),
    so that the kernel draws built on them do not depend on how many elements there are."""
    from backend.pointcloud import _procrustes

    x, types, _, _ = KNOWN[name]
    rotation = O3Element.random((), torch.Generator().manual_seed(3)).matrix.numpy()
    form = canonicalize_point_cloud(x @ rotation.T, types)
    c = form.coords.numpy()
    dims = form.rank if form.rank == 3 else 2
    mats, perms = form.stabilizer.matrices.numpy(), form.stabilizer.permutations.numpy()
    step = 1 if form.rank == 3 else 2
    for i in range(0, len(mats), step):
        alone = np.eye(3)
        alone[:dims, :dims] = _procrustes(c[:, :dims], c[perms[i], :dims])
        assert mats[i].tobytes() == alone.tobytes()
        if step == 2:
            assert (perms[i + 1] == perms[i]).all()
            assert mats[i + 1].tobytes() == (alone @ np.diag([1.0, 1.0, -1.0])).tobytes()


def test_the_closure_lists_the_group_in_breadth_first_order():
    """The closure's order is the queue's: the kernel draws index the elements, so it must not depend on how the
    closure is computed. Against a plain breadth-first search on generators of several permutation groups."""
    from collections import deque

    from backend.canonical import canonicalize_graph
    from backend.pointcloud import _finite_group

    def queue_order(generators, n):
        seen, queue = {tuple(range(n)): None}, deque([tuple(range(n))])
        while queue:
            p = queue.popleft()
            for g in generators:
                q = tuple(g[i] for i in p)
                if q not in seen:
                    seen[q] = None
                    queue.append(q)
        return list(seen)

    rng = np.random.default_rng(0)
    cases = [([], 4), ([(1, 2, 3, 0)], 4), ([(1, 0, 2, 3, 4), (1, 2, 3, 4, 0)], 5)]
    cases += [([tuple(rng.permutation(n)) for _ in range(k)], n) for n, k in ((6, 1), (6, 2), (7, 3), (8, 2))]
    for name in ("cube", "icosahedron", "benzene"):
        x, types, _, _ = KNOWN[name]  # the generators BLISS gives for the cloud's distance graph
        n = len(x)
        iu, ju = np.triu_indices(n, 1)
        dist = np.round(np.linalg.norm(x[iu] - x[ju], axis=1), 6)
        colours = np.unique(dist, return_inverse=True)[1].tolist()
        cases.append(([tuple(g) for g in canonicalize_graph(n, np.stack([iu, ju], 1), [0] * n, colours).generators], n))
    for generators, n in cases:
        assert _finite_group(generators, n, limit=10**6).tolist() == [list(p) for p in queue_order(generators, n)]
    with pytest.raises(PointCloudError, match="more than 5 elements"):
        _finite_group([(1, 2, 3, 4, 5, 6, 0)], 7, limit=5)


@pytest.mark.parametrize("name", ["tetrahedron", "icosahedron", "benzene", "pinwheel", "generic"])
def test_stabilizers_are_complete_by_brute_force(name):
    """Independent of BLISS: every orthogonal map that sends three fixed, spanning points to some ordered triple of
    points (with equal types) is tried, and those mapping the cloud onto itself are counted."""
    x, types, order, _ = KNOWN[name]
    y = x - x.mean(0)
    t = np.array(types) if types is not None else np.zeros(len(x))
    base = [0]
    for i in range(len(y)):
        if np.linalg.matrix_rank(y[base + [i]], tol=1e-9) == len(base) + 1:
            base.append(i)
        if len(base) == 3:
            break
    b = y[base]
    if len(base) == 2:  # planar: add the normal, which any symmetry maps to ± the normal
        b = np.vstack([b, np.cross(b[0], b[1])])
    found = set()
    for triple in itertools.permutations(range(len(y)), len(base)):
        img = y[list(triple)]
        normals = [np.cross(img[0], img[1]), -np.cross(img[0], img[1])] if len(base) == 2 else [None]
        for nrm in normals:
            target = img if nrm is None else np.vstack([img, nrm])
            r = np.linalg.solve(b, target).T
            if np.allclose(r @ r.T, np.eye(3), atol=1e-9):
                perm = match(y @ r.T, y)
                if perm is not None and (t[perm] == t).all():
                    found.add(tuple(np.round(r, 6).ravel()))
    assert len(found) == order == canonicalize_point_cloud(x, types).stabilizer.order


@pytest.mark.parametrize("name", CONTINUOUS)
def test_degenerate_clouds_have_their_continuous_stabilizers(name):
    x, types, symbol = CONTINUOUS[name]
    form = canonicalize_point_cloud(x, types)
    assert form.stabilizer.order == math.inf
    assert point_group_name(form.stabilizer) == symbol
    with pytest.raises(ValueError):
        form.stabilizer_elements()
    # every draw maps the cloud onto itself (types kept)
    y = x - x.mean(0) if len(x) else x
    t = np.array(types) if types is not None else np.zeros(len(x))
    for s in form.frame @ form.stabilizer.sample(50, torch.Generator().manual_seed(0)).matrix @ form.frame.T:
        perm = match(y @ s.numpy().T, y)
        assert perm is not None and (t[perm] == t).all()


def test_axial_draws_are_haar_on_the_axis_group():
    """For D∞h: the rotation angle about the axis is uniform, and the mirror and reversal bits are fair."""
    x, types, _ = CONTINUOUS["carbon dioxide"]
    t = canonicalize_point_cloud(x, types).stabilizer.sample(4000, torch.Generator().manual_seed(3)).matrix
    assert stats.binomtest(int((t[:, 0, 0] < 0).sum()), 4000).pvalue > 1e-6  # reversal
    det_yz = t[:, 1, 1] * t[:, 2, 2] - t[:, 1, 2] * t[:, 2, 1]
    assert stats.binomtest(int((det_yz < 0).sum()), 4000).pvalue > 1e-6  # mirror
    angle = torch.atan2(t[:, 2, 1], t[:, 1, 1]).numpy()
    assert stats.kstest(angle, "uniform", args=(-math.pi, 2 * math.pi)).pvalue > 1e-6


def test_stabilizer_is_conjugated_by_the_transformation():
    x, _, _, _ = KNOWN["square antiprism"]
    moved, _, g = random_copy(x, None, seed=4)
    a = {tuple(np.round(g @ r @ g.T, 6).ravel()) for r in canonicalize_point_cloud(x).stabilizer_elements().matrix.numpy()}
    b = {tuple(np.round(r, 6).ravel()) for r in canonicalize_point_cloud(moved).stabilizer_elements().matrix.numpy()}
    assert a == b


# ----------------------------------------------------------------------------------------------------------------------
# Canonical frame


@pytest.mark.parametrize("name", list(KNOWN) + list(CONTINUOUS))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_canonical_cloud_is_invariant_under_o3_permutations_and_translations(name, seed):
    x, types = (KNOWN.get(name) or CONTINUOUS[name])[:2]
    moved, moved_types, _ = random_copy(x, types, seed)
    a, b = canonicalize_point_cloud(x, types), canonicalize_point_cloud(moved, moved_types)
    assert torch.allclose(a.canonical_cloud, b.canonical_cloud, atol=1e-9)
    if types is not None:
        assert [types[i] for i in a.order] == [moved_types[i] for i in b.order]
    assert torch.allclose(b.frame @ b.frame.T, torch.eye(3, dtype=torch.float64), atol=1e-12)


def test_canonical_cloud_separates_mirror_images_only_up_to_o3():
    """O(3) includes reflections: a chiral cloud and its mirror image share their canonical cloud."""
    x = np.random.default_rng(5).normal(size=(6, 3))
    mirror = x * np.array([1.0, 1.0, -1.0])
    assert torch.allclose(canonicalize_point_cloud(x).canonical_cloud, canonicalize_point_cloud(mirror).canonical_cloud, atol=1e-9)
    other = x + np.random.default_rng(6).normal(size=x.shape) * 0.1
    assert not torch.allclose(canonicalize_point_cloud(x).canonical_cloud, canonicalize_point_cloud(other).canonical_cloud, atol=1e-3)


def test_a_perturbation_below_the_tolerance_keeps_the_symmetry_and_one_above_breaks_it():
    x = KNOWN["hexagon"][0]
    noise = np.random.default_rng(7).normal(size=x.shape)
    assert canonicalize_point_cloud(x + 1e-9 * noise, tol=1e-6).stabilizer.order == 24
    assert canonicalize_point_cloud(x + 1e-3 * noise, tol=1e-6).stabilizer.order == 1


# ----------------------------------------------------------------------------------------------------------------------
# Inversion kernel


@pytest.mark.parametrize("name", ["triangle", "tetrahedron", "cube", "benzene", "ammonia", "pinwheel", "carbon dioxide", "single point"])
def test_every_kernel_draw_maps_the_cloud_onto_its_canonical_coordinates(name):
    """hᵀ(x − x̄) is the canonical coordinates up to a re-indexing: h lies in the fibre G_x γ(x)."""
    x, types = (KNOWN.get(name) or CONTINUOUS[name])[:2]
    form = canonicalize_point_cloud(x, types)
    y = torch.as_tensor(x - x.mean(0))
    t = np.array(types) if types is not None else np.zeros(len(x))
    for h in form.sample(64, torch.Generator().manual_seed(0)).matrix:
        assert torch.allclose(h @ h.T, torch.eye(3, dtype=torch.float64), atol=1e-12)
        perm = match((y @ h).numpy(), form.coords.numpy())
        assert perm is not None and (t[perm] == t).all()


@pytest.mark.parametrize("name", ["triangle", "tetrahedron", "cube", "icosahedron", "two-coloured square", "ammonia"])
def test_kernel_is_uniform_on_finite_stabilizers(name):
    """Chi-square test over the |G_x| elements: s = h γᵀ identified among G_x. A correct sampler fails with
    probability 1e-6; the same statistic rejects a sampler that draws one element twice as often as the others."""
    x, types, order, _ = KNOWN[name]
    form = canonicalize_point_cloud(x, types)
    elements = form.stabilizer_elements().matrix.reshape(order, 9)
    draws = 400 * order
    s = (form.sample(draws, torch.Generator().manual_seed(11)).matrix @ form.frame.T).reshape(draws, 9)
    distance = torch.cdist(s, elements, compute_mode="donot_use_mm_for_euclid_dist")
    assert distance.min(1).values.max() < 1e-9
    index = distance.argmin(1)
    counts = torch.bincount(index, minlength=order).numpy()
    critical = stats.chi2.ppf(1 - 1e-6, order - 1)
    assert stats.chisquare(counts).statistic < critical
    biased = np.full(order, 400.0)
    biased[0] *= 2
    biased *= draws / biased.sum()
    assert stats.chisquare(np.round(biased)).statistic > critical


# ----------------------------------------------------------------------------------------------------------------------
# Refusals


@pytest.mark.parametrize("points, types, words", [
    ([[0, 0, float("nan")], [1, 0, 0]], None, "finite"),
    ([[0, 0, float("inf")]], None, "finite"),
    ([[0, 0], [1, 1]], None, "shape"),
    ([[0, 0, 0], [1, 0]], None, "(n, 3)"),
    ([["a", 0, 0]], None, "(n, 3)"),
    ([[0, 0, 0], [1, 0, 0], [1, 0, 0]], None, "coincide"),
    ([[0, 0, 0], [1, 0, 0]], ["C"], "one type per point"),
])
def test_bad_clouds_are_refused_with_a_reason(points, types, words):
    with pytest.raises(PointCloudError, match=None) as err:
        canonicalize_point_cloud(points, types)
    assert words in str(err.value)


def test_too_many_points_are_refused():
    with pytest.raises(PointCloudError, match=str(MAX_POINTS)):
        canonicalize_point_cloud(np.random.default_rng(0).normal(size=(MAX_POINTS + 1, 3)))
