"""The Point-cloud lab's inputs, cached computations, model status and 3D figures (no page logic here).

Inputs are clouds as tuples of (x, y, z) rows (hashable, so computations cache on them) with optional types. The
backend does the mathematics: ``backend.pointcloud`` (stabilizer, frame, kernel), ``backend.pointcloud_io``
(uploads), ``backend.tasks.pointcloud`` (the families, their degenerate targets and the shipped models). Cached
results are never mutated by the page; the cached models are never mutated either (the float64 equivariance check
runs on a deep copy).
"""
from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

from backend.checkpoints import CheckpointError
from backend.encodings import encoding
from backend.groups import O3Element
from backend.options import one_line
from backend.pointcloud import PointCloudCanonicalForm, canonicalize_point_cloud, point_group_name
from backend.pointcloud_io import MAX_BYTES, PointCloudInputError, parse_point_cloud
from backend.tasks import TASKS
from backend.tasks.pointcloud.data import FAMILIES, Shape, base_shape, collate
from backend.tasks.pointcloud.metrics import hits

from . import models
from .figures import PALETTE, SpecFigure, plain, wrap

log = logging.getLogger("sympe.app")

Cloud = tuple[tuple[float, float, float], ...]
Matrix = tuple[tuple[float, float, float], ...]
Pose = tuple[Cloud, Matrix]  # (base, R): a cloud given as the base cloud moved by R ∈ O(3)

VARIANTS = TASKS["pointcloud"].variants
_CC, _CH = 1.39, 1.09  # benzene: C–C and C–H bond lengths in Å
_BENZENE_C = [(_CC * math.cos(k * math.pi / 3), _CC * math.sin(k * math.pi / 3), 0.0) for k in range(6)]
_BENZENE_H = [((_CC + _CH) * math.cos(k * math.pi / 3), (_CC + _CH) * math.sin(k * math.pi / 3), 0.0) for k in range(6)]
EXTRA_PRESETS: dict[str, tuple[list[tuple[float, float, float]], list[str] | None]] = {
    "benzene ring (carbons)": (_BENZENE_C, ["C"] * 6),
    "benzene (carbons and hydrogens)": (_BENZENE_C + _BENZENE_H, ["C"] * 6 + ["H"] * 6),
    "carbon dioxide (linear)": ([(0.0, 0.0, -1.16), (0.0, 0.0, 0.0), (0.0, 0.0, 1.16)], ["O", "C", "O"]),
    "generic cloud": ([(0.9, 0.1, -0.3), (-0.4, 0.8, 0.2), (-0.3, -0.7, 0.6), (0.2, -0.1, -1.0), (-0.5, 0.2, 0.9)], None),
}
PRESETS = tuple(FAMILIES) + tuple(EXTRA_PRESETS)
UPLOAD_LIMIT = 100  # points in an uploaded cloud: the model runs on all pairs (about 4 s at 100 points, K = 16, one thread)
UPLOAD_MB = max(1, math.ceil(MAX_BYTES / 2**20))  # the uploader's own size limit; the parser checks MAX_BYTES exactly
OUTPUT_TOL = 0.02  # relative tolerance of the outputs' point groups: the models are accurate to about 1% of the radius
KEPT_TOL = 1e-4  # an output whose symmetry defect (relative to the radius) is below this keeps the input's group
TRANSPORT_TOL = 1e-4  # relative to a radius: outputs this close share their point group (float32 rounding is ~1e-7)
TRAINED_RADII = (0.8, 1.5)  # circumradii of the training shapes (backend.tasks.pointcloud.data)
TYPE_COLORS = {"C": "#404040", "H": "#bdbdbd", "O": "#d62728", "N": "#1f77b4", "S": "#e8c21d", "F": "#2ca02c",
               "Cl": "#2ca02c", "P": "#ff7f0e"}
AXIS_COLORS = ("#d62728", "#2ca02c", "#1f77b4")


# ----------------------------------------------------------------------------------------------------------------------
# Inputs


def preset(name: str) -> tuple[Cloud, tuple[str, ...] | None]:
    if name in FAMILIES:
        points, _ = base_shape(name)
        return tuple(tuple(float(v) for v in p) for p in points), None
    points, types = EXTRA_PRESETS[name]
    return tuple(points), None if types is None else tuple(types)


def parse_upload(data: bytes, filename: str) -> tuple[Cloud, tuple[str, ...] | None]:
    """An uploaded XYZ or JSON cloud (backend.pointcloud_io) of 1 to UPLOAD_LIMIT points; raises a one-line
    PointCloudInputError naming the file and what is wrong."""
    fmt = "json" if filename.lower().endswith(".json") else "xyz"
    cloud = parse_point_cloud(data, fmt, source=filename, max_points=UPLOAD_LIMIT)
    if not cloud.points:
        raise PointCloudInputError(f"{filename}: the cloud has no points")
    return tuple(tuple(p) for p in cloud.points), None if cloud.types is None else tuple(cloud.types)


