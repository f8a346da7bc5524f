r"""Discrete denoising diffusion on heavy-atom molecule graphs (DiGress-style), with and without SymPE.

A molecule is a graph with node types x_i ∈ {C, N, O, F} and edge types e_ij ∈ {none, single, double, triple}
on every unordered pair i < j (the "none" type makes the graph complete). Notation for one categorical entry with
K classes, one-hot row vector x, and the training marginal m (K,):

- Transitions (marginal, as in DiGress): Q_t = α_t I + (1 - α_t) 1 mᵀ, so Q̄_t = Q_1⋯Q_t = ᾱ_t I + (1 - ᾱ_t) 1 mᵀ
  and, for s < t, Q_{t|s} = Q_{s+1}⋯Q_t = (ᾱ_t/ᾱ_s) I + (1 - ᾱ_t/ᾱ_s) 1 mᵀ (1 mᵀ is idempotent).
  q(z_t | x) = x Q̄_t = ᾱ_t x + (1 - ᾱ_t) m; the limit t = T is the product of marginals, the prior.
- Schedule: cosine, ᾱ_t = f(t)/f(0) with f(t) = cos²(π/2 · (t/T + s)/(1 + s)), s = 0.008, ᾱ_T set to 0.
- Posterior: q(z_s | z_t, x) ∝ (z_t Q_{t|s}ᵀ) ⊙ (x Q̄_s). The denoiser predicts p̂(x | z_t) for every node and pair;
  the reverse step is p(z_s | z_t) = Σ_k p̂(x = k | z_t) q(z_s | z_t, x = k), sampled independently per node and
  per unordered pair (mirrored). Any subsequence of {T, …, 0} can be used for sampling (``--steps``).
- Loss: cross-entropy of p̂(x | z_t) against the clean types, nodes + λ · pairs (λ = 5, DiGress), t ~ U{1..T}.
- NLL (variational bound, nats per molecule, for the labelled graph as stored): −log p(n) + KL(q(z_T|x) ‖ prior) +
  Σ_{t=2}^{T} KL(q(z_{t−1}|z_t,x) ‖ p(z_{t−1}|z_t)) − log p(x | z_1), each term summed over the real nodes and
  the real unordered pairs. The sum over t is estimated without bias by one uniformly drawn t per molecule
  (T · L_t). For ``noise`` and ``sympe`` every term uses one draw of the encoding, which bounds the NLL of the
  model's mixture over encodings from above (Jensen).

Denoiser (``QM9Denoiser``): the dense graph transformer ``backend.nn.GraphTransformer`` on
node input [one-hot x_t, degree, valence, closed 3-, 4-, 5-walks, encoding], edge input [one-hot e_t, pair encoding]
and global input [t/T, n/N_MAX, triangles]. Every extra feature is a permutation-equivariant function of the noisy
graph. Variants (same backbone, widths and budget; only the encoding differs, see ``backend.sympe``):

- ``none``: plain DiGress-style; a deterministic equivariant denoiser.
- ``noise``: i.i.d. N(0, 1) node features, fresh at every call.
- ``sympe``: e = h·v on the nodes, h drawn from the inversion kernel of the *current noisy graph* with atom and
  bond types as colours (``backend.canonical.sample_graph_inversion_kernel``), fresh at every denoising step.
- ``sympe-edges``: the same h, plus the pair features (e_i ⊙ e_j, (e_i − e_j)²) on the edges.

For the sympe variants the denoiser is jointly equivariant: f(g·z, g∘h) = g·f(z, h).
"""
from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ...canonical import canonicalize_dense, sample_graph_inversion_kernel
from ...checkpoints import PRETRAINED, load_model
from ...encodings import NOISE, NONE, SYMPE, SYMPE_EDGES, Encoding, names
from ...groups import Permutation
from ...nn.graph import GraphTransformer, TracedGraphTransformer
from ...sympe import GraphEncoder
from ..task import ModelConfig
from .data import ATOM_TYPES, BOND_TYPES, N_MAX

__all__ = [
    "VARIANTS",
    "EDGE_WEIGHT",
    "cosine_alpha_bar",
    "QM9Config",
    "QM9Denoiser",
    "load_qm9_model",
    "noise_graphs",
    "training_loss",
    "mixture_training_loss",
    "nll_terms",
    "Sample",
    "sample_molecules",
]

