"""The point-cloud SymPE network: equivariance in distribution in float64 with the generic checker, padding, and
the baseline's failure on a symmetric cloud (a constructed, untrained model)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from backend.equivariance import equivariance_error
from backend.groups import O3Element
from backend.nn.pointcloud import FrameEncoding, PointCloudEGNN, PointCloudEGNNConfig
from backend.pointcloud import canonicalize_point_cloud


class FrameEncoded(torch.nn.Module):
    """The backbone fed the frame encoding (or nothing when encoding_dim = 0)."""

    def __init__(self, encoding_dim: int):
        super().__init__()
        self.encoding = FrameEncoding(encoding_dim) if encoding_dim else None
        self.net = PointCloudEGNN(PointCloudEGNNConfig(num_types=3, hidden=16, num_layers=2, feature_dim=encoding_dim))

    def forward(self, points, types, mask, frames=None):
        features = None if self.encoding is None else self.encoding(points, frames, mask)
        return self.net(points, types, mask, features)


def model(encoding_dim: int, seed: int = 0) -> FrameEncoded:
    torch.manual_seed(seed)
    return FrameEncoded(encoding_dim).double().eval()


def square() -> torch.Tensor:
    t = 2 * math.pi * torch.arange(4, dtype=torch.float64) / 4
    return torch.stack([torch.cos(t), torch.sin(t), torch.zeros(4, dtype=torch.float64)], dim=1)


def act_frames(g: O3Element, h: torch.Tensor) -> torch.Tensor:
    return g.matrix @ h


@pytest.mark.parametrize("seed", range(4))
def test_joint_equivariance_under_o3_including_reflections(seed):
    """f(g·x, g h) = g·f(x, h) for Haar-random g in O(3), on a padded batch, in float64."""
    gen = torch.Generator().manual_seed(seed)
    net = model(8, seed)
    points = torch.randn(3, 6, 3, generator=gen, dtype=torch.float64)
    types = torch.randint(0, 3, (3, 6), generator=gen)
    mask = torch.tensor([[True] * 6, [True] * 4 + [False] * 2, [True] * 5 + [False]])
    frames = O3Element.random((3,), gen).matrix
    g = O3Element.random((), gen)
    assert g.det().item() != 0
    report = equivariance_error(lambda x, h: net(x, types, mask, h), [points, frames], g,
                                [lambda g, x: g.act_points(x), act_frames], lambda g, y: g.act_points(y))
    assert report.max_abs_error < 1e-12, report
    reflection = O3Element(torch.diag(torch.tensor([1.0, 1.0, -1.0], dtype=torch.float64)))
    report = equivariance_error(lambda x, h: net(x, types, mask, h), [points, frames], reflection,
                                [lambda g, x: g.act_points(x), act_frames], lambda g, y: g.act_points(y))
    assert report.max_abs_error < 1e-12, report


def test_translations_and_padding_do_not_change_the_displacements():
    gen = torch.Generator().manual_seed(1)
    net = model(8)
    points = torch.randn(1, 5, 3, generator=gen, dtype=torch.float64)
    types = torch.zeros(1, 5, dtype=torch.long)
    frames = O3Element.random((1,), gen).matrix
    mask = torch.ones(1, 5, dtype=torch.bool)
    out = net(points, types, mask, frames)
    assert torch.allclose(net(points + torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64), types, mask, frames), out, atol=1e-12)
    padded = torch.cat([points, 1e3 * torch.randn(1, 2, 3, generator=gen, dtype=torch.float64)], dim=1)
    pmask = torch.tensor([[True] * 5 + [False] * 2])
    pout = net(padded, torch.zeros(1, 7, dtype=torch.long), pmask, frames)
    assert torch.allclose(pout[:, :5], out, atol=1e-12) and (pout[:, 5:] == 0).all()


def test_the_baseline_keeps_every_symmetry_of_the_input_and_sympe_draws_break_them():
    """Without an encoding the displacement of a square satisfies R d_i = d_π(i) for all 16 symmetries, so the
    displaced cloud is still fixed by them; with kernel frames the same untrained architecture outputs clouds with
    fewer symmetries, different from draw to draw."""
    x = square()
    form = canonicalize_point_cloud(x)
    types, mask = torch.zeros(1, 4, dtype=torch.long), torch.ones(1, 4, dtype=torch.bool)
    d = model(0)(x[None], types, mask)[0]
    for r, perm in zip(form.stabilizer_elements().matrix, form.stabilizer.permutations):
        assert torch.allclose(d @ r.T, d[perm], atol=1e-12)
    assert canonicalize_point_cloud(x + d, tol=1e-6).stabilizer.order % 16 == 0

    net = model(8)
    frames = form.sample(6, torch.Generator().manual_seed(2)).matrix
    outs = net(x.expand(6, 4, 3), types.expand(6, 4), mask.expand(6, 4), frames)
    orders = [canonicalize_point_cloud(x + o, tol=1e-6).stabilizer.order for o in outs]
    assert max(orders) < 16
    assert not torch.allclose(outs[0], outs[1], atol=1e-6)


def test_kernel_draws_give_outputs_related_by_the_stabilizer():
    """Equivariance in distribution on a symmetric input: two draws h and s·h (s ∈ G_x) give outputs related
    by s and the permutation it realises: f(x, s h)_π(i) = R_s f(x, h)_i."""
    x = square()
    form = canonicalize_point_cloud(x)
    net = model(8, seed=3)
    types, mask = torch.zeros(1, 4, dtype=torch.long), torch.ones(1, 4, dtype=torch.bool)
    h = form.sample(1, torch.Generator().manual_seed(4)).matrix
    base = net(x[None], types, mask, h)[0]
    for r, perm in zip(form.stabilizer_elements().matrix, form.stabilizer.permutations):
        moved = net(x[None], types, mask, (r @ h[0])[None])[0]
        assert torch.allclose(moved[perm], base @ r.T, atol=1e-12)


def test_a_network_with_extra_features_refuses_a_call_without_them():
    net = PointCloudEGNN(PointCloudEGNNConfig(feature_dim=4))
    with pytest.raises(ValueError, match="4 extra features"):
        net(square()[None].float(), torch.zeros(1, 4, dtype=torch.long), torch.ones(1, 4, dtype=torch.bool))
