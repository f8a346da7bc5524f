"""Evaluate the shipped QM9 diffusion variants: ``python -m backend.tasks.qm9.evaluate [--write-manifest]``.

For every variant, on the seeded test split (``backend.tasks.qm9.data``) and on molecules sampled from the prior:

- NLL: the variational bound in nats per molecule (``qm9_diffusion.nll_terms``, one t per molecule), averaged over
  the whole test split, with two estimators: the exact KL for one encoding draw, and the estimate against the
  model's actual reverse step, the mixture over ``--mixture-draws`` K encoding draws (default 8), with the mixture
  gain, the part of the bound that the mixture saves over the average single draw. t and the noisy graphs come
  from a generator seeded 0 and the encodings from one seeded 1, so every variant sees the same t and z_t, and
  the difference to ``none`` is reported with a paired standard error;
- ``--num`` sampled molecules (default 1000, generator seed 0, all T denoising steps): validity % (RDKit sanitizes
  the graph and it is connected, ``qm9_data.graph_to_smiles``), uniqueness % among valid (distinct canonical
  SMILES / valid), novelty % among unique valid (not in the training split), and the total-variation distances
  between the generated and the test split's atom-type distribution and bond-type distribution (over present
  bonds), plus the sampling wall time;
- the symmetry view: the fraction of denoising steps whose noisy input graph (atom and bond types as colours)
  has a nontrivial automorphism group, averaged over the sampled molecules.

``--trajectories K`` also writes pretrained/qm9/trajectories/<variant>.json: K single-molecule denoising
trajectories (generator seeds 0..K-1) for the app to animate without sampling live.
"""
from __future__ import annotations

import argparse
import json
import time
from functools import lru_cache

import torch
from tqdm import tqdm

from ...canonical import canonicalize_dense
from ...checkpoints import PRETRAINED
from ...encodings import NONE
from ..evaluation import evaluation_main
from .data import ATOM_TYPES, BOND_TYPES, N_MAX, dense_to_graph, graph_to_smiles, load_qm9, smiles_to_graph
from .model import VARIANTS, QM9Denoiser, Sample, load_qm9_model, nll_terms, sample_molecules

__all__ = ["small_eval_set", "small_eval", "validity_rate", "sample_metrics", "nll_per_molecule", "evaluate",
           "paired_differences", "markdown_table", "trajectories", "graphs_to_batch", "mean_sem"]

SMALL_SET = PRETRAINED / "qm9" / "small_eval_set.json"
SMALL_NLL_MOLECULES = 256
SMALL_SAMPLES = 64
TRAJECTORIES = PRETRAINED / "qm9" / "trajectories"


def graphs_to_batch(graphs: list[tuple[list[int], list[tuple[int, int, int]]]]):
    """Padded (node_types (B, n), edge_types (B, n, n), mask (B, n)) of a list of (atom types, bonds)."""
    n = max(len(a) for a, _ in graphs)
    X = torch.zeros(len(graphs), n, dtype=torch.long)
    E = torch.zeros(len(graphs), n, n, dtype=torch.long)
    mask = torch.zeros(len(graphs), n, dtype=torch.bool)
    for b, (atoms, bonds) in enumerate(graphs):
        X[b, : len(atoms)] = torch.tensor(atoms)
        mask[b, : len(atoms)] = True
        for u, v, order in bonds:
            E[b, u, v] = E[b, v, u] = order
    return X, E, mask


def small_eval_set() -> list[str]:
    """SMILES of the first SMALL_NLL_MOLECULES molecules of the test split (stored in pretrained/qm9 once, so the
    checkpoint tests need no QM9 processing)."""
    if not SMALL_SET.exists():
        data = load_qm9()
        rows = data.split["test"][:SMALL_NLL_MOLECULES].tolist()
        SMALL_SET.parent.mkdir(parents=True, exist_ok=True)
        SMALL_SET.write_text(json.dumps({"split_hash": data.split_hash, "qm9_index": [int(data.qm9_index[r]) for r in rows],
                                         "smiles": [data.smiles[r] for r in rows]}, indent=0) + "\n")
    return json.loads(SMALL_SET.read_text())["smiles"]


