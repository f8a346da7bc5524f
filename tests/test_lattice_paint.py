"""The Lattice lab's URL: painted sites and bonds travel as a compact run-length string that round-trips, the longest
link the app can write stays far below what a web server accepts, and hostile parameters (paint and the bound
sliders) paint nothing wrong, never raise and are named in one warning (pure functions, property-based, and the
page under AppTest)."""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from app import lattice
from app.sidebar import SEED_MAX

ENTRY = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
GRID = [lattice.PAINT_MIN + lattice.PAINT_STEP * k for k in range(17)]
SMALL_SIZES = [L for L in lattice.SIZES if L <= 16]
URL_LIMIT = 16_000  # the longest query string the app may write; web servers refuse about 100 KB


@st.composite
def paints(draw, sizes=lattice.SIZES):
    L = draw(st.sampled_from(sizes))
    cells = st.tuples(st.sampled_from(lattice.PAINT_KINDS), st.integers(0, L - 1), st.integers(0, L - 1))
    return L, draw(st.dictionaries(cells, st.sampled_from(GRID), max_size=60))


@st.composite
def dense_paints(draw):
    """Every cell of every kind drawn (unpainted or one of a few grid values): long runs, short runs and none."""
    L = draw(st.sampled_from(SMALL_SIZES))
    values = draw(st.sampled_from([GRID[:2], GRID[7:10], GRID]))
    codes = draw(st.lists(st.sampled_from([None] + values), min_size=3 * L * L, max_size=3 * L * L))
    paint = {(kind, n // L, n % L): codes[k * L * L + n] for k, kind in enumerate(lattice.PAINT_KINDS)
             for n in range(L * L) if codes[k * L * L + n] is not None}
    return L, paint


def ignored_count(notes: list[str]) -> int:
    return sum(int(n) for note in notes for n in re.findall(r"ignored (\d+) paint entr", note))


# ---- the compact link ---------------------------------------------------------------------------------------------------

@settings(max_examples=150, deadline=None)
@given(paints() | dense_paints())
def test_the_compact_link_round_trips(case):
    L, paint = case
    text = lattice.encode_paint(paint, L)
    assert text.startswith(f"v2:{L}:")
    assert lattice.parse_paint(text) == (paint, [])


@settings(max_examples=100, deadline=None)
@given(dense_paints())
def test_no_part_of_a_link_is_longer_than_the_lattice(case):
    """A run of n ≥ 2 cells takes 1 + digits(n) ≤ n characters, so each kind's part has at most L² characters."""
    L, paint = case
    parts = lattice.encode_paint(paint, L).split(":")[2:]
    assert len(parts) == 3 and all(len(part) <= L * L for part in parts)


def test_the_longest_link_stays_small():
    """The worst case: every site and bond painted at L = 64 with neighbours always different (no run to merge)
    writes 3·64² letters plus the header, 12,296 characters; with every other parameter at its longest the whole
    query string stays below 16 KB, far below the roughly 100 KB a web server accepts."""
    L = lattice.SIZES[-1]
    bound = len(f"v2:{L}:") + 2 + 3 * L * L
    alternating = {(kind, i, j): GRID[(i * L + j + k) % 2] for k, kind in enumerate(lattice.PAINT_KINDS)
                   for i in range(L) for j in range(L)}
    spread = {(kind, i, j): GRID[(i * L + j + 5 * k) % 17] for k, kind in enumerate(lattice.PAINT_KINDS)
              for i in range(L) for j in range(L)}
    pairs = {(kind, i, j): GRID[((i * L + j) // 2) % 2] for kind in lattice.PAINT_KINDS for i in range(L)
             for j in range(L)}  # runs of two: "a2b2…" is as long as "aabb…"
    for paint in (alternating, spread, pairs):
        text = lattice.encode_paint(paint, L)
        assert len(text) <= bound == 12_296
        assert lattice.parse_paint(text) == (paint, [])
    assert len(lattice.encode_paint(alternating, L)) == bound
    query = urlencode({"jx": "-1.95", "jy": "-1.95", "field": "-3.95", "L": L, "K": 16, "search": 8,
                       "seed": SEED_MAX, "presenter": "true", "paint": lattice.encode_paint(alternating, L)})
    assert len(query) < URL_LIMIT
    assert len(lattice.encode_paint({}, L)) < 30  # nothing painted: three runs of dots
    assert len(lattice.encode_paint({("h", 1, 1): 2.0}, L)) < 40  # typical paint: a few short runs


def test_encoding_keeps_only_what_it_can_write_back():
    """Off-grid, out-of-range, non-finite or off-lattice entries (never made by the page) are snapped or left out
    rather than written as another cell: a negative index does not wrap."""
    paint = {("h", -1, 0): 1.0, ("h", 0, 4): 1.0, ("jx", 0, 0): 9.0, ("jy", 1, 1): 0.3, ("h", 2, 2): float("nan"),
             ("q", 0, 0): 1.0}
    assert lattice.parse_paint(lattice.encode_paint(paint, 4)) == ({("jx", 0, 0): 4.0, ("jy", 1, 1): 0.5}, [])


# ---- hostile paint parameters ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, painted, words", [
    ("h:1:2:1e308", {("h", 1, 2): 4.0}, "clipped 1 paint entry to the painter's range -4…4: `h:1:2:1e308`"),
    ("h:1:2:-7", {("h", 1, 2): -4.0}, "clipped 1 paint entry"),
    ("h:1:2:1e999", {}, "not a finite number"),
    ("h:1:2:inf;jx:0:0:nan", {}, "ignored 2 paint entries (not a finite number)"),
    ("h:-1:2:1", {}, "site outside 0…63"),
    ("h:-100:0:1", {}, "site outside"),
    ("h:64:0:1", {}, "site outside"),
    ("h:99999999999999999999999:0:1", {}, "not kind:i:j:value"),
    ("h:1:2:1.3", {("h", 1, 2): 1.5}, "rounded 1 paint entry to the painter's step 0.5"),
    ("q:1:2:1;h:1", {}, "ignored 2 paint entries (not kind:i:j:value"),
    ("h:1:2:1:9", {}, "not kind:i:j:value"),
    ("h:1_0:2:1;h: 1:2:1;h:1:2:1_0;h:١:2:1", {}, "ignored 4 paint entries"),
    ("h:0:0:1;\udcff:\x00:1:2", {("h", 0, 0): 1.0}, "ignored 1 paint entry"),
    ("h:[x](javascript:alert(1)):0:1", {}, "`h:?x??javascript:alert?1…`"),
    ("v2:4:z16:.16:.16", {}, "h part of the paint parameter is malformed"),
    ("v2:4:a15:.16:.16", {}, "must describe 16 cells"),
    ("v2:4:a١٦:.16:.16", {}, "must describe 16 cells"),
    ("v2:0:::", {}, "1 ≤ L ≤ 64"),
    ("v2:00640:a:a:a", {}, "1 ≤ L ≤ 64"),
    ("v2:65:" + ".4225:" * 3, {}, "1 ≤ L ≤ 64"),
    ("x" * 200_000, {}, "at most 64,000"),
])
def test_hostile_paint_parameters_paint_nothing_wrong_and_say_why(text, painted, words):
    paint, notes = lattice.parse_paint(text)
    assert paint == painted
    assert any(words in note for note in notes), notes


def test_entries_beyond_the_bound_are_counted_not_read():
    text = ";".join(f"h:{n // 4 % 4}:{n % 4}:1" for n in range(64))  # 64 entries for a bound of 3·4² = 48
    paint, notes = lattice.parse_paint(text, max_size=4)
    assert len(paint) == 16 and any("64 entries (at most 48); ignored the last 16" in n for n in notes), notes


def test_entries_outside_the_lattice_of_the_page_are_named():
    kept, notes = lattice.paint_within({("h", 1, 1): 1.0, ("h", 9, 0): 1.0, ("jx", 0, 8): 2.0}, 8)
    assert kept == {("h", 1, 1): 1.0}
    assert notes == ["ignored 2 paint entries outside the 8×8 lattice: `h:9:0`, `jx:0:8`"]
    assert lattice.paint_within(kept, 8) == (kept, [])


@pytest.mark.parametrize("data, cell", [
    (["h", 1, 2], ("h", 1, 2)), (("jy", "3", 0), ("jy", 3, 0)), (["h", -1, 0], None), (["h", 8, 0], None),
    (["q", 0, 0], None), (["h", "x", 0], None), (["h", float("nan"), 0], None), (["h", 1], None), (None, None),
    (["h", 1e308, 0], None),
])
def test_a_painter_click_must_name_a_cell(data, cell):
    assert lattice.paint_cell(data, 8) == cell


def _entry_texts():
    kinds = st.sampled_from(list(lattice.PAINT_KINDS) + ["", "H", "j", "hx"])
    index = st.integers(-200, 200).map(str) | st.integers(-10**30, 10**30).map(str) | st.text(max_size=4)
    value = (st.floats(allow_nan=True, allow_infinity=True).map(repr) | st.integers(-10, 10).map(str)
             | st.sampled_from(["inf", "-Infinity", "NaN", "1e999", "0x10", "1_0", ".5", "5.", "", "+2", "--1"]))
    return st.tuples(kinds, index, index, value).map(":".join)


def _oracle_ignores(part: str, max_size: int = 64) -> bool:
    """An independent reading of one old-style entry: is it ignored?"""
    fields = part.split(":")
    if len(fields) != 4 or fields[0] not in lattice.PAINT_KINDS:
        return True
    try:
        i, j = (int(f) if f.lstrip("-").isascii() and f.lstrip("-").isdigit() and f.count("-") <= 1 and
                (f[0] == "-" or f[0].isdigit()) else None for f in fields[1:3])
        value = float(fields[3])
    except ValueError:
        return True
    if i is None or j is None or not (0 <= i < max_size and 0 <= j < max_size):
        return True
    return not np.isfinite(value) or "_" in fields[3] or fields[3].lower().startswith("0x")


@settings(max_examples=300, deadline=None)
@given(st.lists(_entry_texts(), min_size=1, max_size=30))
def test_every_ignored_entry_is_counted(entries):
    paint, notes = lattice.parse_paint(";".join(entries))
    parts = [e for e in ";".join(entries).split(";") if e]
    assert ignored_count(notes) == sum(map(_oracle_ignores, parts)), (parts, notes)
    assert all(value in GRID for value in paint.values())


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(exclude_categories=()), max_size=200)
       | st.binary(max_size=200).map(lambda b: b.decode("utf-8", "surrogateescape"))
       | st.binary(max_size=200).map(lambda b: b.decode("latin-1"))
       | st.builds(lambda L, parts: f"v2:{L}:" + ":".join(parts), st.integers(-1, 70).map(str),
                   st.lists(st.text(".abq0123456789z:", max_size=40), min_size=0, max_size=4)))
