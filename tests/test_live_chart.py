"""app/live_chart.py under AppTest: a live chart keeps its element id while its figure changes (so the browser keeps
the element and updates the plot in place), where st.plotly_chart's id follows the figure; the payload carries the
figure unchanged; plotly.js is fetched from the component's asset route under the server's base path; and
ui.show_figure sends exactly the figures with a 3D scene there. The browser side (the plot updated in the same
WebGL context, the asset served) is tests/e2e/test_pointcloud_lab.py."""
from __future__ import annotations

import json
from pathlib import Path

import plotly
import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from app import live_chart
from app_charts import charts, element_key


def two_reruns(script) -> tuple[list, list]:
    """The chart elements of ``script``'s first run and of its second."""
    at = AppTest.from_function(script, default_timeout=60)
    at.run()
    first = at.get("bidi_component") + at.get("plotly_chart")
    at.run()
    return first, at.get("bidi_component") + at.get("plotly_chart")


def scatter_script():
    """Each rerun draws a figure with other data, once as a live chart (key "live") and once as st.plotly_chart
    (key "plain")."""
    import streamlit as st

    from app import live_chart
    from app.figures import SpecFigure

    run = st.session_state.setdefault("run", 0)
    st.session_state["run"] = run + 1
    scene = {"type": "scatter3d", "mode": "markers", "x": [run, 1], "y": [0, 1], "z": [0, 1]}
    live_chart.show(SpecFigure([scene], {"height": 300, "scene": {}}), key="live", config={"displaylogo": False})
    st.plotly_chart(SpecFigure([dict(scene, type="scatter")], {"height": 300}), key="plain", theme=None)


def test_a_live_chart_keeps_its_element_while_its_figure_changes():
    before, after = two_reruns(scatter_script)
    (live_before,), (live_after,) = ([e for e in els if e.type == "bidi_component"] for els in (before, after))
    (plain_before,), (plain_after,) = ([e for e in els if e.type == "plotly_chart"] for els in (before, after))
    assert live_before.proto.id == live_after.proto.id
    assert json.loads(json.loads(live_before.proto.json))["figure"]["data"][0]["x"] == [0, 1]
    assert json.loads(json.loads(live_after.proto.json))["figure"]["data"][0]["x"] == [1, 1]
    assert plain_before.proto.id != plain_after.proto.id  # why this module exists


def test_the_payload_carries_figure_config_and_the_plotly_url():
    at = AppTest.from_function(scatter_script, default_timeout=60)
    at.run()
    (element,) = at.get("bidi_component")
    payload = json.loads(json.loads(element.proto.json))
    assert element.proto.component_name == live_chart.COMPONENT == "sympe.chart"
    assert payload["config"] == {"displaylogo": False}
    assert payload["url"] == "/_stcore/bidi-components/sympe.chart/plotly.min.js"
    assert payload["figure"]["layout"]["scene"] == {} and payload["figure"]["layout"]["height"] == 300
    assert not at.exception


@pytest.mark.parametrize("base, url", [("", "/_stcore/bidi-components/sympe.chart/plotly.min.js"),
                                       ("lab", "/lab/_stcore/bidi-components/sympe.chart/plotly.min.js"),
                                       ("/a/b/", "/a/b/_stcore/bidi-components/sympe.chart/plotly.min.js")])
def test_plotly_js_is_fetched_under_the_base_path(base, url):
    saved = config.get_option("server.baseUrlPath")
    config.set_option("server.baseUrlPath", base)
    try:
        assert live_chart.plotly_js_url() == url
    finally:
        config.set_option("server.baseUrlPath", saved)


def test_the_asset_folder_holds_the_plotly_js_of_the_installed_plotly():
    script = Path(plotly.__file__).parent / live_chart.ASSET_DIR / live_chart.PLOTLY_JS
    head = script.read_text(encoding="utf-8")[:200]
    assert head.startswith("/**") and "plotly.js v" in head


def figures_script():
    """A 2D figure, a 3D one and a 2D one with selection events, through ui.show_figure."""
    from app import ui
    from app.figures import SpecFigure

    ui.show_figure(SpecFigure([{"type": "scatter", "x": [0], "y": [0]}], {"height": 200}), "flat", key="flat")
    ui.show_figure(SpecFigure([{"type": "scatter3d", "x": [0], "y": [0], "z": [0]}], {"height": 200, "scene": {}}),
                   "solid", key="solid")
    ui.show_figure(SpecFigure([{"type": "scatter", "x": [1], "y": [1]}], {"height": 200}), "picked", key="picked",
                   on_select="rerun")


def test_show_figure_sends_exactly_the_3d_scenes_to_the_live_chart():
    at = AppTest.from_function(figures_script, default_timeout=60)
    at.run()
    assert not at.exception
    assert [element_key(e) for e in at.get("bidi_component")] == ["solid"]
    assert sorted(element_key(e) for e in at.get("plotly_chart")) == ["flat", "picked"]
    assert list(charts(at)) == ["flat", "solid", "picked"]


def test_a_3d_figure_with_selection_events_is_refused():
    def script():
        from app import ui
        from app.figures import SpecFigure

        ui.show_figure(SpecFigure([{"type": "scatter3d", "x": [0], "y": [0], "z": [0]}], {"scene": {}}), "solid",
                       key="solid", on_select="rerun")

    at = AppTest.from_function(script, default_timeout=60)
    at.run()
    assert at.exception[0].proto.type == "ValueError"  # the message itself is redacted (showErrorDetails = "type")