def transform(alpha: float, beta: float, gamma: float, mirror: bool) -> np.ndarray:
    """The O(3) element R = Rz(α) Ry(β) Rz(γ), times the mirror z ↦ −z first when ``mirror`` (angles in degrees)."""
    a, b, c = (math.radians(t) for t in (alpha, beta, gamma))

    def rz(t):
        return np.array([[math.cos(t), -math.sin(t), 0], [math.sin(t), math.cos(t), 0], [0, 0, 1]])

    ry = np.array([[math.cos(b), 0, math.sin(b)], [0, 1, 0], [-math.sin(b), 0, math.cos(b)]])
    return rz(a) @ ry @ rz(c) @ np.diag([1.0, 1.0, -1.0 if mirror else 1.0])


def as_key(matrix: np.ndarray) -> Matrix:
    """A 3×3 matrix as nested tuples (a hashable cache key)."""
    return tuple(tuple(float(v) for v in row) for row in np.asarray(matrix))


def moved(cloud: Cloud, matrix: np.ndarray) -> Cloud:
    return tuple(tuple(float(v) for v in row) for row in np.asarray(cloud) @ np.asarray(matrix).T)


def order_text(order: float | None) -> str:
    if order is None:
        return "?"
    return "∞" if order == math.inf else str(int(order))


# ----------------------------------------------------------------------------------------------------------------------
# The group, the frame and the kernel (no model needed)


@st.cache_resource(show_spinner=False, max_entries=64)
def _form(cloud: Cloud, types: tuple[str, ...] | None, tol: float) -> PointCloudCanonicalForm:
    """The canonical form of a cloud, computed once per input and shared by every panel and session (read only)."""
    return canonicalize_point_cloud(np.asarray(cloud, dtype=np.float64).reshape(-1, 3), types, tol)


def _cached(max_entries: int):
    """st.cache_data for this module's computations. Their arguments are floats, ints, strings, None and tuples of
    these, so a tuple is hashed by its repr, one string (exact: a float's repr reads back as the same float), instead
    of by Streamlit's item-by-item walk over its items."""
    return st.cache_data(show_spinner=False, max_entries=max_entries, hash_funcs={tuple: repr})


@_cached(64)
def analyse(cloud: Cloud, types: tuple[str, ...] | None, tol: float) -> dict:
    """The group, frame and canonical cloud of a cloud, as plain data (raises PointCloudError)."""
    form = _form(cloud, types, tol)
    stab = form.stabilizer
    summary = {"kind": stab.kind, "order": stab.order, "name": point_group_name(stab), "rank": form.rank,
               "centroid": form.centroid.numpy(), "frame": form.frame.numpy(), "canonical": form.canonical_cloud.numpy(),
               "radius": float(form.scale), "reversible": bool(stab.reversible)}
    if stab.is_finite:
        mats = stab.matrices.numpy()
        det = np.linalg.det(mats)
        summary.update(rotations=int((det > 0).sum()), improper=int((det < 0).sum()),
                       inversion=bool(np.any(np.all(np.abs(mats + np.eye(3)) < 1e-9, axis=(1, 2)))))
    return summary


def group_listing(summary: dict) -> str:
    """A compact description of the point group (markdown)."""
    if summary["kind"] == "finite":
        if summary["order"] == 1:
            return "Only the identity: the cloud has no symmetry."
        return (f"- {summary['rotations']} rotations (det +1, the identity included), {summary['improper']} "
                f"reflections and rotoreflections (det −1)\n- inversion −I: {'yes' if summary['inversion'] else 'no'}")
    if summary["kind"] == "axial":
        return ("A collinear cloud: every rotation about its axis and every mirror containing the axis fix it"
                + ("; so does reversing the axis (inversion −I included)." if summary["reversible"] else "."))
    return "At most one point: all of O(3) fixes it."


@_cached(64)
def kernel_frames(cloud: Cloud, types: tuple[str, ...] | None, tol: float, k: int, seed: int) -> np.ndarray:
    """K inversion-kernel frames h = s·γ (K, 3, 3), s uniform on G_x, drawn from the session seed."""
    return _form(cloud, types, tol).sample(k, torch.Generator().manual_seed(seed)).matrix.numpy()


def distinct_frames(frames: np.ndarray) -> int:
    return len({tuple(np.round(h, 6).ravel()) for h in frames})


