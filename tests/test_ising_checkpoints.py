"""Shipped Ising weights: they load (sha256-checked safetensors), reproduce the manifest's small-set metrics and
are jointly equivariant.

Tolerance: the small fixed evaluation (128 Hamiltonians, fixed seeds) is deterministic on one platform; across
platforms float32 rounding can flip a sign at a site with a near-zero logit, so exact-ground rates must agree to
within 2 Hamiltonians (0.016) and the mean relative gap to within 0.01.
"""
import pytest
import torch

from backend.checkpoints import read_manifest
from backend.equivariance import equivariance_error
from backend.groups import LatticeElement, LatticeGroup
from backend.tasks.ising.data import constant_couplings
from backend.tasks.ising.evaluate import small_eval
from backend.tasks.ising.model import VARIANTS, load_ising, spins_from_logits

MANIFEST = read_manifest()
SHIPPED = [v for v in VARIANTS if f"ising/{v}" in MANIFEST]


def test_every_variant_is_shipped():
    assert SHIPPED == list(VARIANTS)


@pytest.mark.parametrize("variant", SHIPPED)
def test_small_eval_reproduces_the_manifest(variant):
    model = load_ising(variant)
    measured = small_eval(model)
    recorded = MANIFEST[f"ising/{variant}"]["small_eval"]
    assert measured["count"] == recorded["count"]
    assert abs(measured["exact_rate"] - recorded["exact_rate"]) <= 0.016
    assert abs(measured["mean_rel_gap"] - recorded["mean_rel_gap"]) <= 0.01


@pytest.mark.parametrize("variant", SHIPPED)
def test_manifest_records_how_the_model_was_made(variant):
    entry = MANIFEST[f"ising/{variant}"]
    assert entry["command"].startswith("python -m backend.tasks.ising.train")
    assert entry["training"]["seconds"] > 0
    assert {"constant_hamiltonians", "varying_hamiltonians"} <= set(entry["data"])
    assert len(entry["sha256"]) == 64


@pytest.mark.parametrize("variant", [v for v in SHIPPED if v in ("none", "sympe")])
def test_shipped_network_is_jointly_equivariant(variant):
    model = load_ising(variant).double()
    L = model.config.L
    group = LatticeGroup(L, spin_flip=variant == "sympe")
    gen = torch.Generator().manual_seed(0)
    elements = group.sample((64,), gen)
    J = torch.randn(1, 2, L, L, dtype=torch.float64, generator=gen).expand(64, 2, L, L)
    h = torch.randn(1, L, L, dtype=torch.float64, generator=gen).expand(64, L, L)
    if variant == "sympe":
        base = group.sample((1,), gen)
        base = LatticeElement(L, base.point.expand(64), base.shift.expand(64, 2), base.sign.expand(64))
        f = lambda J, h, p, s, z: model(J, h, elements=LatticeElement(L, p, s, z)).logits  # noqa: E731
        inputs = [J, h, base.point, base.shift, base.sign]
        actions = [lambda g, x: g.act_bonds(x), lambda g, x: g.act_sites(x[:, None], odd=True)[:, 0],
                   lambda g, x: g.compose(base).point, lambda g, x: g.compose(base).shift, lambda g, x: g.compose(base).sign]
        out_action = lambda g, y: g.act_sites(y[:, None], odd=True)[:, 0]  # noqa: E731
    else:
        f = lambda J, h: model(J, h).logits  # noqa: E731
        inputs = [J, h]
        actions = [lambda g, x: g.act_bonds(x), lambda g, x: g.act_sites(x[:, None])[:, 0]]
        out_action = lambda g, y: g.act_sites(y[:, None])[:, 0]  # noqa: E731
    report = equivariance_error(f, inputs, elements, actions, out_action)
    assert report.max_abs_error < 1e-9


def test_shipped_sympe_breaks_the_antiferromagnet_and_none_cannot():
    J, h = constant_couplings(-1.0, -1.0, 0.0, 8)
    none = spins_from_logits(load_ising("none")(J.float(), h.float()).logits)
    assert torch.all(none == none[0, 0, 0])  # constant: can never be a checkerboard
    sympe = spins_from_logits(load_ising("sympe")(J.float().expand(32, 2, 8, 8), h.float().expand(32, 8, 8),
                                                 generator=torch.Generator().manual_seed(0)).logits)
    checker = torch.tensor([[(-1.0) ** (i + j) for j in range(8)] for i in range(8)])
    hits = [(s == checker).all() or (s == -checker).all() for s in sympe]
    assert sum(bool(x) for x in hits) >= 30
    both = {int(s[0, 0]) for s in sympe}
    assert both == {-1, 1}  # both checkerboards are sampled
