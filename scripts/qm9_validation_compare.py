"""Compare QM9 denoisers on the validation split (never the test split), for choices made during development.

    python scripts/qm9_validation_compare.py none:none: sympe:sympe: mixture:sympe:runs/qm9-mixture

Each argument is label:variant:root (an empty root is pretrained/). For every model it prints the NLL bound on
3000 seeded validation molecules (one encoding draw and the mixture over K = 8 draws, with the same t and z_t for
every model, and the mixture gain) and the validity of 500 sampled molecules (seed 11), then the paired NLL
differences to the first model with their standard errors. It runs on backend.device.select_device()
(SYMPE_DEVICE=cpu to force the CPU).
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.device import select_device  # noqa: E402
from backend.tasks.qm9.data import load_qm9
from backend.tasks.qm9.evaluate import mean_sem, nll_per_molecule, validity_rate
from backend.tasks.qm9.model import load_qm9_model

VALIDATION_MOLECULES, SAMPLES, MIXTURE_DRAWS = 3000, 500, 8


def main(specs: list[str]) -> int:
    if not specs or any(s.count(":") != 2 for s in specs):
        print("usage: python scripts/qm9_validation_compare.py label:variant:root [...]", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    device = select_device()
    X, E, N = load_qm9().tensors("val")
    rows = torch.randperm(len(N), generator=torch.Generator().manual_seed(7))[:VALIDATION_MOLECULES]
    X, E, N = X[rows], E[rows], N[rows]
    nlls = {}
    for label, variant, root in (s.split(":") for s in specs):
        model = load_qm9_model(variant, Path(root) if root else None).to(device)
        mixture = nll_per_molecule(model, X, E, N, MIXTURE_DRAWS)
        nlls[label] = (nll_per_molecule(model, X, E, N)["nll"], mixture["nll"])
        validity = validity_rate(model, SAMPLES, torch.Generator().manual_seed(11))
        gain, gain_sem = mean_sem(mixture["gain"])
        print(f"{label}: NLL one draw {nlls[label][0].mean():.3f}, mixture {nlls[label][1].mean():.3f} (mixture gain "
              f"{gain:.4f} ± {gain_sem:.4f}), validity {100 * validity:.1f}% of {SAMPLES}", flush=True)
    base = next(iter(nlls))
    for label, (one, mixture) in nlls.items():
        if label != base:
            for name, diff in (("one draw", one - nlls[base][0]), ("mixture", mixture - nlls[base][1])):
                mean, sem = mean_sem(diff)
                print(f"{label} - {base}, {name}: {mean:+.3f} ± {sem:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
