"""Graph inputs for the app: the preset library, random generators, uploads and typed edge lists, plus the
cached graph computations the pages show (canonical data, inversion-kernel samples, encodings, layouts).

Graphs travel through the app as ``(n, edges)`` with ``edges`` a sorted tuple of pairs (u, v), u < v: hashable,
so every computation on them is cached with ``st.cache_data``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

import networkx as nx
import numpy as np
import streamlit as st
import torch

from backend.canonical import canonicalize_graph
from backend.graph_io import EXTENSIONS, GraphInputError, ParsedGraph, graph_from_networkx, parse_edge_list_text, parse_graph_bytes

APP_MAX_NODES = 30  # the interactive views stay readable and fast up to this size
UPLOAD_MAX_BYTES = 200_000
MAX_EDGES = 435  # a complete graph on 30 nodes


@dataclass(frozen=True)
class Preset:
    build: Callable[[int], nx.Graph]
    lo: int
    hi: int
    default: int
    size_label: str = "n"


def _prism(n: int) -> nx.Graph:
    return nx.circular_ladder_graph(n)


def _benzene_like(rings: int) -> nx.Graph:
    """Hexagonal rings fused in a row (benzene, naphthalene, anthracene, ...)."""
    g = nx.hexagonal_lattice_graph(1, rings)
    return nx.convert_node_labels_to_integers(g)


def _grid(n: int) -> nx.Graph:
    return nx.convert_node_labels_to_integers(nx.grid_2d_graph(n, n))


def _torus(n: int) -> nx.Graph:
    return nx.convert_node_labels_to_integers(nx.grid_2d_graph(n, n, periodic=True))


def _k_bipartite(n: int) -> nx.Graph:
    return nx.complete_bipartite_graph(n, n + 1)


def _circulant(n: int) -> nx.Graph:
    return nx.circulant_graph(n, [1, 3] if n > 6 else [1, 2])


def _ring_with_substituents(n: int) -> nx.Graph:
    """A 6-ring with n pendant atoms spread evenly (a ring with substituents)."""
    g = nx.cycle_graph(6)
    for k in range(n):
        g.add_edge((6 * k) // max(n, 1), 6 + k)
    return g


PRESETS: dict[str, Preset] = {
    "Cycle C_n": Preset(nx.cycle_graph, 3, 30, 6),
    "Benzene-like fused rings": Preset(_benzene_like, 1, 4, 1, "rings"),
    "Ring with substituents": Preset(_ring_with_substituents, 1, 6, 2, "substituents"),
    "Prism C_n × K_2": Preset(_prism, 3, 15, 6),
    "Hypercube Q_d": Preset(nx.hypercube_graph, 2, 4, 3, "d"),
    "Petersen graph": Preset(lambda _: nx.petersen_graph(), 10, 10, 10),
    "Complete graph K_n": Preset(nx.complete_graph, 2, 10, 5),
    "Complete bipartite K_{n,n+1}": Preset(_k_bipartite, 1, 7, 2),
    "Star K_{1,n}": Preset(nx.star_graph, 2, 12, 5),
    "Path P_n": Preset(nx.path_graph, 2, 30, 6),
    "Grid n × n": Preset(_grid, 2, 5, 3),
    "Torus n × n (periodic grid)": Preset(_torus, 3, 5, 4),
    "Circulant C_n(1, 3)": Preset(_circulant, 5, 30, 10),
    "Wheel W_n": Preset(nx.wheel_graph, 4, 20, 7),
}

RANDOM_KINDS = ("Erdős–Rényi G(n, p)", "Random 3-regular", "Random tree")


def _to_parsed(G: nx.Graph, source: str) -> ParsedGraph:
    G = nx.convert_node_labels_to_integers(G, ordering="sorted") if not all(isinstance(v, int) for v in G.nodes) else G
    return graph_from_networkx(G, max_nodes=APP_MAX_NODES, max_edges=MAX_EDGES, source=source)


def preset_graph(name: str, size: int) -> ParsedGraph:
    preset = PRESETS[name]
    size = min(max(int(size), preset.lo), preset.hi)
    G = preset.build(size)
    if G.number_of_nodes() > APP_MAX_NODES:
        raise GraphInputError(f"{name} with {preset.size_label} = {size} has {G.number_of_nodes()} nodes; "
                              f"the app shows graphs of at most {APP_MAX_NODES} nodes")
    return _to_parsed(nx.Graph(G), name)


def random_graph(kind: str, n: int, p: float, seed: int) -> ParsedGraph:
    if kind == RANDOM_KINDS[0]:
        G = nx.gnp_random_graph(n, p, seed=seed)
    elif kind == RANDOM_KINDS[1]:
        if (3 * n) % 2:
            raise GraphInputError(f"a 3-regular graph needs an even number of nodes, got {n}")
        G = nx.random_regular_graph(3, n, seed=seed)
    else:
        G = nx.random_labeled_tree(n, seed=seed) if hasattr(nx, "random_labeled_tree") else nx.random_tree(n, seed=seed)
    return _to_parsed(nx.Graph(G), kind)


def parse_upload(name: str, data: bytes) -> ParsedGraph:
    """An uploaded file, format from its extension; every failure is a one-line GraphInputError."""
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    fmt = EXTENSIONS.get(suffix)
    if fmt is None:
        raise GraphInputError(f"{name}: unknown file extension {suffix or '(none)'!r}; expected one of "
                              + " ".join(sorted(EXTENSIONS)))
    if len(data) > UPLOAD_MAX_BYTES:
        raise GraphInputError(f"{name}: file is too large ({len(data)} bytes; the app accepts up to {UPLOAD_MAX_BYTES})")
    return parse_graph_bytes(data, fmt, max_nodes=APP_MAX_NODES, max_edges=MAX_EDGES, source=f"{name} ({fmt})")


def parse_typed(text: str) -> ParsedGraph:
    return parse_edge_list_text(text, max_nodes=APP_MAX_NODES, max_edges=MAX_EDGES, source="typed edge list")


def toggle_edges(graph: ParsedGraph, toggled: frozenset[tuple[int, int]]) -> ParsedGraph:
    """The graph with the edges in ``toggled`` added when absent and removed when present."""
    edges = set(graph.edges) ^ {(min(u, v), max(u, v)) for u, v in toggled if u != v and max(u, v) < graph.n}
    return ParsedGraph(list(graph.nodes), sorted(edges))


# ----------------------------------------------------------------------------------------------------------------------
# Cached computations (inputs are hashable tuples)


@dataclass(frozen=True)
class GraphData:
    n: int
    edges: tuple[tuple[int, int], ...]
    order: tuple[int, ...]  # γ: order[k] = node at canonical position k
    generators: tuple[tuple[int, ...], ...]
    orbits: tuple[tuple[int, ...], ...]
    aut_order: int
    canonical_edges: tuple[tuple[int, int], ...]
    orbit_of: tuple[int, ...] = field(default=())

    @property
    def connected(self) -> bool:
        G = nx.Graph()
        G.add_nodes_from(range(self.n))
        G.add_edges_from(self.edges)
        return self.n > 0 and nx.is_connected(G)


@st.cache_data(show_spinner=False, max_entries=256)
def analyze(n: int, edges: tuple[tuple[int, int], ...]) -> GraphData:
    form = canonicalize_graph(n, list(edges))
    orbits = tuple(tuple(o) for o in form.orbits)
    orbit_of = [0] * n
    for k, orbit in enumerate(orbits):
        for v in orbit:
            orbit_of[v] = k
    return GraphData(n, edges, tuple(form.order), tuple(form.generators), orbits, form.automorphism_group_order,
                     tuple((k, l) for k, l, _ in form.canonical_edges), tuple(orbit_of))


@st.cache_data(show_spinner=False, max_entries=256)
def kernel_samples(n: int, edges: tuple[tuple[int, int], ...], num: int, seed: int) -> np.ndarray:
    """``num`` orderings h = s∘γ from the inversion kernel (row k: node at canonical position k). (num, n)."""
    form = canonicalize_graph(n, list(edges))
    return form.sample(num, torch.Generator().manual_seed(int(seed))).numpy()


def automorphism_of_sample(order: tuple[int, ...], h: np.ndarray) -> np.ndarray:
    """The automorphism s with h = s∘γ, i.e. s[γ[k]] = h[k]."""
    s = np.empty(len(order), dtype=np.int64)
    s[np.asarray(order)] = h
    return s


def cycle_notation(perm: np.ndarray) -> str:
    """A permutation (i ↦ perm[i]) in cycle notation, fixed points omitted; "identity" when trivial."""
    seen, cycles = set(), []
    for start in range(len(perm)):
        if start in seen or perm[start] == start:
            seen.add(start)
            continue
        cyc, i = [], start
        while i not in seen:
            seen.add(i)
            cyc.append(i)
            i = int(perm[i])
        cycles.append("(" + " ".join(map(str, cyc)) + ")")
    return " ".join(cycles) if cycles else "identity"


def is_automorphism(perm: np.ndarray, edges: tuple[tuple[int, int], ...]) -> bool:
    es = set(edges)
    return {(min(perm[u], perm[v]), max(perm[u], perm[v])) for u, v in edges} == es


def positions_of(h: np.ndarray) -> np.ndarray:
    """pos[node] = canonical position the sample gives it (the inverse of h)."""
    pos = np.empty(len(h), dtype=np.int64)
    pos[h] = np.arange(len(h))
    return pos


@st.cache_data(show_spinner=False, max_entries=256)
def layout(n: int, edges: tuple[tuple[int, int], ...]) -> np.ndarray:
    """Deterministic node positions (n, 2) by stress majorization on graph distances (as Kamada–Kawai, but a few
    milliseconds for 30 nodes): classical MDS as the start, then weighted SMACOF with weights d⁻². Symmetric graphs
    come out symmetric (a cycle is a circle). Disconnected parts are kept apart at distance max + 1."""
    if n <= 2 or not edges:
        return circular_positions(n)
    G = nx.Graph()
    G.add_nodes_from(range(n))
    G.add_edges_from(edges)
    D = np.full((n, n), np.inf)
    for i, lengths in nx.all_pairs_shortest_path_length(G):
        for j, d in lengths.items():
            D[i, j] = d
    finite = np.isfinite(D)
    D[~finite] = D[finite].max() + 1
    J = np.eye(n) - 1.0 / n
    B = -0.5 * J @ (D**2) @ J
    vals, vecs = np.linalg.eigh(B)
    mds = vecs[:, -2:] * np.sqrt(np.maximum(vals[-2:], 1e-9))
    W = np.zeros_like(D)
    W[D > 0] = D[D > 0] ** -2.0
    V = np.diag(W.sum(1)) - W
    Vp = np.linalg.pinv(V + 1.0 / n) - 1.0 / n
    jitter = np.random.default_rng(0).normal(size=(n, 2)) * 0.3 * D.max()

    def smacof(X: np.ndarray) -> tuple[float, np.ndarray]:
        for _ in range(60):
            dist = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
            ratio = np.where(dist > 1e-12, W * D / np.maximum(dist, 1e-12), 0.0)
            X = Vp @ (np.diag(ratio.sum(1)) - ratio) @ X
        dist = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
        return float((W * (dist - D) ** 2).sum()), X

    starts = [mds, mds + jitter, circular_positions(n) * D.max() / 2]
    _, X = min((smacof(x0) for x0 in starts), key=lambda r: r[0] + 1e-9)
    X = X - X.mean(0)
    return X / max(np.abs(X).max(), 1e-9)


def circular_positions(n: int) -> np.ndarray:
    angles = np.pi / 2 - 2 * np.pi * np.arange(n) / max(n, 1)
    return np.stack([np.cos(angles), np.sin(angles)], -1)


def demo_table(rows: int, dim: int, seed: int = 0) -> np.ndarray:
    """A fixed random table v (rows × dim), standing in for a learned SymPE table where no trained one is shipped."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(rows, dim, generator=g, dtype=torch.float64).numpy()


