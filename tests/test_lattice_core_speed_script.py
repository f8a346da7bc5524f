"""scripts/lattice_core_speed.py times the frozen Ising core on one and on two threads, so that the choice of
FrozenP4MCNN.MIN_CHUNK_SITES quoted in backend/nn/lattice.py and docs/app.md can be reproduced (no timing is
asserted)."""
import pytest
from script_loader import load_script

from backend.checkpoints import read_manifest
from backend.nn.lattice import FrozenP4MCNN


@pytest.mark.skipif("ising/noise" not in read_manifest(), reason="ising/noise is not shipped")
def test_the_script_prints_a_row_per_size(capsys):
    assert load_script("lattice_core_speed").main(["--sizes", "8", "48", "--K", "4", "--runs", "1"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert [row.split(" | ")[0] for row in rows] == ["| 8", "| 48"]
    splits = ["yes" if 4 * L * L >= 2 * FrozenP4MCNN.MIN_CHUNK_SITES else "no" for L in (8, 48)]  # two chunks or one
    assert [row.rstrip(" |").rsplit(" ", 1)[-1] for row in rows] == splits
