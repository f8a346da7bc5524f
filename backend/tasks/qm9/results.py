"""The QM9 tables of the Results page, the README and docs/experiments/qm9.md, from manifest entries only (the
shape every task's results module has: ``backend.results.task_results``)."""
from __future__ import annotations

from ...results import Chart, ordered, plus_minus


def _paired(metrics: dict) -> str:
    """The one-draw NLL difference to ``none`` with its paired standard error, as text ("" for ``none``)."""
    d = metrics.get("test_nll_minus_none")
    return "" if d is None else f"{d:+.3f} ± {metrics['test_nll_minus_none_sem']:.3f}"


def summary_rows(entries: dict[str, dict]) -> list[dict]:
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


HEADLINE = [(lambda m: f"valid molecules %, {m['samples']} samples", lambda m: m["validity_pct"])]

TABLES = {"qm9-nll": qm9_nll_rows}


def chart(entries: dict[str, dict]) -> Chart | None:
    return None
