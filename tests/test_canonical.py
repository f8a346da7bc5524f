"""Tests for backend.canonical: exact graph canonicalization, automorphism groups, inversion kernels and the
exhaustive lattice canonicalization. float64 with explicit dtypes, fixed seeds."""
from __future__ import annotations

import math
import zlib
from collections import Counter

import networkx as nx
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from graphs import dense
from networkx.algorithms.isomorphism import GraphMatcher
from scipy.stats import chi2_contingency, chisquare

from backend import canonical
from backend.canonical import (
    _canonicalize_by_shift_ranks,
    canonicalize_dense,
    canonicalize_graph,
    canonicalize_lattice,
    canonicalize_lattice_exhaustive,
    random_relabelling,
    sample_graph_inversion_kernel,
    sample_inversion_kernel,
    uniform_below,
    uniform_integers,
)
from backend.groups import LatticeElement, LatticeGroup, Permutation

F64 = dict(dtype=torch.float64)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def canon(G: nx.Graph, node_colors=None, edge_colors=None):
    G = nx.convert_node_labels_to_integers(G, ordering="sorted")
    return canonicalize_graph(G.number_of_nodes(), list(G.edges()), node_colors, edge_colors)


def nx_aut_count(G: nx.Graph, node_attr=None, edge_attr=None) -> int:
    nm = (lambda a, b: a[node_attr] == b[node_attr]) if node_attr else None
    em = (lambda a, b: a[edge_attr] == b[edge_attr]) if edge_attr else None
    return sum(1 for _ in GraphMatcher(G, G, node_match=nm, edge_match=em).isomorphisms_iter())


def asymmetric_graph() -> nx.Graph:
    for seed in range(100):
        G = nx.gnp_random_graph(8, 0.5, seed=seed)
        if nx.is_connected(G) and nx_aut_count(G) == 1:
            return G
    raise AssertionError("no asymmetric graph found")


# ----------------------------------------------------------------------------------------------------------------------
# Automorphism group orders


@pytest.mark.parametrize("n", range(3, 13))
def test_cycle_order(n):
    assert canon(nx.cycle_graph(n)).automorphism_group_order == 2 * n


@pytest.mark.parametrize("n", range(1, 9))
def test_complete_order(n):
    f = canon(nx.complete_graph(n))
    assert f.automorphism_group_order == math.factorial(n)
    assert isinstance(f.automorphism_group_order, int)


def test_complete_20_exact():
    f = canon(nx.complete_graph(20))
    assert type(f.automorphism_group_order) is int
    assert f.automorphism_group_order == 2432902008176640000 == math.factorial(20)


@pytest.mark.parametrize("m,n", [(1, 2), (2, 3), (2, 4), (3, 5), (1, 1), (2, 2), (3, 3), (4, 4)])
def test_complete_bipartite_order(m, n):
    expected = math.factorial(m) * math.factorial(n) * (2 if m == n else 1)
    assert canon(nx.complete_bipartite_graph(m, n)).automorphism_group_order == expected


@pytest.mark.parametrize("n", [2, 3, 5, 8])
def test_path_order(n):
    assert canon(nx.path_graph(n)).automorphism_group_order == 2


@pytest.mark.parametrize("n", [2, 3, 4, 6])
def test_star_order(n):
    assert canon(nx.star_graph(n)).automorphism_group_order == math.factorial(n)


def test_petersen_order():
    assert canon(nx.petersen_graph()).automorphism_group_order == 120


@pytest.mark.parametrize("d", [2, 3, 4, 5])
def test_hypercube_order(d):
    assert canon(nx.hypercube_graph(d)).automorphism_group_order == 2**d * math.factorial(d)


def test_asymmetric_graph():
    G = asymmetric_graph()
    assert nx_aut_count(G) == 1
    f = canon(G)
    assert f.automorphism_group_order == 1
    assert f.generators == ()
    assert f.orbits == [[i] for i in range(8)]


def test_empty_graph_orders():
    assert canonicalize_graph(1, []).automorphism_group_order == 1
    assert canonicalize_graph(4, []).automorphism_group_order == 24


def test_orbits():
    assert canon(nx.path_graph(5)).orbits == [[0, 4], [1, 3], [2]]
    assert canon(nx.path_graph(4)).orbits == [[0, 3], [1, 2]]
    assert canon(nx.star_graph(4)).orbits == [[0], [1, 2, 3, 4]]
    assert canon(nx.cycle_graph(7)).orbits == [list(range(7))]
    assert canon(nx.complete_bipartite_graph(2, 3)).orbits == [[0, 1], [2, 3, 4]]
    # a path with a pendant: 0-1-2-3, 1-4: orbits {0,4}, {1}, {2}, {3}
    assert canonicalize_graph(5, [(0, 1), (1, 2), (2, 3), (1, 4)]).orbits == [[0, 4], [1], [2], [3]]


# ----------------------------------------------------------------------------------------------------------------------
# Canonical forms


def _relabel(n, edges, perm):
    return [(perm[u], perm[v]) for u, v in edges]


def _full_form(f, node_colors):
    """Canonical edges (with colours) plus the node colours in canonical order."""
    nc = None if node_colors is None else tuple(node_colors[v] for v in f.order)
    return f.canonical_edges, nc


GRAPHS = {
    "C6": nx.cycle_graph(6),
    "petersen": nx.petersen_graph(),
    "Q3": nx.hypercube_graph(3),
    "K23": nx.complete_bipartite_graph(2, 3),
    "gnp": nx.gnp_random_graph(10, 0.35, seed=5),
    "tree": nx.random_labeled_tree(9, seed=3) if hasattr(nx, "random_labeled_tree") else nx.random_tree(9, seed=3),
}


