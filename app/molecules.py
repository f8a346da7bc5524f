"""The Molecule lab: generation trajectories of the trained QM9 diffusion models, and a model-free forward process.

With the shipped QM9 denoisers (``backend.tasks.qm9.model``) a trajectory is either one of the saved ones
(pretrained/qm9/trajectories/<variant>.json, written by the evaluation script) or sampled live. Without any model,
the page still shows what is exact and needs no weights: the *forward* process of discrete diffusion on a molecule graph (node types C, N, O, F; edge types none,
single, double, triple), either absorbing (every entry is replaced by a MASK type with probability 1 - ᾱ_t) or
uniform (every entry is resampled uniformly with probability 1 - ᾱ_t), on a cosine schedule. Played backwards it shows
what a denoiser faces: it starts from a highly symmetric state and has to break that symmetry. For every step the
order of the automorphism group of the noisy coloured graph is computed (atom and bond types as colours; once per
distinct graph) and one inversion-kernel sample h is shown: in a live generation by a SymPE variant the h its
denoiser drew at that step, otherwise one drawn here, as SymPE would at that step.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
import streamlit as st
import torch

from backend.canonical import GraphCanonicalForm, canonicalize_graph
from backend.tasks.qm9.data import ATOM_TYPES, BOND_TYPES, dense_to_graph, graph_to_smiles
from backend.tasks.qm9.evaluate import TRAJECTORIES
from backend.tasks.qm9.model import cosine_alpha_bar, sample_molecules

from . import figures, models

MASK = "?"

# Heavy-atom graphs (hydrogens dropped, rings kekulized): atoms and (u, v, bond order).
MOLECULES: dict[str, tuple[tuple[str, ...], tuple[tuple[int, int, int], ...]]] = {
    "Benzene": (("C",) * 6, ((0, 1, 2), (1, 2, 1), (2, 3, 2), (3, 4, 1), (4, 5, 2), (5, 0, 1))),
    "Cyclohexane": (("C",) * 6, tuple((i, (i + 1) % 6, 1) for i in range(6))),
    "Pyrazine": (("N", "C", "C", "N", "C", "C"), ((0, 1, 2), (1, 2, 1), (2, 3, 2), (3, 4, 1), (4, 5, 2), (5, 0, 1))),
    "Cubane": (("C",) * 8, ((0, 1, 1), (1, 2, 1), (2, 3, 1), (3, 0, 1), (4, 5, 1), (5, 6, 1), (6, 7, 1), (7, 4, 1),
                            (0, 4, 1), (1, 5, 1), (2, 6, 1), (3, 7, 1))),
    "Neopentane": (("C",) * 5, ((0, 1, 1), (0, 2, 1), (0, 3, 1), (0, 4, 1))),
    "Acetone": (("C", "C", "O", "C"), ((0, 1, 1), (1, 2, 2), (1, 3, 1))),
    "Trifluoroacetonitrile": (("F", "F", "F", "C", "C", "N"), ((0, 3, 1), (1, 3, 1), (2, 3, 1), (3, 4, 1), (4, 5, 3))),
}


@dataclass(frozen=True)
class Step:
    """One frame: the noisy graph at time t, the order of its automorphism group as a coloured graph (atom and bond
    types as colours) and one inversion-kernel sample h (h[k] = the atom at canonical position k). ``orbits``, the
    number of orbits of that group on the atoms, is computed when first read (the player shows one frame at a time)."""
    t: int
    atoms: tuple[str, ...]  # atom type or MASK
    bonds: tuple[tuple[int, int, str], ...]  # present (non-"none") pairs u < v with their type or MASK
    aut_order: int
    h: tuple[int, ...]

    @cached_property
    def orbits(self) -> int:
        return len(_form(self.atoms, self.bonds).orbits)


_NODE_TYPES = {a: k for k, a in enumerate(ATOM_TYPES + (MASK,))}
_EDGE_TYPES = {b: k for k, b in enumerate(BOND_TYPES + (MASK,))}


def _form(atoms: tuple[str, ...], bonds: tuple[tuple[int, int, str], ...]) -> GraphCanonicalForm:
    return _coloured_form(len(atoms), tuple(_NODE_TYPES[a] for a in atoms), tuple((u, v) for u, v, _ in bonds),
                          tuple(_EDGE_TYPES[b] for _, _, b in bonds))


def _step(t: int, atoms: tuple[str, ...], bonds: tuple[tuple[int, int, str], ...], seed: int,
          h: tuple[int, ...] | None = None) -> Step:
    """The frame of the coloured graph (atoms, bonds) at time t, with the given h or, when None, one drawn from
    ``seed``."""
    form = _form(atoms, bonds)
    if h is None:
        h = tuple(form.sample(1, torch.Generator().manual_seed(seed))[0].tolist())
    return Step(t, atoms, bonds, form.automorphism_group_order, h)


@lru_cache(maxsize=4096)
def _coloured_form(n: int, node_colors: tuple[int, ...], edges: tuple[tuple[int, int], ...],
                   edge_colors: tuple[int, ...]) -> GraphCanonicalForm:
    """The canonical form of a coloured graph, shared by the frames that repeat it (a generation trajectory of 101
    frames has about 45 distinct graphs, and the fully masked ones recur in every trajectory). Read-only."""
    return canonicalize_graph(n, list(edges), list(node_colors), list(edge_colors))


@st.cache_data(show_spinner=False, max_entries=64)
def trajectory(name: str, process: str, T: int, seed: int) -> list[Step]:
    """Steps t = 0..T of the forward process (t = 0 is the molecule), sampled as a Markov chain from ``seed``."""
    atoms0, bonds0 = MOLECULES[name]
    n = len(atoms0)
    rng = np.random.default_rng(seed)
    atoms = list(atoms0)
    pairs = {(u, v): "none" for u in range(n) for v in range(u + 1, n)}
    for u, v, order in bonds0:
        pairs[(min(u, v), max(u, v))] = BOND_TYPES[order]

    def frame(t: int) -> Step:
        return _step(t, tuple(atoms), tuple((u, v, b) for (u, v), b in pairs.items() if b != "none"), seed + t)

    steps = [frame(0)]
    alpha_bar = cosine_alpha_bar(T).tolist()  # the models' schedule; ᾱ_T = 0, so the last step reaches pure noise
    for t in range(1, T + 1):
        keep = alpha_bar[t] / alpha_bar[t - 1]  # α_t
        for i in range(n):
            if rng.random() >= keep:
                atoms[i] = MASK if process == "absorbing" else ATOM_TYPES[rng.integers(len(ATOM_TYPES))]
        for key in pairs:
            if rng.random() >= keep:
                pairs[key] = MASK if process == "absorbing" else BOND_TYPES[rng.integers(len(BOND_TYPES))]
        steps.append(frame(t))
    return steps


def _steps_from_graphs(frames: list[tuple[int, list[int], list[tuple[int, int, int]]]], seed: int,
                       drawn: dict[int, tuple[int, ...]] | None = None) -> list[Step]:
    """Steps in increasing t (index 0 = the generated molecule) from (t, atom types, bonds) frames; the frame at time
    t shows ``drawn[t]`` as its h when given (the h the denoiser drew at that step), else one drawn from seed + t."""
    drawn = drawn or {}
    out = []
    for t, atoms, bonds in sorted(frames, key=lambda f: f[0]):
        pairs = {(min(u, v), max(u, v)): BOND_TYPES[b] for u, v, b in bonds}
        out.append(_step(t, tuple(ATOM_TYPES[a] for a in atoms), tuple((u, v, b) for (u, v), b in pairs.items()),
                         seed + t, drawn.get(t)))
    return out


@st.cache_resource(show_spinner=False, max_entries=16)
def saved_trajectories(variant: str, sha256: str) -> list[dict]:
    """The saved trajectories of a shipped variant ([] when the file is missing or unreadable). Shared and read-only:
    every rerun of the page asks for them (live mode too, to offer the choice), where st.cache_data would unpickle a
    copy of the whole file each time."""
    try:
        return json.loads((TRAJECTORIES / f"{variant}.json").read_text())
    except (OSError, ValueError):
        return []


def saved_trajectory(record: dict) -> tuple[list[Step], str | None]:
    frames = [(s["t"], s["atoms"], [tuple(b) for b in s["bonds"]]) for s in record["steps"]]
    return _steps_from_graphs(frames, record["seed"]), record.get("smiles")


@st.cache_data(show_spinner=False, max_entries=32)
def live_trajectory(variant: str, sha256: str, seed: int, steps: int) -> tuple[list[Step], str | None]:
    """One molecule sampled now by the shipped model (generator seed ``seed``), with every intermediate graph. Each
    frame the model denoised shows the h it drew there (a SymPE variant's ``Sample.elements``); the others (the
    molecule, and every frame of a variant that draws none) show one drawn from seed + t."""
    with torch.inference_mode():
        sample = sample_molecules(models.qm9_sampler(variant), 1, torch.Generator().manual_seed(seed), steps, keep_trajectory=True,
                                  track_symmetry=False)
    n = int(sample.num_nodes[0])
    frames = [(t, *dense_to_graph(X[0], E[0], n)) for t, X, E in sample.trajectory]
    drawn = {t: tuple(h[0, :n].tolist()) for (t, _, _), h in zip(sample.trajectory, sample.elements or [])}
    return _steps_from_graphs(frames, seed, drawn), graph_to_smiles(*dense_to_graph(sample.node_types[0], sample.edge_types[0], n))


@st.cache_data(show_spinner=False, max_entries=16)
def compare_variants(versions: tuple[tuple[str, str], ...], seed: int, num: int) -> list[dict]:
    """``num`` molecules from every shipped variant, each from a generator seeded with ``seed``: validity,
    uniqueness among valid, the share of symmetric denoising steps and a few SMILES."""
    rows = []
    for variant, _ in versions:
        with torch.inference_mode():
            sample = sample_molecules(models.qm9_sampler(variant), num, torch.Generator().manual_seed(seed))
        smiles = [graph_to_smiles(*dense_to_graph(sample.node_types[b], sample.edge_types[b], int(sample.num_nodes[b])))
                  for b in range(num)]
        valid = [s for s in smiles if s is not None]
        rows.append({
            "variant": variant,
            "valid %": round(100 * len(valid) / num, 1),
            "unique % of valid": round(100 * len(set(valid)) / max(len(valid), 1), 1),
            "symmetric steps %": round(100 * float((sample.symmetric_steps.double() / sample.steps).mean()), 1),
            "molecules (invalid = ✗)": " ".join(s if s is not None else "✗" for s in smiles),
        })
    return rows


@st.cache_data(show_spinner=False, max_entries=64)
def depiction_svg(smiles: str, width: int = 320, height: int = 240) -> str | None:
    """RDKit's 2D drawing (SVG text) of a SMILES that this app generated, or None when RDKit cannot parse it."""
    from rdkit import Chem
    from rdkit.Chem.Draw import rdMolDraw2D

    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return None
    drawer = rdMolDraw2D.MolDraw2DSVG(width, height)
    drawer.DrawMolecule(mol)
    drawer.FinishDrawing()
    return drawer.GetDrawingText()


