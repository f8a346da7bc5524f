"""Tests for backend.groups: permutations, the lattice group p4m (× Z2) and their actions.

Everything is float64 with the dtype passed explicitly (the global default dtype is left alone) and fixed seeds.
Convention under test: (g·f)(x) = f(g⁻¹x), so act(g, act(h, f)) == act(g∘h, f).
"""
from __future__ import annotations

import itertools

import pytest
import torch

from backend.groups import D4_INV, D4_MATRICES, D4_MUL, LatticeElement, LatticeGroup, Permutation

F64 = dict(dtype=torch.float64)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------------------------------------------------------------
# Permutations


def test_permutation_identity_and_inverse():
    g = gen(0)
    n = 9
    ident = Permutation.identity(n)
    assert ident.perm.tolist() == list(range(n))
    for _ in range(20):
        p = Permutation.random(n, generator=g)
        assert sorted(p.tolist()) == list(range(n))
        assert torch.equal(p.compose(p.inverse()).perm, ident.perm)
        assert torch.equal(p.inverse().compose(p).perm, ident.perm)
        assert torch.equal(p.compose(ident).perm, p.perm)
        assert torch.equal(ident.compose(p).perm, p.perm)
        assert torch.equal(p.inverse().inverse().perm, p.perm)
        inv = p.inverse().perm
        for i in range(n):
            assert int(inv[p.perm[i]]) == i


def test_permutation_composition_definition_and_associativity():
    g = gen(1)
    n = 8
    for _ in range(20):
        p, q, r = (Permutation.random(n, generator=g) for _ in range(3))
        pq = p @ q
        assert pq.tolist() == [p.tolist()[q.tolist()[i]] for i in range(n)]  # apply q first
        assert torch.equal(((p @ q) @ r).perm, (p @ (q @ r)).perm)
        assert torch.equal((p @ q).inverse().perm, (q.inverse() @ p.inverse()).perm)


def test_one_permutation_acts_on_every_item_of_a_batch_as_a_batch_of_copies():
    g = gen(3)
    n, d, B = 6, 2, 4
    p = Permutation.random(n, generator=g)
    x = torch.randn(B, n, d, generator=g, **F64)
    copies = Permutation(p.perm.expand(B, n))
    for one in (p, Permutation(p.perm[None])):
        assert torch.equal(one.act_nodes(x), copies.act_nodes(x))
    assert torch.equal(copies.act_nodes(x)[1], p.act_nodes(x[1]))


def test_permutation_act_definitions():
    g = gen(2)
    n, d = 7, 3
    p = Permutation.random(n, generator=g)
    x = torch.randn(n, d, generator=g, **F64)
    y = p.act_nodes(x)
    a = torch.randn(n, n, generator=g, **F64)
    b = p.act_edges(a)
    ev = torch.randn(n, n, d, generator=g, **F64)
    bv = p.act_edges(ev)
    xs = torch.randn(n, generator=g, **F64)
    ys = p.act_nodes(xs)
    P = p.perm.tolist()
    for i in range(n):
        assert torch.equal(y[P[i]], x[i])
        assert ys[P[i]] == xs[i]
        for j in range(n):
            assert b[P[i], P[j]] == a[i, j]
            assert torch.equal(bv[P[i], P[j]], ev[i, j])


@pytest.mark.parametrize("batch", [(), (4,), (2, 3)])
def test_permutation_action_homomorphism(batch):
    g = gen(3)
    n, d = 6, 4
    for _ in range(10):
        p = Permutation.random(n, generator=g, batch=batch)
        q = Permutation.random(n, generator=g, batch=batch)
        pq = p @ q
        x = torch.randn(*batch, n, d, generator=g, **F64)
        xs = torch.randn(*batch, n, generator=g, **F64)
        a = torch.randn(*batch, n, n, generator=g, **F64)
        e = torch.randn(*batch, n, n, d, generator=g, **F64)
        assert torch.equal(p.act_nodes(q.act_nodes(x)), pq.act_nodes(x))
        assert torch.equal(p.act_nodes(q.act_nodes(xs)), pq.act_nodes(xs))
        assert torch.equal(p.act_edges(q.act_edges(a)), pq.act_edges(a))
        assert torch.equal(p.act_edges(q.act_edges(e)), pq.act_edges(e))
        # identity and inverse act trivially
        ident = Permutation.identity(n, batch)
        assert torch.equal(ident.act_nodes(x), x)
        assert torch.equal(ident.act_edges(e), e)
        assert torch.equal(p.inverse().act_edges(p.act_edges(a)), a)
        assert torch.equal(p.inverse().act_nodes(p.act_nodes(x)), x)


