"""Evaluate the shipped Ising variants: ``python -m backend.tasks.ising.evaluate [--write-manifest]``.

Metrics (all sampled with fixed seeds, so one run reproduces them):

- constant: 1000 held-out constant Hamiltonians (L = 8, seed 1000); per phase the mean relative energy gap
  (E_model - E_0)/|E_0| of the sign of the output and the rate of exact ground states (|E_model - E_0| ≤ 1e-9·|E_0|).
- degeneracy: for held-out Hamiltonians with two degenerate ground states (up to 25 per phase), K = 200 samples
  each; the total-variation distance between the sampled states and the uniform law on the ground states
  (states that are not ground states count as error mass), averaged per phase.
- varying: 200 held-out spatially varying Hamiltonians (seed 2000) against the best of 32 simulated-annealing
  runs; mean relative gap and the rate of matching (or beating) the reference.
- cross_size: the L = 8 model on L = 4, 6, 12, 16 (500 constant Hamiltonians each): exact-ground rate overall and
  per phase.
- search: the constant, degeneracy and varying metrics again, each sample taken by ``nearby_search`` with
  SEARCH_PROPOSALS proposals (the best of the model's own state and its states for nearby Hamiltonians, judged by the
  true energy).
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

import torch

from ..evaluation import evaluation_main
from .data import (
    PHASES,
    energy,
    exact_ground,
    phase_of,
    sample_constant_hamiltonians,
    sample_varying_hamiltonians,
    simulated_annealing,
)
from .model import VARIANTS, IsingModel, load_ising, nearby_search, spins_from_logits

BOUNDARY_MARGIN = 0.05  # energy per site between the ground state and the lowest excited 2-periodic state
SEARCH_PROPOSALS = 4  # nearby Hamiltonians per sample in the evaluation's "search" rows

__all__ = ["predict_spins", "ConstantOutcomes", "constant_outcomes", "small_eval", "validation_outcomes",
           "validation_metrics", "evaluate", "degeneracy_coverage"]


DEGENERACY_SAMPLES = 200  # K samples per degenerate Hamiltonian in the coverage (TV) metric

@torch.no_grad()
def predict_spins(model: IsingModel, J: torch.Tensor, h: torch.Tensor, generator: torch.Generator, batch: int = 256,
                  canonical=None, search: int = 0) -> torch.Tensor:
    """One sample per Hamiltonian: spins (B, L, L) in J's dtype. ``canonical`` reuses precomputed canonical forms;
    ``search`` > 0 returns ``nearby_search`` with that many proposals instead of sign(logits). The model's own
    draws come first, so they are the same with and without the search."""
    dtype = next(model.parameters()).dtype
    starts = range(0, len(J), batch)
    samples = [model(J[i : i + batch].to(dtype), h[i : i + batch].to(dtype), generator=generator,
                     canonical=None if canonical is None else canonical[i : i + batch]) for i in starts]
    if not search:
        return torch.cat([spins_from_logits(s.logits).to(J.dtype) for s in samples])
    return torch.cat([nearby_search(model, J[i : i + batch], h[i : i + batch], s, generator, search) for i, s in zip(starts, samples)])


@dataclass(frozen=True)
class ConstantOutcomes:
    """One model sample per constant Hamiltonian, against the exact reference.

    Shapes: J (B, 2, L, L), h (B, L, L), spins (B, L, L), excess (B,) = E_model - E_0, rel_gap (B,) = excess/|E_0|,
    exact (B,) bool, margin (B,) the energy from the ground state up to the lowest 2-periodic state that is not a
    ground state; phases (B names)."""

    J: torch.Tensor
    h: torch.Tensor
    spins: torch.Tensor
    excess: torch.Tensor
    rel_gap: torch.Tensor
    exact: torch.Tensor
    margin: torch.Tensor
    phases: list[str]


@torch.no_grad()
def constant_outcomes(model: IsingModel, J: torch.Tensor, h: torch.Tensor, generator: torch.Generator, search: int = 0) -> ConstantOutcomes:
    s = predict_spins(model, J, h, generator, search=search)
    ground = exact_ground(J, h)
    e0 = ground.energy
    excess = energy(J, h, s) - e0
    gap = excess / e0.abs().clamp_min(1e-12)
    levels = energy(J[:, None], h[:, None], ground.states)  # (B, 16)
    margin = torch.where(ground.is_ground, torch.inf, levels).min(-1).values - e0
    phases = [phase_of(float(J[b, 0, 0, 0]), float(J[b, 1, 0, 0]), float(h[b, 0, 0])) for b in range(len(J))]
    return ConstantOutcomes(J, h, s, excess, gap, gap.abs() <= 1e-9, margin, phases)


def _constant_metrics(model: IsingModel, J, h, generator, search: int = 0) -> dict:
    """Exact-ground rate and mean relative gap, overall and per phase. ``exact_rate_away`` restricts to Hamiltonians
    whose lowest excited 2-periodic state lies at least BOUNDARY_MARGIN per site above the ground energy (away from
    phase boundaries)."""
    return _summarise(constant_outcomes(model, J, h, generator, search))


def _summarise(out: ConstantOutcomes) -> dict:
    exact, gap = out.exact, out.rel_gap
    away = out.margin / out.h[0].numel() >= BOUNDARY_MARGIN

    def summary(idx: torch.Tensor) -> dict:
        return {"count": int(idx.sum()), "exact_rate": round(float(exact[idx].double().mean()), 4),
                "mean_rel_gap": round(float(gap[idx].mean()), 5), "count_away": int((idx & away).sum()),
                "exact_rate_away": round(float(exact[idx & away].double().mean()), 4) if (idx & away).any() else None}

    per_phase = {}
    for phase in PHASES:
        idx = torch.tensor([p == phase for p in out.phases])
        if idx.any():
            per_phase[phase] = summary(idx)
    return dict(summary(torch.ones(len(exact), dtype=torch.bool)), per_phase=per_phase)


def small_eval(model: IsingModel) -> dict:
    """The checkpoint tests' fixed set: 128 constant Hamiltonians (seed 12345), one sample each (seed 0)."""
    J, h = sample_constant_hamiltonians(128, model.config.L, torch.Generator().manual_seed(12345))
    m = _constant_metrics(model, J, h, torch.Generator().manual_seed(0))
    return {"count": m["count"], "exact_rate": m["exact_rate"], "mean_rel_gap": m["mean_rel_gap"]}