def encode(table: np.ndarray, h: np.ndarray) -> np.ndarray:
    """e = h·v: the node h[k] (at canonical position k) receives row k of v. (n, d)."""
    n = len(h)
    e = np.empty((n, table.shape[1]))
    e[h] = table[:n]
    return e


def export_json(graph: ParsedGraph, data: GraphData, samples: np.ndarray, extra: dict | None = None) -> str:
    return json.dumps({
        "input": {"nodes": graph.nodes, "edges": [list(e) for e in graph.edges]},
        "automorphism_group_order": str(data.aut_order),
        "orbits": [list(o) for o in data.orbits],
        "canonical_order": list(data.order),
        "canonical_edges": [list(e) for e in data.canonical_edges],
        "generators": [list(g) for g in data.generators],
        "samples": samples.tolist(),
        **(extra or {}),
    }, indent=2)


# ----------------------------------------------------------------------------------------------------------------------
# The graph autoencoder (shipped by backend.tasks.graph_ae when its weights land)


@dataclass(frozen=True)
class Decoded:
    variant: str
    probs: np.ndarray  # (K, n, n) edge probabilities in the input's labelling
    wrong: np.ndarray  # (K,) wrong pairs i < j at threshold 0.5


@st.cache_data(show_spinner=False, max_entries=256)
def decode(variant: str, n: int, edges: tuple[tuple[int, int], ...], samples: np.ndarray, seed: int, sha256: str) -> Decoded:
    """Reconstructions by the shipped autoencoder ``variant``: for sympe one per inversion-kernel sample in ``samples``
    (so the page's h is the one the model sees), for noise K draws from ``seed``, for none/fixed one (deterministic)."""
    from backend.groups import Permutation

    from . import models

    model = models.graph_ae_model(variant)
    if model is None:
        raise LookupError(f"graph_ae/{variant} is not shipped")
    K = len(samples) if variant in ("sympe", "noise") else 1
    A = torch.zeros(n, n)
    for u, v in edges:
        A[u, v] = A[v, u] = 1.0
    adj, mask = A.expand(K, n, n).contiguous(), torch.ones(K, n, dtype=torch.bool)
    elements = Permutation(torch.as_tensor(samples, dtype=torch.long)) if variant == "sympe" else None
    with torch.inference_mode():
        out = model(adj, mask, generator=torch.Generator().manual_seed(int(seed)), elements=elements)
    probs = out.probs.double().numpy()
    iu = np.triu_indices(n, 1)
    wrong = ((probs[:, iu[0], iu[1]] >= 0.5) != (A.numpy()[iu] >= 0.5)[None]).sum(-1)
    return Decoded(variant, probs, wrong)


def learned_table(variant: str = "sympe") -> np.ndarray | None:
    """The learned SymPE table v of the shipped autoencoder (n_max × d), or None."""
    from . import models

    model = models.graph_ae_model(variant)
    table = getattr(getattr(model, "encoding", None), "table", None) if model is not None else None
    return None if table is None else table.detach().double().numpy()


def permute_matrix(M: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """(p·M)[p[i], p[j]] = M[i, j]."""
    out = np.empty_like(M)
    out[np.ix_(perm, perm)] = M
    return out