def test_permutation_batched_matches_per_element():
    g = gen(4)
    B, n, d = 5, 6, 2
    p = Permutation.random(n, generator=g, batch=(B,))
    x = torch.randn(B, n, d, generator=g, **F64)
    e = torch.randn(B, n, n, d, generator=g, **F64)
    a = torch.randn(B, n, n, generator=g, **F64)
    for b in range(B):
        pb = Permutation(p.perm[b])
        assert torch.equal(p.act_nodes(x)[b], pb.act_nodes(x[b]))
        assert torch.equal(p.act_edges(e)[b], pb.act_edges(e[b]))
        assert torch.equal(p.act_edges(a)[b], pb.act_edges(a[b]))


@pytest.mark.parametrize("batch", [(), (3,)])
def test_permutation_matrix_consistency(batch):
    g = gen(5)
    n = 7
    p = Permutation.random(n, generator=g, batch=batch)
    P = p.matrix(torch.float64)
    assert P.dtype == torch.float64
    x = torch.randn(*batch, n, 3, generator=g, **F64)
    A = torch.randn(*batch, n, n, generator=g, **F64)
    assert torch.equal(P @ x, p.act_nodes(x))
    assert torch.equal(P @ A @ P.transpose(-1, -2), p.act_edges(A))
    assert torch.equal(P @ P.transpose(-1, -2), torch.eye(n, **F64).expand(*batch, n, n))
    q = Permutation.random(n, generator=g, batch=batch)
    assert torch.equal(P @ q.matrix(torch.float64), (p @ q).matrix(torch.float64))
    # P[p[i], i] = 1
    flatP = P.reshape(-1, n, n)
    flatp = p.perm.reshape(-1, n)
    for b in range(flatP.shape[0]):
        for i in range(n):
            assert flatP[b, flatp[b, i], i] == 1


def test_permutation_random_fixes_padding_and_is_uniform_enough():
    g = gen(6)
    B, n = 4, 8
    sizes = torch.tensor([3, 8, 1, 5])
    seen = set()
    for _ in range(200):
        p = Permutation.random(n, generator=g, batch=(B,), num_nodes=sizes)
        for b in range(B):
            row = p.perm[b].tolist()
            m = int(sizes[b])
            assert row[m:] == list(range(m, n))
            assert sorted(row[:m]) == list(range(m))
        seen.add(tuple(p.perm[0].tolist()))
    assert len(seen) == 6  # all 3! permutations of the first graph occur


def test_permutation_random_seeded():
    a = Permutation.random(10, generator=gen(7), batch=(3,))
    b = Permutation.random(10, generator=gen(7), batch=(3,))
    assert torch.equal(a.perm, b.perm)


# ----------------------------------------------------------------------------------------------------------------------
# D4 tables


def test_d4_tables():
    mats = [D4_MATRICES[k] for k in range(8)]
    assert len({tuple(m.reshape(-1).tolist()) for m in mats}) == 8
    assert torch.equal(mats[0], torch.eye(2, dtype=torch.long))
    for a in range(8):
        assert torch.equal(mats[a] @ mats[int(D4_INV[a])], torch.eye(2, dtype=torch.long))
        for b in range(8):
            assert torch.equal(mats[a] @ mats[b], mats[int(D4_MUL[a, b])])


# ----------------------------------------------------------------------------------------------------------------------
# Lattice group


