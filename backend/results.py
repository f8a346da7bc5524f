"""Results tables, built from pretrained/manifest.json only (no number is typed by hand).

The row builders serve the app's Results page and the generated tables in README.md and docs/: every block
between ``<!-- BEGIN RESULTS: <name> -->`` and ``<!-- END RESULTS -->`` is written from the manifest by
``python -m backend.results --write`` (``make results``) and checked by ``--check`` (and by
tests/test_results_tables.py). ``python -m backend.results --list`` names every table.

How the markdown tables print numbers (``number`` and ``plus_minus``; the app shows the rows' raw values):
- a float keeps 4 significant digits (all of its integer digits when it has more), in positional notation, and
  never more decimal places than the manifest stores for it: an evaluator that stored 0.113 is not padded to
  0.1130, and 0.0007 stays 0.0007;
- a percentage that a row builder derives from a stored fraction is rounded to one decimal (0.9808 → 98.1);
- a value with a standard error is rounded to the error's second significant digit, e.g. 25.50 ± 0.22 and
  +0.031 ± 0.028;
- integers and text print as they are; true and false print as yes and no.
"""
from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path
from typing import Any

from .checkpoints import read_manifest
from .tasks.ising import PHASES, VARYING_KINDS

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


# ----------------------------------------------------------------------------------------------------------------------
# Number formats of the generated tables (the rule is in the module docstring)


SIGNIFICANT = 4


def _stored_decimals(x: float) -> int:
    """Decimal places of the shortest repr of x (what the manifest's JSON holds): 0.113 -> 3, 5e-05 -> 5."""
    text = repr(abs(x))
    mantissa, _, exponent = text.partition("e")
    places = len(mantissa.partition(".")[2].rstrip("0")) if "." in mantissa else 0
    return max(0, places - int(exponent or 0))


def number(x: Any) -> str:
    """One cell: a float to SIGNIFICANT significant digits (at least its integer digits), positional, with no more
    decimal places than it has; integers and text as they are; booleans as yes / no; None as an empty cell."""
    if x is None:
        return ""
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        if not math.isfinite(x):
            return str(x)
        magnitude = math.floor(math.log10(abs(x))) if x else 0
        stored = _stored_decimals(x)
        places = min(max(0, SIGNIFICANT - 1 - magnitude), max(1, stored) if x == int(x) else stored)
        return f"{x:.{places}f}"
    return str(x)


def pct(fraction: float | None) -> float | None:
    """A stored fraction as a percentage with one decimal."""
    return None if fraction is None else round(100 * fraction, 1)


def plus_minus(value: float, error: float, signed: bool = False) -> str:
    """``value ± error``, both rounded to the error's second significant digit (``+`` shown when ``signed``)."""
    if not error or not math.isfinite(error):
        return f"{'+' if signed and value > 0 else ''}{number(float(value))} ± {number(float(error))}"
    places = max(0, 1 - math.floor(math.log10(abs(error))))
    return f"{value:{'+' if signed else ''}.{places}f} ± {error:.{places}f}"


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
                "test NLL (nats / molecule)": plus_minus(m["test_nll"], m["test_nll_sem"]),
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


# ----------------------------------------------------------------------------------------------------------------------
# Detail tables of the docs (docs/experiments/*.md), one builder per generated block


def _ising_metrics(e: dict, search: bool) -> dict:
    m = e.get("metrics") or {}
    return m.get("search", {}) if search else m


def ising_phase_rows(entries: dict[str, dict], search: bool = False) -> list[dict]:
    """Exact ground states % per phase on the held-out constant Hamiltonians: all / away from the phase boundaries."""
    rows = []
    for v, e in ordered(entries):
        constant = _ising_metrics(e, search).get("constant")
        if not constant:
            continue
        both = lambda r: f"{number(pct(r['exact_rate']))} / {number(pct(r.get('exact_rate_away')))}"  # noqa: E731
        per_phase = constant["per_phase"]
        rows.append({"variant": v, **{p: both(per_phase[p]) for p in PHASES if p in per_phase}, "all": both(constant),
                     "mean rel. gap": constant["mean_rel_gap"]})
    return rows


