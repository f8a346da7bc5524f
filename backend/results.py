"""Results tables, built from pretrained/manifest.json only (no number is typed by hand).

The row builders serve the app's Results page and the generated tables in README.md and docs/: every block
between ``<!-- BEGIN RESULTS: <name> -->`` and ``<!-- END RESULTS -->`` is written from the manifest by
``python -m backend.results --write`` (``make results``) and checked by ``--check`` (and by the tests). Numbers
are printed as the manifest stores them (the evaluators round them when they write).
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from .checkpoints import MANIFEST, read_manifest
from .tasks.ising import PHASES

VARIANT_ORDER = ("none", "noise", "sympe", "sympe-edges", "fixed")


def ordered(entries: dict[str, dict]) -> list[tuple[str, dict]]:
    rank = {v: i for i, v in enumerate(VARIANT_ORDER)}
    return sorted(entries.items(), key=lambda kv: (rank.get(kv[0], 99), kv[0]))


def flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}; lists of scalars are joined."""
    out: dict[str, Any] = {}
    if isinstance(d, dict):
        for k, v in d.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(d, list):
        out[prefix] = ", ".join(map(str, d)) if all(not isinstance(x, (dict, list)) for x in d) else str(d)
    else:
        out[prefix] = d
    return out


def provenance_rows(entries: dict[str, dict]) -> list[dict]:
    rows = []
    for variant, e in ordered(entries):
        training = e.get("training", {})
        rows.append({
            "variant": variant,
            "training command": e.get("command", ""),
            "seed": e.get("seed"),
            "steps": training.get("steps"),
            "training time (s)": training.get("seconds"),
            "device": training.get("device"),
            "metrics command": e.get("metrics_command", "(small evaluation recorded at training time)"),
            "sha256": str(e.get("sha256", ""))[:12] + "…",
        })
    return rows


# ----------------------------------------------------------------------------------------------------------------------
# Ising


def ising_phase_series(entries: dict[str, dict]) -> tuple[list[str], dict[str, list[float]]]:
    series = {}
    for v, e in ordered(entries):
        per_phase = e.get("metrics", {}).get("constant", {}).get("per_phase")
        if per_phase:
            series[v] = [100 * per_phase[p]["exact_rate"] if p in per_phase else 0.0 for p in PHASES]
    return list(PHASES), series


def _worst_phase(constant: dict) -> float:
    return round(100 * min(r["exact_rate"] for r in constant["per_phase"].values()), 1)


def ising_summary_rows(entries: dict[str, dict]) -> list[dict]:
    rows = []
    for v, e in ordered(entries):
        m = e.get("metrics")
        if m:
            tv = m.get("degeneracy_tv", {})
            search = m.get("search", {})
            rows.append({
                "variant": v,
                "exact ground states %": round(100 * m["constant"]["exact_rate"], 1),
                "worst phase %": _worst_phase(m["constant"]),
                **({f"exact % with search (P = {search['proposals']})": round(100 * search["constant"]["exact_rate"], 1),
                    "worst phase % with search": _worst_phase(search["constant"])} if search else {}),
                "mean rel. energy gap": m["constant"]["mean_rel_gap"],
                "TV antiferromagnet": tv.get("antiferromagnet", {}).get("mean_tv"),
                "TV ferromagnet (h=0)": tv.get("ferromagnet", {}).get("mean_tv"),
                "varying: mean rel. gap": m.get("varying", {}).get("mean_rel_gap"),
                "varying: match %": round(100 * m.get("varying", {}).get("match_rate", 0.0), 1),
                **{f"L={s} exact %": round(100 * r["exact_rate"], 1) for s, r in m.get("cross_size", {}).items()},
            })
        elif "small_eval" in e:
            se = e["small_eval"]
            rows.append({"variant": v, "exact ground states %": round(100 * se["exact_rate"], 1),
                         "mean rel. energy gap": se["mean_rel_gap"],
                         "note": f"small evaluation ({se['count']} Hamiltonians); full metrics not recorded yet"})
    return rows


# ----------------------------------------------------------------------------------------------------------------------
# Graph autoencoder


def graph_ae_rows(entries: dict[str, dict]) -> list[dict]:
    rows = []
    for v, e in ordered(entries):
        m = e.get("metrics")
        if m:
            for dataset, d in m.items():
                if not isinstance(d, dict) or "all" not in d:
                    continue
                a, one, many = d["all"], d.get("aut1", {}), d.get("aut_gt1", {})
                rows.append({"dataset": dataset, "variant": v, "samples": d.get("samples"), "BCE": a.get("bce"),
                             "edge error %": a.get("edge_error_pct"), "F1": a.get("f1"), "exact %": a.get("exact_pct"),
                             "exact % |Aut|=1": one.get("exact_pct"), "exact % |Aut|>1": many.get("exact_pct")})
        else:
            for dataset, d in (e.get("small_eval") or {}).items():
                if isinstance(d, dict):
                    rows.append({"dataset": dataset, "variant": v, "samples": 1, "BCE": d.get("bce"),
                                 "edge error %": d.get("edge_error_pct"), "F1": d.get("f1"), "exact %": d.get("exact_pct"),
                                 "note": "small evaluation"})
    return sorted(rows, key=lambda r: r["dataset"])


def graph_ae_exact_series(rows: list[dict]) -> tuple[list[str], dict[str, list[float]]]:
    datasets = sorted({r["dataset"] for r in rows})
    series: dict[str, list[float]] = {}
    for r in rows:
        series.setdefault(r["variant"], [0.0] * len(datasets))[datasets.index(r["dataset"])] = r["exact %"] or 0.0
    return datasets, series


