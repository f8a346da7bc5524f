"""Tests for backend.sympe: symmetry breaking is real, and SymPE keeps (joint) equivariance.

float64 with explicit dtypes (models are cast with .double()); fixed seeds. The global default dtype is untouched.
"""
from __future__ import annotations

import networkx as nx
import pytest
import torch
from graphs import dense

from backend.canonical import canonicalize_dense, canonicalize_lattice, sample_graph_inversion_kernel
from backend.encodings import ENCODINGS
from backend.equivariance import (
    DEFAULT_TOLERANCE,
    INVARIANT,
    EquivarianceReport,
    equivariance_error,
    max_equivariance_error,
)
from backend.groups import LatticeGroup, Permutation
from backend.nn import MPNN
from backend.nn.lattice import P4MCNN, P4MCNNConfig
from backend.sympe import GraphEncoder, LatticeEncoder

F64 = dict(dtype=torch.float64)
TOL = 1e-10
DIM = 4


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


SYMMETRIC = {"C6": nx.cycle_graph(6), "petersen": nx.petersen_graph(), "K33": nx.complete_bipartite_graph(3, 3)}


def build(kind: str, n_max: int, seed: int = 0):
    torch.manual_seed(seed)
    enc = GraphEncoder(kind, n_max, DIM).double()
    model = MPNN(1 + enc.node_dim, 16, 3, num_layers=3, edge_dim=enc.edge_dim).double()
    model.eval()
    return enc, model


def run_graph(enc, model, x, adj, mask, **kw):
    """MPNN on [x, encoding] (and encoding.edges as edge_attr when present)."""
    e = enc(adj, mask, **kw)
    inp = x if e.nodes is None else torch.cat([x, e.nodes], dim=-1)
    return model(inp, adj, mask, e.edges), e


# ----------------------------------------------------------------------------------------------------------------------
# Symmetry breaking on symmetric graphs


def _orbit_spread(out: torch.Tensor, orbits) -> float:
    """Largest spread (max - min over the orbit, any output channel) of the outputs within one orbit."""
    spread = 0.0
    for orb in orbits:
        vals = out[orb]
        spread = max(spread, float((vals.max(0).values - vals.min(0).values).max()))
    return spread


@pytest.mark.parametrize("name", list(SYMMETRIC))
@pytest.mark.parametrize("kind", ENCODINGS, ids=str)
def test_symmetry_breaking(name, kind):
    A = dense(SYMMETRIC[name])
    n = A.shape[0]
    orbits = canonicalize_dense(A).orbits
    assert len(orbits) == 1  # all three graphs are vertex transitive
    enc, model = build(kind, n_max=12, seed=1)
    adj, mask = A.unsqueeze(0), torch.ones(1, n, dtype=torch.bool)
    x = torch.ones(1, n, 1, **F64)
    with torch.no_grad():
        out, e = run_graph(enc, model, x, adj, mask, generator=gen(2))
    assert out.shape == (1, n, 3) and torch.isfinite(out).all()
    spread = _orbit_spread(out[0], orbits)
    if not kind.breaks_symmetry:
        assert e.nodes is None and e.edges is None
        assert spread < TOL
    else:
        assert spread > 1e-3, (name, kind, spread)
    if kind.pair_features:
        assert e.edges is not None and e.edges.shape == (1, n, n, 2 * DIM)
        assert model.edge_dim == 2 * DIM
    if kind.canonicalizes:
        # the encoding is a relabelling of the table rows: node h[k] receives v[k]
        h = e.elements.perm[0]
        assert torch.equal(e.nodes[0][h], enc.table[:n].detach())
        assert torch.equal(A[h][:, h], canonicalize_dense(A).canonical_adjacency())


