"""Exact canonicalization, stabilizers and inversion-kernel sampling.

Graphs (G = S_n). BLISS (through igraph) gives a canonical labelling and generators of the automorphism
group, respecting node colours and, through a subdivision of every edge, edge colours. The canonical
element is the permutation γ with γ[k] = the original node placed at canonical position k, so the canonical
adjacency C = γ⁻¹·A has C[k, l] = A[γ[k], γ[l]] and is the same for every relabelling of the graph.
The inversion kernel draws h = s∘γ with s uniform on Aut(G) (h[k] = s[γ[k]]): exactly |Aut(G)| distinct
orderings, each giving the canonical form, each with probability 1/|Aut(G)|. Two exact samplers, chosen
automatically: one BLISS canonicalization of a uniformly relabelled copy per sample (``sample_inversion_kernel``;
the argument is in its docstring), or, when one graph is sampled repeatedly, a stabilizer chain built once with
BLISS (individualizing base points) and uniform transversal rows composed in a batch (``StabilizerChain``).
All randomness comes from a passed torch.Generator through exact rejection sampling. |Aut(G)| is BLISS's exact
count, computed only when asked for. sympy's Schreier–Sims remains as a reference sampler (method "sympy").

Lattices (G = p4m, optionally × Z2). Every g⁻¹·x is flattened (site channels, then bond channels, row-major)
and the lexicographically smallest is the canonical form c(x). γ(x) is the first element (in group.elements()
order) reaching it, and the coset {g : g⁻¹·x = c(x)} = G_x·γ(x) and the stabilizer G_x are found by exact
comparison, so ties are never missed. ``canonicalize_lattice`` never builds the orbit: for L ≤ 8 it filters packed
row words of the images, one per class of translations fixing x, for larger L it ranks all of G's images by prefix
doubling over cyclic shifts; ``canonicalize_lattice_exhaustive`` builds the orbit (the reference).
"""
from __future__ import annotations

import itertools
import math
import sys
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Sequence

import igraph
import numpy as np
import torch
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sympy.combinatorics import Permutation as SympyPermutation
from sympy.combinatorics import PermutationGroup
from sympy.combinatorics.util import _distribute_gens_by_base, _orbits_transversals_from_bsgs

from .groups import D4_MATRICES, LatticeElement, LatticeGroup, Permutation

__all__ = [
    "GraphCanonicalForm",
    "StabilizerChain",
    "canonicalize_graph",
    "canonicalize_dense",
    "sample_inversion_kernel",
    "sample_graph_inversion_kernel",
    "random_relabelling",
    "decimal_string",
    "uniform_below",
    "uniform_integers",
    "LatticeCanonicalForm",
    "canonicalize_lattice",
    "canonicalize_lattice_exhaustive",
]


def decimal_string(count: int) -> str:
    """The exact decimal digits of a non-negative int of any size (str() refuses more than 4,300 digits)."""
    chunk = 4000
    if count < 10**chunk:
        return str(count)
    high, low = divmod(count, 10**chunk)
    return decimal_string(high) + str(low).zfill(chunk)


def uniform_below(n: int, generator: torch.Generator | None = None) -> int:
    """An exactly uniform integer in [0, n) for any Python int n ≥ 1, drawn from ``generator``."""
    if n < 1:
        raise ValueError("n must be positive")
    if n == 1:
        return 0
    bits = (n - 1).bit_length()
    words = (bits + 61) // 62
    while True:
        chunks = torch.randint(0, 2**62, (words,), generator=generator).tolist()
        value = 0
        for c in chunks:
            value = (value << 62) | c
        value >>= words * 62 - bits
        if value < n:
            return value


# ----------------------------------------------------------------------------------------------------------------------
# Graphs

METHODS = ("auto", "relabel", "chain", "sympy")
CHAIN_ENTRY_LIMIT = 1 << 22  # at most this many stored transversal entries (Σ orbit sizes · n) for a chain


def uniform_integers(bound: int | torch.Tensor, size: int, generator: torch.Generator | None = None,
                     words: int = 1) -> torch.Tensor:
    """``size`` independent, exactly uniform integers in [0, bound) for 1 ≤ bound ≤ 2^62, by rejection on 62-bit
    words shifted down to the bit length of bound − 1: each word is accepted with probability above 1/2, and every
    pending draw takes the first accepted of ``words`` words per round (more words, fewer rounds; the first accepted
    word is uniform whatever came before it). ``bound`` is one int or a long tensor of shape (size,), one bound per
    draw. Shape (size,), long."""
    bounds = torch.as_tensor(bound, dtype=torch.long).expand(size)
    if size and not bool(((bounds >= 1) & (bounds <= 2**62)).all()):
        raise ValueError("bound must be in [1, 2^62]")
    bits = _bit_length(bounds - 1)
    out = torch.zeros(size, dtype=torch.long)
    todo = torch.nonzero(bounds > 1).flatten()
    while todo.numel():
        drawn = torch.randint(0, 2**62, (todo.numel(), words), generator=generator) >> (62 - bits[todo, None])
        ok = drawn < bounds[todo, None]
        first = ok.long().argmax(-1)  # the first accepted word of each pending draw (0 when none was)
        done = ok.any(-1)
        out[todo[done]] = drawn[done, first[done]]
        todo = todo[~done]
    return out


def _bit_length(x: torch.Tensor) -> torch.Tensor:
    """int.bit_length of every entry of a long tensor of values in [0, 2^62]: the exponent of the float64 value,
    lowered by one where rounding to float64 carried it up to the next power of two."""
    bits = torch.frexp(x.double()).exponent.long()
    return bits - ((x >> (bits - 1).clamp(min=0)) == 0).long() * (bits > 0).long()