def ising_degeneracy_rows(entries: dict[str, dict], search: bool = False) -> list[dict]:
    """Mean total-variation distance to the uniform law on the degenerate ground states, per degenerate phase."""
    rows = []
    for v, e in ordered(entries):
        tv = _ising_metrics(e, search).get("degeneracy_tv")
        if tv:
            cell = lambda r: f"{number(r['mean_tv'])} (n={r['hamiltonians']})"  # noqa: E731
            rows.append({"variant": v, **{p: cell(tv[p]) for p in PHASES if p in tv}})
    return rows


def ising_varying_rows(entries: dict[str, dict], search: bool = False) -> list[dict]:
    """Spatially varying inputs: mean relative gap to the annealing reference / % matching it, per kind."""
    rows = []
    for v, e in ordered(entries):
        varying = _ising_metrics(e, search).get("varying")
        if varying:
            both = lambda r: f"{number(r['mean_rel_gap'])} / {number(pct(r['match_rate']))}"  # noqa: E731
            per_kind = varying["per_kind"]
            rows.append({"variant": v, **{k: both(per_kind[k]) for k in VARYING_KINDS if k in per_kind},
                         "all": both(varying)})
    return rows


def ising_size_rows(entries: dict[str, dict]) -> list[dict]:
    """The L = 8 models on other lattice sizes: exact ground states %."""
    rows = []
    for v, e in ordered(entries):
        sizes = (e.get("metrics") or {}).get("cross_size")
        if sizes:
            by_size = sorted(sizes.items(), key=lambda kv: int(kv[0]))
            rows.append({"variant": v, **{f"L = {L}": pct(r["exact_rate"]) for L, r in by_size}})
    return rows


def _graph_ae_datasets(entries: dict[str, dict]):
    """(dataset, variant, metrics) in dataset order, then variant order."""
    found = [(d, v, m) for v, e in ordered(entries) for d, m in (e.get("metrics") or {}).items()
             if isinstance(m, dict) and "all" in m]
    datasets = list(dict.fromkeys(d for d, _, _ in found))
    return sorted(found, key=lambda t: datasets.index(t[0]))


def graph_ae_test_rows(entries: dict[str, dict]) -> list[dict]:
    """The test splits: the metrics (means over K passes), the spread of exact % over the passes, and the split by
    |Aut(G)| = 1 against > 1 with the number of graphs in each part."""
    def split(part: dict, key: str) -> str:
        return f"{number(part.get(key))} (n={part['graphs']})" if part.get("graphs") else ""

    rows = []
    for dataset, v, d in _graph_ae_datasets(entries):
        a, one, many = d["all"], d.get("aut1", {}), d.get("aut_gt1", {})
        rows.append({"dataset": dataset, "variant": v, "K": d.get("samples"), "BCE": a.get("bce"),
                     "edge err %": a.get("edge_error_pct"), "F1": a.get("f1"), "exact %": a.get("exact_pct"),
                     "exact % (min–max over passes)":
                         f"{number(a.get('exact_pct_min'))}–{number(a.get('exact_pct_max'))}",
                     "exact % |Aut|=1": split(one, "exact_pct"), "exact % |Aut|>1": split(many, "exact_pct"),
                     "edge err % |Aut|=1": one.get("edge_error_pct"), "edge err % |Aut|>1": many.get("edge_error_pct")})
    return rows


def graph_ae_pass_rows(entries: dict[str, dict]) -> list[dict]:
    """Graphs reconstructed exactly in every one of the K passes / in at least one, %, per dataset."""
    rows: dict[str, dict] = {}
    for dataset, v, d in _graph_ae_datasets(entries):
        if "exact_every_pass_pct" in d:
            row = rows.setdefault(v, {"variant": f"{v} (K={d.get('samples')})"})
            every, some = number(d["exact_every_pass_pct"]), number(d["exact_some_pass_pct"])
            row[f"{dataset}: every pass / some pass %"] = f"{every} / {some}"
    return list(rows.values())


