"""Computations of the "Equivariance in distribution" page: group actions on the page's inputs and outputs, empirical
output laws, and live runs of the backend's equivariance checker on the shipped models."""
from __future__ import annotations


import numpy as np
import streamlit as st
import torch

from backend.encodings import encoding
from backend.equivariance import equivariance_error
from backend.groups import LatticeElement, Permutation
from backend.sympe import GraphEncoder
from backend.tasks import TASKS

from . import figures, graphs, lattice, models

LATTICE_L = 8
LATTICE_INPUTS = {
    "Antiferromagnet with a defect site": (-1.0, -1.0, 0.0, (("h", 2, 3, 2.0),)),
    "Ferromagnet with a defect bond": (1.0, 1.0, 0.0, (("jx", 4, 1, -2.0),)),
    "Stripes with a painted row": (1.0, -1.0, 0.0, tuple(("h", 0, j, 0.5) for j in range(LATTICE_L))),
    "Antiferromagnet (fully symmetric)": (-1.0, -1.0, 0.0, ()),
    "Two defects": (-1.0, -1.0, 0.0, (("h", 1, 1, 2.0), ("h", 5, 2, -1.5))),
}
CHECK_SAMPLES = 4


def lattice_input(name: str) -> tuple[np.ndarray, np.ndarray]:
    jx, jy, hval, paint = LATTICE_INPUTS[name]
    return lattice.build_inputs(jx, jy, hval, LATTICE_L, paint)


def _act_h(g: LatticeElement, h: torch.Tensor) -> torch.Tensor:
    return g.act_sites(h.unsqueeze(-3), odd=True).squeeze(-3)