def random_relabelling(n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """An exactly uniform permutation of n nodes (image list, long): the argsort of independent 62-bit keys,
    redrawn in the (rare) case of a tie, so every ordering is equally likely. Shape (n,)."""
    while True:
        ordered, order = torch.randint(0, 2**62, (n,), generator=generator).sort()
        if not bool((ordered[1:] == ordered[:-1]).any()):
            return order


def _bliss_input(
    n: int, edges, node_colors: Sequence[int] | None, edge_colors: Sequence[int] | None
) -> tuple[igraph.Graph, list[int]]:
    """An igraph graph whose coloured automorphisms are those of the input, with its vertex colours.

    The graph is a function of the labelled input alone (edges are sorted by (min, max, colour) first), so relabelled
    copies that coincide as labelled graphs give identical BLISS inputs. Edge colours (when more than one is present)
    are encoded by subdividing every edge with a vertex coloured by offset + edge colour; the original vertices come
    first. ``edges``: pairs (u, v) as a sequence or an (E, 2) integer array."""
    node_colors = [int(c) for c in node_colors] if node_colors is not None else [0] * n
    e = _edge_array(edges)
    lo, hi = np.minimum(e[:, 0], e[:, 1]), np.maximum(e[:, 0], e[:, 1])
    colours = None if edge_colors is None else np.asarray(edge_colors, dtype=np.int64)
    if colours is None or np.unique(colours).size <= 1:  # one colour: the pairs sorted by (lo, hi)
        bits = int(hi.max()).bit_length() if len(hi) else 0
        if (not len(lo) or lo.min() >= 0) and bits <= 31:  # sort packed (lo, hi) keys
            key = np.sort((lo << bits | hi).astype(np.uint32 if bits <= 16 else np.int64))
            lo, hi = key >> bits, key & ((1 << bits) - 1)
        else:
            order = np.lexsort((hi, lo))
            lo, hi = lo[order], hi[order]
        return igraph.Graph(n=n, edges=zip(lo.tolist(), hi.tolist())), node_colors
    order = np.lexsort((colours, hi, lo))
    lo, hi, colours = lo[order], hi[order], colours[order]
    offset = max(node_colors, default=0) + 1
    middle = n + np.arange(len(lo))
    sub_edges = np.stack([np.stack([lo, middle], axis=1), np.stack([hi, middle], axis=1)], axis=1).reshape(-1, 2)
    return igraph.Graph(n=n + len(lo), edges=sub_edges.tolist()), node_colors + (offset + colours).tolist()


def _canonical_order(graph: igraph.Graph, colours: list[int], n: int) -> list[int]:
    """γ for a BLISS input: entry k is the original vertex at canonical position k (subdivision vertices dropped)."""
    labels = graph.canonical_permutation(color=colours)
    return labels if graph.vcount() == n else [v for v in labels if v < n]


def _edge_array(edges) -> np.ndarray:
    """The edges as an (E, 2) int64 array. A list or tuple of 2-element tuples or lists is read with np.fromiter, about
    twice as fast as np.asarray on 10⁴ edges and with the same values and errors; anything else goes to np.asarray."""
    if isinstance(edges, (list, tuple)) and edges:
        try:
            pairs = set(map(type, edges)) <= {tuple, list} and set(map(len, edges)) == {2}
        except TypeError:
            pairs = False
        if pairs:
            return np.fromiter(itertools.chain.from_iterable(edges), dtype=np.int64, count=2 * len(edges)).reshape(-1, 2)
    return np.asarray(edges, dtype=np.int64).reshape(-1, 2)


def _nontrivial_generators(graph: igraph.Graph, colours: list[int], n: int) -> np.ndarray:
    """BLISS generators of the coloured automorphism group, restricted to the original vertices, identity
    dropped. Shape (num_generators, n), int64 image lists."""
    if graph.vcount() == 0:  # the empty graph: no generators (reshape(-1, 0) would be ambiguous)
        return np.zeros((0, n), dtype=np.int64)
    gens = np.asarray(graph.automorphism_group(color=colours), dtype=np.int64).reshape(-1, graph.vcount())[:, :n]
    return gens[(gens != np.arange(n)).any(axis=1)]


def _orbits(n: int, generators: np.ndarray) -> list[list[int]]:
    """Orbits of the group generated by ``generators`` (image lists, shape (k, n)) on range(n), each sorted,
    ordered by their smallest node: the connected components of the graph with edges i — g(i)."""
    rows = np.tile(np.arange(n), len(generators))
    links = coo_matrix((np.ones(rows.size, dtype=np.int8), (rows, generators.reshape(-1))), shape=(n, n))
    _, label = connected_components(links, directed=False)
    groups: dict[int, list[int]] = {}
    for i, c in enumerate(label.tolist()):
        groups.setdefault(c, []).append(i)
    return sorted(groups.values(), key=lambda o: o[0])


@dataclass(frozen=True)
class StabilizerChain:
    """A stabilizer chain of Aut(G) computed with BLISS by individualizing base points.

    Level i holds the base point b_i and a transversal U_i of G^(i+1) in G^(i), where G^(i) fixes b_0, …, b_{i-1}
    pointwise (BLISS gives generators of G^(i) when b_0, …, b_{i-1} receive fresh colours): row p of
    ``transversals[i]`` maps b_i to the p-th point of its orbit. Every automorphism is u_0∘u_1∘…∘u_{m-1} for exactly
    one choice of u_i ∈ U_i, so independent uniform rows give a uniform automorphism.

    Shapes:
        transversals: one long tensor (|orbit of b_i under G^(i)|, n) per level.
    """

    base: tuple[int, ...]
    transversals: tuple[torch.Tensor, ...]

    @staticmethod
    def build(graph: igraph.Graph, colours: list[int], n: int, limit: int = CHAIN_ENTRY_LIMIT) -> "StabilizerChain | None":
        """The chain, or None when it is too costly to be worth storing: when its transversals would hold more than
        ``limit`` entries, its Schreier trees would take more than ``limit // 4`` generator steps, or its BLISS calls
        would read more than ``limit // 4`` vertices and edges in all (the bounds are deterministic, so the choice
        never depends on timing)."""
        colours = list(colours)
        fresh = max(colours, default=0) + 1
        base, transversals, stored, steps = [], [], 0, 0
        size = graph.vcount() + graph.ecount()
        generators = _nontrivial_generators(graph, colours, n)
        while len(generators):
            if (len(base) + 2) * size > limit // 4:
                return None
            point = int(np.flatnonzero((generators != np.arange(n)).any(axis=0))[0])
            parent, via, order = {point: -1}, {point: -1}, [point]
            for p in order:  # breadth-first Schreier tree: rep[g(p)] = g∘rep[p]
                for index, q in enumerate(generators[:, p].tolist()):
                    if q not in parent:
                        parent[q], via[q] = p, index
                        order.append(q)
                steps += len(generators)
                if steps > limit // 4 or stored + n * len(order) > limit:
                    return None
            stored += n * len(order)
            gens = torch.from_numpy(generators)
            reps = {point: torch.arange(n)}
            for q in order[1:]:
                reps[q] = gens[via[q]][reps[parent[q]]]
            base.append(point)
            transversals.append(torch.stack([reps[q] for q in sorted(order)]))
            colours[point] = fresh + len(base)
            generators = _nontrivial_generators(graph, colours, n)
        return StabilizerChain(tuple(base), tuple(transversals))

    def draw(self, num_samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Uniform automorphisms as image lists. Shape (num_samples, n)."""
        if not self.transversals:
            raise ValueError("the trivial group has an empty chain; there is nothing to draw")
        levels = [t[uniform_integers(t.shape[0], num_samples, generator)] for t in self.transversals]
        s = levels[-1]
        for t in reversed(levels[:-1]):
            s = torch.gather(t, 1, s)  # (u_i∘s)[j] = u_i[s[j]]
        return s


@dataclass(frozen=True)
class GraphCanonicalForm:
    """The canonical data of one graph.

    Attributes:
        n: number of nodes.
        order: γ as a list; order[k] is the original node at canonical position k.
        generators: generators of Aut(G) as image lists (node i ↦ gen[i]), from BLISS.
        canonical_edges: edges of the canonical graph as sorted pairs (k, l), k < l, with their colours.
        node_colors: the node colours the form was computed with (None when uncoloured).
    """

    n: int
    order: tuple[int, ...]
    generators: tuple[tuple[int, ...], ...]
    canonical_edges: tuple[tuple[int, int, int], ...]
    node_colors: tuple[int, ...] | None = None
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def edges(self) -> list[tuple[int, int]]:
        """The original graph's edges (u, v), read back through γ, aligned with ``edge_colors``."""
        return [(self.order[k], self.order[l]) for k, l, _ in self.canonical_edges]

    @property
    def edge_colors(self) -> list[int]:
        return [c for _, _, c in self.canonical_edges]

    def _bliss(self) -> tuple[igraph.Graph, list[int]]:
        if "bliss" not in self._cache:
            self._cache["bliss"] = _bliss_input(self.n, self.edges, self.node_colors, self.edge_colors)
        return self._cache["bliss"]

    @cached_property
    def automorphism_group_order(self) -> int:
        """|Aut(G)|, exact (BLISS counts with arbitrary-precision integers), computed on first use."""
        if not self.generators:
            return 1
        graph, colours = self._bliss()
        limit = sys.get_int_max_str_digits()
        sys.set_int_max_str_digits(0)  # igraph passes BLISS's exact count as a decimal string (n! has n·log10(n/e) digits)
        try:
            return int(graph.count_automorphisms(color=colours))
        finally:
            sys.set_int_max_str_digits(limit)

    @cached_property
    def orbits(self) -> list[list[int]]:
        """Orbits of Aut(G) on the nodes, each sorted, ordered by their smallest node."""
        return _orbits(self.n, np.asarray(self.generators, dtype=np.int64).reshape(-1, self.n))

    @property
    def chain(self) -> StabilizerChain | None:
        """The stabilizer chain of Aut(G), built on first use; None when its transversals would exceed
        CHAIN_ENTRY_LIMIT entries (then samples are drawn by relabelling)."""
        if "chain" not in self._cache:
            self._cache["chain"] = StabilizerChain.build(*self._bliss(), self.n) if self.generators else None
        return self._cache["chain"]

    def element(self) -> Permutation:
        """γ as a group element (canonical position k ↦ original node order[k])."""
        return Permutation(torch.tensor(self.order, dtype=torch.long))

    def sample(self, num_samples: int = 1, generator: torch.Generator | None = None, method: str = "auto") -> torch.Tensor:
        """Orderings h = s∘γ with s uniform on Aut(G) (h[k] = s[γ[k]]). Shape (num_samples, n), long.

        Methods, all exactly uniform on the |Aut(G)| orderings that give the canonical form:
            ``relabel``: one BLISS canonicalization of a uniformly relabelled copy per sample (see
                ``sample_inversion_kernel``);
            ``chain``: uniform rows of the stabilizer chain's transversals, composed in a batch; the chain costs one
                BLISS call per base point, once per form;
            ``sympy``: a uniform rank unranked over sympy's Schreier–Sims transversals (the original method, kept
                as a reference for tests and the benchmark);
            ``auto``: ``chain`` once a form is sampled more than once (or asks for several samples) and the chain
                fits CHAIN_ENTRY_LIMIT, ``relabel`` otherwise.
        """
        if method not in METHODS:
            raise ValueError(f"unknown sampling method {method!r}; choose from {', '.join(METHODS)}")
        gamma = torch.tensor(self.order, dtype=torch.long)
        if not self.generators:
            return gamma.expand(num_samples, self.n).clone()
        if method == "auto":
            self._cache["draws"] = self._cache.get("draws", 0) + num_samples
            many = "chain" in self._cache or self._cache["draws"] > 1
            method = "chain" if many and self.chain is not None else "relabel"
        if method == "relabel":
            graph = (self.n, self.edges, self.node_colors, self.edge_colors)
            return torch.stack([sample_inversion_kernel(*graph, generator=generator) for _ in range(num_samples)])
        if method == "chain":
            if self.chain is None:
                raise ValueError(f"the stabilizer chain of this graph exceeds {CHAIN_ENTRY_LIMIT} entries; use 'relabel'")
            return self.chain.draw(num_samples, generator)[:, gamma]
        transversals = self._sympy_transversals()
        rows = []
        for _ in range(num_samples):
            rank, s = uniform_below(math.prod(len(t) for t in transversals), generator), list(range(self.n))
            for transversal in transversals:
                rank, digit = divmod(rank, len(transversal))
                t = transversal[digit]
                s = [s[t[i]] for i in range(self.n)]  # s ← s∘t
            rows.append(torch.tensor(s, dtype=torch.long)[gamma])
        return torch.stack(rows)

    def _sympy_transversals(self) -> list[list[tuple[int, ...]]]:
        """Basic transversals of a base and strong generating set from sympy's incremental Schreier–Sims."""
        if "sympy" not in self._cache:
            group = PermutationGroup([SympyPermutation(list(g)) for g in self.generators])
            base, strong = group.schreier_sims_incremental()
            _, transversals = _orbits_transversals_from_bsgs(base, _distribute_gens_by_base(base, strong), transversals_only=False)
            self._cache["sympy"] = [[tuple(t[p].array_form) for p in sorted(t)] for t in transversals]
        return self._cache["sympy"]

    def to_dict(self) -> dict:
        """The JSON view shared by the CLIs: exact |Aut| as a decimal string, orbits, γ, canonical edges, generators."""
        return {
            "automorphism_group_order": decimal_string(self.automorphism_group_order),
            "orbits": self.orbits,
            "canonical_order": list(self.order),
            "canonical_edges": [[k, l] for k, l, _ in self.canonical_edges],
            "generators": [list(g) for g in self.generators],
        }

    def canonical_adjacency(self, dtype=torch.float64) -> torch.Tensor:
        A = torch.zeros(self.n, self.n, dtype=dtype)
        for k, l, _ in self.canonical_edges:
            A[k, l] = A[l, k] = 1
        return A


def _checked(n: int, edges, node_colors, edge_colors) -> np.ndarray:
    """The edges as an (E, 2) int64 array, with the colour lists checked against n and E."""
    edges = _edge_array(edges)
    if edge_colors is not None and len(edge_colors) != len(edges):
        raise ValueError("edge_colors must align with edges")
    if node_colors is not None and len(node_colors) != n:
        raise ValueError("node_colors must have one entry per node")
    return edges


def canonicalize_graph(
    n: int,
    edges: Sequence[tuple[int, int]],
    node_colors: Sequence[int] | None = None,
    edge_colors: Sequence[int] | None = None,
) -> GraphCanonicalForm:
    """Canonical ordering and automorphism group generators of a simple undirected graph with optional colours
    (two BLISS calls; |Aut(G)|, orbits and the stabilizer chain are computed when first asked for)."""
    edges = _checked(n, edges, node_colors, edge_colors)
    graph, colours = _bliss_input(n, edges, node_colors, edge_colors)
    order = tuple(_canonical_order(graph, colours, n))
    gens = tuple(map(tuple, _nontrivial_generators(graph, colours, n).tolist()))
    position = {node: k for k, node in enumerate(order)}
    ecols = edge_colors if edge_colors is not None else [0] * len(edges)
    canon = tuple(sorted((min(position[u], position[v]), max(position[u], position[v]), int(c)) for (u, v), c in zip(edges, ecols)))
    ncols = None if node_colors is None else tuple(int(c) for c in node_colors)
    form = GraphCanonicalForm(n, order, gens, canon, ncols)
    form._cache["bliss"] = (graph, colours)
    return form


def sample_inversion_kernel(
    n: int,
    edges: Sequence[tuple[int, int]],
    node_colors: Sequence[int] | None = None,
    edge_colors: Sequence[int] | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """One exact inversion-kernel sample with a single BLISS call: h = π⁻¹∘γ(π·G) for a uniform relabelling π.

    Why it is exact: write c(H) for BLISS's canonical ordering of a labelled graph H (c(H)[k] is the node of H at
    canonical position k). The canonical graph of π·G is that of G, so h maps G onto the canonical form and
    h = s∘γ(G) for some automorphism s. For a coloured automorphism a of G, (π∘a)·G = π·G as labelled graphs (and
    ``_bliss_input`` makes the BLISS input a function of the labelled graph alone), so c((π∘a)·G) = c(π·G) and
    h(π∘a) = a⁻¹∘h(π). Since π ↦ π∘a preserves the uniform law of π, the law of h is invariant under Aut(G) acting
    on the left; it lives on the single coset Aut(G)∘γ(G), so it is uniform there: each of the |Aut(G)| orderings
    that give the canonical form has probability 1/|Aut(G)|. No group order or generating set is needed.

    Shapes: returns (n,) long, h[k] = the original node at canonical position k.
    """
    edges = _checked(n, edges, node_colors, edge_colors)
    pi = random_relabelling(n, generator).numpy()
    colours = None
    if node_colors is not None:
        colours = np.empty(n, dtype=np.int64)
        colours[pi] = np.asarray(node_colors, dtype=np.int64)
    graph, bliss_colours = _bliss_input(n, pi[edges], colours, edge_colors)
    inverse = np.empty(n, dtype=np.int64)
    inverse[pi] = np.arange(n)
    if node_colors is None and graph.vcount() == n:
        bliss_colours = None  # one colour: the same labelling as [0] * n, without converting the list
    order = np.fromiter(_canonical_order(graph, bliss_colours, n), dtype=np.int64, count=n)
    return torch.from_numpy(inverse[order])


def canonicalize_dense(adj: torch.Tensor, num_nodes: int | None = None, node_colors=None, edge_types=None) -> GraphCanonicalForm:
    """Canonicalize one dense adjacency (n, n) (or its first num_nodes rows). ``edge_types`` (n, n) ints give
    edge colours for the nonzero entries."""
    return canonicalize_graph(*_dense_to_lists(adj, num_nodes, node_colors, edge_types))


def _dense_to_lists(adj: torch.Tensor, num_nodes: int | None, node_colors, edge_types):
    """(n, edges, node colours, edge colours) of the first num_nodes rows of a dense adjacency."""
    n = adj.shape[-1] if num_nodes is None else int(num_nodes)
    a = adj[:n, :n]
    iu = torch.triu_indices(n, n, 1)
    present = a[iu[0], iu[1]] != 0
    us, vs = iu[0][present].tolist(), iu[1][present].tolist()
    ecol = None if edge_types is None else edge_types[:n, :n][iu[0], iu[1]][present].tolist()
    ncol = None if node_colors is None else [int(c) for c in node_colors[:n]]
    return n, list(zip(us, vs)), ncol, ecol


def sample_graph_inversion_kernel(
    adj: torch.Tensor,
    mask: torch.Tensor,
    generator: torch.Generator | None = None,
    node_colors: torch.Tensor | None = None,
    edge_types: torch.Tensor | None = None,
) -> Permutation:
    """One inversion-kernel sample per graph of a padded batch.

    A graph that occurs once in the batch costs one BLISS call on a uniformly relabelled copy (the relabelling and
    the edge lists are computed for the whole batch at once, or for a batch of one graph by
    ``_relabel_and_canonicalize_one``, with the same draws; exact for the reason given in
    ``sample_inversion_kernel``). Identical graphs are canonicalized once and drawn from together
    (``GraphCanonicalForm.sample``, method "auto"). Entries in the padding are ignored.

    Shapes:
        adj: (B, n, n), mask: (B, n) bool with real nodes first, node_colors: (B, n), edge_types: (B, n, n)
        returns: a Permutation of shape (B, n) that fixes the padding; h[b, k] is the node at canonical position k.
    """
    B, n = mask.shape
    mask = mask.detach().cpu()
    A = (adj.detach().cpu() != 0) & mask[:, :, None] & mask[:, None, :]
    T = None if edge_types is None else torch.where(A, edge_types.detach().cpu().long(), 0)
    X = None if node_colors is None else torch.where(mask, node_colors.detach().cpu().long(), 0)
    sizes = mask.sum(-1)
    if B == 1:
        m = int(sizes[0])
        out = torch.arange(n).unsqueeze(0)
        out[0, :m] = _relabel_and_canonicalize_one(A[0, :m, :m], None if X is None else X[0, :m],
                                                   None if T is None else T[0, :m, :m], n, generator)
        return Permutation(out.to(adj.device))
    keys = torch.cat([sizes[:, None], A.reshape(B, -1).long()] + [t.reshape(B, -1) for t in (T, X) if t is not None], 1)
    _, copy_of = torch.unique(keys, dim=0, return_inverse=True)
    copies = torch.bincount(copy_of)
    out = torch.arange(n).repeat(B, 1)
    single = torch.nonzero(copies[copy_of] == 1).flatten()
    if single.numel():
        pick = (lambda t: None if t is None else t[single])
        out[single] = _relabel_and_canonicalize(A[single], sizes[single], pick(X), pick(T), generator)
    for group in torch.nonzero(copies > 1).flatten().tolist():
        members = torch.nonzero(copy_of == group).flatten()
        b, m = int(members[0]), int(sizes[members[0]])
        form = canonicalize_dense(A[b], m, None if X is None else X[b], None if T is None else T[b])
        out[members, :m] = form.sample(len(members), generator)
    return Permutation(out.to(adj.device))


def _relabel_and_canonicalize_one(
    A: torch.Tensor, X: torch.Tensor | None, T: torch.Tensor | None, n: int, generator: torch.Generator | None
) -> torch.Tensor:
    """``_relabel_and_canonicalize`` for a batch of one graph, padded to n nodes, without the batch bookkeeping (a
    step of live sampling canonicalizes one small graph, where that bookkeeping costs several times the BLISS call):
    the same n relabelling keys from ``generator`` (those of the padding unused), the relabelled graph's
    ``_bliss_input``, which is what the batch path builds for every graph, hence the same sample
    (tests/test_canonical.py compares the two).

    Shapes: A (m, m) bool, X (m,) or None, T (m, m) or None; returns (m,) long."""
    m = A.shape[-1]
    while True:
        ordered, order = torch.randint(0, 2**62, (1, n), generator=generator)[0, :m].sort()
        if not bool((ordered[1:] == ordered[:-1]).any()):
            break
    o = order.numpy()
    k, l = np.nonzero(np.triu(A.numpy()[np.ix_(o, o)], 1))  # row-major, as the batch path reads them
    graph, colours = _bliss_input(m, np.stack([k, l], 1), None if X is None else X.numpy()[o],
                                  None if T is None else T.numpy()[o[k], o[l]])
    return torch.from_numpy(o[_canonical_order(graph, colours, m)])


def _relabel_and_canonicalize(
    A: torch.Tensor, sizes: torch.Tensor, X: torch.Tensor | None, T: torch.Tensor | None, generator: torch.Generator | None
) -> torch.Tensor:
    """``sample_inversion_kernel`` for a padded batch: uniform relabellings of the real nodes (padding fixed), the
    relabelled edge lists read off in one pass, then one BLISS call per graph.

    The BLISS inputs are those of ``_bliss_input`` (built for the whole batch at once: edges in row-major order are
    already sorted, a graph with two or more edge colours is subdivided), so the samples are the same as one
    ``_bliss_input`` per graph would give; each graph costs one small igraph object and one BLISS call.

    Shapes: A (S, n, n) bool, sizes (S,), X (S, n) or None, T (S, n, n) or None; returns (S, n) long."""
    S, n = sizes.shape[0], A.shape[-1]
    pad = torch.arange(n) >= sizes[:, None]
    while True:  # 62-bit keys; the padding sorts last and in place; any tie redraws (see random_relabelling)
        keys = torch.where(pad, 2**62 + torch.arange(n), torch.randint(0, 2**62, (S, n), generator=generator))
        ordered = keys.sort(-1).values
        if not bool((ordered[:, 1:] == ordered[:, :-1]).any()):
            break
    order = keys.argsort(-1)  # order[b, k] = the node placed at relabelled position k
    rows, cols = order[:, :, None], order[:, None, :]
    batch = torch.arange(S)[:, None, None]
    pairs = torch.triu(A[batch, rows, cols], 1).nonzero()  # (E, 3): graph, k, l in row-major order (sorted)
    graph_of = pairs[:, 0].numpy()
    per_graph = np.bincount(graph_of, minlength=S)
    first = np.cumsum(per_graph) - per_graph
    m = sizes.numpy().astype(np.int64)
    nodes = np.zeros((S, n), dtype=np.int64) if X is None else torch.gather(X, 1, order).numpy()
    node_colours = nodes.tolist()
    edges = pairs[:, 1:].numpy()
    edge_list = edges.tolist()
    coloured = np.zeros(S, dtype=bool)
    if T is not None and len(pairs):
        colour = T[batch, rows, cols][pairs[:, 0], pairs[:, 1], pairs[:, 2]].numpy().astype(np.int64)
        low, high = np.full(S, np.iinfo(np.int64).max), np.full(S, np.iinfo(np.int64).min)
        np.minimum.at(low, graph_of, colour)
        np.maximum.at(high, graph_of, colour)
        coloured = high > low  # two or more edge colours: subdivide every edge (``_bliss_input``)
    if coloured.any():
        offset = np.where(np.arange(n) < m[:, None], nodes, np.iinfo(np.int64).min).max(1) + 1  # max(node colours) + 1
        middle = m[graph_of] + np.arange(len(graph_of)) - first[graph_of]
        sub_list = np.stack([edges[:, 0], middle, edges[:, 1], middle], 1).reshape(-1, 2).tolist()
        middle_colours = (offset[graph_of] + colour).tolist()
    perms = []
    for b, (size, start, count, split) in enumerate(zip(m.tolist(), first.tolist(), per_graph.tolist(), coloured.tolist())):
        colours = node_colours[b][:size]
        if split:
            graph = igraph.GraphBase(size + count, sub_list[2 * start : 2 * (start + count)])
            labels = graph.canonical_permutation(color=colours + middle_colours[start : start + count])
            perms.append([v for v in labels if v < size])
        else:
            perms.append(igraph.GraphBase(size, edge_list[start : start + count]).canonical_permutation(color=colours))
    positions = np.tile(np.arange(n), (S, 1))
    positions[~pad.numpy()] = np.fromiter(itertools.chain.from_iterable(perms), dtype=np.int64, count=int(m.sum()))
    return torch.from_numpy(np.take_along_axis(order.numpy(), positions, 1))


# ----------------------------------------------------------------------------------------------------------------------
# Lattices


@dataclass(frozen=True)
class LatticeCanonicalForm:
    """Exact canonical data of a batch of lattice inputs (the same from ``canonicalize_lattice`` and
    ``canonicalize_lattice_exhaustive``).

    Shapes:
        canonical_index: (B,) index into group.elements() of γ(x)
        coset_mask: (B, |G|) bool, the elements g with g⁻¹·x = c(x), i.e. the coset G_x·γ(x)
        stabilizer_mask: (B, |G|) bool, the elements s with s·x = x
    """

    group: LatticeGroup
    canonical_index: torch.Tensor
    coset_mask: torch.Tensor
    stabilizer_mask: torch.Tensor

    def __getitem__(self, index) -> "LatticeCanonicalForm":
        """The canonical data of a sub-batch."""
        return LatticeCanonicalForm(self.group, self.canonical_index[index], self.coset_mask[index], self.stabilizer_mask[index])

    @staticmethod
    def concat(forms: Sequence["LatticeCanonicalForm"]) -> "LatticeCanonicalForm":
        return LatticeCanonicalForm(
            forms[0].group,
            torch.cat([f.canonical_index for f in forms]),
            torch.cat([f.coset_mask for f in forms]),
            torch.cat([f.stabilizer_mask for f in forms]),
        )

    @property
    def gamma(self) -> LatticeElement:
        return self.group.elements()[self.canonical_index]

    @property
    def stabilizer_order(self) -> torch.Tensor:
        return self.stabilizer_mask.sum(-1)

    def sample(self, generator: torch.Generator | None = None, num_samples: int | None = None) -> LatticeElement:
        """Exactly uniform elements of the coset G_x·γ(x): the r-th member of the coset (in the order of
        group.elements()) for r uniform in [0, |G_x|), drawn by rejection on integers (``uniform_integers``), as the
        graph samplers are. Shape (B,) or (B, num_samples)."""
        k = 1 if num_samples is None else num_samples
        members = self.coset_mask.long().cumsum(-1)  # (B, |G|): coset members up to and including each element
        r = uniform_integers(members[:, -1].repeat_interleave(k), len(members) * k, generator, words=8).reshape(-1, k)
        idx = torch.searchsorted(members, r + 1)  # the first element whose count reaches r + 1: the r-th member
        elems = self.group.elements()[idx]
        return elems if num_samples is not None else elems[:, 0]


def lattice_orbit(group: LatticeGroup, sites: torch.Tensor, bonds: torch.Tensor | None, odd: Sequence[bool]) -> torch.Tensor:
    """Flattened g⁻¹·x for every element g of the group (rows in the order of group.elements()).

    Shapes:
        sites: (B, C, L, L); bonds: (B, 2, L, L) or None; odd: one flag per site channel
        returns: (B, |G|, D) with D = (C + 2)·L² (or C·L²), site channels first, then bonds
    """
    B, C, L, _ = sites.shape
    index, sign = _orbit_tables(group, C, tuple(bool(o) for o in odd), bonds is not None)
    x = sites.reshape(B, -1) if bonds is None else torch.cat([sites.reshape(B, -1), bonds.reshape(B, -1)], dim=-1)
    index, sign = index.to(x.device), sign.to(device=x.device, dtype=x.dtype)
    return x[:, index] * sign  # (B, |G|, D)


@lru_cache(maxsize=32)
def _orbit_tables(group: LatticeGroup, C: int, odd: tuple[bool, ...], with_bonds: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Gather index and sign with (g⁻¹·x)_flat = sign · x_flat[index], found by acting on the field of positions."""
    L, N = group.L, group.order
    inv = group.elements().inverse()
    site_size, bond_size = C * L * L, (2 * L * L if with_bonds else 0)
    positions = torch.arange(site_size + bond_size, dtype=torch.float64)
    parts, signs = [], []
    for c in range(C):
        f = positions[c * L * L : (c + 1) * L * L].reshape(1, L, L).expand(N, 1, L, L)
        parts.append(inv.act_sites(f).reshape(N, -1))
        sign = inv.sign.to(torch.float64) if odd[c] else torch.ones(N, dtype=torch.float64)
        signs.append(sign.unsqueeze(-1).expand(N, L * L))
    if with_bonds:
        bonds = positions[site_size:].reshape(2, L, L).expand(N, 2, L, L)
        parts.append(inv.act_bonds(bonds).reshape(N, -1))
        signs.append(torch.ones(N, bond_size, dtype=torch.float64))
    return torch.cat(parts, -1).long(), torch.cat(signs, -1)


def _lexicographic_minima(orbit: torch.Tensor) -> torch.Tensor:
    """Mask of the rows equal to the lexicographically smallest row, per batch item. Shapes: (B, N, D) -> (B, N).

    Columns are scanned in order, keeping the rows that reach the running minimum. Every 16 columns the survivors
    are compacted into a smaller tensor when they are at most half of it (padded with copies of the first survivor,
    which behave exactly like it), and the scan stops once all survivors are equal rows: the remaining columns
    cannot split them."""
    B, N, D = orbit.shape
    rows = torch.arange(N, device=orbit.device).expand(B, N)  # original index of each row of ``sub``
    sub, alive = orbit, torch.ones(B, N, dtype=torch.bool, device=orbit.device)
    inf = torch.tensor(float("inf"), dtype=orbit.dtype, device=orbit.device)
    for d in range(D):
        col = sub[..., d]
        best = torch.where(alive, col, inf).min(-1, keepdim=True).values
        alive = alive & (col == best)
        if d % 16 != 15:
            continue
        M = int(alive.sum(-1).max())
        if M <= sub.shape[1] // 2:
            first = alive.long().argmax(-1, keepdim=True)  # (B, 1)
            order = torch.sort(alive.to(torch.int8), dim=-1, descending=True, stable=True).indices[:, :M]  # survivors first
            keep = torch.gather(alive, 1, order)
            order = torch.where(keep, order, first)
            sub = torch.gather(sub, 1, order[..., None].expand(B, M, D))
            rows = torch.gather(rows, 1, order)
            alive = torch.ones(B, M, dtype=torch.bool, device=orbit.device)
        if M == 1 or d % 64 == 63:
            reference = sub[:, :1, d + 1 :] if bool(alive[:, 0].all()) else None
            if reference is not None and bool(((sub[..., d + 1 :] == reference).all(-1) == alive).all()):
                break
    return torch.zeros(B, N, dtype=torch.bool, device=orbit.device).scatter_(1, rows, alive)


def canonicalize_lattice(
    group: LatticeGroup,
    sites: torch.Tensor,
    bonds: torch.Tensor | None = None,
    odd: Sequence[bool] | None = None,
) -> LatticeCanonicalForm:
    """Exact canonicalization of site (and bond) fields, with exact ties: identical results to
    ``canonicalize_lattice_exhaustive`` without building the orbit.

    For g = (z, k, t), g⁻¹·x is a cyclic translation of y_(z,k) = (z, k, 0)⁻¹·x, so the orbit is the set of all L²
    shifts of the 8 (or 16) images y. Two exact methods, chosen by L alone (never by timing): for L ≤
    SMALL_LATTICE_MAX_L = 8 (a row of byte codes fits a 64-bit word) ``_canonicalize_small_lattice`` (packed row
    words, translation quotient, successive filtering with early exits: the batched model path), otherwise
    ``_canonicalize_by_shift_ranks`` (prefix doubling, O(|G| log L) time and memory per input).

    Shapes: sites (B, C, L, L) or (C, L, L); bonds (B, 2, L, L) or (2, L, L). Batches are processed in chunks of at
    most MAX_LATTICE_ENTRIES orbit numbers."""
    if sites.dim() == 3:
        sites = sites.unsqueeze(0)
        bonds = None if bonds is None else bonds.unsqueeze(0)
    odd = [False] * sites.shape[1] if odd is None else list(odd)
    if torch.isnan(sites).any() or (bonds is not None and torch.isnan(bonds).any()):
        raise ValueError("lattice inputs must not contain NaN (it is equal to nothing, so no canonical form exists)")
    B, C, L, _ = sites.shape
    if B == 0:
        empty = torch.zeros(0, group.order, dtype=torch.bool)
        return LatticeCanonicalForm(group, torch.zeros(0, dtype=torch.long), empty, empty.clone())
    chunk = max(1, MAX_LATTICE_ENTRIES // (group.order * (C + (2 if bonds is not None else 0))))
    if B > chunk:
        return LatticeCanonicalForm.concat([
            canonicalize_lattice(group, sites[i : i + chunk], None if bonds is None else bonds[i : i + chunk], odd)
            for i in range(0, B, chunk)
        ])
    if L <= SMALL_LATTICE_MAX_L:
        return _canonicalize_small_lattice(group, sites, bonds, odd)
    return _canonicalize_by_shift_ranks(group, sites, bonds, odd)


def _canonicalize_by_shift_ranks(group: LatticeGroup, sites: torch.Tensor, bonds: torch.Tensor | None, odd: Sequence[bool]) -> LatticeCanonicalForm:
    """``canonicalize_lattice`` by ranking cyclic shifts (any L; the method for L > SMALL_LATTICE_MAX_L).

    Each channel's shifts of the base images y are ranked jointly by prefix doubling, as in suffix arrays over cyclic
    strings: rows first (rank of the length-2m rotation = rank of the pair of length-m ranks), then columns of row
    ranks. A round that does not refine the partition proves it stable (equal classes then have equal classes m steps
    on, hence at every distance), so the loop stops early. The per-channel ranks are combined in the flattening's
    channel order, giving one exact integer key per group element. Shapes: sites (B, C, L, L), bonds (B, 2, L, L)."""
    B, L = sites.shape[0], sites.shape[-1]
    images = _base_images(group, sites, bonds, odd)  # (B, P, channels, L, L)
    key = torch.zeros(images.shape[:2] + (L, L), dtype=torch.long)
    for c in range(images.shape[2]):
        ranks = _shift_ranks(images[:, :, c])
        key = _dense_rank(key * (int(ranks.max()) + 1) + ranks)
        if int(key.max()) + 1 == key.numel():  # all distinct: later channels cannot split ties
            break
    key = key.reshape(B, -1)[:, _element_order(L, group.spin_flip)]
    coset = key == key.min(-1, keepdim=True).values
    stabilizer = key == key[:, :1]  # element 0 is the identity
    return LatticeCanonicalForm(group, coset.long().argmax(-1), coset, stabilizer)


MAX_LATTICE_ENTRIES = 50_000_000


def _base_images(group: LatticeGroup, sites: torch.Tensor, bonds: torch.Tensor | None, odd: Sequence[bool]) -> torch.Tensor:
    """y_(z,k) = (z, k, 0)⁻¹·x for every sign z and point k, in the order of group.elements() (sign +1 first), site
    channels then bond channels, as float64 with −0.0 read as 0.0. Shape (B, P, channels, L, L), P = 8 or 16."""
    L, P = group.L, 16 if group.spin_flip else 8
    pure = group.elements()[torch.arange(P) * L * L].inverse()  # (z, k, 0)⁻¹
    x = sites.detach().cpu().to(torch.float64)
    parts = [pure.act_sites(x[:, None, c : c + 1], odd=bool(o)) for c, o in enumerate(odd)]  # (B, P, 1, L, L) each
    if bonds is not None:
        parts.append(pure.act_bonds(bonds.detach().cpu().to(torch.float64)[:, None]))
    return torch.cat(parts, dim=2) + 0.0


@lru_cache(maxsize=16)
def _element_order(L: int, spin_flip: bool) -> torch.Tensor:
    """For each element of group.elements(), in order, its flat index (p, a, b) among the shifted images: g⁻¹·x is y_p
    rolled by (a, b) (image[i, j] = y_p[i + a, j + b]). Since g⁻¹·x = τ_u·y_p with u = −(a, b), g = (z, k, t) has
    t = R_k·(a, b)."""
    P = 16 if spin_flip else 8
    p, a, b = torch.meshgrid(torch.arange(P), torch.arange(L), torch.arange(L), indexing="ij")
    t = torch.einsum("...ij,...j->...i", D4_MATRICES[p % 8], torch.stack([a, b], -1)) % L
    return ((p * L + t[..., 0]) * L + t[..., 1]).reshape(-1).argsort()


def _dense_rank(values: torch.Tensor) -> torch.Tensor:
    """Ranks 0, 1, … of the distinct values, in increasing order (ties share a rank). Same shape, long.

    Integers in [0, 4·numel) are ranked in linear time, by marking the values that occur and counting the marks
    below each (the rank keys of a lattice with few classes, such as a constant one); anything else by sorting."""
    if not values.is_floating_point() and values.numel():
        if int(values.min()) >= 0 and (top := int(values.max())) < 4 * values.numel():
            present = torch.zeros(top + 1, dtype=torch.long, device=values.device)
            present[values.reshape(-1)] = 1
            return (present.cumsum(0) - 1)[values]
    return torch.unique(values, return_inverse=True)[1].reshape(values.shape)


def _shift_ranks(y: torch.Tensor) -> torch.Tensor:
    """Rank of every cyclic 2D shift of every field, by the row-major flattening of the shifted field:
    out[..., a, b] orders the fields (i, j) ↦ y[..., i + a, j + b] (indices mod L), ties exact. Shape of y."""
    L = y.shape[-1]
    rank = _dense_rank(y)
    for dim in (-1, -2):  # rows: rotations of each row; then columns of row ranks
        classes, m = int(rank.max()) + 1, 1
        while m < L and classes < rank.numel():
            rank = _dense_rank(rank * classes + torch.roll(rank, -m, dims=dim))
            refined = int(rank.max()) + 1
            if refined == classes:
                break
            classes, m = refined, 2 * m
    return rank


# ----------------------------------------------------------------------------------------------------------------------
# Small lattices (L ≤ SMALL_LATTICE_MAX_L): packed row words, translation quotient, successive filtering

SMALL_LATTICE_MAX_L = 8  # one row of byte codes fits one 64-bit word
_FINISH_NUMBERS = 1 << 15  # the filtering loop hands over to one dense pass once candidates × words left ≤ this
_ROW_HASH = np.random.default_rng(20250318).integers(1, 2**63, 64, dtype=np.uint64) | np.uint64(1)  # odd multipliers


@lru_cache(maxsize=32)
def _small_lattice_tables(group: LatticeGroup, C: int, odd: tuple[bool, ...], with_bonds: bool):
    """Index tables of the small-lattice path (numpy), for P = 8 or 16 base images and |G| = P·L² elements:

    doubled: (P, channels, L, 2L) index into [codes of x | codes of the spin-flipped x] that writes every row of every
        base image y_p = (z, k, 0)⁻¹·x twice in a row (so that its rotations are contiguous windows);
    source: (P, channels), the channel of x that channel c of y_p is made of (rotations exchange the bond channels);
    image_element: (|G|,) element index of every image (p, a, b) (the inverse of ``_element_order``);
    compose: (|G|, |G|) int16, compose[s, g] = index of s∘g; inverse: (|G|,) index of g⁻¹;
    shifted: (L², L²), shifted[t, v] = flat index of v − t (mod L), so that mask[shifted[t]] is the mask moved by t;
    rolled: (L, L, L), rolled[i, a, b] = flat index of row (i + a) mod L, rotation b, in an (L rows, L rotations) table;
    word_offset: (L, channels·L), word_offset[a, c·L + i] = c·L² + ((i + a) mod L)·L, where word (c, i) of the image
        rolled by (a, b) sits in an (channels, L rows, L rotations) table, after the offset b."""
    L, P = group.L, 16 if group.spin_flip else 8
    index, sign = _orbit_tables(group, C, odd, with_bonds)
    rows = torch.arange(P) * L * L
    base = (index[rows] + index.shape[1] * (sign[rows] < 0).long()).numpy().reshape(P, -1, L, L)
    doubled = np.ascontiguousarray(np.concatenate([base, base], -1))
    source = (base[:, :, 0, 0] % index.shape[1]) // (L * L)  # (P, channels): the channel of x that fills each channel of y_p
    els = group.elements()

    def index_of(g: LatticeElement) -> torch.Tensor:
        return (((g.sign < 0).long() * 8 + g.point) * L + g.shift[..., 0]) * L + g.shift[..., 1]

    compose = index_of(LatticeElement(L, els.point[:, None], els.shift[:, None], els.sign[:, None]).compose(
        LatticeElement(L, els.point[None, :], els.shift[None, :], els.sign[None, :])))
    t = np.arange(L * L)
    v0, v1 = t // L, t % L
    shifted = ((v0[None, :] - v0[:, None]) % L) * L + (v1[None, :] - v1[:, None]) % L
    i = np.arange(L)
    rolled = ((i[:, None, None] + i[None, :, None]) % L) * L + i[None, None, :]
    w = np.arange(base.shape[1] * L)
    word_offset = (w // L) * L * L + ((i[:, None] + w % L) % L) * L
    return (doubled, source, np.argsort(_element_order(L, group.spin_flip).numpy()), compose.to(torch.int16).numpy(),
            index_of(els.inverse()).numpy(), shifted, rolled, word_offset)


def _row_dense_rank(v: np.ndarray) -> np.ndarray:
    """Dense ranks 0, 1, … of the distinct values of each row (ties share a rank; -0.0 = 0.0), for rows of at most 256
    values. Shape of v, uint8."""
    rows, width = v.shape
    flat = (np.argsort(v, axis=1) + np.arange(rows)[:, None] * width).ravel()  # any order of ties will do
    s = v.ravel()[flat].reshape(rows, width)
    new = np.zeros((rows, width), dtype=np.uint8)
    np.not_equal(s[:, 1:], s[:, :-1], out=new[:, 1:].view(bool))
    out = np.empty(rows * width, dtype=np.uint8)
    out[flat] = np.cumsum(new, axis=1, dtype=np.uint8).ravel()
    return out.reshape(rows, width)


def _rotated_row_words(doubled: np.ndarray) -> np.ndarray:
    """Rows written twice (..., 2L) uint8 codes < 128 -> every rotation of every row packed big-endian into one uint64
    (first code in the most significant byte used), so integer order is lexicographic order. Shape (..., L):
    out[..., r] packs row[r], row[r + 1], … (indices mod L)."""
    L = doubled.shape[-1] // 2
    if L == 8:  # rotation r is the 8-byte window at r: read in place, then converted to native order
        view = np.ndarray(doubled.shape[:-1] + (8,), dtype=">u8", buffer=doubled, strides=doubled.strides[:-1] + (1,))
        return view.astype(np.uint64)
    padded = np.zeros(doubled.shape[:-1] + (L, 8), dtype=np.uint8)
    padded[..., 8 - L :] = doubled[..., np.arange(L)[:, None] + np.arange(L)]
    return padded.view(">u8")[..., 0].astype(np.uint64)


def _translation_basis(T: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For subgroups T of Z_L² given as masks (..., L, L): α (T's projection on the first coordinate is α·Z_L), β ((0, β)
    generates T ∩ (0 × Z_L)) and δ with (α mod L, δ) ∈ T. Every t is equivalent mod T to exactly one lead (t0, t1) with
    t0 < α, t1 < β: t0 mod α, (t1 − ⌊t0/α⌋·δ) mod β. Shapes (...,) each."""
    L = T.shape[-1]
    if L == 1:
        one = np.ones(T.shape[:-2], dtype=np.int64)
        return one, one, 0 * one
    column = T[..., 0, 1:]
    beta = np.where(column.any(-1), column.argmax(-1) + 1, L)
    rows = T[..., 1:, :].any(-1)
    alpha = np.where(rows.any(-1), rows.argmax(-1) + 1, L)
    delta = np.take_along_axis(T, (alpha % L)[..., None, None], -2)[..., 0, :].argmax(-1)
    return alpha, beta, delta


def _canonicalize_small_lattice(group: LatticeGroup, sites: torch.Tensor, bonds: torch.Tensor | None, odd: Sequence[bool]) -> LatticeCanonicalForm:
    """``canonicalize_lattice`` for L ≤ SMALL_LATTICE_MAX_L, with identical results (numpy, vectorized over the batch).

    1. Codes: the values of each site channel (with their negations when the channel is odd and the group has the spin
       flip), and of the two bond channels together, are replaced by their dense ranks within each input (< 2L² ≤ 128):
       every comparison the lexicographic order makes keeps its outcome, ties included.
    2. The orbit is the set of images (p, a, b) = y_p rolled by (a, b). Every row of every base image y_p, rotated by
       each b, is packed into one word, so an image is a sequence of (channels·L) words compared as integers.
    3. Translation quotient: g and τ_u∘g (τ_u a translation) give the same image iff τ_u fixes x, i.e. u ∈ T_x. T_x
       is found among x's L² rolls: a hash of the rotated rows proposes the rolls, an exact word comparison decides
       (a constant x is fixed by all). Within each (sign, point) part only the translations t with t0 < α, t1 < β are
       candidates (one per coset of T_x, ``_translation_basis``).
    4. Successive filtering: the candidates reaching the smallest first word are kept, then the next word, and so on
       (vectorized over the batch; an input leaves once it has one candidate left). Once every candidate of an input
       has a constant channel c in its base image (x's channel feeding it is constant; rotations exchange the bond
       channels), rows 1 … L−1 of c are skipped: they repeat row 0, which the candidates share. Once candidates ×
       words left ≤ _FINISH_NUMBERS, the rest is compared in one pass: one sort of the rows (input, words …) as
       big-endian byte strings, whose byte order is their lexicographic order.
    5. The survivors, each expanded by T_x, are exactly the coset G_x·γ; γ is its first element and the stabilizer is
       {s : s∘γ ∈ coset}.
    """
    B, C, L, _ = sites.shape
    P, LL = (16 if group.spin_flip else 8), L * L
    odd = tuple(bool(o) for o in odd)
    tables = _small_lattice_tables(group, C, odd, bonds is not None)
    doubled_index, source, image_element, compose, inverse, shifted, rolled, word_offset = tables

    # 1. codes of x and of the spin-flipped x: dense ranks per input and channel group, all groups in one sort
    x = sites.detach().cpu().to(torch.float64).numpy().reshape(B, C, LL)
    flipped = [odd[c] and group.spin_flip for c in range(C)]
    parts = [np.concatenate([x[:, c], -x[:, c]], 1) if flipped[c] else x[:, c] for c in range(C)]
    if bonds is not None:
        parts.append(bonds.detach().cpu().to(torch.float64).numpy().reshape(B, 2 * LL))
    width = max(part.shape[1] for part in parts)
    values = np.full((B, len(parts), width), np.inf)  # the padding ranks last and is never read
    for k, part in enumerate(parts):
        values[:, k, : part.shape[1]] = part
    ranks = _row_dense_rank(values.reshape(B * len(parts), width)).reshape(B, len(parts), width)
    pos = [ranks[:, c, :LL] for c in range(C)]
    neg = [ranks[:, c, LL : 2 * LL] if flipped[c] else pos[c] for c in range(C)]
    channels = C
    if bonds is not None:
        pos.append(ranks[:, C, : 2 * LL])
        neg.append(pos[-1])
        channels += 2
    codes = np.concatenate(pos + neg, 1)  # (B, 2D) uint8
    x_codes = codes[:, : channels * LL].reshape(B, channels, LL)
    constant = x_codes.max(-1) == x_codes.min(-1)  # (B, channels): the channels of x that hold one value

    # 2. rotated row words of the base images, (B, P, channels, L rows, L rotations)
    words = _rotated_row_words(np.ascontiguousarray(np.take(codes, doubled_index, axis=1)))
    flat_words = words.reshape(-1)

    # 3. the translation stabilizer T_x: rolls (a, b) of x equal to x (the same as translations t = (a, b)). A hash of
    # each rotated row (all channels) finds the candidates, which are then compared word by word.
    x_words = words[:, 0]  # p = 0 is the identity: y_0 = x
    hashed = (x_words * _ROW_HASH[:channels, None, None]).sum(1).reshape(B, LL)  # (B, L rows · L rotations), mod 2⁶⁴
    T = (hashed[:, rolled] == hashed[:, ::L, None, None]).all(1)  # (B, a, b)
    cb, ca, cr = np.nonzero(T & ~constant.all(1)[:, None, None])  # a constant x is fixed by every roll
    if cb.size:  # word (c, i) of roll (a, b) is row (i + a) mod L of x rotated by b
        i, c = np.arange(L)[:, None], np.arange(channels) * LL
        start = cb[:, None, None] * (P * channels * LL) + c
        rolled_words = flat_words[start + ((ca[:, None, None] + i) % L) * L + cr[:, None, None]]  # (n, L, channels)
        T[cb, ca, cr] = (rolled_words == flat_words[start + i * L]).all((1, 2))
    T = T.reshape(B, LL)
    periodic = np.flatnonzero(T.sum(1) > 1)

    # 4. successive filtering: the first word densely (over all images: each has the value of its lead), then word by
    # word on the candidates, one translation lead per class
    first = words[:, :, 0].reshape(B, P * LL)  # the first word of every image (p, a, b)
    alive = first == first.min(1, keepdims=True)
    if periodic.size:
        alpha, beta, _ = _translation_basis(T[periodic].reshape(-1, L, L))
        t = np.arange(L)
        lead = (t[:, None] < alpha[:, None, None]) & (t < beta[:, None, None])  # (B', t0, t1)
        alive[periodic] &= lead.reshape(-1, LL)[:, image_element % LL]
    flat = np.flatnonzero(alive)  # image index (b·P·L² + (p·L + a)·L + roll), sorted
    inp, rest = np.divmod(flat, P * LL)
    offset = (inp * P + rest // LL) * (channels * LL) + rest % L  # word w is at offset + word_offset[a, w]
    total = channels * L
    shift = ((rest // L) % L) * total  # a·total: word w is at offset + word_offset.flat[shift + w]
    # Each run of candidates (one input) reads word number w = c·L + i in step; once all of its candidates have a
    # constant channel c (in their base images), rows 1 … L−1 of c repeat row 0, which they all share: skipped.
    constant_part = constant[:, source].reshape(-1)  # ((b·P + p)·channels + c): channel c of y_p is constant
    starts = np.flatnonzero(np.concatenate([[True], inp[1:] != inp[:-1]]))
    counts = np.diff(np.append(starts, flat.size))
    word = np.ones(starts.size, dtype=np.int64)  # word (0, 0) is done
    word_offset, done = word_offset.reshape(-1), []
    while True:
        entering = word % L == 1 if L > 1 else np.zeros(word.size, dtype=bool)  # row 0 of channel w // L just read
        if entering.any():
            channel = word // L
            flat_constant = constant_part[offset // LL + np.repeat(channel, counts)]
            skip = entering & np.logical_and.reduceat(flat_constant, starts)
            word = np.where(skip, (channel + 1) * L, word)
        finished = (counts == 1) | (word >= total)
        if finished.any():
            leave = np.repeat(finished, counts)
            done.append(flat[leave])
            stay = ~leave
            flat, shift, offset = flat[stay], shift[stay], offset[stay]
            counts, word = counts[~finished], word[~finished]
            starts = np.cumsum(counts) - counts
        if not flat.size:
            break
        low = int(word.min())
        left = total - low
        if flat.size * left <= _FINISH_NUMBERS:
            # The rest in one pass, from the lowest word any input has reached (each input's candidates agree on the
            # words it has passed or skipped): rows (input, words …) big-endian, so that byte order is lex order.
            vals = flat_words[offset[:, None] + word_offset[shift[:, None] + np.arange(low, total)]]
            rows = np.empty((flat.size, left + 1), dtype=">u8")
            rows[:, 0], rows[:, 1:] = flat // (P * LL), vals
            best = np.argsort(rows.view(np.dtype((np.void, 8 * (left + 1)))).ravel(), kind="stable")[starts]
            done.append(flat[(vals == np.repeat(vals[best], counts, 0)).all(1)])  # the smallest row of each input
            break
        vals = flat_words[offset + word_offset[shift + np.repeat(word, counts)]]
        keep = vals == np.repeat(np.minimum.reduceat(vals, starts), counts)
        flat, shift, offset = flat[keep], shift[keep], offset[keep]
        counts = np.add.reduceat(keep, starts)
        starts = np.cumsum(counts) - counts
        word += 1

    # 5. each survivor g (one per (sign, point) part of the coset) stands for its class {τ_u∘g : u ∈ T_x}; γ is the
    # coset's first element, and the stabilizer is the union of the classes of g∘γ⁻¹
    survivors = np.concatenate(done)
    owner, g = survivors // (P * LL), image_element[survivors % (P * LL)]

    def classes(elements: np.ndarray) -> np.ndarray:
        out = np.zeros((B * P, LL), dtype=bool)
        out[owner * P + elements // LL] = T.reshape(-1)[(owner * LL)[:, None] + shifted[elements % LL]]
        return out.reshape(B, P * LL)

    coset = classes(g)
    gamma = coset.argmax(1)
    stabilizer = classes(compose[g, inverse[gamma[owner]]].astype(np.int64))
    return LatticeCanonicalForm(group, torch.from_numpy(gamma), torch.from_numpy(coset), torch.from_numpy(stabilizer))


def canonicalize_lattice_exhaustive(
    group: LatticeGroup,
    sites: torch.Tensor,
    bonds: torch.Tensor | None = None,
    odd: Sequence[bool] | None = None,
    max_elements: int = 50_000_000,
) -> LatticeCanonicalForm:
    """Exhaustive canonicalization of site (and bond) fields over all |G| elements, with exact ties: the reference
    for ``canonicalize_lattice`` (tests and the benchmark), with memory growing as L⁴.

    Shapes: sites (B, C, L, L) or (C, L, L); bonds (B, 2, L, L) or (2, L, L). The batch is processed in chunks so
    that no orbit tensor holds more than ``max_elements`` numbers."""
    if sites.dim() == 3:
        sites = sites.unsqueeze(0)
        bonds = None if bonds is None else bonds.unsqueeze(0)
    odd = [False] * sites.shape[1] if odd is None else list(odd)
    L = sites.shape[-1]
    width = (sites.shape[1] + (2 if bonds is not None else 0)) * L * L
    chunk = max(1, max_elements // (group.order * width))
    if sites.shape[0] > chunk:
        return LatticeCanonicalForm.concat([
            canonicalize_lattice_exhaustive(group, sites[i : i + chunk], None if bonds is None else bonds[i : i + chunk], odd, max_elements)
            for i in range(0, sites.shape[0], chunk)
        ])
    orbit = lattice_orbit(group, sites, bonds, odd)  # (B, |G|, D)
    candidates = _lexicographic_minima(orbit)
    canonical_index = candidates.long().argmax(-1)
    identity_row = orbit[:, :1]  # the identity is element 0: its row is x itself
    stabilizer = (orbit == identity_row).all(-1)  # g⁻¹·x = x  <=>  g ∈ G_x
    return LatticeCanonicalForm(group, canonical_index.cpu(), candidates.cpu(), stabilizer.cpu())
