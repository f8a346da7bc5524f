"""``python -m backend predict point-cloud``: distort a point cloud with a shipped model.

    --points FILE             an XYZ file or JSON {"points": [[x, y, z], ...], "types": [...]} (backend.pointcloud_io)
    --format F                xyz | json (default: from the extension)
    --variant sympe           none | noise | sympe | fixed
    --samples 1 --seed 0      independent draws from one generator seeded with S
    --tol 1e-6                the relative tolerance of the symmetry detection (backend.pointcloud)

Output JSON: n, the types, the stabilizer of the cloud as the model sees it (types are ignored by the shipped
models, which say so in ``types_ignored``): its kind, order ("infinite" for a continuous one), Schoenflies name and
its elements as 3×3 matrices when finite; the canonical frame γ (columns e1, e2, e3), the centroid and canonical
order; and per sample the frame h (sympe: an inversion-kernel draw; fixed: the identity; null otherwise), the
displacement of every point and the output coordinates. The models were trained on shapes of circumradius 0.8 to
1.5 (``backend.tasks.pointcloud.data``).
"""
from __future__ import annotations

import torch

from ...checkpoints import CheckpointError
from ...options import UsageError, bounded
from ...pointcloud import DEFAULT_TOL, PointCloudError, canonicalize_point_cloud
from ...pointcloud_io import FORMATS, PointCloudInputError, load_point_cloud
from .model import VARIANTS, load_pointcloud_model

MAX_SAMPLES = 100


def _tolerance(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"--tol must be a number, got {text!r}") from None
    if not 1e-12 <= value <= 1e-2:
        raise UsageError(f"--tol must be between 1e-12 and 1e-2, got {text}")
    return value


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("point-cloud", help="distort a point cloud with the point-cloud model")
    p.add_argument("--points", required=True)
    p.add_argument("--format", choices=FORMATS, default=None)
    p.add_argument("--variant", choices=VARIANTS, default="sympe")
    p.add_argument("--samples", type=bounded("samples", 1, MAX_SAMPLES), default=1)
    p.add_argument("--seed", type=bounded("seed", 0, 2**63 - 1), default=0)
    p.add_argument("--tol", type=_tolerance, default=DEFAULT_TOL)
    p.set_defaults(handler=run)


def run(args) -> dict:
    try:
        cloud = load_point_cloud(args.points, args.format)
        if cloud.n < 2:
            raise UsageError(f"the cloud has {cloud.n} point(s); at least 2 are needed for a displacement to mean anything")
        form = canonicalize_point_cloud(cloud.points, tol=args.tol)
        model = load_pointcloud_model(args.variant)
    except (PointCloudInputError, PointCloudError) as e:
        raise UsageError(str(e)) from None
    except CheckpointError as e:
        raise UsageError(f"model pointcloud/{args.variant} is not available: {e}") from None
    k = args.samples
    points = torch.tensor(cloud.points, dtype=torch.float64).expand(k, cloud.n, 3)
    mask = torch.ones(k, cloud.n, dtype=torch.bool)
    generator = torch.Generator().manual_seed(args.seed)
    frames = model.frames(points, mask, generator, forms=[form] * k)
    with torch.no_grad():
        displacement = model(points.float(), mask, generator=generator, frames=None if frames is None else frames.float()).double()
    stab = form.stabilizer
    return {
        "variant": args.variant,
        "seed": args.seed,
        "n": cloud.n,
        "types": cloud.types,
        "types_ignored": cloud.types is not None and len(set(cloud.types)) > 1,
        **form.to_dict(),
        "samples": [
            {"frame": None if frames is None else frames[s].tolist(),
             "displacement": displacement[s].tolist(),
             "output": (points[s] + displacement[s]).tolist()}
            for s in range(k)
        ],
        "stabilizer_order": stab.order if stab.is_finite else "infinite",
    }
