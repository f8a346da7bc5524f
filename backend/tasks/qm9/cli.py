"""``python -m backend sample qm9``: generate molecules with a shipped QM9 diffusion model.

    --variant sympe       none | noise | sympe | sympe-edges
    --num 8               molecules (1..1000)
    --steps T             denoising steps, 1..T (default: all T of the model; fewer skip evenly)
    --seed 0              generator seed (sizes, noise, inversion-kernel samples)
    --trajectory          also print every intermediate noisy graph (at most 16 molecules)

Output JSON: variant, seed, steps, validity (fraction of valid molecules), and per molecule the SMILES (null when
invalid: RDKit cannot sanitize it or it is disconnected), ``valid``, the atoms (symbols), the bonds (u, v, order),
the number of denoising steps whose noisy graph had a nontrivial automorphism group and, with --trajectory, the
list of (t, atoms, bonds) from t = T to 0. Bad options give one line on stderr and exit code 2.
"""
from __future__ import annotations

import torch

from ...checkpoints import CheckpointError
from ...options import UsageError, bounded, integer_option
from .data import ATOM_TYPES, dense_to_graph, graph_to_smiles
from .model import VARIANTS, load_qm9_model, sample_molecules

MAX_NUM, MAX_TRAJECTORY_NUM = 1000, 16


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("qm9", help="sample molecules from the QM9 diffusion model")
    p.add_argument("--variant", choices=VARIANTS, default="sympe")
    p.add_argument("--num", type=str, default="8")
    p.add_argument("--steps", type=str, default=None)
    p.add_argument("--seed", type=bounded("seed", 0, 2**63 - 1), default=0)
    p.add_argument("--trajectory", action="store_true")
    p.set_defaults(handler=run)


def run(args) -> dict:
    num = integer_option("num", args.num, 1, MAX_TRAJECTORY_NUM if args.trajectory else MAX_NUM)
    seed = args.seed
    try:
        model = load_qm9_model(args.variant)
    except CheckpointError as e:
        raise UsageError(f"model qm9/{args.variant} is not available: {e}") from None
    T = model.config.T
    steps = T if args.steps is None else integer_option("steps", args.steps, 1, T)
    sample = sample_molecules(model, num, torch.Generator().manual_seed(seed), steps, keep_trajectory=args.trajectory)
    molecules = []
    for b in range(num):
        n = int(sample.num_nodes[b])
        atoms, bonds = dense_to_graph(sample.node_types[b], sample.edge_types[b], n)
        smiles = graph_to_smiles(atoms, bonds)
        record = {"smiles": smiles, "valid": smiles is not None, "atoms": [ATOM_TYPES[a] for a in atoms],
                  "bonds": [list(e) for e in bonds], "symmetric_steps": int(sample.symmetric_steps[b])}
        if args.trajectory:
            record["trajectory"] = []
            for t, X, E in sample.trajectory:
                a, e = dense_to_graph(X[b], E[b], n)
                record["trajectory"].append({"t": t, "atoms": [ATOM_TYPES[k] for k in a], "bonds": [list(x) for x in e]})
        molecules.append(record)
    return {"variant": args.variant, "seed": seed, "steps": sample.steps, "T": T, "num": num,
            "validity": sum(m["valid"] for m in molecules) / num, "molecules": molecules}
