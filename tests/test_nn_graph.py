"""Tests for the graph backbones in backend.nn.graph, dense and sparse (float64 throughout, passed explicitly so the
global default dtype is left alone for other test modules)."""
from __future__ import annotations

import math

import pytest
import torch

from backend.equivariance import INVARIANT, equivariance_error
from backend.groups import Permutation
from backend.nn import EGNN, MPNN, GraphTransformer, SparseMPNN, masked_softmax, to_disjoint_union
from backend.nn.graph import TracedGraphTransformer

N_MAX = 7
SIZES = [4, 6, 5, 7]
B = len(SIZES)
DX, DE, DY, COORD = 3, 2, 2, 3
TOL = 1e-10
F64 = dict(dtype=torch.float64)


def _nodes(g, t):
    return g.act_nodes(t)


def _edges(g, t):
    return g.act_edges(t)


def make_batch(seed: int = 0, sizes=SIZES, n_max: int = N_MAX):
    """Random padded batch. Padded entries are left as garbage on purpose: models must ignore them."""
    gen = torch.Generator().manual_seed(seed)
    b = len(sizes)
    sizes_t = torch.tensor(sizes)
    mask = torch.arange(n_max)[None, :] < sizes_t[:, None]
    x = torch.randn(b, n_max, DX, generator=gen, **F64)
    upper = (torch.rand(b, n_max, n_max, generator=gen, **F64) < 0.5).double().triu(1)
    adj = upper + upper.transpose(1, 2)
    e = torch.randn(b, n_max, n_max, DE, generator=gen, **F64)
    coords = torch.randn(b, n_max, COORD, generator=gen, **F64)
    y = torch.randn(b, DY, generator=gen, **F64)
    return dict(x=x, adj=adj, e=e, coords=coords, y=y, mask=mask, sizes=sizes_t, gen=gen)


# Each spec: build(), a function mapping the batch dict to the ordered model inputs, the input actions and the
# output actions (one per output that is a tensor).
def _mpnn():
    torch.manual_seed(1)
    model = MPNN(DX, 16, 5, num_layers=3, edge_dim=DE).double()
    return model, lambda d: (d["x"], d["adj"], d["mask"], d["e"]), (_nodes, _edges, _nodes, _edges), (_nodes,)


def _egnn():
    torch.manual_seed(2)
    model = EGNN(DX, 16, 5, num_layers=3, coord_dim=COORD).double()
    return model, lambda d: (d["x"], d["adj"], d["mask"], d["coords"]), (_nodes, _edges, _nodes, _nodes), (
        _nodes, _nodes)


def _gt():
    torch.manual_seed(3)
    model = GraphTransformer(DX, DE, 16, 4, 3, num_layers=2, num_heads=4, global_in=DY, global_out=2).double()
    return model, lambda d: (d["x"], d["e"], d["mask"], d["y"]), (_nodes, _edges, _nodes, INVARIANT), (
        _nodes, _edges, INVARIANT)


def _gt_no_global():
    torch.manual_seed(4)
    model = GraphTransformer(DX, DE, 8, 4, 3, num_layers=2, num_heads=2).double()
    return model, lambda d: (d["x"], d["e"], d["mask"]), (_nodes, _edges, _nodes), (_nodes, _edges)


SPECS = {"mpnn": _mpnn, "egnn": _egnn, "gt": _gt, "gt_no_global": _gt_no_global}


def _outputs(model, inputs):
    out = model(*inputs)
    out = out if isinstance(out, tuple) else (out,)
    return tuple(o for o in out if o is not None)


@pytest.fixture(params=list(SPECS))
def spec(request):
    model, get_inputs, in_actions, out_actions = SPECS[request.param]()
    model.eval()
    return request.param, model, get_inputs, in_actions, out_actions


def test_permutation_equivariance(spec):
    name, model, get_inputs, in_actions, out_actions = spec
    d = make_batch(seed=10)
    inputs = get_inputs(d)
    for _ in range(3):
        g = Permutation.random(N_MAX, generator=d["gen"], batch=(B,), num_nodes=d["sizes"])
        assert not torch.equal(g.perm, Permutation.identity(N_MAX, (B,)).perm)
        assert (g.perm[~d["mask"]] == torch.arange(N_MAX).expand(B, N_MAX)[~d["mask"]]).all()  # padding fixed
        for k, out_action in enumerate(out_actions):
            report = equivariance_error(
                lambda *inp, k=k: _outputs(model, inp)[k], inputs, g, in_actions, out_action)
            assert report.output_scale > 1e-3, (name, k)
            assert report.max_abs_error < TOL, (name, k, report)


