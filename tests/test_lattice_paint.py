"""Painted sites and bonds in the Lattice lab's URL: the compact link round-trips, the longest link the app can
write stays far below what a web server accepts, and hostile parameters paint nothing wrong and say what was
ignored (pure functions, property-based, and the page under AppTest)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from app import lattice

ENTRY = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
GRID = [lattice.PAINT_MIN + lattice.PAINT_STEP * k for k in range(17)]


@st.composite
def paints(draw):
    L = draw(st.sampled_from(lattice.SIZES))
    cells = st.tuples(st.sampled_from(lattice.PAINT_KINDS), st.integers(0, L - 1), st.integers(0, L - 1))
    return L, draw(st.dictionaries(cells, st.sampled_from(GRID), max_size=60))


@settings(max_examples=150, deadline=None)
@given(paints())
def test_the_compact_link_round_trips(case):
    L, paint = case
    text = lattice.encode_paint(paint, L)
    assert lattice.parse_paint(text) == (paint, [])


def test_the_longest_link_stays_small():
    """The worst case: every site and bond painted at L = 64 with neighbours always different (no run to merge):
    3·64² letters plus the header, about 12 KB, far below the roughly 100 KB a web server accepts."""
    L = lattice.SIZES[-1]
    paint = {(kind, i, j): GRID[(i * L + j + k) % 2] for k, kind in enumerate(lattice.PAINT_KINDS)
             for i in range(L) for j in range(L)}
    text = lattice.encode_paint(paint, L)
    assert len(text) == len(f"v2:{L}:") + 2 + 3 * L * L
    assert len(text) < 16_000
    assert lattice.parse_paint(text)[0] == paint
    assert len(lattice.encode_paint({}, L)) < 40  # nothing painted: three runs of dots


@pytest.mark.parametrize("text, painted, words", [
    ("h:1:2:1e308", {("h", 1, 2): 4.0}, "moved 1 painted value"),
    ("h:1:2:inf;jx:0:0:nan", {}, "not a finite number"),
    ("h:-1:2:1", {}, "site outside"),
    ("h:-100:0:1", {}, "site outside"),
    ("h:64:0:1", {}, "site outside"),
    ("h:1:2:1.3", {("h", 1, 2): 1.5}, "steps of 0.5"),
    ("q:1:2:1;h:1", {}, "not kind:i:j:value"),
    ("h:1:2:1:9", {}, "not kind:i:j:value"),
    ("h:0:0:1;\udcff:\x00:1:2", {("h", 0, 0): 1.0}, "ignored 1 paint entry"),
    ("v2:4:z16:.16:.16", {}, "h part of the paint parameter is malformed"),
    ("v2:4:a15:.16:.16", {}, "must describe 16 cells"),
    ("v2:0:::", {}, "1 ≤ L ≤ 64"),
    ("v2:65:" + ".4225:" * 3, {}, "1 ≤ L ≤ 64"),
    ("x" * 70_000, {}, "at most 64,000"),
])
def test_hostile_paint_parameters_paint_nothing_wrong_and_say_why(text, painted, words):
    paint, notes = lattice.parse_paint(text)
    assert paint == painted
    assert any(words in note for note in notes), notes


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_any_text_parses_to_cells_on_the_grid_and_the_lattice(text):
    paint, notes = lattice.parse_paint(text)
    for (kind, i, j), value in paint.items():
        assert kind in lattice.PAINT_KINDS and 0 <= i < 64 and 0 <= j < 64
        assert value in GRID
    assert all(isinstance(n, str) and "\n" not in n for n in notes)


def test_the_page_warns_once_and_shows_finite_energies_for_a_hostile_link():
    at = AppTest.from_file(ENTRY, default_timeout=120)
    at.query_params["paint"] = "h:1:1:1e308;h:-100:0:1;h:2:2:nan"
    at.run()
    at.switch_page("app_pages/lattice_lab.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    warnings = " ".join(w.value for w in at.warning)
    assert "ignored 2 paint entries" in warnings and "moved 1 painted value" in warnings
    energies = [m.value for m in at.metric if m.label == "energy per site"]
    assert energies and all(np.isfinite(float(v)) for v in energies)
    link = at.query_params["paint"]
    assert link.startswith("v2:8:") and lattice.parse_paint(link)[0] == {("h", 1, 1): 4.0}