def test_none_constant_on_orbits_of_non_transitive_graph():
    """A graph with several orbits: 'none' is constant on each one (but may differ between orbits)."""
    G = nx.Graph([(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 0), (0, 6), (3, 7)])  # C6 with two pendants
    A = dense(G)
    n = A.shape[0]
    orbits = canonicalize_dense(A).orbits
    assert len(orbits) > 1
    enc, model = build("none", n_max=n, seed=3)
    with torch.no_grad():
        out, _ = run_graph(enc, model, torch.ones(1, n, 1, **F64), A.unsqueeze(0), torch.ones(1, n, dtype=torch.bool))
    assert _orbit_spread(out[0], orbits) < TOL
    enc, model = build("sympe", n_max=n, seed=3)
    with torch.no_grad():
        out, _ = run_graph(enc, model, torch.ones(1, n, 1, **F64), A.unsqueeze(0), torch.ones(1, n, dtype=torch.bool),
                           generator=gen(0))
    assert _orbit_spread(out[0], orbits) > 1e-3


# ----------------------------------------------------------------------------------------------------------------------
# Joint equivariance (graphs)


def padded_batch(seed=0):
    sizes = [6, 5, 7, 4]
    n = 7
    r = gen(seed)
    B = len(sizes)
    sizes_t = torch.tensor(sizes)
    mask = torch.arange(n)[None, :] < sizes_t[:, None]
    up = (torch.rand(B, n, n, generator=r, **F64) < 0.5).to(torch.float64).triu(1)
    adj = (up + up.transpose(1, 2)) * (mask[:, :, None] & mask[:, None, :])
    x = torch.randn(B, n, 2, generator=r, **F64) * mask.unsqueeze(-1)
    return x, adj, mask, sizes_t, r


def _nodes(g, t):
    return g.act_nodes(t)


def _edges(g, t):
    return g.act_edges(t)


def _compose(g, h):
    return g.compose(h)


@pytest.mark.parametrize("kind", ["sympe", "sympe-edges", "none", "noise"])
def test_joint_equivariance_graphs(kind):
    x, adj, mask, sizes, r = padded_batch(seed=4)
    B, n = mask.shape
    torch.manual_seed(5)
    enc = GraphEncoder(kind, n_max=n, dim=DIM).double()
    model = MPNN(2 + enc.node_dim, 16, 3, num_layers=3, edge_dim=enc.edge_dim).double().eval()

    if kind == "noise":
        # deterministic given a seed: the noise is an extra node input that transforms with the nodes
        def f(x, adj, mask, noise):
            return model(torch.cat([x, noise], -1), adj, mask)

        noise = torch.randn(B, n, DIM, generator=r, **F64) * mask.unsqueeze(-1)
        inputs, actions = (x, adj, mask, noise), (_nodes, _edges, _nodes, _nodes)
    else:
        def f(x, adj, mask, h):
            out, _ = run_graph(enc, model, x, adj, mask, elements=h)
            return out

        h = Permutation.random(n, generator=r, batch=(B,), num_nodes=sizes)
        inputs, actions = (x, adj, mask, h), (_nodes, _edges, _nodes, _compose)

    for _ in range(5):
        g = Permutation.random(n, generator=r, batch=(B,), num_nodes=sizes)
        rep = equivariance_error(f, inputs, g, actions, _nodes)
        assert rep.output_scale > 1e-3
        assert rep.max_abs_error < TOL, (kind, rep)


def test_joint_equivariance_with_kernel_samples():
    """With h drawn from the inversion kernel of x, g∘h is a valid kernel sample of g·x."""
    x, adj, mask, sizes, r = padded_batch(seed=6)
    B, n = mask.shape
    h = sample_graph_inversion_kernel(adj, mask, generator=r)
    g = Permutation.random(n, generator=r, batch=(B,), num_nodes=sizes)
    gh = g.compose(h)
    gadj = g.act_edges(adj)
    for b in range(B):
        m = int(sizes[b])
        C = canonicalize_dense(gadj[b], m).canonical_adjacency()
        idx = gh.perm[b, :m]
        assert torch.equal(gadj[b][idx][:, idx], C)