def _molecules(smiles: list[str]):
    graphs = [smiles_to_graph(s) for s in smiles]
    if any(g is None for g in graphs):
        raise ValueError("the small evaluation set holds a SMILES that does not parse")
    return graphs_to_batch(graphs)


def _sample_smiles(sample: Sample) -> list[str | None]:
    return [graph_to_smiles(*dense_to_graph(sample.node_types[b], sample.edge_types[b], int(sample.num_nodes[b])))
            for b in range(len(sample.num_nodes))]


@torch.no_grad()
def validity_rate(model: QM9Denoiser, num: int, generator: torch.Generator, steps: int | None = None) -> float:
    sample = sample_molecules(model, num, generator, steps, track_symmetry=False)
    smiles = _sample_smiles(sample)
    return sum(s is not None for s in smiles) / num


@torch.no_grad()
def small_eval(model: QM9Denoiser) -> dict:
    """The checkpoint tests' numbers: mean NLL of the small set (generator seed 0) and the validity of
    SMALL_SAMPLES molecules sampled with all T steps (generator seed 1)."""
    X, E, mask = _molecules(small_eval_set())
    nll = float(nll_terms(model, X, E, mask, torch.Generator().manual_seed(0))["nll"].mean())
    validity = validity_rate(model, SMALL_SAMPLES, torch.Generator().manual_seed(1))
    return {"molecules": len(X), "nll": round(nll, 4), "samples": SMALL_SAMPLES, "validity": round(validity, 4)}


