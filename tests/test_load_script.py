"""scripts/load_test.py: its leak bookkeeping (no browser), and a tiny real run (2 sessions × 2 interactions) whose JSON
report has the promised structure. The real run is skipped with a loud reason (pytest -rs) when Playwright or
Chromium is missing, like the end-to-end tests."""
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from script_loader import SCRIPTS, load_script


def _sessions(n=2):
    lt = load_script("load_test")
    shared = lt.Shared()
    sessions = [lt.Session(i, shared) for i in range(n)]
    for s in sessions:
        s.expect("seed", lt.SEED_STRIDE * (s.sid + 1))
        s.expect("presenter", False)
        s.expect("paint", frozenset())
    return lt, shared, sessions


def _snap(seed, presenter=False, paint="", seed_widget=None):
    q = {"seed": str(seed), "paint": paint} if paint else {"seed": str(seed)}
    if presenter:
        q["presenter"] = "true"
    return {"q": q, "seed": str(seed if seed_widget is None else seed_widget), "sliders": {},
            "switches": {"Presenter mode": presenter}, "frame": None}


def test_own_state_is_neither_leak_nor_mismatch():
    lt, shared, (a, b) = _sessions()
    a.expect("seed", 1001)
    lt.check_state(a, _snap(1001), "home", "sample again")
    assert shared.leaks == [] and shared.mismatches == []


def test_another_sessions_value_is_a_leak_and_an_unknown_value_a_mismatch():
    lt, shared, (a, _b, _c) = _sessions(3)
    lt.check_state(a, _snap(1000, seed_widget=2000), "home", "sample again")  # session 1's seed in session 0's input
    assert [(e["session"], e["field"], e["where"], e["seen"], e["belongs_to_sessions"]) for e in shared.leaks] == [
        (0, "seed", "widget", 2000, [1])]
    lt.check_state(a, _snap(1000, presenter=True), "results", "presenter mode")  # nobody expects presenter on
    assert [(e["field"], e["expected"], e["seen"]) for e in shared.mismatches] == [
        ("presenter", False, True), ("presenter", False, True)]  # the URL and the switch


def test_painted_sites_are_compared_as_sets():
    lt, shared, (a, b) = _sessions()
    a.expect("paint", frozenset({"h:0:0"}))
    b.expect("paint", frozenset({"h:0:1"}))
    a.expect("jx", -1.0)
    lt.check_state(a, _snap(1000, paint="h:0:0:2"), "lattice-lab", "paint a site")
    assert shared.leaks == [] and shared.mismatches == []
    lt.check_state(a, _snap(1000, paint="h:0:1:2"), "lattice-lab", "paint a site")
    assert [(e["field"], e["seen"], e["belongs_to_sessions"]) for e in shared.leaks] == [("paint", ["h:0:1"], [1])]


def test_percentile_is_nearest_rank():
    lt = load_script("load_test")
    assert lt.percentile(list(range(1, 101)), 0.95) == 95
    assert lt.summary([])["p95_ms"] is None


def test_cpu_account_charges_cpu_time_to_the_process_that_used_it():
    if not Path("/proc/stat").exists():
        pytest.skip("CPU accounting reads /proc (Linux)")
    lt = load_script("load_test")
    cpu = lt.CpuAccount()
    groups = {"server": set(), "browsers": set(), "this script": {os.getpid()}}
    cpu.poll(groups)
    cpu.mark()
    start = time.process_time()
    while time.process_time() - start < 0.3:  # burn 0.3 s of this process's CPU
        sum(i * i for i in range(1000))
    cpu.poll(groups)
    used = cpu.since_mark()
    assert used["server"] == used["browsers"] == 0.0
    from harness import TICK  # tests/e2e is on the path once load_test is loaded

    assert 0.3 - 2 / TICK <= used["this script"] <= used["wall_s"] + 2 / TICK
    assert used["everything else"] >= -2 / TICK * os.cpu_count()  # the machine's busy time includes ours


def test_tiny_real_run_writes_the_report(tmp_path):
    try:
        import playwright  # noqa: F401
    except ImportError:
        pytest.skip("LOAD-SCRIPT RUN SKIPPED: the playwright package is not installed (pip install -r requirements-test.txt)")
    lt = load_script("load_test")
    if not (Path(lt.CHROMIUM).exists() or shutil.which(lt.CHROMIUM)):
        pytest.skip(f"LOAD-SCRIPT RUN SKIPPED: no Chromium at {lt.CHROMIUM} (apt-get install -y chromium, or set SYMPE_CHROMIUM)")
    out = tmp_path / "load.json"
    proc = subprocess.run([sys.executable, str(SCRIPTS / "load_test.py"), "--sessions", "2", "--interactions", "2",
                           "--think", "0", "--ramp", "0", "--no-warmup", "--json", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "| **overall** |" in proc.stdout
    report = json.loads(out.read_text())
    assert report["ok"] is True
    assert set(report["pages"]) == set(lt.PAGE_ORDER)
    assert report["overall"]["n"] == 4 and report["overall"]["p95_ms"] > 0
    for key in ("p50_ms", "p95_ms", "max_ms"):
        assert report["overall"][key] is not None
    assert report["first_load"]["n"] == 2
    assert set(report["errors"]) >= {"exceptions", "error_boxes", "page_errors", "console_errors", "timeouts"}
    assert not any(report["errors"].values())
    assert report["leaks"] == [] and report["state_mismatches"] == []
    assert [s["session"] for s in report["sessions"]] == [0, 1]
    assert all(s["interactions"] == 2 and s["aborted"] is None for s in report["sessions"])
    assert {s["final_state"]["seed"] // lt.SEED_STRIDE for s in report["sessions"]} == {1, 2}  # each its own seed
    assert all(r["kind"] in {"first load", "navigation", "interaction"} for r in report["records"])
    used = report["resources"]["cpu_seconds"]
    assert used["server"] > 0 and used["browsers"] > 0 and used["wall_s"] > 0
    assert "CPU during the sessions" in proc.stdout