def test_fixed_encoding_is_not_equivariant():
    x, adj, mask, sizes, r = padded_batch(seed=7)
    B, n = mask.shape
    torch.manual_seed(8)
    enc = GraphEncoder("fixed", n_max=n, dim=DIM).double()
    model = MPNN(2 + DIM, 16, 3).double().eval()

    def f(x, adj, mask):
        return run_graph(enc, model, x, adj, mask)[0]

    g = Permutation.random(n, generator=r, batch=(B,), num_nodes=sizes)
    rep = equivariance_error(f, (x, adj, mask), g, (_nodes, _edges, _nodes), _nodes)
    assert rep.max_abs_error > 1e-3


def test_encoding_distribution_is_equivariant_c6():
    A = dense(nx.cycle_graph(6))
    n = 6
    torch.manual_seed(9)
    enc = GraphEncoder("sympe", n_max=n, dim=DIM).double()
    mask = torch.ones(1, n, dtype=torch.bool)
    r = gen(10)

    def encodings(adj, num=300):
        out = set()
        for _ in range(num):
            with torch.no_grad():
                e = enc(adj.unsqueeze(0), mask, generator=r).nodes[0]
            out.add(tuple(e.reshape(-1).tolist()))
        return out

    base = encodings(A)
    assert len(base) == 12  # |Aut(C6)| distinct encodings, all reached
    for _ in range(3):
        g = Permutation.random(n, generator=r)
        moved = encodings(g.act_edges(A))
        expected = set()
        for e in base:
            t = torch.tensor(e, **F64).reshape(n, DIM)
            expected.add(tuple(g.act_nodes(t).reshape(-1).tolist()))
        assert sorted(moved) == sorted(expected)


def test_graph_encoder_interface():
    with pytest.raises(ValueError):
        GraphEncoder("bogus", 5)
    enc = GraphEncoder("sympe", 4).double()
    adj = torch.zeros(1, 6, 6, **F64)
    with pytest.raises(ValueError):
        enc(adj, torch.ones(1, 6, dtype=torch.bool), generator=gen(0))
    # padded nodes get zero encodings
    x, adj, mask, sizes, r = padded_batch(seed=11)
    for kind in ("noise", "sympe", "sympe-edges", "fixed"):
        e = GraphEncoder(kind, 7, DIM).double()(adj, mask, generator=r)
        assert (e.nodes[~mask] == 0).all()
        if e.edges is not None:
            pad = ~(mask[:, :, None] & mask[:, None, :])
            assert (e.edges[pad] == 0).all()
        if e.elements is not None:
            assert e.elements.perm[~mask].tolist() == torch.arange(7).expand(4, 7)[~mask].tolist()


def test_graph_encoder_seeded():
    x, adj, mask, sizes, _ = padded_batch(seed=12)
    torch.manual_seed(0)
    enc = GraphEncoder("sympe-edges", 7, DIM).double()
    a = enc(adj, mask, generator=gen(3))
    b = enc(adj, mask, generator=gen(3))
    assert torch.equal(a.nodes, b.nodes) and torch.equal(a.edges, b.edges)
    assert torch.equal(a.elements.perm, b.elements.perm)


# ----------------------------------------------------------------------------------------------------------------------
# Lattices


def lattice_model(kind: str, L: int, seed: int = 0, spin_flip: bool = False):
    torch.manual_seed(seed)
    enc = LatticeEncoder(kind, LatticeGroup(L, spin_flip), dim=DIM).double()
    model = P4MCNN(P4MCNNConfig(site_in=1 + enc.out_dim, bond_in=True, hidden=8, num_layers=3)).double().eval()
    return enc, model


def run_lattice(enc, model, sites, bonds, **kw):
    e = enc(sites, bonds, **kw)
    inp = sites if e.fields is None else torch.cat([sites, e.fields], dim=-3)
    return model(inp, bonds), e


