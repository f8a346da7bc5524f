"""The approximate canonicalizer agrees with the exact one where colour refinement is discrete, and differs
where it is not."""
import math

import networkx as nx
import pytest
import torch

from backend.approx_canonical import approximate_ordering, approximate_orderings, colour_refinement
from backend.canonical import canonicalize_graph


def _canonical_edges(edges, order):
    position = {node: k for k, node in enumerate(order)}
    return tuple(sorted((min(position[u], position[v]), max(position[u], position[v])) for u, v in edges))


def _relabel(edges, perm):
    return [(perm[u], perm[v]) for u, v in edges]


def test_discrete_refinement_gives_a_true_canonical_form():
    g = nx.Graph([(0, 1), (1, 2), (2, 3), (3, 4), (1, 5), (5, 6)])  # an asymmetric tree
    n, edges = g.number_of_nodes(), list(g.edges())
    assert len(set(colour_refinement(n, edges))) == n
    gen = torch.Generator().manual_seed(0)
    forms = set()
    for _ in range(20):
        perm = torch.randperm(n, generator=gen).tolist()
        relabelled = _relabel(edges, perm)
        forms.add(_canonical_edges(relabelled, approximate_ordering(n, relabelled, generator=gen)))
    assert len(forms) == 1
    assert canonicalize_graph(n, edges).automorphism_group_order == 1


def test_cycle_draws_far_more_orderings_than_the_exact_kernel():
    g = nx.cycle_graph(6)
    edges = list(g.edges())
    gen = torch.Generator().manual_seed(1)
    approx = {tuple(approximate_ordering(6, edges, generator=gen)) for _ in range(3000)}
    exact_form = canonicalize_graph(6, edges)
    exact = {tuple(row) for row in exact_form.sample(3000, gen).tolist()}
    assert len(exact) == 12
    assert len(approx) > 100  # colour refinement cannot split a regular graph: ties over all 720 orderings
    # and the approximate orderings do not all give one canonical adjacency
    assert len({_canonical_edges(edges, o) for o in approx}) > 1
    assert len({_canonical_edges(edges, o) for o in exact}) == 1


def test_non_automorphic_nodes_that_refinement_cannot_separate():
    # C6 and two triangles are both 2-regular: refinement gives one colour, yet they are not isomorphic;
    # within the disjoint union the approximate ordering mixes nodes of the hexagon and the triangles.
    g = nx.disjoint_union(nx.cycle_graph(6), nx.disjoint_union(nx.cycle_graph(3), nx.cycle_graph(3)))
    n, edges = g.number_of_nodes(), list(g.edges())
    assert len(set(colour_refinement(n, edges))) == 1
    assert len(canonicalize_graph(n, edges).orbits) == 2  # the exact group separates the two kinds of node


def test_batched_orderings_sort_by_refined_colour_and_cover_each_class_uniformly():
    g = nx.star_graph(3)  # centre 0, three leaves: two colour classes
    edges = list(g.edges())
    orders = approximate_orderings(4, edges, 6000, generator=torch.Generator().manual_seed(2))
    colours = colour_refinement(4, edges)
    assert all(sorted(colours[v] for v in row) == [colours[v] for v in row] for row in orders.tolist())
    counts = torch.unique(orders, dim=0, return_counts=True)[1]
    assert len(counts) == 6 and counts.min() > 800  # the 3! tie-breaks of the leaves, each about 1000 times


def test_the_app_comparison_counts_adjacencies_as_a_direct_count_does():
    from app import graphs

    for g in (nx.cycle_graph(6), nx.Graph([(0, 1), (1, 2), (2, 3), (3, 4), (1, 5), (5, 6)])):
        n, edges = g.number_of_nodes(), tuple(g.edges())
        report = graphs.approximation(n, edges, seed=3, draws=300)
        orders = approximate_orderings(n, list(edges), 300, generator=torch.Generator().manual_seed(3)).tolist()
        forms = [_canonical_edges(edges, o) for o in orders]
        same = sum(a == b for i, a in enumerate(forms) for b in forms[i + 1:]) / (300 * 299 / 2)
        assert report.distinct == len(set(forms)) and abs(report.agreement - same) < 1e-12
    assert graphs.approximation(6, tuple(nx.cycle_graph(6).edges()), 0).pool_log10 == pytest.approx(math.log10(720))
