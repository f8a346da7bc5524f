"""Train one point-cloud distortion variant and ship it: ``python -m backend.tasks.pointcloud.train --variant sympe``.

Every variant gets the same backbone, data, steps, optimiser and seed (``backend.tasks.trainer``; run it under
``torchrun`` for several processes). The training set is the fixed ``train`` split (``data.SPLITS``); for ``sympe``
its canonical forms are computed once and a fresh inversion-kernel frame is drawn per shape at every step. The
loss is the smallest squared RMSD to a degenerate target (``metrics.loss``). Writes
pretrained/pointcloud/<variant>.safetensors, its manifest entry (config, command, seed, data, training, the small
evaluation on the ``val`` split) and a JSON-lines log in runs/pointcloud-<variant>.log.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ...pointcloud import PointCloudCanonicalForm
from ..trainer import Trainable, training_main
from .data import Shape, collate, make_split
from .evaluate import small_eval
from .metrics import loss as distortion_loss
from .model import VARIANTS, DistortionModel, PointCloudConfig, canonical_forms


@dataclass(frozen=True)
class TrainingData:
    shapes: list[Shape]
    forms: list[PointCloudCanonicalForm] | None  # for sympe: one canonical form per shape, computed once


class PointCloudTraining(Trainable):
    name = "pointcloud"
    module = "backend.tasks.pointcloud.train"
    variants = VARIANTS

    def build(self, model_config: PointCloudConfig, data: TrainingData) -> nn.Module:
        return DistortionModel(model_config)

    def training_data(self, model_config: PointCloudConfig, seed: int) -> TrainingData:
        shapes = make_split("train")
        forms = None
        if model_config.encoding.canonicalizes:
            batch = collate(shapes)
            forms = canonical_forms(batch.points, batch.mask)
        return TrainingData(shapes, forms)

    def size(self, data: TrainingData) -> int:
        return len(data.shapes)

    def loss(self, model, data: TrainingData, indices, generator, device, step, steps) -> tuple[torch.Tensor, dict]:
        rows = indices.tolist()
        batch = collate([data.shapes[i] for i in rows])
        forms = None if data.forms is None else [data.forms[i] for i in rows]
        out = model(batch.points.float().to(device), batch.mask.to(device), generator=generator, forms=forms)
        return distortion_loss(out.double().cpu(), batch), {}

    def record(self, model, data: TrainingData) -> dict:
        return {
            "data": {"train_shapes": len(data.shapes), "split": "train", "families": sorted({s.family for s in data.shapes})},
            "training": {"optimiser": "AdamW (no weight decay)", "schedule": "linear warm-up (2%) then cosine to 0",
                         "loss": "min over degenerate targets of the squared RMSD"},
            "small_eval": small_eval(model),
        }


def main(argv: list[str] | None = None) -> int:
    return training_main(PointCloudTraining, PointCloudConfig, argv)


if __name__ == "__main__":
    raise SystemExit(main())