def test_padded_outputs_are_zero(spec):
    name, model, get_inputs, _, _ = spec
    d = make_batch(seed=11)
    with torch.no_grad():
        outs = _outputs(model, get_inputs(d))
    mask = d["mask"]
    pad = ~mask
    for o in outs:
        if o.dim() == 2:  # global output (B, d)
            assert torch.isfinite(o).all()
            continue
        assert torch.isfinite(o).all()
        if o.dim() == 3:
            assert (o[pad] == 0).all(), name
            assert o[mask].abs().max() > 0
        else:  # edges (B, n, n, d)
            pair_pad = pad[:, :, None] | pad[:, None, :]
            assert (o[pair_pad] == 0).all(), name
            assert (torch.diagonal(o, dim1=1, dim2=2) == 0).all()
            assert torch.equal(o, o.transpose(1, 2))


def _corrupt_padding(d, value=None):
    """Overwrite every padded entry (nodes and pairs touching a padded node) with noise (or ``value``)."""
    gen = torch.Generator().manual_seed(123)
    mask = d["mask"]
    pad = ~mask
    pair_pad = pad[:, :, None] | pad[:, None, :]
    out = dict(d)

    def fill(t, where):
        noise = 100 * torch.randn(t.shape, generator=gen, **F64) if value is None else torch.full(t.shape, value, **F64)
        while where.dim() < t.dim():
            where = where.unsqueeze(-1)
        return torch.where(where, noise, t)

    out["x"] = fill(d["x"], pad)
    out["coords"] = fill(d["coords"], pad)
    out["e"] = fill(d["e"], pair_pad)
    out["adj"] = torch.where(pair_pad, torch.ones_like(d["adj"]) if value is None else torch.full_like(d["adj"], value),
                             d["adj"])
    return out


@pytest.mark.parametrize("value", [None, math.nan])
def test_padding_does_not_influence_real_nodes(spec, value):
    name, model, get_inputs, _, _ = spec
    d = make_batch(seed=12)
    d2 = _corrupt_padding(d, value)
    with torch.no_grad():
        o1 = _outputs(model, get_inputs(d))
        o2 = _outputs(model, get_inputs(d2))
    for a, b in zip(o1, o2):
        assert torch.isfinite(b).all(), name
        assert torch.equal(a, b), (name, (a - b).abs().max())


def test_batch_matches_single_graphs(spec):
    name, model, get_inputs, _, _ = spec
    d = make_batch(seed=13)
    with torch.no_grad():
        batched = _outputs(model, get_inputs(d))
        for i, s in enumerate(SIZES):
            single = {
                "x": d["x"][i:i + 1, :s], "adj": d["adj"][i:i + 1, :s, :s], "e": d["e"][i:i + 1, :s, :s],
                "coords": d["coords"][i:i + 1, :s], "y": d["y"][i:i + 1], "mask": d["mask"][i:i + 1, :s],
            }
            outs = _outputs(model, get_inputs(single))
            for ob, os_ in zip(batched, outs):
                if ob.dim() == 2:
                    crop = ob[i:i + 1]
                elif ob.dim() == 3:
                    crop = ob[i:i + 1, :s]
                else:
                    crop = ob[i:i + 1, :s, :s]
                assert (crop - os_).abs().max() < TOL, name


def test_gradients_flow(spec):
    name, model, get_inputs, _, _ = spec
    model.train()
    d = make_batch(seed=14)
    d["x"] = d["x"].clone().requires_grad_(True)
    d["coords"] = d["coords"].clone().requires_grad_(True)
    loss = sum((o ** 2).sum() for o in _outputs(model, get_inputs(d)))
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads), name
    assert sum(float(g.abs().sum()) for g in grads) > 0
    assert torch.isfinite(d["x"].grad).all()
    assert (d["x"].grad[~d["mask"]] == 0).all()
    assert d["x"].grad[d["mask"]].abs().sum() > 0


