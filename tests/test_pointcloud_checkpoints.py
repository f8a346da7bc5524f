"""Shipped point-cloud distortion models: they load (sha256-checked), reproduce the small evaluation and the test
metrics of their manifest entry, and the shipped networks keep their symmetry laws (float64).

Tolerance for the reproduced metrics (same seeds, same data, one CPU thread; only floating-point summation order
can differ between machines): |Δ mean distance| ≤ 1e-3 and |Δ hit rate| ≤ two shapes of the set. A variant whose
weights are absent is skipped with the reason."""
from __future__ import annotations

import copy

import pytest
import torch
from shipped import shipped_or_skip

from backend.groups import O3Element
from backend.tasks.pointcloud.data import collate, make_split
from backend.tasks.pointcloud.evaluate import evaluate, small_eval
from backend.tasks.pointcloud.model import VARIANTS, load_pointcloud_model


def close(got: dict, expected: dict, shapes: int) -> None:
    assert abs(got["mean_distance"] - expected["mean_distance"]) <= 1e-3, (got, expected)
    assert abs(got["hit_pct"] - expected["hit_pct"]) <= 200.0 / shapes + 1e-9, (got, expected)


@pytest.mark.parametrize("variant", VARIANTS)
def test_shipped_model_reproduces_its_small_evaluation(variant):
    entry = shipped_or_skip(f"pointcloud/{variant}")
    model = load_pointcloud_model(variant)
    assert model.config.variant == variant
    close(small_eval(model), entry["small_eval"], entry["small_eval"]["shapes"])


@pytest.mark.parametrize("variant", ["none", "sympe"])
def test_shipped_model_reproduces_its_test_metrics(variant):
    entry = shipped_or_skip(f"pointcloud/{variant}")
    expected = entry["metrics"]
    got = evaluate(load_pointcloud_model(variant), samples=expected["draws_per_shape"])
    close(got, expected, expected["shapes"] * expected["draws_per_shape"])
    assert abs(got["coverage_tv"] - expected["coverage_tv"]) <= 0.02


@pytest.mark.parametrize("variant", ["none", "noise", "sympe"])
def test_shipped_networks_are_jointly_equivariant(variant):
    """f(g·x, g·h) = g·f(x, h) in float64 for the shipped weights (noise: the same noise on both sides)."""
    shipped_or_skip(f"pointcloud/{variant}")
    model = copy.deepcopy(load_pointcloud_model(variant)).double()
    batch = collate(make_split("val", 8))
    gen = torch.Generator().manual_seed(0)
    frames = O3Element.random((8,), gen).matrix
    g = O3Element.random((), gen)
    with torch.no_grad():
        out = model(batch.points, batch.mask, generator=torch.Generator().manual_seed(1), frames=frames)
        moved = model(g.act_points(batch.points), batch.mask, generator=torch.Generator().manual_seed(1), frames=g.matrix @ frames)
    assert torch.allclose(moved, g.act_points(out), atol=1e-10)
