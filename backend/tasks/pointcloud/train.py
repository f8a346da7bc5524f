"""Train one point-cloud distortion variant and ship it: ``python -m backend.tasks.pointcloud.train --variant sympe``.

Every variant gets the same backbone, data, steps, optimiser and seed. The training set is the fixed ``train``
split (``data.SPLITS``); for ``sympe`` its canonical forms are computed once and a fresh inversion-kernel frame is
drawn per shape at every step. The loss is the smallest squared RMSD to a degenerate target (``metrics.loss``).
Writes pretrained/pointcloud/<variant>.safetensors, its manifest entry (config, command, seed, data, training time,
the small evaluation on the ``val`` split) and a JSON-lines log in runs/pointcloud-<variant>.log.
"""
from __future__ import annotations

import argparse
import json
import math
import shlex
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from ...checkpoints import PRETRAINED
from ...device import select_device
from ..training import add_config_options, config_from_args, log_label, log_path, run, ship
from .data import collate, make_split
from .evaluate import small_eval
from .metrics import loss as distortion_loss
from .model import DistortionModel, PointCloudConfig, canonical_forms


@dataclass
class TrainConfig:
    steps: int = field(default=3000, metadata={"help": "optimiser steps"})
    batch: int = field(default=64, metadata={"help": "shapes per step"})
    lr: float = field(default=2e-3, metadata={"help": "peak learning rate (2%% warm-up, then cosine to 0)"})
    num_train: int = field(default=4096, metadata={"help": "shapes of the train split used"})
    seed: int = field(default=0, metadata={"help": "seed of the initialisation and of every draw"})
    device: str | None = field(default=None, metadata={"help": "cpu, cuda, cuda:1 or mps (default: the best present)"})
    threads: int = field(default=1, metadata={"help": "torch CPU threads"})
    out: str = field(default=str(PRETRAINED), metadata={"help": "folder for the weights and the manifest"})
    log: str | None = field(default=None, metadata={"help": "log file (default: runs/pointcloud-<variant>.log)"})
    ship: bool = field(default=True, metadata={"help": "write the weights and the manifest entry"})


def train(model_config: PointCloudConfig, cfg: TrainConfig, argv: list[str]) -> dict:
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    device = select_device(cfg.device)
    shapes = make_split("train", cfg.num_train)
    data = collate(shapes)
    forms = canonical_forms(data.points, data.mask) if model_config.variant == "sympe" else None
    model = DistortionModel(model_config).to(device)
    optimiser = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.0)
    warmup = max(1, cfg.steps // 50)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(s, cfg.steps) / cfg.steps)))
    step_gen = torch.Generator().manual_seed(cfg.seed + 1)
    log_file = log_path(cfg.log, f"pointcloud-{model_config.variant}.log")
    start = time.perf_counter()
    with open(log_file, "w") as log, tqdm(range(cfg.steps), desc=f"pointcloud/{model_config.variant}", mininterval=2) as bar:
        log.write(json.dumps({"config": model_config.to_dict(), "train": asdict(cfg), "argv": argv}) + "\n")
        for step in bar:
            idx = torch.randint(len(shapes), (cfg.batch,), generator=step_gen)
            batch = collate([shapes[i] for i in idx.tolist()])
            points, mask = batch.points.float().to(device), batch.mask.to(device)
            out = model(points, mask, generator=step_gen, forms=None if forms is None else [forms[i] for i in idx.tolist()])
            loss = distortion_loss(out.double().cpu(), batch)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            if step % 50 == 0 or step == cfg.steps - 1:
                bar.set_postfix(loss=f"{loss.item():.4f}")
                log.write(json.dumps({"step": step, "loss": loss.item(), "seconds": round(time.perf_counter() - start, 2)}) + "\n")
                log.flush()
    seconds = time.perf_counter() - start
    model.cpu().eval()
    record = {
        "experiment": "pointcloud",
        "variant": model_config.variant,
        "config": model_config.to_dict(),
        "command": "python -m backend.tasks.pointcloud.train " + " ".join(shlex.quote(a) for a in argv),
        "seed": cfg.seed,
        "data": {"train_shapes": len(shapes), "split": "train", "families": sorted({s.family for s in shapes})},
        "training": {"steps": cfg.steps, "batch": cfg.batch, "lr": cfg.lr, "optimiser": "AdamW (no weight decay)",
                     "schedule": "linear warm-up (2%) then cosine to 0", "loss": "min over degenerate targets of the squared RMSD",
                     "seconds": round(seconds, 1), "threads": cfg.threads, "device": str(device), "torch": torch.__version__,
                     "log": log_label(log_file)},
        "small_eval": small_eval(model),
    }
    return ship(model, f"pointcloud/{model_config.variant}", record, save=cfg.ship, root=Path(cfg.out))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m backend.tasks.pointcloud.train", description=__doc__.splitlines()[0])
    add_config_options(p, PointCloudConfig)
    add_config_options(p, TrainConfig)
    return p


def main(argv: list[str] | None = None) -> int:
    return run(build_parser, lambda args: train(config_from_args(PointCloudConfig, args), config_from_args(TrainConfig, args), args.argv), argv)


if __name__ == "__main__":
    raise SystemExit(main())
