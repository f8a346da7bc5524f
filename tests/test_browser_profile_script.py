"""scripts/browser_profile.py: the self times of a Chromium CPU profile, summed per click by file and function
(a hand-made profile; the browser run itself is what the script is for and is not repeated here)."""
import pytest
from script_loader import load_script


def test_self_times_are_summed_per_click_and_idle_is_left_out():
    script = load_script("browser_profile")
    frame = lambda name, url: {"functionName": name, "url": url}  # noqa: E731
    prof = {"nodes": [{"id": 1, "callFrame": frame("L", "http://x/assets/PlotlyChart.js")},
                      {"id": 2, "callFrame": frame("(idle)", "")},
                      {"id": 3, "callFrame": frame("(program)", "")}],
            "samples": [1, 2, 1, 3], "timeDeltas": [1000, 5000, 3000, 2000]}
    by_file, by_function = script.self_times(prof, clicks=2)
    assert by_file == {"PlotlyChart.js": 2.0, "(program)": 1.0}
    assert by_function[("L", "PlotlyChart.js")] == pytest.approx(2.0) and ("(idle)", "(idle)") not in by_function
