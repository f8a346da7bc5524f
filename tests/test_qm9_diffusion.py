"""The QM9 diffusion model: the transition algebra against explicit matrices, the forward process, an oracle
denoiser (exact posterior ⇒ zero diffusion KL and exact recovery), joint equivariance of the denoiser in float64,
the unbroken variant's failure on a symmetric noisy graph, and the sampler's invariants. Tiny configs only."""
from __future__ import annotations

import pytest
import torch
from graphs import carbon_ring, ring_spreads

from backend.canonical import canonicalize_dense
from backend.equivariance import equivariance_error
from backend.groups import Permutation
from backend.tasks.qm9 import model as D
from backend.tasks.qm9.model import (
    QM9Config,
    QM9Denoiser,
    cosine_alpha_bar,
    mixture_training_loss,
    nll_terms,
    noise_graphs,
    sample_molecules,
    sampling_times,
    with_traced_backbone,
)

NODE_M = [0.7, 0.12, 0.15, 0.03]
EDGE_M = [0.72, 0.22, 0.04, 0.02]
SIZES = [0, 0, 0, 0.1, 0.1, 0.2, 0.2, 0.1, 0.1, 0.2]


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def tiny(variant: str, T: int = 10, seed: int = 0, **features: bool) -> QM9Denoiser:
    """A tiny float64 denoiser; ``features`` sets QM9Config.structural_features / cycle_features."""
    torch.manual_seed(seed)
    cfg = QM9Config(variant=variant, T=T, hidden=16, hidden_edge=8, hidden_global=8, num_layers=2, num_heads=2,
                    encoding_dim=4, node_marginal=NODE_M, edge_marginal=EDGE_M, size_distribution=SIZES, **features)
    return QM9Denoiser(cfg).double().eval()


def molecules(seed: int = 0, sizes=(9, 6, 8, 4)):
    r = gen(seed)
    sizes = torch.tensor(sizes)
    n = int(sizes.max())
    mask = torch.arange(n)[None, :] < sizes[:, None]
    X = torch.where(mask, torch.randint(0, 4, (len(sizes), n), generator=r), 0)
    E = torch.randint(0, 4, (len(sizes), n, n), generator=r) * (torch.rand(len(sizes), n, n, generator=r) < 0.3)
    return X, D._symmetric_pairs(E, mask), mask


def test_cosine_schedule_endpoints_and_monotone():
    a = cosine_alpha_bar(100)
    assert a[0] == 1.0 and a[-1] == 0.0
    assert torch.all(a[1:] <= a[:-1])
    assert 0.4 < float(a[50]) < 0.6


def test_posterior_matches_bayes_with_explicit_matrices():
    """q(z_s = j | z_t = i, x = k) = Q_{t|s}[j, i] Q̄_s[k, j] / Q̄_t[k, i] with Q_r = α_r I + (1 - α_r) 1 mᵀ."""
    T = 10
    m = torch.tensor(NODE_M, dtype=torch.float64)
    abar = cosine_alpha_bar(T)
    K = len(m)
    Q = [None] + [(abar[r] / abar[r - 1]) * torch.eye(K, dtype=torch.float64)
                  + (1 - abar[r] / abar[r - 1]) * torch.ones(K, 1, dtype=torch.float64) * m for r in range(1, T + 1)]

    def product(lo: int, hi: int) -> torch.Tensor:  # Q_{lo+1} ⋯ Q_hi
        P = torch.eye(K, dtype=torch.float64)
        for r in range(lo + 1, hi + 1):
            P = P @ Q[r]
        return P

    for t, s in [(1, 0), (5, 4), (7, 2), (10, 9), (10, 0), (3, 1)]:
        Qts, Qs, Qt = product(s, t), product(0, s), product(0, t)
        for i in range(K):
            post = D._posterior(torch.tensor(i), abar[t] / abar[s], abar[s], m)  # (k, j)
            for k in range(K):
                if Qt[k, i] == 0:
                    continue
                expected = Qts[:, i] * Qs[k, :] / Qt[k, i]
                assert torch.allclose(post[k], expected, atol=1e-12), (t, s, i, k)