def _tuples(e: LatticeElement) -> list[tuple]:
    return [
        (int(k), tuple(t), int(z))
        for k, t, z in zip(e.point.reshape(-1).tolist(), e.shift.reshape(-1, 2).tolist(), e.sign.reshape(-1).tolist())
    ]


def _pairs(G: LatticeGroup, max_pairs: int | None, seed: int = 0):
    """(g, h) flattened over all pairs, or a random subset of max_pairs pairs."""
    N = G.order
    els = G.elements()
    if max_pairs is None or N * N <= max_pairs:
        gi = torch.arange(N).repeat_interleave(N)
        hi = torch.arange(N).repeat(N)
    else:
        g = gen(seed)
        gi = torch.randint(N, (max_pairs,), generator=g)
        hi = torch.randint(N, (max_pairs,), generator=g)
    return els[gi], els[hi], gi, hi


GROUPS = [LatticeGroup(L, sf) for L in (2, 3, 4, 5) for sf in (False, True)]
GROUP_IDS = [f"L{G.L}{'-flip' if G.spin_flip else ''}" for G in GROUPS]


@pytest.mark.parametrize("G", GROUPS, ids=GROUP_IDS)
def test_lattice_group_structure(G):
    L = G.L
    els = G.elements()
    N = G.order
    assert N == 8 * L * L * (2 if G.spin_flip else 1)
    assert els.point.shape == (N,) and els.shift.shape == (N, 2) and els.sign.shape == (N,)
    tuples = _tuples(els)
    assert len(set(tuples)) == N
    assert tuples[0] == (0, (0, 0), 1)
    assert _tuples(G.identity()) == [tuples[0]]
    assert set(z for _, _, z in tuples) == ({1, -1} if G.spin_flip else {1})
    index = {t: i for i, t in enumerate(tuples)}

    # closure and associativity over all pairs (random subset of triples)
    g, h, _, _ = _pairs(G, None)
    gh = _tuples(g.compose(h))
    assert all(t in index for t in gh)
    # every row of the Cayley table is a permutation of the group (Latin square)
    table = torch.tensor([index[t] for t in gh]).reshape(N, N)
    assert (table.sort(-1).values == torch.arange(N)).all()
    assert (table.sort(0).values == torch.arange(N)[:, None]).all()
    # identity row/column
    assert torch.equal(table[0], torch.arange(N)) and torch.equal(table[:, 0], torch.arange(N))
    # inverses
    inv = els.inverse()
    inv_idx = torch.tensor([index[t] for t in _tuples(inv)])
    assert (table[torch.arange(N), inv_idx] == 0).all()
    assert (table[inv_idx, torch.arange(N)] == 0).all()
    # associativity via the table on random triples
    r = gen(11)
    a, b, c = (torch.randint(N, (3000,), generator=r) for _ in range(3))
    assert torch.equal(table[table[a, b], c], table[a, table[b, c]])
    # and through compose itself
    ea, eb, ec = els[a[:500]], els[b[:500]], els[c[:500]]
    assert _tuples(ea.compose(eb).compose(ec)) == _tuples(ea.compose(eb.compose(ec)))


@pytest.mark.parametrize("G", GROUPS, ids=GROUP_IDS)
def test_lattice_compose_on_coordinates(G):
    """(g∘h)(p) = g(h(p)) on every site, so compose really is composition of maps."""
    L = G.L
    g, h, _, _ = _pairs(G, 4000, seed=1)
    ii, jj = torch.meshgrid(torch.arange(L), torch.arange(L), indexing="ij")
    pts = torch.stack([ii.reshape(-1), jj.reshape(-1)], -1)  # (L², 2)
    lhs = g.compose(h)
    for s in range(pts.shape[0]):
        p = pts[s].expand(g.point.shape[0], 2)
        assert torch.equal(lhs.act_site_coords(p), g.act_site_coords(h.act_site_coords(p)))
        assert torch.equal(g.inverse().act_site_coords(g.act_site_coords(p)), p)


def _random_fields(L, batch, seed):
    g = gen(seed)
    sites = torch.randn(*batch, 3, L, L, generator=g, **F64)
    bonds = torch.randn(*batch, 2, L, L, generator=g, **F64)
    groupf = torch.randn(*batch, 2, 8, L, L, generator=g, **F64)
    return sites, bonds, groupf