@pytest.mark.parametrize("L", [3, 4])
@pytest.mark.parametrize("kind", ["none", "sympe", "noise", "fixed"])
def test_lattice_symmetry_breaking(L, kind):
    enc, model = lattice_model(kind, L, seed=1)
    sites = torch.full((1, 1, L, L), 0.3, **F64)
    bonds = torch.full((1, 2, L, L), 1.0, **F64)
    with torch.no_grad():
        out, e = run_lattice(enc, model, sites, bonds, odd=[True], generator=gen(2))
    assert out.shape == (1, 1, L, L)
    spread = float(out.max() - out.min())
    if kind == "none":
        assert spread < TOL
    else:
        assert spread > 1e-3, (kind, spread)
    if kind == "sympe":
        form = canonicalize_lattice(enc.group, sites, bonds, [True])
        idx = {(k, tuple(t), z): i for i, (k, t, z) in enumerate(zip(
            enc.group.elements().point.tolist(), enc.group.elements().shift.tolist(), enc.group.elements().sign.tolist()))}
        i = idx[(int(e.elements.point[0]), tuple(e.elements.shift[0].tolist()), int(e.elements.sign[0]))]
        assert bool(form.coset_mask[0, i])


def test_lattice_joint_equivariance_all_elements():
    L = 4
    G = LatticeGroup(L, False)
    N = G.order
    enc, model = lattice_model("sympe", L, seed=3)
    r = gen(4)
    sites = torch.randn(1, 1, L, L, generator=r, **F64).expand(N, 1, L, L)
    bonds = torch.randn(1, 2, L, L, generator=r, **F64).expand(N, 2, L, L)
    h = G.elements()[torch.randint(N, (N,), generator=r)]
    g = G.elements()  # all 8L² elements at once, one per batch entry

    def f(sites, bonds, h):
        return run_lattice(enc, model, sites, bonds, elements=h)[0]

    rep = equivariance_error(
        f, (sites, bonds, h), g,
        (lambda g, s: g.act_sites(s), lambda g, b: g.act_bonds(b), _compose),
        lambda g, y: g.act_sites(y),
    )
    assert rep.output_scale > 1e-3
    assert rep.max_abs_error < TOL, rep


def test_lattice_joint_equivariance_with_canonical_samples():
    """Kernel samples: g∘γ(x) lies in the coset of g·x, and the sampled encodings transform accordingly."""
    L = 4
    G = LatticeGroup(L, True)
    enc, _ = lattice_model("sympe", L, seed=5, spin_flip=True)
    r = gen(6)
    sites = torch.randn(1, 1, L, L, generator=r, **F64)
    bonds = torch.randn(1, 2, L, L, generator=r, **F64)
    e = enc(sites, bonds, odd=[True], generator=r)
    for k in torch.randint(G.order, (8,), generator=r).tolist():
        g = G.elements()[k]
        gs, gb = g.act_sites(sites, odd=True), g.act_bonds(bonds)
        e_g = enc(gs, gb, odd=[True], generator=r)  # trivial stabilizer: the sample is unique
        assert torch.equal(e_g.fields, g.act_sites(e.fields))
        gh = g.compose(e.elements)
        assert (gh.point == e_g.elements.point).all() and (gh.shift == e_g.elements.shift).all()
        assert (gh.sign == e_g.elements.sign).all()
        # encodings are even under the spin flip; the explicit-elements path agrees
        assert torch.equal(enc(gs, gb, elements=gh).fields, g.act_sites(e.fields, odd=False))


def test_lattice_encoder_interface():
    with pytest.raises(ValueError):
        LatticeEncoder("sympe-edges", LatticeGroup(3))
    enc = LatticeEncoder("sympe", LatticeGroup(3)).double()
    with pytest.raises(ValueError):
        enc(torch.zeros(1, 1, 4, 4, **F64), generator=gen(0))
    assert LatticeEncoder("none", LatticeGroup(3))(torch.zeros(2, 1, 3, 3, **F64)).fields is None


# ----------------------------------------------------------------------------------------------------------------------
# The checker itself


