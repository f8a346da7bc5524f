"""Fixtures of the end-to-end tests: a real `streamlit run` server on a free localhost port and Debian's headless
Chromium driven by Playwright. When Playwright or Chromium is missing the tests are skipped with a loud reason
(run with -rs, as `make test` does, to see it); they are never skipped silently."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from harness import CHROMIUM, CHROMIUM_ARGS, free_port, local_page, start_server, stop_server, wait_healthy


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("END-TO-END TESTS SKIPPED: the playwright package is not installed (pip install -r requirements-test.txt)")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"END-TO-END TESTS SKIPPED: no Chromium at {CHROMIUM} (apt-get install -y chromium, or set SYMPE_CHROMIUM)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="session")
def server():
    port = free_port()
    proc = start_server(port)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield url
    finally:
        stop_server(proc)


@pytest.fixture()
def page(browser, server):
    """A fresh browser page that records every request; the test fails if one leaves localhost."""
    with local_page(browser, 1400, 1000) as p:
        yield p
