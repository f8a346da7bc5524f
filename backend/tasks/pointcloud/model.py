"""The distortion model: an EGNN displacement network fed one of four encodings.

Variants (g ∈ O(3) acts on the input cloud x):
    ``none``:  no extra features; equivariant, so on a symmetric x its displacement field keeps every symmetry.
    ``noise``: i.i.d. N(0, 1) features per point; equivariant in distribution (the noise's law is invariant).
    ``sympe``: the frame encoding v(hᵀ(x_i − x̄)) with h = γ(x) t drawn from the inversion kernel
               (backend.pointcloud); equivariant in distribution: f(g·x, g h) = g·f(x, h).
    ``fixed``: the same encoding with h = identity (the input's own axes); breaks symmetry, not equivariant.

Shapes: points (B, n, 3), mask (B, n) bool; output displacements (B, n, 3), zero on padded points.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import torch
from torch import Tensor, nn

from ...checkpoints import PRETRAINED, load_model
from ...encodings import FIXED, NOISE, NONE, SYMPE, Encoding, Features, names
from ...groups import O3Element
from ...nn.pointcloud import FrameEncoding, PointCloudEGNN, PointCloudEGNNConfig
from ...pointcloud import PointCloudCanonicalForm, canonicalize_point_cloud
from ..task import ModelConfig

__all__ = ["ENCODINGS", "VARIANTS", "load_pointcloud_model", "PointCloudConfig", "DistortionModel", "canonical_forms"]

ENCODINGS = (NONE, NOISE, SYMPE, FIXED)
VARIANTS = names(ENCODINGS)


@dataclass
class PointCloudConfig(ModelConfig):
    encodings: ClassVar[tuple[Encoding, ...]] = ENCODINGS
    variant: str = field(default="sympe", metadata={"choices": VARIANTS, "help": "the encoding (see the module docstring)"})
    hidden: int = field(default=64, metadata={"help": "EGNN width"})
    num_layers: int = field(default=4, metadata={"help": "EGNN layers"})
    encoding_dim: int = field(default=16, metadata={"help": "features per point of the noise or frame encoding"})


def canonical_forms(points: Tensor, mask: Tensor) -> list[PointCloudCanonicalForm]:
    """One canonical form per cloud of a padded batch (its real points only)."""
    return [canonicalize_point_cloud(p[m]) for p, m in zip(points, mask)]


class DistortionModel(nn.Module):
    def __init__(self, config: PointCloudConfig):
        super().__init__()
        self.config = config
        width = config.encoding_dim if config.encoding.breaks_symmetry else 0
        self.encoding = FrameEncoding(width) if config.encoding.has_table else None
        self.backbone = PointCloudEGNN(PointCloudEGNNConfig(num_types=1, hidden=config.hidden,
                                                            num_layers=config.num_layers, feature_dim=width))

    def frames(self, points: Tensor, mask: Tensor, generator: torch.Generator | None = None,
               forms: list[PointCloudCanonicalForm] | None = None) -> Tensor | None:
        """The frames h the encoding uses: kernel draws for ``sympe`` (from ``forms`` when given), the identity for
        ``fixed``, None otherwise. A batch of one cloud repeated (``forms`` all one object) is drawn from in one call.
        Shape (B, 3, 3)."""
        if not self.config.encoding.has_table:
            return None
        if not self.config.encoding.canonicalizes:
            return O3Element.identity((len(points),)).matrix
        forms = canonical_forms(points, mask) if forms is None else forms
        if forms and all(f is forms[0] for f in forms):
            return forms[0].sample(len(forms), generator).matrix
        return torch.cat([f.sample(1, generator).matrix for f in forms])

    def forward(self, points: Tensor, mask: Tensor, generator: torch.Generator | None = None,
                frames: Tensor | None = None, forms: list[PointCloudCanonicalForm] | None = None) -> Tensor:
        """Displacements for a padded batch. ``frames`` fixes h (tests, the app); otherwise it is drawn."""
        types = torch.zeros(mask.shape, dtype=torch.long, device=points.device)
        features = None
        if self.config.encoding.features is Features.NOISE:
            features = torch.randn(*mask.shape, self.config.encoding_dim, generator=generator, dtype=points.dtype).to(points.device)
        elif self.encoding is not None:
            h = self.frames(points, mask, generator, forms) if frames is None else frames
            features = self.encoding(points, h.to(points), mask)
        return self.backbone(points, types, mask, features)


def load_pointcloud_model(variant: str, root: Path | None = None) -> DistortionModel:
    return load_model(f"pointcloud/{variant}", lambda config: DistortionModel(PointCloudConfig(**config)), PRETRAINED if root is None else root)
