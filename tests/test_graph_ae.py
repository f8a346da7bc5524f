"""The graph-autoencoder task: data generators, metrics on hand-computed cases, joint equivariance of the SymPE
model (float64), the unbroken model's failure on a cycle, and the CLI. Tiny configs; the CLI's good-input test
uses the shipped weights and is skipped (with the reason) only when they are absent."""
from __future__ import annotations

import io
import json
import math
from contextlib import redirect_stderr, redirect_stdout

import networkx as nx
import pytest
import torch

from backend.canonical import canonicalize_graph
from backend.checkpoints import PRETRAINED, manifest_entry
from backend.cli import main
from backend.equivariance import equivariance_error
from backend.groups import Permutation
from backend.tasks.graph_ae.data import (
    HELD_OUT_FAMILIES,
    HELD_OUT_SIZES,
    N_MAX,
    VAL_SIZES,
    GraphSet,
    community_small,
    erdos_renyi,
    symmetric_graphs,
    symmetric_split,
)
from backend.tasks.graph_ae.metrics import aggregate, reconstruction_counts
from backend.tasks.graph_ae.model import GraphAE, GraphAEConfig, sympe_elements

F64 = dict(dtype=torch.float64)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def sym():
    return symmetric_graphs()


# ----------------------------------------------------------------------------------------------------------------------
# Data


def _check_simple(graphs: GraphSet):
    A = graphs.adj.long()
    assert torch.equal(A, A.transpose(1, 2))
    assert A.diagonal(dim1=1, dim2=2).abs().sum() == 0
    pad = torch.arange(N_MAX)[None, :] >= graphs.num_nodes[:, None]
    assert A[pad.unsqueeze(2).expand_as(A) | pad.unsqueeze(1).expand_as(A)].sum() == 0


def test_community_small_sizes_density_and_determinism():
    graphs = community_small(300, gen(0))
    _check_simple(graphs)
    assert int(graphs.num_nodes.min()) >= 12 and int(graphs.num_nodes.max()) <= 20
    expected, observed = 0.0, 0
    for b, label in enumerate(graphs.labels):
        n1, n2 = (int(x) for x in label[label.index("(") + 1 : -1].split(","))
        assert n1 + n2 == int(graphs.num_nodes[b]) and 6 <= n1 <= 10 and 6 <= n2 <= 10
        # 0.7 inside each community; 0.01 across, at least one: E[inter] = n1 n2 p + (1 - p)^(n1 n2)
        expected += 0.7 * (math.comb(n1, 2) + math.comb(n2, 2)) + n1 * n2 * 0.01 + 0.99 ** (n1 * n2)
        observed += len(graphs.edges(b))
    assert abs(observed - expected) / expected < 0.02
    again = community_small(300, gen(0))
    assert torch.equal(again.adj, graphs.adj) and torch.equal(community_small(3, gen(1)).adj, community_small(3, gen(1)).adj)
    assert not torch.equal(community_small(50, gen(1)).adj, graphs.adj[:50])


def test_community_small_has_two_dense_blocks_and_at_least_one_bridge():
    """Without the label shuffle the communities are the node blocks 0..n1-1 and n1..n1+n2-1."""
    graphs = community_small(300, gen(3), shuffle=False)
    inside, inside_pairs, across, across_pairs = 0, 0, 0, 0
    for b in range(len(graphs)):
        A = graphs.adj[b].long()
        n1, n2 = (int(x) for x in graphs.labels[b][graphs.labels[b].index("(") + 1 : -1].split(","))
        cross = int(A[:n1, n1 : n1 + n2].sum())
        assert cross >= 1
        across += cross
        across_pairs += n1 * n2
        inside += int(A[:n1, :n1].sum() + A[n1:, n1:].sum()) // 2
        inside_pairs += math.comb(n1, 2) + math.comb(n2, 2)
    assert abs(inside / inside_pairs - 0.7) < 0.02
    assert across / across_pairs < 0.03  # 0.01 plus the forced bridge


def test_erdos_renyi_sizes_and_density():
    graphs = erdos_renyi(400, gen(1))
    _check_simple(graphs)
    n = graphs.num_nodes
    assert int(n.min()) == 7 and int(n.max()) == 16
    pairs = float((n * (n - 1) / 2).sum())
    density = float(graphs.adj.long().sum()) / 2 / pairs
    assert abs(density - 0.25) < 0.01