# ----------------------------------------------------------------------------------------------------------------------
# QM9 diffusion


def _paired(metrics: dict) -> str:
    """The one-draw NLL difference to ``none`` with its paired standard error, as text ("" for ``none``)."""
    d = metrics.get("test_nll_minus_none")
    return "" if d is None else f"{d:+.3f} ± {metrics['test_nll_minus_none_sem']:.3f}"


def qm9_rows(entries: dict[str, dict]) -> list[dict]:
    """One row per variant from its evaluation metrics (or, before the evaluation ran, its small evaluation)."""
    rows = []
    for v, e in ordered(entries):
        m = e.get("metrics")
        if m:
            rows.append({
                "variant": v,
                "test NLL (nats / molecule)": round(m["test_nll"], 2),
                "NLL − none, paired": _paired(m),
                "mixture gain (nats / molecule)": m.get("test_mixture_gain"),
                "validity %": round(m["validity_pct"], 1),
                "uniqueness %": round(m["uniqueness_pct"], 1),
                "novelty %": round(m["novelty_pct"], 1),
                "atom-type TV": round(m["atom_tv"], 4),
                "bond-type TV": round(m["bond_tv"], 4),
                "symmetric denoising steps %": round(100 * m["symmetric_step_fraction"], 1),
                "molecules sampled": m["samples"],
                "sampling time (s)": m["sampling_seconds"],
            })
        elif e.get("small_eval"):
            s = e["small_eval"]
            rows.append({"variant": v, "small-set NLL": s["nll"], f"validity of {s['samples']} samples %": round(100 * s["validity"], 1)})
    return rows


# ----------------------------------------------------------------------------------------------------------------------
# Point-cloud distortion


def pointcloud_rows(entries: dict[str, dict]) -> list[dict]:
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


def pointcloud_family_series(entries: dict[str, dict]) -> tuple[list[str], dict[str, list[float]]]:
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
    families, _ = pointcloud_family_series(entries)
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


SUMMARY_ROWS = {"ising": ising_summary_rows, "graph_ae": graph_ae_rows, "qm9": qm9_rows, "pointcloud": pointcloud_rows}
DETAIL_ROWS = {"pointcloud-families": ("pointcloud", pointcloud_family_rows)}


# ----------------------------------------------------------------------------------------------------------------------
# Generated markdown tables


ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = ("README.md", "docs")
_BLOCK = re.compile(r"(<!-- BEGIN RESULTS: ([\w-]+) -->\n)(.*?)(<!-- END RESULTS -->)", re.DOTALL)
_COMMAND = "python -m backend.results --write"


def markdown_table(rows: list[dict]) -> str:
    """A markdown table of dict rows (columns in first-seen order; missing cells empty)."""
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    cell = lambda v: "" if v is None else str(v).replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def table(name: str, manifest: dict[str, dict]) -> str:
    """The generated block ``name``: ``<experiment>`` (its summary rows), ``provenance-<experiment>`` or one of
    DETAIL_ROWS."""
    experiment, rows_of = DETAIL_ROWS.get(name, (name.removeprefix("provenance-"), None))
    if experiment not in SUMMARY_ROWS:
        raise KeyError(f"unknown results table {name!r} (known: {', '.join(sorted(SUMMARY_ROWS) + sorted(DETAIL_ROWS))}, "
                       "provenance-<experiment>)")
    rows_of = rows_of or (provenance_rows if name.startswith("provenance-") else SUMMARY_ROWS[experiment])
    entries = {k.split("/", 1)[1]: v for k, v in manifest.items() if k.startswith(experiment + "/")}
    rows = rows_of(entries)
    body = markdown_table(rows) if rows else "(no shipped model)"
    return f"{body}\n\nGenerated from `pretrained/manifest.json` by `{_COMMAND}` (`make results`).\n"


def render(text: str, manifest: dict[str, dict]) -> str:
    """``text`` with every generated block rewritten from ``manifest``."""
    return _BLOCK.sub(lambda m: m.group(1) + table(m.group(2), manifest) + m.group(4), text)


def documents(root: Path = ROOT) -> list[Path]:
    paths = []
    for name in DOCUMENTS:
        path = root / name
        paths += sorted(path.rglob("*.md")) if path.is_dir() else [path] if path.exists() else []
    return [p for p in paths if _BLOCK.search(p.read_text(encoding="utf-8"))]


def stale(root: Path = ROOT, manifest_path: Path = MANIFEST) -> list[Path]:
    """The documents whose generated blocks differ from what the manifest gives."""
    manifest = read_manifest(manifest_path)
    return [p for p in documents(root) if render(p.read_text(encoding="utf-8"), manifest) != p.read_text(encoding="utf-8")]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m backend.results", description="Write or check the generated results tables")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="rewrite every generated block from the manifest")
    mode.add_argument("--check", action="store_true", help="exit 1 and name the documents whose blocks are stale")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    if args.check:
        paths = stale()
        for path in paths:
            print(f"stale generated results in {path.relative_to(ROOT)}: run make results", file=sys.stderr)
        return 1 if paths else 0
    manifest = read_manifest()
    for path in documents():
        text = path.read_text(encoding="utf-8")
        new = render(text, manifest)
        if new != text:
            path.write_text(new, encoding="utf-8")
            print(f"updated {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
