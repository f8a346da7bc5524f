"""The guided tour (app/tour.py) under AppTest: the URL parameter is validated (one warning line, never a traceback,
the page still shown), Next and Back move through the steps across pages, a step's preset is applied once and the
page stays live inside it, and every step's data fits its page (the preset keys are widgets there, the section
heading exists)."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from app import tour
from test_app import ENTRY, assert_clean

N = len(tour.STEPS)
WIDGET_KINDS = ("radio", "selectbox", "slider", "select_slider", "number_input", "toggle", "checkbox", "text_area")


def open_tour(value: str | None = None, **params) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=120)
    if value is not None:
        at.query_params[tour.PARAM] = value
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    return at


def bar(at: AppTest) -> str:
    """The tour bar's text, "" when there is none."""
    return next((m.value for m in at.markdown if m.value.startswith("**Tour ")), "")


def widget_keys(at: AppTest) -> set[str]:
    return {w.key for kind in WIDGET_KINDS for w in getattr(at, kind) if w.key}


@pytest.mark.parametrize("raw", ["1", str(N), " 2 ", "0003"])
def test_parse_accepts_the_step_numbers(raw):
    n, warning = tour.parse([raw])
    assert warning is None and n == int(raw)


@pytest.mark.parametrize("raw", ["0", str(N + 1), "-1", "3.0", "1e1", "abc", "", "٣", "99999999999999999999",
                                 "<b>x</b>", "`x`" * 100])
def test_parse_rejects_anything_else_with_one_bounded_line(raw):
    n, warning = tour.parse([raw])
    assert n is None and warning
    assert "\n" not in warning and len(warning) < 200
    assert f"1 to {N}" in warning


def test_parse_rejects_a_repeated_parameter_and_ignores_a_missing_one():
    assert tour.parse(["1", "2"])[0] is None and "once" in tour.parse(["1", "2"])[1]
    assert tour.parse([]) == (None, None)


@pytest.mark.parametrize("raw", ["11", "abc<script>alert(1)</script>", "1;2", "x" * 500])
def test_a_bad_step_in_the_url_gives_one_warning_and_the_page(raw):
    at = open_tour(raw)
    assert_clean(at)
    assert [w.value for w in at.warning if "tour" in w.value.lower()] == [tour.parse([raw])[1]]
    assert not bar(at)
    assert [t.value for t in at.title] == ["SymPE Lab"]  # the page is still shown


def test_the_warning_shows_user_text_only_as_a_code_span():
    warning = tour.parse(["<img src=x onerror=alert(1)>"])[1]
    assert "`<img src=x onerror=alert(1)>`" in warning


def test_next_and_back_walk_every_step_across_the_pages():
    at = open_tour("1")
    for n in range(1, N + 1):
        assert_clean(at)
        assert bar(at).startswith(f"**Tour {n}/{N} · {tour.STEPS[n - 1].title}.**")
        assert at.query_params[tour.PARAM] == str(n)
        assert at.button(key="tour_prev").disabled == (n == 1)
        assert at.button(key="tour_next").disabled == (n == N)
        if n < N:
            at.button(key="tour_next").click().run()
    at.button(key="tour_prev").click().run()
    assert bar(at).startswith(f"**Tour {N - 1}/{N}")
    at.button(key="tour_end").click().run()
    assert_clean(at)
    assert not bar(at) and tour.PARAM not in at.query_params


@pytest.mark.parametrize("n", range(1, N + 1))
def test_each_step_opens_directly_on_its_page_with_its_preset(n):
    step = tour.STEPS[n - 1]
    at = open_tour(str(n))
    assert_clean(at)
    assert bar(at).startswith(f"**Tour {n}/{N}")
    assert step.state.keys() <= widget_keys(at), "a preset names a widget that is not on the step's page"
    for key, value in step.state.items():
        assert at.session_state[key] == value
    if step.section:
        headings = [h.value for h in (*at.header, *at.subheader)]
        assert any(h.startswith(step.section) for h in headings), (step.section, headings)


def test_a_step_stays_live_and_its_preset_is_applied_once():
    at = open_tour("1")
    assert at.radio(key="home_example").value == "Antiferromagnet"
    at.radio(key="home_example").set_value("Stripes").run()
    at.button(key="home_resample").click().run()
    assert_clean(at)
    assert at.radio(key="home_example").value == "Stripes"  # not reset to the step's preset
    assert int(at.session_state["seed"]) == 1
    assert bar(at).startswith(f"**Tour 1/{N}")


def test_without_the_parameter_there_is_no_tour_bar_and_the_sidebar_starts_it():
    at = open_tour()
    assert not bar(at)
    at.button(key="tour_start").click().run()
    assert_clean(at)
    assert bar(at).startswith(f"**Tour 1/{N}")


def test_a_step_on_another_page_keeps_presenter_and_the_step_in_the_url():
    """A deep link whose step lives on another page, and then a step across pages: the URL still carries both."""
    on_other_page = next(n for n in range(2, N)
                         if tour.STEPS[n - 1].page and tour.STEPS[n].page != tour.STEPS[n - 1].page)
    at = open_tour(str(on_other_page), presenter="true", seed="5")
    assert_clean(at)
    assert at.session_state["presenter"] is True
    assert (at.query_params[tour.PARAM], at.query_params["presenter"], at.query_params["seed"]) == \
        (str(on_other_page), "true", "5")
    at.button(key="tour_next").click().run()
    assert_clean(at)
    assert bar(at).startswith(f"**Tour {on_other_page + 1}/{N}")
    assert (at.query_params[tour.PARAM], at.query_params["presenter"]) == (str(on_other_page + 1), "true")
