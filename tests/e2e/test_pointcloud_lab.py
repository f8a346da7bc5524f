"""End-to-end: the Point-cloud lab in headless Chromium (one server for the session, tests/e2e/conftest.py).

The page loads from a deep link with its URL state, a preset switch through the select box updates the group and
the URL, a bad upload is exactly one error line; no exception anywhere. The 3D views (app/live_chart.py) update in
place, and say so in one line when plotly.js cannot be fetched. Screenshots go to screenshots/ for review.
"""
from __future__ import annotations

from harness import CHART
from test_browser import (assert_no_error_box, assert_no_exception, open_page, query_params, screenshot, wait_for_param,
                          wait_idle)

from app import live_chart


def test_point_cloud_lab_loads_switches_preset_and_refuses_a_bad_upload(page, server):
    open_page(page, server, "point-cloud-lab", "pc_preset=cube&pc_alpha=20&pc_beta=30")
    page.get_by_text("Oh", exact=True).first.wait_for(timeout=60_000)  # the cube's point group
    wait_idle(page)
    assert_no_exception(page)
    assert_no_error_box(page)
    assert page.locator(CHART).count() >= 2
    screenshot(page, "point-cloud-lab-rotated-cube.png")

    page.get_by_role("combobox", name="Shape").click()  # the preset select box (searchable, so a combobox)
    page.get_by_role("option", name="carbon dioxide (linear)").click()
    wait_for_param(page, "pc_preset", "carbon dioxide (linear)")
    page.get_by_text("D∞h", exact=True).first.wait_for(timeout=60_000)
    wait_idle(page)
    assert_no_exception(page)
    assert_no_error_box(page)
    screenshot(page, "point-cloud-lab-co2.png")

    page.get_by_text("Upload", exact=True).click()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
        files=[{"name": "bad.xyz", "mimeType": "text/plain", "buffer": b"2\n\nC 0 0 0\nC 1 0 nan\n"}])
    boxes = page.locator('[data-testid="stAlertContentError"]')
    boxes.first.wait_for(timeout=60_000)
    wait_idle(page)
    assert boxes.count() == 1 and "finite" in boxes.first.inner_text()
    assert_no_exception(page)


COUNT_WEBGL_CONTEXTS = """
window.sympeWebGLContexts = 0;
const getContext = HTMLCanvasElement.prototype.getContext;
HTMLCanvasElement.prototype.getContext = function (kind, ...rest) {
  const context = getContext.call(this, kind, ...rest);
  if (context && /webgl/.test(kind) && !context.sympeCounted) {
    context.sympeCounted = true;
    window.sympeWebGLContexts += 1;
  }
  return context;
};
"""
SCENES_DRAWN = "() => [...document.querySelectorAll('.sympe-chart')].every((chart) => chart.querySelector('.main-svg'))"
DATA_OF = "(element) => JSON.stringify(element.querySelector('.sympe-chart').data)"


def test_the_3d_views_update_in_place(page, server):
    """A new draw changes the SymPE output's 3D view without a new WebGL context (app/live_chart.py): the chart is
    updated with Plotly.react, not built again. plotly.js comes from the app's own server."""
    page.add_init_script(COUNT_WEBGL_CONTEXTS)
    open_page(page, server, "point-cloud-lab", "pc_preset=cube&pc_K=4")
    output = page.locator(".st-key-pc_out_sympe")
    output.locator(".sympe-chart .main-svg").first.wait_for(timeout=60_000)
    page.wait_for_function(SCENES_DRAWN, timeout=60_000)
    contexts, before = page.evaluate("window.sympeWebGLContexts"), output.evaluate(DATA_OF)
    assert contexts >= page.locator(".sympe-chart").count() >= 5  # the input, the frames, every variant's output
    seed = int(query_params(page).get("seed", 0))
    page.get_by_role("button", name="Sample again").click()
    wait_for_param(page, "seed", str(seed + 1))
    page.wait_for_function("(before) => JSON.stringify(document.querySelector('.st-key-pc_out_sympe .sympe-chart')"
                           ".data) !== before", arg=before, timeout=60_000)
    wait_idle(page)
    assert page.evaluate("window.sympeWebGLContexts") == contexts
    assert_no_exception(page)
    assert_no_error_box(page)

    response = page.request.get(f"{server}{live_chart.plotly_js_url()}")
    assert response.ok and "javascript" in response.headers["content-type"]
    assert response.text().startswith("/**") and "plotly.js v" in response.text()[:200]


def test_a_3d_view_whose_plotly_js_does_not_load_says_so_and_the_page_stands(page, server):
    """Each live chart shows one line instead of its figure when plotly.js cannot be fetched; the page stands."""
    page.route("**/bidi-components/sympe.chart/plotly.min.js", lambda route: route.abort())
    open_page(page, server, "point-cloud-lab", "pc_preset=cube&pc_K=2")
    page.get_by_text("Oh", exact=True).first.wait_for(timeout=60_000)
    views = page.locator(".sympe-chart")
    views.first.wait_for(timeout=60_000)
    assert views.count() >= 5  # the input, the frames, every variant's output
    for k in range(views.count()):
        views.nth(k).get_by_text("This figure could not be drawn: plotly.js did not load from /").wait_for()
    assert_no_exception(page)
    assert_no_error_box(page)