def test_noise_graphs_shape_symmetry_and_limits():
    X, E, mask = molecules(1)
    m = torch.tensor(NODE_M, dtype=torch.float64), torch.tensor(EDGE_M, dtype=torch.float64)
    Xt, Et = noise_graphs(X, E, mask, torch.ones(4, dtype=torch.float64), *m, gen(0))
    assert torch.equal(Xt, X) and torch.equal(Et, E)
    Xt, Et = noise_graphs(X, E, mask, torch.rand(4, generator=gen(2), dtype=torch.float64), *m, gen(0))
    assert torch.equal(Et, Et.transpose(1, 2))
    assert torch.all(torch.diagonal(Et, dim1=1, dim2=2) == 0)
    assert torch.all(Xt[~mask] == 0) and torch.all(Et[~mask] == 0)
    # at ᾱ = 0 every entry is drawn from the marginal
    big = torch.zeros(4000, 2, dtype=torch.long), torch.zeros(4000, 2, 2, dtype=torch.long), torch.ones(4000, 2, dtype=torch.bool)
    Xt, Et = noise_graphs(*big, torch.zeros(4000, dtype=torch.float64), *m, gen(3))
    freq = torch.bincount(Xt.flatten(), minlength=4).double() / Xt.numel()
    assert torch.allclose(freq, m[0], atol=0.02)
    freq = torch.bincount(Et[:, 0, 1], minlength=4).double() / 4000
    assert torch.allclose(freq, m[1], atol=0.03)


class Oracle(QM9Denoiser):
    """A denoiser that knows the clean graph: p̂(x | z_t) is the one-hot of the truth."""

    def set_truth(self, X: torch.Tensor, E: torch.Tensor):
        self.X0, self.E0 = X, E
        return self

    def forward(self, Xt, Et, mask, t, *, generator=None, elements=None):
        n = Xt.shape[-1]
        big = 1e4
        return (big * torch.nn.functional.one_hot(self.X0[:, :n], 4).double(),
                big * torch.nn.functional.one_hot(self.E0[:, :n, :n], 4).double(), None)


def test_oracle_denoiser_has_zero_diffusion_term_and_recovers_the_graph():
    X, E, mask = molecules(4)
    cfg = tiny("none").config
    oracle = Oracle(cfg).double().set_truth(X, E)
    for seed in range(5):
        for draws in (0, 3):
            terms = nll_terms(oracle, X, E, mask, gen(seed), mixture_draws=draws)
            assert torch.allclose(terms["diffusion"], torch.zeros(4, dtype=torch.float64), atol=1e-8)
            assert torch.allclose(terms["nll"], terms["size"] + terms["prior"])
    sizes = mask.sum(-1)
    sample = sample_molecules(oracle, 4, gen(0), num_nodes=sizes)
    assert torch.equal(sample.node_types, X) and torch.equal(sample.edge_types, E)
    sample = sample_molecules(oracle, 4, gen(1), steps=3, num_nodes=sizes)
    assert torch.equal(sample.node_types, X) and torch.equal(sample.edge_types, E)


def _copies(num: int):
    X, E, mask = molecules(8, sizes=(5,))
    return X.expand(num, -1).clone(), E.expand(num, -1, -1).clone(), mask.expand(num, -1).clone()


def test_mixture_estimator_is_the_exact_kl_for_the_unbroken_model():
    """``none`` has one encoding: the mixture estimate of L_t is the exact KL, and its mixture gain is 0."""
    model = tiny("none", T=3, seed=5)
    X, E, mask = _copies(50)
    exact = nll_terms(model, X, E, mask, gen(0))
    mixture = nll_terms(model, X, E, mask, gen(0), mixture_draws=4)
    assert torch.allclose(exact["diffusion"], mixture["diffusion"], atol=1e-12)
    assert torch.equal(mixture["gain"], torch.zeros_like(mixture["gain"]))


