"""Shapes, their distortion modes and degenerate targets, and the seeded splits.

A family is a base shape in a reference orientation with circumradius 1 and one distortion mode d⁰ (a displacement
per point, of size ``EPSILON``). The degenerate targets of a shape x are the orbit of d⁰ under the stabilizer G_x:
an element R realising the permutation π sends the field d to the field d' with d'_π[i] = R d_i, and the distinct
fields (compared after rounding to 1e-9) are the targets. A random instance scales the base shape by U[0.8, 1.5],
moves it by a Haar-random element of O(3) and re-indexes its points uniformly; its targets move with it.

Shapes (one instance, float64):
    points   (n, 3)
    targets  (m, n, 3)   displacement fields, m ≥ 1 degenerate choices
Batches (``collate``): points (B, n, 3), mask (B, n) bool, targets (B, M, n, 3), target_mask (B, M) bool, with
n and M the largest in the batch and padding after the real entries.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from ...groups import O3Element
from ...pointcloud import canonicalize_point_cloud

__all__ = ["EPSILON", "FAMILIES", "SPLITS", "Shape", "Batch", "base_shape", "degenerate_targets", "random_instance",
           "make_split", "collate"]

EPSILON = 0.3
SPLITS = {"train": (4096, 0), "val": (512, 1), "test": (1024, 2)}  # split: (size, seed)


def _polygon(k: int) -> np.ndarray:
    t = 2 * math.pi * np.arange(k) / k
    return np.stack([np.cos(t), np.sin(t), np.zeros(k)], axis=1)


def _stretch(points: np.ndarray, axis: int, sign: float = 1.0) -> np.ndarray:
    """EPSILON · sign · (x_i · e_axis) e_axis: elongation (sign +1) or flattening (−1) along one coordinate axis."""
    d = np.zeros_like(points)
    d[:, axis] = sign * EPSILON * points[:, axis]
    return d


_TETRAHEDRON = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], float) / math.sqrt(3)
_OCTAHEDRON = np.vstack([np.eye(3), -np.eye(3)])
_CUBE = np.array([[a, b, c] for a in (1, -1) for b in (1, -1) for c in (1, -1)], float) / math.sqrt(3)

# family: (base points, distortion mode), each a function of the base points
FAMILIES: dict[str, tuple[np.ndarray, np.ndarray]] = {
    **{f"{k}-gon": (_polygon(k), _stretch(_polygon(k), 0)) for k in range(3, 9)},
    "tetrahedron": (_TETRAHEDRON, _stretch(_TETRAHEDRON, 2, -1.0)),
    "octahedron": (_OCTAHEDRON, _stretch(_OCTAHEDRON, 2)),
    "cube": (_CUBE, _stretch(_CUBE, 2)),
}


@dataclass(frozen=True)
class Shape:
    family: str
    points: torch.Tensor
    targets: torch.Tensor


@dataclass(frozen=True)
class Batch:
    points: torch.Tensor
    mask: torch.Tensor
    targets: torch.Tensor
    target_mask: torch.Tensor

    def __len__(self) -> int:
        return len(self.points)


def degenerate_targets(points: np.ndarray, mode: np.ndarray) -> np.ndarray:
    """The orbit of the field ``mode`` under the stabilizer of ``points`` (module docstring), in a fixed order
    (sorted by the rounded fields). Shape (m, n, 3)."""
    form = canonicalize_point_cloud(points)
    fields = {}
    for r, perm in zip(form.stabilizer_elements().matrix.numpy(), form.stabilizer.permutations.numpy()):
        moved = np.empty_like(mode)
        moved[perm] = mode @ r.T
        fields.setdefault(tuple(np.round(moved, 9).ravel()), moved)
    return np.stack([fields[k] for k in sorted(fields)])


@lru_cache(maxsize=None)
def base_shape(family: str) -> tuple[np.ndarray, np.ndarray]:
    """(points (n, 3), targets (m, n, 3)) of a family's base shape."""
    points, mode = FAMILIES[family]
    return points, degenerate_targets(points, mode)


def random_instance(family: str, generator: torch.Generator) -> Shape:
    points, targets = base_shape(family)
    scale = 0.8 + 0.7 * torch.rand((), generator=generator, dtype=torch.float64)
    g = O3Element.random((), generator)
    perm = torch.randperm(len(points), generator=generator)
    p = g.act_points(torch.from_numpy(points) * scale)[perm]
    t = g.act_points(torch.from_numpy(targets) * scale)[:, perm]
    return Shape(family, p, t)


def make_split(split: str, num: int | None = None) -> list[Shape]:
    """A seeded split (``SPLITS``): families drawn uniformly, then random instances; ``num`` takes a prefix."""
    size, seed = SPLITS[split]
    gen = torch.Generator().manual_seed(1000 + seed)
    names = list(FAMILIES)
    shapes = []
    for _ in range(size if num is None else min(num, size)):
        shapes.append(random_instance(names[int(torch.randint(len(names), (), generator=gen))], gen))
    return shapes


def collate(shapes: list[Shape]) -> Batch:
    n = max(len(s.points) for s in shapes)
    m = max(len(s.targets) for s in shapes)
    B = len(shapes)
    points = torch.zeros(B, n, 3, dtype=torch.float64)
    mask = torch.zeros(B, n, dtype=torch.bool)
    targets = torch.zeros(B, m, n, 3, dtype=torch.float64)
    target_mask = torch.zeros(B, m, dtype=torch.bool)
    for b, s in enumerate(shapes):
        k, t = len(s.points), len(s.targets)
        points[b, :k], mask[b, :k] = s.points, True
        targets[b, :t, :k], target_mask[b, :t] = s.targets, True
    return Batch(points, mask, targets, target_mask)