@pytest.mark.parametrize("name", list(GRAPHS))
@pytest.mark.parametrize("coloured", ["plain", "nodes", "nodes+edges"])
def test_canonical_form_invariant_under_relabeling(name, coloured):
    G = nx.convert_node_labels_to_integers(GRAPHS[name], ordering="sorted")
    n, edges = G.number_of_nodes(), list(G.edges())
    r = gen(zlib.crc32(f"{name}/{coloured}".encode()))
    ncol = torch.randint(2, (n,), generator=r).tolist() if coloured != "plain" else None
    ecol = torch.randint(3, (len(edges),), generator=r).tolist() if coloured == "nodes+edges" else None
    f0 = canonicalize_graph(n, edges, ncol, ecol)
    ref = _full_form(f0, ncol)
    A = dense(G)
    for _ in range(20):
        p = Permutation.random(n, generator=r).tolist()
        e2 = _relabel(n, edges, p)
        nc2 = None if ncol is None else [ncol[p.index(i)] for i in range(n)]
        f = canonicalize_graph(n, e2, nc2, ecol)
        assert _full_form(f, nc2) == ref
        assert f.automorphism_group_order == f0.automorphism_group_order
        # C[k, l] = A'[γ[k], γ[l]]
        A2 = Permutation(torch.tensor(p)).act_edges(A)
        g = torch.tensor(f.order)
        assert torch.equal(A2[g][:, g], f.canonical_adjacency())
    # the canonical data is consistent with γ on the original graph
    g = torch.tensor(f0.order)
    assert sorted(f0.order) == list(range(n))
    assert torch.equal(A[g][:, g], f0.canonical_adjacency())


def test_canonical_form_distinguishes_non_isomorphic():
    c6 = canon(nx.cycle_graph(6))
    two_triangles = canonicalize_graph(6, [(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5)])
    assert c6.canonical_edges != two_triangles.canonical_edges
    assert two_triangles.automorphism_group_order == 72
    # same graph, different colourings that are not related by an automorphism
    p = [(0, 1), (1, 2), (2, 3)]
    assert _full_form(canonicalize_graph(4, p, [1, 0, 0, 0]), [1, 0, 0, 0]) != _full_form(
        canonicalize_graph(4, p, [0, 1, 0, 0]), [0, 1, 0, 0])
    assert canonicalize_graph(4, p, edge_colors=[1, 0, 0]).canonical_edges != canonicalize_graph(
        4, p, edge_colors=[0, 1, 0]).canonical_edges


def test_dense_matches_edge_list():
    G = nx.petersen_graph()
    A = dense(G)
    f1, f2 = canon(G), canonicalize_dense(A)
    assert f1.canonical_edges == f2.canonical_edges
    assert f1.automorphism_group_order == f2.automorphism_group_order
    padded = torch.zeros(12, 12, **F64)
    padded[:10, :10] = A
    f3 = canonicalize_dense(padded, 10)
    assert f3.n == 10 and f3.canonical_edges == f1.canonical_edges


# ----------------------------------------------------------------------------------------------------------------------
# Colours


def test_alternating_edge_colours_c6():
    edges = [(i, (i + 1) % 6) for i in range(6)]
    f = canonicalize_graph(6, edges, edge_colors=[i % 2 for i in range(6)])
    assert f.automorphism_group_order == 6
    # every generator preserves the edge colours
    col = {frozenset(e): i % 2 for i, e in enumerate(edges)}
    for gen_ in f.generators:
        for e, c in col.items():
            u, v = tuple(e)
            assert col[frozenset((gen_[u], gen_[v]))] == c
    # all three colours on C6 with pattern 0,1,2,0,1,2: rotations by 3 steps... only rotations by multiples of 3
    f3 = canonicalize_graph(6, edges, edge_colors=[i % 3 for i in range(6)])
    assert f3.automorphism_group_order == nx_aut_count(_coloured_nx(6, edges, None, [i % 3 for i in range(6)]), None, "c")


def test_node_colours_break_path_symmetry():
    p = [(0, 1), (1, 2), (2, 3), (3, 4)]
    assert canonicalize_graph(5, p).automorphism_group_order == 2
    assert canonicalize_graph(5, p, [1, 0, 0, 0, 0]).automorphism_group_order == 1
    assert canonicalize_graph(5, p, [1, 0, 0, 0, 1]).automorphism_group_order == 2
    assert canonicalize_graph(5, p, [0, 0, 1, 0, 0]).automorphism_group_order == 2
    assert canonicalize_graph(5, p, [1, 0, 0, 0, 1]).orbits == [[0, 4], [1, 3], [2]]
    assert canonicalize_graph(5, p, [1, 0, 0, 0, 0]).orbits == [[0], [1], [2], [3], [4]]


def _coloured_nx(n, edges, ncol, ecol):
    G = nx.Graph()
    G.add_nodes_from(range(n))
    for i in range(n):
        G.nodes[i]["c"] = 0 if ncol is None else ncol[i]
    for k, (u, v) in enumerate(edges):
        G.add_edge(u, v, c=0 if ecol is None else ecol[k])
    return G


def _brute_orbits(G, node_attr, edge_attr):
    nm = (lambda a, b: a[node_attr] == b[node_attr]) if node_attr else None
    em = (lambda a, b: a[edge_attr] == b[edge_attr]) if edge_attr else None
    parent = {i: {i} for i in G.nodes}
    for iso in GraphMatcher(G, G, node_match=nm, edge_match=em).isomorphisms_iter():
        for i, j in iso.items():
            parent[i].add(j)
    return sorted({tuple(sorted(s)) for s in parent.values()})


def test_coloured_orders_match_brute_force():
    r = gen(123)
    for trial in range(30):
        n = int(torch.randint(2, 8, (1,), generator=r))
        upper = (torch.rand(n, n, generator=r, **F64) < 0.5).triu(1)
        edges = [(int(u), int(v)) for u, v in upper.nonzero().tolist()]
        ncol = torch.randint(2, (n,), generator=r).tolist() if trial % 3 != 0 else None
        ecol = torch.randint(2, (len(edges),), generator=r).tolist() if trial % 2 == 0 and edges else None
        G = _coloured_nx(n, edges, ncol, ecol)
        f = canonicalize_graph(n, edges, ncol, ecol)
        expected = nx_aut_count(G, "c", "c")
        assert f.automorphism_group_order == expected, (trial, n, edges, ncol, ecol)
        assert [tuple(o) for o in f.orbits] == _brute_orbits(G, "c", "c"), trial
        # generators are coloured automorphisms
        for g_ in f.generators:
            mapping = dict(enumerate(g_))
            for u, v, d in G.edges(data=True):
                assert G.has_edge(mapping[u], mapping[v]) and G.edges[mapping[u], mapping[v]]["c"] == d["c"]
            for i in range(n):
                assert G.nodes[mapping[i]]["c"] == G.nodes[i]["c"]


# ----------------------------------------------------------------------------------------------------------------------
# Inversion kernel


def _orderings(f, num, seed):
    return f.sample(num, gen(seed))


