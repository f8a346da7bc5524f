"""scripts/qm9_backbone_speed.py runs its eager, traced and sampling timings on the shipped denoiser, so the figures
quoted in backend/nn/graph.py and docs/app.md can be reproduced (no timing is asserted)."""
import pytest
from script_loader import load_script

from backend.checkpoints import read_manifest


@pytest.mark.skipif("qm9/sympe" not in read_manifest(), reason="qm9/sympe is not shipped")
def test_the_script_prints_every_timing(capsys):
    assert load_script("qm9_backbone_speed").main(["--runs", "1", "--no-export"]) == 0
    out = capsys.readouterr().out
    for label in ("backbone, eager", "backbone, traced", "100-step sampling, eager", "100-step sampling, traced"):
        assert label in out
