"""Losses and metrics against the degenerate targets.

For a displacement field d and targets t_1..t_m of one shape (``data``), the distance to target k is the RMSD
sqrt(mean_i |d_i − t_k,i|²) over the real points. The loss is the smallest squared distance (any target is
accepted). A draw *hits* target k when its distance to t_k is below a quarter of the smallest distance between two
distinct targets (so it cannot be near two targets at once); a shape with one target is hit when the distance is
below a quarter of that target's own size. The coverage of the degenerate targets over K draws of one shape is
the total-variation distance of the chosen targets' histogram from uniform; it is reported with the same TV for an
exactly uniform sampler of K draws (its expectation, by simulation), since finite K alone makes it positive.
"""
from __future__ import annotations

import torch
from torch import Tensor

from .data import Batch

__all__ = ["target_distances", "loss", "hits", "uniform_tv_reference", "coverage_tv"]


def target_distances(displacements: Tensor, batch: Batch) -> Tensor:
    """RMSD of each field to each target, (B, M); +inf on padded targets."""
    m = batch.mask.to(displacements.dtype)
    diff = ((displacements.unsqueeze(1) - batch.targets) ** 2).sum(-1)  # (B, M, n)
    rmsd = torch.sqrt((diff * m.unsqueeze(1)).sum(-1) / m.sum(-1, keepdim=True))
    return torch.where(batch.target_mask, rmsd, torch.full_like(rmsd, float("inf")))


def loss(displacements: Tensor, batch: Batch) -> Tensor:
    """Mean over the batch of the smallest squared distance to a target."""
    return (target_distances(displacements, batch).min(-1).values ** 2).mean()


def _hit_radius(batch: Batch) -> Tensor:
    m = batch.mask.to(batch.targets.dtype)
    t = batch.targets
    pair = ((t.unsqueeze(1) - t.unsqueeze(2)) ** 2).sum(-1)  # (B, M, M, n)
    pair = torch.sqrt((pair * m[:, None, None]).sum(-1) / m.sum(-1)[:, None, None])
    valid = batch.target_mask.unsqueeze(1) & batch.target_mask.unsqueeze(2)
    valid &= ~torch.eye(t.shape[1], dtype=torch.bool)
    separation = torch.where(valid, pair, torch.full_like(pair, float("inf"))).flatten(1).min(-1).values
    size = torch.sqrt(((t[:, 0] ** 2).sum(-1) * m).sum(-1) / m.sum(-1))
    return 0.25 * torch.where(torch.isinf(separation), size, separation)


def hits(displacements: Tensor, batch: Batch) -> tuple[Tensor, Tensor, Tensor]:
    """(hit (B,) bool, the nearest target's index (B,), the distance to it (B,))."""
    d = target_distances(displacements, batch)
    nearest, index = d.min(-1)
    return nearest < _hit_radius(batch), index, nearest


def coverage_tv(chosen: Tensor, num_targets: int) -> float:
    """TV distance of the histogram of ``chosen`` (indices in [0, num_targets)) from uniform."""
    p = torch.bincount(chosen, minlength=num_targets).double() / len(chosen)
    return 0.5 * float((p - 1.0 / num_targets).abs().sum())


def uniform_tv_reference(num_draws: int, num_targets: int, repeats: int = 2000, seed: int = 0) -> float:
    """The expected ``coverage_tv`` of ``num_draws`` exactly uniform choices among ``num_targets`` (simulated)."""
    gen = torch.Generator().manual_seed(seed)
    draws = torch.randint(num_targets, (repeats, num_draws), generator=gen)
    return sum(coverage_tv(row, num_targets) for row in draws) / repeats