@pytest.mark.parametrize("name,num", [("C6", 400), ("K23", 400), ("Q3", 1500), ("petersen", 1500)])
def test_inversion_kernel_exact(name, num):
    G = nx.convert_node_labels_to_integers(GRAPHS[name], ordering="sorted")
    A = dense(G)
    f = canon(G)
    C = f.canonical_adjacency()
    hs = _orderings(f, num, seed=1)
    assert hs.shape == (num, G.number_of_nodes()) and hs.dtype == torch.long
    for h in hs:
        assert torch.equal(A[h][:, h], C)
    distinct = {tuple(h) for h in hs.tolist()}
    assert len(distinct) == min(f.automorphism_group_order, num)
    if name != "petersen":
        assert len(distinct) == f.automorphism_group_order
    # the ordering of every sample is s∘γ for an automorphism s
    gamma = torch.tensor(f.order)
    for h in list(distinct)[:50]:
        s = torch.empty_like(gamma)
        s[gamma] = torch.tensor(h)  # s[γ[k]] = h[k]
        assert torch.equal(Permutation(s).act_edges(A), A)


def test_inversion_kernel_asymmetric_is_deterministic():
    G = asymmetric_graph()
    f = canon(G)
    hs = f.sample(20, gen(0))
    assert (hs == torch.tensor(f.order)).all()
    A = dense(G)
    assert torch.equal(A[hs[0]][:, hs[0]], f.canonical_adjacency())


def _padded_batch():
    graphs = [nx.cycle_graph(6), nx.complete_bipartite_graph(2, 3), nx.path_graph(4), nx.hypercube_graph(3)]
    n = 8
    B = len(graphs)
    adj = torch.zeros(B, n, n, **F64)
    mask = torch.zeros(B, n, dtype=torch.bool)
    for b, G in enumerate(graphs):
        A = dense(G)
        m = A.shape[0]
        adj[b, :m, :m] = A
        mask[b, :m] = True
    return adj, mask


def test_sample_graph_inversion_kernel_padded_batch():
    adj, mask = _padded_batch()
    B, n = mask.shape
    # garbage in the padding must not matter
    adj = adj.clone()
    r = gen(3)
    for trial in range(10):
        h = sample_graph_inversion_kernel(adj, mask, generator=r)
        assert isinstance(h, Permutation) and h.perm.shape == (B, n)
        for b in range(B):
            m = int(mask[b].sum())
            row = h.perm[b]
            assert row[m:].tolist() == list(range(m, n))
            assert sorted(row[:m].tolist()) == list(range(m))
            C = canonicalize_dense(adj[b], m).canonical_adjacency()
            hb = row[:m]
            assert torch.equal(adj[b][hb][:, hb], C)
        # the permuted batch: canonical adjacency read off from the ordering
        canon_batch = h.inverse().act_edges(adj)  # (h⁻¹·A)[k, l] = A[h[k], h[l]]
        for b in range(B):
            m = int(mask[b].sum())
            assert torch.equal(canon_batch[b, :m, :m], canonicalize_dense(adj[b], m).canonical_adjacency())


@pytest.mark.parametrize("colours", ["none", "nodes", "nodes and edges"])
def test_a_batch_of_one_graph_draws_what_the_batch_path_draws(colours):
    """A batch of one graph skips the batch bookkeeping (_relabel_and_canonicalize_one); from the same generator
    state it gives the batch path's sample, padding and one- or many-coloured edges included."""
    r = gen(11)
    for trial in range(150):
        n = int(torch.randint(1, 11, (1,), generator=r))
        m = int(torch.randint(0, n + 1, (1,), generator=r))
        E = torch.randint(1, 4, (1, n, n), generator=r) * (torch.rand(1, n, n, generator=r) < 0.5)
        E = E.triu(1) + E.triu(1).transpose(1, 2)
        X = torch.randint(0, 3, (1, n), generator=r)
        mask = torch.arange(n)[None] < m
        X, T = (X if colours != "none" else None), (E if colours == "nodes and edges" else None)
        h = sample_graph_inversion_kernel((E > 0).double(), mask, gen(trial), node_colors=X, edge_types=T).perm
        A = (E > 0) & mask[:, :, None] & mask[:, None, :]
        batch = canonical._relabel_and_canonicalize(A, mask.sum(-1), None if X is None else X * mask,
                                                    None if T is None else T * A, gen(trial))
        assert torch.equal(h, batch), trial


def test_sample_graph_inversion_kernel_with_colours():
    adj, mask = _padded_batch()
    B, n = mask.shape
    r = gen(4)
    node_colors = torch.randint(2, (B, n), generator=r)
    et = torch.randint(1, 3, (B, n, n), generator=r)
    edge_types = (et.triu(1) + et.triu(1).transpose(1, 2)) * (adj != 0)
    for _ in range(5):
        h = sample_graph_inversion_kernel(adj, mask, generator=r, node_colors=node_colors, edge_types=edge_types)
        for b in range(B):
            m = int(mask[b].sum())
            f = canonicalize_dense(adj[b], m, node_colors[b].tolist(), edge_types[b])
            hb = h.perm[b, :m]
            assert h.perm[b, m:].tolist() == list(range(m, n))
            assert torch.equal(node_colors[b][hb], node_colors[b][torch.tensor(f.order)])
            assert torch.equal(edge_types[b][hb][:, hb], edge_types[b][torch.tensor(f.order)][:, torch.tensor(f.order)])


# ----------------------------------------------------------------------------------------------------------------------
# Uniformity


@pytest.mark.parametrize("name", ["C6", "K23"])
def test_inversion_kernel_uniform_chisquare(name):
    f = canon(GRAPHS[name])
    assert f.automorphism_group_order == 12
    hs = f.sample(6000, gen(2024))
    counts = Counter(tuple(h) for h in hs.tolist())
    assert len(counts) == 12
    p = chisquare(list(counts.values())).pvalue
    assert p > 1e-3, (p, counts)


# ----------------------------------------------------------------------------------------------------------------------
# The three samplers: relabel-and-canonicalize, stabilizer chain, sympy's Schreier–Sims (reference)

SAMPLER_CASES = {
    # name: (graph, node colours, edge colour rule, |Aut|); the orders are derived by hand and re-checked by VF2 below
    "C5": (nx.cycle_graph(5), None, None, 10),
    "K4": (nx.complete_graph(4), None, None, 24),
    "star5": (nx.star_graph(4), None, None, 24),
    "Q3": (nx.hypercube_graph(3), None, None, 48),
    "two_triangles": (nx.disjoint_union(nx.cycle_graph(3), nx.cycle_graph(3)), None, None, 72),
    "C6_alternating_bonds": (nx.cycle_graph(6), None, lambda u, v: 1 if {u, v} == {0, 5} else min(u, v) % 2, 6),
    "C6_two_red_opposite": (nx.cycle_graph(6), [1, 0, 0, 1, 0, 0], None, 4),
    "K4_one_coloured_edge": (nx.complete_graph(4), None, lambda u, v: int({u, v} == {0, 1}), 4),
}


