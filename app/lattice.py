"""Lattice (Ising) computations for the app, cached with ``st.cache_data``.

Inputs are numpy arrays: J (2, L, L) with J[0] = J_x on the bond (i, j)–(i, j+1) and J[1] = J_y on (i, j)–(i+1, j),
and the field h (L, L). Each cached function canonicalizes once and runs the K samples of a variant as one batch.
The group is p4m × Z2 (translations, rotations, reflections and the global spin flip), as in backend.tasks.ising.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace

import numpy as np
import streamlit as st
import torch

from backend.canonical import LatticeCanonicalForm, canonicalize_lattice
from backend.encodings import encoding
from backend.groups import LatticeElement, LatticeGroup
from backend.tasks.ising.data import (
    energy,
    exact_ground,
    greedy_descent,
    periodic2_states,
    phase_of,
    simulated_annealing,
)
from backend.tasks.ising.evaluate import SEARCH_PROPOSALS  # noqa: F401 (re-exported: the evaluation's P, offered on phase boundaries)
from backend.tasks.ising.model import IsingOutput, nearby_search, spins_from_logits, with_frozen_core

from . import figures, models

PHASE_PRESETS: dict[str, tuple[float, float, float]] = {
    "Antiferromagnet": (-1.0, -1.0, 0.0),
    "Ferromagnet": (1.0, 1.0, 0.0),
    "Stripes (rows alternate)": (1.0, -1.0, 0.0),
    "Stripes (columns alternate)": (-1.0, 1.0, 0.0),
    "Antiferromagnet in a field": (-1.0, -1.0, 1.5),
    "Field-polarized": (-0.5, -0.5, 3.0),
}
SIZES = (4, 6, 8, 10, 12, 14, 16, 24, 32, 48, 64)  # even (the references need it); the models were trained at 8
POINT_NAMES = ["identity", "rot 90°", "rot 180°", "rot 270°", "mirror", "rot 90°·mirror", "rot 180°·mirror",
               "rot 270°·mirror"]
SA_RUNS, SA_SWEEPS = 16, 400  # up to L = 16; larger lattices get fewer runs (sa_runs)
SA_SITE_RUNS = SA_RUNS * 16 * 16  # the annealing budget in runs × sites: about 0.1 s of one core at any L
SEARCH_MAX_L = 16  # the nearby search runs (P + 1)·K forward passes per variant instead of at most K
CORE_THREADS = 2  # threads that share a batch of samples (inference_model)
SEARCH_OFF_NOTE = (f"The nearby search is off above L = {SEARCH_MAX_L}: it runs P + 1 batches of K forward passes for "
                   "every variant, where a change without it runs one batch for the noise baseline and one pass for "
                   "each other variant; at the larger sizes that is seconds per change.")


def build_inputs(jx: float, jy: float, hval: float, L: int, paint: tuple = ()) -> tuple[np.ndarray, np.ndarray]:
    """Constant couplings and field, then the painted overrides (kind, i, j, value), kind in {"jx", "jy", "h"}."""
    J = np.empty((2, L, L))
    J[0], J[1] = jx, jy
    h = np.full((L, L), float(hval))
    for kind, i, j, value in paint:
        if i >= L or j >= L:
            continue
        if kind == "h":
            h[i, j] = value
        else:
            J[0 if kind == "jx" else 1, i, j] = value
    return J, h


# ---- painted sites and bonds, and the other parameters of the Lattice lab's URL ----------------------------------------
# Everything here is pure (no Streamlit): the page reads the link once per session, shows the notes in one warning
# and writes the paint back with encode_paint.

PAINT_MIN, PAINT_MAX, PAINT_STEP = -4.0, 4.0, 0.5  # the painter's range and step; painted values lie on this grid
PAINT_KINDS = ("h", "jx", "jy")
PAINT_MAX_CHARS = 64_000  # a longer ?paint= is refused whole (the longest link the app writes: 3·64² letters + 12)
PAINT_SHOWN = 5  # entries named per note; the rest are counted
_CODES = "abcdefghijklmnopq"  # value index 0..16 on the grid: value = PAINT_MIN + PAINT_STEP · index
_RUN = re.compile(r"([.a-q])([0-9]{0,5})")
_SIZE = re.compile(r"[0-9]{1,3}")
_INDEX = re.compile(r"-?[0-9]{1,9}")
_NUMBER = re.compile(r"[+-]?(?:[0-9]{1,400}\.?[0-9]{0,400}|\.[0-9]{1,400})(?:[eE][+-]?[0-9]{1,6})?")
_NOT_FINITE = re.compile(r"[+-]?(?:inf|infinity|nan)", re.IGNORECASE)

# The widgets bound to the URL (bind="query-params"): (min, max, step) of each slider; L takes one of SIZES.
URL_SLIDERS: dict[str, tuple] = {"jx": (-2.0, 2.0, 0.05), "jy": (-2.0, 2.0, 0.05), "field": (-4.0, 4.0, 0.05),
                                 "K": (1, 16, 1), "search": (0, 8, 1)}
URL_PARAMS = ("jx", "jy", "field", "L", "K", "search")


def shown(text: str, limit: int = 24) -> str:
    """A piece of an untrusted link, safe to put in markdown: a code span of at most ``limit`` characters in which
    anything but ASCII letters, digits and ``: . + - =`` reads as "?"."""
    safe = "".join(c if c.isascii() and (c.isalnum() or c in ":.+-=") else "?" for c in text[:limit])
    return f"`{safe}{'…' if len(text) > limit else ''}`"


def _listed(items: list[str]) -> str:
    return ", ".join(items[:PAINT_SHOWN]) + (f" and {len(items) - PAINT_SHOWN} more" if len(items) > PAINT_SHOWN else "")


def _entries(n: int) -> str:
    return f"{n} paint entr{'y' if n == 1 else 'ies'}"


def paint_value(value: float) -> tuple[float, bool]:
    """A painted value on the painter's grid: clipped to [PAINT_MIN, PAINT_MAX] and rounded to PAINT_STEP; the flag
    says whether it changed."""
    snapped = round(min(PAINT_MAX, max(PAINT_MIN, value)) / PAINT_STEP) * PAINT_STEP + 0.0  # + 0.0: no -0.0
    return snapped, snapped != value


def paint_cell(data, L: int) -> tuple[str, int, int] | None:
    """The (kind, i, j) a painter click names (its customdata), or None when it does not name a cell of the L×L
    lattice (the click comes from the browser, so nothing about it is trusted)."""
    try:
        kind, i, j = data
        i, j = int(i), int(j)
    except (TypeError, ValueError, OverflowError):
        return None
    return (kind, i, j) if kind in PAINT_KINDS and 0 <= i < L and 0 <= j < L else None


def encode_paint(paint: dict, L: int) -> str:
    """The compact link form of the painted entries {(kind, i, j): value} of an L×L lattice.

    Format ``v2:L:<h>:<jx>:<jy>``: L in decimal, then one part per kind, each the L² cells in row-major order
    (cell i·L + j), run-length encoded as runs of a code letter followed by the run's length in decimal when it is
    above 1. The letters a–q are the 17 values −4, −3.5, …, 4 of the painter's grid (value = −4 + 0.5 · index),
    "." is an unpainted cell. A run of n ≥ 2 cells takes 1 + digits(n) ≤ n characters, so a part never has more
    than L² characters: the longest link, every cell painted and neighbours always different, is 3·L² letters plus
    the header (12,296 characters at L = 64), and an unpainted lattice is ``v2:64:.4096:.4096:.4096``.

    Values are clipped and rounded onto the grid (``paint_value``) and entries outside the lattice or not finite
    are left out, so whatever is written parses back exactly."""
    cells = {kind: ["."] * (L * L) for kind in PAINT_KINDS}
    for (kind, i, j), value in paint.items():
        if kind in PAINT_KINDS and 0 <= i < L and 0 <= j < L and np.isfinite(value):
            cells[kind][i * L + j] = _CODES[int(round((paint_value(value)[0] - PAINT_MIN) / PAINT_STEP))]
    parts = []
    for kind in PAINT_KINDS:
        row, runs, start = cells[kind], [], 0
        for end in range(1, L * L + 1):
            if end == L * L or row[end] != row[start]:
                runs.append(row[start] + (str(end - start) if end - start > 1 else ""))
                start = end
        parts.append("".join(runs))
    return f"v2:{L}:" + ":".join(parts)


def parse_paint(text: str, max_size: int = SIZES[-1]) -> tuple[dict, list[str]]:
    """The painted entries {(kind, i, j): value} a link's ``paint`` parameter carries, and one short markdown note
    per kind of thing that was ignored, clipped, rounded or refused (untrusted text is shown through ``shown``).
    Never raises.

    Reads the compact form of ``encode_paint`` (``v2:…``, the only form the app writes) and the older list
    ``kind:i:j:value;…``. Text longer than PAINT_MAX_CHARS is refused whole. Indices must be integers in
    [0, max_size); kinds h, jx or jy; values finite decimal numbers, then clipped to the painter's range
    [PAINT_MIN, PAINT_MAX] and rounded to its step PAINT_STEP (the painter cannot set anything else, and the
    compact form carries only grid values). At most 3·max_size² entries are read; the rest are ignored."""
    text = text if isinstance(text, str) else ""
    if len(text) > PAINT_MAX_CHARS:
        return {}, [f"the paint parameter has {len(text):,} characters (at most {PAINT_MAX_CHARS:,}); "
                    "nothing was painted"]
    return _parse_compact(text, max_size) if text.startswith("v2:") else _parse_list(text, max_size)


def _parse_compact(text: str, max_size: int) -> tuple[dict, list[str]]:
    fields = text.split(":")
    if len(fields) != 2 + len(PAINT_KINDS) or not _SIZE.fullmatch(fields[1]) or not 1 <= int(fields[1]) <= max_size:
        return {}, [f"the paint parameter is not `v2:L:h:jx:jy` with 1 ≤ L ≤ {max_size}; nothing was painted"]
    L, paint, notes = int(fields[1]), {}, []
    for kind, runs in zip(PAINT_KINDS, fields[2:]):
        tokens = _RUN.findall(runs)
        if "".join(c + n for c, n in tokens) != runs or sum(int(n) if n else 1 for _, n in tokens) != L * L:
            notes.append(f"the {kind} part of the paint parameter is malformed (it must describe {L * L} cells); "
                         "ignored")
            continue
        position = 0
        for code, n in tokens:
            count = int(n) if n else 1
            if code != ".":
                for cell in range(position, position + count):
                    paint[(kind, cell // L, cell % L)] = PAINT_MIN + PAINT_STEP * _CODES.index(code)
            position += count
    return paint, notes


def _parse_list(text: str, max_size: int) -> tuple[dict, list[str]]:
    parts = [p for p in text.split(";") if p]
    limit = len(PAINT_KINDS) * max_size**2
    paint, malformed, outside, not_finite, clipped, rounded = {}, [], [], [], [], []
    for part in parts[:limit]:
        fields = part.split(":")
        if len(fields) != 4 or fields[0] not in PAINT_KINDS or not all(map(_INDEX.fullmatch, fields[1:3])):
            malformed.append(shown(part))
            continue
        kind, i, j, raw = fields[0], int(fields[1]), int(fields[2]), fields[3]
        if not (0 <= i < max_size and 0 <= j < max_size):
            outside.append(shown(part))
            continue
        if _NOT_FINITE.fullmatch(raw):
            not_finite.append(shown(part))
            continue
        if not _NUMBER.fullmatch(raw):
            malformed.append(shown(part))
            continue
        value = float(raw)
        if not np.isfinite(value):  # 1e999
            not_finite.append(shown(part))
            continue
        paint[(kind, i, j)], changed = paint_value(value)
        if changed:
            (clipped if not PAINT_MIN <= value <= PAINT_MAX else rounded).append(shown(part))
    notes = []
    if len(parts) > limit:
        notes.append(f"the paint parameter has {len(parts):,} entries (at most {limit:,}); ignored the last "
                     f"{len(parts) - limit:,}")
    for items, why in ((malformed, "not kind:i:j:value with kind h, jx or jy and a decimal value"),
                       (outside, f"site outside 0…{max_size - 1}"), (not_finite, "not a finite number")):
        if items:
            notes.append(f"ignored {_entries(len(items))} ({why}): {_listed(items)}")
    if clipped:
        notes.append(f"clipped {_entries(len(clipped))} to the painter's range {PAINT_MIN:g}…{PAINT_MAX:g}: "
                     f"{_listed(clipped)}")
    if rounded:
        notes.append(f"rounded {_entries(len(rounded))} to the painter's step {PAINT_STEP:g}: {_listed(rounded)}")
    return paint, notes


def paint_within(paint: dict, L: int) -> tuple[dict, list[str]]:
    """The entries that lie on the L×L lattice, and a note naming those that do not (a link's paint for a larger
    lattice than its L)."""
    kept = {k: v for k, v in paint.items() if k[1] < L and k[2] < L}
    outside = [shown(f"{k}:{i}:{j}") for (k, i, j) in paint if (k, i, j) not in kept]
    return kept, ([f"ignored {_entries(len(outside))} outside the {L}×{L} lattice: {_listed(outside)}"] if outside
                  else [])


def url_param_notes(raw: dict[str, list[str]], used: dict[str, object]) -> list[str]:
    """One note per parameter of ``URL_PARAMS`` that the link gives but the page did not take as written.

    ``raw`` holds the link's values of each parameter (all of them when it is repeated), ``used`` the value its
    widget took. Streamlit's binding already refuses values outside a widget's range (the widget keeps its
    default); this names the parameter, what was wrong with it and the value used instead."""
    notes = []
    for key in URL_PARAMS:
        values = raw.get(key) or []
        if not values or key not in used:
            continue
        text, value = values[-1], used[key]
        number = float(text) if _NUMBER.fullmatch(text.strip()) else None
        if len(values) == 1 and number is not None and number == value:
            continue
        if len(values) > 1:
            why = f"given {len(values)} times"
        elif _NOT_FINITE.fullmatch(text.strip()) or (number is not None and not np.isfinite(number)):
            why = "not a finite number"
        elif number is None:
            why = "not a number"
        elif key == "L":
            why = "not one of " + ", ".join(map(str, SIZES))
        elif not URL_SLIDERS[key][0] <= number <= URL_SLIDERS[key][1]:
            why = f"outside {URL_SLIDERS[key][0]:g}…{URL_SLIDERS[key][1]:g}"
        elif isinstance(value, int) and number != int(number):
            why = "not a whole number"
        else:
            why = "not read"
        notes.append(f"{shown(f'{key}={text}')} ({why}; {value:g} is used)")
    return notes


def is_constant(J: np.ndarray, h: np.ndarray) -> bool:
    return bool(np.all(J[0] == J[0, 0, 0]) and np.all(J[1] == J[1, 0, 0]) and np.all(h == h[0, 0]))


def _torch(J: np.ndarray, h: np.ndarray, dtype=torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.as_tensor(J, dtype=dtype)[None], torch.as_tensor(h, dtype=dtype)[None]


@st.cache_data(show_spinner=False, max_entries=64)
def canonical(J: np.ndarray, h: np.ndarray) -> LatticeCanonicalForm:
    """The exact canonical data of one input over p4m × Z2 (the field h is odd under the spin flip)."""
    L = h.shape[0]
    Jt, ht = _torch(J, h, torch.float64)
    return canonicalize_lattice(LatticeGroup(L, spin_flip=True), ht.unsqueeze(1), Jt, odd=[True])


@dataclass(frozen=True)
class Stabilizer:
    order: int
    group_order: int
    table: list[dict]  # per point-group element: translations fixing x without / with the spin flip
    translations: int  # pure translations in G_x (including the identity)
    summary: str


@st.cache_data(show_spinner=False, max_entries=64)
def stabilizer(J: np.ndarray, h: np.ndarray) -> Stabilizer:
    form = canonical(J, h)
    L = h.shape[0]
    group = form.group
    elems = group.elements()
    mask = form.stabilizer_mask[0]
    # counts[z, k]: elements of G_x with point-group element k, without (z = 0) or with (z = 1) the spin flip
    counts = torch.bincount(((elems.sign < 0).long() * 8 + elems.point)[mask], minlength=16).reshape(2, 8).tolist()
    rows = [{"point-group element": POINT_NAMES[k],
             **{f"translations {label}": f"{counts[z][k]} / {L * L}"
                for z, label in enumerate(("with spins kept", "with the spin flip"))}} for k in range(8)]
    translations = counts[0][0]
    order = sum(map(sum, counts))
    kinds = []
    if translations == L * L:
        kinds.append("every translation")
    elif translations > 1:
        kinds.append(f"{translations} translations")
    rot = [POINT_NAMES[k] for k in (1, 2, 3) if counts[0][k] + counts[1][k]]
    ref = [POINT_NAMES[k] for k in (4, 5, 6, 7) if counts[0][k] + counts[1][k]]
    if rot:
        kinds.append("rotations (" + ", ".join(rot) + ")")
    if ref:
        kinds.append(f"{len(ref)} kinds of reflection")
    if any(counts[1]):
        kinds.append("the spin flip (combined with some of these)")
    summary = ", ".join(kinds) if kinds else "only the identity: the input has no symmetry"
    return Stabilizer(order, group.order, rows, translations, summary)


@dataclass(frozen=True)
class VariantRun:
    variant: str
    spins: np.ndarray  # (K, L, L)
    energies: np.ndarray  # (K,)
    elements: list[dict] | None  # the sampled group elements (sympe)
    encoding: np.ndarray | None  # h·v of sample 0, (dim, L, L)
    table: np.ndarray | None  # the learned field v, (dim, L, L)


def run_variant(variant: str, J: np.ndarray, h: np.ndarray, K: int, seed: int, sha256: str, search: int = 0,
                per_sample_passes: bool = False) -> VariantRun:
    """K samples of one shipped variant for one input (``sha256`` keys the cache to the weights), each replaced by
    the best of ``search`` nearby proposals when ``search`` > 0 (backend.tasks.ising.model.nearby_search).

    Forward passes: ``none`` and ``fixed`` are deterministic, so without the search one pass, cached whatever K and
    the seed, stands for all K samples (read-only broadcast arrays); ``noise`` runs K. ``sympe`` without the search
    runs one pass, at the canonical element γ, and gets sample k by the group action: its draw is h_k = s_k∘γ with
    s_k in the stabilizer G_x, and the model is jointly equivariant, f(g·x, g∘h) = g·f(x, h), so
    f(x, h_k) = f(s_k·x, s_k∘γ) = s_k·f(x, γ) exactly (up to float rounding; tests/test_app.py checks it against K
    passes). ``per_sample_passes=True`` runs the K passes instead, for the Equivariance page, which exists to show
    that property rather than to use it."""
    if encoding(variant).random or search:
        return _run_variant(variant, J, h, K, seed, sha256, search, per_sample_passes)
    run = _run_variant(variant, J, h, 1, 0, sha256, 0, False)
    return replace(run, spins=np.broadcast_to(run.spins, (K, *run.spins.shape[1:])),
                   energies=np.broadcast_to(run.energies, (K,)))


@st.cache_data(show_spinner=False, max_entries=256)
def _run_variant(variant: str, J: np.ndarray, h: np.ndarray, K: int, seed: int, sha256: str, search: int,
                 per_sample_passes: bool) -> VariantRun:
    model = inference_model(variant, h.shape[0])
    if model is None:
        raise LookupError(f"ising/{variant} is not shipped")
    return _run_model(model, variant, J, h, K, seed, search, per_sample_passes)


def inference_model(variant: str, L: int):
    """``models.ising_model`` with its core frozen for inference and its batches split over ``CORE_THREADS`` threads
    (``with_frozen_core``: the same outputs, faster), built once per size and weights version (``models.derived``);
    None when not shipped."""
    return models.derived("ising", variant, f"L = {L}, frozen core, {CORE_THREADS} threads",
                          lambda _: with_frozen_core(models.ising_model(variant, L), CORE_THREADS))


def page_computations(J: np.ndarray, h: np.ndarray, K: int, seed: int, search: int, variants) -> list:
    """What the Lattice lab computes for this input (stabilizer, reference, every shipped variant's run), as calls
    for ``ui.precompute``: run before the figures are sent, they leave the second core to the model's second thread
    (``CORE_THREADS``) instead of to the browser's redraw."""
    calls = [lambda: stabilizer(J, h), lambda: reference(J, h)]
    return calls + [lambda v=v: run_variant(v, J, h, K, seed, models.manifest()[f"ising/{v}"]["sha256"], search)
                    for v in variants]


def run_trained(trained, J: np.ndarray, h: np.ndarray, K: int, seed: int, search: int = 0) -> VariantRun:
    """``run_variant`` for a model trained in this session (``app.training.TrainedModel``, frozen; resized to the
    input's L with ``at_size``, which copies). Not cached: these models live in one session only."""
    model = trained.model if trained.model.config.L == h.shape[0] else trained.model.at_size(h.shape[0]).eval()
    return _run_model(model, trained.variant, J, h, K, seed, search, False)


def _run_model(model, variant: str, J: np.ndarray, h: np.ndarray, K: int, seed: int, search: int,
               per_sample_passes: bool) -> VariantRun:
    L = h.shape[0]
    Jt, ht = _torch(J, h)
    kind = encoding(variant)
    by_stabilizer = kind.canonicalizes and not search and not per_sample_passes
    B = 1 if by_stabilizer or (not kind.random and not search) else K
    Jt, ht = models.to_model(model, Jt, ht)
    Jk, hk = Jt.expand(B, 2, L, L), ht.expand(B, L, L)
    gen = torch.Generator().manual_seed(int(seed))
    drawn = None
    if kind.canonicalizes:
        form = canonical(J, h)
        drawn = form.sample(gen, num_samples=K)[0]  # h_k = s_k∘γ, uniform in the coset G_x·γ
    with torch.inference_mode():
        if by_stabilizer:
            out = _sympe_by_stabilizer(model, Jt, ht, form.gamma, drawn)
        else:
            out = model(Jk, hk, generator=gen, elements=drawn)
    J64, h64 = torch.as_tensor(J)[None], torch.as_tensor(h)[None]
    if search:
        spins = nearby_search(model, J64.expand(B, 2, L, L), h64.expand(B, L, L), out, gen, search)
    else:
        spins = spins_from_logits(out.logits).cpu().double().expand(K, L, L)
    e = energy(J64, h64, spins)
    elements = encoded = table = None
    if out.elements is not None:
        elements = out.elements.to_dicts()
        v = model.encoder.field.detach().cpu().double()
        table = v.numpy()
        encoded = out.elements[0].act_sites(v[None])[0].numpy()
    elif kind.has_table:
        table = model.encoder.field.detach().cpu().double().numpy()
        encoded = table
    return VariantRun(variant, spins.numpy(), e.numpy(), elements, encoded, table)


def _sympe_by_stabilizer(model, J: torch.Tensor, h: torch.Tensor, gamma: LatticeElement,
                         drawn: LatticeElement) -> IsingOutput:
    """The sympe outputs for the draws h_k = s_k∘γ from one forward pass at γ: logits_k = s_k·f(x, γ), with
    s_k = h_k∘γ⁻¹ acting on the odd spin logits (run_variant explains why this is exact). J (1, 2, L, L),
    h (1, L, L), gamma (1,), drawn (K,)."""
    K = drawn.batch_shape[0]
    at_gamma = model(J, h, elements=gamma).logits  # (1, L, L)
    s = drawn.compose(gamma[torch.zeros(K, dtype=torch.long)].inverse())
    return IsingOutput(s.act_sites(at_gamma.expand(K, 1, *at_gamma.shape[-2:]), odd=True)[:, 0], drawn)


@dataclass(frozen=True)
class Reference:
    energy: float
    exact: bool
    method: str
    ground_cells: list[list[list[int]]]  # the 2×2 cells of the degenerate ground states (constant inputs)
    ground_states: np.ndarray | None  # (G, L, L)


def sa_runs(L: int) -> int:
    """Annealing runs for an L×L reference: ``SA_RUNS`` up to L = 16, then fewer (at least 2) so that runs × L²
    stays within ``SA_SITE_RUNS`` (16 runs cost 0.75 s at L = 64, 2 runs about 0.1 s)."""
    return max(2, min(SA_RUNS, SA_SITE_RUNS // (L * L)))


@st.cache_data(show_spinner=False, max_entries=64)
def reference(J: np.ndarray, h: np.ndarray) -> Reference:
    """Exact ground energy and degenerate ground states for constant inputs. Otherwise an upper bound on the
    ground energy: the best of ``sa_runs(L)`` simulated-annealing runs (``SA_SWEEPS`` sweeps, seed 0) and of greedy
    zero-temperature descents (L sweeps) from the 16 two-periodic states, which start a painted input from the
    ground states of its constant background. ``method`` says which of the two won."""
    L = h.shape[0]
    Jt, ht = _torch(J, h, torch.float64)
    if is_constant(J, h) and L % 2 == 0:
        ex = exact_ground(Jt, ht)
        states = ex.states[0][ex.is_ground[0]]
        cells = [s[:2, :2].int().tolist() for s in states]
        return Reference(float(ex.energy[0]), True, "exact (the 16 two-periodic states)", cells, states.numpy())
    runs = sa_runs(L)
    annealed, _ = simulated_annealing(Jt, ht, torch.Generator().manual_seed(0), runs=runs, sweeps=SA_SWEEPS)
    starts = periodic2_states(L)
    Jn, hn = Jt.expand(len(starts), 2, L, L), ht.expand(len(starts), L, L)
    descended = energy(Jn, hn, greedy_descent(Jn, hn, starts, sweeps=L)).min()
    a, d = float(annealed[0]), float(descended)
    won = "both reach it" if a == d else ("annealing finds it" if a < d else "a descent finds it")
    method = (f"upper bound: best of {runs} simulated-annealing runs ({SA_SWEEPS} sweeps) and 16 greedy descents from "
              f"the two-periodic states; {won}")
    return Reference(min(a, d), False, method, [], None)


def tied_ground_states(ref: Reference) -> int:
    """How many of the 16 two-periodic states tie for the ground state of a constant input; more than two means the
    input lies exactly on a phase boundary (0 for spatially varying inputs)."""
    return len(ref.ground_cells) if ref.exact else 0


def cell_name(cell: list[list[int]]) -> str:
    arrows = {1: "↑", -1: "↓"}
    return "".join(arrows[v] for v in cell[0]) + "/" + "".join(arrows[v] for v in cell[1])


def coverage(run: VariantRun, ref: Reference) -> dict[str, int]:
    """How many of the K samples hit each degenerate ground state (constant inputs), or each distinct output."""
    counts: dict[str, int] = {}
    if ref.ground_states is not None:
        for cell, state in zip(ref.ground_cells, ref.ground_states):
            counts[cell_name(cell)] = int(np.all(run.spins == state[None], axis=(1, 2)).sum())
        counts["not a ground state"] = len(run.spins) - sum(counts.values())
        return counts
    keys: dict[bytes, int] = {}
    for s in run.spins:
        keys[s.astype(np.int8).tobytes()] = keys.get(s.astype(np.int8).tobytes(), 0) + 1
    for k, (key, c) in enumerate(sorted(keys.items(), key=lambda kv: -kv[1])):
        counts[f"state {k + 1}"] = c
    return counts


@st.cache_data(show_spinner=False, max_entries=64)
def phase_grid(hval: float, steps: int = 17) -> tuple[np.ndarray, list[str]]:
    axis = np.linspace(-2, 2, steps)
    grid = np.array([(x, y) for y in axis for x in axis])
    return grid, [phase_of(float(x), float(y), float(hval)) for x, y in grid]


def export_json(params: dict, J: np.ndarray, h: np.ndarray, runs: dict[str, VariantRun], ref: Reference) -> str:
    return json.dumps({
        "input": {**params, "J_x": J[0].tolist(), "J_y": J[1].tolist(), "h": h.tolist()},
        "reference": {"energy": ref.energy, "exact": ref.exact, "method": ref.method},
        "outputs": {v: {"spins": r.spins.astype(int).tolist(), "energies": r.energies.tolist(),
                        "elements": r.elements} for v, r in runs.items()},
    })


def element_text(d: dict) -> str:
    """A sampled group element in words."""
    parts = [POINT_NAMES[d["point"]]]
    if any(d["shift"]):
        parts.append(f"shift by ({d['shift'][0]}, {d['shift'][1]})")
    if d["sign"] == -1:
        parts.append("spin flip")
    return " · ".join(parts)


def element_from_parts(L: int, point: int, shift: tuple[int, int], flip: bool) -> LatticeElement:
    return LatticeElement(L, torch.tensor(point), torch.tensor(list(shift)) % L, torch.tensor(-1 if flip else 1))


STORY_SAMPLES = 3  # SymPE samples on the presenter's first screen


def story_figures(J: np.ndarray, h: np.ndarray, K: int, seed: int,
                  search: int = 0) -> list[tuple[figures.SpecFigure, str]]:
    """The Lattice lab's story for presenter mode (``ui.story``), as (figure, name) pairs: the input, the baseline's
    (``none``) sample 1 and SymPE's first ``STORY_SAMPLES`` samples, from the same cached runs as the page's
    section 2. A variant that is not shipped is left out (section 2 says why)."""
    L = h.shape[0]
    shown = [(figures.lattice_input_figure(J, h, title=f"Input ({L}×{L})"), "input")]
    shipped = models.shipped_variants("ising")
    for variant, samples in (("none", 1), ("sympe", min(K, STORY_SAMPLES))):
        if variant not in shipped:
            continue
        run = run_variant(variant, J, h, K, seed, models.manifest()[f"ising/{variant}"]["sha256"], search)
        for k in range(samples):
            title = "Baseline (none)" if variant == "none" else f"SymPE sample {k + 1}"
            shown.append((figures.spins_figure(run.spins[k], title=title), f"{variant}-{k + 1}"))
    return shown