def validation_outcomes(model: IsingModel, num: int = 2000, search: int = 0) -> ConstantOutcomes:
    """The set used to choose training settings: ``num`` constant Hamiltonians drawn with seed 123 (the test set
    uses seed 1000), one sample each (seed 0), with ``search`` nearby proposals per sample."""
    J, h = sample_constant_hamiltonians(num, model.config.L, torch.Generator().manual_seed(123))
    return constant_outcomes(model, J, h, torch.Generator().manual_seed(0), search)


def validation_metrics(model: IsingModel, num: int = 2000, search: int = 0) -> dict:
    """``validation_outcomes`` summarised with the same fields as the test metrics."""
    return _summarise(validation_outcomes(model, num, search))


@torch.no_grad()
def degeneracy_coverage(model: IsingModel, J: torch.Tensor, h: torch.Tensor, samples: int, generator: torch.Generator,
                        search: int = 0) -> dict:
    """For one Hamiltonian (J (2, L, L), h (L, L)): how often each 2-periodic ground state is hit.

    Returns the counts per ground state (keyed by the 2×2 cell as a string), the count of non-ground samples and
    the total-variation distance to the uniform law on the ground states."""
    ground = exact_ground(J[None], h[None])
    canonical = model.canonicalize(J[None], h[None])[[0] * samples] if model.config.encoding.canonicalizes else None
    s = predict_spins(model, J[None].expand(samples, *J.shape), h[None].expand(samples, *h.shape), generator, canonical=canonical,
                      search=search)
    match = (s[:, None] == ground.states[0][None]).flatten(-2).all(-1)  # (samples, 16)
    counts = match.sum(0)
    ground_idx = ground.is_ground[0].nonzero().flatten().tolist()
    p = counts.double() / samples
    uniform = 1.0 / len(ground_idx)
    tv = 0.5 * (sum(abs(float(p[i]) - uniform) for i in ground_idx) + (1 - sum(float(p[i]) for i in ground_idx)))
    cells = ground.states[0][:, :2, :2]
    return {"ground_states": {json.dumps(cells[i].int().tolist()): int(counts[i]) for i in ground_idx},
            "non_ground": samples - int(sum(int(counts[i]) for i in ground_idx)), "tv": tv}