def _case(name):
    G, nc, rule, order = SAMPLER_CASES[name]
    G = nx.convert_node_labels_to_integers(G, ordering="sorted")
    edges = list(G.edges())
    return G, edges, nc, None if rule is None else [rule(u, v) for u, v in edges], order


def _is_kernel_sample(G, edges, nc, ec, f, h):
    """h gives the canonical form: the same coloured canonical edges and node colours as γ."""
    position = {node: k for k, node in enumerate(h)}
    colours = ec if ec is not None else [0] * len(edges)
    got = tuple(sorted((min(position[u], position[v]), max(position[u], position[v]), int(c)) for (u, v), c in zip(edges, colours)))
    same_nodes = nc is None or [nc[v] for v in h] == [nc[v] for v in f.order]
    return got == f.canonical_edges and same_nodes


@pytest.mark.parametrize("name", list(SAMPLER_CASES))
def test_orders_of_the_sampler_cases(name):
    G, edges, nc, ec, order = _case(name)
    for u, c in enumerate(nc or [0] * G.number_of_nodes()):
        G.nodes[u]["c"] = c
    for (u, v), c in zip(edges, ec or [0] * len(edges)):
        G.edges[u, v]["c"] = c
    assert nx_aut_count(G, "c", "c") == order
    assert canonicalize_graph(G.number_of_nodes(), edges, nc, ec).automorphism_group_order == order


@pytest.mark.parametrize("method", ["relabel", "chain", "auto"])
@pytest.mark.parametrize("name", list(SAMPLER_CASES))
def test_every_sampler_is_uniform_on_the_coset(name, method):
    G, edges, nc, ec, order = _case(name)
    f = canonicalize_graph(G.number_of_nodes(), edges, nc, ec)
    draws, r = 40 * order, gen(17)
    hs = f.sample(draws, r, method=method).tolist() if method != "relabel" else [
        sample_inversion_kernel(G.number_of_nodes(), edges, nc, ec, r).tolist() for _ in range(draws)]
    assert all(_is_kernel_sample(G, edges, nc, ec, f, h) for h in hs)
    counts = Counter(map(tuple, hs))
    assert len(counts) == order  # every ordering of the coset is reached
    assert chisquare(list(counts.values())).pvalue > 1e-4, counts


@pytest.mark.parametrize("name", ["C5", "Q3", "C6_alternating_bonds", "K4_one_coloured_edge"])
def test_new_samplers_agree_in_distribution_with_schreier_sims(name):
    G, edges, nc, ec, order = _case(name)
    f = canonicalize_graph(G.number_of_nodes(), edges, nc, ec)
    draws = 30 * order
    samples = {m: Counter(map(tuple, f.sample(draws, gen(5), method=m).tolist())) for m in ("sympy", "chain", "relabel")}
    keys = sorted(samples["sympy"])
    assert all(sorted(c) == keys for c in samples.values())
    table = [[samples[m][k] for k in keys] for m in samples]
    assert chi2_contingency(table).pvalue > 1e-4


def test_relabel_sampler_in_a_padded_coloured_batch_of_distinct_graphs():
    """Distinct graphs in a batch go through sample_inversion_kernel; repeated ones through one shared form."""
    G, edges, nc, ec, order = _case("C6_two_red_opposite")
    n = 6
    adj = dense(G).expand(3, n, n).clone()
    colours = torch.tensor([nc, nc, [0] * n])
    mask = torch.ones(3, n, dtype=torch.bool)
    seen = [Counter(), Counter()]
    for seed in range(200):
        h = sample_graph_inversion_kernel(adj, mask, gen(seed), node_colors=colours).perm
        assert torch.equal(colours[0][h[0]], colours[0][h[1]])  # both coloured copies read the canonical colouring
        seen[0][tuple(h[0].tolist())] += 1
        seen[1][tuple(h[2].tolist())] += 1
    assert len(seen[0]) == order and len(seen[1]) == 12


def test_sampling_methods_are_validated():
    f = canon(nx.cycle_graph(5))
    with pytest.raises(ValueError, match="unknown sampling method"):
        f.sample(1, gen(0), method="fast")


def test_large_symmetric_groups_cost_what_bliss_costs():
    """Exact orders far beyond 2^53 without Schreier–Sims, and samples without a chain when it would be too large."""
    assert canonicalize_graph(30, list(nx.complete_graph(30).edges())).automorphism_group_order == math.factorial(30)
    empty = canonicalize_graph(200, [])
    assert empty.automorphism_group_order == math.factorial(200)
    assert empty.chain is None  # S_200's chain would exceed the bounds: auto falls back to relabelling
    hs = empty.sample(3, gen(0))
    assert all(sorted(h) == list(range(200)) for h in hs.tolist())
    star = canonicalize_graph(101, [(0, i) for i in range(1, 101)])
    assert star.automorphism_group_order == math.factorial(100) and star.orbits == [[0], list(range(1, 101))]


def test_stabilizer_chain_base_and_transversals():
    f = canon(nx.petersen_graph())
    chain = f.chain
    assert math.prod(t.shape[0] for t in chain.transversals) == f.automorphism_group_order == 120
    A = dense(nx.petersen_graph())
    for level, (b, t) in enumerate(zip(chain.base, chain.transversals)):
        for u in t:
            assert torch.equal(Permutation(u).act_edges(A), A)  # every representative is an automorphism
            assert all(int(u[p]) == p for p in chain.base[:level])  # that fixes the earlier base points
        assert len({int(u[b]) for u in t}) == t.shape[0]  # and the representatives send b to distinct points


def test_uniform_integers_and_relabellings():
    r = gen(11)
    for bound in (1, 2, 3, 7, 10):
        draws = uniform_integers(bound, 300 * bound, r)
        assert draws.min() >= 0 and draws.max() < bound
        if bound > 1:
            counts = Counter(draws.tolist())
            assert chisquare([counts[i] for i in range(bound)]).pvalue > 1e-4
    big = uniform_integers(2**62, 1000, r)
    assert (big >= 0).all() and len(set(big.tolist())) == 1000
    with pytest.raises(ValueError):
        uniform_integers(0, 1, r)
    perms = Counter(tuple(random_relabelling(4, r).tolist()) for _ in range(24 * 60))
    assert len(perms) == 24 and chisquare(list(perms.values())).pvalue > 1e-4


