"""Graph inputs for the app: the preset library, random generators, uploads and typed edge lists, plus the
cached graph computations the pages show (canonical data, inversion-kernel samples, encodings, layouts).

Graphs travel through the app as ``(n, edges)`` with ``edges`` a sorted tuple of pairs (u, v), u < v: hashable,
so every computation on them is cached with ``st.cache_data`` (``_cached``: tuples are hashed by their repr, one
string, instead of Streamlit's item-by-item walk: 0.7 ms instead of 29 ms per call for 3,000 edges).

Sizes: presets, random graphs and typed edge lists have at most ``APP_MAX_NODES`` nodes (their sliders and the
URL stay small); uploads up to ``UPLOAD_MAX_NODES`` nodes and ``UPLOAD_MAX_EDGES`` edges. Above
``DETAIL_MAX_NODES`` nodes the drawings lose their node labels and the pages hide what would be unreadable (n × n
heatmaps, per-sample drawings); above ``STRESS_MAX_NODES`` the layout switches from networkx's Kamada–Kawai
on all distances (O(n²) memory, about 0.17 s at 100 nodes) to pivot MDS (O(k·(n + m)), about 0.1 s at 2,000 nodes).
"""
from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from typing import Callable, MutableMapping

import networkx as nx
import numpy as np
import streamlit as st
import torch

from backend.approx_canonical import approximate_orderings, colour_refinement
from backend.canonical import canonicalize_graph
from backend.encodings import encoding
from backend.graph_io import EXTENSIONS, GraphInputError, ParsedGraph, graph_from_networkx, parse_edge_list_text, parse_graph_bytes
from backend.groups import Permutation

from . import figures, models
from .ui import fresh_points

APP_MAX_NODES = 30  # presets, random graphs and typed edge lists
GRAPH_SEED_MAX = 10_000  # the random generators' seeds run from 0 to this
MAX_EDGES = 435  # a complete graph on 30 nodes
UPLOAD_MAX_NODES = 2_000
UPLOAD_MAX_EDGES = 10_000
UPLOAD_MAX_BYTES = 1_000_000
DETAIL_MAX_NODES = 60  # node labels, n × n heatmaps and the per-sample gallery drawings up to this size
STRESS_MAX_NODES = 100  # Kamada–Kawai on all distances up to this size, pivot MDS above
PIVOTS = 50  # pivot MDS: BFS sources, chosen farthest-first from node 0
CYCLE_TEXT_CHARS = 400  # longer cycle notations are cut (graphs.cycle_notation)


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
    """The random graph of the generator ``kind`` (p is used by G(n, p) only), a function of its arguments: the
    graph seed is separate from the sampling seed, so resampling h keeps the graph."""
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
        raise GraphInputError(f"{name}: file is too large ({len(data):,} bytes; the app accepts up to "
                              f"{UPLOAD_MAX_BYTES:,})")
    return parse_graph_bytes(data, fmt, max_nodes=UPLOAD_MAX_NODES, max_edges=UPLOAD_MAX_EDGES, source=f"{name} ({fmt})")


def detailed(n: int) -> bool:
    """Whether a graph of n nodes is small enough for node labels, n × n heatmaps and per-sample drawings."""
    return n <= DETAIL_MAX_NODES


def parse_typed(text: str) -> ParsedGraph:
    return parse_edge_list_text(text, max_nodes=APP_MAX_NODES, max_edges=MAX_EDGES, source="typed edge list")


def toggle_edges(graph: ParsedGraph, toggled: frozenset[tuple[int, int]]) -> ParsedGraph:
    """The graph with the edges in ``toggled`` added when absent and removed when present."""
    edges = set(graph.edges) ^ {(min(u, v), max(u, v)) for u, v in toggled if u != v and max(u, v) < graph.n}
    return ParsedGraph(list(graph.nodes), sorted(edges))


