"""End-to-end: the Point-cloud lab in headless Chromium (one server for the session, tests/e2e/conftest.py).

The page loads from a deep link with its URL state, a preset switch through the select box updates the group and
the URL, a bad upload is exactly one error line; no exception anywhere. Screenshots go to screenshots/ for review.
"""
from __future__ import annotations

from test_browser import assert_no_error_box, assert_no_exception, open_page, screenshot, wait_for_param, wait_idle


def test_point_cloud_lab_loads_switches_preset_and_refuses_a_bad_upload(page, server):
    open_page(page, server, "point-cloud-lab", "pc_preset=cube&pc_alpha=20&pc_beta=30")
    page.get_by_text("Oh", exact=True).first.wait_for(timeout=60_000)  # the cube's point group
    wait_idle(page)
    assert_no_exception(page)
    assert_no_error_box(page)
    assert page.locator('[data-testid="stPlotlyChart"]').count() >= 2
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