@lru_cache(maxsize=4)
def _annealing_reference(num: int, L: int) -> torch.Tensor:
    """Best of 32 simulated-annealing runs (1500 sweeps) on the held-out varying Hamiltonians (shared by all variants)."""
    Jv, hv, _ = sample_varying_hamiltonians(num, L, torch.Generator().manual_seed(2000))
    return simulated_annealing(Jv, hv, torch.Generator().manual_seed(3), runs=32, sweeps=1500)[0]


def _degeneracy_tv(model: IsingModel, J: torch.Tensor, h: torch.Tensor, per_phase: int, search: int) -> dict:
    """Mean and max TV of ``degeneracy_coverage`` (200 samples) over the first ``per_phase`` Hamiltonians of each
    phase in (J, h) that have exactly two ground states."""
    ground = exact_ground(J, h)
    by_phase: dict[str, list[float]] = defaultdict(list)
    gen = torch.Generator().manual_seed(2)
    for b in range(len(J)):
        if int(ground.is_ground[b].sum()) != 2:
            continue
        phase = phase_of(float(J[b, 0, 0, 0]), float(J[b, 1, 0, 0]), float(h[b, 0, 0]))
        if len(by_phase[phase]) < per_phase:
            by_phase[phase].append(degeneracy_coverage(model, J[b], h[b], DEGENERACY_SAMPLES, gen, search)["tv"])
    return {p: {"hamiltonians": len(v), "mean_tv": round(sum(v) / len(v), 4), "max_tv": round(max(v), 4)} for p, v in by_phase.items()}


def _varying_metrics(model: IsingModel, num: int, search: int) -> dict:
    L = model.config.L
    Jv, hv, kinds = sample_varying_hamiltonians(num, L, torch.Generator().manual_seed(2000))
    e_ref = _annealing_reference(num, L)
    e_model = energy(Jv, hv, predict_spins(model, Jv, hv, torch.Generator().manual_seed(4), search=search))
    gap = (e_model - e_ref) / e_ref.abs().clamp_min(1e-12)
    per_kind = {}
    for kind in sorted(set(kinds)):
        idx = torch.tensor([k == kind for k in kinds])
        per_kind[kind] = {"count": int(idx.sum()), "mean_rel_gap": round(float(gap[idx].mean()), 4),
                          "match_rate": round(float((gap[idx] <= 1e-9).double().mean()), 4)}
    return {"count": num, "mean_rel_gap": round(float(gap.mean()), 4), "match_rate": round(float((gap <= 1e-9).double().mean()), 4),
            "per_kind": per_kind, "reference": "best of 32 simulated-annealing runs, 1500 sweeps"}


def evaluate(model: IsingModel, quick: bool = False, search: int = SEARCH_PROPOSALS) -> dict:
    """Every metric of the module docstring for one sample per Hamiltonian; under "search" the constant, degeneracy
    and varying metrics again with ``nearby_search`` (``search`` proposals; 0 leaves it out)."""
    L = model.config.L
    n_const, n_deg, n_var, n_cross = (200, 5, 40, 100) if quick else (1000, 25, 200, 500)
    J, h = sample_constant_hamiltonians(n_const, L, torch.Generator().manual_seed(1000))
    results: dict = {
        "constant": _constant_metrics(model, J, h, torch.Generator().manual_seed(1)),
        "degeneracy_tv": _degeneracy_tv(model, J, h, n_deg, 0),
        "varying": _varying_metrics(model, n_var, 0),
    }
    cross = {}
    for size in (4, 6, 12, 16):
        Jc, hc = sample_constant_hamiltonians(n_cross, size, torch.Generator().manual_seed(5000 + size))
        m = _constant_metrics(model.at_size(size), Jc, hc, torch.Generator().manual_seed(6))
        cross[str(size)] = {"exact_rate": m["exact_rate"], "mean_rel_gap": m["mean_rel_gap"],
                            "per_phase_exact_rate": {p: v["exact_rate"] for p, v in m["per_phase"].items()}}
    results["cross_size"] = cross
    if search:
        results["search"] = {
            "proposals": search,
            "constant": _constant_metrics(model, J, h, torch.Generator().manual_seed(1), search),
            "degeneracy_tv": _degeneracy_tv(model, J, h, n_deg, search),
            "varying": _varying_metrics(model, n_var, search),
        }
    return results


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def _constant_table(constant: dict[str, dict]) -> list[str]:
    out = ["| variant | " + " | ".join(PHASES) + " | all | mean rel. gap |", "|---" * (len(PHASES) + 3) + "|"]
    for variant, c in constant.items():
        cells = [f"{_pct(c['per_phase'][p]['exact_rate'])} / {_pct(c['per_phase'][p]['exact_rate_away'])}" if p in c["per_phase"] else "-"
                 for p in PHASES]
        out.append(f"| {variant} | " + " | ".join(cells) + f" | {_pct(c['exact_rate'])} / {_pct(c['exact_rate_away'])} | {c['mean_rel_gap']:.4f} |")
    return out