ENCODINGS = (NONE, NOISE, SYMPE, SYMPE_EDGES)
VARIANTS = names(ENCODINGS)
EDGE_WEIGHT = 5.0
KX, KE = len(ATOM_TYPES), len(BOND_TYPES)
NODE_EXTRA, GLOBAL_IN = 5, 3


def cosine_alpha_bar(T: int, s: float = 0.008) -> torch.Tensor:
    """ᾱ_t for t = 0..T (float64, ᾱ_0 = 1, ᾱ_T = 0, non-increasing)."""
    t = torch.arange(T + 1, dtype=torch.float64)
    f = torch.cos(0.5 * math.pi * (t / T + s) / (1 + s)) ** 2
    a = (f / f[0]).clamp(0.0, 1.0)
    a[-1] = 0.0
    return a


@dataclass
class QM9Config(ModelConfig):
    encodings: ClassVar[tuple[Encoding, ...]] = ENCODINGS
    variant: str = "sympe"
    T: int = 100
    hidden: int = 64
    hidden_edge: int = 32
    hidden_global: int = 32
    num_layers: int = 4
    num_heads: int = 4
    encoding_dim: int = 8
    structural_features: bool = True  # False: the walk, degree and triangle features are zeros (an ablation)
    cycle_features: bool = True  # False: the closed-walk and triangle features are zeros; degree and valence stay
    n_max: int = N_MAX
    node_marginal: list[float] = field(default_factory=lambda: [0.25] * KX)
    edge_marginal: list[float] = field(default_factory=lambda: [0.25] * KE)
    size_distribution: list[float] = field(default_factory=lambda: [0.0] * N_MAX + [1.0])


# ----------------------------------------------------------------------------------------------------------------------
# Forward process