def graph_ae_family_rows(entries: dict[str, dict]) -> list[dict]:
    """Exact reconstructions % per family of the held-out symmetric graphs (largest families first)."""
    families: dict[str, dict] = {}
    for v, e in ordered(entries):
        for family, f in ((e.get("metrics") or {}).get("symmetric", {}).get("families") or {}).items():
            row = families.setdefault(family, {"family": family, "graphs": f["graphs"]})
            row[f"{v} exact %"] = f["exact_pct"]
    return sorted(families.values(), key=lambda r: (-r["graphs"], r["family"]))


def graph_ae_cycle_rows(entries: dict[str, dict]) -> list[dict]:
    """Cycles C_n: the spread of the predicted probabilities over all node pairs (0: every pair gets the same
    probability) and whether the cycle is reconstructed exactly."""
    rows = []
    for v, e in ordered(entries):
        cycles = (e.get("metrics") or {}).get("cycles")
        if cycles:
            rows.append({"variant": v, **{f"{c}: prob. spread / exact": f"{number(r['prob_spread'])} / {number(r['exact'])}"
                                          for c, r in cycles.items()}})
    return rows


def graph_ae_uniform_guess_rows(entries: dict[str, dict]) -> list[dict]:
    """What ``none`` predicts on a cycle C_n, where every node is automorphic: one probability for every pair, beside
    the cycle's edge density n / (n(n − 1)/2)."""
    cycles = (entries.get("none", {}).get("metrics") or {}).get("cycles") or {}
    rows = []
    for c, r in cycles.items():
        n = int(c.lstrip("Cc"))
        pairs = n * (n - 1) // 2
        rows.append({"cycle": c, "none: probability on the edges": r["mean_prob_edges"],
                     "none: probability on the non-edges": r["mean_prob_non_edges"],
                     "edge density": f"{n}/{pairs} = {number(round(n / pairs, 4))}"})
    return rows


def qm9_nll_rows(entries: dict[str, dict]) -> list[dict]:
    """Test NLL (nats per molecule, ± one standard error) with one encoding draw and against the mixture over K draws,
    each with its paired difference to ``none``, and the mixture gain."""
    rows = []
    for v, e in ordered(entries):
        m = e.get("metrics")
        if not m:
            continue
        def with_difference(key: str) -> str:
            text = plus_minus(m[key], m[key + "_sem"])
            if m.get(key + "_minus_none") is not None:
                text += f" ({plus_minus(m[key + '_minus_none'], m[key + '_minus_none_sem'], signed=True)})"
            return text
        rows.append({"variant": v, "test NLL, one draw (vs none)": with_difference("test_nll"),
                     f"test NLL, mixture of K = {m.get('mixture_draws')} draws (vs none)": with_difference("test_nll_mixture"),
                     "mixture gain": plus_minus(m["test_mixture_gain"], m["test_mixture_gain_sem"]),
                     "test molecules": m.get("test_molecules")})
    return rows