def test_empty_and_single_node_graphs(spec):
    name, model, get_inputs, _, _ = spec
    d = make_batch(seed=15, sizes=[0, 1, 3])
    for k in ("x", "coords"):
        d[k] = d[k].clone().requires_grad_(True)
    outs = _outputs(model, get_inputs(d))
    for o in outs:
        assert torch.isfinite(o).all(), name
        if o.dim() >= 3:
            assert (o[0] == 0).all()
    sum((o ** 2).sum() for o in outs).backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_float32_and_dtype_follow_parameters():
    d = make_batch(seed=16)
    f = lambda t: t.float() if t.is_floating_point() else t  # noqa: E731
    torch.manual_seed(0)
    models = [
        (MPNN(DX, 8, 2, edge_dim=DE), (f(d["x"]), f(d["adj"]), d["mask"], f(d["e"]))),
        (EGNN(DX, 8, 2, num_layers=2), (f(d["x"]), f(d["adj"]), d["mask"])),
        (GraphTransformer(DX, DE, 8, 2, 2, num_heads=2, global_out=1), (f(d["x"]), f(d["e"]), d["mask"])),
    ]
    for model, inputs in models:
        model = model.float()
        for o in _outputs(model, inputs):
            assert o.dtype == torch.float32 and torch.isfinite(o).all()


def test_egnn_euclidean_equivariance():
    model, get_inputs, _, _ = _egnn()
    model.eval()
    d = make_batch(seed=17)
    gen = d["gen"]
    q, _ = torch.linalg.qr(torch.randn(B, COORD, COORD, generator=gen, **F64))  # random orthogonal, per graph
    t = torch.randn(B, 1, COORD, generator=gen, **F64)
    m = d["mask"].unsqueeze(-1).double()
    with torch.no_grad():
        h, c = model(d["x"], d["adj"], d["mask"], d["coords"])
        coords_g = (torch.einsum("bij,bnj->bni", q, d["coords"]) + t) * m
        h_g, c_g = model(d["x"], d["adj"], d["mask"], coords_g)
    assert (h_g - h).abs().max() < TOL
    expected = (torch.einsum("bij,bnj->bni", q, c) + t) * m
    assert (c_g - expected).abs().max() < TOL
    assert (c - d["coords"] * m).abs().max() > 1e-6  # coordinates actually move


def test_egnn_default_coords_are_zero():
    model, _, _, _ = _egnn()
    d = make_batch(seed=18)
    with torch.no_grad():
        a = model(d["x"], d["adj"], d["mask"])
        b = model(d["x"], d["adj"], d["mask"], torch.zeros(B, N_MAX, COORD, **F64))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_masked_softmax_safe_for_empty_rows():
    logits = torch.randn(2, 3, 4, **F64, requires_grad=True)
    mask = torch.tensor([[True, True, False, False], [False, False, False, False]])[:, None, :]
    p = masked_softmax(logits, mask, dim=-1)
    assert torch.isfinite(p).all()
    assert torch.allclose(p[0].sum(-1), torch.ones(3, **F64))
    assert (p[0, :, 2:] == 0).all() and (p[1] == 0).all()
    ref = torch.softmax(logits[0, :, :2], dim=-1)
    assert torch.allclose(p[0, :, :2], ref)
    (p * torch.randn_like(p)).sum().backward()
    assert torch.isfinite(logits.grad).all()


def test_requires_edge_attr_and_global_input():
    d = make_batch(seed=19)
    with pytest.raises(ValueError):
        MPNN(DX, 8, 2, edge_dim=DE).double()(d["x"], d["adj"], d["mask"])
    with pytest.raises(ValueError):
        GraphTransformer(DX, DE, 8, 2, 2, num_heads=2, global_in=DY).double()(d["x"], d["e"], d["mask"])


# ----------------------------------------------------------------------------------------------------------------------
# SparseMPNN: the MPNN on the edge list of a disjoint union


def _sparse_mpnn() -> tuple[MPNN, SparseMPNN]:
    """The dense MPNN of the specs and a SparseMPNN holding the same weights."""
    dense, _, _, _ = _mpnn()
    sparse = SparseMPNN(**vars(dense.config)).double()
    sparse.load_state_dict(dense.state_dict())
    return dense.eval(), sparse.eval()


