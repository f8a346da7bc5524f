"""Evaluate the shipped graph-autoencoder variants: ``python -m backend.tasks.graph_ae.evaluate [--write-manifest]``.

For each dataset's test split (Community-Small 500 graphs, Erdős–Rényi 500, the held-out symmetric graphs) and
each variant: BCE, edge error %, F1 and exact-reconstruction %, overall and split by |Aut(G)| = 1 versus > 1
(metrics defined in backend.tasks.graph_ae). ``noise`` and ``sympe`` are sampled K times per graph (default 5,
generator seeded with 0 and advanced in order); the table gives the mean over the K passes and the spread
(min–max over passes) of the exact rate; ``none`` and ``fixed`` are deterministic and run once. Also reported:
exact % per symmetric test family, and the cycle demonstration (the largest spread of the off-diagonal
probabilities of one ``none`` reconstruction of C_n, which theory says is zero).
"""
from __future__ import annotations

import statistics

import networkx as nx
import torch

from ..evaluation import evaluation_main
from .data import DATASETS, GraphSet, community_small, erdos_renyi, load_split
from .metrics import aggregate, reconstruct
from .model import VARIANTS, GraphAE, load_graph_ae, sympe_elements

__all__ = ["load_graph_ae", "small_eval_sets", "small_eval", "evaluate", "markdown_table", "cycle_demo"]

SMALL_EVAL_SIZE = 96
SMALL_EVAL_SEEDS = {"community-small": 12345, "erdos-renyi": 12346}
METRICS = ("bce", "edge_error_pct", "f1", "exact_pct")


def small_eval_sets() -> dict[str, GraphSet]:
    """The checkpoint tests' fixed set: 96 Community-Small (seed 12345), 96 Erdős–Rényi (seed 12346) and the whole
    held-out symmetric test split."""
    return {
        "community-small": community_small(SMALL_EVAL_SIZE, torch.Generator().manual_seed(SMALL_EVAL_SEEDS["community-small"])).canonicalize(),
        "erdos-renyi": erdos_renyi(SMALL_EVAL_SIZE, torch.Generator().manual_seed(SMALL_EVAL_SEEDS["erdos-renyi"])).canonicalize(),
        "symmetric": load_split("symmetric", "test"),
    }


def _rounded(m: dict) -> dict:
    return {k: (round(v, 5) if isinstance(v, float) else v) for k, v in m.items()}


def small_eval(model: GraphAE, sets: dict[str, GraphSet] | None = None) -> dict:
    """One reconstruction per graph of ``small_eval_sets()`` (generator seed 0, datasets in order)."""
    sets = small_eval_sets() if sets is None else sets
    generator = torch.Generator().manual_seed(0)
    return {name: _rounded(aggregate(reconstruct(model, graphs, generator))) for name, graphs in sets.items()}


def _split_metrics(counts_per_pass: list[dict], has_symmetry: torch.Tensor) -> dict:
    out = {}
    for part, select in (("all", None), ("aut1", ~has_symmetry), ("aut_gt1", has_symmetry)):
        passes = [aggregate(c, select) for c in counts_per_pass]
        if passes[0]["graphs"] == 0:
            out[part] = {"graphs": 0}
            continue
        entry = {"graphs": passes[0]["graphs"]}
        for metric in METRICS:
            values = [p[metric] for p in passes]
            entry[metric] = round(statistics.fmean(values), 5)
            entry[f"{metric}_min"] = round(min(values), 5)
            entry[f"{metric}_max"] = round(max(values), 5)
            entry[f"{metric}_std"] = round(statistics.pstdev(values), 5) if len(values) > 1 else 0.0
        out[part] = entry
    return out


def evaluate_set(model: GraphAE, graphs: GraphSet, samples: int, seed: int = 0) -> dict:
    generator = torch.Generator().manual_seed(seed)
    passes = [reconstruct(model, graphs, generator) for _ in range(samples)]
    has_symmetry = torch.tensor([a > 1 for a in graphs.aut_orders])
    result = {"samples": samples, **_split_metrics(passes, has_symmetry)}
    # graphs reconstructed exactly by every pass / by at least one pass
    exact = torch.stack([p["wrong"] == 0 for p in passes])
    result["exact_every_pass_pct"] = round(100 * float(exact.all(0).double().mean()), 3)
    result["exact_some_pass_pct"] = round(100 * float(exact.any(0).double().mean()), 3)
    if graphs.name == "symmetric":
        families = {}
        for fam in sorted(set(graphs.families)):
            sel = torch.tensor([f == fam for f in graphs.families])
            families[fam] = {"graphs": int(sel.sum()),
                             "exact_pct": round(statistics.fmean(aggregate(p, sel)["exact_pct"] for p in passes), 2)}
        result["families"] = families
    return result


