"""One training loop for every task, on one process or several (torch.distributed).

A task provides a :class:`Trainable`: its model, its training data (prepared once), the loss of a shard of a batch
and its manifest record. The loop owns everything else: seeding, threads, the device, the optimiser and schedule
(by default AdamW, linear warm-up over 2% of the steps, then cosine to 0; a task may choose its own), gradient
clipping, the JSON-lines log, the progress
bar, periodic validation figures in the log, and shipping the weights with their manifest entry (the model's config,
the exact command, the seed, the training figures and the task's record).

Batches, shards and randomness. At step t every process draws the same global batch of indices from the index
generator (seed + 1). The batch is cut into ``shards`` equal, contiguous shards. Shard s draws its own randomness
(noise, inversion-kernel samples) from its own generator, seeded with seed + 2 + s, for the whole run; with a
single shard the draws come from the index generator itself, as in a plain training loop with one generator. Each process
handles the shards s ≡ rank (mod world size), accumulating the gradient of their mean loss. DistributedDataParallel
averages the processes' gradients, so the update is the gradient of the mean shard loss, whatever the world size.
A single process with ``--shards 2`` therefore takes the same steps as two processes with one shard each, up to
float summation order (tested).

Distributed runs: start the trainer with ``torchrun`` (it sets RANK, WORLD_SIZE, LOCAL_RANK and the rendezvous).
The backend is gloo on the CPU and NCCL on CUDA, where each process takes the GPU of its local rank. Rank 0 alone
logs, shows progress, evaluates and writes the checkpoint and its manifest record. One code path: a plain
``python -m ...`` run is the world-size-1 case.

Watching a run in process (the app's Train page): ``train(..., monitor=...)`` calls ``monitor.on_step`` after every
optimiser step with the step, the loss and the model, and stops before the next step once ``monitor.stop_requested()``
is true; a stopped run returns None and records nothing. A monitor is for single-process runs only.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Collection, Protocol

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from ..checkpoints import PRETRAINED
from ..device import select_device
from ..options import UsageError
from .training import add_config_options, config_from_args, log_label, log_path, run, ship

__all__ = ["Monitor", "TrainConfig", "Trainable", "train", "training_main", "warmup_cosine", "World"]


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
    threads: int = field(default=1, metadata={"help": "torch CPU threads per process (0: torch's choice)"})
    out: str = field(default=str(PRETRAINED), metadata={"help": "folder for the weights and the manifest"})
    log_file: str | None = field(default=None, metadata={"help": "log file (default: runs/<task>-<variant>.log)"})
    ship: bool = field(default=True, metadata={"help": "write the weights and the manifest entry"})
    eval_every: int = field(default=0, metadata={"help": "log the task's validation figures every N steps (0: never)"})
    log: bool = field(default=True, metadata={"help": "write the JSON-lines log (rank 0)"})


class Monitor(Protocol):
    """Watches an in-process run (``train(..., monitor=...)``, world size 1). ``on_step`` runs in the training thread
    after optimiser step ``step`` (0-based) with the mean loss of that step and the model (in training mode; a monitor
    that evaluates it switches it to eval and back itself, under ``torch.no_grad``)."""

    def on_step(self, step: int, loss: float, model: nn.Module) -> None: ...

    def stop_requested(self) -> bool: ...


class Trainable:
    """What a task gives the loop. Subclasses set ``name`` and ``module`` and implement ``build``,
    ``training_data``, ``size``, ``loss`` and ``record``; the other hooks have defaults.

    ``model_config`` is the task's config dataclass (with a ``variant``); ``data`` is whatever ``training_data``
    prepared once (examples, canonical forms, marginals).
    """

    name: str  # the manifest prefix, e.g. "pointcloud"
    module: str  # the training entry point, e.g. "backend.tasks.pointcloud.train"
    variants: tuple[str, ...]  # the choices of --variant

    def build(self, model_config: Any, data: Any) -> nn.Module:
        raise NotImplementedError

    def training_data(self, model_config: Any, seed: int) -> Any:
        raise NotImplementedError

    def prepare(self, model: nn.Module, data: Any) -> Any:
        """What the training data gains from the built model, before it moves to its device (e.g. canonical forms
        computed with the model's group); the data unchanged by default."""
        return data

    def size(self, data: Any) -> int:
        """The number of training examples (the range of the batch indices)."""
        raise NotImplementedError

    def indices(self, data: Any, batch: int, generator: torch.Generator) -> torch.Tensor:
        """The examples of one global batch: uniform with replacement by default."""
        return torch.randint(self.size(data), (batch,), generator=generator)

    def optimiser(self, model: nn.Module, cfg: "TrainConfig") -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
        """AdamW without weight decay, linear warm-up over 2% of the steps, then cosine to 0 (by default)."""
        optimiser = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.0)
        return optimiser, warmup_cosine(optimiser, cfg.steps)

    def loss(self, model: nn.Module, data: Any, indices: torch.Tensor, generator: torch.Generator,
             device: torch.device, step: int, steps: int) -> tuple[torch.Tensor, dict[str, float]]:
        """The mean loss of the examples ``indices`` (every random draw from ``generator``) and any parts to log."""
        raise NotImplementedError

    def validate(self, model: nn.Module, data: Any) -> dict:
        """Figures for the log every ``--eval-every`` steps (none by default)."""
        return {}

    def record(self, model: nn.Module, data: Any) -> dict:
        """The task's part of the manifest entry: ``data``, ``small_eval`` and any extra ``training`` keys."""
        raise NotImplementedError


