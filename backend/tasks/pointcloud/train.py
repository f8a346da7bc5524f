"""Train one point-cloud distortion variant and ship it: ``python -m backend.tasks.pointcloud.train --variant sympe``.

Every variant gets the same backbone, data, steps, optimiser and seed (``backend.tasks.trainer``; run it under
``torchrun`` for several processes). The training set is the fixed ``train`` split (``data.SPLITS``); for ``sympe``
its canonical forms are computed once and a fresh inversion-kernel frame is drawn per shape at every step. The
loss is the smallest squared RMSD to a degenerate target (``metrics.loss``). Writes
pretrained/pointcloud/<variant>.safetensors, its manifest entry (config, command, seed, data, training, the small
evaluation on the ``val`` split) and a JSON-lines log in runs/pointcloud-<variant>.log.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass

import torch
from torch import nn

from ...pointcloud import PointCloudCanonicalForm
from ..trainer import TrainConfig, train
from ..training import add_config_options, config_from_args, run
from .data import Shape, collate, make_split
from .evaluate import small_eval
from .metrics import loss as distortion_loss
from .model import DistortionModel, PointCloudConfig, canonical_forms


@dataclass(frozen=True)
class TrainingData:
    shapes: list[Shape]
    forms: list[PointCloudCanonicalForm] | None  # for sympe: one canonical form per shape, computed once


class PointCloudTraining:
    name = "pointcloud"
    module = "backend.tasks.pointcloud.train"

    def build(self, model_config: PointCloudConfig) -> nn.Module:
        return DistortionModel(model_config)

    def training_data(self, model_config: PointCloudConfig) -> TrainingData:
        shapes = make_split("train")
        forms = None
        if model_config.variant == "sympe":
            batch = collate(shapes)
            forms = canonical_forms(batch.points, batch.mask)
        return TrainingData(shapes, forms)

    def size(self, data: TrainingData) -> int:
        return len(data.shapes)

    def loss(self, model, data: TrainingData, indices, generator, device) -> torch.Tensor:
        rows = indices.tolist()
        batch = collate([data.shapes[i] for i in rows])
        forms = None if data.forms is None else [data.forms[i] for i in rows]
        out = model(batch.points.float().to(device), batch.mask.to(device), generator=generator, forms=forms)
        return distortion_loss(out.double().cpu(), batch)

    def record(self, model, model_config: PointCloudConfig, data: TrainingData) -> dict:
        return {
            "data": {"train_shapes": len(data.shapes), "split": "train", "families": sorted({s.family for s in data.shapes})},
            "training": {"loss": "min over degenerate targets of the squared RMSD"},
            "small_eval": small_eval(model),
        }


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m backend.tasks.pointcloud.train", description=__doc__.splitlines()[0])
    add_config_options(p, PointCloudConfig)
    add_config_options(p, TrainConfig)
    return p


def main(argv: list[str] | None = None) -> int:
    return run(build_parser, lambda args: train(PointCloudTraining(), config_from_args(PointCloudConfig, args),
                                                 config_from_args(TrainConfig, args), args.argv), argv)


if __name__ == "__main__":
    raise SystemExit(main())
