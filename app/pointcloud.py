"""The Point-cloud lab's inputs, cached computations and 3D figures (no page logic here).

Inputs are clouds as tuples of (x, y, z) rows (hashable, so computations cache on them) with optional types. The
backend does the mathematics: ``backend.pointcloud`` (stabilizer, frame, kernel), ``backend.pointcloud_io``
(uploads), ``backend.tasks.pointcloud`` (the families, their degenerate targets and the shipped models).
"""
from __future__ import annotations

import copy
import math

import numpy as np
import streamlit as st
import torch

from backend.groups import O3Element
from backend.pointcloud import canonicalize_point_cloud, point_group_name
from backend.pointcloud_io import parse_point_cloud
from backend.tasks.pointcloud.data import FAMILIES, base_shape, collate
from backend.tasks.pointcloud.data import Shape
from backend.tasks.pointcloud.metrics import hits

from . import models
from .figures import PALETTE, SpecFigure, plain

Cloud = tuple[tuple[float, float, float], ...]

_BENZENE = [(1.39 * math.cos(k * math.pi / 3), 1.39 * math.sin(k * math.pi / 3), 0.0) for k in range(6)]
EXTRA_PRESETS: dict[str, tuple[list[tuple[float, float, float]], list[str] | None]] = {
    "benzene ring (carbons)": (_BENZENE, ["C"] * 6),
    "carbon dioxide (linear)": ([(0.0, 0.0, -1.16), (0.0, 0.0, 0.0), (0.0, 0.0, 1.16)], ["O", "C", "O"]),
    "generic cloud": ([(0.9, 0.1, -0.3), (-0.4, 0.8, 0.2), (-0.3, -0.7, 0.6), (0.2, -0.1, -1.0), (-0.5, 0.2, 0.9)], None),
}
PRESETS = tuple(FAMILIES) + tuple(EXTRA_PRESETS)
UPLOAD_LIMIT = 200  # points in an uploaded cloud (the model runs on all pairs)
OUTPUT_TOL = 0.02  # relative tolerance of the outputs' point groups: the models are accurate to about 1% of the radius


def preset(name: str) -> tuple[Cloud, tuple[str, ...] | None]:
    if name in FAMILIES:
        points, _ = base_shape(name)
        return tuple(tuple(float(v) for v in p) for p in points), None
    points, types = EXTRA_PRESETS[name]
    return tuple(points), None if types is None else tuple(types)


def parse_upload(data: bytes, filename: str) -> tuple[Cloud, tuple[str, ...] | None]:
    """An uploaded XYZ or JSON cloud (backend.pointcloud_io); raises its one-line PointCloudInputError."""
    fmt = "json" if filename.lower().endswith(".json") else "xyz"
    cloud = parse_point_cloud(data, fmt, source=filename, max_points=UPLOAD_LIMIT)
    return tuple(tuple(p) for p in cloud.points), None if cloud.types is None else tuple(cloud.types)


def transform(alpha: float, beta: float, gamma: float, mirror: bool) -> np.ndarray:
    """The O(3) element R = Rz(α) Ry(β) Rz(γ), times the mirror z ↦ −z first when ``mirror`` (angles in degrees)."""
    a, b, c = (math.radians(t) for t in (alpha, beta, gamma))

    def rz(t):
        return np.array([[math.cos(t), -math.sin(t), 0], [math.sin(t), math.cos(t), 0], [0, 0, 1]])

    ry = np.array([[math.cos(b), 0, math.sin(b)], [0, 1, 0], [-math.sin(b), 0, math.cos(b)]])
    return rz(a) @ ry @ rz(c) @ np.diag([1.0, 1.0, -1.0 if mirror else 1.0])


def moved(cloud: Cloud, matrix: np.ndarray) -> Cloud:
    return tuple(tuple(float(v) for v in row) for row in np.asarray(cloud) @ matrix.T)


@st.cache_data(show_spinner=False, max_entries=64)
def analyse(cloud: Cloud, types: tuple[str, ...] | None, tol: float) -> dict:
    """The group, frame and canonical cloud of a cloud, as plain data."""
    form = canonicalize_point_cloud(np.asarray(cloud, dtype=np.float64).reshape(-1, 3), types, tol)
    stab = form.stabilizer
    summary = {"kind": stab.kind, "order": stab.order, "name": point_group_name(stab), "rank": form.rank,
               "centroid": form.centroid.numpy(), "frame": form.frame.numpy(), "canonical": form.canonical_cloud.numpy()}
    if stab.is_finite:
        mats = stab.matrices.numpy()
        det = np.linalg.det(mats)
        summary.update(rotations=int((det > 0).sum()), improper=int((det < 0).sum()),
                       inversion=bool(np.any(np.all(np.abs(mats + np.eye(3)) < 1e-9, axis=(1, 2)))))
    return summary


