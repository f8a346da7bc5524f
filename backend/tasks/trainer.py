"""One training loop for every task, on one process or several (torch.distributed).

A task provides a :class:`Trainable`: its model, its training data (prepared once), the loss of a shard of a batch
and its manifest record. The loop owns everything else: seeding, threads, the device, the optimiser and schedule
(AdamW, linear warm-up over 2% of the steps, then cosine to 0), gradient clipping, the JSON-lines log, the progress
bar, and shipping the weights with their manifest entry.

Batches, shards and randomness. At step t every process draws the same global batch of indices from the index
generator (seed + 1). The batch is cut into ``shards`` equal, contiguous shards. Shard s draws its own randomness
(noise, inversion-kernel samples) from its own generator, seeded with seed + 2 + s, for the whole run. Each process
handles the shards s ≡ rank (mod world size), accumulating the gradient of their mean loss. DistributedDataParallel
averages the processes' gradients, so the update is the gradient of the mean shard loss, whatever the world size.
A single process with ``--shards 2`` therefore takes the same steps as two processes with one shard each, up to
float summation order (tested).

Distributed runs: start the trainer with ``torchrun`` (it sets RANK, WORLD_SIZE, LOCAL_RANK and the rendezvous).
The backend is gloo on the CPU and NCCL on CUDA, where each process takes the GPU of its local rank. Rank 0 alone
logs, shows progress, evaluates and writes the checkpoint and its manifest record. One code path: a plain
``python -m ...`` run is the world-size-1 case.
"""
from __future__ import annotations

import json
import math
import os
import shlex
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from ..checkpoints import PRETRAINED
from ..device import select_device
from ..options import UsageError
from .training import log_label, log_path, ship

__all__ = ["TrainConfig", "Trainable", "train", "World"]


@dataclass
class TrainConfig:
    """The options every trainer has (each task adds its model config)."""

    steps: int = field(default=3000, metadata={"help": "optimiser steps"})
    batch: int = field(default=64, metadata={"help": "global batch size (all shards of all processes)"})
    lr: float = field(default=2e-3, metadata={"help": "peak learning rate (2%% warm-up, then cosine to 0)"})
    clip: float = field(default=0.0, metadata={"help": "gradient-norm clipping (0: none)"})
    shards: int = field(default=0, metadata={"help": "shards of each batch, each with its own random draws "
                                                      "(0: the world size; a multiple of it)"})
    seed: int = field(default=0, metadata={"help": "seed of the initialisation and of every draw"})
    device: str | None = field(default=None, metadata={"help": "cpu, cuda, cuda:1 or mps (default: the best present)"})
    threads: int = field(default=1, metadata={"help": "torch CPU threads per process"})
    out: str = field(default=str(PRETRAINED), metadata={"help": "folder for the weights and the manifest"})
    log_file: str | None = field(default=None, metadata={"help": "log file (default: runs/<task>-<variant>.log)"})
    ship: bool = field(default=True, metadata={"help": "write the weights and the manifest entry"})


class Trainable(Protocol):
    """What the loop needs from a task (``model_config`` is the task's config dataclass, with a ``variant``)."""

    name: str  # the manifest prefix, e.g. "pointcloud"
    module: str  # the training entry point, e.g. "backend.tasks.pointcloud.train"

    def build(self, model_config: Any) -> nn.Module: ...

    def training_data(self, model_config: Any) -> Any:
        """Everything the steps index into, prepared once (e.g. shapes and their canonical forms)."""

    def size(self, data: Any) -> int:
        """The number of training examples the batch indices range over."""

    def loss(self, model: nn.Module, data: Any, indices: torch.Tensor, generator: torch.Generator,
             device: torch.device) -> torch.Tensor:
        """The mean loss of the examples ``indices``, every random draw from ``generator``."""

    def record(self, model: nn.Module, model_config: Any, data: Any) -> dict:
        """The task's part of the manifest entry: ``data`` and ``small_eval`` (and any extra ``training`` keys)."""


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @staticmethod
    def from_environment() -> "World":
        return World(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0)))

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _device(cfg: TrainConfig, world: World) -> torch.device:
    device = select_device(cfg.device)
    if device.type == "cuda" and world.size > 1:
        device = torch.device("cuda", world.local_rank)
        torch.cuda.set_device(device)
    return device


