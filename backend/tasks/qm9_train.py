"""Train one QM9 diffusion variant and ship it: ``python -m backend.tasks.qm9_train --variant sympe``.

Every variant gets the same denoiser, widths, data, number of steps, batch, optimiser and seed; only the encoding
differs (``backend.tasks.qm9_diffusion``). Each step draws a batch of training molecules, one t ~ U{1..T} and one
noisy graph per molecule, and (for the sympe variants) one inversion-kernel sample of every noisy graph; with
``--draws K`` the loss is the mixture likelihood over K samples (``mixture_training_loss``; an experiment that the
shipped weights do not use). Writes
pretrained/qm9/<variant>.safetensors, the manifest entry (config, command, seed, split hash, data sizes, training
time, the small fixed-set evaluation) and a JSON-lines log in runs/qm9-<variant>-<name of the --out folder>.log.
"""
from __future__ import annotations

import argparse
import json
import math
import shlex
import time
from pathlib import Path

import torch
from tqdm import tqdm

from ..checkpoints import PRETRAINED
from ..device import select_device
from .qm9_data import load_qm9, type_marginals
from .qm9_diffusion import VARIANTS, QM9Config, QM9Denoiser, mixture_training_loss, nll_terms, training_loss
from .qm9_eval import small_eval, validity_rate
from .training import log_label, log_path, run, ship


def _batch(node_types, edge_types, num_nodes, idx, device):
    n = int(num_nodes[idx].max())
    mask = torch.arange(n).unsqueeze(0) < num_nodes[idx].unsqueeze(1)
    return node_types[idx, :n].to(device), edge_types[idx, :n, :n].to(device), mask.to(device)


