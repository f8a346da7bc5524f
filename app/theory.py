"""The tiny live examples of the Theory page, each a few milliseconds of real backend computation."""
from __future__ import annotations

import networkx as nx
import numpy as np
import streamlit as st
import torch

from backend.canonical import canonicalize_graph, canonicalize_lattice
from backend.equivariance import equivariance_error
from backend.groups import LatticeGroup, Permutation
from backend.nn import MPNN
from backend.sympe import GraphEncoder

from . import figures, graphs


def _untrained_mpnn(in_dim: int, seed: int = 0) -> MPNN:
    """A randomly initialised message-passing network in float64 (the global RNG is left untouched)."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return MPNN(in_dim, 16, 1, num_layers=3).double().eval()


def _cycle(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    A = torch.zeros(1, n, n, dtype=torch.float64)
    for i in range(n):
        A[0, i, (i + 1) % n] = A[0, (i + 1) % n, i] = 1
    return A, torch.ones(1, n, dtype=torch.bool)


@st.cache_data(show_spinner=False, max_entries=32)
def equivariant_outputs(n: int) -> np.ndarray:
    """An untrained MPNN's per-node outputs on the cycle C_n with identical node features."""
    A, mask = _cycle(n)
    with torch.no_grad():
        return _untrained_mpnn(1)(torch.ones(1, n, 1, dtype=torch.float64), A, mask)[0, :, 0].numpy()


@st.cache_data(show_spinner=False, max_entries=32)
def sympe_outputs(n: int, seed: int) -> tuple[np.ndarray, list[int], float]:
    """The same network fed [1, h·v] (h from the inversion kernel, v a fixed random table): outputs, h, and the
    equivariance error of the joint map (x, h) -> outputs under a random relabelling."""
    A, mask = _cycle(n)
    enc = GraphEncoder("sympe", n, 4).double()
    with torch.no_grad():
        enc.table.copy_(torch.as_tensor(graphs.demo_table(n, 4)))
    net = _untrained_mpnn(5)
    form = canonicalize_graph(n, [(i, (i + 1) % n) for i in range(n)])
    h = form.sample(1, torch.Generator().manual_seed(seed))[0]

    def f(adj, hh):
        e = enc(adj[None], mask, elements=Permutation(hh[None])).nodes
        return net(torch.cat([torch.ones(1, n, 1, dtype=torch.float64), e], -1), adj[None], mask)[0]

    with torch.no_grad():
        out = f(A[0], h)[:, 0].numpy()
    g = Permutation.random(n, torch.Generator().manual_seed(seed + 1))
    rep = equivariance_error(f, [A[0], h], g, [lambda g_, a: g_.act_edges(a), lambda g_, x: g_.compose(Permutation(x)).perm],
                             lambda g_, y: g_.act_nodes(y))
    return out, h.tolist(), rep.max_abs_error


@st.cache_data(show_spinner=False, max_entries=32)
def two_relabellings(name: str, seed: int) -> dict:
    """Canonical forms of two random relabellings of a preset graph: different adjacencies, same canonical form."""
    graph = graphs.preset_graph(name, graphs.PRESETS[name].default)
    n = graph.n
    out = {}
    for k in range(2):
        p = Permutation.random(n, torch.Generator().manual_seed(seed * 2 + k)).perm.tolist()
        edges = sorted((min(p[u], p[v]), max(p[u], p[v])) for u, v in graph.edges)
        form = canonicalize_graph(n, edges)
        out[k] = {"edges": edges, "canonical": sorted((a, b) for a, b, _ in form.canonical_edges), "perm": p}
    out["n"] = n
    return out


@st.cache_data(show_spinner=False, max_entries=32)
def kernel_histogram(n: int, draws: int, seed: int) -> tuple[int, dict[str, int]]:
    """|Aut(C_n)| and how often each ordering was drawn in ``draws`` inversion-kernel samples."""
    form = canonicalize_graph(n, [(i, (i + 1) % n) for i in range(n)])
    samples = form.sample(draws, torch.Generator().manual_seed(seed))
    counts: dict[str, int] = {}
    for row in samples.tolist():
        key = " ".join(map(str, row))
        counts[key] = counts.get(key, 0) + 1
    return form.automorphism_group_order, dict(sorted(counts.items()))


@st.cache_data(show_spinner=False, max_entries=8)
def torus_symmetries(L: int) -> tuple[int, int, int]:
    """(|Aut| of the L×L periodic grid as a graph, lattice symmetries p4m fixing a constant field, |p4m|)."""
    G = nx.convert_node_labels_to_integers(nx.grid_2d_graph(L, L, periodic=True))
    graph_order = canonicalize_graph(L * L, list(G.edges())).automorphism_group_order
    group = LatticeGroup(L)
    form = canonicalize_lattice(group, torch.ones(1, 1, L, L, dtype=torch.float64))
    return graph_order, int(form.stabilizer_order[0]), group.order


STORY_N = 6  # the cycle of Theory's story


def story_figures(seed: int, n: int = STORY_N) -> list[tuple[figures.SpecFigure, str]]:
    """Theory's key picture for presenter mode (``ui.story``), as (figure, name) pairs: the cycle C_n with its one
    orbit, an untrained equivariant MPNN's outputs on it (all equal: formula 1), and the same kind of network fed
    [1, h·v] with h from the inversion kernel (the outputs differ: formula 4)."""
    ring = graphs.preset_graph("Cycle C_n", n)
    edges = tuple(ring.edges)
    data = graphs.analyze(ring.n, edges)
    nodes = [str(i) for i in range(n)]
    return [
        (figures.graph_figure(graphs.layout(ring.n, edges), edges, groups=data.orbit_of,
                              title=f"C_{n}: one orbit, |Aut| = {data.aut_order}"), "orbit"),
        (figures.bar_figure(nodes, np.round(equivariant_outputs(n), 3).tolist(), y_title="output",
                            title="Equivariant: all equal"), "equivariant"),
        (figures.bar_figure(nodes, np.round(sympe_outputs(n, seed)[0], 3).tolist(), y_title="output",
                            title="Fed h·v: nodes differ"), "sympe"),
    ]
