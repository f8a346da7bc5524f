"""Exact canonicalization, stabilizers and inversion-kernel sampling.

Graphs (G = S_n). BLISS (through igraph) gives a canonical labelling and generators of the automorphism
group, respecting node colours and, through a subdivision of every edge, edge colours. The canonical
element is the permutation γ with γ[k] = the original node placed at canonical position k, so the canonical
adjacency C = γ⁻¹·A has C[k, l] = A[γ[k], γ[l]] and is the same for every relabelling of the graph.
The inversion kernel draws h = s∘γ with s uniform on Aut(G) (h[k] = s[γ[k]]): exactly |Aut(G)| distinct
orderings, each giving the canonical form, each with probability 1/|Aut(G)|. Uniformity is exact: a rank in
[0, |Aut|) is drawn with rejection sampling from a torch.Generator and unranked (mixed radix) over the basic
transversals of a base and strong generating set computed by sympy's Schreier–Sims.

Lattices (G = p4m, optionally × Z2). The orbit of x is searched exhaustively: every g⁻¹·x is flattened
and the lexicographically smallest is the canonical form c(x). γ(x) is the first element reaching it and
the coset {g : g⁻¹·x = c(x)} = G_x·γ(x) is found by exact comparison, so ties are never missed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Sequence

import igraph
import torch
from sympy.combinatorics import Permutation as SympyPermutation
from sympy.combinatorics import PermutationGroup
from sympy.combinatorics.util import _distribute_gens_by_base, _orbits_transversals_from_bsgs

from .groups import LatticeElement, LatticeGroup, Permutation

__all__ = [
    "GraphCanonicalForm",
    "canonicalize_graph",
    "sample_graph_inversion_kernel",
    "uniform_below",
    "LatticeCanonicalForm",
    "canonicalize_lattice",
]


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


@dataclass(frozen=True)
class GraphCanonicalForm:
    """The canonical data of one graph.

    Attributes:
        n: number of nodes.
        order: γ as a list; order[k] is the original node at canonical position k.
        generators: generators of Aut(G) as image lists (node i ↦ gen[i]).
        canonical_edges: edges of the canonical graph as sorted pairs (k, l), k < l, with their colours.
    """

    n: int
    order: tuple[int, ...]
    generators: tuple[tuple[int, ...], ...]
    canonical_edges: tuple[tuple[int, int, int], ...]
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def group(self) -> PermutationGroup | None:
        """Aut(G) as a sympy PermutationGroup (None when trivial)."""
        if not self.generators:
            return None
        if "group" not in self._cache:
            self._cache["group"] = PermutationGroup([SympyPermutation(list(g)) for g in self.generators])
        return self._cache["group"]

    @property
    def transversals(self) -> list[list[tuple[int, ...]]]:
        """Basic transversals of a base and strong generating set of Aut(G) (sympy's incremental Schreier–Sims):
        every automorphism is t_0∘t_1∘…∘t_{m-1} for exactly one choice of t_i in transversal i."""
        if "transversals" not in self._cache:
            if self.group is None:
                self._cache["transversals"] = []
            else:
                base, strong = self.group.schreier_sims_incremental()
                _, transversals = _orbits_transversals_from_bsgs(base, _distribute_gens_by_base(base, strong), transversals_only=False)
                self._cache["transversals"] = [[tuple(t[p].array_form) for p in sorted(t)] for t in transversals]
        return self._cache["transversals"]

    @cached_property
    def automorphism_group_order(self) -> int:
        """|Aut(G)|, exact: the product of the basic transversal sizes."""
        return math.prod(len(t) for t in self.transversals)

    def unrank(self, rank: int) -> list[int]:
        """The automorphism with the given rank in [0, |Aut(G)|) (a bijection, mixed-radix over the transversals)."""
        s = list(range(self.n))
        for transversal in self.transversals:
            rank, digit = divmod(rank, len(transversal))
            t = transversal[digit]
            s = [s[t[i]] for i in range(self.n)]  # s ← s∘t
        return s

    @cached_property
    def orbits(self) -> list[list[int]]:
        """Orbits of Aut(G) on the nodes, each sorted, ordered by their smallest node."""
        parent = list(range(self.n))

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for gen in self.generators:
            for i, j in enumerate(gen):
                ri, rj = find(i), find(j)
                if ri != rj:
                    parent[max(ri, rj)] = min(ri, rj)
        groups: dict[int, list[int]] = {}
        for i in range(self.n):
            groups.setdefault(find(i), []).append(i)
        return sorted(groups.values(), key=lambda o: o[0])

    def element(self) -> Permutation:
        """γ as a group element (canonical position k ↦ original node order[k])."""
        return Permutation(torch.tensor(self.order, dtype=torch.long))

    def sample(self, num_samples: int = 1, generator: torch.Generator | None = None) -> torch.Tensor:
        """Orderings h = s∘γ with s uniform on Aut(G). Shape (num_samples, n), long."""
        gamma = torch.tensor(self.order, dtype=torch.long)
        if self.group is None:
            return gamma.expand(num_samples, self.n).clone()
        order = self.automorphism_group_order
        rows = []
        for _ in range(num_samples):
            s = self.unrank(uniform_below(order, generator))
            rows.append(torch.tensor(s, dtype=torch.long)[gamma])
        return torch.stack(rows)

    def to_dict(self) -> dict:
        """The JSON view shared by the CLIs: exact |Aut| as a decimal string, orbits, γ, canonical edges, generators."""
        return {
            "automorphism_group_order": str(self.automorphism_group_order),
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


def _igraph_with_colours(
    n: int, edges: Sequence[tuple[int, int]], node_colors: Sequence[int] | None, edge_colors: Sequence[int] | None
) -> tuple[igraph.Graph, list[int]]:
    """An igraph graph whose coloured automorphisms are those of the input. Edge colours are encoded by
    subdividing every edge with a vertex coloured by (offset + edge colour); original vertices come first."""
    node_colors = list(node_colors) if node_colors is not None else [0] * n
    if edge_colors is None or len(set(edge_colors)) <= 1:
        return igraph.Graph(n=n, edges=list(edges)), node_colors
    offset = max(node_colors, default=0) + 1
    sub_edges = []
    for e, (u, v) in enumerate(edges):
        sub_edges += [(u, n + e), (v, n + e)]
    colours = node_colors + [offset + int(c) for c in edge_colors]
    return igraph.Graph(n=n + len(edges), edges=sub_edges), colours


def canonicalize_graph(
    n: int,
    edges: Sequence[tuple[int, int]],
    node_colors: Sequence[int] | None = None,
    edge_colors: Sequence[int] | None = None,
) -> GraphCanonicalForm:
    """Canonical ordering and automorphism group of a simple undirected graph with optional colours."""
    edges = [(int(u), int(v)) for u, v in edges]
    if edge_colors is not None and len(edge_colors) != len(edges):
        raise ValueError("edge_colors must align with edges")
    if node_colors is not None and len(node_colors) != n:
        raise ValueError("node_colors must have one entry per node")
    g, colours = _igraph_with_colours(n, edges, node_colors, edge_colors)
    # igraph returns the canonical ordering itself: entry k is the vertex placed at canonical position k
    order = tuple(v for v in g.canonical_permutation(color=colours) if v < n)
    gens = tuple(tuple(gen[:n]) for gen in g.automorphism_group(color=colours))
    gens = tuple(gen for gen in gens if any(i != j for i, j in enumerate(gen)))
    position = {node: k for k, node in enumerate(order)}
    ecols = edge_colors if edge_colors is not None else [0] * len(edges)
    canon = tuple(sorted((min(position[u], position[v]), max(position[u], position[v]), int(c)) for (u, v), c in zip(edges, ecols)))
    return GraphCanonicalForm(n, order, gens, canon)


def canonicalize_dense(adj: torch.Tensor, num_nodes: int | None = None, node_colors=None, edge_types=None) -> GraphCanonicalForm:
    """Canonicalize one dense adjacency (n, n) (or its first num_nodes rows). ``edge_types`` (n, n) ints give
    edge colours for the nonzero entries."""
    n = adj.shape[-1] if num_nodes is None else int(num_nodes)
    a = adj[:n, :n]
    iu = torch.triu_indices(n, n, 1)
    present = a[iu[0], iu[1]] != 0
    us, vs = iu[0][present].tolist(), iu[1][present].tolist()
    ecol = None if edge_types is None else edge_types[:n, :n][iu[0], iu[1]][present].tolist()
    ncol = None if node_colors is None else [int(c) for c in node_colors[:n]]
    return canonicalize_graph(n, list(zip(us, vs)), ncol, ecol)


def sample_graph_inversion_kernel(
    adj: torch.Tensor,
    mask: torch.Tensor,
    generator: torch.Generator | None = None,
    node_colors: torch.Tensor | None = None,
    edge_types: torch.Tensor | None = None,
) -> Permutation:
    """One inversion-kernel sample per graph of a padded batch.

    Shapes:
        adj: (B, n, n), mask: (B, n) bool with real nodes first, node_colors: (B, n), edge_types: (B, n, n)
        returns: a Permutation of shape (B, n) that fixes the padding; h[b, k] is the node at canonical position k.
    """
    B, n = mask.shape
    out = torch.arange(n).repeat(B, 1)
    sizes = mask.sum(-1).tolist()
    adj_cpu = adj.detach().cpu()
    colours = None if node_colors is None else node_colors.detach().cpu()
    types = None if edge_types is None else edge_types.detach().cpu()
    forms: dict[bytes, GraphCanonicalForm] = {}  # identical graphs in a batch are canonicalized once
    for b in range(B):
        m = int(sizes[b])
        key = b"".join(
            t[b][..., :m, :m].contiguous().numpy().tobytes() if t.dim() == 3 else t[b][:m].contiguous().numpy().tobytes()
            for t in (adj_cpu, colours, types) if t is not None
        ) + m.to_bytes(4, "little")
        if key not in forms:
            forms[key] = canonicalize_dense(
                adj_cpu[b], m, None if colours is None else colours[b].tolist(), None if types is None else types[b]
            )
        out[b, :m] = forms[key].sample(1, generator)[0]
    return Permutation(out.to(adj.device))


# ----------------------------------------------------------------------------------------------------------------------
# Lattices


@dataclass(frozen=True)
class LatticeCanonicalForm:
    """Result of the exhaustive orbit search for a batch of lattice inputs.

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
        """Uniform elements of the coset G_x·γ(x). Shape (B,) or (B, num_samples)."""
        k = 1 if num_samples is None else num_samples
        idx = torch.multinomial(self.coset_mask.double(), k, replacement=True, generator=generator)  # (B, k)
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
    max_elements: int = 50_000_000,
) -> LatticeCanonicalForm:
    """Exhaustive canonicalization of site (and bond) fields over all |G| elements, with exact ties.

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
            canonicalize_lattice(group, sites[i : i + chunk], None if bonds is None else bonds[i : i + chunk], odd, max_elements)
            for i in range(0, sites.shape[0], chunk)
        ])
    orbit = lattice_orbit(group, sites, bonds, odd)  # (B, |G|, D)
    candidates = _lexicographic_minima(orbit)
    canonical_index = candidates.long().argmax(-1)
    identity_row = orbit[:, :1]  # the identity is element 0: its row is x itself
    stabilizer = (orbit == identity_row).all(-1)  # g⁻¹·x = x  <=>  g ∈ G_x
    return LatticeCanonicalForm(group, canonical_index.cpu(), candidates.cpu(), stabilizer.cpu())