def test_any_text_parses_to_cells_on_the_grid_and_the_lattice(text):
    paint, notes = lattice.parse_paint(text)
    for (kind, i, j), value in paint.items():
        assert kind in lattice.PAINT_KINDS and 0 <= i < 64 and 0 <= j < 64
        assert value in GRID
    for note in notes:  # one line of markdown each, no link or markup from the text
        assert isinstance(note, str) and "\n" not in note and "](" not in note and "<" not in note
    assert len(paint) <= 3 * 64 * 64


# ---- the bound sliders ------------------------------------------------------------------------------------------------

DEFAULTS = {"jx": -1.0, "jy": -1.0, "field": 0.0, "L": 8, "K": 8, "search": 0}


@pytest.mark.parametrize("raw, used, words", [
    ({"jx": ["1e308"]}, {}, "`jx=1e308` (outside -2…2; -1 is used)"),
    ({"field": ["-inf"]}, {}, "`field=-inf` (not a finite number; 0 is used)"),
    ({"jy": ["nan"]}, {}, "not a finite number"),
    ({"K": ["abc"]}, {}, "`K=abc` (not a number; 8 is used)"),
    ({"K": ["3.5"]}, {"K": 3}, "`K=3.5` (not a whole number; 3 is used)"),
    ({"L": ["5"]}, {}, "`L=5` (not one of 4, 6, 8"),
    ({"L": ["4", "64"]}, {}, "`L=64` (given 2 times; 8 is used)"),
    ({"search": ["-1"]}, {}, "`search=-1` (outside 0…8; 0 is used)"),
    ({"jx": ["[x](y)"]}, {}, "`jx=?x??y?` (not a number"),
])
def test_refused_url_parameters_are_named(raw, used, words):
    notes = lattice.url_param_notes(raw, {**DEFAULTS, **used})
    assert len(notes) == 1 and words in notes[0], notes