def act_lattice(g: LatticeElement, J: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """g·(J, h): couplings move as bonds, the field as an odd site field."""
    Jt, ht = torch.as_tensor(J), torch.as_tensor(h)
    return g.act_bonds(Jt).numpy(), _act_h(g, ht).numpy()


def act_back_spins(g: LatticeElement, spins: np.ndarray) -> np.ndarray:
    """g⁻¹ applied to each output (K, L, L) (spins are odd under the spin flip)."""
    return _act_h(g.inverse(), torch.as_tensor(spins)).numpy()


def state_histograms(a: np.ndarray, b: np.ndarray, top: int = 12) -> tuple[list[str], list[int], list[int]]:
    """Counts of each distinct state in two sample sets (K, L, L), most frequent overall first; the rest pooled."""
    def keys(s):
        return [x.astype(np.int8).tobytes() for x in s]

    ka, kb = keys(a), keys(b)
    total: dict[bytes, int] = {}
    for k in ka + kb:
        total[k] = total.get(k, 0) + 1
    order = sorted(total, key=lambda k: -total[k])
    head, rest = order[:top], set(order[top:])
    labels = [f"state {i + 1}" for i in range(len(head))]
    ca = [ka.count(k) for k in head]
    cb = [kb.count(k) for k in head]
    if rest:
        labels.append("others")
        ca.append(sum(k in rest for k in ka))
        cb.append(sum(k in rest for k in kb))
    return labels, ca, cb


def lattice_law_figure(a: np.ndarray, b: np.ndarray, *, height: int = 340,
                       title: str = "Which output states come out (distinct states, most frequent first)",
                       ) -> tuple[figures.SpecFigure, float]:
    """The two empirical output laws side by side (``state_histograms`` of f(x) samples ``a`` and g⁻¹·f(g·x) samples
    ``b``, K each) and their total-variation distance."""
    labels, p_a, p_b = state_histograms(a, b)
    fig = figures.grouped_bar_figure(labels, {"f(x)": p_a, "g⁻¹·f(g·x)": p_b}, y_title="samples", height=height,
                                     title=title)
    return fig, 0.5 * float(np.abs(np.array(p_a) - np.array(p_b)).sum()) / len(a)


def graph_law_figure(hx: np.ndarray, hgx: np.ndarray, g: np.ndarray, *, height: int = 340) -> figures.SpecFigure:
    """Which node each inversion-kernel sample puts at canonical position 0: for x (``hx``), for g·x (``hgx``) and
    for g·x moved back by g⁻¹ (the stabilized view, the same law as for x)."""
    n = hx.shape[1]
    back = np.argsort(g)[hgx]  # g⁻¹∘h'
    return figures.grouped_bar_figure([str(i) for i in range(n)], {
        "x: node at position 0": np.bincount(hx[:, 0], minlength=n).tolist(),
        "g·x: node at position 0": np.bincount(hgx[:, 0], minlength=n).tolist(),
        "stabilized: g⁻¹ of that node": np.bincount(back[:, 0], minlength=n).tolist(),
    }, title=f"Inversion-kernel samples, K = {len(hx)} per side", y_title="samples", height=height)


def lattice_story_figures(J, h, Jg, hg, spins_x: np.ndarray, back: np.ndarray) -> list[tuple[figures.SpecFigure, str]]:
    """The page's story for presenter mode (``ui.story``) on the lattice, as (figure, name) pairs: x, g·x and the
    law of f(x) beside the law of g⁻¹·f(g·x) (the same page computations as below)."""
    return [(figures.lattice_input_figure(J, h, title="x"), "x"),
            (figures.lattice_input_figure(Jg, hg, title="g·x"), "gx"),
            (lattice_law_figure(spins_x, back, title="Output states: f(x) vs g⁻¹·f(g·x)")[0], "law")]


def graph_story_figures(pos: np.ndarray, pos_g: np.ndarray, data, data_g, hx: np.ndarray, hgx: np.ndarray,
                        g: np.ndarray) -> list[tuple[figures.SpecFigure, str]]:
    """The page's story for presenter mode (``ui.story``) on graphs, as (figure, name) pairs: x and g·x coloured by
    orbit (``data``, ``data_g``: their ``graphs.analyze``) and the kernel's law for both (``graph_law_figure``)."""
    return [(figures.graph_figure(pos, data.edges, groups=data.orbit_of, title="x"), "x"),
            (figures.graph_figure(pos_g, data_g.edges, groups=data_g.orbit_of, title="g·x"), "gx"),
            (graph_law_figure(hx, hgx, g), "law")]


def _verdict(err: float, expected_equivariant: bool) -> str:
    if expected_equivariant:
        return "✓ equivariant" if err < 1e-9 else "✗ not equivariant"
    return "— not expected to be equivariant" if err >= 1e-9 else "equivariant for this g"


def checked_variants(experiment: str) -> list[str]:
    """The variants whose equivariance one input decides, SymPE first: SymPE with its draws h held fixed, and the
    deterministic ones (noise is random, so it is equivariant in distribution only)."""
    encodings = [e for e in TASKS[experiment].encodings if e.canonicalizes or not e.random]
    return [e.name for e in sorted(encodings, key=lambda e: not e.canonicalizes)]


def lattice_checks(J: np.ndarray, h: np.ndarray, point: int, shift: tuple[int, int], flip: bool, seed: int) -> list[dict]:
    """The checker on every shipped Ising variant for g = (point, shift, flip), one row each. Each check is cached
    on its variant's weights (sha256), so new weights are checked as soon as they land; only sympe's depends on the
    seed (its sampled h), so "sample again" reruns that one alone."""
    rows = []
    for variant in checked_variants("ising"):
        entry = models.manifest().get(f"ising/{variant}")
        if entry is None:
            rows.append({"variant": variant, "checked": "not shipped", "max |error|": None, "relative": None, "verdict": ""})
        else:
            rows.append(_lattice_check(variant, entry["sha256"], J, h, point, shift, flip,
                                       seed if encoding(variant).canonicalizes else 0))
    return rows


@st.cache_data(show_spinner=False, max_entries=192)
def _lattice_check(variant: str, sha256: str, J: np.ndarray, h: np.ndarray, point: int, shift: tuple[int, int],
                   flip: bool, seed: int) -> dict:
    L = h.shape[0]
    g = lattice.element_from_parts(L, point, shift, flip)
    Jt = torch.as_tensor(J, dtype=torch.float64)[None].expand(CHECK_SAMPLES, 2, L, L).contiguous()
    ht = torch.as_tensor(h, dtype=torch.float64)[None].expand(CHECK_SAMPLES, L, L).contiguous()
    model = models.float64_copy("ising", variant, L)
    if encoding(variant).canonicalizes:
        form = lattice.canonical(J, h)
        els = form.sample(torch.Generator().manual_seed(int(seed)), num_samples=CHECK_SAMPLES)[0]
        rep = equivariance_error(
            lambda a, b, e: model(a, b, elements=e).logits, [Jt, ht, els], g,
            [lambda g_, x: g_.act_bonds(x), _act_h, lambda g_, e: g_.compose(e)], _act_h,
        )
        what = f"f(g·x, g∘h) vs g·f(x, h), {CHECK_SAMPLES} sampled h, float64"
        expected = True
    else:
        rep = equivariance_error(lambda a, b: model(a, b).logits, [Jt, ht], g,
                                 [lambda g_, x: g_.act_bonds(x), _act_h], _act_h)
        what = "f(g·x) vs g·f(x), float64"
        expected = encoding(variant).equivariance == "exact" and int(g.sign) == 1  # p4m only, not the spin flip
    return {"variant": variant, "checked": what, "max |error|": f"{rep.max_abs_error:.2e}",
            "relative": f"{rep.max_rel_error:.2e}", "verdict": _verdict(rep.max_abs_error, expected)}


# ----------------------------------------------------------------------------------------------------------------------
# Graphs


def relabelling(n: int, number: int) -> np.ndarray:
    """A uniformly random permutation g (node i ↦ g[i]) drawn from the seed ``number``."""
    return Permutation.random(n, torch.Generator().manual_seed(number)).perm.numpy()


def relabel_edges(edges, g: np.ndarray) -> tuple[tuple[int, int], ...]:
    return tuple(sorted((min(g[u], g[v]), max(g[u], g[v])) for u, v in edges))


@st.cache_data(show_spinner=False, max_entries=64)
def graph_checks(n: int, edges: tuple, g: np.ndarray, hs: np.ndarray, versions: tuple = ()) -> list[dict]:
    """The checker on the SymPE encoding (with the page's table v) and on the shipped autoencoders (``versions`` keys
    the cache to the shipped weights)."""
    A = torch.as_tensor(graphs.adjacency(n, edges))
    gp = Permutation(torch.as_tensor(g))
    h = torch.as_tensor(hs[0], dtype=torch.long)
    mask = torch.ones(1, n, dtype=torch.bool)
    act_A = lambda g_, a: g_.act_edges(a)  # noqa: E731
    act_h = lambda g_, x: g_.compose(Permutation(x)).perm  # noqa: E731
    rows = []
    enc = GraphEncoder("sympe", max(n, 1), 8).double()
    with torch.no_grad():
        enc.table.copy_(torch.as_tensor(graphs.demo_table(max(n, 1), 8)))
    rep = equivariance_error(lambda a, x: enc(a[None], mask, elements=Permutation(x[None])).nodes[0], [A, h], gp,
                             [act_A, act_h], lambda g_, e: g_.act_nodes(e))
    rows.append({"function": "SymPE encoding e(x, h) = h·v", "checked": "e(g·x, g∘h) vs g·e(x, h)",
                 "max |error|": f"{rep.max_abs_error:.2e}", "verdict": _verdict(rep.max_abs_error, True)})
    limit = models.graph_ae_limit() or 0
    for variant in checked_variants("graph_ae"):
        entry = models.manifest().get(f"graph_ae/{variant}")
        model = models.model("graph_ae", variant) if entry is not None else None
        if model is None or n > limit or n < 2:
            why = "not shipped" if model is None else f"graph outside the model's 2..{limit} nodes"
            rows.append({"function": f"autoencoder {variant}", "checked": why, "max |error|": None, "verdict": ""})
            continue
        m64 = models.float64_copy("graph_ae", variant)
        Af = A.clone()
        if encoding(variant).canonicalizes:
            rep = equivariance_error(lambda a, x: m64(a[None], mask, elements=Permutation(x[None])).probs[0], [Af, h], gp,
                                     [act_A, act_h], act_A)
            what, expected = "f(g·x, g∘h) vs g·f(x, h)", True
        else:
            rep = equivariance_error(lambda a: m64(a[None], mask).probs[0], [Af], gp, [act_A], act_A)
            what, expected = "f(g·x) vs g·f(x)", encoding(variant).equivariance == "exact"
        rows.append({"function": f"autoencoder {variant}", "checked": what, "max |error|": f"{rep.max_abs_error:.2e}",
                     "verdict": _verdict(rep.max_abs_error, expected)})
    return rows