@pytest.mark.parametrize("G", GROUPS, ids=GROUP_IDS)
def test_lattice_action_homomorphism(G):
    """act(g, act(h, f)) == act(g∘h, f) over all pairs for L ≤ 3, a large random subset for larger L."""
    L = G.L
    g, h, _, _ = _pairs(G, None if L <= 3 else 6000, seed=2)
    P = g.point.shape[0]
    sites, bonds, groupf = _random_fields(L, (), seed=L)
    gh = g.compose(h)
    for odd in (False, True):
        assert torch.equal(g.act_sites(h.act_sites(sites, odd=odd), odd=odd), gh.act_sites(sites, odd=odd))
        assert torch.equal(
            g.act_group_channels(h.act_group_channels(groupf, odd=odd), odd=odd), gh.act_group_channels(groupf, odd=odd))
    assert torch.equal(g.act_bonds(h.act_bonds(bonds)), gh.act_bonds(bonds))
    # outputs have the broadcast batch shape
    assert gh.act_sites(sites).shape == (P, 3, L, L)
    assert gh.act_bonds(bonds).shape == (P, 2, L, L)
    assert gh.act_group_channels(groupf).shape == (P, 2, 8, L, L)
    # identity and inverse
    e = G.identity()
    assert torch.equal(e.act_sites(sites, odd=True), sites)
    assert torch.equal(e.act_bonds(bonds), bonds)
    assert torch.equal(e.act_group_channels(groupf, odd=True), groupf)
    els = G.elements()
    assert torch.equal(els.inverse().act_bonds(els.act_bonds(bonds)), bonds.expand(G.order, 2, L, L))
    assert torch.equal(els.inverse().act_sites(els.act_sites(sites, True), True), sites.expand(G.order, 3, L, L))


@pytest.mark.parametrize("G", [LatticeGroup(3, True), LatticeGroup(4, False)], ids=["L3-flip", "L4"])
def test_lattice_action_batched_fields(G):
    """A batch of elements acting on a batch of fields equals acting one by one."""
    L = G.L
    r = gen(20)
    B = 6
    idx = torch.randint(G.order, (B,), generator=r)
    g = G.element(idx)
    sites, bonds, groupf = _random_fields(L, (B,), seed=21)
    out_s, out_b, out_g = g.act_sites(sites, odd=True), g.act_bonds(bonds), g.act_group_channels(groupf, odd=True)
    for b in range(B):
        gb = g[b]
        assert torch.equal(out_s[b], gb.act_sites(sites[b], odd=True))
        assert torch.equal(out_b[b], gb.act_bonds(bonds[b]))
        assert torch.equal(out_g[b], gb.act_group_channels(groupf[b], odd=True))


@pytest.mark.parametrize("G", GROUPS, ids=GROUP_IDS)
def test_lattice_sign_acts_only_on_odd_fields(G):
    L = G.L
    sites, bonds, groupf = _random_fields(L, (), seed=30)
    els = G.elements()
    z = els.sign.to(torch.float64).reshape(-1, 1, 1, 1)
    assert torch.equal(els.act_sites(sites, odd=True), z * els.act_sites(sites, odd=False))
    zg = z.unsqueeze(-1)
    assert torch.equal(els.act_group_channels(groupf, odd=True), zg * els.act_group_channels(groupf, odd=False))
    if G.spin_flip:
        half = G.order // 2
        # the second half is the first half times the flip: same spatial action
        assert torch.equal(els[half:].act_bonds(bonds), els[:half].act_bonds(bonds))
        assert torch.equal(els[half:].act_sites(sites, odd=True), -els[:half].act_sites(sites, odd=True))


