"""Shipped graph autoencoders: they load (sha256-checked), reproduce the small_eval metrics of their manifest entry
on the fixed small evaluation set, and the shipped networks keep their symmetry laws (float64).

Tolerance for the reproduced metrics (same seeds, same data, one CPU thread; only floating-point summation order
can differ between machines): |Δ BCE| ≤ 1e-3, |Δ F1| ≤ 2e-3, |Δ edge error| ≤ 0.05 percentage points and
|Δ exact| ≤ one graph of the set. A variant whose weights are absent is skipped with the reason."""
from __future__ import annotations

import pytest
import torch
from shipped import shipped_or_skip as shipped

from backend.equivariance import equivariance_error
from backend.groups import Permutation
from backend.tasks.graph_ae.data import GraphSet
from backend.tasks.graph_ae.evaluate import small_eval, small_eval_sets
from backend.tasks.graph_ae.model import VARIANTS, load_graph_ae, sympe_elements

TOL = {"bce": 1e-3, "f1": 2e-3, "edge_error_pct": 0.05}


def shipped_or_skip(variant: str) -> dict:
    return shipped(f"graph_ae/{variant}")


@pytest.fixture(scope="module")
def eval_sets():
    return small_eval_sets()


@pytest.mark.parametrize("variant", VARIANTS)
def test_shipped_model_reproduces_its_manifest_metrics(variant, eval_sets):
    entry = shipped_or_skip(variant)
    model = load_graph_ae(variant)
    assert model.config.variant == variant and entry["config"]["variant"] == variant
    for key in ("command", "seed", "data", "training", "sha256", "small_eval"):
        assert key in entry
    measured = small_eval(model, eval_sets)
    for dataset, expected in entry["small_eval"].items():
        got = measured[dataset]
        assert got["graphs"] == expected["graphs"]
        for metric, tol in TOL.items():
            assert abs(got[metric] - expected[metric]) <= tol, (dataset, metric, got[metric], expected[metric])
        assert abs(got["exact_pct"] - expected["exact_pct"]) <= 100.0 / expected["graphs"] + 1e-9, (dataset, got, expected)


def _cycle_batch(n: int):
    edges = [(i, (i + 1) % n) for i in range(n)]
    graphs = GraphSet.from_edge_lists("c", [(n, edges)], ["c"], ["cycle"], 20).canonicalize()
    adj, mask = graphs.batch([0], torch.float64)
    return graphs, adj, mask


def test_shipped_none_gives_a_uniform_guess_on_cycles():
    shipped_or_skip("none")
    model = load_graph_ae("none").double()
    for n in (6, 12, 20):
        _, adj, mask = _cycle_batch(n)
        with torch.no_grad():
            p = model(adj, mask).probs[0]
        off = p[~torch.eye(n, dtype=torch.bool)]
        assert float(off.max() - off.min()) < 1e-9, n


def test_shipped_sympe_is_jointly_equivariant_and_breaks_cycle_symmetry():
    shipped_or_skip("sympe")
    model = load_graph_ae("sympe").double()
    eval_graphs = small_eval_sets()["erdos-renyi"].subset(range(6))
    adj, mask = eval_graphs.batch(range(6), torch.float64)
    n = adj.shape[-1]
    r = torch.Generator().manual_seed(0)
    h = sympe_elements(eval_graphs.forms, n, r)

    def f(adj, mask, h):
        return model(adj, mask, elements=Permutation(h)).logits

    for _ in range(3):
        g = Permutation.random(n, generator=r, batch=(6,), num_nodes=eval_graphs.num_nodes)
        rep = equivariance_error(f, [adj, mask, h.perm], g,
                                 [lambda g, a: g.act_edges(a), lambda g, m: g.act_nodes(m),
                                  lambda g, p: g.compose(Permutation(p)).perm],
                                 lambda g, y: g.act_edges(y))
        assert rep.output_scale > 1e-3 and rep.max_abs_error < 1e-9, rep

    graphs, adj, mask = _cycle_batch(12)
    with torch.no_grad():
        p = model(adj, mask, elements=sympe_elements(graphs.forms, 12, r)).probs[0]
    off = p[~torch.eye(12, dtype=torch.bool)]
    assert float(off.max() - off.min()) > 0.5  # confident edges and non-edges, not a uniform guess


@pytest.mark.parametrize("variant", ["none", "noise"])
def test_shipped_equivariant_baselines(variant):
    """none is an equivariant function; noise is equivariant given its noise (relabelled with the nodes)."""
    shipped_or_skip(variant)
    model = load_graph_ae(variant).double()
    graphs = small_eval_sets()["community-small"].subset(range(4))
    adj, mask = graphs.batch(range(4), torch.float64)
    n = adj.shape[-1]
    r = torch.Generator().manual_seed(1)
    g = Permutation.random(n, generator=r, batch=(4,), num_nodes=graphs.num_nodes)
    if variant == "none":
        with torch.no_grad():
            y, yg = model(adj, mask).logits, model(g.act_edges(adj), mask).logits
    else:
        eps = torch.randn(4, n, model.config.encoding_dim, generator=r, dtype=torch.float64) * mask.unsqueeze(-1)
        with torch.no_grad():
            y = _with_noise(model, adj, mask, eps)
            yg = _with_noise(model, g.act_edges(adj), mask, g.act_nodes(eps))
    assert torch.allclose(yg, g.act_edges(y), atol=1e-9)


def _with_noise(model, adj, mask, eps):
    """The noise variant's forward pass with the noise given explicitly (the encoder's only random part)."""
    x = torch.cat([mask.unsqueeze(-1).to(adj.dtype), eps], -1)
    z, c = model.encoder(x, adj, mask, model.coord_in(eps))
    return model.decode(z, c, mask)[0]