def train(args) -> dict:
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = select_device(args.device)
    t0 = time.perf_counter()
    data = load_qm9(seed=args.split_seed)
    X, E, N = data.tensors("train")
    if args.num_train:
        X, E, N = X[: args.num_train], E[: args.num_train], N[: args.num_train]
    val_rows = torch.randperm(len(data.split["val"]), generator=torch.Generator().manual_seed(0))[: args.num_val]
    Xv, Ev, Nv = (t[val_rows] for t in data.tensors("val"))
    node_m, edge_m, sizes = type_marginals(data, "train")
    data_seconds = time.perf_counter() - t0

    config = QM9Config(variant=args.variant, T=args.T, hidden=args.hidden, hidden_edge=args.hidden_edge,
                       hidden_global=args.hidden_global, num_layers=args.layers, num_heads=args.heads,
                       encoding_dim=args.encoding_dim, node_marginal=node_m.tolist(), edge_marginal=edge_m.tolist(),
                       size_distribution=sizes.tolist(), structural_features=not args.no_structural_features,
                       cycle_features=not args.no_cycle_features)
    model = QM9Denoiser(config).to(device)
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    warmup = max(1, args.steps // 50)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / warmup) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(s, args.steps) / args.steps))))
    gen = torch.Generator().manual_seed(args.seed + 1)

    log_file = log_path(args.log, f"qm9-{args.variant}-{Path(args.out).name}.log")
    start = time.perf_counter()
    with open(log_file, "w") as log, tqdm(range(args.steps), desc=f"qm9/{args.variant}", mininterval=5) as bar:
        log.write(json.dumps({"config": config.to_dict(), "argv": args.argv, "data_seconds": round(data_seconds, 1),
                              "train": len(N), "split_hash": data.split_hash}) + "\n")
        for step in bar:
            model.train()
            idx = torch.randint(len(N), (args.batch,), generator=gen)
            x0, e0, mask = _batch(X, E, N, idx, device)
            if args.draws > 1:
                loss, parts = mixture_training_loss(model, x0, e0, mask, gen, draws=args.draws)
            else:
                loss, parts = training_loss(model, x0, e0, mask, gen)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            optimiser.step()
            schedule.step()
            if step % 50 == 0 or step == args.steps - 1:
                bar.set_postfix(loss=f"{loss.item():.3f}")
                record = {"step": step, "loss": round(loss.item(), 4), **{k: round(v, 4) for k, v in parts.items()},
                          "lr": schedule.get_last_lr()[0], "seconds": round(time.perf_counter() - start, 1)}
                if args.eval_every and step > 0 and (step % args.eval_every == 0 or step == args.steps - 1):
                    model.eval()
                    vgen = torch.Generator().manual_seed(0)
                    x0, e0, mask = _batch(Xv, Ev, Nv, torch.arange(len(Nv)), device)
                    record["val_nll"] = round(float(nll_terms(model, x0, e0, mask, vgen)["nll"].mean()), 3)
                    record["val_validity"] = round(validity_rate(model, 128, vgen), 3)
                    bar.write(f"step {step}: val nll {record['val_nll']}, validity {record['val_validity']}")
                log.write(json.dumps(record) + "\n")
                log.flush()
    seconds = time.perf_counter() - start
    model.cpu().eval()
    record = {
        "experiment": "qm9",
        "variant": args.variant,
        "config": config.to_dict(),
        "command": "python -m backend.tasks.qm9_train " + " ".join(shlex.quote(a) for a in args.argv),
        "seed": args.seed,
        "data": {"source": "qm9pack wheel (QM9 SMILES), RDKit, kekulized, heavy atoms", "train": len(N),
                 "molecules": len(data), "skipped": data.skipped, "split_seed": args.split_seed,
                 "split_hash": data.split_hash, "split_sizes": {k: len(v) for k, v in data.split.items()}},
        "training": {"steps": args.steps, "batch": args.batch, "lr": args.lr, "clip": args.clip,
                     "weight_decay": args.weight_decay,
                     "schedule": "linear warm-up (2%) then cosine to 5% of lr", "optimiser": "AdamW",
                     "loss": "CE nodes + 5 * CE pairs (t ~ U{1..T})" if args.draws == 1 else
                             f"mixture over {args.draws} encoding draws: -log mean_k exp(sum log p_h_k(x_i) + 5 * sum log p_h_k(e_ij)) per atom (t ~ U{{1..T}})",
                     "draws": args.draws,
                     "seconds": round(seconds, 1), "threads": args.threads, "device": str(device),
                     "torch": torch.__version__,
                     "log": log_label(log_file)},
        "small_eval": small_eval(model),
    }
    return ship(model, f"qm9/{args.variant}", record, root=Path(args.out), save=not args.no_save)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m backend.tasks.qm9_train", description=__doc__.splitlines()[0])
    p.add_argument("--variant", choices=VARIANTS, required=True)
    p.add_argument("--steps", type=int, default=16000)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=1e-12)
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--T", type=int, default=100, help="diffusion steps")
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--hidden-edge", type=int, default=32)
    p.add_argument("--hidden-global", type=int, default=32)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--encoding-dim", type=int, default=8)
    p.add_argument("--no-structural-features", action="store_true", help="ablation: zero the walk, degree and triangle features")
    p.add_argument("--no-cycle-features", action="store_true", help="zero the closed-walk and triangle features, keep degree and valence")
    p.add_argument("--draws", type=int, default=1,
                   help="encoding draws per molecule: 1 = per-atom cross-entropy, K > 1 = the mixture likelihood over K draws")
    p.add_argument("--num-train", type=int, default=0, help="use only the first N training molecules (0: all)")
    p.add_argument("--num-val", type=int, default=512, help="validation molecules (a seeded random subset) for the NLL and validity in the log; logging only")
    p.add_argument("--eval-every", type=int, default=1000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split-seed", type=int, default=0)
    p.add_argument("--device", default=None)
    p.add_argument("--log", default=None, help="JSON-lines log (default runs/qm9-<variant>-<name of the --out folder>.log)")
    p.add_argument("--out", default=str(PRETRAINED), help="folder for weights and manifest")
    p.add_argument("--no-save", action="store_true", help="train and report without writing weights or the manifest")
    return p


def main(argv: list[str] | None = None) -> int:
    return run(build_parser, train, argv)


if __name__ == "__main__":
    raise SystemExit(main())