def test_uniform_integers_with_one_bound_per_draw_and_several_words_per_round():
    """Per-draw bounds (the lattice kernel's coset sizes) and the first accepted of several words stay uniform."""
    r = gen(12)
    bounds = torch.tensor([1, 2, 3, 5, 12, 16, 17, 1024])
    for words in (1, 8):
        draws = uniform_integers(bounds.repeat(4000), 8 * 4000, r, words=words).reshape(4000, 8)
        assert (draws >= 0).all() and (draws < bounds).all()
        for j, b in enumerate(bounds.tolist()):
            if 1 < b <= 17:
                counts = torch.bincount(draws[:, j], minlength=b).tolist()
                assert chisquare(counts).pvalue > 1e-4, (words, b)
    with pytest.raises(ValueError):
        uniform_integers(torch.tensor([3, 0]), 2, r)


def test_bit_length_is_exact_where_float64_rounds():
    values = [0, 1, 2, 3, 2**52 - 1, 2**53 - 1, 2**53 + 1, 2**61 - 1, 2**62 - 1, 2**62]
    values += [2**k + d for k in range(62) for d in (-1, 0, 1) if 0 <= 2**k + d <= 2**62]
    assert canonical._bit_length(torch.tensor(values)).tolist() == [v.bit_length() for v in values]


def test_uniform_below_small_chisquare():
    r = gen(9)
    for n in (1, 2, 3, 7, 12):
        draws = [uniform_below(n, r) for _ in range(600 * n)]
        assert all(0 <= d < n for d in draws)
        if n > 1:
            counts = Counter(draws)
            assert len(counts) == n
            assert chisquare([counts[i] for i in range(n)]).pvalue > 1e-3
    with pytest.raises(ValueError):
        uniform_below(0, r)


