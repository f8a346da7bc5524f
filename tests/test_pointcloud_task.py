"""The point-cloud distortion task: degenerate targets are whole orbits, metrics mean what they say, the equivariant
baseline provably cannot hit a target, and the model, trainer, reader and CLI behave (float64 where exactness is
claimed)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from backend.checkpoints import read_manifest
from backend.cli import main as cli_main
from backend.groups import O3Element
from backend.pointcloud import canonicalize_point_cloud
from backend.pointcloud_io import MAX_BYTES, PointCloudInputError, parse_point_cloud
from backend.tasks.pointcloud import train as train_module
from backend.tasks.pointcloud.data import FAMILIES, Batch, base_shape, collate, degenerate_targets, make_split, random_instance
from backend.tasks.pointcloud.metrics import coverage_tv, hits, loss, target_distances, uniform_tv_reference
from backend.tasks.pointcloud.model import VARIANTS, DistortionModel, PointCloudConfig, load_pointcloud_model


def as_set(fields: torch.Tensor | np.ndarray) -> set:
    return {tuple(np.round(np.asarray(f), 6).ravel()) for f in fields}


# ----------------------------------------------------------------------------------------------------------------------
# Data


@pytest.mark.parametrize("family", FAMILIES)
def test_targets_are_one_orbit_of_the_mode_and_each_lowers_the_symmetry(family):
    """The number of targets is |G_x| / |G_x ∩ Stab(d⁰)| (orbit–stabilizer, counted independently), the set is
    closed under G_x, and every distorted shape x + t has the same, smaller, number of symmetries."""
    points, targets = base_shape(family)
    mode = FAMILIES[family][1]
    form = canonicalize_point_cloud(points)
    mats, perms = form.stabilizer_elements().matrix.numpy(), form.stabilizer.permutations.numpy()
    fixing = 0
    for r, p in zip(mats, perms):
        moved = np.empty_like(mode)
        moved[p] = mode @ r.T
        fixing += np.allclose(moved, mode, atol=1e-9)
        assert tuple(np.round(moved, 6).ravel()) in as_set(targets)
    assert len(targets) == len(mats) // fixing == len(as_set(targets))
    orders = {canonicalize_point_cloud(points + t).stabilizer.order for t in targets}
    assert len(orders) == 1 and orders.pop() < form.stabilizer.order


@pytest.mark.parametrize("family", ["3-gon", "8-gon", "tetrahedron", "cube"])
def test_random_instances_carry_their_targets_along(family):
    shape = random_instance(family, torch.Generator().manual_seed(3))
    recomputed = degenerate_targets(shape.points.numpy(), shape.targets[0].numpy())
    assert as_set(recomputed) == as_set(shape.targets)
    radius = shape.points.sub(shape.points.mean(0)).norm(dim=1)
    assert 0.8 - 1e-9 <= float(radius.max()) <= 1.5 + 1e-9


def test_splits_are_seeded_and_disjoint_in_their_draws():
    a, b = make_split("val", 8), make_split("val", 8)
    assert all(torch.equal(x.points, y.points) for x, y in zip(a, b))
    test = make_split("test", 8)
    assert not any(torch.allclose(x.points, y.points) for x, y in zip(a, test) if x.points.shape == y.points.shape)


def test_collate_pads_after_the_real_entries():
    shapes = make_split("val", 6)
    batch = collate(shapes)
    for b, s in enumerate(shapes):
        n, m = len(s.points), len(s.targets)
        assert batch.mask[b].tolist() == [True] * n + [False] * (batch.points.shape[1] - n)
        assert batch.target_mask[b].sum() == m and (batch.points[b, n:] == 0).all()


# ----------------------------------------------------------------------------------------------------------------------
# Metrics


def one(family: str = "6-gon") -> Batch:
    return collate([random_instance(family, torch.Generator().manual_seed(0))])


def test_a_target_has_zero_loss_and_hits_itself():
    batch = one()
    for k in range(int(batch.target_mask.sum())):
        field = batch.targets[:, k]
        assert float(loss(field, batch)) == 0.0
        hit, index, distance = hits(field, batch)
        assert hit.item() and index.item() == k and distance.item() == 0.0


def test_the_average_of_the_targets_hits_none_of_them():
    """The orbit average is what an equivariant model can at best output: equally far from every target."""
    batch = one("tetrahedron")
    mean = batch.targets[:, batch.target_mask[0]].mean(1)
    d = target_distances(mean, batch)[0, batch.target_mask[0]]
    assert torch.allclose(d, d[0].expand_as(d), atol=1e-12)
    assert not hits(mean, batch)[0].item()


def test_coverage_tv_and_its_uniform_reference():
    assert coverage_tv(torch.tensor([0, 1, 2, 0, 1, 2]), 3) == 0.0
    assert math.isclose(coverage_tv(torch.tensor([0, 0, 0, 0]), 2), 0.5)
    assert uniform_tv_reference(4000, 3, repeats=50) < 0.03 < uniform_tv_reference(8, 3, repeats=200)


# ----------------------------------------------------------------------------------------------------------------------
# Model


def untrained(variant: str) -> DistortionModel:
    torch.manual_seed(0)
    return DistortionModel(PointCloudConfig(variant=variant, hidden=16, num_layers=2, encoding_dim=8)).double().eval()


@pytest.mark.parametrize("family", ["4-gon", "6-gon", "tetrahedron", "octahedron"])
def test_the_equivariant_baseline_is_equally_far_from_every_target(family):
    """For `none`, f(x) is fixed by G_x and the targets form one G_x-orbit, so every target is at the same
    distance: no target can be hit, whatever the weights."""
    batch = one(family)
    with torch.no_grad():
        out = untrained("none")(batch.points, batch.mask)
    d = target_distances(out, batch)[0, batch.target_mask[0]]
    assert torch.allclose(d, d[0].expand_as(d), atol=1e-10)
    assert not hits(out, batch)[0].item()


def test_sympe_model_is_jointly_equivariant_and_the_fixed_one_is_not():
    batch = collate(make_split("val", 4))
    gen = torch.Generator().manual_seed(5)
    frames = O3Element.random((4,), gen).matrix
    g = O3Element.random((), gen)
    with torch.no_grad():
        sympe = untrained("sympe")
        out = sympe(batch.points, batch.mask, frames=frames)
        moved = sympe(g.act_points(batch.points), batch.mask, frames=g.matrix @ frames)
        assert torch.allclose(moved, g.act_points(out), atol=1e-12)
        fixed = untrained("fixed")
        out, moved = fixed(batch.points, batch.mask), fixed(g.act_points(batch.points), batch.mask)
        assert not torch.allclose(moved, g.act_points(out), atol=1e-6)


def test_sympe_draws_of_one_symmetric_shape_reach_different_targets_in_distribution():
    """Kernel frames of one square: outputs for frames h and s·h (s in G_x) are related by s, so their nearest
    targets are related by s too; over the 16 elements both targets are reached equally often."""
    batch = one("4-gon")
    model = untrained("sympe")
    x = batch.points[0, batch.mask[0]]
    form = canonicalize_point_cloud(x)
    h = form.sample(1, torch.Generator().manual_seed(1)).matrix
    frames = form.stabilizer_elements().matrix @ h  # the whole fibre G_x·h
    rep = Batch(batch.points.expand(16, -1, -1), batch.mask.expand(16, -1), batch.targets.expand(16, -1, -1, -1),
                batch.target_mask.expand(16, -1))
    with torch.no_grad():
        _, index, _ = hits(model(rep.points, rep.mask, frames=frames), rep)
    assert torch.bincount(index, minlength=2).tolist() == [8, 8]


def test_every_variant_runs_on_a_padded_batch_with_zero_output_on_padding():
    batch = collate(make_split("val", 5))
    for variant in VARIANTS:
        with torch.no_grad():
            out = untrained(variant)(batch.points, batch.mask, generator=torch.Generator().manual_seed(0))
        assert out.shape == batch.points.shape and torch.isfinite(out).all()
        assert (out[~batch.mask] == 0).all()


def test_the_trainer_ships_a_model_that_loads_and_its_options_come_from_the_configs(tmp_path, capsys):
    args = ["--variant", "sympe", "--steps", "3", "--batch", "4", "--hidden", "8", "--num-layers", "1",
            "--encoding-dim", "4", "--out", str(tmp_path), "--log-file", str(tmp_path / "log.jsonl")]
    assert train_module.main(args) == 0
    entry = read_manifest(tmp_path / "manifest.json")["pointcloud/sympe"]
    assert entry["command"].endswith(" ".join(args)) and entry["config"]["hidden"] == 8
    assert entry["training"]["steps"] == 3 and 0 <= entry["small_eval"]["hit_pct"] <= 100
    model = load_pointcloud_model("sympe", root=tmp_path)
    assert model.config == PointCloudConfig(variant="sympe", hidden=8, num_layers=1, encoding_dim=4)
    capsys.readouterr()
    with pytest.raises(SystemExit):
        train_module.main(["--help"])
    text = capsys.readouterr().out
    for option in ("--variant", "--hidden", "--num-layers", "--encoding-dim", "--steps", "--batch", "--lr", "--clip", "--shards",
                   "--seed", "--device", "--threads", "--out", "--log-file", "--ship", "--eval-every"):
        assert option in text


# ----------------------------------------------------------------------------------------------------------------------
# Reading and the CLI


@pytest.mark.parametrize("data, fmt, words", [
    (b"2\n\nC 0 0 0\nC 1 0 nan\n", "xyz", "line 4"),
    (b"2\n\nC 0 0 0\nC 1 0 1e400\n", "xyz", "finite"),
    (b"3\n\nC 0 0 0\nC 1 0 0\n", "xyz", "only 2"),
    (b"1\n\nC 0 0 0 7\n", "xyz", "5 columns"),
    (b"x\n", "xyz", "line 1"),
    (b"99999999\n", "xyz", "between 0 and"),
    (b'{"points": [[0, 0, NaN]]}', "json", "finite"),
    (b'{"points": [[0, 0]]}', "json", "points[0]"),
    (b'{"points": [[0, 0, 0]], "colour": 1}', "json", "unknown key"),
    (b'{"points": [[0, 0, 0]], "types": ["C", "N"]}', "json", "one entry per point"),
    (b'{"points": [[0, 0, "<b>x</b>"]]}', "json", "not a number"),
    (b"[" * 100_000, "json", "not valid JSON"),
    (b"\xff\xfe", "xyz", "UTF-8"),
    (b" " * (MAX_BYTES + 1), "xyz", "bytes"),
])
def test_bad_point_cloud_files_are_refused_in_one_line(data, fmt, words):
    with pytest.raises(PointCloudInputError) as err:
        parse_point_cloud(data, fmt, source="f")
    assert words in str(err.value) and "\n" not in str(err.value)


def test_xyz_and_json_give_the_same_cloud():
    a = parse_point_cloud(b"2\ncomment\nC 0 0 0\nO 1.5 0 -2\n", "xyz")
    b = parse_point_cloud(json.dumps({"points": [[0, 0, 0], [1.5, 0, -2]], "types": ["C", "O"]}).encode(), "json")
    assert a == b


shipped = pytest.mark.skipif("pointcloud/sympe" not in read_manifest(), reason="pointcloud/sympe is not shipped")


@shipped
def test_cli_predict_point_cloud_reports_the_group_and_draws(tmp_path, capsys):
    path = tmp_path / "hexagon.xyz"
    rows = [f"C {math.cos(k * math.pi / 3):.12f} {math.sin(k * math.pi / 3):.12f} 0" for k in range(6)]
    path.write_text("6\nhexagon\n" + "\n".join(rows) + "\n")
    assert cli_main(["predict", "point-cloud", "--points", str(path), "--samples", "3", "--seed", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["stabilizer"]["order"] == 24 and out["stabilizer"]["name"] == "D6h"
    assert len(out["stabilizer"]["elements"]) == 24 and len(out["samples"]) == 3
    for s in out["samples"]:
        h = torch.tensor(s["frame"])
        assert torch.allclose(h @ h.T, torch.eye(3, dtype=h.dtype), atol=1e-5)
        assert np.allclose(np.array(s["output"]) - np.array(s["displacement"]), np.array([r for r in out["samples"][0]["output"]]) - np.array(out["samples"][0]["displacement"]))


@pytest.mark.parametrize("argv, words", [
    (["--samples", "0"], "--samples"),
    (["--seed", "-1"], "--seed"),
    (["--tol", "1"], "--tol"),
    (["--variant", "bogus"], "invalid choice"),
])
def test_cli_refuses_bad_options_in_one_line(tmp_path, capsys, argv, words):
    path = tmp_path / "p.xyz"
    path.write_text("2\n\nC 0 0 0\nC 1 0 0\n")
    assert cli_main(["predict", "point-cloud", "--points", str(path), *argv]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1
