"""Train one graph-autoencoder variant and ship it: ``python -m backend.tasks.graph_ae_train --variant sympe``.

Every variant gets the same backbone, widths, data, number of steps, optimiser and seed. One model per variant
is trained on the union of the three training sets: Community-Small (5000), Erdős–Rényi (5000) and the
symmetric set's training families and sizes; each step draws a batch from the mixture (weights
``--mix``: Community-Small, Erdős–Rényi, symmetric). For ``sympe`` the canonical forms of the fixed training set
are computed once (BLISS) and a fresh inversion-kernel sample per graph is drawn at every step from the stored
form. The loss is the binary cross-entropy of every off-diagonal pair of real nodes. Writes
pretrained/graph_ae/<variant>.safetensors, the manifest entry (config, command, seed, data sizes, training time,
small fixed-set metrics) and a JSON-lines log in runs/graph_ae-<variant>.log.
"""
from __future__ import annotations

import argparse
import json
import math
import shlex
import time

import torch
import torch.nn.functional as F
from tqdm import tqdm

from ..device import select_device
from ..groups import Permutation
from .graph_ae import (
    VARIANTS,
    GraphAE,
    GraphAEConfig,
    GraphSet,
    aggregate,
    load_split,
    reconstruct,
    sympe_elements,
)
from .graph_ae_eval import small_eval
from .training import log_label, log_path, run, ship


def training_data(num_train: int) -> list[GraphSet]:
    sets = [load_split("community-small", "train", num_train), load_split("erdos-renyi", "train", num_train),
            load_split("symmetric", "train")]
    return sets


def validation_data(num_val: int) -> dict[str, GraphSet]:
    return {name: load_split(name, "val", num_val if name != "symmetric" else None)
            for name in ("community-small", "erdos-renyi", "symmetric")}


def train(args) -> dict:
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = select_device(args.device)
    t0 = time.perf_counter()
    sets = training_data(args.num_train)
    train_set = GraphSet.concat("train", sets).canonicalize()
    val_sets = validation_data(args.num_val)
    data_seconds = time.perf_counter() - t0
    weights = torch.cat([torch.full((len(s),), w / len(s), dtype=torch.float64) for s, w in zip(sets, args.mix)])

    config = GraphAEConfig(variant=args.variant, hidden=args.hidden, num_layers=args.layers, embed_dim=args.embed_dim,
                           coord_dim=args.coord_dim, encoding_dim=args.encoding_dim)
    model = GraphAE(config).to(device)
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    warmup = max(1, args.steps // 50)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(s, args.steps) / args.steps)))
    step_gen = torch.Generator().manual_seed(args.seed + 1)

    log_file = log_path(args.log, f"graph_ae-{args.variant}.log")
    start = time.perf_counter()
    with open(log_file, "w") as log, tqdm(range(args.steps), desc=f"graph_ae/{args.variant}", mininterval=5) as bar:
        log.write(json.dumps({"config": config.to_dict(), "argv": args.argv, "data_seconds": round(data_seconds, 1),
                              "train_graphs": [len(s) for s in sets]}) + "\n")
        for step in bar:
            model.train()
            idx = torch.multinomial(weights, args.batch, replacement=True, generator=step_gen)
            adj, mask = train_set.batch(idx)
            elements = (sympe_elements([train_set.forms[i] for i in idx.tolist()], adj.shape[-1], step_gen)
                        if args.variant == "sympe" else None)
            adj, mask = adj.to(device), mask.to(device)
            out = model(adj, mask, generator=step_gen, elements=None if elements is None else Permutation(elements.perm.to(device)))
            loss = F.binary_cross_entropy_with_logits(out.logits[out.valid], adj[out.valid])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            optimiser.step()
            schedule.step()
            if step % 50 == 0 or step == args.steps - 1:
                bar.set_postfix(bce=f"{loss.item():.4f}")
                record = {"step": step, "bce": round(loss.item(), 5), "lr": schedule.get_last_lr()[0],
                          "seconds": round(time.perf_counter() - start, 1)}
                if args.eval_every and (step % args.eval_every == 0 or step == args.steps - 1) and step > 0:
                    model.eval()
                    record["val"] = {}
                    for name, vs in val_sets.items():
                        m = aggregate(reconstruct(model, vs, torch.Generator().manual_seed(0)))
                        record["val"][name] = {"bce": round(m["bce"], 4), "edge_error_pct": round(m["edge_error_pct"], 3),
                                               "exact_pct": round(m["exact_pct"], 1)}
                    bar.write(f"step {step}: " + json.dumps(record["val"]))
                log.write(json.dumps(record) + "\n")
                log.flush()
    seconds = time.perf_counter() - start
    model.cpu().eval()
    record = {
        "experiment": "graph_ae",
        "variant": args.variant,
        "config": config.to_dict(),
        "command": "python -m backend.tasks.graph_ae_train " + " ".join(shlex.quote(a) for a in args.argv),
        "seed": args.seed,
        "data": {"community_small_train": len(sets[0]), "erdos_renyi_train": len(sets[1]),
                 "symmetric_train": len(sets[2]), "mix": list(args.mix), "n_max": config.n_max,
                 "split_seeds": "backend.tasks.graph_ae.SPLIT_SEEDS / SYMMETRIC_SEED"},
        "training": {"steps": args.steps, "batch": args.batch, "lr": args.lr, "clip": args.clip,
                     "schedule": "linear warm-up (2%) then cosine to 0", "optimiser": "AdamW (no weight decay)",
                     "seconds": round(seconds, 1), "threads": args.threads, "device": str(device),
                     "torch": torch.__version__, "loss": "BCE over off-diagonal pairs of real nodes",
                     "log": log_label(log_file)},
        "small_eval": small_eval(model),
    }
    return ship(model, f"graph_ae/{args.variant}", record, save=not args.no_save)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m backend.tasks.graph_ae_train", description=__doc__.splitlines()[0])
    p.add_argument("--variant", choices=VARIANTS, required=True)
    p.add_argument("--steps", type=int, default=6000)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--embed-dim", type=int, default=32)
    p.add_argument("--coord-dim", type=int, default=3)
    p.add_argument("--encoding-dim", type=int, default=64)
    p.add_argument("--num-train", type=int, default=5000, help="graphs per generated training set")
    p.add_argument("--num-val", type=int, default=128, help="graphs per generated validation set used in the log")
    p.add_argument("--mix", type=float, nargs=3, default=[0.4, 0.4, 0.2], metavar=("CS", "ER", "SYM"))
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None)
    p.add_argument("--log", default=None, help="JSON-lines log (default runs/graph_ae-<variant>.log)")
    p.add_argument("--no-save", action="store_true", help="train and report without writing weights or the manifest")
    return p


def main(argv: list[str] | None = None) -> int:
    return run(build_parser, train, argv)


if __name__ == "__main__":
    raise SystemExit(main())
