"""Where the browser spends its time on one interaction: a JavaScript CPU profile of headless Chromium.

    python scripts/browser_profile.py [--page ""] [--button "Sample again" | --toggle "Presenter mode"] [--clicks 3]

Starts the app (as the end-to-end tests do), opens the page at 1024×700 (``--page`` may carry a query, e.g.
``"lattice-lab?L=64&K=16"``), clicks the button (or the toggle, opening the collapsed sidebar first when the toggle
is in it) once to warm up, then records Chromium's sampling profiler (200 µs) over ``--clicks`` further clicks, 2.5 s
apart, and prints the main thread's busy time per click, its self time by script file (plotly's bundle is
``PlotlyChart…js``; "(program)" is the browser's native work: style, layout, paint) and the top functions. Not a
benchmark: one session, one machine; compare runs of the same command before and after a change.
"""
from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from harness import CHROMIUM, CHROMIUM_ARGS, free_port, start_server, stop_server, wait_healthy  # noqa: E402


def profile(page: str, button: str | None, toggle: str | None, clicks: int) -> dict:
    from playwright.sync_api import sync_playwright

    port = free_port()
    server = start_server(port)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, server)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            tab = browser.new_page(viewport={"width": 1024, "height": 700})
            tab.goto(f"{url}/{page}")
            target = (tab.get_by_text(toggle, exact=True) if toggle else tab.get_by_role("button", name=button)).first
            target.wait_for(timeout=60_000)

            def press():
                expand = tab.locator('[data-testid="stExpandSidebarButton"]')
                box = target.bounding_box() if toggle else {"x": 0}
                if (box is None or box["x"] < 0) and expand.count():  # in the collapsed sidebar (presenter mode)
                    expand.first.click()
                target.click()

            press()
            tab.wait_for_timeout(3000)
            cdp = tab.context.new_cdp_session(tab)
            cdp.send("Profiler.enable")
            cdp.send("Profiler.setSamplingInterval", {"interval": 200})
            cdp.send("Profiler.start")
            for _ in range(clicks):
                press()
                tab.wait_for_timeout(2500)
            result = cdp.send("Profiler.stop")["profile"]
            browser.close()
    finally:
        stop_server(server)
    return result


def self_times(prof: dict, clicks: int) -> tuple[collections.Counter, collections.Counter]:
    """Self time per click (ms) by script file and by (function, file)."""
    nodes = {n["id"]: n["callFrame"] for n in prof["nodes"]}
    by_file, by_function = collections.Counter(), collections.Counter()
    for node, micros in zip(prof["samples"], prof["timeDeltas"]):
        frame = nodes[node]
        name = frame["url"].rsplit("/", 1)[-1] or frame["functionName"]
        by_file[name] += micros / 1000 / clicks
        by_function[(frame["functionName"] or "(anonymous)", name)] += micros / 1000 / clicks
    del by_file["(idle)"]
    by_function = collections.Counter({k: v for k, v in by_function.items() if k[0] != "(idle)"})
    return by_file, by_function


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--page", default="", help='the page path ("" is Home, e.g. "graph-lab")')
    what = ap.add_mutually_exclusive_group()
    what.add_argument("--button", default="Sample again", help="the button's label")
    what.add_argument("--toggle", help="a toggle's label instead of a button (e.g. \"Presenter mode\")")
    ap.add_argument("--clicks", type=int, default=3)
    args = ap.parse_args(argv)
    by_file, by_function = self_times(profile(args.page, args.button, args.toggle, args.clicks), args.clicks)
    print(f"/{args.page}, {args.toggle or args.button!r}: main thread busy {sum(by_file.values()):.1f} ms per click; "
          "self time per click (ms)")
    for name, ms in by_file.most_common(10):
        print(f"{ms:8.1f}  {name}")
    print("top functions:")
    for (function, name), ms in by_function.most_common(10):
        print(f"{ms:8.1f}  {function}  ({name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
