"""The graph-autoencoder tables of the Results page, the README and docs/experiments/graph_ae.md, from manifest
entries only (the shape every task's results module has: ``backend.results.task_results``)."""
from __future__ import annotations

from ...results import Chart, number, ordered


def summary_rows(entries: dict[str, dict]) -> list[dict]:
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


def _exact_series(rows: list[dict]) -> tuple[list[str], dict[str, list[float]]]:
    datasets = sorted({r["dataset"] for r in rows})
    series: dict[str, list[float]] = {}
    for r in rows:
        series.setdefault(r["variant"], [0.0] * len(datasets))[datasets.index(r["dataset"])] = r["exact %"] or 0.0
    return datasets, series


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


HEADLINE = [
    (lambda m: f"exact reconstructions %, {m['symmetric']['all']['graphs']} held-out symmetric graphs",
     lambda m: m["symmetric"]["all"]["exact_pct"]),
]

TABLES = {
    "graph_ae-test": graph_ae_test_rows,
    "graph_ae-passes": graph_ae_pass_rows,
    "graph_ae-families": graph_ae_family_rows,
    "graph_ae-cycles": graph_ae_cycle_rows,
    "graph_ae-uniform-guess": graph_ae_uniform_guess_rows,
}


def chart(entries: dict[str, dict]) -> Chart | None:
    categories, series = _exact_series(summary_rows(entries))
    return Chart(categories, series, "exact reconstructions %", "Exactly reconstructed test graphs") if series else None
