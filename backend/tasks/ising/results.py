"""The Ising tables of the Results page, the README and docs/experiments/ising.md, from manifest entries only
(the shape every task's results module has: ``backend.results.task_results``)."""
from __future__ import annotations

from ...results import Chart, number, ordered, pct
from .data import PHASES, VARYING_KINDS
from .evaluate import DEGENERACY_SAMPLES


def _phase_series(entries: dict[str, dict]) -> tuple[list[str], dict[str, list[float]]]:
    series = {}
    for v, e in ordered(entries):
        per_phase = e.get("metrics", {}).get("constant", {}).get("per_phase")
        if per_phase:
            series[v] = [100 * per_phase[p]["exact_rate"] if p in per_phase else 0.0 for p in PHASES]
    return list(PHASES), series


def _worst_phase(constant: dict) -> float:
    return round(100 * min(r["exact_rate"] for r in constant["per_phase"].values()), 1)


def summary_rows(entries: dict[str, dict]) -> list[dict]:
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


HEADLINE = [
    (lambda m: f"exact ground states %, {m['constant']['count']} held-out constant Hamiltonians",
     lambda m: pct(m["constant"]["exact_rate"])),
    (lambda m: f"largest coverage TV over the {len(m['degeneracy_tv'])} degenerate phases (0 = even)",
     lambda m: max(r["mean_tv"] for r in m["degeneracy_tv"].values())),
]

TABLES = {
    "ising-per-phase": ising_phase_rows,
    "ising-per-phase-search": lambda entries: ising_phase_rows(entries, search=True),
    "ising-degeneracy": ising_degeneracy_rows,
    "ising-degeneracy-search": lambda entries: ising_degeneracy_rows(entries, search=True),
    "ising-varying": ising_varying_rows,
    "ising-varying-search": lambda entries: ising_varying_rows(entries, search=True),
    "ising-sizes": ising_size_rows,
}


def chart(entries: dict[str, dict]) -> Chart | None:
    categories, series = _phase_series(entries)
    return Chart(categories, series, "exact ground states %", "Constant Hamiltonians: exact ground states per phase",
                 f"TV: total-variation distance between the K = {DEGENERACY_SAMPLES} sampled states and the uniform law "
                 "on the degenerate ground states (0 is perfect coverage; a model stuck on one state scores at least "
                 "0.5).") if series else None