def apply_node_clicks(graph: ParsedGraph, state: MutableMapping, selection: dict | None) -> ParsedGraph:
    """The input graph with the user's edge edits, updated by the latest plotly selection of the input figure
    (``on_select``: its points carry the node in ``customdata``).

    Clicking a node makes it pending; clicking another toggles the edge between the two; clicking the pending node
    again cancels. Streamlit hands the same selection to every rerun until the next click, so a selection is applied
    once (``ui.fresh_points``). ``state`` (the session state) holds the edits, the pending node and that memory,
    and is reset whenever the input graph itself changes."""
    base = (tuple(graph.nodes), tuple(graph.edges))
    if state.get("_graph_base") != base:
        state.update(_graph_base=base, edits=frozenset(), pending=None, _click_last=None)
    points = [p for p in fresh_points(state, selection, "_click_last") if isinstance(p.get("customdata"), int)]
    if points:
        node, pending = int(points[-1]["customdata"]), state.get("pending")
        if pending is None or pending == node:
            state["pending"] = None if pending == node else node
        else:
            state["edits"] = state["edits"] ^ {(min(pending, node), max(pending, node))}
            state["pending"] = None
    return toggle_edges(graph, state["edits"])


# ----------------------------------------------------------------------------------------------------------------------
# Cached computations (inputs are hashable tuples)

_cached = st.cache_data(show_spinner=False, max_entries=256, hash_funcs={tuple: repr})


@dataclass(frozen=True)
class GraphData:
    n: int
    edges: tuple[tuple[int, int], ...]
    order: tuple[int, ...]  # γ: order[k] = node at canonical position k
    generators: tuple[tuple[int, ...], ...]
    orbits: tuple[tuple[int, ...], ...]
    aut_order: int
    canonical_edges: tuple[tuple[int, int], ...]
    orbit_of: tuple[int, ...]
    exported: dict  # the canonical form's JSON view (GraphCanonicalForm.to_dict), as the CLI prints it

    @property
    def connected(self) -> bool:
        G = nx.Graph()
        G.add_nodes_from(range(self.n))
        G.add_edges_from(self.edges)
        return self.n > 0 and nx.is_connected(G)


@_cached
def analyze(n: int, edges: tuple[tuple[int, int], ...]) -> GraphData:
    form = canonicalize_graph(n, list(edges))
    orbits = tuple(tuple(o) for o in form.orbits)
    orbit_of = [0] * n
    for k, orbit in enumerate(orbits):
        for v in orbit:
            orbit_of[v] = k
    return GraphData(n, edges, tuple(form.order), tuple(form.generators), orbits, form.automorphism_group_order,
                     tuple((k, l) for k, l, _ in form.canonical_edges), tuple(orbit_of), form.to_dict())


@_cached
def kernel_samples(n: int, edges: tuple[tuple[int, int], ...], num: int, seed: int) -> np.ndarray:
    """``num`` orderings h = s∘γ from the inversion kernel (row k: node at canonical position k). (num, n)."""
    form = canonicalize_graph(n, list(edges))
    return form.sample(num, torch.Generator().manual_seed(int(seed))).numpy()


@dataclass(frozen=True)
class Approximation:
    """The exact inversion kernel beside an approximate canonicalizer (colour refinement, ties broken at random:
    ``backend.approx_canonical``) on one graph, over ``draws`` orderings of each."""

    classes: int  # colour classes after refinement (n: refinement alone is a canonical ordering)
    pool_log10: float  # log10 of the orderings the approximation draws from, the product of the classes' sizes!
    draws: int
    distinct: int  # different "canonical" adjacencies among the approximate draws (the exact kernel: always 1)
    agreement: float  # the chance that two approximate draws give the same adjacency (the exact kernel: 1)


@_cached
def approximation(n: int, edges: tuple[tuple[int, int], ...], seed: int, draws: int = 200) -> Approximation:
    colours = colour_refinement(n, list(edges))
    pool_log10 = sum(math.lgamma(c + 1) for c in Counter(colours).values()) / math.log(10)
    orders = approximate_orderings(n, list(edges), draws, generator=torch.Generator().manual_seed(int(seed))).numpy()
    positions = np.argsort(orders, axis=1)  # positions[d, v]: where draw d puts node v
    e = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    lo, hi = np.minimum(positions[:, e[:, 0]], positions[:, e[:, 1]]), np.maximum(positions[:, e[:, 0]], positions[:, e[:, 1]])
    keys = np.sort(lo * n + hi, axis=1)  # each draw's adjacency as its sorted edge codes
    counts = np.unique(keys, axis=0, return_counts=True)[1] if len(e) else np.array([draws])
    agreement = float((counts * (counts - 1)).sum() / (draws * (draws - 1)))
    return Approximation(len(set(colours)), pool_log10, draws, len(counts), agreement)