def test_aut_orders_recorded_exactly(sym):
    orders = dict(zip(sym.labels, sym.aut_orders))
    assert orders["cycle C8"] == 16
    assert orders["complete K6"] == math.factorial(6)
    assert orders["complete bipartite K3,5"] == math.factorial(3) * math.factorial(5)
    assert orders["petersen"] == 120
    assert orders["hypercube Q4"] == 2**4 * math.factorial(4)
    assert orders["path P9"] == 2
    assert orders["star K1,7"] == math.factorial(7)
    assert orders["frucht"] == 1
    assert orders["complete K20"] == math.factorial(20)  # Python ints: no overflow
    er = erdos_renyi(40, gen(2)).canonicalize()
    assert any(a == 1 for a in er.aut_orders) and any(a > 1 for a in er.aut_orders)


def test_symmetric_set_split_holds_out_families_and_sizes(sym):
    split = symmetric_split(sym)
    assert int(sym.num_nodes.max()) <= N_MAX
    assert len(split["train"]) > 100 and len(split["test"]) > 50 and len(split["val"]) > 0
    for b, fam in enumerate(split["train"].families):
        assert fam not in HELD_OUT_FAMILIES
        assert int(split["train"].num_nodes[b]) not in HELD_OUT_SIZES + VAL_SIZES
    assert set(HELD_OUT_FAMILIES) <= set(split["test"].families)
    # no graph is isomorphic to another one anywhere in the set, so nothing in test was seen in training
    keys = {(f.n, tuple(f.canonical_edges)) for f in sym.forms}
    assert len(keys) == len(sym)
    # most held-out graphs have symmetry, and a few asymmetric ones (Frucht, random regular) are there to contrast
    aut = split["test"].aut_orders
    assert sum(a > 1 for a in aut) > 0.9 * len(aut) and any(a == 1 for a in aut)
    # labels were shuffled: the stored cycle is not 0-1-2-...
    b = sym.labels.index("cycle C10")
    assert sym.edges(b) != sorted(nx.cycle_graph(10).edges())


# ----------------------------------------------------------------------------------------------------------------------
# Metrics


def test_metrics_on_a_hand_computed_case():
    # path 0-1-2 plus a padded node; upper pairs (0,1) edge, (0,2) none, (1,2) edge
    adj = torch.tensor([[[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0]]], **F64)
    mask = torch.tensor([[True, True, True, False]])
    probs = torch.zeros(1, 4, 4, **F64)
    for (i, j), p in {(0, 1): 0.9, (0, 2): 0.6, (1, 2): 0.2, (0, 3): 0.99}.items():
        probs[0, i, j] = probs[0, j, i] = p
    c = reconstruction_counts(probs, adj, mask)
    assert int(c["pairs"]) == 3 and int(c["wrong"]) == 2
    assert (int(c["tp"]), int(c["fp"]), int(c["fn"])) == (1, 1, 1)
    bce = -(math.log(0.9) + math.log(0.4) + math.log(0.2))
    assert float(c["bce_sum"]) == pytest.approx(bce, rel=1e-12)
    m = aggregate(c)
    assert m["bce"] == pytest.approx(bce / 3, rel=1e-12)
    assert m["edge_error_pct"] == pytest.approx(200 / 3)
    assert m["f1"] == pytest.approx(0.5)
    assert m["exact_pct"] == 0.0


def test_metrics_pool_over_graphs_and_split_by_selection():
    adj = torch.zeros(2, 3, 3, **F64)
    adj[:, 0, 1] = adj[:, 1, 0] = 1
    mask = torch.tensor([[True, True, True], [True, True, False]])
    probs = adj.clone()
    probs[0, 1, 2] = probs[0, 2, 1] = 0.5  # p = 0.5 predicts an edge: one wrong pair in graph 0
    c = reconstruction_counts(probs, adj, mask)
    assert c["pairs"].tolist() == [3, 1] and c["wrong"].tolist() == [1, 0]
    m = aggregate(c)
    assert m["edge_error_pct"] == pytest.approx(25.0) and m["exact_pct"] == 50.0
    assert m["f1"] == pytest.approx(2 * 2 / (2 * 2 + 1))
    only_second = aggregate(c, torch.tensor([False, True]))
    assert only_second["graphs"] == 1 and only_second["exact_pct"] == 100.0 and only_second["f1"] == 1.0
    assert aggregate(c, torch.tensor([False, False]))["graphs"] == 0