def symmetric_fraction(steps: list[Step]) -> float:
    return sum(s.aut_order > 1 for s in steps) / len(steps)


def story_steps(steps: list[Step]) -> list[Step]:
    """The steps the presenter's story shows, in generation order: pure noise (t = T), the last state more symmetric
    than the molecule (the smallest t > 0 whose |Aut| exceeds the molecule's: symmetry the denoiser still has to
    break; halfway when there is none) and the molecule (t = 0)."""
    late = next((s for s in steps[1:-1] if s.aut_order > steps[0].aut_order), steps[len(steps) // 2])
    return [steps[-1], late, steps[0]]


def story_figures(steps: list[Step], pos: np.ndarray, generated: bool) -> list[tuple[figures.SpecFigure, str]]:
    """The Molecule lab's story for presenter mode (``ui.story``), as (figure, name) pairs: the ``story_steps`` of
    the page's trajectory (``steps``: index 0 is t = 0) drawn at the page's layout ``pos``, titled with t and |Aut|;
    ``generated``: the trajectory is a model's generation (otherwise the forward noising of a known molecule)."""
    noise, late, molecule = story_steps(steps)
    titles = {"noise": f"Noise (t = {noise.t})", "late": f"t = {late.t}",
              "molecule": "Generated" if generated else "Molecule"}
    return [(figures.molecule_figure(pos, step.atoms, step.bonds, title=f"{titles[name]}: |Aut| = {step.aut_order:,}"),
             name) for name, step in zip(titles, (noise, late, molecule))]
