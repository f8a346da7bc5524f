"""The point-cloud tables of the Results page, the README and docs/experiments/pointcloud.md, from manifest entries
only (the shape every task's results module has: ``backend.results.task_results``)."""
from __future__ import annotations

from typing import Any

from ...results import Chart, number, ordered


def summary_rows(entries: dict[str, dict]) -> list[dict]:
    """One row per variant from its test metrics (or, before the evaluation ran, its small evaluation)."""
    rows = []
    for v, e in ordered(entries):
        m = e.get("metrics")
        if m:
            rows.append({"variant": v, "hit %": m["hit_pct"], "mean RMSD to the nearest target": m["mean_distance"],
                         "coverage TV": m["coverage_tv"], "TV of an exactly uniform sampler": m["coverage_tv_uniform_reference"],
                         "draws per shape": m["draws_per_shape"], "test shapes": m["shapes"]})
        elif e.get("small_eval"):
            s = e["small_eval"]
            rows.append({"variant": v, "hit %": s["hit_pct"], "mean RMSD to the nearest target": s["mean_distance"],
                         "note": f"small evaluation ({s['shapes']} shapes, one draw each)"})
    return rows


def _family_series(entries: dict[str, dict]) -> tuple[list[str], dict[str, list[float]]]:
    series: dict[str, list[float]] = {}
    families: list[str] = []
    for v, e in ordered(entries):
        per_family = e.get("metrics", {}).get("per_family")
        if per_family:
            families = list(per_family)
            series[v] = [per_family[f]["hit_pct"] for f in families]
    return families, series


def pointcloud_family_rows(entries: dict[str, dict]) -> list[dict]:
    """Hit % and mean RMSD to the nearest target per shape family (rows) and variant (columns)."""
    families, _ = _family_series(entries)
    rows = []
    for family in families:
        row: dict[str, Any] = {"family": family}
        for v, e in ordered(entries):
            f = e.get("metrics", {}).get("per_family", {}).get(family)
            if f:
                row.setdefault("targets", f["targets"])
                row[f"{v}: hit %"] = f["hit_pct"]
                row[f"{v}: RMSD"] = f["mean_distance"]
        rows.append(row)
    return rows


HEADLINE = [
    (lambda m: f"draws that hit a target %, {m['shapes']} test shapes", lambda m: m["hit_pct"]),
    (lambda m: f"coverage TV, {m['draws_per_shape']} draws per shape "
               f"(an exactly uniform sampler: {number(m['coverage_tv_uniform_reference'])})",
     lambda m: m["coverage_tv"]),
]

TABLES = {"pointcloud-families": pointcloud_family_rows}


def chart(entries: dict[str, dict]) -> Chart | None:
    categories, series = _family_series(entries)
    return Chart(categories, series, "draws that hit a target %", "Point clouds: hits per shape family",
                 "Coverage TV: total-variation distance of the targets chosen over the draws of each shape from "
                 "uniform, beside the same figure for an exactly uniform sampler (finite draws alone make it "
                 "positive). A deterministic model that always picks the same target scores 1 − 1/m.") if series else None
