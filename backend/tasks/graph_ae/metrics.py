"""Reconstruction metrics of the graph autoencoder.

Metrics (``reconstruction_counts`` / ``aggregate``), over the unordered pairs i < j of real nodes:
BCE = mean binary cross-entropy per pair (natural log); edge error % = 100 · wrong pairs / pairs at threshold
0.5 (p ≥ 0.5 predicts an edge); F1 of the edges = 2TP / (2TP + FP + FN), pooled over all pairs of the set;
exact % = 100 · graphs with zero wrong pairs / graphs.
"""
from __future__ import annotations

import torch

from ...groups import Permutation
from .data import GraphSet
from .model import GraphAE, sympe_elements

# ----------------------------------------------------------------------------------------------------------------------
# Metrics


COUNT_KEYS = ("bce_sum", "pairs", "wrong", "tp", "fp", "fn")


def reconstruction_counts(probs: torch.Tensor, adj: torch.Tensor, mask: torch.Tensor, eps: float = 1e-7) -> dict[str, torch.Tensor]:
    """Per-graph sums over the unordered pairs i < j of real nodes.

    Args:
        probs: (B, n, n) predicted edge probabilities (only the upper triangle is read).
        adj: (B, n, n) true 0/1 adjacency; mask: (B, n) bool.
    Returns:
        bce_sum (float64), pairs, wrong, tp, fp, fn (long), each of shape (B,). Probabilities are clipped to
        [eps, 1 - eps] inside the log.
    """
    n = mask.shape[-1]
    upper = torch.ones(n, n, dtype=torch.bool, device=mask.device).triu(1)
    valid = mask.unsqueeze(2) & mask.unsqueeze(1) & upper
    p = probs.double().clamp(eps, 1 - eps)
    y = adj.double()
    bce = -(y * p.log() + (1 - y) * (1 - p).log())
    pred = probs >= 0.5
    true = adj > 0.5
    s = lambda t: (t & valid).sum((-1, -2))  # noqa: E731
    return {
        "bce_sum": torch.where(valid, bce, torch.zeros_like(bce)).sum((-1, -2)),
        "pairs": valid.sum((-1, -2)),
        "wrong": s(pred != true),
        "tp": s(pred & true),
        "fp": s(pred & ~true),
        "fn": s(~pred & true),
    }


def aggregate(counts: dict[str, torch.Tensor], select: torch.Tensor | None = None) -> dict:
    """Pool per-graph counts (optionally a boolean selection of graphs) into the four metrics."""
    if select is not None:
        counts = {k: v[select] for k, v in counts.items()}
    graphs = int(counts["pairs"].numel())
    if graphs == 0:
        return {"graphs": 0, "bce": None, "edge_error_pct": None, "f1": None, "exact_pct": None}
    pairs = int(counts["pairs"].sum())
    tp, fp, fn = (int(counts[k].sum()) for k in ("tp", "fp", "fn"))
    denom = 2 * tp + fp + fn
    return {
        "graphs": graphs,
        "bce": float(counts["bce_sum"].sum()) / max(pairs, 1),
        "edge_error_pct": 100.0 * int(counts["wrong"].sum()) / max(pairs, 1),
        "f1": 2 * tp / denom if denom else 1.0,
        "exact_pct": 100.0 * float((counts["wrong"] == 0).double().mean()),
    }


@torch.no_grad()
def reconstruct(model: GraphAE, graphs: GraphSet, generator: torch.Generator, batch: int = 128) -> dict[str, torch.Tensor]:
    """One reconstruction of every graph (one fresh sample for noise/sympe, drawn from ``generator`` in order);
    per-graph counts as in ``reconstruction_counts``, on the CPU whichever device the model is on."""
    param = next(model.parameters())
    if model.config.encoding.canonicalizes:
        graphs.canonicalize()
    parts = []
    for start in range(0, len(graphs), batch):
        idx = torch.arange(start, min(start + batch, len(graphs)))
        adj, mask = (t.to(param.device) for t in graphs.batch(idx, param.dtype))
        elements = sympe_elements([graphs.forms[i] for i in idx.tolist()], adj.shape[-1], generator) \
            if model.config.encoding.canonicalizes else None
        if elements is not None:
            elements = Permutation(elements.perm.to(param.device))
        out = model(adj, mask, generator=generator, elements=elements)
        parts.append({k: v.cpu() for k, v in reconstruction_counts(out.probs, adj, mask).items()})
    return {k: torch.cat([p[k] for p in parts]) for k in COUNT_KEYS}