# ----------------------------------------------------------------------------------------------------------------------
# Model


def tiny(variant: str, seed: int = 0) -> GraphAE:
    torch.manual_seed(seed)
    cfg = GraphAEConfig(variant=variant, n_max=8, hidden=12, num_layers=2, embed_dim=6, coord_dim=2, encoding_dim=4)
    return GraphAE(cfg).double().eval()


def padded(seed: int = 0):
    sizes = torch.tensor([7, 5, 8, 6])
    n = 8
    r = gen(seed)
    mask = torch.arange(n)[None, :] < sizes[:, None]
    up = (torch.rand(4, n, n, generator=r, **F64) < 0.4).to(torch.float64).triu(1)
    adj = (up + up.transpose(1, 2)) * (mask[:, :, None] & mask[:, None, :])
    return adj, mask, sizes, r


def test_sympe_model_is_jointly_equivariant_in_float64():
    """f(g·A, g∘h) = g·f(A, h) for random relabellings g of a padded batch (padding fixed)."""
    model = tiny("sympe")
    adj, mask, sizes, r = padded(1)
    h = Permutation.random(8, generator=r, batch=(4,), num_nodes=sizes)

    def f(adj, mask, h):
        return model(adj, mask, elements=Permutation(h)).logits

    for _ in range(4):
        g = Permutation.random(8, generator=r, batch=(4,), num_nodes=sizes)
        rep = equivariance_error(f, [adj, mask, h.perm],
                                 g, [lambda g, a: g.act_edges(a), lambda g, m: g.act_nodes(m), lambda g, p: g.compose(Permutation(p)).perm],
                                 lambda g, y: g.act_edges(y))
        assert rep.output_scale > 1e-3
        assert rep.max_abs_error < 1e-10, rep


@pytest.mark.parametrize("variant", ["none", "sympe"])
def test_equivariance_in_distribution_with_kernel_samples(variant):
    """With h from the inversion kernel (a fresh sample), g∘h is a kernel sample of g·A: the reconstructions of
    g·A are the relabelled reconstructions of A. For none the model is an equivariant function."""
    model = tiny(variant, seed=2)
    adj, mask, sizes, r = padded(3)
    g = Permutation.random(8, generator=r, batch=(4,), num_nodes=sizes)
    gadj = g.act_edges(adj)
    forms = GraphSet.from_edge_lists("x", [(int(s), [(u, v) for u in range(int(s)) for v in range(u + 1, int(s)) if adj[b, u, v] > 0])
                                            for b, s in enumerate(sizes)], ["x"] * 4, ["x"] * 4, 8).canonicalize().forms
    h = sympe_elements(forms, 8, gen(4)) if variant == "sympe" else None
    gh = None if h is None else g.compose(h)
    if h is not None:  # g∘h is a valid kernel sample of g·A: it orders g·A into the canonical form
        for b, form in enumerate(forms):
            m = form.n
            idx = gh.perm[b, :m]
            assert torch.equal(gadj[b][idx][:, idx][:m, :m], form.canonical_adjacency())
    with torch.no_grad():
        y = model(adj, mask, elements=h).probs
        yg = model(gadj, mask, elements=gh).probs
    assert torch.allclose(yg, g.act_edges(y), atol=1e-12)


def _cycle(n: int, variant: str, seed: int = 0, model: GraphAE | None = None):
    G = nx.cycle_graph(n)
    graphs = GraphSet.from_edge_lists("c", [(n, list(G.edges()))], ["c"], ["cycle"], n).canonicalize()
    adj, mask = graphs.batch([0], torch.float64)
    model = model or tiny(variant)
    h = sympe_elements(graphs.forms, n, gen(seed)) if variant == "sympe" else None
    with torch.no_grad():
        return model(adj, mask, generator=gen(seed), elements=h).probs[0], adj[0]


def test_none_cannot_break_the_symmetry_of_a_cycle():
    """Theory: on C_n every node is automorphic, so 'none' gives every off-diagonal pair the same probability,
    edges and non-edges alike: the reconstruction is a uniform guess, never the cycle."""
    probs, adj = _cycle(8, "none")
    off = ~torch.eye(8, dtype=torch.bool)
    assert float(probs[off].max() - probs[off].min()) < 1e-12
    assert torch.all(probs.diagonal() == 0)
    sympe, _ = _cycle(8, "sympe")
    assert float(sympe[off].max() - sympe[off].min()) > 1e-4  # SymPE breaks the tie (untrained weights)