def automorphism_of_sample(order: tuple[int, ...], h: np.ndarray) -> np.ndarray:
    """The automorphism s with h = s∘γ, i.e. s[γ[k]] = h[k]."""
    s = np.empty(len(order), dtype=np.int64)
    s[np.asarray(order)] = h
    return s


def relative_automorphisms(order: tuple[int, ...], samples: np.ndarray) -> list[np.ndarray]:
    """For each sample h_k = s_k∘γ the automorphism t_k = s_k∘s_1⁻¹ that carries the first sample to it
    (t_k∘h_1 = h_k); t_1 is the identity."""
    s1_inverse = np.argsort(automorphism_of_sample(order, samples[0]))
    return [automorphism_of_sample(order, h)[s1_inverse] for h in samples]


def cyclic_form(perm) -> list[list[int]]:
    """The cycles of i ↦ perm[i] that move something, each from its smallest node, in order of that node (sympy's
    ``cyclic_form``, without building a sympy permutation: about 30 times faster for the 16 samples of a page)."""
    images = [int(i) for i in perm]
    seen = [False] * len(images)
    cycles = []
    for start, image in enumerate(images):
        if seen[start] or image == start:
            continue
        cycle, node = [start], image
        seen[start] = True
        while node != start:
            cycle.append(node)
            seen[node] = True
            node = images[node]
        cycles.append(cycle)
    return cycles


def cycle_notation(perm: np.ndarray, max_chars: int | None = None) -> str:
    """A permutation (i ↦ perm[i]) in cycle notation, fixed points omitted; "identity" when trivial. With
    ``max_chars``, a longer text is cut at a cycle boundary (or inside a first cycle that is too long) and ends with
    " … (c cycles moving m nodes)"."""
    cycles = ["(" + " ".join(map(str, c)) + ")" for c in cyclic_form(perm)]
    text = " ".join(cycles) if cycles else "identity"
    if max_chars is None or len(text) <= max_chars:
        return text
    cut = text.rfind(") ", 0, max_chars) + 1 or text.rfind(" ", 0, max_chars)
    moved = sum(c.count(" ") + 1 for c in cycles)
    return f"{text[:cut]} … ({len(cycles)} cycle{'s' * (len(cycles) > 1)} moving {moved} nodes)"


def log10_count_text(log10: float) -> str:
    """A count given by its log10, as ``count_text`` writes it (exact to 15 digits)."""
    if log10 < 15:
        return f"{round(10**log10):,}"
    exponent = math.floor(log10)
    return f"≈ {10 ** (log10 - exponent):.2f} × 10^{exponent:,}"


def count_text(count: int) -> str:
    """An exact count with thousands separators up to 15 digits, else "≈ m × 10^e" (e.g. |Aut| of a 2,000-leaf
    star, 1999!, has 5,733 digits; Python refuses to print an int of more than 4,300 digits)."""
    if count < 10**15:
        return f"{count:,}"
    exponent = int(math.log10(count))
    exponent -= 10**exponent > count  # log10 rounds up just below a power of ten
    mantissa = count / 10**exponent
    if round(mantissa, 2) >= 10:
        mantissa, exponent = mantissa / 10, exponent + 1
    return f"≈ {mantissa:.2f} × 10^{exponent:,}"


def orbits_text(orbits: tuple[tuple[int, ...], ...], max_orbits: int = 12, max_members: int = 12) -> str:
    """The first orbits as sets, long orbits and long lists shortened with "…"."""
    def one(orbit: tuple[int, ...]) -> str:
        shown = ", ".join(map(str, orbit[:max_members]))
        return "{" + shown + (f", … ({len(orbit)} nodes)" if len(orbit) > max_members else "") + "}"

    text = "; ".join(one(o) for o in orbits[:max_orbits])
    return text + (f" … ({len(orbits)} orbits)" if len(orbits) > max_orbits else "")


def is_automorphism(perm: np.ndarray, edges: tuple[tuple[int, int], ...]) -> bool:
    """Whether the permutation (i ↦ perm[i]) maps the edge set onto itself (on the edge list: O(m), for graphs of
    up to 2,000 nodes)."""
    es = set(edges)
    return {(min(perm[u], perm[v]), max(perm[u], perm[v])) for u, v in edges} == es