def test_mixture_gain_matches_enumeration_over_every_state():
    """The Monte Carlo mixture gain against the exact expectation over all 4² · 4 states of a 2-atom graph (node
    and pair distributions drawn at random, K = 3 components), within 4 standard errors; pointwise it is ≥ 0."""
    import itertools
    import math

    r = gen(3)
    mask = torch.ones(1, 2, dtype=torch.bool)

    def product_law():
        return torch.rand(1, 2, 4, generator=r, dtype=torch.float64).softmax(-1), torch.rand(1, 2, 2, 4, generator=r, dtype=torch.float64).mul(3).softmax(-1)

    q_x, q_e = product_law()
    draws = [product_law() for _ in range(3)]
    exact = 0.0
    for a, b, e in itertools.product(range(4), repeat=3):
        log_p = torch.tensor([float(px[0, 0, a].log() + px[0, 1, b].log() + pe[0, 0, 1, e].log()) for px, pe in draws])
        exact += float(q_x[0, 0, a] * q_x[0, 1, b] * q_e[0, 0, 1, e]) * float(log_p.logsumexp(0) - math.log(3) - log_p.mean())
    single = torch.stack([D.mixture_gain(q_x, q_e, draws, mask, 1, gen(100 + i)) for i in range(4000)])
    assert float(single.min()) >= 0
    assert exact > 1e-3
    assert abs(float(single.mean()) - exact) < 4 * float(single.std() / len(single) ** 0.5)
    assert abs(float(D.mixture_gain(q_x, q_e, draws, mask, 4000, gen(7))[0]) - exact) < 4 * float(single.std() / 4000 ** 0.5)


def test_mixture_estimate_is_below_the_average_single_draw_for_sympe():
    """For ``sympe`` on a symmetric molecule the mixture estimate is the K-draw average of the exact KLs minus a
    nonnegative gain, so it never exceeds that average."""
    model = tiny("sympe", T=3, seed=5)
    X, E, mask = _copies(20)
    terms = nll_terms(model, X, E, mask, gen(0), encoding_generator=gen(1), mixture_draws=4)
    assert float(terms["gain"].min()) >= 0 and float(terms["gain"].max()) > 0


def test_nll_terms_are_finite_and_positive_for_an_untrained_model():
    X, E, mask = molecules(5)
    terms = nll_terms(tiny("sympe"), X, E, mask, gen(0))
    assert torch.all(torch.isfinite(terms["nll"]))
    assert torch.all(terms["prior"] >= 0) and torch.all(terms["diffusion"] >= 0) and torch.all(terms["size"] > 0)
    assert torch.all((terms["t"] >= 1) & (terms["t"] <= 10))


@pytest.mark.parametrize("variant", ["none", "sympe", "sympe-edges"])
def test_denoiser_is_jointly_equivariant_in_float64(variant):
    """f(g·z, g∘h) = g·f(z, h) for node and edge logits (``none``: f(g·z) = g·f(z)); padding stays fixed."""
    model = tiny(variant, seed=1)
    X, E, mask = molecules(6)
    sizes = mask.sum(-1)
    n = X.shape[-1]
    r = gen(7)
    h = Permutation.random(n, generator=r, batch=(4,), num_nodes=sizes)
    t = torch.tensor([1, 4, 7, 10])

    def nodes(X, E, mask, h):
        return model(X, E, mask, t, elements=Permutation(h))[0]

    def edges(X, E, mask, h):
        return model(X, E, mask, t, elements=Permutation(h))[1]

    acts = [lambda g, x: g.act_nodes(x), lambda g, e: g.act_edges(e), lambda g, m: g.act_nodes(m),
            lambda g, p: g.compose(Permutation(p)).perm]
    for _ in range(3):
        g = Permutation.random(n, generator=r, batch=(4,), num_nodes=sizes)
        for f, out in ((nodes, lambda g, y: g.act_nodes(y)), (edges, lambda g, y: g.act_edges(y))):
            rep = equivariance_error(f, [X, E, mask, h.perm], g, acts, out)
            assert rep.output_scale > 1e-3
            assert rep.max_abs_error < 1e-10, rep


