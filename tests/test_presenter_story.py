"""The presenter's story row (ui.story) under AppTest: in presenter mode the Lattice and Point-cloud labs, Theory and
Results draw it (the input, the baseline's answer and SymPE's samples, or the page's key picture) from the same
computations as their sections, each figure valid for plotly; in normal mode no page draws it. The browser test
(tests/e2e/test_presenter.py) checks that it lies wholly on the first screen."""
from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import pytest

from test_app import SHIPPED, assert_clean, open_page

STORY = {  # page: the story's figures (key suffixes), given what is shipped
    "lattice_lab": ["input", "none-1", "sympe-1", "sympe-2", "sympe-3"],
    "pointcloud_lab": ["input", "none-1", "sympe-1", "sympe-2"],
    "theory": ["orbit", "equivariant", "sympe"],
    "results": ["headline"],
}


def story(at) -> dict[str, dict]:
    """The story's figures by name (their key without the ``story_`` prefix), as plotly specs."""
    return {c.proto.id.rsplit("story_", 1)[1]: json.loads(c.proto.spec)
            for c in at.get("plotly_chart") if "story_" in c.proto.id}


@pytest.mark.parametrize("page", list(STORY))
def test_presenter_mode_draws_the_story_and_normal_mode_does_not(page):
    experiment = {"lattice_lab": "ising", "pointcloud_lab": "pointcloud"}.get(page)
    if experiment and not {f"{experiment}/none", f"{experiment}/sympe"} <= set(SHIPPED):
        pytest.skip(f"{experiment}/none and {experiment}/sympe are not both shipped")
    presenting = open_page(page, presenter=True)
    assert_clean(presenting)
    figures = story(presenting)
    assert sorted(figures) == sorted(STORY[page])
    for spec in figures.values():
        go.Figure(spec)  # plotly validates every property (the builders skip it for speed)
    normal = open_page(page)
    assert_clean(normal)
    assert story(normal) == {}


def test_the_lattice_story_shows_the_stuck_baseline_and_broken_samples():
    if not {"ising/none", "ising/sympe"} <= set(SHIPPED):
        pytest.skip("ising/none and ising/sympe are not both shipped")
    figures = story(open_page("lattice_lab", presenter=True, jx=-1.0, jy=-1.0, field=0.0))
    spins = {name: np.array(spec["data"][0]["z"]) for name, spec in figures.items() if name != "input"}
    assert np.unique(spins["none-1"]).size == 1  # the antiferromagnet's every site alike: one spin everywhere
    for k in (1, 2, 3):
        assert np.unique(spins[f"sympe-{k}"]).size == 2


def test_the_theory_story_shows_equal_then_differing_outputs():
    figures = story(open_page("theory", presenter=True))
    equal, broken = (np.array(figures[name]["data"][0]["y"]) for name in ("equivariant", "sympe"))
    assert np.ptp(equal) == 0 and np.ptp(broken) > 0