def headline_rows(manifest: dict[str, dict]) -> list[dict]:
    """One line per experiment and key metric, one column per variant (the README's table)."""
    def of(experiment: str) -> dict[str, dict]:
        return {k.split("/", 1)[1]: e.get("metrics") or {}
                for k, e in manifest.items() if k.startswith(experiment + "/")}

    lines = [  # (experiment, metric label from one variant's metrics, value from each variant's metrics)
        ("ising", lambda m: f"exact ground states %, {m['constant']['count']} held-out constant Hamiltonians",
         lambda m: pct(m["constant"]["exact_rate"])),
        ("ising", lambda m: f"largest coverage TV over the {len(m['degeneracy_tv'])} degenerate phases (0 = even)",
         lambda m: max(r["mean_tv"] for r in m["degeneracy_tv"].values())),
        ("graph_ae", lambda m: f"exact reconstructions %, {m['symmetric']['all']['graphs']} held-out symmetric graphs",
         lambda m: m["symmetric"]["all"]["exact_pct"]),
        ("qm9", lambda m: f"valid molecules %, {m['samples']} samples", lambda m: m["validity_pct"]),
        ("pointcloud", lambda m: f"draws that hit a target %, {m['shapes']} test shapes", lambda m: m["hit_pct"]),
        ("pointcloud", lambda m: f"coverage TV, {m['draws_per_shape']} draws per shape "
                                 f"(an exactly uniform sampler: {number(m['coverage_tv_uniform_reference'])})",
         lambda m: m["coverage_tv"]),
    ]
    titles = {"ising": "Ising ground states", "graph_ae": "Graph autoencoder", "qm9": "QM9 generation",
              "pointcloud": "Point-cloud distortion"}
    rows = []
    for experiment, label, value in lines:
        metrics = of(experiment)
        row: dict[str, Any] = {"experiment": titles[experiment], "metric": None}
        for v in ("none", "noise", "sympe", "fixed"):
            try:
                row[v] = value(metrics[v])
                row["metric"] = row["metric"] or label(metrics[v])
            except (KeyError, TypeError, ValueError):
                row[v] = None
        if row["metric"]:
            rows.append(row)
    return rows


SUMMARY_ROWS = {"ising": ising_summary_rows, "graph_ae": graph_ae_rows, "qm9": qm9_rows, "pointcloud": pointcloud_rows}
DETAIL_ROWS = {
    "ising-per-phase": ("ising", ising_phase_rows),
    "ising-per-phase-search": ("ising", lambda entries: ising_phase_rows(entries, search=True)),
    "ising-degeneracy": ("ising", ising_degeneracy_rows),
    "ising-degeneracy-search": ("ising", lambda entries: ising_degeneracy_rows(entries, search=True)),
    "ising-varying": ("ising", ising_varying_rows),
    "ising-varying-search": ("ising", lambda entries: ising_varying_rows(entries, search=True)),
    "ising-sizes": ("ising", ising_size_rows),
    "graph_ae-test": ("graph_ae", graph_ae_test_rows),
    "graph_ae-passes": ("graph_ae", graph_ae_pass_rows),
    "graph_ae-families": ("graph_ae", graph_ae_family_rows),
    "graph_ae-cycles": ("graph_ae", graph_ae_cycle_rows),
    "graph_ae-uniform-guess": ("graph_ae", graph_ae_uniform_guess_rows),
    "qm9-nll": ("qm9", qm9_nll_rows),
    "pointcloud-families": ("pointcloud", pointcloud_family_rows),
}


# ----------------------------------------------------------------------------------------------------------------------
# Generated markdown tables


ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = ("README.md", "docs")
_BEGIN = re.compile(r"^<!-- BEGIN RESULTS:", re.MULTILINE)  # a marker starts its line (a mention in prose does not)
_BLOCK = re.compile(r"^(<!-- BEGIN RESULTS: ([\w-]+) -->\n)(.*?)^(<!-- END RESULTS -->)", re.DOTALL | re.MULTILINE)
_COMMAND = "python -m backend.results --write"


def markdown_table(rows: list[dict]) -> str:
    """A markdown table of dict rows (columns in first-seen order; missing cells empty; numbers by ``number``)."""
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    cell = lambda v: number(v).replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(map(cell, columns)) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def _experiments() -> list[str]:
    return sorted(SUMMARY_ROWS)


def table_names() -> list[str]:
    """Every name a generated block may use."""
    return ["headline", *_experiments(), *sorted(DETAIL_ROWS), *(f"provenance-{e}" for e in _experiments())]


