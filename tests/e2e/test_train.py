"""End-to-end: the Train page in headless Chromium, for each experiment. Start a training, see the progress move while
the page stays live, stop it; then a short training to the end, and its models in the lab beside the shipped ones
(the Lattice lab for the Ising lattice, the Graph lab for the graph autoencoder). Screenshots go to screenshots/ for
review."""
from __future__ import annotations

import re

from harness import SCREENSHOTS

from app.jobs import REAP_SECONDS
from test_browser import assert_no_error_box, assert_no_exception, open_page, screenshot, wait_idle

STEP = re.compile(r"SymPE: (?:training|preparing), step (\d+) / (\d+)")


def sympe_step(page) -> int:
    match = STEP.search(page.inner_text("body"))
    return int(match.group(1)) if match else -1


def wait_step_above(page, floor: int, timeout_s: float = 90) -> int:
    for _ in range(int(timeout_s * 4)):
        step = sympe_step(page)
        if step > floor:
            return step
        page.wait_for_timeout(250)
    raise AssertionError(f"the SymPE progress did not pass step {floor}")


def screenshot_viewport(page, name: str) -> None:
    """The visible part, taken while the page polls (``screenshot`` waits for an idle page, which a running job's
    fragment never is)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name))


def test_train_start_progress_stop_then_use_a_finished_model_in_the_lattice_lab(page, server):
    open_page(page, server, "train")
    page.get_by_role("button", name="Start").click()
    first = wait_step_above(page, 0)
    later = wait_step_above(page, first)  # the fragment polls: progress moves without any user action
    assert later > first
    page.wait_for_timeout(1000 * (REAP_SECONDS + 1))  # the reaper has run: a live session's job goes on
    assert wait_step_above(page, later) > later and page.get_by_text("Stopped").count() == 0
    assert_no_exception(page)
    assert_no_error_box(page)
    page.locator('[data-testid="stPlotlyChart"]').first.wait_for()
    page.wait_for_timeout(1500)
    screenshot_viewport(page, "train-running.png")
    stop_then_train_the_fewest_steps(page, "Done. Use your models", "train-done.png")

    open_lab_with_your_models(page, "Lattice lab", "lattice-lab-with-your-models.png")


def test_train_a_graph_autoencoder_stop_it_then_use_a_finished_one_in_the_graph_lab(page, server):
    open_page(page, server, "train")
    page.get_by_text("Graph autoencoder (cycles, prisms, circulants)").click()
    page.get_by_text("every node alike").first.wait_for(timeout=60_000)
    wait_idle(page)
    page.get_by_role("button", name="Start").click()
    first = wait_step_above(page, 0)
    later = wait_step_above(page, first)
    assert later > first
    assert_no_exception(page)
    assert_no_error_box(page)
    page.locator('[data-testid="stPlotlyChart"]').nth(3).wait_for()
    page.wait_for_timeout(1500)
    screenshot_viewport(page, "train-graph-running.png")
    stop_then_train_the_fewest_steps(page, "Done. Use your models in the Graph lab", "train-graph-done.png")

    open_lab_with_your_models(page, "Graph lab", "graph-lab-with-your-models.png")


def open_lab_with_your_models(page, lab: str, shot: str) -> None:
    """Follow the Train page's link to ``lab``, which then shows the trained sympe model among "Your models", with
    no exception or error box, and a screenshot ``shot``."""
    page.get_by_role("link", name=f"Open the {lab}").click()
    page.get_by_role("heading", name=lab).first.wait_for(timeout=60_000)
    page.get_by_text("Your models").first.wait_for(timeout=60_000)
    wait_idle(page)
    assert page.get_by_text(re.compile(r"yours: sympe \(job \d+\)")).count() >= 1
    assert_no_exception(page)
    assert_no_error_box(page)
    screenshot(page, shot)


def stop_then_train_the_fewest_steps(page, done: str, shot: str) -> None:
    """Stop the running job (nothing is kept), then train again with the fewest steps (50) until ``done`` shows:
    no exception or error box, a download button for the sympe model, and a screenshot ``shot``."""
    page.get_by_role("button", name="Stop").click()
    page.get_by_text("Stopped. Nothing was kept").wait_for(timeout=60_000)
    wait_idle(page)
    assert_no_exception(page)
    page.get_by_role("slider", name="Steps").focus()
    page.keyboard.press("Home")
    page.get_by_text("50", exact=True).first.wait_for()
    wait_idle(page)
    page.get_by_role("button", name="Start").click()
    page.get_by_text(done).wait_for(timeout=120_000)
    wait_idle(page)
    assert_no_exception(page)
    assert_no_error_box(page)
    assert page.get_by_role("button", name=re.compile("Download yours: sympe")).count() == 1
    page.mouse.move(0, 0)  # no plotly toolbar over a title
    screenshot(page, shot)