def _schedule(optimiser: torch.optim.Optimizer, steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    warmup = max(1, steps // 50)
    return torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))


def train(task: Trainable, model_config: Any, cfg: TrainConfig, argv: list[str]) -> dict | None:
    """Train ``task`` with ``model_config`` and ship it; returns the manifest entry on rank 0, None elsewhere."""
    world = World.from_environment()
    shards = cfg.shards or world.size
    if shards % world.size or cfg.batch % shards:
        raise UsageError(f"--shards ({shards}) must be a multiple of the world size ({world.size}) and divide --batch ({cfg.batch})")
    device = _device(cfg, world)
    if world.size > 1:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    try:
        return _train(task, model_config, cfg, argv, world, shards, device)
    finally:
        if world.size > 1:
            dist.destroy_process_group()


def _train(task: Trainable, model_config: Any, cfg: TrainConfig, argv: list[str], world: World, shards: int,
           device: torch.device) -> dict | None:
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    data = task.training_data(model_config)
    model = task.build(model_config).to(device)
    wrapped = DistributedDataParallel(model, find_unused_parameters=True) if world.size > 1 else model
    optimiser = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.0)
    schedule = _schedule(optimiser, cfg.steps)
    index_gen = torch.Generator().manual_seed(cfg.seed + 1)
    mine = list(range(world.rank, shards, world.size))
    shard_gens = {s: torch.Generator().manual_seed(cfg.seed + 2 + s) for s in mine}
    per_shard = cfg.batch // shards
    name = f"{task.name}/{model_config.variant}"
    log_file = log_path(cfg.log_file, f"{task.name}-{model_config.variant}.log") if world.is_main else None
    start = time.perf_counter()
    with (open(log_file, "w") if log_file else nullcontext()) as log:
        if log:
            log.write(json.dumps({"config": asdict(model_config), "train": asdict(cfg), "argv": argv, "world_size": world.size}) + "\n")
        for step in tqdm(range(cfg.steps), desc=name, mininterval=2, disable=not world.is_main):
            indices = torch.randint(task.size(data), (cfg.batch,), generator=index_gen)
            optimiser.zero_grad(set_to_none=True)
            total = 0.0
            for k, s in enumerate(mine):
                sync = k == len(mine) - 1 or world.size == 1
                with nullcontext() if sync else wrapped.no_sync():
                    loss = task.loss(wrapped, data, indices[s * per_shard : (s + 1) * per_shard], shard_gens[s], device)
                    (loss / len(mine)).backward()
                total += loss.detach().item() / len(mine)
            if cfg.clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
            optimiser.step()
            schedule.step()
            if log and (step % 50 == 0 or step == cfg.steps - 1):
                log.write(json.dumps({"step": step, "loss": total, "seconds": round(time.perf_counter() - start, 2)}) + "\n")
                log.flush()
    if not world.is_main:
        return None
    seconds = time.perf_counter() - start
    model.cpu().eval()
    record = task.record(model, model_config, data)
    training = {"steps": cfg.steps, "batch": cfg.batch, "lr": cfg.lr, "clip": cfg.clip, "optimiser": "AdamW (no weight decay)",
                "schedule": "linear warm-up (2%) then cosine to 0", "shards": shards, "world_size": world.size,
                "seconds": round(seconds, 1), "threads": cfg.threads, "device": str(device), "torch": torch.__version__,
                "log": log_label(log_file), **record.pop("training", {})}
    launcher = "python" if world.size == 1 else f"torchrun --standalone --nproc-per-node {world.size}"
    entry = {"experiment": task.name, "variant": model_config.variant, "config": asdict(model_config),
             "command": f"{launcher} -m {task.module} " + " ".join(shlex.quote(a) for a in argv), "seed": cfg.seed,
             "training": training, **record}
    return ship(model, name, entry, save=cfg.ship, root=Path(cfg.out))