def test_unbroken_denoiser_cannot_break_a_symmetric_noisy_graph_and_sympe_does():
    """All-carbon 6-ring (|Aut| = 12): ``none`` predicts the same distribution at every atom and every ring bond;
    the sympe variants, given an inversion-kernel sample, do not."""
    X, E, mask = carbon_ring(6)
    t = torch.tensor([5])
    x, e, _ = tiny("none", seed=3)(X, E, mask, t)
    atoms, bonds = ring_spreads(x, e)
    assert atoms < 1e-12 and bonds < 1e-12
    for variant in ("sympe", "sympe-edges"):
        x, e, h = tiny(variant, seed=3)(X, E, mask, t, generator=gen(0))
        atoms, bonds = ring_spreads(x, e)
        assert h is not None and atoms > 1e-4 and bonds > 1e-4


def tiny_with_features(level: str, seed: int = 3) -> QM9Denoiser:
    """A tiny ``none`` denoiser with all structural features, only degree and valence ("local"), or none."""
    return tiny("none", seed=seed, structural_features=level != "none", cycle_features=level == "all")


@pytest.mark.parametrize("level, separated", [("none", False), ("local", False), ("all", True)])
def test_only_the_cycle_features_tell_a_6_ring_from_two_triangles(level, separated):
    """C6 and two triangles are both 2-regular with the same atoms: colour refinement cannot separate them, and
    neither can the transformer without the walk and triangle features; with them it can."""
    X, ring, mask = carbon_ring(6)
    triangles = torch.zeros_like(ring)
    for a, b in [(0, 1), (1, 2), (2, 0), (3, 4), (4, 5), (5, 3)]:
        triangles[0, a, b] = triangles[0, b, a] = 1
    t = torch.tensor([5])
    model = tiny_with_features(level)
    (x_ring, _, _), (x_tri, _, _) = model(X, ring, mask, t), model(X, triangles, mask, t)
    assert torch.allclose(x_ring, x_tri, atol=1e-10) != separated


@pytest.mark.parametrize("level", ["none", "local", "all"])
def test_kept_features_per_level(level):
    """The feature columns kept at each level: [degree, valence, 3-, 4-, 5-walks] and [t/T, n, triangles]."""
    node_keep, glob_keep = D.kept_features(tiny_with_features(level).config)
    assert node_keep.tolist() == {"none": [0.0] * 5, "local": [1.0, 1.0, 0.0, 0.0, 0.0], "all": [1.0] * 5}[level]
    assert glob_keep.tolist() == {"none": [1.0, 1.0, 0.0], "local": [1.0, 1.0, 0.0], "all": [1.0] * 3}[level]


def _joint_log_likelihood(model, X0, E0, mask, Xt, Et, t, elements=None):
    """Σ_i log p̂(x_i | z_t) + EDGE_WEIGHT · Σ_{i<j} log p̂(e_ij | z_t) per molecule, computed directly."""
    x, e, _ = model(Xt, Et, mask, t, elements=elements)
    lx = x.log_softmax(-1).gather(-1, X0[..., None])[..., 0]
    le = e.log_softmax(-1).gather(-1, E0[..., None])[..., 0]
    return (lx * mask).sum(-1) + D.EDGE_WEIGHT * (le * D._pair_mask(mask)).flatten(1).sum(-1)


