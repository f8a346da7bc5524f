"""scripts/qm9_scale_estimate.py: both configurations build, train a step on the real data and run a reverse step,
so the docs' estimate table can be reproduced (no timing is asserted)."""
import torch
from script_loader import load_script


def test_the_estimate_measures_both_configurations():
    script = load_script("qm9_scale_estimate")
    shipped = script.measure(script.CONFIGS["shipped"], steps=1, batch=8, device=torch.device("cpu"))
    paper = script.measure(script.CONFIGS["paper-scale"], steps=1, batch=8, device=torch.device("cpu"))
    assert (shipped["T"], paper["T"]) == (100, 500)
    assert paper["parameters"] > 10 * shipped["parameters"]
    assert 0 < shipped["step_s"] and 0 < paper["reverse_step_s"]
