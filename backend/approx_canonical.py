"""An approximate canonicalizer, in the spirit of the paper's canonicalization network. An approximation, not exact.

Nodes are scored by colour refinement (1-dimensional Weisfeiler–Leman): start from the node colours, repeatedly
replace each colour by the rank of (own colour, sorted multiset of neighbour colours) among all such signatures,
until the partition is stable. The ordering sorts nodes by their refined colour and breaks ties uniformly at random.

Colour ranks are relabelling-invariant, so when refinement separates every node (a discrete partition) the ordering
is a true canonical ordering. Otherwise it differs from the exact inversion kernel in two ways:
- ties between nodes that are *not* automorphic (colour refinement cannot separate, e.g., the two orbits of some
  regular graphs) are broken at random, so different samples give different "canonical" adjacencies;
- even where the tied nodes are automorphic, random tie-breaking draws from all orderings of each colour class
  (∏ |class|! of them), not from the |Aut(G)| orderings of the exact kernel (for C_6: 720 instead of 12).
"""
from __future__ import annotations

from typing import Sequence

import torch

__all__ = ["colour_refinement", "approximate_ordering", "approximate_orderings"]


def colour_refinement(n: int, edges: Sequence[tuple[int, int]], node_colors: Sequence[int] | None = None) -> list[int]:
    """Stable refined colours (ranks 0..c-1), invariant under relabelling of the nodes."""
    neighbours: list[list[int]] = [[] for _ in range(n)]
    for u, v in edges:
        neighbours[u].append(v)
        neighbours[v].append(u)
    colours = list(node_colors) if node_colors is not None else [0] * n
    colours = _ranks(colours)
    while True:
        signatures = [(colours[i], tuple(sorted(colours[j] for j in neighbours[i]))) for i in range(n)]
        refined = _ranks(signatures)
        if len(set(refined)) == len(set(colours)):
            return refined
        colours = refined


def _ranks(values: list) -> list[int]:
    order = {v: k for k, v in enumerate(sorted(set(values)))}
    return [order[v] for v in values]


def approximate_ordering(
    n: int,
    edges: Sequence[tuple[int, int]],
    node_colors: Sequence[int] | None = None,
    generator: torch.Generator | None = None,
) -> list[int]:
    """An ordering (entry k is the node at position k) sorted by refined colour with random tie-breaking."""
    return approximate_orderings(n, edges, 1, node_colors, generator)[0].tolist()


def approximate_orderings(
    n: int,
    edges: Sequence[tuple[int, int]],
    num: int,
    node_colors: Sequence[int] | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``num`` independent approximate orderings (row k: the nodes by position), refining the colours once. (num, n)"""
    colours = torch.tensor(colour_refinement(n, edges, node_colors), dtype=torch.float64)
    keys = torch.rand(num, n, generator=generator, dtype=torch.float64)
    return torch.argsort(colours + keys, dim=-1)  # keys < 1: colour first, then the random tie-break