def _type_histograms(X: torch.Tensor, E: torch.Tensor, num_nodes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    real = torch.arange(X.shape[1]) < num_nodes[:, None]
    upper = real[:, :, None] & real[:, None, :] & torch.ones(X.shape[1], X.shape[1], dtype=torch.bool).triu(1)
    atoms = torch.bincount(X[real], minlength=len(ATOM_TYPES)).double()
    bonds = torch.bincount(E[upper], minlength=len(BOND_TYPES)).double()[1:]
    return atoms / atoms.sum().clamp(min=1), bonds / bonds.sum().clamp(min=1)


def sample_metrics(sample: Sample, train_smiles: set[str], reference: tuple[torch.Tensor, torch.Tensor]) -> dict:
    smiles = _sample_smiles(sample)
    valid = [s for s in smiles if s is not None]
    unique = set(valid)
    atoms, bonds = _type_histograms(sample.node_types, sample.edge_types, sample.num_nodes)
    return {
        "samples": len(smiles),
        "validity_pct": 100.0 * len(valid) / len(smiles),
        "uniqueness_pct": 100.0 * len(unique) / max(len(valid), 1),
        "novelty_pct": 100.0 * len(unique - train_smiles) / max(len(unique), 1),
        "atom_tv": 0.5 * float((atoms - reference[0]).abs().sum()),
        "bond_tv": 0.5 * float((bonds - reference[1]).abs().sum()),
        "symmetric_step_fraction": float((sample.symmetric_steps.double() / sample.steps).mean()),
        "smiles": smiles,
    }


@torch.no_grad()
def nll_per_molecule(model: QM9Denoiser, X, E, N, mixture_draws: int = 0, batch: int = 1024) -> dict[str, torch.Tensor]:
    """Per-molecule NLL bound (``nll_terms``) of every molecule: t and the noisy graphs from a generator seeded 0,
    the encodings from another seeded 1, so every variant sees the same t and z_t (paired comparisons). Runs on the
    model's device and returns CPU tensors (B,): ``nll`` and the mixture gain ``gain`` (0 without mixture draws)."""
    gen, enc_gen = torch.Generator().manual_seed(0), torch.Generator().manual_seed(1)
    device = model.alpha_bar.device
    out = []
    for i in tqdm(range(0, len(N), batch), desc=f"{model.config.variant}: NLL", leave=False):
        n = int(N[i: i + batch].max())
        mask = torch.arange(n) < N[i: i + batch, None]
        Xb, Eb = X[i: i + batch, :n], E[i: i + batch, :n, :n]
        terms = nll_terms(model, Xb.to(device), Eb.to(device), mask.to(device), gen,
                          encoding_generator=enc_gen, mixture_draws=mixture_draws)
        out.append({k: terms[k].cpu() for k in ("nll", "gain")})
    return {k: torch.cat([o[k] for o in out]) for k in ("nll", "gain")}


def _pad_nodes(t: torch.Tensor) -> torch.Tensor:
    """Zero-pad the node axes of (B, n) or (B, n, n) class indices to N_MAX."""
    return torch.nn.functional.pad(t, (0, N_MAX - t.shape[-1]) * (t.dim() - 1))


def mean_sem(x: torch.Tensor) -> tuple[float, float]:
    """The mean of a per-molecule tensor (B,) and its standard error (sample standard deviation / √B)."""
    return float(x.mean()), float(x.std() / len(x) ** 0.5)


@torch.no_grad()
def evaluate(variant: str, num: int = 1000, batch: int = 500, mixture_draws: int = 8, data=None) -> dict:
    """Every metric of the module docstring for one shipped variant. The per-molecule NLLs are returned under
    ``_nll`` and ``_nll_mixture`` (for paired differences; not written to the manifest)."""
    model = load_qm9_model(variant)
    data = load_qm9() if data is None else data
    Xt, Et, Nt = data.tensors("test")
    start = time.perf_counter()
    nll = nll_per_molecule(model, Xt, Et, Nt)["nll"]
    mixture = nll_per_molecule(model, Xt, Et, Nt, mixture_draws)
    nll_mix = mixture["nll"]
    nll_seconds = time.perf_counter() - start

    gen = torch.Generator().manual_seed(0)
    parts = []
    start = time.perf_counter()
    with tqdm(total=num, desc=f"{variant}: sampling", leave=False) as bar:
        for i in range(0, num, batch):
            parts.append(sample_molecules(model, min(batch, num - i), gen))
            bar.update(min(batch, num - i))
    seconds = time.perf_counter() - start
    sample = Sample(torch.cat([_pad_nodes(p.node_types) for p in parts]), torch.cat([_pad_nodes(p.edge_types) for p in parts]),
                    torch.cat([p.num_nodes for p in parts]), torch.cat([p.symmetric_steps for p in parts]), parts[0].steps)
    metrics = sample_metrics(sample, data.train_smiles(), _type_histograms(Xt, Et, Nt))
    smiles = metrics.pop("smiles")
    return {
        "test_nll": mean_sem(nll)[0],
        "test_nll_sem": mean_sem(nll)[1],
        "test_nll_mixture": mean_sem(nll_mix)[0],
        "test_nll_mixture_sem": mean_sem(nll_mix)[1],
        "mixture_draws": mixture_draws,
        "test_mixture_gain": mean_sem(mixture["gain"])[0],
        "test_mixture_gain_sem": mean_sem(mixture["gain"])[1],
        "test_molecules": len(nll),
        "nll_seconds": round(nll_seconds, 1),
        **metrics,
        "sampling_seconds": round(seconds, 1),
        "sampling_steps": sample.steps,
        "example_smiles": [s for s in smiles if s is not None][:12],
        "_nll": nll,
        "_nll_mixture": nll_mix,
    }


@torch.no_grad()
def trajectories(model: QM9Denoiser, seeds: int) -> list[dict]:
    """``seeds`` single-molecule trajectories (generator seed k): for every visited t the atom types, the bonds
    (u, v, order) and |Aut| of the noisy graph, then the SMILES of the result (None if invalid)."""
    out = []
    for seed in range(seeds):
        sample = sample_molecules(model, 1, torch.Generator().manual_seed(seed), keep_trajectory=True, track_symmetry=False)
        n = int(sample.num_nodes[0])
        steps = []
        for t, X, E in sample.trajectory:
            atoms, bonds = dense_to_graph(X[0], E[0], n)
            form = canonicalize_dense((E[0] > 0).float(), n, atoms, E[0])
            steps.append({"t": t, "atoms": atoms, "bonds": [list(b) for b in bonds], "aut": str(form.automorphism_group_order)})
        atoms, bonds = dense_to_graph(sample.node_types[0], sample.edge_types[0], n)
        out.append({"seed": seed, "n": n, "smiles": graph_to_smiles(atoms, bonds), "steps": steps})
    return out


def paired_differences(results: dict[str, dict]) -> None:
    """Add, for every variant but ``none``, the mean per-molecule NLL difference to ``none`` (same t and z_t) with
    its standard error, for both estimators; drop the per-molecule tensors."""
    base = results.get(NONE.name)
    for v, r in results.items():
        if base is not None and v != NONE.name:
            for key in ("nll", "nll_mixture"):
                mean, sem = mean_sem(r[f"_{key}"] - base[f"_{key}"])
                r[f"test_{key}_minus_none"], r[f"test_{key}_minus_none_sem"] = mean, sem
    for r in results.values():
        r.pop("_nll", None)
        r.pop("_nll_mixture", None)


def markdown_table(results: dict[str, dict]) -> str:
    def diff(r: dict, key: str) -> str:
        d = r.get(f"test_{key}_minus_none")
        return "" if d is None else f" ({d:+.2f} ± {r[f'test_{key}_minus_none_sem']:.2f})"

    head = ("| variant | test NLL, one draw (vs none) | test NLL, mixture of K draws (vs none) | mixture gain | validity % | "
            "uniqueness % | novelty % | atom TV | bond TV | symmetric steps % | sampling s |\n" + "|---" * 11 + "|\n")
    rows = [
        f"| {v} | {r['test_nll']:.2f} ± {r['test_nll_sem']:.2f}{diff(r, 'nll')} | "
        f"{r['test_nll_mixture']:.2f} ± {r['test_nll_mixture_sem']:.2f}{diff(r, 'nll_mixture')} | "
        f"{r['test_mixture_gain']:.5f} ± {r['test_mixture_gain_sem']:.5f} | {r['validity_pct']:.1f} | {r['uniqueness_pct']:.1f} | "
        f"{r['novelty_pct']:.1f} | {r['atom_tv']:.3f} | {r['bond_tv']:.3f} | {100 * r['symmetric_step_fraction']:.1f} | "
        f"{r['sampling_seconds']:.0f} |"
        for v, r in results.items()
    ]
    return head + "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    def options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--num", type=int, default=1000, help="molecules sampled per variant (100 with --quick)")
        p.add_argument("--trajectories", type=int, default=0, help="trajectories to save per variant")
        p.add_argument("--mixture-draws", type=int, default=8, help="encoding draws K of the mixture NLL estimate")

    def evaluate_variant(variant: str, args: argparse.Namespace) -> dict:
        result = evaluate(variant, 100 if args.quick else args.num, mixture_draws=args.mixture_draws, data=_data())
        if args.trajectories:
            TRAJECTORIES.mkdir(parents=True, exist_ok=True)
            (TRAJECTORIES / f"{variant}.json").write_text(json.dumps(trajectories(load_qm9_model(variant), args.trajectories)) + "\n")
        return result

    return evaluation_main("backend.tasks.qm9.evaluate", "qm9", VARIANTS, evaluate_variant, markdown_table, argv,
                           add_options=options, description=__doc__.splitlines()[0], threads=2, finish=paired_differences)


@lru_cache(maxsize=1)
def _data():
    return load_qm9()


if __name__ == "__main__":
    raise SystemExit(main())