@pytest.mark.parametrize("L", [3, 4, 5])
def test_act_group_channels_definition(L):
    """(g·F)(k, p) = F(k_g⁻¹ k, g⁻¹ p), checked entry by entry."""
    G = LatticeGroup(L, True)
    _, _, F = _random_fields(L, (), seed=40 + L)
    r = gen(41)
    for idx in torch.randint(G.order, (6,), generator=r).tolist():
        g = G.element(torch.tensor(idx))
        gi = g.inverse()
        out = g.act_group_channels(F, odd=True)
        z = int(g.sign)
        for k in range(8):
            ks = int(D4_MUL[D4_INV[g.point], k])
            for i in range(L):
                for j in range(L):
                    src = gi.act_site_coords(torch.tensor([i, j])).tolist()
                    assert torch.equal(out[:, k, i, j], z * F[:, ks, src[0], src[1]])


# ----------------------------------------------------------------------------------------------------------------------
# Acting on coordinates


@pytest.mark.parametrize("L", [2, 3, 4, 5])
def test_act_site_coords_matches_act_sites(L):
    G = LatticeGroup(L, True)
    els = G.elements()
    N = G.order
    for i in range(L):
        for j in range(L):
            delta = torch.zeros(1, L, L, **F64)
            delta[0, i, j] = 1.0
            moved = els.act_sites(delta)  # (N, 1, L, L)
            coords = els.act_site_coords(torch.tensor([i, j]).expand(N, 2))
            assert torch.equal(moved.sum((-1, -2)), torch.ones(N, 1, **F64))
            flat = moved.reshape(N, L * L).argmax(-1)
            assert torch.equal(flat, coords[:, 0] * L + coords[:, 1])


@pytest.mark.parametrize("L", [3, 4])
def test_act_bonds_moves_endpoints(L):
    """A single bond {p, p + e_d} is sent to the bond between g p and g(p + e_d)."""
    G = LatticeGroup(L, False)
    els = G.elements()
    N = G.order
    for d in range(2):
        for i in range(L):
            for j in range(L):
                J = torch.zeros(2, L, L, **F64)
                J[d, i, j] = 1.0
                moved = els.act_bonds(J)
                assert torch.equal(moved.sum((-1, -2, -3)), torch.ones(N, **F64))
                p = torch.tensor([i, j])
                q = (p + torch.tensor([[0, 1], [1, 0]])[d]) % L
                gp = els.act_site_coords(p.expand(N, 2)).tolist()
                gq = els.act_site_coords(q.expand(N, 2)).tolist()
                nz = moved.nonzero().tolist()  # (g, d', a, b)
                assert len(nz) == N
                for (gidx, dd, a, b), u, v in zip(nz, gp, gq):
                    start = (a, b)
                    end = ((a + (dd == 1)) % L, (b + (dd == 0)) % L)
                    assert {start, end} == {tuple(u), tuple(v)}


# ----------------------------------------------------------------------------------------------------------------------
# Ising energy invariance (energy written with explicit loops, independent of the group code)


def ising_energy(J: torch.Tensor, h: torch.Tensor, s: torch.Tensor) -> float:
    """E = -Σ J_x(i,j) s(i,j) s(i,j+1) - Σ J_y(i,j) s(i,j) s(i+1,j) - Σ h(i,j) s(i,j), periodic.

    J: (2, L, L); h: (L, L); s: (L, L)."""
    L = s.shape[-1]
    E = 0.0
    for i in range(L):
        for j in range(L):
            E -= float(J[0, i, j]) * float(s[i, j]) * float(s[i, (j + 1) % L])
            E -= float(J[1, i, j]) * float(s[i, j]) * float(s[(i + 1) % L, j])
            E -= float(h[i, j]) * float(s[i, j])
    return E


@pytest.mark.parametrize("L", [4, 5])
def test_ising_energy_invariance(L):
    G = LatticeGroup(L, spin_flip=True)
    r = gen(50 + L)
    els = G.elements()
    for trial in range(2):
        J = torch.randn(2, L, L, generator=r, **F64)
        h = torch.randn(1, L, L, generator=r, **F64)
        s = torch.randn(1, L, L, generator=r, **F64)  # continuous "spins" to catch any mismatch
        if trial == 1:
            s = torch.where(s > 0, 1.0, -1.0).to(torch.float64)
        E0 = ising_energy(J, h[0], s[0])
        gJ = els.act_bonds(J)
        gh = els.act_sites(h, odd=True)
        gs = els.act_sites(s, odd=True)
        for k in range(G.order):
            Ek = ising_energy(gJ[k], gh[k, 0], gs[k, 0])
            assert abs(Ek - E0) < 1e-12 * max(1.0, abs(E0)), (trial, _tuples(els[k : k + 1]))