def test_equivariance_checker_detects_violation():
    x, adj, mask, sizes, r = padded_batch(seed=13)
    B, n = mask.shape
    torch.manual_seed(14)
    model = MPNN(2, 16, 3).double().eval()
    pos = torch.arange(n, **F64).reshape(1, n, 1)

    def good(x, adj, mask):
        return model(x, adj, mask)

    def bad(x, adj, mask):
        return model(x, adj, mask) + pos * mask.unsqueeze(-1)

    elements = [Permutation.random(n, generator=r, batch=(B,), num_nodes=sizes) for _ in range(3)]
    acts = (_nodes, _edges, _nodes)
    assert max_equivariance_error(good, (x, adj, mask), elements, acts, _nodes) < TOL
    assert max_equivariance_error(bad, (x, adj, mask), elements, acts, _nodes) > 0.5
    # an invariant output checked as invariant, and a mismatch in arguments
    rep = equivariance_error(lambda x, adj, mask: good(x, adj, mask).sum((-1, -2)), (x, adj, mask), elements[0], acts,
                             INVARIANT)
    assert rep.max_abs_error < TOL
    with pytest.raises(ValueError):
        equivariance_error(good, (x, adj, mask), elements[0], acts[:2], _nodes)


def test_an_equivariance_report_is_true_exactly_when_the_error_is_within_its_tolerance():
    """Truthiness means "within tolerance": rounding-level errors pass (a float64 check is never exactly 0.0 in
    general), a violation fails, the tolerance scales with the output's size, and a NaN or infinite output fails
    (an infinite scale must not excuse an error)."""
    x, adj, mask, sizes, r = padded_batch(seed=15)
    torch.manual_seed(16)
    model = MPNN(2, 16, 3).double().eval()
    g = Permutation.random(mask.shape[1], generator=r, batch=(mask.shape[0],), num_nodes=sizes)
    acts = (_nodes, _edges, _nodes)
    good = equivariance_error(model, (x, adj, mask), g, acts, _nodes)
    assert good and 0 <= good.max_abs_error <= 1e-12
    bad = equivariance_error(lambda x, adj, mask: model(x, adj, mask) + 1e-3 * torch.arange(mask.shape[1], **F64)[:, None],
                             (x, adj, mask), g, acts, _nodes)
    assert not bad
    assert equivariance_error(lambda x, adj, mask: model(x, adj, mask) + 1e-3 * torch.arange(mask.shape[1], **F64)[:, None],
                              (x, adj, mask), g, acts, _nodes, tolerance=1.0)
    big = EquivarianceReport(max_abs_error=1e-6, max_rel_error=1e-12, output_scale=1e6)
    assert big and not EquivarianceReport(1e-6, 1e-6, 1.0)
    assert EquivarianceReport(0.0, 0.0, 0.0) and EquivarianceReport(DEFAULT_TOLERANCE, DEFAULT_TOLERANCE, 0.5)
    nan = equivariance_error(lambda x, adj, mask: model(x, adj, mask) * float("nan"), (x, adj, mask), g, acts, _nodes)
    inf = float("inf")
    assert not nan and not EquivarianceReport(inf, inf, inf) and not EquivarianceReport(1.0, 0.0, inf)  # never passes


def test_equivariance_checker_detects_lattice_violation():
    L = 4
    G = LatticeGroup(L, False)
    torch.manual_seed(15)
    model = P4MCNN(P4MCNNConfig(site_in=1, bond_in=True, hidden=8, num_layers=2)).double().eval()
    r = gen(16)
    sites = torch.randn(1, 1, L, L, generator=r, **F64)
    bonds = torch.randn(1, 2, L, L, generator=r, **F64)
    g = G.elements()[torch.tensor([5, 20, 40, 77, 100])]
    acts = (lambda g, s: g.act_sites(s), lambda g, b: g.act_bonds(b))
    out_act = lambda g, y: g.act_sites(y)  # noqa: E731
    assert equivariance_error(model, (sites, bonds), g, acts, out_act).max_abs_error < TOL
    # bonds moved like site fields: a wrong action must be reported
    wrong = (acts[0], lambda g, b: g.act_sites(b))
    assert equivariance_error(model, (sites, bonds), g, wrong, out_act).max_abs_error > 1e-3
    ramp = torch.arange(L * L, **F64).reshape(1, 1, L, L)
    assert equivariance_error(lambda s, b: model(s, b) + ramp, (sites, bonds), g, acts, out_act).max_abs_error > 0.5