def _relabel_edges(g, edge_index):
    return g.perm[edge_index]


def test_sparse_mpnn_matches_dense_mpnn_on_real_nodes():
    """Σ_j a_ij ψ(h_i, h_j, e_ij) over all real j (dense) equals the sum over the listed edges j → i with weight a_ij
    (sparse), since unlisted pairs have a_ij = 0; the embedding, update and readout are the same node-wise maps."""
    dense, sparse = _sparse_mpnn()
    d = make_batch(seed=20)
    weighted = d["adj"] * (0.5 + torch.rand(d["adj"].shape, generator=d["gen"], **F64))  # not symmetric
    noisy = _corrupt_padding(dict(d, adj=weighted))
    with torch.no_grad():
        expected = dense(d["x"], weighted, d["mask"], d["e"])[d["mask"]]
        union = to_disjoint_union(noisy["x"], noisy["adj"], d["mask"], noisy["e"])
        out = sparse(union.x, union.edge_index, union.edge_weight, union.edge_attr)
        unweighted = to_disjoint_union(d["x"], d["adj"], d["mask"], d["e"])
        ones = sparse(unweighted.x, unweighted.edge_index, None, unweighted.edge_attr)
        expected_ones = dense(d["x"], d["adj"], d["mask"], d["e"])[d["mask"]]
    assert union.batch.tolist() == [b for b, size in enumerate(SIZES) for _ in range(size)]
    real_pairs = d["mask"][:, :, None] & d["mask"][:, None, :]
    assert union.edge_index.shape[1] == int(((weighted != 0) & real_pairs).sum())
    assert expected.abs().max() > 1e-3
    assert (out - expected).abs().max() < TOL
    assert (ones - expected_ones).abs().max() < TOL


def test_sparse_mpnn_permutation_equivariance():
    _, sparse = _sparse_mpnn()
    d = make_batch(seed=21)
    union = to_disjoint_union(d["x"], d["adj"], d["mask"], d["e"])
    inputs = (union.x, union.edge_index, union.edge_weight, union.edge_attr)
    for _ in range(3):
        g = Permutation.random(union.x.shape[0], generator=d["gen"])
        report = equivariance_error(sparse, inputs, g, (_nodes, _relabel_edges, INVARIANT, INVARIANT), _nodes)
        assert report.output_scale > 1e-3
        assert report.max_abs_error < TOL, report


def test_sparse_mpnn_requires_edge_attr_and_takes_empty_edge_lists():
    _, sparse = _sparse_mpnn()
    x = torch.randn(3, DX, **F64)
    none = torch.zeros(2, 0, dtype=torch.long)
    with pytest.raises(ValueError):
        sparse(x, none)
    plain = SparseMPNN(DX, 8, 2).double()
    out = plain(x, none)
    assert out.shape == (3, 2) and torch.isfinite(out).all()


@pytest.mark.parametrize("sizes", [[1], [4], [9], [3, 7, 5], [2, 2]])
def test_the_traced_graph_transformer_gives_the_eager_outputs_at_any_size(sizes):
    """Traced on 4 nodes, batch 1; run on other batch sizes, node counts and paddings (garbage in the padding)."""
    torch.manual_seed(5)
    for global_in in (0, DY):
        net = GraphTransformer(DX, DE, 16, 4, 3, num_layers=2, num_heads=4, global_in=global_in).double().eval()
        traced = TracedGraphTransformer(net)
        d = make_batch(seed=len(sizes), sizes=sizes, n_max=max(sizes))
        inputs = (d["x"], d["e"], d["mask"]) + ((d["y"],) if global_in else ())
        with torch.no_grad():
            expected, got = net(*inputs), traced(*inputs)
        assert got[2] is None
        for e, g in zip(expected[:2], got[:2]):
            assert torch.allclose(e, g, atol=1e-12, rtol=0)


def test_the_traced_graph_transformer_refuses_a_global_output():
    with pytest.raises(ValueError, match="global_out"):
        TracedGraphTransformer(GraphTransformer(DX, DE, 8, 4, 3, global_in=DY, global_out=2))
