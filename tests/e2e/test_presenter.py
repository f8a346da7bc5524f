"""End-to-end: presenter mode at projector sizes and the guided tour, checked by reading the page (layout_check).

Every page the app's navigation lists (read from the sidebar, so a new page is covered without touching this file)
is opened in presenter mode at 1280×720 and 1920×1080, and in normal mode at 1280×720; every tour step is walked
with the arrow keys in presenter mode at 1280×720. Each must show no exception and pass ``layout_check.problems``
(plotly text inside its figure, no title or legend over other text, no truncated label, a figure on the first
screen), and no request may leave localhost (the tour's keyboard script included). The first screen of each lands in
screenshots/ for review.

In presenter mode every page tells its story on the first screen (``ui.story``, read from the page by
``layout_check.story``): every figure of the row wholly visible, at least one, and on a lab page (its path ends in
"-lab") at least ``LAB_STORY`` (the input, the baseline's answer, SymPE's samples). Home's first row is its story
(it draws that row in the story's container in presenter mode). ``WITHOUT_STORY`` lists the pages exempt; a new
page is held to the rule. Normal mode shows no story row.
"""
from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
from app import tour
from harness import CHART, CHART_SVG, SCREENSHOTS, local_page
from layout_check import problems, story
from test_browser import assert_no_exception, wait_for_param, wait_idle

CONFIGS = {  # name: (URL flag, viewport)
    "presenter-1280x720": ("presenter=true", (1280, 720)),
    "presenter-1920x1080": ("presenter=true", (1920, 1080)),
    "normal-1280x720": ("presenter=false", (1280, 720)),
}
LAB_STORY = 3
WITHOUT_STORY = {"train"}  # its first screen is the task panel
SCROLL_SETTLE_MS = 2500  # a step's scroll to its section stops 1.5 s after the section stopped moving


DRAWN_JS = """([chart, svg, stableMs]) => {
  const drawn = !document.querySelector('[data-testid="stSkeleton"]') &&
    document.querySelectorAll(chart).length <= document.querySelectorAll(svg).length;
  if (!drawn) { window.sympeDrawnSince = null; return false; }
  window.sympeDrawnSince = window.sympeDrawnSince || Date.now();
  return Date.now() - window.sympeDrawnSince > stableMs;
}"""
DRAWN_STABLE_MS = 1000  # a figure's loading skeleton can appear a moment after the page looked finished


def settle(page) -> None:
    """The rerun finished and every plotly chart is drawn: no element has been a loading skeleton, and every chart
    has had its plot, for DRAWN_STABLE_MS."""
    wait_idle(page)
    page.wait_for_function(DRAWN_JS, arg=[CHART, CHART_SVG, DRAWN_STABLE_MS], polling=100, timeout=60_000)


def navigation_paths(page, server: str) -> list[str]:
    """The URL path of every page in the sidebar's navigation ("" for the default page)."""
    page.goto(server)
    page.locator('[data-testid="stSidebarNavLink"]').first.wait_for(timeout=60_000)
    hrefs = page.eval_on_selector_all('[data-testid="stSidebarNavLink"]', "links => links.map(a => a.href)")
    return [urlparse(h).path.strip("/") for h in hrefs]


@pytest.fixture()
def sized(browser, server, request):
    """A page at the viewport of ``request.param`` (a CONFIGS name); the test fails if a request leaves localhost."""
    with local_page(browser, *CONFIGS[request.param][1]) as p:
        yield p


@pytest.mark.parametrize("sized", list(CONFIGS), indirect=True)
def test_every_page_holds_up_at_projector_sizes(sized, server, request):
    config = request.node.callspec.params["sized"]
    flag = CONFIGS[config][0]
    paths = navigation_paths(sized, server)
    assert len(paths) >= 2, paths
    faults = {}
    for path in paths:
        sized.goto(f"{server}/{path}?{flag}")
        sized.locator("h1").first.wait_for(timeout=60_000)
        settle(sized)
        assert_no_exception(sized)
        SCREENSHOTS.mkdir(exist_ok=True)
        sized.screenshot(path=str(SCREENSHOTS / f"{config}-{path or 'home'}.png"))
        found = problems(sized)
        whole, total = story(sized)
        if flag == "presenter=false" and total:
            found.append(f"normal mode shows a presenter story of {total} figures")
        elif flag == "presenter=true" and path not in WITHOUT_STORY:
            least = LAB_STORY if path.endswith("-lab") else 1
            if whole < total or total < least:
                found.append(f"the first screen shows {whole} of the story's {total} figures wholly "
                             f"(it must show all, and at least {least})")
        if found:
            faults[path or "home"] = found
    assert not faults, faults


@pytest.mark.parametrize("sized", ["presenter-1280x720"], indirect=True)
def test_the_tour_walks_every_step_with_the_arrow_keys(sized, server):
    sized.goto(f"{server}/?tour=1&presenter=true")
    bar = sized.locator(".st-key-tour_bar")
    bar.get_by_text(re.compile(r"Tour 1/\d+")).wait_for(timeout=60_000)
    settle(sized)
    steps = int(re.search(r"Tour 1/(\d+)", bar.inner_text()).group(1))
    assert steps >= 2

    sized.get_by_role("button", name="Sample again").click()  # live inside a step: resampling keeps the step
    wait_for_param(sized, "seed", "1")
    settle(sized)
    wait_for_param(sized, "tour", "1")

    faults = {}
    for n in range(1, steps + 1):
        if n > 1:
            sized.keyboard.press("ArrowRight")
        wait_for_param(sized, "tour", str(n))
        wait_for_param(sized, "presenter", "true")  # kept when the step lives on another page
        bar.get_by_text(f"Tour {n}/{steps}").wait_for(timeout=60_000)
        settle(sized)
        sized.wait_for_timeout(SCROLL_SETTLE_MS)
        assert_no_exception(sized)
        sized.screenshot(path=str(SCREENSHOTS / f"tour-{n:02d}.png"))
        found = problems(sized)
        if found:
            faults[n] = found
    assert not faults, faults

    assert sized.get_by_role("button", name="Next").is_disabled()
    sized.keyboard.press("ArrowLeft")
    wait_for_param(sized, "tour", str(steps - 1))
    bar.get_by_text(f"Tour {steps - 1}/{steps}").wait_for(timeout=60_000)
    assert_no_exception(sized)


@pytest.mark.parametrize("sized", ["presenter-1280x720"], indirect=True)
def test_a_deep_link_to_a_step_on_another_page_keeps_presenter_in_the_url(sized, server):
    n = next(k for k, step in enumerate(tour.STEPS, 1) if step.page)
    sized.goto(f"{server}/?tour={n}&presenter=true&seed=4")
    sized.locator(".st-key-tour_bar").get_by_text(f"Tour {n}/").wait_for(timeout=60_000)
    wait_idle(sized)
    assert urlparse(sized.url).path.strip("/") == tour.STEPS[n - 1].page
    for key, value in (("tour", str(n)), ("presenter", "true"), ("seed", "4")):
        wait_for_param(sized, key, value)
    assert_no_exception(sized)
