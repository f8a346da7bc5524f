"""Finite point clouds in 3D under O(3): the exact stabilizer, a canonical frame and the inversion kernel.

Conventions (those of ``backend.groups.O3Element``). A cloud is x of shape (n, 3), one point per row, optionally
with one type per point. Everything is taken about the centroid x̄ (every symmetry of a finite cloud fixes it):
an element R ∈ O(3) acts by x_i − x̄ ↦ R (x_i − x̄). A symmetry is an R that maps the typed cloud onto itself; the
permutation it realises is π with R (x_i − x̄) = x_π[i] − x̄ (point i is sent to π[i], as in groups.Permutation).
The symmetries form the stabilizer G_x.

Canonical frame. γ(x) ∈ O(3) is a matrix whose columns e1, e2, e3 are built from the points in their canonical
order (below): e1 is the direction of the first point away from the centroid, e2 the direction of the first point's
component orthogonal to e1, e3 that of the first point's component orthogonal to both (a planar cloud takes
e3 = e1 × e2). The canonical coordinates are c = γᵀ (x − x̄), one row per point, and the canonical cloud lists them
in canonical order. Every rotated, reflected and re-indexed copy of the cloud has the same canonical cloud (up to
the tolerance). The frames that give it are exactly the coset G_x γ(x), so the inversion kernel draws h = s γ(x)
with s uniform on G_x (Haar measure on a continuous stabilizer); equivalently h = γ(x) t with t uniform on the
stabilizer of the canonical coordinates, which is how it is computed.

Canonical order. The points are the nodes of a complete graph whose edges are coloured by the pairwise distance
and whose nodes are coloured by (type, distance to the centroid); BLISS's canonical labelling orders them, and its
automorphism group, the permutations that preserve all distances and types, gives the stabilizer: a permutation
that preserves every pairwise distance and every distance to the centroid preserves the Gram matrix, so one
orthogonal map realises it. Each generator's map is solved by orthogonal Procrustes and checked.

Tolerance. Distances are compared after clustering: the sorted distances (and, separately, the distances to the
centroid) are cut wherever two consecutive values differ by more than ``tol · scale``, scale being the largest
distance from the centroid; values in one cluster count as equal. A symmetry must map every point to within
10 · tol · scale of its image. Points closer than tol · scale to each other are refused (coinciding points), and
the frame's directions are only taken from components longer than tol · scale.

Degenerate clouds are exact too: the empty cloud, a single point and coinciding points are refused or fixed by all
of O(3) (``kind == "full"``: one point, or none); a collinear cloud is fixed by O(2) about its axis, times the
reversal of the axis when the cloud is symmetric under it (``kind == "axial"``). Their stabilizers are represented
by their structure, never by a finite sample, and drawn from with Haar measure.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np
import torch

from .canonical import canonicalize_graph, uniform_integers
from .groups import O3Element

__all__ = [
    "DEFAULT_TOL",
    "MAX_POINTS",
    "PointCloudError",
    "PointCloudStabilizer",
    "PointCloudCanonicalForm",
    "canonicalize_point_cloud",
    "point_group_name",
]

DEFAULT_TOL = 1e-6
MAX_POINTS = 500  # the distance graph has n(n − 1)/2 coloured edges, each a BLISS vertex
RESIDUAL_FACTOR = 10.0


class PointCloudError(ValueError):
    """A cloud that cannot be canonicalized as given (bad values, coinciding points, inconsistent tolerance)."""


# ----------------------------------------------------------------------------------------------------------------------
# The stabilizer


@dataclass(frozen=True)
class PointCloudStabilizer:
    """The stabilizer of a cloud in canonical coordinates (conjugate by γ for the original coordinates).

    kind:
        ``"finite"``: ``matrices`` (m, 3, 3) with the identity first, ``permutations`` (m, n) the permutations they
            realise (R c_i = c_π[i]);
        ``"axial"``: O(2) about the first axis (rotations and reflections in planes that contain it), times the
            reversal diag(−1, 1, 1) of the axis when ``reversible`` (then ``permutations`` holds the identity and
            the reversal's permutation);
        ``"full"``: all of O(3) (at most one point).
    """

    kind: str
    matrices: torch.Tensor | None = None
    permutations: torch.Tensor | None = None
    reversible: bool = False

    @property
    def order(self) -> float:
        """|G_x| for a finite stabilizer, ``math.inf`` for a continuous one."""
        return len(self.matrices) if self.kind == "finite" else math.inf

    @property
    def is_finite(self) -> bool:
        return self.kind == "finite"

    def sample(self, num_samples: int, generator: torch.Generator | None = None) -> O3Element:
        """``num_samples`` independent elements, exactly uniform on a finite stabilizer and Haar-distributed on a
        continuous one (uniform angle, fair reflection and reversal bits; Haar on O(3) for ``"full"``).
        Shape (num_samples, 3, 3), float64, in canonical coordinates."""
        if self.kind == "finite":
            return O3Element(self.matrices[uniform_integers(len(self.matrices), num_samples, generator)])
        if self.kind == "full":
            return O3Element.random((num_samples,), generator)
        theta = 2 * math.pi * torch.rand(num_samples, generator=generator, dtype=torch.float64)
        mirror = 1.0 - 2.0 * uniform_integers(2, num_samples, generator).double()
        reverse = 1.0 - 2.0 * uniform_integers(2, num_samples, generator).double() if self.reversible else torch.ones(num_samples, dtype=torch.float64)
        m = torch.zeros(num_samples, 3, 3, dtype=torch.float64)
        m[:, 0, 0] = reverse
        m[:, 1, 1], m[:, 1, 2] = torch.cos(theta), -torch.sin(theta) * mirror
        m[:, 2, 1], m[:, 2, 2] = torch.sin(theta), torch.cos(theta) * mirror
        return O3Element(m)


def _finite_group(generators: list[tuple[int, ...]], n: int, limit: int) -> np.ndarray:
    """Every element of the permutation group generated by ``generators``, one per row (m, n), in breadth-first
    order: the identity, then level by level, each new element in the order (element of the previous level, then
    generator) of the first product g∘p that reaches it. At most ``limit`` elements (a finite subgroup of O(3)
    acting faithfully on n points has at most max(120, 4n) of them)."""
    gens = np.asarray(generators, dtype=np.int64).reshape(len(generators), n)
    identity = np.arange(n)
    seen = {identity.tobytes()}
    elements = [identity]
    level = identity[None]
    while len(level) and len(gens):
        fresh = []
        for q in gens[:, level].transpose(1, 0, 2).reshape(-1, n):  # g∘p, i.e. q[i] = g[p[i]]
            key = q.tobytes()
            if key not in seen:
                if len(seen) >= limit:
                    raise PointCloudError(f"the symmetry group has more than {limit} elements: "
                                          "the tolerance is too coarse for this cloud")
                seen.add(key)
                fresh.append(q)
        elements += fresh
        level = np.asarray(fresh, dtype=np.int64).reshape(len(fresh), n)
    return np.stack(elements)


def _procrustes(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The orthogonal Q (reflections allowed) minimising ‖a Qᵀ − b‖ for row-point arrays a of shape (n, d) and b of
    shape (n, d) or a stack (m, n, d) (then one Q per b, shape (m, d, d); each the same as for that b alone)."""
    u, _, vt = np.linalg.svd(np.swapaxes(b, -1, -2) @ a)
    return u @ vt


# ----------------------------------------------------------------------------------------------------------------------
# The canonical form


@dataclass(frozen=True)
class PointCloudCanonicalForm:
    """The canonical data of one cloud.

    Attributes:
        centroid: x̄, shape (3,).
        frame: γ(x) ∈ O(3), shape (3, 3), columns e1, e2, e3.
        coords: canonical coordinates c = γᵀ (x − x̄) in the input's point order, shape (n, 3).
        order: order[k] is the input point at canonical position k.
        rank: the dimension of the affine hull of the points (0 for at most one point).
        stabilizer: the stabilizer of ``coords`` (G_x = γ · stabilizer · γᵀ).
        scale: the largest distance from the centroid (the unit of the tolerance).
    """

    centroid: torch.Tensor
    frame: torch.Tensor
    coords: torch.Tensor
    order: tuple[int, ...]
    rank: int
    stabilizer: PointCloudStabilizer
    scale: float
    tol: float

    @property
    def n(self) -> int:
        return len(self.order)

    @property
    def canonical_cloud(self) -> torch.Tensor:
        """The canonical coordinates in canonical order, shape (n, 3): the same for every rotated, reflected and
        re-indexed copy of the cloud."""
        return self.coords[list(self.order)]

    @property
    def gamma(self) -> O3Element:
        return O3Element(self.frame)

    def stabilizer_elements(self) -> O3Element:
        """The finite stabilizer G_x in the input's coordinates, γ M γᵀ for each element M. Shape (m, 3, 3)."""
        if not self.stabilizer.is_finite:
            raise ValueError(f"the stabilizer is continuous ({self.stabilizer.kind}); sample it instead")
        return O3Element(self.frame @ self.stabilizer.matrices @ self.frame.T)

    def sample(self, num_samples: int = 1, generator: torch.Generator | None = None) -> O3Element:
        """Inversion-kernel draws h = γ t with t uniform on the stabilizer of the canonical coordinates (so
        h = s γ with s = γ t γᵀ uniform on G_x): hᵀ (x − x̄) is the canonical coordinates c up to the permutation
        that t realises. Shape (num_samples, 3, 3)."""
        return O3Element(self.frame @ self.stabilizer.sample(num_samples, generator).matrix)

    def to_dict(self) -> dict:
        stab = self.stabilizer
        return {
            "n": self.n,
            "rank": self.rank,
            "centroid": self.centroid.tolist(),
            "frame": self.frame.tolist(),
            "canonical_order": list(self.order),
            "stabilizer": {
                "kind": stab.kind,
                "order": stab.order if stab.is_finite else "infinite",
                "name": point_group_name(stab),
                "reversible": stab.reversible if stab.kind == "axial" else None,
                "elements": self.stabilizer_elements().matrix.tolist() if stab.is_finite else None,
            },
        }


def _clusters(values: np.ndarray, gap: float) -> np.ndarray:
    """Cluster ids of ``values``: sorted, cut wherever consecutive values differ by more than ``gap``; ids
    increase with the values, so they depend only on the multiset of values."""
    order = np.argsort(values, kind="stable")
    ids = np.empty(len(values), dtype=np.int64)
    ids[order] = np.concatenate([[0], np.cumsum(np.diff(values[order]) > gap)]) if len(values) else []
    return ids


@lru_cache(maxsize=8)
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """np.triu_indices(n, 1), the pairs i < j in row-major order, made read-only and kept for the next cloud of n
    points."""
    iu, ju = np.triu_indices(n, 1)
    iu.flags.writeable = ju.flags.writeable = False
    return iu, ju


def _type_ids(types: Sequence | None, n: int) -> np.ndarray:
    if types is None:
        return np.zeros(n, dtype=np.int64)
    if len(types) != n:
        raise PointCloudError(f"{len(types)} types for {n} points: give one type per point")
    keys = [str(t) for t in types]
    rank = {k: i for i, k in enumerate(sorted(set(keys)))}
    return np.array([rank[k] for k in keys], dtype=np.int64)


def _frame(points: np.ndarray, threshold: float) -> tuple[np.ndarray, int]:
    """γ from points in canonical order (see the module docstring) and the rank of the cloud."""
    axes: list[np.ndarray] = []
    for p in points:
        r = p - sum((p @ e) * e for e in axes) if axes else p
        norm = np.linalg.norm(r)
        if norm > threshold:
            axes.append(r / norm)
            if len(axes) == 3:
                break
    rank = len(axes)
    if rank == 0:
        return np.eye(3), 0
    if rank == 1:  # complete the axis by the coordinate vector least aligned with it
        e1 = axes[0]
        helper = np.eye(3)[int(np.argmin(np.abs(e1)))]
        e2 = helper - (helper @ e1) * e1
        axes.append(e2 / np.linalg.norm(e2))
    if len(axes) == 2:
        axes.append(np.cross(axes[0], axes[1]))
    return np.stack(axes, axis=1), rank


def canonicalize_point_cloud(
    points: torch.Tensor | np.ndarray | Sequence[Sequence[float]],
    types: Sequence | None = None,
    tol: float = DEFAULT_TOL,
) -> PointCloudCanonicalForm:
    """Canonical frame, canonical order and exact stabilizer of a cloud of n ≤ MAX_POINTS points in 3D.

    Args:
        points: (n, 3) finite coordinates.
        types: optional, one label per point (compared by their string form); symmetries preserve them.
        tol: the relative tolerance of the module docstring.

    Raises PointCloudError with a one-line reason for bad shapes or values, coinciding points, too many points,
    or a tolerance at which the distance-preserving permutations are not realised by orthogonal maps.
    """
    try:
        x = (points.detach().cpu().double().numpy() if isinstance(points, torch.Tensor)
             else np.asarray(points, dtype=np.float64))
    except (TypeError, ValueError) as err:
        raise PointCloudError(f"points must be an (n, 3) array of numbers: {err}") from None
    if x.ndim == 1 and x.size == 0:
        x = x.reshape(0, 3)
    if x.ndim != 2 or x.shape[1] != 3:
        raise PointCloudError(f"points must have shape (n, 3), got {x.shape}")
    n = len(x)
    if n > MAX_POINTS:
        raise PointCloudError(f"{n} points: at most {MAX_POINTS} are supported")
    if not np.isfinite(x).all():
        raise PointCloudError("points must be finite (found NaN or infinity)")
    if not (0 < tol < 0.1):
        raise PointCloudError(f"tol must be in (0, 0.1), got {tol}")
    type_ids = _type_ids(types, n)
    centroid = x.mean(axis=0) if n else np.zeros(3)
    y = x - centroid
    radii = np.linalg.norm(y, axis=1)
    scale = float(radii.max()) if n else 0.0
    threshold = tol * scale
    iu, ju = _pairs(n)
    dist = np.linalg.norm(y[iu] - y[ju], axis=1)
    if len(dist) and dist.min() <= threshold:
        k = int(np.argmin(dist))
        raise PointCloudError(f"points {int(iu[k])} and {int(ju[k])} coincide (distance {dist[k]:.3g}); "
                              "every point must be distinct")
    node_colours = type_ids * max(n, 1) + _clusters(radii, threshold)
    if n:
        form = canonicalize_graph(n, np.stack([iu, ju], axis=1), node_colours.tolist(), _clusters(dist, threshold).tolist())
        order, generators = form.order, form.generators
    else:
        order, generators = (), ()
    frame, rank = _frame(y[list(order)], threshold)
    coords = y @ frame
    stabilizer = _stabilizer(coords, rank, generators, type_ids, threshold, n)
    return PointCloudCanonicalForm(
        torch.from_numpy(centroid), torch.from_numpy(frame), torch.from_numpy(coords), order, rank,
        stabilizer, scale, tol,
    )


def _stabilizer(c: np.ndarray, rank: int, generators, type_ids: np.ndarray, threshold: float, n: int) -> PointCloudStabilizer:
    if rank == 0:
        return PointCloudStabilizer("full")
    limit = RESIDUAL_FACTOR * threshold
    if rank == 1:
        reversal = np.array([-1.0, 1.0, 1.0])
        perm = _match(c * reversal, c, type_ids, limit)
        mats = [np.eye(3)] + ([np.diag(reversal)] if perm is not None else [])
        perms = [np.arange(n)] + ([perm] if perm is not None else [])
        return PointCloudStabilizer("axial", torch.tensor(np.stack(mats)), torch.tensor(np.stack(perms)), perm is not None)
    elements = _finite_group([tuple(g) for g in generators], n, limit=max(120, 4 * n) * (1 if rank == 3 else 2))
    dims = 3 if rank == 3 else 2
    plane = c[:, :dims]
    images = plane[elements]  # (m, n, dims): the points each permutation sends the cloud to
    q = _procrustes(plane, images)
    residuals = np.abs(plane @ np.swapaxes(q, -1, -2) - images).max(axis=(1, 2))
    bad = np.flatnonzero(residuals > limit)
    if len(bad):
        p, residual = elements[bad[0]], residuals[bad[0]]
        raise PointCloudError(f"the distance-preserving permutation {p.tolist()[:12]}{'…' if n > 12 else ''} is "
                              f"not an orthogonal map within the tolerance (residual {residual:.3g}); try another tol")
    mats = np.tile(np.eye(3), (len(elements), 1, 1))
    mats[:, :dims, :dims] = q
    perms = elements
    if rank == 2:  # the reflection through the plane fixes every point: each element m is followed by m·diag(1, 1, −1)
        mats = np.stack([mats, mats @ np.diag([1.0, 1.0, -1.0])], axis=1).reshape(-1, 3, 3)
        perms = np.repeat(elements, 2, axis=0)
    return PointCloudStabilizer("finite", torch.tensor(mats), torch.tensor(perms))


def _match(moved: np.ndarray, target: np.ndarray, type_ids: np.ndarray, limit: float) -> np.ndarray | None:
    """The permutation π with moved[i] ≈ target[π[i]] and equal types, or None when there is none."""
    d = np.linalg.norm(moved[:, None, :] - target[None, :, :], axis=-1)
    d[type_ids[:, None] != type_ids[None, :]] = np.inf
    perm = d.argmin(axis=1)
    if np.unique(perm).size != len(perm) or (d[np.arange(len(perm)), perm] > limit).any():
        return None
    return perm


# ----------------------------------------------------------------------------------------------------------------------
# Names


def point_group_name(stabilizer: PointCloudStabilizer) -> str:
    """The Schoenflies symbol of the stabilizer (C1, Cs, Ci, Cn, Cnv, Cnh, Sn, Dn, Dnh, Dnd, T, Td, Th, O, Oh, I,
    Ih; C∞v and D∞h for linear clouds; O(3) for at most one point), read off the rotation subgroup K (its order and
    largest rotation order), whether −I is present, and whether a mirror is perpendicular to the principal axis."""
    if stabilizer.kind == "full":
        return "O(3)"
    if stabilizer.kind == "axial":
        return "D∞h" if stabilizer.reversible else "C∞v"
    m = stabilizer.matrices.numpy()
    det = np.linalg.det(m)
    proper = m[det > 0]
    traces = np.clip((np.trace(proper, axis1=1, axis2=2) - 1) / 2, -1.0, 1.0)
    angles = np.arccos(traces)
    orders = [1 if a < 1e-6 else int(round(2 * math.pi / a)) for a in angles]
    k, top = len(proper), max(orders)
    has_inversion = bool(np.any(np.all(np.abs(m + np.eye(3)) < 1e-6, axis=(1, 2))))
    improper = len(m) > k
    if k in (12, 24, 60) and top == {12: 3, 24: 4, 60: 5}[k]:
        base = {12: "T", 24: "O", 60: "I"}[k]
        if not improper:
            return base
        return base + ("h" if has_inversion else "d")
    cyclic = top == k
    n = k if cyclic else k // 2
    if not improper:
        return f"C{n}" if cyclic else f"D{n}"
    principal = _principal_axis(proper, orders, top)
    reflections = m[(det < 0) & np.isclose(np.trace(m, axis1=1, axis2=2), 1.0)]
    horizontal = bool(np.all(np.abs(reflections @ principal + principal) <= 1e-6 + 1e-5 * np.abs(principal),
                             axis=-1).any())  # some r with r·a = −a (np.allclose, atol 1e-6)
    if cyclic:
        if n == 1:
            return "Ci" if has_inversion else "Cs"
        if horizontal:
            return f"C{n}h"
        if len(reflections):
            return f"C{n}v"
        return f"S{2 * n}"
    return f"D{n}h" if horizontal else f"D{n}d"


def _principal_axis(proper: np.ndarray, orders: list[int], top: int) -> np.ndarray:
    """The axis of a rotation of the largest order (for D2, any of its three axes)."""
    r = proper[orders.index(top)]
    if top == 1:
        return np.array([0.0, 0.0, 1.0])
    w, v = np.linalg.eig(r)
    return np.real(v[:, int(np.argmin(np.abs(w - 1)))])