def kernel_check(cloud: Cloud, summary: dict, frames: np.ndarray) -> float:
    """max over the draws h of the distance between hᵀ(x − x̄) and the canonical cloud as point sets (each point to
    the nearest canonical point): zero when every h maps the cloud onto its canonical form, i.e. lies in the
    inversion kernel."""
    x = np.asarray(cloud, dtype=np.float64).reshape(-1, 3) - summary["centroid"]
    canonical = summary["canonical"]
    worst = 0.0
    for h in frames:
        c = x @ h
        worst = max(worst, float(np.sqrt(((c[:, None, :] - canonical[None, :, :]) ** 2).sum(-1)).min(-1).max()))
    return worst


def _group_action(form, samples: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Elements of G_x in the input's coordinates (acting about the centroid) with the permutations of the points
    they realise, (G, 3, 3) and (G, n): every element of a finite group; for a continuous one a seeded sample of
    ``samples`` (an axial element moves points only when it reverses the axis; "full" has at most one point)."""
    stab = form.stabilizer
    n = form.n
    if stab.is_finite:
        return form.stabilizer_elements().matrix.numpy(), stab.permutations.numpy()
    m = stab.sample(samples, torch.Generator().manual_seed(seed)).matrix
    identity = np.arange(n)
    if stab.kind == "axial" and stab.reversible:
        perms = np.stack([stab.permutations[1].numpy() if r < 0 else identity for r in m[:, 0, 0].tolist()])
    else:
        perms = np.tile(identity, (samples, 1))
    return (form.frame @ m @ form.frame.T).numpy(), perms


def symmetry_defects(cloud: Cloud, tol: float, outputs: np.ndarray) -> list[float]:
    """For each output y in ``outputs`` (K, n, 3), indexed like the input: max over g in G_x (the input's untyped
    group, acting about its centroid, with the permutation π of the points it realises) of |g·y_i − y_π(i)|,
    relative to the larger of the input's and the output's radius. Zero exactly when the output keeps every
    symmetry of the input, as the output of an equivariant deterministic map must (the degenerate targets are the
    orbit of one field under the same action)."""
    form = _form(cloud, None, tol)
    centroid = form.centroid.numpy()
    elements, perms = _group_action(form)
    y = np.asarray(outputs, dtype=np.float64) - centroid  # (K, n, 3)
    scale = np.maximum(max(float(form.scale), 1e-12), np.sqrt((y ** 2).sum(-1)).max(-1))  # (K,)
    gy = np.einsum("gij,knj->kgni", elements, y)  # (K, G, n, 3)
    gap = np.sqrt(((gy - y[:, perms]) ** 2).sum(-1))  # point i goes to π(i)
    return (gap.reshape(len(y), -1).max(-1) / scale).tolist()


# ----------------------------------------------------------------------------------------------------------------------
# Models


@dataclass(frozen=True)
class ModelStatus:
    """``state``: "ok", "not shipped" (no manifest entry) or "failed" (an entry whose weights do not load; ``detail``
    says why)."""

    variant: str
    state: str
    detail: str = ""
    sha256: str = ""

    @property
    def key(self) -> str:
        return f"pointcloud/{self.variant}"


def model_status(variant: str) -> ModelStatus:
    """Whether the shipped model of ``variant`` can be used. The model is loaded once per weights version
    (``models.model``, st.cache_resource keyed on the manifest's sha256); a failed load is not cached,
    so fixed weights are picked up on the next rerun."""
    entry = models.manifest().get(f"pointcloud/{variant}")
    if entry is None:
        return ModelStatus(variant, "not shipped")
    try:
        models.model("pointcloud", variant)
    except CheckpointError as exc:
        return ModelStatus(variant, "failed", one_line(exc, 300))
    except Exception as exc:  # noqa: BLE001 - any fault in the weights is the same story for the page
        log.exception("pointcloud/%s failed to load", variant)
        return ModelStatus(variant, "failed", f"{type(exc).__name__}: {one_line(exc, 300)}")
    return ModelStatus(variant, "ok", sha256=str(entry.get("sha256", "")))


def model_statuses() -> dict[str, ModelStatus]:
    return {v: model_status(v) for v in VARIANTS}


def shipped_variants() -> list[str]:
    return [v for v, s in model_statuses().items() if s.state == "ok"]


def page_computations(cloud: Cloud, types: tuple[str, ...] | None, tol: float, k: int, seed: int, pose: Pose) -> list:
    """What the Point-cloud lab computes for this input (the kernel's draws, every loadable variant's ``predict``), as
    calls for ``ui.precompute``: run before the page sends its first figure, they do not share the second core with
    the browser's drawing, and the page shows one spinner for all of them instead of one per variant."""
    calls = [lambda: kernel_frames(cloud, types, tol, k, seed)]
    if len(cloud) >= 2:
        calls += [lambda v=v, s=s: predict(cloud, tol, v, k, seed, s.sha256, pose)
                  for v, s in model_statuses().items() if s.state == "ok"]
    return calls


GROUP_ALL_DRAWS_UP_TO = 40  # points; above, only draw 1's output group is determined (0.2 s each at 100 points)


def predict(cloud: Cloud, tol: float, variant: str, k: int, seed: int, sha256: str, pose: Pose | None = None) -> dict:
    """K draws of a shipped model on the cloud (types are ignored by the models): displacements (K, n, 3), the
    frames used (or None), the point group (name, order) of each output shape (of draw 1 only above
    GROUP_ALL_DRAWS_UP_TO points; ``_output_groups``) and the symmetry defect of each output (``symmetry_defects``).
    ``sha256`` keys the cache on the weights' version. The deterministic variants run once, and are cached without
    the seed (so "Sample again" reruns only the random ones). ``pose`` (base, R), when given, says that the cloud is
    the base cloud moved by R (the rotate-and-reflect control): it only lets the output groups be shared between
    poses, and is not part of the cache key."""
    return _predict(cloud, tol, variant, k, encoding(variant).seed_read(seed), sha256, pose)


@_cached(64)
def _predict(cloud: Cloud, tol: float, variant: str, k: int, seed: int, sha256: str, _pose: Pose | None) -> dict:
    model = models.model("pointcloud", variant)
    runs = encoding(variant).passes(k)
    points = torch.tensor(cloud, dtype=torch.float64).reshape(1, -1, 3).expand(runs, -1, 3)
    mask = torch.ones(runs, points.shape[1], dtype=torch.bool)
    generator = torch.Generator().manual_seed(seed)
    frames = model.frames(points, mask, generator, forms=[_form(cloud, None, tol)] * runs)
    x, m = models.to_model(model, points.float(), mask)
    h = None if frames is None else models.to_model(model, frames.float())[0]
    with torch.inference_mode():
        d = model(x, m, generator=generator, frames=h).cpu().double()
    outputs = points + d
    analysed = outputs[:runs if len(cloud) <= GROUP_ALL_DRAWS_UP_TO else 1].numpy()
    groups = _output_groups(cloud, tol, variant, runs, seed, sha256, analysed,
                            None if frames is None else frames[:len(analysed)].numpy(), _pose)
    defects = symmetry_defects(cloud, tol, outputs.numpy())
    if runs < k:
        d, groups, defects = d.expand(k, -1, -1), groups * k, defects * k
        frames = None if frames is None else frames.expand(k, -1, -1)
    return {"displacements": d.numpy().copy(), "frames": None if frames is None else frames.numpy().copy(),
            "groups": groups, "defects": defects}


def _output_groups(cloud: Cloud, tol: float, variant: str, runs: int, seed: int, sha256: str, outputs: np.ndarray,
                   frames: np.ndarray | None, pose: Pose | None) -> list[tuple[str, float | None]]:
    """``output_group`` of each of the first outputs (m, n, 3) of a variant's ``runs`` draws on the cloud, with the
    frames they used (m, 3, 3) or None: SymPE's by ``output_groups`` (one analysis, transported to the other draws),
    the others' one by one. For an equivariant variant with a ``pose`` (base, R), the groups are shared between the
    poses of one base cloud (``_groups_in_base_pose``).

    Why sharing is exact. With the same seed, an equivariant model draws the same noise (``noise``), or frames moved
    with the input (``sympe``: γ(R·x) = R γ(x) and, as a rule, the same stabilizer element drawn), and
    f(R·x, R h) = R·f(x, h): the outputs on R·x are R times those on x, point by point, and a point group is the same
    for a rigid image. Each draw is checked, in float64, against the stored outputs moved back by Rᵀ (every point
    within TRANSPORT_TOL of the input's radius of its own), and analysed on its own when the check fails or the
    stored group is undetermined."""
    form = _form(cloud, None, tol)

    def analyse_outputs() -> list[tuple[str, float | None]]:
        if encoding(variant).canonicalizes:  # kernel frames of one input: one analysis, transported
            return output_groups(outputs, form.centroid.numpy(), frames)
        return [output_group(out) for out in outputs]

    if pose is None or not encoding(variant).equivariant:
        return analyse_outputs()
    base, rotation = pose
    posed = outputs @ np.asarray(rotation)  # Rᵀ applied to every point: the outputs on the base cloud
    reference, groups = _groups_in_base_pose(base, tol, variant, runs, seed, sha256, posed, analyse_outputs)
    limit = TRANSPORT_TOL * max(float(form.scale), 1e-12)
    same = np.sqrt(((posed - reference) ** 2).sum(-1)).max(-1) <= limit
    return [group if ok and group[1] is not None else output_group(out)
            for group, ok, out in zip(groups, same, outputs)]


@_cached(64)
def _groups_in_base_pose(base: Cloud, tol: float, variant: str, runs: int, seed: int, sha256: str, _posed: np.ndarray,
                         _analyse) -> tuple[np.ndarray, list[tuple[str, float | None]]]:
    """The output groups of (the first outputs of) a variant's ``runs`` draws on any pose of the base cloud, with
    the outputs they were found for, moved back to the base pose (``_posed``, for the caller's check); ``_analyse``
    finds them. Keyed on the base cloud, the draws and the weights' version only, so a rotated or reflected input
    reuses them."""
    return _posed, _analyse()


def output_group(output: np.ndarray) -> tuple[str, float | None]:
    """The point group (Schoenflies name, order) of one output shape (n, 3), about its own centroid, to OUTPUT_TOL of
    its radius; ("undetermined (why)", None) when it cannot be canonicalized (e.g. two points on top of each
    other)."""
    try:
        stab = canonicalize_point_cloud(output, tol=OUTPUT_TOL).stabilizer
    except ValueError as exc:
        return f"undetermined ({one_line(exc, 300)})", None
    return point_group_name(stab), stab.order


def output_groups(outputs: np.ndarray, centre: np.ndarray, frames: np.ndarray) -> list[tuple[str, float | None]]:
    """``output_group`` of each output y_k (K, n, 3) of an equivariant model fed kernel frames h_k (K, 3, 3) of one
    input x with centroid ``centre``: analysed once, for draw 1, and transported to the others.

    Why this is exact. Every h_k lies in the coset G_x γ(x), so s_k = h_k h_1ᵀ is in G_x: s_k·x = x with its points
    permuted by some π. Joint equivariance, f(g·x, g h) = g·f(x, h), and permutation equivariance give
    y_k = f(x, s_k h_1) = s_k·y_1 re-indexed by π, the action taken about x̄. So the output shape y_k is the rigid image
    of y_1 under s_k (its centroid goes to y_k's), and its point group is s_k G(y_1) s_kᵀ, a conjugate in O(3): the
    same Schoenflies name and order. The model runs in float32, so y_k equals s_k·y_1 up to rounding only: each draw
    is checked (as point sets, each point within TRANSPORT_TOL of the radius of a point of the other, both ways) and
    analysed on its own when the check fails, or when draw 1 is undetermined (its message names points)."""
    first = output_group(outputs[0])
    if first[1] is None:
        return [first] + [output_group(out) for out in outputs[1:]]
    y1 = outputs[0] - centre
    scale = max(float(np.sqrt((y1 ** 2).sum(-1)).max()), 1e-12)
    images = np.einsum("kij,nj->kni", frames @ frames[0].T, y1)  # s_k·y_1, point by point
    gaps = np.sqrt(((images[:, :, None, :] - (outputs - centre)[:, None, :, :]) ** 2).sum(-1))  # (K, n, n)
    rigid = np.maximum(gaps.min(1).max(1), gaps.min(2).max(1)) <= TRANSPORT_TOL * scale
    return [first] + [first if ok else output_group(out) for out, ok in zip(outputs[1:], rigid[1:])]


def family_targets(family: str, rotation: Matrix) -> np.ndarray:
    """The degenerate target displacement fields (m, n, 3) of a family preset moved by the transform."""
    _, targets = base_shape(family)
    return targets @ np.asarray(rotation).T


def target_hits(family: str, cloud: Cloud, rotation: Matrix, displacements: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """For a family preset moved by ``rotation``: the hit flag and the nearest target of each draw
    (``backend.tasks.pointcloud.metrics.hits``) and the number of degenerate targets."""
    targets = family_targets(family, rotation)
    shape = Shape(family, torch.tensor(np.asarray(cloud)), torch.tensor(targets))
    hit, index, _ = hits(torch.tensor(displacements), collate([shape] * len(displacements)))
    return hit.numpy(), index.numpy(), len(targets)


@_cached(32)
def equivariance_errors(cloud: Cloud, tol: float, seed: int, shas: tuple, g: Matrix | None = None) -> dict:
    """max |f(g·x, g·h) − g·f(x, h)| in float64 for every shipped variant, with ``g`` (default: a Haar-random
    element of O(3), reflections included, from the seed), a kernel frame h of x, and the same noise on both sides;
    ``fixed`` uses its own frame, the identity, on both sides (it does not move with g, which is why it is not
    equivariant). Each model runs as its cached float64 copy (``models.float64_copy``); f(x) of a deterministic
    variant comes from ``_deterministic_output`` (so "Sample again" reruns only f(g·x)). ``shas`` keys the cache on
    the weights' versions."""
    gen = torch.Generator().manual_seed(seed)
    element = O3Element.random((), gen) if g is None else O3Element(torch.tensor(g, dtype=torch.float64))
    x = torch.tensor(cloud, dtype=torch.float64).reshape(1, -1, 3)
    mask = torch.ones(1, x.shape[1], dtype=torch.bool)
    h = _form(cloud, None, tol).sample(1, gen).matrix
    errors = {}
    for variant, sha in shas:
        if variant not in VARIANTS:
            continue
        model = models.float64_copy("pointcloud", variant)
        frames, moved_frames = (h, element.matrix @ h) if encoding(variant).equivariant else (None, None)
        with torch.inference_mode():
            y = (model(x, mask, generator=torch.Generator().manual_seed(seed), frames=frames) if encoding(variant).random
                 else torch.from_numpy(_deterministic_output(cloud, variant, sha)))
            y_g = model(element.act_points(x), mask, generator=torch.Generator().manual_seed(seed), frames=moved_frames)
        errors[variant] = float((y_g - element.act_points(y)).abs().max())
    return {"errors": errors, "g": element.matrix.numpy(), "det": float(torch.linalg.det(element.matrix))}


@_cached(64)
def _deterministic_output(cloud: Cloud, variant: str, sha256: str) -> np.ndarray:
    """f(x) in float64 (``models.float64_copy``), shape (1, n, 3), of a variant that draws nothing (``none``; ``fixed``
    with its own frame, the identity): the same for every seed, so cached on the cloud and the weights' version."""
    x = torch.tensor(cloud, dtype=torch.float64).reshape(1, -1, 3)
    with torch.inference_mode():
        return models.float64_copy("pointcloud", variant)(x, torch.ones(1, x.shape[1], dtype=torch.bool)).numpy()


# ----------------------------------------------------------------------------------------------------------------------
# Export


def export_json(params: dict, cloud: Cloud, types, summary: dict, frames: np.ndarray, statuses: dict[str, ModelStatus],
                results: dict[str, dict], equivariance: dict | None) -> str:
    """The input, its group and frame, the sampled frames and every variant's outputs, as JSON."""
    def order(o):
        return None if o is None or o == math.inf else int(o)

    outputs = {}
    for variant, status in statuses.items():
        run = results.get(variant)
        if run is None:
            outputs[variant] = {"status": status.state, "detail": status.detail or None}
            continue
        outputs[variant] = {
            "status": "ok", "sha256": status.sha256,
            "frames": None if run["frames"] is None else run["frames"].tolist(),
            "displacements": run["displacements"].tolist(),
            "output_groups": [{"name": name, "order": order(o)} for name, o in run["groups"]],
            "symmetry_defects": run["defects"],
            **({"hits": run["hits"]} if "hits" in run else {}),
        }
    data = {
        **params,
        "points": [list(p) for p in cloud],
        "types": None if types is None else list(types),
        "point_group": {"name": summary["name"], "kind": summary["kind"], "order": order(summary["order"]),
                        **({k: summary[k] for k in ("rotations", "improper", "inversion")} if summary["kind"] == "finite" else {})},
        "centroid": summary["centroid"].tolist(),
        "frame": summary["frame"].tolist(),
        "canonical_cloud": summary["canonical"].tolist(),
        "sampled_frames": frames.tolist(),
        "outputs": outputs,
        "equivariance": None if equivariance is None else
        {"g": equivariance["g"].tolist(), "max_errors": equivariance["errors"]},
    }
    return json.dumps(data, indent=1)


# ----------------------------------------------------------------------------------------------------------------------
# Figures


def _scene(extent: float, ticks: bool = True) -> dict:
    axis = {"range": [-extent, extent], "showbackground": False, "zeroline": False, "showticklabels": ticks}
    return {"xaxis": {**axis, "title": {"text": "x" if ticks else ""}},
            "yaxis": {**axis, "title": {"text": "y" if ticks else ""}},
            "zaxis": {**axis, "title": {"text": "z" if ticks else ""}}, "aspectmode": "cube"}


def _layout(title: str, height: int, extent: float, ticks: bool = True, **extra) -> dict:
    """A 3D scene takes no automatic margin for its title: the top margin holds two lines of the presenter's title."""
    return {"title": {"text": wrap(title)}, "height": height, "scene": _scene(extent, ticks),
            "margin": {"l": 0, "r": 0, "t": 60 if title else 0, "b": 0}, "uirevision": "pointcloud",
            "paper_bgcolor": "white", **extra}


def _type_color(kind: str, index: int) -> str:
    return TYPE_COLORS.get(kind, PALETTE[(index + 2) % len(PALETTE)])


def _points_traces(points: np.ndarray, types, name: str, color: str, size: int = 7, opacity: float = 1.0,
                   symbol: str = "circle") -> list[dict]:
    """Markers, one trace per type (coloured by type) when types are given; user text is HTML-escaped."""
    def trace(idx: list[int], label: str, fill: str, texts: list[str]) -> dict:
        sub = points[idx]
        return {"type": "scatter3d", "mode": "markers", "name": label, "x": sub[:, 0].tolist(),
                "y": sub[:, 1].tolist(), "z": sub[:, 2].tolist(), "text": texts,
                "hovertemplate": "%{text}: (%{x:.3f}, %{y:.3f}, %{z:.3f})<extra></extra>",
                "marker": {"size": size, "color": fill, "opacity": opacity, "symbol": symbol,
                           "line": {"width": 1, "color": "#333"}}}

    n = len(points)
    if types is None:
        return [trace(list(range(n)), name, color, [f"point {i}" for i in range(n)])]
    escaped = plain(types)
    traces = []
    for j, kind in enumerate(dict.fromkeys(types)):
        idx = [i for i in range(n) if types[i] == kind]
        label = plain([kind])[0]
        traces.append(trace(idx, label, _type_color(kind, j), [f"{escaped[i]} {i}" for i in idx]))
    return traces


TIP_LABEL_AT = 1.18  # an axis label sits this far along its axis, in units of the axis' length


def _tip_labels(name: str, tips: np.ndarray, texts: list[str], colors: list[str]) -> dict:
    """One text trace naming the axes whose tips are ``tips`` (m, 3), each label in its axis' colour."""
    return {"type": "scatter3d", "mode": "text", "name": name, "showlegend": False,
            "x": tips[:, 0].tolist(), "y": tips[:, 1].tolist(), "z": tips[:, 2].tolist(), "text": texts,
            "textfont": {"color": colors, "size": 12}, "hoverinfo": "skip"}


def _frame_traces(origin: np.ndarray, frame: np.ndarray, length: float, name: str) -> list[dict]:
    """The three axes of a frame (its columns) as lines from ``origin``, each named just beyond its tip."""
    names = [f"{name} e{axis + 1}" for axis in range(3)]
    traces = []
    for axis, (label, color) in enumerate(zip(names, AXIS_COLORS)):
        end = origin + length * frame[:, axis]
        traces.append({"type": "scatter3d", "mode": "lines", "name": label,
                       "x": [origin[0], end[0]], "y": [origin[1], end[1]], "z": [origin[2], end[2]],
                       "line": {"color": color, "width": 6}, "hoverinfo": "name"})
    tips = origin + TIP_LABEL_AT * length * frame.T
    return traces + [_tip_labels(f"{name} labels", tips, names, list(AXIS_COLORS))]


def _extent(points: np.ndarray, *more: np.ndarray) -> float:
    """Half the side of a cube about the origin that holds every cloud with some margin."""
    values = [float(np.abs(c).max()) for c in (points, *more) if len(c)]
    return 1.2 * max(values + [1.0])


def cloud_figure(cloud: Cloud, types, summary: dict, title: str, height: int = 440,
                 compact: bool = False) -> SpecFigure:
    """The cloud (coloured by type) with its canonical frame γ drawn from the centroid; ``compact``: without tick
    labels and legend, like ``output_figure`` (for a row of small figures)."""
    points = np.asarray(cloud, dtype=np.float64).reshape(-1, 3)
    centroid = summary["centroid"]
    length = max(0.8 * summary["radius"], 0.5)
    extent = _extent(points, centroid + 1.3 * length * summary["frame"].T)
    traces = _points_traces(points, types, "points", PALETTE[0], size=8)
    traces += _frame_traces(centroid, summary["frame"], length, "γ")
    if compact:
        return SpecFigure(traces, _layout(title, height, extent, ticks=False, showlegend=False))
    return SpecFigure(traces, _layout(title, height, extent, legend={"orientation": "h", "y": -0.02}))


def frames_figure(cloud: Cloud, summary: dict, frames: np.ndarray, height: int = 440) -> SpecFigure:
    """The cloud with the K sampled frames h: each draw's first axis e1 (one colour per draw, from the centroid)
    and, thinner and dashed, its second axis e2; draws that coincide overlap. All e1 axes are one trace and all e2
    axes another (per-vertex colours, hover names h_k e1 / h_k e2), so a new draw updates four traces, not 2K + 1."""
    points = np.asarray(cloud, dtype=np.float64).reshape(-1, 3)
    centroid = summary["centroid"]
    length = max(0.8 * summary["radius"], 0.5)
    extent = _extent(points, centroid + 1.3 * length * np.concatenate([h.T for h in frames]))
    colors = [PALETTE[(k + 1) % len(PALETTE)] for k in range(len(frames))]
    traces = _points_traces(points, None, "points", "#bbbbbb", size=6)
    for axis, scale, width, dash in ((0, 1.0, 6, "solid"), (1, 0.5, 3, "dash")):
        ends = centroid + scale * length * frames[:, :, axis]
        xyz = [[v for end in ends for v in (centroid[c], end[c], None)] for c in range(3)]
        names = [f"h{k + 1} e{axis + 1}" for k in range(len(frames)) for _ in range(3)]
        traces.append({"type": "scatter3d", "mode": "lines", "name": f"e{axis + 1} of each draw",
                       "x": xyz[0], "y": xyz[1], "z": xyz[2], "text": names, "hoverinfo": "text",
                       "line": {"color": [c for c in colors for _ in range(3)], "width": width, "dash": dash}})
    if len(frames) <= 8:
        tips = centroid + TIP_LABEL_AT * length * frames[:, :, 0]
        traces.append(_tip_labels("draw labels", tips, [f"h{k + 1}" for k in range(len(frames))], colors))
    title = f"{len(frames)} sampled frames h (e1 solid, e2 dashed)"
    return SpecFigure(traces, _layout(title, height, extent, legend={"orientation": "h", "y": -0.02}))


def output_figure(cloud: Cloud, displacement: np.ndarray, title: str = "", target: np.ndarray | None = None,
                  height: int = 260) -> SpecFigure:
    """The input (grey), the displaced output (coloured) with each point's displacement as a line, and the nearest
    degenerate target (open circles) when given."""
    points = np.asarray(cloud, dtype=np.float64).reshape(-1, 3)
    out = points + displacement
    extent = _extent(points, out, *(() if target is None else (points + target,)))
    lines = {"type": "scatter3d", "mode": "lines", "name": "displacement", "hoverinfo": "skip", "showlegend": False,
             "x": [v for p, q in zip(points[:, 0], out[:, 0]) for v in (p, q, None)],
             "y": [v for p, q in zip(points[:, 1], out[:, 1]) for v in (p, q, None)],
             "z": [v for p, q in zip(points[:, 2], out[:, 2]) for v in (p, q, None)],
             "line": {"color": "#888", "width": 3}}
    traces = _points_traces(points, None, "input", "#cccccc", size=4, opacity=0.7) + [lines]
    if target is not None:
        traces += _points_traces(points + target, None, "nearest target", "#2ca02c", size=9, symbol="circle-open")
    traces += _points_traces(out, None, "output", PALETTE[1], size=6)
    return SpecFigure(traces, _layout(title, height, extent, ticks=False, showlegend=False))


STORY_DRAWS = 2  # SymPE draws on the presenter's first screen
STORY_CAMERA = {"eye": {"x": 0.0, "y": -0.6, "z": 1.9}, "up": {"x": 0, "y": 1, "z": 0},  # from above: flat shapes
                "projection": {"type": "orthographic"}}  # read as 2D


def story_figures(cloud: Cloud, types, summary: dict, tol: float, k: int, seed: int,
                  pose: Pose | None = None) -> list[tuple[SpecFigure, str]]:
    """The Point-cloud lab's story for presenter mode (``ui.story``), as (figure, name) pairs: the input with its
    canonical frame, the baseline's (``none``) output and SymPE's first ``STORY_DRAWS`` draws, from the same cached
    ``predict`` calls as the page's outputs, seen from above (``STORY_CAMERA``). A variant that cannot be used is
    left out (the page says why below)."""
    shown = [(cloud_figure(cloud, types, summary, f"Input: {summary['name']}", compact=True), "input")]
    if len(cloud) < 2:
        return shown
    statuses = model_statuses()
    for variant, draws in (("none", 1), ("sympe", min(k, STORY_DRAWS))):
        status = statuses[variant]
        if status.state != "ok":
            continue
        run = predict(cloud, tol, variant, k, seed, status.sha256, pose)
        for d in range(draws):
            title = "Baseline (none)" if variant == "none" else f"SymPE draw {d + 1}"
            shown.append((output_figure(cloud, run["displacements"][d], title=title), f"{variant}-{d + 1}"))
    for fig, _ in shown:
        fig.spec["layout"]["scene"]["camera"] = STORY_CAMERA
    return shown
