"""Evaluate point-cloud distortion models: ``python -m backend.tasks.pointcloud.evaluate [--write-manifest]``.

On the ``test`` split (``data.SPLITS``) every shape gets K draws (K = ``--samples``; the deterministic variants give
K equal draws). Reported per variant and per family: the hit rate, the mean RMSD to the nearest target, and over
the shapes with several degenerate targets the coverage TV of the chosen targets from uniform beside the TV an
exactly uniform sampler of K draws has (``metrics``). The small evaluation stored at training time is the same on
the first 256 shapes of the ``val`` split with one draw each.
"""
from __future__ import annotations

import torch

from ..evaluation import evaluation_main
from .data import Batch, Shape, collate, make_split
from .metrics import coverage_tv, hits, uniform_tv_reference
from .model import VARIANTS, DistortionModel, canonical_forms, load_pointcloud_model

__all__ = ["evaluate", "small_eval", "main"]


@torch.no_grad()
def _draws(model: DistortionModel, shapes: list[Shape], samples: int, seed: int, chunk: int = 256):
    """(hit (N, K), nearest index (N, K), distance (N, K)) for K draws of each shape."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for start in range(0, len(shapes), chunk):
        part = collate(shapes[start : start + chunk])
        forms = canonical_forms(part.points, part.mask) if model.config.encoding.canonicalizes else None
        rep = lambda t: t.repeat_interleave(samples, dim=0)  # noqa: E731 - shape b's draws are rows b·K … b·K + K − 1
        batch = Batch(rep(part.points), rep(part.mask), rep(part.targets), rep(part.target_mask))
        frames = None
        if forms is not None:
            frames = torch.cat([f.sample(samples, gen).matrix for f in forms])
        d = model(batch.points.float(), batch.mask, generator=gen, frames=None if frames is None else frames.float())
        hit, index, dist = hits(d.double(), batch)
        out.append((hit.view(-1, samples), index.view(-1, samples), dist.view(-1, samples)))
    return tuple(torch.cat(parts) for parts in zip(*out))


def _summary(shapes: list[Shape], hit, index, dist) -> dict:
    samples = hit.shape[1]
    multi = [i for i, s in enumerate(shapes) if len(s.targets) > 1]
    tv = [coverage_tv(index[i], len(shapes[i].targets)) for i in multi]
    reference = {m: uniform_tv_reference(samples, m) for m in {len(shapes[i].targets) for i in multi}}
    return {
        "shapes": len(shapes),
        "draws_per_shape": samples,
        "hit_pct": round(100 * float(hit.double().mean()), 2),
        "mean_distance": round(float(dist.mean()), 4),
        "coverage_tv": round(sum(tv) / len(tv), 4) if tv else None,
        "coverage_tv_uniform_reference": round(sum(reference[len(shapes[i].targets)] for i in multi) / len(multi), 4) if multi else None,
    }


def evaluate(model: DistortionModel, samples: int = 32, num: int | None = None, seed: int = 0) -> dict:
    shapes = make_split("test", num)
    hit, index, dist = _draws(model, shapes, samples, seed)
    result = _summary(shapes, hit, index, dist)
    result["per_family"] = {}
    for family in sorted({s.family for s in shapes}):
        rows = [i for i, s in enumerate(shapes) if s.family == family]
        part = _summary([shapes[i] for i in rows], hit[rows], index[rows], dist[rows])
        part["targets"] = len(shapes[rows[0]].targets)
        result["per_family"][family] = part
    return result


def small_eval(model: DistortionModel) -> dict:
    shapes = make_split("val", 256)
    hit, _, dist = _draws(model, shapes, 1, seed=0)
    return {"shapes": len(shapes), "hit_pct": round(100 * float(hit.double().mean()), 2), "mean_distance": round(float(dist.mean()), 4)}


def markdown_table(results: dict[str, dict]) -> str:
    lines = ["| variant | hit % | mean RMSD to nearest target | coverage TV | uniform sampler's TV |", "|---|---|---|---|---|"]
    for v, r in results.items():
        lines.append(f"| {v} | {r['hit_pct']} | {r['mean_distance']} | {r['coverage_tv']} | {r['coverage_tv_uniform_reference']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return evaluation_main(
        "backend.tasks.pointcloud.evaluate", "pointcloud", VARIANTS,
        lambda variant, args: evaluate(load_pointcloud_model(variant), args.samples, 64 if args.quick else None),
        markdown_table, argv, description=__doc__.splitlines()[0],
        add_options=lambda p: p.add_argument("--samples", type=int, default=32, help="draws per shape"),
    )


if __name__ == "__main__":
    raise SystemExit(main())