@torch.no_grad()
@pytest.mark.parametrize("variant", ["none", "sympe", "sympe-edges"])
def test_mixture_loss_is_the_log_mean_likelihood_over_draws(variant):
    """mixture_training_loss against a direct computation on all B·K draws (no deduplication of repeated h), with
    the same t, z_t and h: −Σ_b log mean_k exp ℓ_{b,k} / Σ_b n_b. For ``none`` it is the joint cross-entropy. The
    batch holds carbon rings at small t, so repeated and distinct h both occur."""
    model, K = tiny(variant, T=100, seed=1), 4
    X, E, mask = (x.repeat(12, *[1] * (x.dim() - 1)) for x in carbon_ring(6))
    loss, parts = mixture_training_loss(model, X, E, mask, gen(5), draws=K)

    r = gen(5)
    t = torch.randint(1, model.config.T + 1, (12,), generator=r)
    Xt, Et = noise_graphs(X, E, mask, model.alpha_bar[t], model.node_marginal, model.edge_marginal, r)
    rows = torch.arange(12).repeat_interleave(K)
    elements = model.inversion_kernel(Xt[rows], Et[rows], mask[rows], r) if model.needs_canonicalization else None
    ll = _joint_log_likelihood(model, X[rows], E[rows], mask[rows], Xt[rows], Et[rows], t[rows], elements).reshape(12, K)
    expected = -(torch.logsumexp(ll, 1) - torch.log(torch.tensor(float(K)))).sum() / mask.sum()
    assert abs(float(loss) - float(expected)) < 1e-9 * float(expected)  # batch shapes differ: float64 rounding
    if variant == "none":
        assert parts["distinct_draws"] == 1 and torch.allclose(ll, ll[:, :1].expand(12, K))
    else:
        assert 1 < parts["distinct_draws"] < K  # some rings were still symmetric, some draws repeated
        assert float(loss) < float(-ll.mean() * 12 / mask.sum())  # Jensen: the mixture beats the average draw


def test_sampling_times():
    assert sampling_times(10, 10) == list(range(10, -1, -1))
    assert sampling_times(100, 4) == [100, 75, 50, 25, 0]
    with pytest.raises(ValueError):
        sampling_times(10, 0)
    with pytest.raises(ValueError):
        sampling_times(10, 11)


@pytest.mark.parametrize("variant", D.VARIANTS)
def test_sampler_invariants_and_determinism(variant):
    model = tiny(variant, seed=4)
    a = sample_molecules(model, 6, gen(9), keep_trajectory=True)
    b = sample_molecules(model, 6, gen(9), keep_trajectory=True)
    assert torch.equal(a.node_types, b.node_types) and torch.equal(a.edge_types, b.edge_types)
    E, X = a.edge_types, a.node_types
    mask = torch.arange(X.shape[1])[None, :] < a.num_nodes[:, None]
    assert torch.equal(E, E.transpose(1, 2)) and torch.all(torch.diagonal(E, dim1=1, dim2=2) == 0)
    assert torch.all(X[~mask] == 0) and torch.all(E[~mask] == 0)
    assert X.max() < 4 and E.max() < 4 and a.num_nodes.min() >= 3
    assert [t for t, _, _ in a.trajectory] == list(range(10, -1, -1))
    assert a.steps == 10 and torch.all((a.symmetric_steps >= 0) & (a.symmetric_steps <= 10))


def test_symmetric_step_count_is_exact_on_an_empty_carbon_start():
    """The first noisy graph of a size-n molecule drawn with node marginal (1, 0, 0, 0) and edge marginal
    (1, 0, 0, 0) is n isolated carbons: symmetric, so every sample counts at least that one step."""
    cfg = tiny("none").config
    cfg.node_marginal, cfg.edge_marginal = [1.0, 0, 0, 0], [1.0, 0, 0, 0]
    model = QM9Denoiser(cfg).double().eval()
    s = sample_molecules(model, 5, gen(0), steps=1)
    assert torch.all(s.symmetric_steps == 1)