def warmup_cosine(optimiser: torch.optim.Optimizer, steps: int, floor: float = 0.0) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up over 2% of the steps, then cosine from the peak down to ``floor`` times the peak."""
    warmup = max(1, steps // 50)
    return torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: min(1.0, (s + 1) / warmup) * (
        floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps))))


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


def train(task: Trainable, model_config: Any, cfg: TrainConfig, argv: list[str],
          monitor: Monitor | None = None) -> dict | None:
    """Train ``task`` with ``model_config`` and ship it (``cfg.ship``); returns the manifest entry on rank 0 (the
    record when nothing is shipped), None elsewhere and None when ``monitor`` stopped the run."""
    world = World.from_environment()
    if monitor is not None and world.size > 1:
        raise UsageError("a training monitor watches single-process runs only")
    shards = cfg.shards or world.size
    if shards % world.size or cfg.batch % shards:
        raise UsageError(f"--shards ({shards}) must be a multiple of the world size ({world.size}) and divide --batch ({cfg.batch})")
    device = _device(cfg, world)
    if world.size > 1:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    try:
        return _train(task, model_config, cfg, argv, world, shards, device, monitor)
    finally:
        if world.size > 1:
            dist.destroy_process_group()


def _train(task: Trainable, model_config: Any, cfg: TrainConfig, argv: list[str], world: World, shards: int,
           device: torch.device, monitor: Monitor | None = None) -> dict | None:
    torch.manual_seed(cfg.seed)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    data = task.training_data(model_config, cfg.seed)
    model = task.build(model_config, data)
    data = task.prepare(model, data)
    model.to(device)
    wrapped = DistributedDataParallel(model, find_unused_parameters=True) if world.size > 1 else model
    optimiser, schedule = task.optimiser(model, cfg)
    index_gen = torch.Generator().manual_seed(cfg.seed + 1)
    mine = list(range(world.rank, shards, world.size))
    shard_gens = {s: index_gen if shards == 1 else torch.Generator().manual_seed(cfg.seed + 2 + s) for s in mine}
    per_shard = cfg.batch // shards
    name = f"{task.name}/{model_config.variant}"
    log_file = log_path(cfg.log_file, f"{task.name}-{model_config.variant}.log") if world.is_main and cfg.log else None
    start = time.perf_counter()
    with (open(log_file, "w") if log_file else nullcontext()) as log:
        if log:
            log.write(json.dumps({"config": _config_dict(model.config), "train": asdict(cfg), "argv": argv,
                                  "world_size": world.size}) + "\n")
        wrapped.train()
        for step in tqdm(range(cfg.steps), desc=name, mininterval=2, disable=not world.is_main or monitor is not None):
            if monitor is not None and monitor.stop_requested():
                return None
            indices = task.indices(data, cfg.batch, index_gen)
            optimiser.zero_grad(set_to_none=True)
            total, parts = 0.0, {}
            for k, s in enumerate(mine):
                with nullcontext() if k == len(mine) - 1 or world.size == 1 else wrapped.no_sync():
                    loss, shard_parts = task.loss(wrapped, data, indices[s * per_shard : (s + 1) * per_shard],
                                                  shard_gens[s], device, step, cfg.steps)
                    (loss / len(mine)).backward()
                total += loss.detach().item() / len(mine)
                for key, value in shard_parts.items():
                    parts[key] = parts.get(key, 0.0) + value / len(mine)
            if cfg.clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
            optimiser.step()
            schedule.step()
            if log and (step % 50 == 0 or step == cfg.steps - 1):
                entry = {"step": step, "loss": total, **parts, "lr": schedule.get_last_lr()[0],
                         "seconds": round(time.perf_counter() - start, 2)}
                if cfg.eval_every and step > 0 and (step % cfg.eval_every == 0 or step == cfg.steps - 1):
                    model.eval()
                    entry["validation"] = task.validate(model, data)
                    wrapped.train()
                log.write(json.dumps(entry) + "\n")
                log.flush()
            if monitor is not None:
                monitor.on_step(step, total, model)
    if not world.is_main:
        return None
    seconds = time.perf_counter() - start
    model.cpu().eval()
    record = task.record(model, data)
    training = {"steps": cfg.steps, "batch": cfg.batch, "lr": cfg.lr, "clip": cfg.clip, "shards": shards,
                "world_size": world.size, "seconds": round(seconds, 1), "threads": cfg.threads, "device": str(device),
                "torch": torch.__version__, "log": log_label(log_file) if log_file else None, **record.pop("training", {})}
    launcher = "python" if world.size == 1 else f"torchrun --standalone --nproc-per-node {world.size}"
    entry = {"experiment": task.name, "variant": model_config.variant, "config": _config_dict(model.config),
             "command": f"{launcher} -m {task.module} " + " ".join(shlex.quote(a) for a in argv), "seed": cfg.seed,
             "training": training, **record}
    return ship(model, name, entry, save=cfg.ship, root=Path(cfg.out))


def training_main(make_task: type[Trainable], model_config_class: type, argv: list[str] | None = None,
                  data_config_class: type | None = None, model_defaults: dict[str, Any] | None = None,
                  train_defaults: dict[str, Any] | None = None, model_exclude: Collection[str] = ()) -> int:
    """The command line of a task's trainer: options from the model config, the task's own training config (passed
    to ``make_task``) and TrainConfig, with the task's defaults where they differ from the dataclasses', then
    ``train``. ``model_exclude`` names model-config fields that are not options (the task fills them from the
    data in ``build``)."""
    def parser() -> argparse.ArgumentParser:
        p = argparse.ArgumentParser(prog=f"python -m {make_task.module}", description=f"Train one {make_task.name} variant and ship it")
        add_config_options(p, model_config_class, model_defaults, choices={"variant": make_task.variants}, exclude=model_exclude)
        if data_config_class is not None:
            add_config_options(p, data_config_class)
        add_config_options(p, TrainConfig, train_defaults)
        return p

    def go(args: argparse.Namespace) -> None:
        trainable = make_task(config_from_args(data_config_class, args)) if data_config_class is not None else make_task()
        train(trainable, config_from_args(model_config_class, args, model_exclude), config_from_args(TrainConfig, args), args.argv)

    return run(parser, go, argv)


def _config_dict(config: Any) -> dict:
    return config.to_dict() if hasattr(config, "to_dict") else asdict(config)
