"""Helpers shared by the end-to-end tests, scripts/measure_latency.py and scripts/load_test.py: start a real
`streamlit run` server on a free localhost port, wait for its health check, stop it; launch options for Debian's
headless Chromium; the localhost-only request rule, and a browser page that enforces it; process trees and their CPU
time, from Linux's /proc."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "screenshots"
CHROMIUM = os.environ.get("SYMPE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# A plotly figure in the page: st.plotly_chart's element, or the live chart that app/live_chart.py draws 3D scenes in.
CHART = '[data-testid="stPlotlyChart"], .sympe-chart'
CHART_SVG = f":is({CHART}) .main-svg"  # a figure that plotly has drawn
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
LOCAL_SCHEMES = {"data", "blob", "about", "chrome-error", "javascript"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, env_extra: dict | None = None) -> subprocess.Popen:
    env = {**os.environ, "SYMPE_APP_THREADS": "1", "PYTHONUNBUFFERED": "1", **(env_extra or {})}
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"), "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none", "--global.developmentMode", "false"]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> float:
    """Seconds until the server answers its health check."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{proc.stdout.read() if proc.stdout else ''}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return time.perf_counter() - start
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"streamlit did not become healthy within {timeout} s")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def is_local(url: str) -> bool:
    parsed = urlparse(url)
    if parsed.scheme in LOCAL_SCHEMES:
        return True
    return parsed.hostname in LOCAL_HOSTS




@contextlib.contextmanager
def local_page(browser, width: int, height: int):
    """A fresh browser page of the given viewport that records every request; on exit it fails if one left
    localhost (or if none was made at all)."""
    context = browser.new_context(viewport={"width": width, "height": height})
    p = context.new_page()
    requests: list[str] = []
    p.on("request", lambda r: requests.append(r.url))
    p.set_default_timeout(60_000)
    try:
        yield p
    finally:
        context.close()
    outside = sorted({u for u in requests if not is_local(u)})
    assert not outside, f"requests left localhost: {outside}"
    assert requests, "the page made no request at all"


# ---- processes and their CPU time (Linux /proc) -----------------------------------------------------------------------

def parents() -> dict[int, int]:
    """pid -> parent pid, from /proc (Linux)."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    table[int(entry)] = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    return table


def descendants(table: dict[int, int], root: int) -> set[int]:
    """``root`` and every process below it in ``table`` (pid -> parent pid, as ``parents`` gives)."""
    children = defaultdict(list)
    for pid, ppid in table.items():
        children[ppid].append(pid)
    out, todo = set(), [root]
    while todo:
        pid = todo.pop()
        out.add(pid)
        todo.extend(children[pid])
    return out


def process_groups(server_pid: int) -> dict[str, set[int]]:
    """The server's processes, the rest of what this process started (Playwright and Chromium), and this process."""
    table, me = parents(), os.getpid()
    server = descendants(table, server_pid)
    return {"server": server, "browsers": descendants(table, me) - server - {me}, "this script": {me}}


TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (raises OSError when it is gone)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def total_cpu_seconds(pids) -> float:
    """``cpu_seconds`` summed over the processes ``pids`` that still exist."""
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except (OSError, ValueError, IndexError):
            continue
    return total


def machine_busy_seconds() -> float:
    """CPU time of the whole machine so far, all cores, less idle and I/O wait (/proc/stat)."""
    with open("/proc/stat") as fh:
        ticks = [int(v) for v in fh.readline().split()[1:8]]
    return (sum(ticks) - ticks[3] - ticks[4]) / TICK
