"""Measure the app's interaction latency in a real browser: ``python scripts/measure_latency.py [--repeats N]``.

Starts ``streamlit run`` on a free localhost port with SYMPE_LATENCY_LOG set (the entry script then appends the
server-side duration of every rerun to that file), drives widget changes in Debian's headless Chromium through
Playwright, and prints per page the median and 95th percentile of the server-side rerun time (from the script run
that a widget change starts to its end), plus the first-render time: from the server's health check answering to the
home page being fully rendered in the browser. Sizes are the issue's upper bounds: graphs of 30 nodes, lattices of
16×16, K = 16 samples; one more lattice row at the largest size, 64×64. ``--threads N`` runs the server with
SYMPE_APP_THREADS=N (torch threads per computation; the app's default, and this script's, is 1).

Each row also gives the CPU time per widget change of the server's process and of the measuring Chromium (all its
processes), read from Linux's /proc over the row's changes: what the server spends outside the logged rerun (sending
the page, collecting garbage) counts there, and the browser's share says how much of the two cores it takes.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from harness import (CHROMIUM, CHROMIUM_ARGS, free_port, process_groups, start_server, stop_server,  # noqa: E402
                     total_cpu_seconds, wait_healthy)

IDLE = ("() => !document.querySelector('[data-testid=\"stStatusWidget\"]') && "
        "!document.querySelector('[data-stale=\"true\"]') && "
        "!document.querySelector('[data-testid=\"stSkeletonElement\"]')")


def wait_idle(page) -> None:
    page.wait_for_timeout(150)
    page.wait_for_function(IDLE, timeout=120_000)
    page.wait_for_timeout(250)
    page.wait_for_function(IDLE, timeout=120_000)


def click(label: str):
    return lambda page: page.get_by_role("button", name=label, exact=True).first.click()


def arrow(aria_label: str, key: str = "ArrowRight"):
    def act(page):
        page.locator(f'input[type="range"][aria-label="{aria_label}"]').focus()
        page.keyboard.press(key)
    return act


def toggle(label: str):
    """Click a switch by its label; one in the sidebar that presenter mode has collapsed is reached by expanding it."""
    def act(page):
        switch = page.get_by_text(label, exact=True).first
        if not switch.is_visible() or not switch.bounding_box() or switch.bounding_box()["x"] < 0:
            expand = page.locator('[data-testid="stExpandSidebarButton"]')
            if expand.count():
                expand.first.click()
        switch.click()
    return act


# page path, query, heading, description, [interactions] (each repeated in turn)
SCENARIOS = [
    ("", "", "SymPE Lab", "Ising 8×8, K = 4: sample again",
     [click("Sample again")]),
    ("graph-lab", "source=Random&rn=30&gK=16", "Graph lab", "random 30-node graph, K = 16: resample h, change K",
     [click("Resample h"), arrow("K (samples)", "ArrowLeft")]),
    ("graph-lab", "graph=Circulant+C_n%281%2C+3%29&gK=16", "Graph lab", "circulant, K = 16: resample h",
     [click("Resample h")]),
    ("lattice-lab", "L=16&K=16", "Lattice lab: Ising ground states", "16×16, K = 16: sample again, move J_x",
     [click("Sample again"), arrow("J_x (horizontal coupling)")]),
    ("lattice-lab", "L=64&K=16", "Lattice lab: Ising ground states", "64×64, K = 16: sample again, move J_x",
     [click("Sample again"), arrow("J_x (horizontal coupling)")]),
    ("molecule-lab", "mol_source=Forward+noising+of+a+known+molecule+%28no+model%29", "Molecule lab",
     "forward noising: step, new trajectory", [click("Step"), click("New trajectory")]),
    ("molecule-lab", "mol_mode=live", "Molecule lab", "QM9 model, live sampling (100 steps): new trajectory",
     [click("New trajectory")]),
    ("point-cloud-lab", "pc_preset=cube&pc_K=16", "Point-cloud lab: breaking O(3) symmetry",
     "cube, K = 16: sample again, rotate α", [click("Sample again"), arrow("α (about z, degrees)")]),
    ("equivariance", "eq_K=16", "Equivariance in distribution", "Ising 8×8, K = 16: sample again, mirror",
     [click("Sample again"), toggle("Mirror")]),
    ("results", "", "Results", "presenter mode on/off",
     [toggle("Presenter mode")]),
    ("theory", "", "Theory in five formulas", "cycle length slider, another h",
     [arrow("Cycle length n"), click("Another h")]),
]


def read_log(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * (len(ordered) - 1))))]


def cpu_split(server_pid: int) -> tuple[float, float]:
    """CPU seconds so far of the server's processes and of the rest of what this process started (Chromium)."""
    groups = process_groups(server_pid)
    return total_cpu_seconds(groups["server"]), total_cpu_seconds(groups["browsers"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=12, help="widget changes per scenario")
    ap.add_argument("--json", help="also write the rows to this file")
    ap.add_argument("--pages", nargs="*", help="only these pages (home, graph-lab, lattice-lab, ...)")
    ap.add_argument("--threads", type=int, default=1, help="SYMPE_APP_THREADS for the server (default 1)")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    log = Path(tempfile.mkdtemp()) / "latency.jsonl"
    port = free_port()
    proc = start_server(port, {"SYMPE_LATENCY_LOG": str(log), "SYMPE_APP_THREADS": str(args.threads)})
    url = f"http://127.0.0.1:{port}"
    rows = []
    try:
        wait_healthy(url, proc)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            start = time.perf_counter()
            page.goto(url)
            page.get_by_role("heading", name="SymPE Lab").first.wait_for(timeout=120_000)
            wait_idle(page)
            first_render = time.perf_counter() - start - 0.4  # minus wait_idle's two settling pauses
            for path, query, heading, what, actions in SCENARIOS:
                if args.pages and (path or "home") not in args.pages:
                    continue
                page.goto(f"{url}/{path}?{query}")
                page.get_by_role("heading", name=heading).first.wait_for(timeout=120_000)
                wait_idle(page)
                load = [r["seconds"] for r in read_log(log)[-1:]]
                before = len(read_log(log))
                cpu_before = cpu_split(proc.pid)
                for k in range(args.repeats):
                    actions[k % len(actions)](page)
                    wait_idle(page)
                server_cpu, browser_cpu = (1000 * (after - before_) / args.repeats
                                           for before_, after in zip(cpu_before, cpu_split(proc.pid)))
                runs = [r for r in read_log(log)[before:] if r["status"] == "ok"]
                times = [1000 * r["seconds"] for r in runs]
                rows.append({"page": path or "home", "scenario": what, "reruns": len(times),
                             "median_ms": statistics.median(times) if times else float("nan"),
                             "p95_ms": p95(times) if times else float("nan"), "max_ms": max(times, default=float("nan")),
                             "page_load_ms": 1000 * load[0] if load else float("nan"),
                             "server_cpu_ms": server_cpu, "browser_cpu_ms": browser_cpu, "times_ms": times})
            browser.close()
    finally:
        stop_server(proc)

    print(f"First render of the home page after the server's health check: {first_render:.2f} s")
    print()
    print("| page | widget changes | reruns | median (ms) | p95 (ms) | max (ms) | page load (ms) | server CPU per change "
          "(ms) | browser CPU per change (ms) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['page']} | {r['scenario']} | {r['reruns']} | {r['median_ms']:.0f} | {r['p95_ms']:.0f} | "
              f"{r['max_ms']:.0f} | {r['page_load_ms']:.0f} | {r['server_cpu_ms']:.0f} | {r['browser_cpu_ms']:.0f} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"first_render_s": first_render, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