@torch.no_grad()
def cycle_demo(model: GraphAE, sizes=(6, 12, 20), seed: int = 0) -> dict:
    """For C_n: the spread (max - min) of the off-diagonal probabilities of one reconstruction, the probability
    given to the true edges and to the non-edges (means), and whether it is exact."""
    out = {}
    generator = torch.Generator().manual_seed(seed)
    for n in sizes:
        if n > model.config.n_max:
            continue
        G = nx.cycle_graph(n)
        graphs = GraphSet.from_edge_lists("cycle", [(n, list(G.edges()))], [f"C{n}"], ["cycle"], model.config.n_max).canonicalize()
        adj, mask = graphs.batch([0])
        elements = sympe_elements(graphs.forms, n, generator) if model.config.encoding.canonicalizes else None
        probs = model(adj, mask, generator=generator, elements=elements).probs[0]
        off = ~torch.eye(n, dtype=torch.bool)
        p = probs[off]
        a = adj[0][off] > 0.5
        out[f"C{n}"] = {"prob_spread": round(float(p.max() - p.min()), 6), "mean_prob_edges": round(float(p[a].mean()), 4),
                        "mean_prob_non_edges": round(float(p[~a].mean()), 4),
                        "exact": bool(((probs >= 0.5) == (adj[0] > 0.5))[off].all())}
    return out


def evaluate(model: GraphAE, samples: int = 5, quick: bool = False) -> dict:
    k = model.config.encoding.passes(samples)
    results = {}
    for name in DATASETS:
        graphs = load_split(name, "test", 100 if quick and name != "symmetric" else None)
        results[name] = evaluate_set(model, graphs, k)
    results["cycles"] = cycle_demo(model)
    return results


def _fmt(x, digits=2):
    return "-" if x is None else f"{x:.{digits}f}"


def markdown_table(all_results: dict[str, dict]) -> str:
    lines = [
        "| dataset | variant | K | BCE | edge err % | F1 | exact % | exact % (min–max over passes) "
        "| exact % \\|Aut\\|=1 | exact % \\|Aut\\|>1 | edge err % \\|Aut\\|=1 | edge err % \\|Aut\\|>1 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in DATASETS:
        for variant, r in all_results.items():
            d = r[name]
            a, one, many = d["all"], d["aut1"], d["aut_gt1"]
            lines.append(
                f"| {name} | {variant} | {d['samples']} | {a['bce']:.4f} | {a['edge_error_pct']:.2f} | {a['f1']:.4f} "
                f"| {a['exact_pct']:.1f} | {a['exact_pct_min']:.1f}–{a['exact_pct_max']:.1f} "
                f"| {_fmt(one.get('exact_pct'), 1)} (n={one['graphs']}) | {_fmt(many.get('exact_pct'), 1)} (n={many['graphs']}) "
                f"| {_fmt(one.get('edge_error_pct'))} | {_fmt(many.get('edge_error_pct'))} |"
            )
    lines += ["", "| variant | " + " | ".join(f"{name}: exact in every pass / in some pass %" for name in DATASETS) + " |",
              "|---|" + "---|" * len(DATASETS)]
    for variant, r in all_results.items():
        lines.append(f"| {variant} (K={r[DATASETS[0]]['samples']}) | " + " | ".join(
            f"{r[name]['exact_every_pass_pct']:.1f} / {r[name]['exact_some_pass_pct']:.1f}" for name in DATASETS) + " |")
    families = next(iter(all_results.values()))["symmetric"].get("families", {})
    if families:
        lines += ["", "| symmetric test family (graphs) | " + " | ".join(f"{v} exact %" for v in all_results) + " |",
                  "|---|" + "---|" * len(all_results)]
        for fam in sorted(families, key=lambda f: (-families[f]["graphs"], f)):
            lines.append(f"| {fam} ({families[fam]['graphs']}) | " + " | ".join(
                f"{r['symmetric']['families'][fam]['exact_pct']:.0f}" for r in all_results.values()) + " |")
    lines += ["", "| variant | " + " | ".join(f"{c}: prob. spread / exact" for c in next(iter(all_results.values()))["cycles"]) + " |",
              "|---|" + "---|" * len(next(iter(all_results.values()))["cycles"])]
    for variant, r in all_results.items():
        lines.append(f"| {variant} | " + " | ".join(f"{v['prob_spread']:.3g} / {'yes' if v['exact'] else 'no'}" for v in r["cycles"].values()) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return evaluation_main(
        "backend.tasks.graph_ae.evaluate", "graph_ae", VARIANTS,
        lambda variant, args: evaluate(load_graph_ae(variant), samples=args.samples, quick=args.quick),
        markdown_table, argv, description="Evaluate the shipped graph autoencoders",
        add_options=lambda p: p.add_argument("--samples", type=int, default=5, help="passes per graph for noise and sympe"),
    )


if __name__ == "__main__":
    raise SystemExit(main())