def positions_of(h: np.ndarray) -> np.ndarray:
    """pos[node] = the canonical position the sample gives it: h⁻¹ (h[k] is the node at position k)."""
    return Permutation(torch.as_tensor(h)).inverse().perm.numpy()


@_cached
def layout(n: int, edges: tuple[tuple[int, int], ...]) -> np.ndarray:
    """Deterministic node positions (n, 2), scaled into [-1, 1], from graph distances: Kamada–Kawai up to
    ``STRESS_MAX_NODES`` nodes (disconnected parts kept apart at distance max + 1), above that pivot MDS per
    connected component, the components packed in rows, largest first."""
    if n <= 2 or not edges:
        return circular_positions(n)
    G = nx.Graph()
    G.add_nodes_from(range(n))
    G.add_edges_from(edges)
    return _unit_box(_stress_layout(G) if n <= STRESS_MAX_NODES else _packed_components(G))


def _unit_box(X: np.ndarray) -> np.ndarray:
    """Centred and scaled so that the largest coordinate is ±1."""
    X = X - X.mean(0)
    return X / max(np.abs(X).max(), 1e-9)


def _packed_components(G: nx.Graph) -> np.ndarray:
    """Pivot MDS of each connected component, packed in shelves (rows filled left to right, largest first): a
    component of m nodes gets a square of side √m, so every node has about the same room. Nodes with the same
    distances to every pivot (twins, such as the leaves of one star) share a point in pivot MDS; they are spread
    around it (_separate_twins)."""
    components = sorted((sorted(c) for c in nx.connected_components(G)), key=lambda c: (-len(c), c[0]))
    width = 1.2 * math.sqrt(G.number_of_nodes())  # of a shelf
    X = np.zeros((G.number_of_nodes(), 2))
    x = y = shelf = 0.0
    for nodes in components:
        side = math.sqrt(len(nodes))
        if x > 0 and x + side > width:
            x, y, shelf = 0.0, y - shelf, 0.0
        if len(nodes) > 2:
            sub = nx.convert_node_labels_to_integers(G.subgraph(nodes), ordering="sorted")
            local = _separate_twins(_unit_box(_pivot_mds(sub)), np.asarray(sub.edges()))
        else:
            local = circular_positions(len(nodes)) * (len(nodes) > 1)
        X[nodes] = local * 0.4 * side + [x + side / 2, y - side / 2]
        x, shelf = x + side, max(shelf, side)
    return X


def _bfs_distances(G: nx.Graph, source: int) -> np.ndarray:
    """Graph distances from ``source`` to every node (inf where unreachable). (n,)"""
    d = np.full(G.number_of_nodes(), np.inf)
    lengths = nx.single_source_shortest_path_length(G, source)
    d[np.fromiter(lengths.keys(), dtype=np.int64)] = np.fromiter(lengths.values(), dtype=float)
    return d


def _stress_layout(G: nx.Graph) -> np.ndarray:
    """networkx's Kamada–Kawai layout on all graph distances (disconnected pairs at the largest distance + 1, so
    components stay apart but near), started from classical MDS of the same distances, which makes it deterministic
    and keeps symmetric graphs symmetric (a cycle is a circle)."""
    n = G.number_of_nodes()
    D = np.stack([_bfs_distances(G, i) for i in range(n)])
    finite = np.isfinite(D)
    D[~finite] = D[finite].max() + 1
    J = np.eye(n) - 1.0 / n
    vals, vecs = np.linalg.eigh(-0.5 * J @ (D**2) @ J)
    mds = vecs[:, -2:] * np.sqrt(np.maximum(vals[-2:], 1e-9))
    pos = nx.kamada_kawai_layout(G, dist={i: dict(enumerate(row)) for i, row in enumerate(D)},
                                 pos={i: mds[i] for i in range(n)})
    return np.array([pos[i] for i in range(n)])


