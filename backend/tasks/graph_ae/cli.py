"""``python -m backend predict graph-ae``: reconstruct a graph with a shipped graph autoencoder.

    --graph PATH              a graph file (edge list, adjacency JSON, GraphML, GML, graph6; see ``canon graph``)
    --format F                force the file format (default: from the extension)
    --variant sympe           none | noise | sympe | fixed
    --samples 1 --seed 0      independent reconstructions, drawn from one generator seeded with S

Output JSON: the input's canonical data as in ``canon graph`` (n, nodes, automorphism_group_order as a decimal
string, orbits, canonical_order, canonical_edges, generators), the input edges, and for each sample the sampled
ordering (sympe: h[k] = the node at canonical position k; null for the other variants), the reconstructed edge
probabilities (an n×n list, zero diagonal), the thresholded edges (p ≥ 0.5) and the metrics against the input
(bce, edge_error_pct, f1, exact). The model ignores node and edge colours; canonical data is computed without them
and ``colours_ignored`` says when the file had some. Graphs with fewer than 2 or more than the model's node limit
(20) nodes, unreadable files and bad options give one line on stderr and exit code 2.
"""
from __future__ import annotations

import torch

from ...canonical import canonicalize_graph
from ...checkpoints import CheckpointError, manifest_entry
from ...graph_io import FORMATS, GraphInputError, load_graph
from ...options import UsageError, bounded
from .data import N_MAX, GraphSet
from .metrics import aggregate, reconstruction_counts
from .model import VARIANTS, load_graph_ae, sympe_elements

MAX_SAMPLES = 100


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("graph-ae", help="reconstruct a graph with the graph autoencoder")
    p.add_argument("--graph", required=True)
    p.add_argument("--format", choices=FORMATS, default=None)
    p.add_argument("--variant", choices=VARIANTS, default="sympe")
    p.add_argument("--samples", type=bounded("samples", 1, MAX_SAMPLES), default=1)
    p.add_argument("--seed", type=bounded("seed", 0, 2**63 - 1), default=0)
    p.set_defaults(handler=run)


def _node_limit(variant: str) -> int:
    entry = manifest_entry(f"graph_ae/{variant}")
    return int(entry["config"]["n_max"]) if entry else N_MAX


def run(args) -> dict:
    samples, seed = args.samples, args.seed
    limit = _node_limit(args.variant)
    try:
        graph = load_graph(args.graph, args.format)
    except GraphInputError as e:
        raise UsageError(str(e)) from None
    if graph.n > limit:
        raise UsageError(f"the graph has {graph.n} nodes; the graph autoencoder handles at most {limit}")
    if graph.n < 2:
        raise UsageError(f"the graph has {graph.n} node; the graph autoencoder needs at least 2 (there is no pair to decode)")
    try:
        model = load_graph_ae(args.variant)
    except CheckpointError as e:
        raise UsageError(f"model graph_ae/{args.variant} is not available: {e}") from None

    n = graph.n
    form = canonicalize_graph(n, graph.edges)
    graphs = GraphSet.from_edge_lists("input", [(n, graph.edges)], ["input"], ["input"], model.config.n_max)
    graphs.forms = [form]
    adj1, mask1 = graphs.batch([0])
    adj, mask = adj1.expand(samples, n, n), mask1.expand(samples, n)
    generator = torch.Generator().manual_seed(seed)
    elements = sympe_elements([form] * samples, n, generator) if model.config.encoding.canonicalizes else None
    with torch.no_grad():
        out = model(adj, mask, generator=generator, elements=elements)
    probs = out.probs.double()
    counts = reconstruction_counts(probs, adj, mask)
    iu = torch.triu_indices(n, n, 1)
    results = []
    for s in range(samples):
        metrics = aggregate({k: v[s : s + 1] for k, v in counts.items()})
        keep = probs[s][iu[0], iu[1]] >= 0.5
        results.append({
            "ordering": None if elements is None else elements.perm[s].tolist(),
            "edge_probabilities": [[round(float(p), 6) for p in row] for row in probs[s]],
            "edges": [[int(u), int(v)] for u, v in zip(iu[0][keep], iu[1][keep])],
            "metrics": {"bce": round(metrics["bce"], 6), "edge_error_pct": round(metrics["edge_error_pct"], 4),
                        "f1": round(metrics["f1"], 6), "exact": metrics["exact_pct"] == 100.0},
        })
    return {
        "variant": args.variant,
        "seed": seed,
        "n": n,
        "nodes": graph.nodes,
        **form.to_dict(),
        "colours_ignored": graph.node_colors is not None or graph.edge_colors is not None,
        "input_edges": [list(e) for e in graph.edges],
        "samples": results,
        "exact_rate": sum(r["metrics"]["exact"] for r in results) / samples,
    }