def test_uniform_below_huge():
    r = gen(10)
    for n in (10**40, 2**62, 2**62 + 1, 2**124, math.factorial(30)):
        draws = [uniform_below(n, r) for _ in range(300)]
        assert all(isinstance(d, int) and 0 <= d < n for d in draws)
        # the draws spread over the whole range (top and bottom halves, and distinct)
        assert len(set(draws)) == 300
        lo = sum(d < n // 2 for d in draws)
        assert 100 < lo < 200, (n, lo)
        assert max(draws) > n * 0.9 and min(draws) < n * 0.1


def test_padded_batch_with_repeated_empty_graphs():
    """Graphs without nodes that occur more than once in a batch are canonicalized once (the repeated-graph path),
    and keep the identity."""
    adj, mask = torch.zeros(3, 4, 4), torch.zeros(3, 4, dtype=torch.bool)
    mask[2, :2] = True
    h = sample_graph_inversion_kernel(adj, mask, generator=gen(0))
    assert torch.equal(h.perm[:2], torch.arange(4).expand(2, 4))
    assert sorted(h.perm[2, :2].tolist()) == [0, 1] and h.perm[2, 2:].tolist() == [2, 3]
    assert canonicalize_graph(0, []).automorphism_group_order == 1


def test_private_generator_reproducible_and_global_state_untouched():
    f = canon(nx.hypercube_graph(3))
    torch.manual_seed(777)
    state = torch.get_rng_state()
    a = f.sample(50, gen(5))
    b = f.sample(50, gen(5))
    assert torch.equal(a, b)
    c = f.sample(50, gen(6))
    assert not torch.equal(a, c)
    adj, mask = _padded_batch()
    h1 = sample_graph_inversion_kernel(adj, mask, generator=gen(8))
    h2 = sample_graph_inversion_kernel(adj, mask, generator=gen(8))
    assert torch.equal(h1.perm, h2.perm)
    draws1 = [uniform_below(10**30, gen(1)) for _ in range(3)]
    assert len(set(draws1)) == 1
    G = LatticeGroup(3, True)
    form = canonicalize_lattice(G, torch.zeros(1, 1, 3, 3, **F64), torch.ones(1, 2, 3, 3, **F64), odd=[True])
    s1 = form.sample(gen(3), num_samples=20)
    s2 = form.sample(gen(3), num_samples=20)
    assert torch.equal(s1.point, s2.point) and torch.equal(s1.shift, s2.shift) and torch.equal(s1.sign, s2.sign)
    assert torch.equal(torch.get_rng_state(), state)


# ----------------------------------------------------------------------------------------------------------------------
# Lattices


def _act(g: LatticeElement, sites, bonds, odd):
    """g·x for a single input (C, L, L) / (2, L, L), each site channel with its own parity; g may be batched."""
    chans = [g.act_sites(sites[c : c + 1], odd=o) for c, o in enumerate(odd)]
    s = torch.cat(chans, dim=-3)
    b = None if bonds is None else g.act_bonds(bonds)
    return s, b


def _brute_force(G: LatticeGroup, sites, bonds, odd):
    """Stabilizer and coset {g : g⁻¹x = c(x)} from the group action directly (no lattice_orbit)."""
    els = G.elements()
    inv = els.inverse()
    s_all, b_all = _act(inv, sites, bonds, odd)  # row g: g⁻¹·x
    flat = s_all.reshape(G.order, -1)
    if b_all is not None:
        flat = torch.cat([flat, b_all.reshape(G.order, -1)], -1)
    x = flat[0]
    stab = (flat == x).all(-1)
    # lexicographic minimum computed independently with Python tuples
    rows = [tuple(r) for r in flat.tolist()]
    best = min(rows)
    coset = torch.tensor([r == best for r in rows])
    return stab, coset, torch.tensor(best, **F64)


def _check_form(G, sites, bonds, odd, seed, expected_stab=None):
    L = G.L
    form = canonicalize_lattice(G, sites.unsqueeze(0), None if bonds is None else bonds.unsqueeze(0), odd)
    assert form.coset_mask.shape == (1, G.order) and form.stabilizer_mask.shape == (1, G.order)
    stab, coset, best = _brute_force(G, sites, bonds, odd)
    assert torch.equal(form.stabilizer_mask[0], stab)
    assert torch.equal(form.coset_mask[0], coset)
    assert int(form.stabilizer_order[0]) == int(stab.sum()) == int(coset.sum())
    if expected_stab is not None:
        assert int(form.stabilizer_order[0]) == expected_stab
    assert bool(form.stabilizer_mask[0, 0])  # identity
    gamma = form.gamma[0]
    assert bool(form.coset_mask[0, form.canonical_index[0]])
    c_s, c_b = _act(gamma.inverse(), sites, bonds, odd)
    flat_c = c_s.reshape(-1) if c_b is None else torch.cat([c_s.reshape(-1), c_b.reshape(-1)])
    assert torch.equal(flat_c, best)
    # coset = G_x·γ
    stab_idx = form.stabilizer_mask[0].nonzero().squeeze(-1)
    prods = G.elements()[stab_idx].compose(gamma)
    idx = _indices(G, prods)
    assert set(idx) == set(form.coset_mask[0].nonzero().squeeze(-1).tolist())
    # invariance of the canonical form under random g
    r = gen(seed)
    for k in torch.randint(G.order, (6,), generator=r).tolist():
        g = G.elements()[k]
        gs, gb = _act(g, sites, bonds, odd)
        form_g = canonicalize_lattice(G, gs.unsqueeze(0), None if gb is None else gb.unsqueeze(0), odd)
        cg_s, cg_b = _act(form_g.gamma[0].inverse(), gs, gb, odd)
        assert torch.equal(cg_s, c_s)
        if bonds is not None:
            assert torch.equal(cg_b, c_b)
        assert int(form_g.stabilizer_order[0]) == int(form.stabilizer_order[0])
        # the coset of g·x is g times the coset of x
        coset_idx = form.coset_mask[0].nonzero().squeeze(-1)
        moved = _indices(G, g.compose(G.elements()[coset_idx]))
        assert set(moved) == set(form_g.coset_mask[0].nonzero().squeeze(-1).tolist())
    return form


def _indices(G, els):
    table = {(int(k), tuple(t), int(z)): i for i, (k, t, z) in enumerate(
        zip(G.elements().point.tolist(), G.elements().shift.tolist(), G.elements().sign.tolist()))}
    return [table[(int(k), tuple(t), int(z))] for k, t, z in zip(els.point.tolist(), els.shift.tolist(), els.sign.tolist())]


def _const(L, jx, jy, h):
    sites = torch.full((1, L, L), float(h), **F64)
    bonds = torch.stack([torch.full((L, L), float(jx), **F64), torch.full((L, L), float(jy), **F64)])
    return sites, bonds


@pytest.mark.parametrize("L", [2, 3, 4])
@pytest.mark.parametrize("spin_flip", [False, True])
@pytest.mark.parametrize("jx,jy,h", [(1.0, 1.0, 0.0), (1.0, -0.5, 0.0), (1.0, 1.0, 0.3), (0.5, 2.0, -1.0)])
def test_lattice_constant_inputs(L, spin_flip, jx, jy, h):
    G = LatticeGroup(L, spin_flip)
    # by hand: rotations by ±90° and diagonal mirrors swap J_x and J_y (4 of the 8 point elements);
    # the spin flip fixes the input iff h = 0 (h is odd, couplings are even)
    point = 8 if jx == jy else 4
    flip = 2 if (spin_flip and h == 0.0) else 1
    expected = point * L * L * flip
    sites, bonds = _const(L, jx, jy, h)
    form = _check_form(G, sites, bonds, [True], seed=L, expected_stab=expected)
    # all translations are in the stabilizer
    els = G.elements()
    translations = (els.point == 0) & (els.sign == 1)
    assert int(translations.sum()) == L * L
    assert form.stabilizer_mask[0][translations].all()


def test_lattice_sites_only_constant():
    G = LatticeGroup(3, True)
    form = _check_form(G, torch.full((2, 3, 3), 0.7, **F64), None, [False, False], seed=0, expected_stab=G.order)
    assert form.coset_mask.all()
    # one odd nonzero channel halves it
    _check_form(G, torch.full((2, 3, 3), 0.7, **F64), None, [False, True], seed=0, expected_stab=G.order // 2)


@pytest.mark.parametrize("L", [3, 4, 5])
@pytest.mark.parametrize("spin_flip", [False, True])
def test_lattice_random_inputs_trivial_stabilizer(L, spin_flip):
    G = LatticeGroup(L, spin_flip)
    r = gen(100 + L)
    sites = torch.randn(1, L, L, generator=r, **F64)
    bonds = torch.randn(2, L, L, generator=r, **F64)
    _check_form(G, sites, bonds, [True], seed=L, expected_stab=1)
    # sites only, two channels (one odd)
    sites2 = torch.randn(2, L, L, generator=r, **F64)
    _check_form(G, sites2, None, [False, True], seed=L + 1, expected_stab=1)


@pytest.mark.parametrize("L", [3, 4, 5])
@pytest.mark.parametrize("d", [0, 1])
@pytest.mark.parametrize("spin_flip", [False, True])
def test_lattice_single_defect_bond(L, d, spin_flip):
    G = LatticeGroup(L, spin_flip)
    sites, bonds = _const(L, 1.0, 1.0, 0.0)
    p = (1, 2)
    bonds[d, p[0], p[1]] = 3.0
    # stabilizer by brute force from the endpoints: g maps {p, p + e_d} onto itself
    e = torch.tensor([[0, 1], [1, 0]])[d]
    a = torch.tensor(p)
    b = (a + e) % L
    els = G.elements()
    ga = els.act_site_coords(a.expand(G.order, 2)).tolist()
    gb = els.act_site_coords(b.expand(G.order, 2)).tolist()
    fixes = torch.tensor([{tuple(u), tuple(v)} == {tuple(a.tolist()), tuple(b.tolist())} for u, v in zip(ga, gb)])
    # h = 0, so every spin-flipped element also fixes the input
    assert int(fixes.sum()) == 4 * (2 if spin_flip else 1)
    form = _check_form(G, sites, bonds, [True], seed=7 * L + d, expected_stab=int(fixes.sum()))
    assert torch.equal(form.stabilizer_mask[0], fixes)
    # the non-trivial point parts are the two reflections fixing the bond and their product (a 180° rotation)
    pts = sorted(set(els.point[fixes].tolist()))
    assert pts == sorted({0, 2, 4, 6})


def test_lattice_batched_matches_single():
    L = 4
    G = LatticeGroup(L, True)
    r = gen(5)
    sites = torch.randn(3, 1, L, L, generator=r, **F64)
    bonds = torch.randn(3, 2, L, L, generator=r, **F64)
    sites[1] = 0.5
    bonds[1] = 1.0
    sites[2] = 0.0
    bonds[2] = 1.0
    bonds[2, 0, 0, 0] = 2.0
    form = canonicalize_lattice(G, sites, bonds, [True])
    for b in range(3):
        single = canonicalize_lattice(G, sites[b], bonds[b], [True])  # unbatched (C, L, L) input
        assert torch.equal(form.coset_mask[b], single.coset_mask[0])
        assert torch.equal(form.stabilizer_mask[b], single.stabilizer_mask[0])
        assert int(form.canonical_index[b]) == int(single.canonical_index[0])
    assert form.stabilizer_order.tolist() == [1, 8 * L * L, 8]  # h = 0.5 rules out the flip


def test_lattice_sample_uniform_over_coset():
    L = 3
    G = LatticeGroup(L, False)
    sites, bonds = _const(L, 1.0, 2.0, 0.0)
    form = canonicalize_lattice(G, sites.unsqueeze(0), bonds.unsqueeze(0), [True])
    coset = form.coset_mask[0].nonzero().squeeze(-1).tolist()
    assert len(coset) == 4 * L * L
    s = form.sample(gen(11), num_samples=7200)
    assert s.point.shape == (1, 7200)
    idx = _indices(G, s[0])
    counts = Counter(idx)
    assert set(counts) == set(coset)
    assert chisquare([counts[i] for i in coset]).pvalue > 1e-3
    # every sample reaches the canonical form
    c_s, c_b = _act(form.gamma[0].inverse(), sites, bonds, [True])
    ss, sb = _act(s[0].inverse(), sites, bonds, [True])
    assert torch.equal(ss, c_s.expand_as(ss)) and torch.equal(sb, c_b.expand_as(sb))
    single = form.sample(gen(12))
    assert single.point.shape == (1,)
    assert bool(form.coset_mask[0, _indices(G, single)[0]])


# ----------------------------------------------------------------------------------------------------------------------
# Fast lattice canonicalization against the exhaustive reference


def _lattice_inputs(kind: str, L: int, r: torch.Generator):
    """(sites (3, C, L, L), bonds (3, 2, L, L) or None, odd) of one kind, a batch of 3."""
    ones = torch.ones(3, 1, L, L, **F64)
    if kind == "random":
        return torch.randn(3, 1, L, L, generator=r, **F64), torch.randn(3, 2, L, L, generator=r, **F64), [True]
    if kind == "constant":
        return 0 * ones, -torch.ones(3, 2, L, L, **F64), [True]
    if kind == "stripes":
        rows = torch.tensor([(-1.0) ** i for i in range(L)], **F64)[:, None].expand(L, L)
        return rows.expand(3, 1, L, L).clone(), torch.stack([torch.ones(L, L, **F64), -torch.ones(L, L, **F64)]).expand(3, 2, L, L).clone(), [True]
    if kind == "checkerboard":
        board = torch.tensor([[(-1.0) ** (i + j) for j in range(L)] for i in range(L)], **F64)
        return board.expand(3, 1, L, L).clone(), None, [True]
    if kind == "painted":
        h, J = 0 * ones, torch.ones(3, 2, L, L, **F64)
        h[0, 0, 0, 0], h[1, 0, L // 2, L - 1], J[1, 1, 0, 0], J[2, 0, L - 1, 0] = 1.0, -0.0, 2.0, 0.5
        return h, J, [True]
    if kind == "integer ties":
        return torch.randint(0, 2, (3, 1, L, L), generator=r).double(), torch.randint(-1, 2, (3, 2, L, L), generator=r).double(), [True]
    if kind == "checkerboard with integer bonds":  # the first channel leaves ties that the bonds must split in order
        board = torch.tensor([[(-1.0) ** (i + j) for j in range(L)] for i in range(L)], **F64)
        J = torch.stack([torch.ones(3, L, L, **F64), torch.randint(0, 3, (3, L, L), generator=r).double()], 1)
        return board.expand(3, 1, L, L).clone(), J, [True]
    if kind == "two channels":
        return torch.randint(0, 2, (3, 2, L, L), generator=r).double(), None, [True, False]
    raise ValueError(kind)


def _same_forms(a, b) -> bool:
    return (torch.equal(a.canonical_index, b.canonical_index) and torch.equal(a.coset_mask, b.coset_mask)
            and torch.equal(a.stabilizer_mask, b.stabilizer_mask))


LATTICE_KINDS = ["random", "constant", "stripes", "checkerboard", "painted", "integer ties", "checkerboard with integer bonds",
                 "two channels"]


@pytest.mark.parametrize("spin_flip", [False, True])
@pytest.mark.parametrize("L", [1, 2, 3, 4, 5, 6, 7, 8, 12])
def test_fast_lattice_canonicalization_equals_the_exhaustive_search(L, spin_flip):
    r = gen(L)
    group = LatticeGroup(L, spin_flip)
    for kind in LATTICE_KINDS:
        sites, bonds, odd = _lattice_inputs(kind, L, r)
        assert _same_forms(canonicalize_lattice(group, sites, bonds, odd),
                           canonicalize_lattice_exhaustive(group, sites, bonds, odd)), kind


def test_fast_lattice_canonicalization_on_a_mixed_batch_and_single_inputs():
    r, L = gen(1), 6
    group = LatticeGroup(L, True)
    parts = [_lattice_inputs(kind, L, r) for kind in ("random", "constant", "painted", "integer ties")]
    sites, bonds = torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])
    batch = canonicalize_lattice(group, sites, bonds, [True])
    assert _same_forms(batch, canonicalize_lattice_exhaustive(group, sites, bonds, [True]))
    for i in range(sites.shape[0]):
        assert _same_forms(batch[i : i + 1], canonicalize_lattice(group, sites[i], bonds[i], [True]))


@settings(max_examples=60, deadline=None)
@given(L=st.integers(1, 6), spin_flip=st.booleans(), values=st.integers(1, 3), seed=st.integers(0, 2**31 - 1),
       with_bonds=st.booleans(), odd=st.booleans())
def test_fast_lattice_canonicalization_property(L, spin_flip, values, seed, with_bonds, odd):
    """Small integer fields have many exact ties: the fast ranking must reproduce every one of them."""
    r = gen(seed)
    sites = torch.randint(-values, values + 1, (2, 1, L, L), generator=r).double()
    bonds = torch.randint(0, values + 1, (2, 2, L, L), generator=r).double() if with_bonds else None
    group = LatticeGroup(L, spin_flip)
    assert _same_forms(canonicalize_lattice(group, sites, bonds, [odd]), canonicalize_lattice_exhaustive(group, sites, bonds, [odd]))


def _periodic_inputs(L: int, r: torch.Generator):
    """(sites (6, 2, L, L), bonds (6, 2, L, L)): small-integer motifs tiled with random periods and sheared, so that x is
    fixed by translation subgroups of many shapes (diagonal ones included), plus one input with a single constant bond
    channel and one with constant fields (rows of constant channels are skipped by the small-lattice path)."""
    fields = []
    for _ in range(6):
        p0, p1 = (int(v) for v in torch.randint(1, L + 1, (2,), generator=r))
        motif = torch.randint(-1, 2, (4, p0, p1), generator=r).double()
        f = motif.repeat(1, L // p0 + 1, L // p1 + 1)[:, :L, :L]
        shear = int(torch.randint(L, (1,), generator=r))
        fields.append(torch.stack([torch.roll(f[:, i], i * shear, -1) for i in range(L)], 1))
    f = torch.stack(fields)
    sites, bonds = f[:, :2].clone(), f[:, 2:].clone()
    bonds[0, 1] = 0.5
    sites[1] = 0.25
    return sites, bonds


def _small_lattice_cases(L: int, r: torch.Generator):
    cases = [_lattice_inputs(kind, L, r) for kind in LATTICE_KINDS]
    sites, bonds = _periodic_inputs(L, r)
    cases += [(sites, bonds, [True, False]), (sites, None, [False, True]), (sites[:, :1], bonds, [True])]
    pool = torch.tensor([-math.inf, -0.0, 0.0, math.inf, 1.0], **F64)  # infinities and both zeros
    cases.append((pool[torch.randint(0, 5, (3, 1, L, L), generator=r)], pool[torch.randint(0, 5, (3, 2, L, L), generator=r)], [True]))
    return cases


@pytest.mark.parametrize("spin_flip", [False, True])
@pytest.mark.parametrize("L", [1, 2, 3, 4, 5, 6, 7, 8])
def test_small_lattice_path_equals_the_exhaustive_search_and_the_shift_ranking(L, spin_flip):
    """For L ≤ 8 canonicalize_lattice filters packed row words (one candidate per class of translations fixing x):
    identical to the exhaustive search and to the prefix-doubling method on random, constant, painted, tied, periodic
    and partly constant inputs, with ±inf and -0.0."""
    group, r = LatticeGroup(L, spin_flip), gen(50 + L)
    for sites, bonds, odd in _small_lattice_cases(L, r):
        fast = canonicalize_lattice(group, sites, bonds, odd)
        assert _same_forms(fast, canonicalize_lattice_exhaustive(group, sites, bonds, odd))
        assert _same_forms(fast, _canonicalize_by_shift_ranks(group, sites, bonds, odd))
    empty = canonicalize_lattice(group, torch.zeros(0, 1, L, L, **F64), torch.zeros(0, 2, L, L, **F64), [True])
    assert empty.canonical_index.shape == (0,) and empty.coset_mask.shape == empty.stabilizer_mask.shape == (0, group.order)


@pytest.mark.parametrize("L", [3, 4, 8])
def test_small_lattice_path_does_not_trust_its_row_hash(L, monkeypatch):
    """The row hash only proposes the translations that fix x; with every hash equal (all collide), the exact word
    comparison alone decides, and the results do not change."""
    monkeypatch.setattr(canonical, "_ROW_HASH", np.zeros(64, dtype=np.uint64))
    group, r = LatticeGroup(L, True), gen(L)
    for sites, bonds, odd in _small_lattice_cases(L, r):
        assert _same_forms(canonicalize_lattice(group, sites, bonds, odd), canonicalize_lattice_exhaustive(group, sites, bonds, odd))


def test_fast_lattice_canonicalization_at_sizes_the_exhaustive_search_cannot_hold():
    L = 64
    group = LatticeGroup(L, spin_flip=True)
    constant = canonicalize_lattice(group, torch.zeros(1, 1, L, L, **F64), -torch.ones(1, 2, L, L, **F64), [True])
    assert int(constant.stabilizer_order[0]) == 16 * L * L and bool(constant.coset_mask.all())
    r = gen(3)
    random = canonicalize_lattice(group, torch.randn(1, 1, L, L, generator=r, **F64), torch.randn(1, 2, L, L, generator=r, **F64), [True])
    assert int(random.stabilizer_order[0]) == 1 and int(random.coset_mask.sum()) == 1
    with pytest.raises(ValueError, match="NaN"):
        canonicalize_lattice(group, torch.full((1, 1, L, L), float("nan"), **F64))


@pytest.mark.parametrize("kind", ["random", "painted", "stripes"])
def test_canonical_form_is_invariant_along_the_orbit_at_L32(kind):
    """c(g·x) = c(x): the canonical image γ(g·x)⁻¹·(g·x) equals γ(x)⁻¹·x for random g (including spin flips)."""
    L, r = 32, gen(4)
    group = LatticeGroup(L, spin_flip=True)
    sites, bonds, _ = _lattice_inputs(kind, L, r)
    sites, bonds = sites[:1], bonds[:1]

    def canonical_image(s, b):
        gamma = canonicalize_lattice(group, s, b, [True]).gamma.inverse()
        return gamma.act_sites(s, odd=True), gamma.act_bonds(b)

    reference = canonical_image(sites, bonds)
    for g in group.sample((4,), r):
        g = g[None]
        moved = canonical_image(g.act_sites(sites, odd=True), g.act_bonds(bonds))
        assert torch.equal(moved[0], reference[0]) and torch.equal(moved[1], reference[1])


def test_group_orders_beyond_python_s_string_limit_stay_exact():
    """|Aut| of 1,600 isolated nodes is 1600!, more than 4,300 digits (str()'s default limit): still exact."""
    form = canonicalize_graph(1600, [])
    expected = math.factorial(1600)
    assert form.automorphism_group_order == expected
    text = form.to_dict()["automorphism_group_order"]
    assert len(text) > 4300 and expected >= 10 ** (len(text) - 1) and expected < 10 ** len(text)
    assert int(text[:4000]) == expected // 10 ** (len(text) - 4000) and int(text[-4000:]) == expected % 10**4000
