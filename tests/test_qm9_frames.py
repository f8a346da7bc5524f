"""The Molecule lab's frames (app/molecules.py), checked against an independent canonicalization of each frame's
coloured graph: |Aut| and the number of orbits are BLISS's, every h maps the frame onto its canonical form, and a
live trajectory of a SymPE model shows at each denoised frame the h the sampler itself drew there."""
from __future__ import annotations

import pytest
import torch
from shipped import shipped_or_skip

from app import models
from app import molecules as M
from backend.canonical import canonicalize_graph
from backend.tasks.qm9.model import sample_molecules


def independent(step: M.Step):
    """(canonical form, node colours (n,), edge colours (n, n) with 0 = no bond) of a frame, built from scratch."""
    n = len(step.atoms)
    x = torch.tensor([M._NODE_TYPES[a] for a in step.atoms])
    C = torch.zeros(n, n, dtype=torch.long)
    for u, v, b in step.bonds:
        C[u, v] = C[v, u] = M._EDGE_TYPES[b] + 1
    form = canonicalize_graph(n, [(u, v) for u, v, _ in step.bonds], x.tolist(),
                              [M._EDGE_TYPES[b] for _, _, b in step.bonds])
    return form, x, C


def assert_frame(step: M.Step) -> None:
    form, x, C = independent(step)
    assert step.aut_order == form.automorphism_group_order and step.orbits == len(form.orbits)
    h, gamma = torch.tensor(step.h), torch.tensor(form.order)
    assert sorted(step.h) == list(range(len(step.atoms)))
    assert torch.equal(x[h], x[gamma]) and torch.equal(C[h][:, h], C[gamma][:, gamma])


@pytest.mark.parametrize("process", ["absorbing", "uniform"])
def test_forward_noising_frames(process):
    for step in M.trajectory("Pyrazine", process, 10, 3):
        assert_frame(step)


def test_live_frames_show_the_h_that_the_sampler_drew():
    shipped_or_skip("qm9/sympe")
    seed, steps = 5, 10
    frames, _ = M.live_trajectory("sympe", "test", seed, steps)
    with torch.inference_mode():
        sample = sample_molecules(models.qm9_sampler("sympe"), 1, torch.Generator().manual_seed(seed), steps,
                                  keep_trajectory=True, track_symmetry=False)
    n = int(sample.num_nodes[0])
    drawn = {t: tuple(h[0, :n].tolist()) for (t, _, _), h in zip(sample.trajectory, sample.elements)}
    assert [s.t for s in frames] == sorted(t for t, _, _ in sample.trajectory) and 0 not in drawn
    for step in frames:
        assert_frame(step)
        if step.t:
            assert step.h == drawn[step.t]