@st.cache_data(show_spinner=False, max_entries=64)
def kernel_frames(cloud: Cloud, types: tuple[str, ...] | None, tol: float, k: int, seed: int) -> np.ndarray:
    """K inversion-kernel frames h (K, 3, 3) drawn from the session seed."""
    form = canonicalize_point_cloud(np.asarray(cloud, dtype=np.float64).reshape(-1, 3), types, tol)
    return form.sample(k, torch.Generator().manual_seed(seed)).matrix.numpy()


def shipped_variants() -> list[str]:
    return [v for v in models.POINTCLOUD_VARIANTS if models.shipped("pointcloud", v)]


@st.cache_data(show_spinner=False, max_entries=64)
def predict(cloud: Cloud, tol: float, variant: str, k: int, seed: int, sha256: str) -> dict:
    """K draws of a shipped model on the cloud (types are ignored by the models): displacements (K, n, 3), the
    frames used (or None) and the point group of each output."""
    model = models.pointcloud_model(variant)
    points = torch.tensor(cloud, dtype=torch.float64).reshape(1, -1, 3).expand(k, -1, 3)
    mask = torch.ones(k, points.shape[1], dtype=torch.bool)
    form = canonicalize_point_cloud(points[0], tol=tol)
    generator = torch.Generator().manual_seed(seed)
    frames = model.frames(points, mask, generator, forms=[form] * k)
    with torch.inference_mode():
        d = model(points.float(), mask, generator=generator, frames=None if frames is None else frames.float()).double()
    groups = []
    for out in (points + d):
        try:
            stab = canonicalize_point_cloud(out, tol=OUTPUT_TOL).stabilizer
            groups.append((point_group_name(stab), stab.order))
        except ValueError as exc:  # e.g. two output points on top of each other
            groups.append((f"undetermined ({exc})", None))
    return {"displacements": d.numpy(), "frames": None if frames is None else frames.numpy(), "groups": groups}


