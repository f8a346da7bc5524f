"""scripts/ising_boundary_scan.py: the slider grid, the tie count that marks exact phase boundaries, and a small run."""
import torch
from script_loader import load_script


def _script():
    return load_script("ising_boundary_scan")


def test_grid_is_the_sliders_training_range_and_ties_mark_boundaries():
    scan = _script()
    grid = scan.slider_grid()
    assert grid.shape == (41 * 41 * 121, 3)
    assert {0.05, -1.0, 1.0}.issubset(set(grid[:, 0].tolist())) and grid[:, 2].abs().max() == 3.0
    params = torch.tensor([
        [-1.0, -1.0, 0.0],  # antiferromagnet: the two checkerboards
        [1.0, 1.0, 0.0],  # ferromagnet at h = 0: the two uniform states
        [1.0, 1.0, 0.5],  # ferromagnet in a field: one state
        [-1.0, 0.0, 0.1],  # J_y = 0: checkerboards and vertical stripes tie
        [-0.5, -0.5, 2.0],  # |h| = 2|J_x + J_y|: checkerboards, the polarized state and the 3:1 states tie
    ], dtype=torch.float64)
    ties = scan.tied_states(params).tolist()
    assert ties[:3] == [2, 2, 1]
    assert ties[3] == 4 and ties[4] > 2


def test_small_run_prints_both_groups(capsys):
    assert _script().main(["--num", "20", "--search", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("203401 grid points")
    rows = [line for line in out if line.startswith("| on a boundary") or line.startswith("| off the boundaries")]
    assert len(rows) == 2
    for row in rows:
        plain, searched = (float(x) for x in row.strip("| ").split(" | ")[2:])
        assert 0 <= plain <= searched <= 100  # the search keeps the model's own draw unless it finds a lower energy