def _tv_table(degeneracy: dict[str, dict]) -> list[str]:
    phases = sorted({p for tv in degeneracy.values() for p in tv})
    out = ["| variant | " + " | ".join(phases) + " |", "|---" * (len(phases) + 1) + "|"]
    for variant, tv in degeneracy.items():
        out.append(f"| {variant} | " + " | ".join(f"{tv[p]['mean_tv']:.3f} (n={tv[p]['hamiltonians']})" if p in tv else "-" for p in phases) + " |")
    return out


def _varying_table(varying: dict[str, dict]) -> list[str]:
    kinds = sorted({k for v in varying.values() for k in v["per_kind"]})
    out = ["| variant | " + " | ".join(kinds) + " | all |", "|---" * (len(kinds) + 2) + "|"]
    for variant, v in varying.items():
        out.append(f"| {variant} | " + " | ".join(f"{v['per_kind'][k]['mean_rel_gap']:.3f} / {_pct(v['per_kind'][k]['match_rate'])}" for k in kinds)
                   + f" | {v['mean_rel_gap']:.3f} / {_pct(v['match_rate'])} |")
    return out


def markdown_table(all_results: dict[str, dict]) -> str:
    """The README's tables: exact ground states per phase, degeneracy coverage, varying inputs, other sizes, and
    the first three again with the nearby search where it was evaluated."""
    out = ["Exact ground states on 1000 held-out constant Hamiltonians, % (all / away from phase boundaries):", ""]
    out += _constant_table({v: r["constant"] for v, r in all_results.items()})
    out += ["", "Degeneracy coverage: total-variation distance to the uniform law on the two ground states (mean over "
            "Hamiltonians, 200 samples each; 0 is perfectly even, 0.5 always the same state, 1 never a ground state):", ""]
    out += _tv_table({v: r["degeneracy_tv"] for v, r in all_results.items()})
    out += ["", "Spatially varying inputs (200 held-out): mean relative gap to the best of 32 annealing runs / % matching it:", ""]
    out += _varying_table({v: r["varying"] for v, r in all_results.items()})
    out += ["", "The L = 8 models on other sizes (500 constant Hamiltonians each), exact ground states %:", "",
            "| variant | L = 4 | L = 6 | L = 12 | L = 16 |", "|---|---|---|---|---|"]
    for variant, r in all_results.items():
        out.append(f"| {variant} | " + " | ".join(_pct(r["cross_size"][str(s)]["exact_rate"]) for s in (4, 6, 12, 16)) + " |")
    searched = {v: r["search"] for v, r in all_results.items() if "search" in r}
    if searched:
        k = next(iter(searched.values()))["proposals"]
        out += ["", f"With the nearby search (each sample the best of the model's own state and its states for {k} nearby "
                "Hamiltonians, by true energy), the same constant Hamiltonians, % (all / away from phase boundaries):", ""]
        out += _constant_table({v: r["constant"] for v, r in searched.items()})
        out += ["", "Degeneracy coverage with the search:", ""]
        out += _tv_table({v: r["degeneracy_tv"] for v, r in searched.items()})
        out += ["", "Spatially varying inputs with the search:", ""]
        out += _varying_table({v: r["varying"] for v, r in searched.items()})
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    return evaluation_main(
        "backend.tasks.ising.evaluate", "ising", VARIANTS, lambda variant, args: evaluate(load_ising(variant), quick=args.quick),
        markdown_table, argv, description="Evaluate the shipped Ising variants", threads=max(torch.get_num_threads(), 1),
    )


if __name__ == "__main__":
    raise SystemExit(main())