def nearest_targets(family: str, cloud: Cloud, displacements: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """For a family preset (in its reference orientation, possibly moved by ``cloud``'s transform): the hit flags
    and nearest target of each draw, and the number of targets."""
    points, targets = base_shape(family)
    rotation, *_ = np.linalg.lstsq(points, np.asarray(cloud), rcond=None)  # cloud = points · Rᵀ (exact for the presets)
    shape = Shape(family, torch.tensor(np.asarray(cloud)), torch.tensor(targets @ rotation))
    batch = collate([shape] * len(displacements))
    hit, index, _ = hits(torch.tensor(displacements), batch)
    return hit.numpy(), index.numpy(), len(targets)


@st.cache_data(show_spinner=False, max_entries=32)
def equivariance_errors(cloud: Cloud, tol: float, seed: int, shas: tuple) -> dict[str, float]:
    """max |f(g·x, g h) − g·f(x, h)| in float64 for every shipped variant, with a Haar-random g ∈ O(3) (reflections
    included) from the seed, the same kernel frame h moved by g and the same noise on both sides; ``fixed`` uses its
    own frame, the identity, on both sides (it does not move with g, which is why it is not equivariant)."""
    gen = torch.Generator().manual_seed(seed)
    g = O3Element.random((), gen)
    x = torch.tensor(cloud, dtype=torch.float64).reshape(1, -1, 3)
    mask = torch.ones(1, x.shape[1], dtype=torch.bool)
    h = canonicalize_point_cloud(x[0], tol=tol).sample(1, gen).matrix
    errors = {}
    for variant in shipped_variants():
        model = copy.deepcopy(models.pointcloud_model(variant)).double()
        frames, moved_frames = (None, None) if variant == "fixed" else (h, g.matrix @ h)
        with torch.inference_mode():
            y = model(x, mask, generator=torch.Generator().manual_seed(seed), frames=frames)
            y_g = model(g.act_points(x), mask, generator=torch.Generator().manual_seed(seed), frames=moved_frames)
        errors[variant] = float((y_g - g.act_points(y)).abs().max())
    return errors


# ----------------------------------------------------------------------------------------------------------------------
# Figures


def _scene(extent: float) -> dict:
    axis = {"range": [-extent, extent], "title": {"text": ""}, "showbackground": False, "zeroline": False}
    return {"xaxis": {**axis, "title": {"text": "x"}}, "yaxis": {**axis, "title": {"text": "y"}},
            "zaxis": {**axis, "title": {"text": "z"}}, "aspectmode": "cube"}


def _points_trace(points: np.ndarray, types, name: str, color: str, size: int = 7, opacity: float = 1.0) -> dict:
    labels = plain(types) if types is not None else [str(i) for i in range(len(points))]
    return {"type": "scatter3d", "mode": "markers", "name": name, "x": points[:, 0].tolist(), "y": points[:, 1].tolist(),
            "z": points[:, 2].tolist(), "text": labels, "hovertemplate": "%{text}: (%{x:.3f}, %{y:.3f}, %{z:.3f})<extra></extra>",
            "marker": {"size": size, "color": color, "opacity": opacity, "line": {"width": 1, "color": "#333"}}}


def _frame_traces(origin: np.ndarray, frame: np.ndarray, length: float, name: str, colors=("#d62728", "#2ca02c", "#1f77b4"),
                  width: int = 6, show: bool = True) -> list[dict]:
    traces = []
    for axis, color in enumerate(colors):
        end = origin + length * frame[:, axis]
        traces.append({"type": "scatter3d", "mode": "lines", "name": f"{name} e{axis + 1}", "showlegend": show,
                       "x": [origin[0], end[0]], "y": [origin[1], end[1]], "z": [origin[2], end[2]],
                       "line": {"color": color, "width": width}, "hoverinfo": "name"})
    return traces


def _extent(*clouds: np.ndarray) -> float:
    values = [np.abs(c).max() for c in clouds if len(c)]
    return 1.25 * max(values + [1.0])


def cloud_figure(cloud: Cloud, types, summary: dict, title: str, height: int = 420) -> SpecFigure:
    """The cloud with its canonical frame γ drawn from the centroid."""
    points = np.asarray(cloud, dtype=np.float64).reshape(-1, 3)
    extent = _extent(points - summary["centroid"]) + float(np.abs(summary["centroid"]).max())
    traces = [_points_trace(points, types, "points", PALETTE[0])]
    traces += _frame_traces(summary["centroid"], summary["frame"], 0.8 * extent / 1.25, "frame γ")
    return SpecFigure(traces, {"title": {"text": title}, "height": height, "scene": _scene(extent),
                               "margin": {"l": 0, "r": 0, "t": 40, "b": 0}, "legend": {"orientation": "h", "y": -0.05}})


def frames_figure(cloud: Cloud, summary: dict, frames: np.ndarray, height: int = 420) -> SpecFigure:
    """The cloud with the first axis e1 of each sampled frame h (one colour per draw)."""
    points = np.asarray(cloud, dtype=np.float64).reshape(-1, 3)
    centroid = summary["centroid"]
    extent = _extent(points - centroid) + float(np.abs(centroid).max())
    traces = [_points_trace(points, None, "points", "#bbbbbb", size=6)]
    for k, h in enumerate(frames):
        color = PALETTE[(k + 1) % len(PALETTE)]
        traces += _frame_traces(centroid, h, 0.8 * extent / 1.25, f"h{k + 1}", colors=(color,), width=5, show=True)
    return SpecFigure(traces, {"title": {"text": f"{len(frames)} sampled frames h: their first axes e1"}, "height": height,
                               "scene": _scene(extent), "margin": {"l": 0, "r": 0, "t": 40, "b": 0},
                               "legend": {"orientation": "h", "y": -0.05}})


def output_figure(cloud: Cloud, displacement: np.ndarray, title: str, height: int = 340) -> SpecFigure:
    """The input (grey) and the displaced output (coloured), with the displacement of each point as a line."""
    points = np.asarray(cloud, dtype=np.float64).reshape(-1, 3)
    out = points + displacement
    extent = _extent(points - points.mean(0), out - points.mean(0)) + float(np.abs(points.mean(0)).max())
    lines = {"type": "scatter3d", "mode": "lines", "name": "displacement", "hoverinfo": "skip", "showlegend": False,
             "x": [v for p, q in zip(points[:, 0], out[:, 0]) for v in (p, q, None)],
             "y": [v for p, q in zip(points[:, 1], out[:, 1]) for v in (p, q, None)],
             "z": [v for p, q in zip(points[:, 2], out[:, 2]) for v in (p, q, None)],
             "line": {"color": "#888", "width": 3}}
    traces = [_points_trace(points, None, "input", "#cccccc", size=5, opacity=0.7), lines,
              _points_trace(out, None, "output", PALETTE[1], size=6)]
    return SpecFigure(traces, {"title": {"text": title}, "height": height, "scene": _scene(extent), "showlegend": False,
                               "margin": {"l": 0, "r": 0, "t": 40, "b": 0}})