def _marginal_step(probs: torch.Tensor, keep: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """probs · (a I + (1 - a) 1 mᵀ) = a · probs + (1 - a) · m, with ``keep`` = a broadcast over the class axis."""
    return keep * probs + (1 - keep) * m


def _generator_device(generator: torch.Generator | None, fallback: torch.device) -> torch.device:
    return generator.device if generator is not None else fallback


def _sample_categorical(probs: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """One class index per row of probs (..., K), drawn on the generator's device and returned on probs' device,
    so a seeded CPU generator gives the same draws whichever device the model runs on."""
    flat = probs.reshape(-1, probs.shape[-1]).clamp(min=0)
    draw = torch.multinomial(flat.to(_generator_device(generator, flat.device)), 1, generator=generator)
    return draw.to(probs.device).reshape(probs.shape[:-1])


def _symmetric_pairs(E: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Keep the strict upper triangle of E (B, n, n), mirror it, and zero the diagonal and padding."""
    n = E.shape[-1]
    upper = torch.ones(n, n, dtype=torch.bool, device=E.device).triu(1)
    E = torch.where(upper, E, torch.zeros_like(E))
    E = E + E.transpose(1, 2)
    real = mask.unsqueeze(2) & mask.unsqueeze(1)
    return torch.where(real, E, torch.zeros_like(E))


def noise_graphs(
    X0: torch.Tensor, E0: torch.Tensor, mask: torch.Tensor, alpha_bar_t: torch.Tensor,
    node_marginal: torch.Tensor, edge_marginal: torch.Tensor, generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """A draw of z_t ~ q(z_t | x) for a padded batch.

    Shapes: X0 (B, n) and E0 (B, n, n) class indices, mask (B, n), alpha_bar_t (B,) → X_t (B, n), E_t (B, n, n)
    (symmetric, zero diagonal, zero on padding; padded nodes get class 0)."""
    a = alpha_bar_t.to(torch.float64)
    px = _marginal_step(F.one_hot(X0, KX).double(), a[:, None, None], node_marginal.double())
    pe = _marginal_step(F.one_hot(E0, KE).double(), a[:, None, None, None], edge_marginal.double())
    Xt = torch.where(mask, _sample_categorical(px, generator), torch.zeros_like(X0))
    return Xt, _symmetric_pairs(_sample_categorical(pe, generator), mask)


def _posterior(zt: torch.Tensor, keep_ts: torch.Tensor, abar_s: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """q(z_s = j | z_t, x = k) for every clean class k: shape (..., K_x=k, K_s=j), rows sum to 1.

    zt: (...,) class indices; keep_ts = ᾱ_t/ᾱ_s and abar_s broadcast against (...)."""
    K = m.shape[0]
    zt_1h = F.one_hot(zt, K).double()
    left = keep_ts[..., None] * zt_1h + (1 - keep_ts[..., None]) * m[zt][..., None]  # (z_t Q_{t|s}ᵀ)_j, (..., K)
    eye = torch.eye(K, dtype=torch.float64, device=m.device)
    right = abar_s[..., None, None] * eye + (1 - abar_s[..., None, None]) * m  # (…, k, j)
    post = left[..., None, :] * right
    return post / post.sum(-1, keepdim=True).clamp(min=1e-300)


# ----------------------------------------------------------------------------------------------------------------------
# Denoiser


def structural_features(Xt: torch.Tensor, Et: torch.Tensor, mask: torch.Tensor, t_frac: torch.Tensor,
                        dtype: torch.dtype = torch.float32):
    """Equivariant node features (B, n, NODE_EXTRA) and invariant global features (B, GLOBAL_IN) of a noisy graph,
    in ``dtype``: degree/4, valence (sum of bond orders)/4, closed 3-, 4-, 5-walks at each node /10;
    [t/T, n/N_MAX, triangles/5] (the trace of A³ is six times the triangle count)."""
    A = (Et > 0).to(dtype)
    A2 = A @ A
    A3 = A2 @ A
    A4 = A3 @ A
    A5 = A4 @ A
    diag = lambda M: torch.diagonal(M, dim1=-2, dim2=-1)  # noqa: E731
    nodes = torch.stack([A.sum(-1) / 4, Et.to(dtype).sum(-1) / 4, diag(A3) / 10, diag(A4) / 10, diag(A5) / 10], -1)
    nodes = nodes * mask.unsqueeze(-1)
    n = mask.sum(-1).to(dtype)
    glob = torch.stack([t_frac.to(dtype), n / N_MAX, diag(A3).sum(-1) / 30], -1)
    return nodes, glob


def kept_features(config: QM9Config) -> tuple[torch.Tensor, torch.Tensor]:
    """0/1 weights (NODE_EXTRA,), (GLOBAL_IN,) over the outputs of ``structural_features``: t/T and n are always
    kept; ``cycle_features=False`` drops the closed walks and the triangle count (beyond colour refinement) and keeps
    degree and valence; ``structural_features=False`` drops all of them."""
    local = 1.0 if config.structural_features else 0.0
    cycles = local if config.cycle_features else 0.0
    return torch.tensor([local, local, cycles, cycles, cycles]), torch.tensor([1.0, 1.0, cycles])


class QM9Denoiser(nn.Module):
    """p̂(x | z_t): logits for the clean node and edge types of a noisy molecule graph.

    Shapes:
        Xt: (B, n) node classes; Et: (B, n, n) edge classes (symmetric, zero diagonal); mask: (B, n) bool, real
        nodes first; t: (B,) integer steps in 1..T.
        returns: node logits (B, n, KX), edge logits (B, n, n, KE) (symmetric), and the group elements used
        (a Permutation (B, n) for the sympe variants, else None).
    """

    def __init__(self, config: QM9Config):
        super().__init__()
        self.config = config
        self.encoding = GraphEncoder(config.variant, config.n_max, config.encoding_dim)
        self.net = GraphTransformer(
            KX + NODE_EXTRA + self.encoding.node_dim, KE + self.encoding.edge_dim, config.hidden, KX, KE,
            num_layers=config.num_layers, num_heads=config.num_heads, global_in=GLOBAL_IN,
            hidden_edge=config.hidden_edge, hidden_global=config.hidden_global,
        )
        self.register_buffer("node_marginal", torch.tensor(config.node_marginal, dtype=torch.float64), persistent=False)
        self.register_buffer("edge_marginal", torch.tensor(config.edge_marginal, dtype=torch.float64), persistent=False)
        self.register_buffer("size_distribution", torch.tensor(config.size_distribution, dtype=torch.float64), persistent=False)
        self.register_buffer("alpha_bar", cosine_alpha_bar(config.T), persistent=False)

    @property
    def needs_canonicalization(self) -> bool:
        return self.encoding.needs_canonicalization

    def inversion_kernel(self, Xt: torch.Tensor, Et: torch.Tensor, mask: torch.Tensor,
                         generator: torch.Generator | None = None) -> Permutation:
        """h from the inversion kernel of each noisy graph (atom and bond types as colours)."""
        return sample_graph_inversion_kernel((Et > 0).to(torch.float32), mask, generator, node_colors=Xt, edge_types=Et)

    def forward(self, Xt: torch.Tensor, Et: torch.Tensor, mask: torch.Tensor, t: torch.Tensor, *,
                generator: torch.Generator | None = None, elements: Permutation | None = None):
        if Xt.shape[-1] > self.config.n_max:
            raise ValueError(f"graphs with {Xt.shape[-1]} nodes exceed this model's limit of {self.config.n_max}")
        dtype = self.net.dtype
        if self.needs_canonicalization and elements is None:
            elements = self.inversion_kernel(Xt, Et, mask, generator)
        one_graph = self._modules.get("one_graph_logits")  # set by with_traced_backbone
        if one_graph is not None and Xt.shape[0] == 1:
            x_logits, e_logits = one_graph(Xt, Et, mask, t, elements.perm)
            return x_logits, e_logits, elements
        adj = (Et > 0).to(dtype)
        enc = self.encoding(adj, mask, generator=generator, elements=elements)
        extra, glob = structural_features(Xt, Et, mask, t.to(torch.float64) / self.config.T, dtype)
        node_keep, glob_keep = kept_features(self.config)
        extra, glob = extra * node_keep.to(extra), glob * glob_keep.to(glob)
        parts = [F.one_hot(Xt, KX).to(dtype), extra.to(dtype)] + ([enc.nodes] if enc.nodes is not None else [])
        X = torch.cat(parts, -1)
        E = F.one_hot(Et, KE).to(dtype)
        if enc.edges is not None:
            E = torch.cat([E, enc.edges.to(dtype)], -1)
        x_logits, e_logits, _ = self.net(X, E, mask, glob.to(dtype))
        return x_logits, e_logits, enc.elements


def load_qm9_model(variant: str, root: Path | None = None) -> QM9Denoiser:
    """The shipped denoiser for ``variant`` (sha256-checked safetensors, pretrained/qm9/<variant>.safetensors, or
    the same layout under ``root``), in eval mode on the CPU. Raises backend.checkpoints.CheckpointError when it is
    missing or altered."""
    return load_model(f"qm9/{variant}", lambda config: QM9Denoiser(QM9Config(**config)), PRETRAINED if root is None else root)


def with_traced_backbone(model: QM9Denoiser) -> QM9Denoiser:
    """A copy of ``model`` for sampling whose backbone is a ``TracedGraphTransformer`` (about half the time per
    denoising step at QM9's sizes). For the variants that canonicalize, a batch of one graph (live sampling) goes
    through a second trace, of the whole map from (z_t, t, h) to the logits (``_Logits``: the features, the encoding
    and the backbone), which leaves out the Python overhead of the few dozen small operations around the backbone
    (h itself is still drawn outside it, from the generator). The copy shares every parameter and buffer with
    ``model``, which is not changed, and gives the same logits, hence the same samples from the same generator
    (tests/test_qm9_diffusion.py)."""
    fast = copy.copy(model)
    fast._modules = {**model._modules, "net": TracedGraphTransformer(model.net)}
    if model.needs_canonicalization:
        fast._modules["one_graph_logits"] = _Logits.traced(model)
    return fast


class _Logits(nn.Module):
    """``QM9Denoiser.forward`` for given group elements h (B, n), returning the node and edge logits."""

    def __init__(self, model: QM9Denoiser):
        super().__init__()
        self.model = model

    def forward(self, Xt: torch.Tensor, Et: torch.Tensor, mask: torch.Tensor, t: torch.Tensor, h: torch.Tensor):
        x_logits, e_logits, _ = self.model(Xt, Et, mask, t, elements=Permutation(h))
        return x_logits, e_logits

    @staticmethod
    def traced(model: QM9Denoiser, example_nodes: int = 4) -> torch.jit.ScriptModule:
        """The eager ``model``'s logits traced and frozen on one graph of ``example_nodes`` nodes. Valid for a batch
        of one graph of any size only: ``Permutation.act_nodes`` takes a different path for a batch of one, and the
        trace keeps the path it saw."""
        device = model.alpha_bar.device
        n = example_nodes
        Et = torch.ones(1, n, n, dtype=torch.long, device=device).triu(1)
        example = (torch.zeros(1, n, dtype=torch.long, device=device), Et + Et.transpose(1, 2),
                   torch.ones(1, n, dtype=torch.bool, device=device), torch.ones(1, dtype=torch.long, device=device),
                   torch.arange(n, device=device).unsqueeze(0))
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # trace deprecation, constants baked from the config
            return torch.jit.freeze(torch.jit.trace(_Logits(model).eval(), example, check_trace=False).eval())


# ----------------------------------------------------------------------------------------------------------------------
# Training loss and likelihood


def _pair_mask(mask: torch.Tensor) -> torch.Tensor:
    n = mask.shape[-1]
    upper = torch.ones(n, n, dtype=torch.bool, device=mask.device).triu(1)
    return mask.unsqueeze(2) & mask.unsqueeze(1) & upper


def _noisy_batch(model: QM9Denoiser, X0, E0, mask, generator: torch.Generator | None):
    """t ~ U{1..T} per molecule and z_t ~ q(z_t | x): returns t (B,), X_t (B, n), E_t (B, n, n)."""
    t = torch.randint(1, model.config.T + 1, (X0.shape[0],), generator=generator).to(X0.device)
    Xt, Et = noise_graphs(X0, E0, mask, model.alpha_bar[t], model.node_marginal, model.edge_marginal, generator)
    return t, Xt, Et


def training_loss(model: QM9Denoiser, X0, E0, mask, generator: torch.Generator | None = None) -> tuple[torch.Tensor, dict]:
    """Cross-entropy of p̂(x | z_t) at t ~ U{1..T}: mean over real nodes + EDGE_WEIGHT · mean over real pairs i < j."""
    t, Xt, Et = _noisy_batch(model, X0, E0, mask, generator)
    x_logits, e_logits, _ = model(Xt, Et, mask, t, generator=generator)
    pairs = _pair_mask(mask)
    lx = F.cross_entropy(x_logits[mask], X0[mask])
    le = F.cross_entropy(e_logits[pairs], E0[pairs])
    return lx + EDGE_WEIGHT * le, {"node_ce": lx.item(), "edge_ce": le.item()}


def mixture_training_loss(model: QM9Denoiser, X0, E0, mask, generator: torch.Generator | None = None,
                          draws: int = 4) -> tuple[torch.Tensor, dict]:
    """The likelihood of x under the model's mixture over encodings, p̂(x | z_t) = E_h Π p̂_h(x_i | z_t), from
    ``draws`` = K encoding draws per molecule (an importance-weighted lower bound on log p̂(x | z_t) that tightens as
    K grows):

        loss = −Σ_b log((1/K) Σ_k exp ℓ_{b,k}) / Σ_b n_b,   ℓ_{b,k} = Σ_i log p̂_{h_k}(x_i | z_t) + EDGE_WEIGHT · Σ_{i<j} log p̂_{h_k}(e_ij | z_t).

    The per-atom cross-entropy of ``training_loss`` is minimised by p̂_h(x_i | z_t) = p(x_i | z_t) whatever h is
    (h is drawn from z_t alone), so it gives SymPE no reason to break a symmetry of z_t. Here each draw only has to
    explain x well in the mixture, so different h may commit to different, coherent completions of a symmetric z_t.
    For a model without a random encoding every draw is the same and this is the joint cross-entropy. Draws that
    repeat the same h for the same molecule are evaluated once (exact: the output is a function of (z_t, h))."""
    B = X0.shape[0]
    t, Xt, Et = _noisy_batch(model, X0, E0, mask, generator)
    rows = torch.arange(B, device=X0.device).repeat_interleave(draws)  # (B·K,) molecule of each draw
    elements, pick = None, rows
    if model.needs_canonicalization:
        perms = model.inversion_kernel(Xt[rows], Et[rows], mask[rows], generator).perm  # (B·K, n)
        keys = torch.cat([rows[:, None], perms], 1)
        unique, inverse = torch.unique(keys, dim=0, return_inverse=True)  # distinct (molecule, h) pairs
        pick, elements = unique[:, 0], Permutation(unique[:, 1:])
    elif not model.config.encoding.random:
        pick, inverse = torch.arange(B, device=X0.device), rows
    else:
        inverse = torch.arange(B * draws, device=X0.device)
    x_logits, e_logits, _ = model(Xt[pick], Et[pick], mask[pick], t[pick], generator=generator, elements=elements)
    pairs = _pair_mask(mask)[pick]
    x_ll = -F.cross_entropy(x_logits.transpose(1, 2), X0[pick], reduction="none")  # (U, n)
    e_ll = -F.cross_entropy(e_logits.permute(0, 3, 1, 2), E0[pick], reduction="none")  # (U, n, n)
    ll = (x_ll * mask[pick]).sum(-1) + EDGE_WEIGHT * (e_ll * pairs).flatten(1).sum(-1)  # (U,)
    ll = ll[inverse].reshape(B, draws)  # (B, K)
    lme = torch.logsumexp(ll, 1) - math.log(draws)
    loss = -lme.sum() / mask.sum()
    return loss, {"joint_nll_per_atom": float(-ll.detach().mean() * B / mask.sum()), "distinct_draws": len(pick) / B}


def _kl(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    p, q = p.double(), q.double()
    return torch.where(p > 0, p * (p.clamp(min=1e-300).log() - q.clamp(min=1e-300).log()), torch.zeros_like(p)).sum(-1)


def _reverse_probs(p_x0: torch.Tensor, zt: torch.Tensor, keep_ts, abar_s, m: torch.Tensor) -> torch.Tensor:
    """p(z_s | z_t) = Σ_k p̂(x = k) q(z_s | z_t, x = k): shape (..., K)."""
    post = _posterior(zt, keep_ts, abar_s, m)  # (..., k, j)
    return (p_x0.double().unsqueeze(-1) * post).sum(-2)


def _log_prob(probs: torch.Tensor, z: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Σ over the valid entries of log probs[..., z]: nodes (B, n, K) or pairs (B, n, n, K) → (B,)."""
    logp = probs.gather(-1, z.unsqueeze(-1)).squeeze(-1).clamp(min=1e-300).log()
    return (logp * valid).flatten(1).sum(-1)


def mixture_gain(true_x: torch.Tensor, true_e: torch.Tensor, draws: list[tuple[torch.Tensor, torch.Tensor]],
                 mask: torch.Tensor, samples: int, generator: torch.Generator | None) -> torch.Tensor:
    """Monte Carlo estimate of E_{z ~ q}[log((1/K) Σ_k p_k(z)) − (1/K) Σ_k log p_k(z)] ≥ 0 over ``samples`` draws of z,
    where q and every p_k are products over the nodes (B, n, K_x) and the upper-triangle pairs (B, n, n, K_e), and
    ``draws`` holds the K pairs (p_k nodes, p_k pairs). Returns (B,) in nats."""
    pairs = _pair_mask(mask)
    gain = torch.zeros(mask.shape[0], dtype=torch.float64, device=mask.device)
    for _ in range(samples):
        Xs = torch.where(mask, _sample_categorical(true_x, generator), 0)
        Es = _symmetric_pairs(_sample_categorical(true_e, generator), mask)
        log_p = torch.stack([_log_prob(px, Xs, mask) + _log_prob(pe, Es, pairs) for px, pe in draws])  # (K, B)
        gain += log_p.logsumexp(0) - math.log(len(draws)) - log_p.mean(0)
    return gain / samples


@torch.no_grad()
def nll_terms(model: QM9Denoiser, X0, E0, mask, generator: torch.Generator | None = None, *,
              encoding_generator: torch.Generator | None = None, mixture_draws: int = 0,
              gain_samples: int = 16) -> dict[str, torch.Tensor]:
    """Per-molecule terms of the variational bound (nats, float64, shape (B,)), with one t ~ U{1..T} per molecule:
    ``size`` = −log p(n), ``prior`` = KL(q(z_T|x) ‖ prior), ``diffusion`` = T · L_t (L_1 is the reconstruction
    term −log p(x | z_1), L_t for t ≥ 2 the KL between q(z_{t−1} | z_t, x) and the model's reverse step), and ``nll``
    their sum. ``generator`` draws t and the noisy graphs; ``encoding_generator`` (default: the same) draws the
    encodings, so two models can be compared on identical t and z_t.

    ``mixture_draws`` = 0: the KL is computed exactly for one encoding draw h, i.e. E_h KL(q ‖ p_h), an upper bound
    on the KL to the model's actual reverse step, the mixture p = E_h p_h (h is fresh at every step).
    ``mixture_draws`` = K ≥ 1: L_t is estimated against the K-draw mixture p̄ = (1/K) Σ_k p_{h_k}, each p_{h_k} a
    product over the nodes and pairs, as KL(q ‖ p̄) = (1/K) Σ_k KL(q ‖ p_{h_k}) − E_{z_s ~ q}[G(z_s)], with the
    mixture gain G(z) = log p̄(z) − (1/K) Σ_k log p_{h_k}(z) ≥ 0 (Jensen). The first term is exact; G is averaged
    over ``gain_samples`` draws z_s ~ q(z_s | z_t, x), which is unbiased and has a small variance because G is the
    difference between two log-likelihoods of the same z_s. As an estimate of log p(z), the log of a K-sample mean
    log p̄(z) is biased downward (Jensen: E log p̄ ≤ log E p̄ = log p), so the KL estimate is biased upward: it stays
    an upper bound in expectation and tightens as K grows. A ``none`` model has one encoding, so
    G = 0 and the estimate is the exact KL. ``gain`` in the result is T · E[G], the part of ``diffusion`` that the
    mixture saves over the average single draw. The z_s draws come from ``encoding_generator``, so ``generator``
    stays in step across models."""
    T = model.config.T
    B = X0.shape[0]
    enc_gen = encoding_generator if encoding_generator is not None else generator
    pairs = _pair_mask(mask)
    n = mask.sum(-1)
    size = -model.size_distribution[n].clamp(min=1e-300).log()
    mx, me = model.node_marginal, model.edge_marginal
    oh_x, oh_e = F.one_hot(X0, KX).double(), F.one_hot(E0, KE).double()
    abar = model.alpha_bar
    pT_x = _marginal_step(oh_x, abar[T], mx)
    pT_e = _marginal_step(oh_e, abar[T], me)
    prior = (_kl(pT_x, mx.expand_as(pT_x)) * mask).sum(-1) + (_kl(pT_e, me.expand_as(pT_e)) * pairs).sum((-1, -2))

    t = torch.randint(1, T + 1, (B,), generator=generator).to(X0.device)
    Xt, Et = noise_graphs(X0, E0, mask, abar[t], mx, me, generator)
    s = t - 1
    keep = (abar[t] / abar[s]).clamp(max=1.0)
    kx, sx = keep[:, None], abar[s][:, None]
    ke, se = keep[:, None, None], abar[s][:, None, None]
    true_x = (oh_x.unsqueeze(-1) * _posterior(Xt, kx, sx, mx)).sum(-2)  # q(z_s | z_t, x); one-hot x when s = 0
    true_e = (oh_e.unsqueeze(-1) * _posterior(Et, ke, se, me)).sum(-2)

    def reverse_step():
        x_logits, e_logits, _ = model(Xt, Et, mask, t, generator=enc_gen)
        return (_reverse_probs(x_logits.double().softmax(-1), Xt, kx, sx, mx),
                _reverse_probs(e_logits.double().softmax(-1), Et, ke, se, me))

    def kl_to(model_x, model_e):
        return (_kl(true_x, model_x) * mask).sum(-1) + (_kl(true_e, model_e) * pairs).sum((-1, -2))

    gain = torch.zeros(B, dtype=torch.float64, device=X0.device)
    if mixture_draws == 0:
        kl_t = kl_to(*reverse_step())
    else:
        draws = [reverse_step() for _ in range(model.config.encoding.passes(mixture_draws))]
        kl_t = torch.stack([kl_to(px, pe) for px, pe in draws]).mean(0)
        if len(draws) > 1:
            gain = mixture_gain(true_x, true_e, draws, mask, gain_samples, enc_gen)
        kl_t = kl_t - gain
    diffusion = T * kl_t
    return {"size": size, "prior": prior, "diffusion": diffusion, "nll": size + prior + diffusion, "t": t, "gain": T * gain}


# ----------------------------------------------------------------------------------------------------------------------
# Sampling


@dataclass
class Sample:
    """Generated graphs and, optionally, the whole trajectory.

    node_types (N, n) and edge_types (N, n, n) class indices; num_nodes (N,); symmetric_steps (N,) the number of
    denoising steps whose noisy input graph had a nontrivial automorphism group (``steps`` in all);
    trajectory: a list over the visited times t (first = T, last = 0) of (t, X (N, n), E (N, n, n)), or None;
    elements: with the trajectory, for the variants that canonicalize, the h (N, n) that the denoiser drew at each
    step from the inversion kernel of its input, aligned with trajectory[:-1] (entry i belongs to the graph of
    trajectory[i]; h[b, k] is the node at canonical position k, padding fixed), else None."""

    node_types: torch.Tensor
    edge_types: torch.Tensor
    num_nodes: torch.Tensor
    symmetric_steps: torch.Tensor
    steps: int
    trajectory: list[tuple[int, torch.Tensor, torch.Tensor]] | None = None
    elements: list[torch.Tensor] | None = None


def sampling_times(T: int, steps: int) -> list[int]:
    """``steps`` + 1 decreasing integer times from T to 0, evenly spaced (all of T..0 when steps = T)."""
    if not 1 <= steps <= T:
        raise ValueError(f"steps must be between 1 and T = {T}, got {steps}")
    return sorted({round(T * k / steps) for k in range(steps + 1)}, reverse=True)


def _has_symmetry(X: torch.Tensor, E: torch.Tensor, n: int) -> bool:
    return canonicalize_dense((E > 0).to(torch.float32), n, X.tolist(), E).automorphism_group_order > 1


@torch.no_grad()
def sample_molecules(
    model: QM9Denoiser, num: int, generator: torch.Generator, steps: int | None = None,
    num_nodes: torch.Tensor | None = None, keep_trajectory: bool = False, track_symmetry: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> Sample:
    """Ancestral sampling from the prior (sizes from the training distribution unless ``num_nodes`` is given), on
    the model's device; the returned tensors are on the CPU."""
    T = model.config.T
    device = model.alpha_bar.device
    times = sampling_times(T, steps or T)
    if num_nodes is None:
        sizes = model.size_distribution.to(_generator_device(generator, device))
        num_nodes = torch.multinomial(sizes, num, replacement=True, generator=generator)
    n_nodes = num_nodes.to(device=device, dtype=torch.long)
    n = int(n_nodes.max())
    mask = torch.arange(n, device=device).unsqueeze(0) < n_nodes.unsqueeze(1)
    mx, me = model.node_marginal, model.edge_marginal
    X = torch.where(mask, _sample_categorical(mx.expand(num, n, KX), generator), 0)
    E = _symmetric_pairs(_sample_categorical(me.expand(num, n, n, KE), generator), mask)
    abar = model.alpha_bar
    symmetric = torch.zeros(num, dtype=torch.long)
    trajectory = [(T, X.cpu(), E.cpu())] if keep_trajectory else None
    drawn = [] if keep_trajectory and model.needs_canonicalization else None
    for i, (t, s) in enumerate(zip(times[:-1], times[1:])):
        if track_symmetry:
            Xc, Ec = X.cpu(), E.cpu()
            symmetric += torch.tensor([_has_symmetry(Xc[b], Ec[b], int(n_nodes[b])) for b in range(num)], dtype=torch.long)
        tt = torch.full((num,), t, dtype=torch.long, device=device)
        x_logits, e_logits, elements = model(X, E, mask, tt, generator=generator)
        if drawn is not None:
            drawn.append(elements.perm.cpu())
        keep = (abar[t] / abar[s]).clamp(max=1.0)
        sx = abar[s]
        px = _reverse_probs(x_logits.softmax(-1), X, keep, sx, mx)
        pe = _reverse_probs(e_logits.softmax(-1), E, keep, sx, me)
        X = torch.where(mask, _sample_categorical(px, generator), 0)
        E = _symmetric_pairs(_sample_categorical(pe, generator), mask)
        if keep_trajectory:
            trajectory.append((s, X.cpu(), E.cpu()))
        if progress is not None:
            progress(i + 1, len(times) - 1)
    return Sample(X.cpu(), E.cpu(), n_nodes.cpu(), symmetric, len(times) - 1, trajectory, drawn)
