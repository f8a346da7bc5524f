"""SymPE for point clouds: a frame encoding and an E(3)-equivariant displacement network.

Conventions (those of ``backend.pointcloud`` and ``backend.groups.O3Element``): a batch of clouds is padded,

    points  coordinates         (B, n, 3)       one point per row
    types   point types         (B, n) long     indices into the type embedding
    mask    real-point flags    (B, n) bool     real points first, padding after
    frames  sampled frames h    (B, 3, 3)       elements of O(3) from the inversion kernel (columns = axes)

and g ∈ O(3) acts by points ↦ points Rᵀ and frames ↦ R h. The frame encoding of point i is
v(hᵀ(x_i − x̄)), a learned function of the point's coordinates in the sampled frame, which is invariant under
(x, h) ↦ (g·x, g h); fed as node features to the EGNN, the displacement field it outputs is equivariant:
f(g·x, g h) = g·f(x, h). With h drawn from the inversion kernel, the model is equivariant in distribution, and
each draw may break the input's symmetry. Without extra features the network is the equivariant baseline: its
output on a symmetric cloud is exactly as symmetric as the cloud.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .graph import EGNN

__all__ = ["FrameEncoding", "PointCloudEGNN", "PointCloudEGNNConfig", "centred"]


def centred(points: Tensor, mask: Tensor) -> Tensor:
    """points − x̄ per cloud, x̄ the centroid of its real points; padded rows are 0. (B, n, 3) -> (B, n, 3)."""
    m = mask.to(points.dtype).unsqueeze(-1)
    centroid = (points * m).sum(-2, keepdim=True) / m.sum(-2, keepdim=True).clamp(min=1.0)
    return (points - centroid) * m


class FrameEncoding(nn.Module):
    """v(hᵀ(x_i − x̄)): an MLP of each point's coordinates in its cloud's frame h.

    Shapes:
        - **points**: (B, n, 3), **frames**: (B, 3, 3), **mask**: (B, n) bool
        - **output**: (B, n, dim), zero on padded points
    """

    def __init__(self, dim: int, hidden: int = 32):
        super().__init__()
        self.dim = dim
        self.mlp = nn.Sequential(nn.Linear(3, hidden), nn.SiLU(), nn.Linear(hidden, dim))

    def forward(self, points: Tensor, frames: Tensor, mask: Tensor) -> Tensor:
        local = centred(points, mask) @ frames.to(points.dtype)
        return self.mlp(local) * mask.to(points.dtype).unsqueeze(-1)


@dataclass
class PointCloudEGNNConfig:
    num_types: int = 1
    hidden: int = 64
    num_layers: int = 4
    feature_dim: int = 0  # extra invariant node features (an encoding); 0 for the equivariant baseline


class PointCloudEGNN(nn.Module):
    """A displacement field d (one vector per point) from an EGNN over all pairs of real points.

    Node features are a type embedding and, when ``feature_dim > 0``, extra invariant features (a frame encoding,
    or noise); the EGNN's coordinate stream starts at the centred points and d = c_out − c_in.

    Shapes:
        - **points**: (B, n, 3), **types**: (B, n) long, **mask**: (B, n) bool
        - **features**: (B, n, feature_dim), required when ``feature_dim > 0``
        - **output**: (B, n, 3), zero on padded points
    """

    def __init__(self, config: PointCloudEGNNConfig):
        super().__init__()
        self.config = config
        self.type_embedding = nn.Embedding(config.num_types, config.hidden)
        self.egnn = EGNN(config.hidden + config.feature_dim, config.hidden, 1, config.num_layers, coord_dim=3)

    def forward(self, points: Tensor, types: Tensor, mask: Tensor, features: Tensor | None = None) -> Tensor:
        node = self.type_embedding(types).to(points.dtype)
        if self.config.feature_dim:
            if features is None or features.shape[-1] != self.config.feature_dim:
                raise ValueError(f"this network takes {self.config.feature_dim} extra features per point")
            node = torch.cat([node, features.to(points.dtype)], dim=-1)
        start = centred(points, mask)
        adjacency = torch.zeros(*mask.shape, mask.shape[-1], dtype=points.dtype, device=points.device)
        _, coords = self.egnn(node, adjacency, mask, start)
        return coords - start