def test_url_parameters_taken_as_written_need_no_note():
    raw = {"jx": ["0.5"], "jy": ["-1.95"], "field": ["0.15"], "L": ["64"], "K": ["16"], "search": ["4"],
           "seed": ["nonsense"]}  # seed belongs to the sidebar, not to this check
    used = {"jx": 0.5, "jy": -1.95, "field": 0.15, "L": 64, "K": 16, "search": 4}
    assert lattice.url_param_notes(raw, used) == []
    assert lattice.url_param_notes({}, DEFAULTS) == []


# ---- the page ---------------------------------------------------------------------------------------------------------

def open_lattice(**params) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=120)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    at.switch_page("app_pages/lattice_lab.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def energies(at: AppTest) -> list[float]:
    return [float(m.value) for m in at.metric if m.label == "energy per site"]


def test_the_page_warns_once_and_shows_finite_energies_for_a_hostile_link():
    at = open_lattice(paint="h:1:1:1e308;h:-100:0:1;h:2:2:nan;h:[x](y):1:1", jx="1e308", field="-inf", L="5",
                      K="0", search="nan")
    assert len(at.warning) == 1
    warning = at.warning[0].value
    for words in ("`jx=1e308` (outside", "`field=-inf` (not a finite number", "`L=5` (not one of", "`K=0` (outside",
                  "`search=nan`", "`h:-100:0:1`", "`h:2:2:nan`", "`h:?x??y?:1:1`", "clipped 1 paint entry"):
        assert words in warning, warning
    assert "](" not in warning
    assert [at.slider(key=k).value for k in ("jx", "field", "K", "search")] == [-1.0, 0.0, 8, 0]
    assert at.select_slider(key="L").value == 8
    assert energies(at) and all(np.isfinite(energies(at)))
    assert at.query_params["paint"] == lattice.encode_paint({("h", 1, 1): 4.0}, 8)
    at.run()
    assert not at.warning and not at.exception  # said once


def test_a_link_painting_outside_its_lattice_says_so():
    at = open_lattice(L="4", K="1", jx="0.5", paint="h:6:6:1;h:1:1:1")
    assert [w.value for w in at.warning] == [
        "This link was not used as written: ignored 1 paint entry outside the 4×4 lattice: `h:6:6`."]
    assert at.slider(key="jx").value == 0.5
    assert at.query_params["paint"] == lattice.encode_paint({("h", 1, 1): 1.0}, 4)


def test_a_link_the_app_wrote_loads_without_a_warning():
    paint = {("h", 1, 1): 2.0, ("jx", 0, 3): -4.0, ("jy", 3, 3): 0.5}
    at = open_lattice(L="4", K="1", jy="-1.95", field="0.15", paint=lattice.encode_paint(paint, 4))
    assert not at.warning, [w.value for w in at.warning]
    assert at.session_state["paint"] == paint
    assert [m.value for m in at.metric if m.label == "Painted sites and bonds"] == ["3"]
    assert energies(at) and all(np.isfinite(energies(at)))