@pytest.mark.parametrize("variant", D.VARIANTS)
def test_the_traced_backbone_samples_the_same_molecules_and_leaves_the_model_alone(variant):
    model = tiny(variant, seed=5)
    fast = with_traced_backbone(model)
    a = sample_molecules(model, 5, gen(3), keep_trajectory=True)
    b = sample_molecules(fast, 5, gen(3), keep_trajectory=True)
    assert torch.equal(a.node_types, b.node_types) and torch.equal(a.edge_types, b.edge_types)
    assert all(torch.equal(x, y) for (_, x, _), (_, y, _) in zip(a.trajectory, b.trajectory))
    assert type(model.net).__name__ == "GraphTransformer" and fast.net is not model.net
    assert fast.encoding is model.encoding and fast.alpha_bar is model.alpha_bar
    assert "one_graph_logits" not in model._modules


@pytest.mark.parametrize("variant", D.VARIANTS)
def test_one_graph_sampling_through_the_traced_logits_is_the_eager_sampling(variant):
    """A batch of one graph takes the second trace (the whole logits) for the canonicalizing variants; at every size
    from 1 to 9 nodes it draws the eager model's trajectory and h."""
    model = tiny(variant, seed=7)
    fast = with_traced_backbone(model)
    assert ("one_graph_logits" in fast._modules) == model.needs_canonicalization
    for n in range(1, 10):
        a = sample_molecules(model, 1, gen(n), num_nodes=torch.tensor([n]), keep_trajectory=True, track_symmetry=False)
        b = sample_molecules(fast, 1, gen(n), num_nodes=torch.tensor([n]), keep_trajectory=True, track_symmetry=False)
        assert all(torch.equal(x, y) and torch.equal(e, f) for (_, x, e), (_, y, f) in zip(a.trajectory, b.trajectory))
        assert a.elements is None or all(torch.equal(g, h) for g, h in zip(a.elements, b.elements))
        _, X, E = a.trajectory[0]
        mask, t = torch.ones(1, n, dtype=torch.bool), torch.tensor([5])
        h = None if a.elements is None else Permutation(a.elements[0])
        for u, v in zip(model(X, E, mask, t, elements=h, generator=gen(0))[:2],
                        fast(X, E, mask, t, elements=h, generator=gen(0))[:2]):
            assert torch.equal(u, v)


@pytest.mark.parametrize("variant", D.VARIANTS)
def test_the_trajectory_keeps_the_h_each_step_drew_and_nothing_else_changes(variant):
    """Sample.elements holds, per step, the group elements the denoiser itself returned for that step's input (the
    graph of trajectory[i]); each maps that noisy graph onto its canonical form. Keeping the trajectory draws the
    same molecules as not keeping it."""
    model = tiny(variant, seed=6)
    used, inputs = [], []
    forward = model.forward

    def recording(X, E, mask, t, **kw):
        out = forward(X, E, mask, t, **kw)
        used.append(out[2])
        inputs.append((X, E, mask))
        return out

    model.forward = recording
    s = sample_molecules(model, 4, gen(2), keep_trajectory=True, track_symmetry=False)
    plain = sample_molecules(tiny(variant, seed=6), 4, gen(2), track_symmetry=False)
    assert torch.equal(s.node_types, plain.node_types) and torch.equal(s.edge_types, plain.edge_types)
    if not model.needs_canonicalization:
        assert s.elements is None and all(e is None for e in used)
        return
    assert len(s.elements) == len(s.trajectory) - 1 == len(used)
    for h, e, (_, X, E), (Xin, Ein, mask) in zip(s.elements, used, s.trajectory, inputs):
        assert torch.equal(h, e.perm) and torch.equal(X, Xin) and torch.equal(E, Ein)
        for b in range(4):
            m = int(mask[b].sum())
            form = canonicalize_dense((E[b] > 0).float(), m, X[b, :m].tolist(), E[b])
            hb, gamma = h[b, :m], torch.tensor(form.order)
            assert h[b, m:].tolist() == list(range(m, X.shape[1]))
            assert torch.equal(X[b, hb], X[b, gamma]) and torch.equal(E[b][hb][:, hb], E[b][gamma][:, gamma])