def _separate_twins(X: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """X (in the unit box) with the nodes that share a position (to 1e-6) spread around it on a sunflower spiral
    (member j at c·√(j + 1) in the direction j·137.5°), c = min(a quarter of the median edge length, 1/√n): a
    disc of evenly spaced nodes, as wide as the unit box for the 1,999 leaves of a star."""
    _, group, counts = np.unique(X.round(6), axis=0, return_inverse=True, return_counts=True)
    group = group.ravel()
    if counts.max() == 1:
        return X
    edge = float(np.median(np.linalg.norm(X[edges[:, 0]] - X[edges[:, 1]], axis=1))) if len(edges) else 1.0
    c = max(min(0.25 * edge, 1 / math.sqrt(len(X))), 1e-3)
    X = X.copy()
    for g in np.flatnonzero(counts > 1):
        members = np.flatnonzero(group == g)
        j = np.arange(len(members))
        angle = j * math.pi * (3 - math.sqrt(5))
        X[members] += c * np.sqrt(j + 1)[:, None] * np.stack([np.cos(angle), np.sin(angle)], -1)
    return X


def _pivot_mds(G: nx.Graph) -> np.ndarray:
    """Pivot MDS (Brandes and Pich, 2006): BFS distances from ``PIVOTS`` pivots picked farthest-first from node 0,
    double-centred squared distances C (n × k), positions = the top two left singular vectors of C scaled by their
    singular values. O(k·(n + m)) time, O(k·n) memory. For a connected graph (_packed_components)."""
    n = G.number_of_nodes()
    k = min(PIVOTS, n)
    D = np.empty((k, n))
    nearest = np.full(n, np.inf)  # distance to the nearest pivot so far
    pivot = 0
    for a in range(k):
        D[a] = _bfs_distances(G, pivot)
        nearest = np.minimum(nearest, D[a])
        pivot = int(np.argmax(nearest))
    C = D.T**2
    C = -0.5 * (C - C.mean(0) - C.mean(1, keepdims=True) + C.mean())
    U, S, _ = np.linalg.svd(C, full_matrices=False)
    return U[:, :2] * S[:2]


def adjacency(n: int, edges) -> np.ndarray:
    """The symmetric 0/1 adjacency matrix (n, n) of undirected pairs (u, v)."""
    A = np.zeros((n, n))
    if len(edges):
        u, v = np.asarray(edges, dtype=np.int64).T
        A[u, v] = A[v, u] = 1.0
    return A


def hidden_heatmap_text(what: str, rows: int, cols: int, height_px: int = 360) -> str:
    """Why a heatmap is not drawn for a large graph (``height_px``: the height the panel would have)."""
    return (f"The {what} heatmap ({rows:,} × {cols:,}) is hidden above {DETAIL_MAX_NODES} nodes: each of its rows would "
            f"be {height_px / rows:.1f} pixels tall, too small to read or to label.")


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
        **data.exported,
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


def decode(variant: str, n: int, edges: tuple[tuple[int, int], ...], samples: np.ndarray, seed: int, sha256: str) -> Decoded:
    """Reconstructions by the shipped autoencoder ``variant``: for sympe one per inversion-kernel sample in ``samples``
    (so the page's h is the one the model sees), for noise K draws from ``seed``, for none/fixed one (deterministic).
    Cached on what the variant reads: the samples where it canonicalizes, their number and the seed where it is
    random (so "Resample h" reruns none and fixed from the cache)."""
    kind = encoding(variant)
    if not kind.canonicalizes:
        samples = np.empty((kind.passes(len(samples)), 0), dtype=np.int64)
    return _decode(variant, n, edges, samples, kind.seed_read(seed), sha256)


@_cached
def _decode(variant: str, n: int, edges: tuple[tuple[int, int], ...], samples: np.ndarray, seed: int,
            sha256: str) -> Decoded:
    model = models.model("graph_ae", variant)
    if model is None:
        raise LookupError(f"graph_ae/{variant} is not shipped")
    return decode_with(model, variant, n, edges, samples, seed)


def decode_with(model: torch.nn.Module, variant: str, n: int, edges: tuple[tuple[int, int], ...], samples: np.ndarray,
                seed: int) -> Decoded:
    """``decode`` by a given autoencoder (e.g. one trained in this session on the Train page: not cached, since such
    a model lives in one session only)."""
    kind = encoding(variant)
    K = kind.passes(len(samples))
    A = torch.as_tensor(adjacency(n, edges), dtype=torch.float32)
    adj, mask = models.to_model(model, A.expand(K, n, n).contiguous(), torch.ones(K, n, dtype=torch.bool))
    elements = Permutation(torch.as_tensor(samples, dtype=torch.long)) if kind.canonicalizes else None
    with torch.inference_mode():
        out = model(adj, mask, generator=torch.Generator().manual_seed(int(seed)), elements=elements)
    probs = out.probs.cpu().double().numpy()
    iu = np.triu_indices(n, 1)
    wrong = ((probs[:, iu[0], iu[1]] >= 0.5) != (A.numpy()[iu] >= 0.5)[None]).sum(-1)
    return Decoded(variant, probs, wrong)


def learned_table(variant: str = "sympe") -> np.ndarray | None:
    """The learned SymPE table v of the shipped autoencoder (n_max × d), or None."""
    model = models.model("graph_ae", variant)
    table = getattr(getattr(model, "encoding", None), "table", None) if model is not None else None
    return None if table is None else table.detach().cpu().double().numpy()


def permute_matrix(M: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """(p·M)[p[i], p[j]] = M[i, j] (backend.groups.Permutation.act_edges)."""
    return Permutation(torch.as_tensor(perm)).act_edges(torch.as_tensor(M)).numpy()


STORY_SAMPLES = 2  # SymPE samples on the presenter's first screen


def decoded_edges(edges: tuple[tuple[int, int], ...], probs: np.ndarray) -> tuple[list[tuple[int, int]], list[str]]:
    """The decoded graph against the input, for ``figures.graph_figure``: every pair that is an input edge or
    decoded as one (probability at least 0.5), i < j, with its style ("normal": both, "missing": input only,
    "extra": decoded only)."""
    given = set(edges)
    iu, ju = np.nonzero(np.triu(probs >= 0.5, 1))
    pairs = sorted(given | set(zip(iu.tolist(), ju.tolist())))
    styles = ["missing" if probs[u, v] < 0.5 else "normal" if (u, v) in given else "extra" for u, v in pairs]
    return pairs, styles


def story_figures(n: int, edges: tuple[tuple[int, int], ...], pos: np.ndarray, samples: np.ndarray,
                  seed: int) -> list[tuple[figures.SpecFigure, str]]:
    """The Graph lab's story for presenter mode (``ui.story``), as (figure, name) pairs: the input coloured by
    orbit, the baseline's (``none``) decoded graph (nodes coloured by orbit: automorphic nodes look alike to it)
    and SymPE's decoded graphs for the first ``STORY_SAMPLES`` of the page's inversion-kernel ``samples`` (nodes
    coloured by their canonical position under that sample), from the same cached ``decode`` calls as section 5,
    titled with the wrong pairs. Red dashed: input edges the decoder misses; orange: pairs it adds. Where the autoencoder cannot decode this
    graph (not shipped, too large, fewer than two nodes) the samples are drawn on the input's edges instead."""
    data = analyze(n, edges)
    labelled = detailed(n)
    shown = [(figures.graph_figure(pos, edges, groups=data.orbit_of, show_labels=labelled,
                                   title=f"Input: |Aut| = {count_text(data.aut_order)}"), "input")]
    limit = models.graph_ae_limit()
    usable = [v for v in ("none", "sympe") if models.available("graph_ae", v)]
    if n < 2 or limit is None or n > limit or "sympe" not in usable:
        usable = []
    for variant in usable:
        dec = decode(variant, n, edges, samples, seed, models.manifest()[f"graph_ae/{variant}"]["sha256"])
        for k in range(1 if variant == "none" else min(len(samples), STORY_SAMPLES)):
            pairs, styles = decoded_edges(edges, dec.probs[k])
            wrong = f"{int(dec.wrong[k])} wrong"
            if variant == "none":
                fig = figures.graph_figure(pos, pairs, edge_styles=styles, groups=data.orbit_of,
                                           show_labels=labelled, title=f"Baseline (none): {wrong}")
            else:
                fig = figures.graph_figure(pos, pairs, edge_styles=styles, values=positions_of(samples[k]),
                                           show_labels=labelled, show_scale=False,
                                           title=f"SymPE sample {k + 1}: {wrong}")
            shown.append((fig, f"{variant}-{k + 1}"))
    if not usable:
        for k in range(min(len(samples), STORY_SAMPLES)):
            shown.append((figures.graph_figure(pos, edges, values=positions_of(samples[k]), show_labels=labelled,
                                               show_scale=False, title=f"SymPE's h, sample {k + 1}"),
                          f"sympe-{k + 1}"))
    return shown