def test_ising_energy_not_invariant_when_bonds_are_moved_like_sites():
    """Sanity check of the test itself: moving the bond channels as plain site fields breaks invariance for a
    90° rotation (so the invariance above is a real check of act_bonds)."""
    L = 4
    G = LatticeGroup(L, False)
    r = gen(60)
    J = torch.randn(2, L, L, generator=r, **F64)
    h = torch.randn(1, L, L, generator=r, **F64)
    s = torch.randn(1, L, L, generator=r, **F64)
    g = G.elements()[1 * L * L]  # rot90, no shift
    assert int(g.point) == 1 and g.shift.tolist() == [0, 0]
    E0 = ising_energy(J, h[0], s[0])
    wrong = ising_energy(g.act_sites(J), g.act_sites(h)[0], g.act_sites(s)[0])
    right = ising_energy(g.act_bonds(J), g.act_sites(h)[0], g.act_sites(s)[0])
    assert abs(right - E0) < 1e-12
    assert abs(wrong - E0) > 1e-3


def test_rotation_swaps_constant_couplings():
    L = 4
    G = LatticeGroup(L, False)
    els = G.elements()
    J = torch.stack([torch.full((L, L), 1.5, **F64), torch.full((L, L), -0.25, **F64)])
    swapped = torch.stack([J[1], J[0]])
    for k in range(8):
        rows = els.point == k
        moved = els[rows].act_bonds(J)
        # rotations by ±90° and the diagonal mirrors swap the axes; the rest keep them
        R = D4_MATRICES[k]
        swaps = int(R[0, 0]) == 0
        expected = swapped if swaps else J
        assert torch.equal(moved, expected.expand_as(moved)), k
    assert bool((D4_MATRICES[1] == torch.tensor([[0, -1], [1, 0]])).all())


def test_translation_moves_defect_bond():
    L = 5
    G = LatticeGroup(L, False)
    els = G.elements()
    for d in range(2):
        J = torch.ones(2, L, L, **F64)
        J[d, 1, 2] = 7.0
        for t0 in range(L):
            for t1 in range(L):
                g = els[t0 * L + t1]  # point 0, shift (t0, t1), sign +1
                assert int(g.point) == 0 and g.shift.tolist() == [t0, t1]
                expected = torch.ones(2, L, L, **F64)
                expected[d, (1 + t0) % L, (2 + t1) % L] = 7.0
                assert torch.equal(g.act_bonds(J), expected)
    # a 180° rotation about the origin sends the horizontal bond (1,2)-(1,3) to (-1,-2)-(-1,-3) = (4,2)-(4,3)
    J = torch.ones(2, L, L, **F64)
    J[0, 1, 2] = 7.0
    g = els[2 * L * L]
    assert int(g.point) == 2 and g.shift.tolist() == [0, 0]
    expected = torch.ones(2, L, L, **F64)
    expected[0, 4, 2] = 7.0
    assert torch.equal(g.act_bonds(J), expected)


def test_to_dicts():
    G = LatticeGroup(3, True)
    ds = G.elements().to_dicts()
    assert len(ds) == G.order
    assert ds[0] == {"point": 0, "point_name": "identity", "matrix": [[1, 0], [0, 1]], "shift": [0, 0], "sign": 1}
    assert ds[-1]["sign"] == -1


def test_lattice_sample_seeded_and_in_group():
    G = LatticeGroup(4, True)
    a = G.sample((50,), generator=gen(70))
    b = G.sample((50,), generator=gen(70))
    assert _tuples(a) == _tuples(b)
    all_t = set(_tuples(G.elements()))
    assert all(t in all_t for t in _tuples(a))