def test_outputs_are_symmetric_and_masked():
    for variant in ("none", "noise", "sympe", "fixed"):
        model = tiny(variant)
        adj, mask, _, r = padded(5)
        out = model(adj, mask, generator=r)
        assert torch.equal(out.logits, out.logits.transpose(1, 2))
        assert torch.all(out.probs.diagonal(dim1=1, dim2=2) == 0)
        assert torch.all(out.probs[~(mask.unsqueeze(2) & mask.unsqueeze(1))] == 0)
        assert (out.elements is not None) == (variant == "sympe")


def test_model_refuses_graphs_beyond_its_node_limit():
    model = tiny("sympe")
    with pytest.raises(ValueError, match="limit"):
        model(torch.zeros(1, 9, 9, **F64), torch.ones(1, 9, dtype=torch.bool), generator=gen(0))


# ----------------------------------------------------------------------------------------------------------------------
# CLI


def run_cli(*argv: str):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["predict", "graph-ae", *argv])
    return code, out.getvalue(), err.getvalue()


def _shipped(variant: str) -> bool:
    entry = manifest_entry(f"graph_ae/{variant}")
    return entry is not None and (PRETRAINED / entry["file"]).exists()


@pytest.mark.parametrize("variant", ["sympe", "none"])
def test_cli_reconstructs_a_cycle(tmp_path, variant):
    if not _shipped(variant):
        pytest.skip(f"pretrained/graph_ae/{variant}.safetensors is not shipped (train it with backend.tasks.graph_ae.train)")
    path = tmp_path / "c6.txt"
    path.write_text("\n".join(f"a{i} a{(i + 1) % 6}" for i in range(6)) + "\n")
    code, out, err = run_cli("--graph", str(path), "--variant", variant, "--samples", "3", "--seed", "7")
    assert code == 0, err
    data = json.loads(out)
    assert data["n"] == 6 and data["nodes"] == [f"a{i}" for i in range(6)]
    assert data["automorphism_group_order"] == "12" and data["orbits"] == [list(range(6))]
    assert len(data["samples"]) == 3
    form = canonicalize_graph(6, [(i, (i + 1) % 6) for i in range(6)])
    for s in data["samples"]:
        P = torch.tensor(s["edge_probabilities"])
        assert P.shape == (6, 6) and torch.allclose(P, P.T) and torch.all(P.diagonal() == 0)
        assert s["edges"] == [[u, v] for u in range(6) for v in range(u + 1, 6) if P[u, v] >= 0.5]
        assert set(s["metrics"]) == {"bce", "edge_error_pct", "f1", "exact"}
        if variant == "sympe":
            h = s["ordering"]
            assert sorted(h) == list(range(6))
            A = torch.zeros(6, 6)
            for u, v in data["input_edges"]:
                A[u, v] = A[v, u] = 1
            assert torch.equal(A[h][:, h].double(), form.canonical_adjacency())
        else:
            assert s["ordering"] is None
            off = P[~torch.eye(6, dtype=torch.bool)]
            assert float(off.max() - off.min()) < 1e-5  # the unbroken model's uniform guess
            assert s["metrics"]["exact"] is False
    # same seed, same output
    assert run_cli("--graph", str(path), "--variant", variant, "--samples", "3", "--seed", "7")[1] == out


@pytest.mark.parametrize(
    "content, argv, message",
    [
        ("\n".join(f"{i} {(i + 1) % 25}" for i in range(25)), (), "at most 20"),
        ("0\n", (), "at least 2"),
        ("0 1\n", ("--samples", "0"), "--samples"),
        ("0 1\n", ("--samples", "many"), "--samples"),
        ("0 1\n", ("--seed", "-1"), "--seed"),
        ("0 1\n0 1\n", (), "duplicate"),
        ("0 0\n", (), "self"),
        ("0 1\n", ("--variant", "bogus"), "invalid choice"),
    ],
)
def test_cli_bad_input_gives_one_line_and_exit_2(tmp_path, content, argv, message):
    path = tmp_path / "g.txt"
    path.write_text(content)
    code, out, err = run_cli("--graph", str(path), *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err.lower(), err


def test_cli_missing_file(tmp_path):
    code, out, err = run_cli("--graph", str(tmp_path / "nope.json"))
    assert code == 2 and out == "" and err.count("\n") == 1