def rows(name: str, manifest: dict[str, dict]) -> list[dict]:
    """The rows of the generated table ``name`` (see ``table_names``); KeyError for an unknown name."""
    if name == "headline":
        return headline_rows(manifest)
    experiment, rows_of = DETAIL_ROWS.get(name, (name.removeprefix("provenance-"), None))
    if experiment not in SUMMARY_ROWS:
        raise KeyError(f"unknown results table {name!r} (known: {', '.join(table_names())})")
    rows_of = rows_of or (provenance_rows if name.startswith("provenance-") else SUMMARY_ROWS[experiment])
    return rows_of({k.split("/", 1)[1]: v for k, v in manifest.items() if k.startswith(experiment + "/")})


def table(name: str, manifest: dict[str, dict]) -> str:
    """The body of the generated block ``name``: the markdown table and the line that says where it comes from."""
    found = rows(name, manifest)
    body = markdown_table(found) if found else "(no shipped model)"
    return f"{body}\n\nGenerated from `pretrained/manifest.json` by `{_COMMAND}` (`make results`).\n"


def blocks(text: str) -> list[tuple[str, str]]:
    """(name, current body) of every generated block in ``text``; ValueError when a BEGIN marker has no END."""
    found = [(m.group(2), m.group(3)) for m in _BLOCK.finditer(text)]
    markers = len(_BEGIN.findall(text))
    if markers != len(found):
        raise ValueError(f"{markers} BEGIN RESULTS markers but {len(found)} complete blocks (each needs "
                         "'<!-- BEGIN RESULTS: <name> -->' on a line of its own and a later '<!-- END RESULTS -->' line)")
    return found


def render(text: str, manifest: dict[str, dict]) -> str:
    """``text`` with every generated block rewritten from ``manifest``."""
    blocks(text)
    return _BLOCK.sub(lambda m: m.group(1) + table(m.group(2), manifest) + m.group(4), text)


def documents(root: Path = ROOT) -> list[Path]:
    """README.md and every markdown file under docs/ that holds a generated block."""
    paths = []
    for name in DOCUMENTS:
        path = root / name
        paths += sorted(path.rglob("*.md")) if path.is_dir() else [path] if path.exists() else []
    return [p for p in paths if _BEGIN.search(p.read_text(encoding="utf-8"))]


def problems(root: Path = ROOT, manifest: dict[str, dict] | None = None) -> list[str]:
    """One line per stale, unknown or unterminated block in the documents (empty when all match the manifest)."""
    manifest = read_manifest() if manifest is None else manifest
    found = []
    for path in documents(root):
        where = path.relative_to(root)
        try:
            current = blocks(path.read_text(encoding="utf-8"))
        except ValueError as err:
            found.append(f"{where}: {err}")
            continue
        for name, body in current:
            try:
                if body != table(name, manifest):
                    found.append(f"{where}: block {name!r} differs from the manifest (run make results)")
            except KeyError as err:
                found.append(f"{where}: {err.args[0]}")
    return found


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m backend.results",
                                description="Write or check the generated results tables in README.md and docs/")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="rewrite every generated block from the manifest")
    mode.add_argument("--check", action="store_true", help="exit 1 and name every stale or unknown block")
    mode.add_argument("--list", action="store_true", help="print the names a block may use")
    mode.add_argument("--show", metavar="NAME", help="print one table")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    if args.list:
        print("\n".join(table_names()))
        return 0
    manifest = read_manifest()
    if args.show:
        try:
            print(table(args.show, manifest), end="")
        except KeyError as err:
            print(err.args[0], file=sys.stderr)
            return 2
        return 0
    found = problems(manifest=manifest)
    if args.check:
        for line in found:
            print(line, file=sys.stderr)
        return 1 if found else 0
    broken = [line for line in found if "differs from the manifest" not in line]
    if broken:  # unknown or unterminated blocks: write nothing
        for line in broken:
            print(line, file=sys.stderr)
        return 1
    for path in documents():
        text = path.read_text(encoding="utf-8")
        new = render(text, manifest)
        if new != text:
            path.write_text(new, encoding="utf-8")
            print(f"updated {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
