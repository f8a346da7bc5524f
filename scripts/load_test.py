"""Classroom load on one server: ``python scripts/load_test.py [--sessions 8] [--interactions 30] [--json FILE]``.

Starts one ``streamlit run`` server on a free localhost port (with SYMPE_LATENCY_LOG set, for the server-side rerun
times) and opens N real browser sessions in Debian's headless Chromium: one browser process, one browser context per
session, all driven concurrently from one asyncio loop through Playwright. Each session opens the graph lab with its
own seed and K in the URL (``/graph-lab?seed=1000·(i+1)&gK=…``), then walks through the seven pages with the
sidebar navigation (one Streamlit session per browser session, as a student clicking around), starting at a
different page per session, and on each visit does ``--per-visit`` widget actions: home "Sample again"; graph lab
"Resample h" / K slider; lattice lab "Sample again" / J_x slider / paint one site (a site of its own); molecule lab
"Step"; equivariance "Sample again" / "Mirror"; results "Presenter mode" on/off; theory "Another h" / "Cycle length n".
Between actions a session pauses ``--think`` seconds on average (uniform in [0.5, 1.5]·think; 0 = back to back).
Before the sessions start, one unmeasured visit of every page warms the server up (the lecturer opened the app
first); ``--no-warmup`` measures a cold server.

Interaction time (the headline) is what the user sees: from the input event (pointerdown / keydown, recorded in the
page) to the last DOM change before the app is idle again, i.e. the server has reported a finished script run since
the action (read off the app's websocket), the script state is "notRunning", nothing is stale, no skeleton or status
widget is shown, every plotly chart is drawn, the sidebar's seed box shows the URL's seed, and the DOM (the seed box's
value included) has been quiet for ``--quiet-ms``. Page navigations (sidebar clicks) and first loads are timed the
same way, a navigation only once the target page's title is shown (a run of the page being left can finish after the
click and would otherwise pass for the new page's), and reported on their own rows, not in "overall".

Errors: Streamlit exception boxes (``stException``), error boxes (``st.error``, which the app's error guard uses
instead of tracebacks), uncaught page errors, console errors (less the 404s of Streamlit's base-path probe on a deep
link), timeouts, failed actions and tracebacks in the server's output. Leakage: after every action
and navigation the session compares what it sees (URL query parameters and the widgets themselves: its seed, presenter
mode, K, J_x, its painted sites, Mirror, the molecule frame, the theory slider) with its own expected state. Seeds
(1000·(i+1) onwards) and painted sites (site i, i+7, i+14 of the 8×8 lattice) are distinct per session: a seed or a
set of painted sites that another session has had is a *leak*; any other difference is a *state mismatch*. Both fail
the run.

Prints a table (p50 / p95 / max per page and overall, server-side p50 / p95 from the latency log, error counts) and
where the machine's CPU went during the sessions (the server, Chromium with Playwright, this script, everything else:
the kernel and other processes), writes everything to ``--json FILE``, and exits 1 when any error, leak or mismatch
occurred (2 when ``--p95-limit`` is given and the overall p95 is above it; 3 when Playwright or Chromium is missing).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict, deque
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from harness import (CHROMIUM, CHROMIUM_ARGS, cpu_seconds, free_port, machine_busy_seconds,  # noqa: E402
                     process_groups, start_server, stop_server, wait_healthy)

sys.path.insert(0, str(ROOT))
from app import lattice as app_lattice  # noqa: E402

SEED_STRIDE = 1000  # session i starts at seed 1000·(i+1): every session's seeds are its own
PAGE_ORDER = ["home", "graph-lab", "lattice-lab", "molecule-lab", "equivariance", "results", "theory"]
HEADINGS = {"home": "SymPE Lab", "graph-lab": "Graph lab", "lattice-lab": "Lattice lab", "molecule-lab": "Molecule lab",
            "equivariance": "Equivariance in distribution", "results": "Results", "theory": "Theory in five formulas"}
LATTICE_L = 8  # the lattice lab's default size (the script never changes it)
DEFAULTS = {"gK": 6, "jx": -1.0}  # the app's defaults: a bound widget at its default leaves the URL
BASE_PATH_PROBES = ("/_stcore/health", "/_stcore/host-config")

# Recorded in every page before any of its scripts: the time of the last DOM mutation, of the last input event, and
# the number of script runs the server has reported finished. The last is read off the app's websocket: each binary
# message is a ForwardMsg protobuf, and a top-level field 6 (script_finished) with a status other than 2
# (FINISHED_EARLY_FOR_RERUN) ends a run. (The data-test-script-state attribute of stApp is not enough: React may
# batch "running" and "notRunning" of a fast rerun into one render, and then the attribute never changes.)
INIT_JS = """
(() => {
  const s = window.__lt = {lastMut: 0, lastInput: 0, done: 0, early: 0};
  const finished = (buf) => {
    const b = new Uint8Array(buf);
    let i = 0;
    const varint = () => {
      let r = 0, k = 1, x;
      do { x = b[i++]; r += (x & 0x7f) * k; k *= 128; } while (x & 0x80 && i < b.length);
      return r;
    };
    while (i < b.length) {
      const tag = varint(), f = Math.floor(tag / 8), w = tag & 7;
      if (w === 0) { const v = varint(); if (f === 6) return v; }
      else if (w === 2) { const n = varint(); i += n; }
      else if (w === 1) { i += 8; } else if (w === 5) { i += 4; } else { return -1; }
    }
    return -1;
  };
  const count = (status) => {
    if (status === 2) s.early++;
    else if (status >= 0) { s.done++; s.lastDone = performance.now(); }
  };
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => {
        if (e.data instanceof ArrayBuffer) count(finished(e.data));
        else if (e.data instanceof Blob) e.data.arrayBuffer().then((b) => count(finished(b)));
      });
    }
  };
  const obs = new MutationObserver(() => { s.lastMut = performance.now(); });
  const start = () => obs.observe(document.documentElement, {subtree: true, childList: true, attributes: true,
                                                             characterData: true});
  if (document.documentElement) start(); else document.addEventListener('DOMContentLoaded', start);
  for (const type of ['pointerdown', 'keydown']) {
    window.addEventListener(type, () => { s.lastInput = performance.now(); }, true);
  }
})();
"""

# Resolves (to the time of the last DOM change) once a run has finished since `before` and the app is idle and quiet.
# Every page has the sidebar's seed box (also when presenter mode collapses it), and the app is settled only once the
# box is there and shows the URL's seed: Streamlit's number input takes a value that the server sets (every "sample
# again") through a chain of React effects after the rerun's DOM changes, and setting an input's value is no DOM
# mutation, so under load the DOM can be quiet for a while before the box shows the new seed. Its change counts as a
# DOM change (polled here, every 50 ms), so the wait for it is part of the interaction's time.
WAIT_JS = """
([before, quiet]) => {
  const s = window.__lt;
  if (!s || s.done <= before) return false;
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-testid="stStatusWidget"], [data-stale="true"], [data-testid="stSkeletonElement"]'))
    return false;
  if (document.querySelectorAll('[data-testid="stPlotlyChart"]').length >
      document.querySelectorAll('.js-plotly-plot .main-svg').length) return false;
  const seed = document.querySelector('input[aria-label="Seed"]');
  if (seed && seed.value !== s.seedShown) { s.seedShown = seed.value; s.lastMut = performance.now(); }
  if (!seed || seed.value !== (new URLSearchParams(location.search).get('seed') || '0')) return false;
  if (performance.now() - s.lastMut < quiet) return false;
  return {lastMut: s.lastMut, lastInput: s.lastInput};
}
"""

SNAPSHOT_JS = """
() => {
  const q = Object.fromEntries(new URLSearchParams(location.search));
  const seed = document.querySelector('input[aria-label="Seed"]');
  const sliders = {}, switches = {};
  for (const e of document.querySelectorAll('input[type="range"][aria-label]'))
    sliders[e.getAttribute('aria-label')] = e.value;
  for (const e of document.querySelectorAll('input[role="switch"][aria-label]'))
    switches[e.getAttribute('aria-label')] = e.checked;
  let frame = null;
  for (const t of document.querySelectorAll('svg text')) {
    const m = /frame (\\d+) of (\\d+)/.exec(t.textContent);
    if (m) { frame = [Number(m[1]), Number(m[2])]; break; }
  }
  const texts = (sel) => [...document.querySelectorAll(sel)].map(e => e.innerText.trim().slice(0, 300));
  return {path: location.pathname, q, seed: seed ? seed.value : null, sliders, switches, frame,
          h1: texts('h1'), exceptions: texts('[data-testid="stException"]'),
          errors: texts('[data-testid="stAlertContentError"]')};
}
"""


class Shared:
    """What all sessions know about each other: every value each session has ever expected, per field."""

    def __init__(self):
        self.history: dict = defaultdict(lambda: defaultdict(set))  # field -> session -> values
        self.leaks: list[dict] = []
        self.mismatches: list[dict] = []


class Session:
    def __init__(self, sid: int, shared: Shared):
        self.sid, self.shared = sid, shared
        self.state: dict = {}  # what this session expects to see
        self.cursor: Counter = Counter()  # next action per page
        self.records: list[dict] = []  # one per timed action
        self.errors: Counter = Counter()
        self.error_samples: dict = defaultdict(list)
        self.current: str | None = None
        self.aborted: str | None = None
        self.final_state: dict = {}
        self.ignored_console = 0

    def expect(self, name: str, value) -> None:
        self.state[name] = value
        self.shared.history[name][self.sid].add(value)

    def error(self, kind: str, message: str, n: int = 1) -> None:
        self.errors[kind] += n
        samples = self.error_samples[kind]
        if len(samples) < 5 and message not in samples:
            samples.append(message)


def percentile(values: list[float], q: float) -> float:
    """Nearest rank, as in scripts/measure_latency.py."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summary(values: list[float]) -> dict:
    if not values:
        return {"n": 0, "p50_ms": None, "p95_ms": None, "max_ms": None, "mean_ms": None}
    return {"n": len(values), "p50_ms": statistics.median(values), "p95_ms": percentile(values, 0.95),
            "max_ms": max(values), "mean_ms": statistics.fmean(values)}


def parse_paint(text: str) -> frozenset:
    """The painted cells a link carries, as "kind:i:j" (read with the app's own reader)."""
    paint, _ = app_lattice.parse_paint(text or "")
    return frozenset(f"{kind}:{i}:{j}" for kind, i, j in paint)


def observed(snap: dict, page: str) -> list[tuple[str, str, object]]:
    """(field, where, value) for every piece of per-session state visible on this page."""
    q, sliders, switches = snap["q"], snap["sliders"], snap["switches"]
    out: list[tuple[str, str, object]] = [("seed", "url", int(q.get("seed", 0))),
                                          ("presenter", "url", q.get("presenter") == "true")]
    if snap["seed"] not in (None, ""):
        out.append(("seed", "widget", int(float(snap["seed"]))))
    if "Presenter mode" in switches:
        out.append(("presenter", "widget", bool(switches["Presenter mode"])))
    if page == "graph-lab":
        out.append(("gK", "url", int(q.get("gK", DEFAULTS["gK"]))))
        if "K (samples)" in sliders:
            out.append(("gK", "widget", int(float(sliders["K (samples)"]))))
    elif page == "lattice-lab":
        out.append(("jx", "url", round(float(q.get("jx", DEFAULTS["jx"])), 4)))
        if "J_x (horizontal coupling)" in sliders:
            out.append(("jx", "widget", round(float(sliders["J_x (horizontal coupling)"]), 4)))
        out.append(("paint", "url", parse_paint(q.get("paint", ""))))
    elif page == "equivariance":
        out.append(("mirror", "url", q.get("eq_mirror") == "true"))
        if "Mirror" in switches:
            out.append(("mirror", "widget", bool(switches["Mirror"])))
    elif page == "molecule-lab" and snap["frame"] is not None:
        out.append(("frame", "widget", snap["frame"][0]))
    elif page == "theory" and "Cycle length n" in sliders:
        out.append(("th_n", "widget", int(float(sliders["Cycle length n"]))))
    return out


DISTINCTIVE = {"seed", "paint"}  # values no two sessions share: a foreign one names the session it came from
PAGE_LOCAL = {"frame", "th_n"}  # state that Streamlit resets when a page is left: taken as seen on arrival


def check_state(sess: Session, snap: dict, page: str, when: str, arrival: bool = False) -> None:
    for name, where, value in observed(snap, page):
        if name in PAGE_LOCAL and (arrival or name not in sess.state):
            sess.expect(name, value)
            continue
        expected = sess.state.get(name)
        if value == expected:
            continue
        history = sess.shared.history[name]
        owners = sorted(j for j, seen in history.items() if j != sess.sid and value in seen)
        entry = {"session": sess.sid, "page": page, "after": when, "field": name, "where": where,
                 "expected": _jsonable(expected), "seen": _jsonable(value)}
        if name in DISTINCTIVE and owners and value not in history[sess.sid]:
            entry["belongs_to_sessions"] = owners[:10]
            sess.shared.leaks.append(entry)
        else:
            sess.shared.mismatches.append(entry)


def _jsonable(value):
    return sorted(value) if isinstance(value, frozenset) else value


# ---- actions ----------------------------------------------------------------------------------------------------------
# Each action: (name, coroutine(page, session) that performs the input and updates the expected state).

async def click_button(page, label: str) -> None:
    await page.get_by_role("button", name=label, exact=True).first.click()


async def slider(page, label: str):
    """The slider with this label, revealed (``reveal``)."""
    found = page.locator(f'input[type="range"][aria-label="{label}"]').first
    await reveal(page, found)
    return found


async def reveal(page, element) -> None:
    """Presenter mode keeps a page's settings in a collapsed expander and collapses the sidebar: open the closed
    expander that holds the element, or the sidebar when the element is off screen there."""
    holder = page.locator('[data-testid="stExpander"] details:not([open])', has=element)
    if await holder.count():
        await holder.first.locator("summary").first.click()
    box = await element.bounding_box() if await element.is_visible() else None
    if (box is None or box["x"] < 0) and await page.locator('[data-testid="stSidebar"]', has=element).count():
        expand = page.locator('[data-testid="stExpandSidebarButton"]')
        if await expand.count():
            await expand.first.click()


async def press_slider(page, label: str, key: str) -> None:
    await (await slider(page, label)).focus()
    await page.keyboard.press(key)


async def toggle(page, label: str) -> None:
    await click_revealed(page, page.get_by_text(label, exact=True).first)


async def click_revealed(page, element) -> None:
    await reveal(page, element)
    await element.click()


def resample(label: str):
    async def act(page, sess: Session):
        await click_button(page, label)
        sess.expect("seed", sess.state["seed"] + 1)
    return act


def slider_field(label: str, name: str, step: float):
    """Alternates between the session's base value and one step above it."""
    async def act(page, sess: Session):
        if name not in sess.state:  # not seen on arrival (hidden in presenter mode): read it now
            sess.expect(name, round(float(await (await slider(page, label)).input_value()), 4))
        base = sess.state.get(f"{name}_base", sess.state[name])
        sess.state[f"{name}_base"] = base
        up = sess.state[name] == base
        await press_slider(page, label, "ArrowRight" if up else "ArrowLeft")
        sess.expect(name, round(base + step, 4) if up else base)
    return act


def toggle_field(label: str, name: str):
    async def act(page, sess: Session):
        await toggle(page, label)
        sess.expect(name, not sess.state[name])
    return act


def paint_site(page_count: int = 3):
    """Paints a site of the session's own: site (sid + 7·m) mod L² for its m-th paint (m < page_count, then again)."""
    async def act(page, sess: Session):
        m = sess.cursor["paint"] % page_count
        sess.cursor["paint"] += 1
        index = (sess.sid + 7 * m) % (LATTICE_L * LATTICE_L)
        i, j = divmod(index, LATTICE_L)
        painter = page.locator(".js-plotly-plot").nth(1)  # the phase diagram is first, the painter second
        await painter.scroll_into_view_if_needed()
        await painter.locator("g.trace.scatter").nth(2).locator("path.point").nth(index).click(force=True)
        sess.expect("paint", sess.state["paint"] | {f"h:{i}:{j}"})
    return act


async def molecule_step(page, sess: Session):
    frame, last = sess.state.get("frame"), sess.state.get("frame_last")
    if frame is not None and last is not None and frame >= last:
        await click_button(page, "Start")
        sess.expect("frame", 0)
    else:
        await click_button(page, "Step")
        if frame is not None:
            sess.expect("frame", frame + 1)


ACTIONS = {
    "home": [("sample again", resample("Sample again"))],
    "graph-lab": [("resample h", resample("Resample h")), ("change K", slider_field("K (samples)", "gK", 1))],
    "lattice-lab": [("sample again", resample("Sample again")),
                    ("move J_x", slider_field("J_x (horizontal coupling)", "jx", 0.05)),
                    ("paint a site", paint_site())],
    "molecule-lab": [("step", molecule_step)],
    "equivariance": [("sample again", resample("Sample again")), ("mirror", toggle_field("Mirror", "mirror"))],
    "results": [("presenter mode", toggle_field("Presenter mode", "presenter"))],
    "theory": [("another h", resample("Another h")), ("cycle length", slider_field("Cycle length n", "th_n", 1))],
}


# ---- one session ------------------------------------------------------------------------------------------------------

async def timed(page, act, args, timeout: float | None = None, new_document: bool = False) -> float:
    """Runs act(), then waits until the app is idle; seconds from the input event (or, for act() that loads a new
    document, from the navigation start) to the last DOM change."""
    before = await page.evaluate("() => ({done: window.__lt ? window.__lt.done : 0, now: performance.now()})")
    if new_document:
        before = {"done": 0, "now": 0.0}
    await act()
    handle = await page.wait_for_function(WAIT_JS, arg=[before["done"], args.quiet_ms], polling=50,
                                          timeout=(timeout or args.timeout) * 1000)
    result = await handle.json_value()
    start = result["lastInput"] if result["lastInput"] >= before["now"] else before["now"]
    return max(0.0, result["lastMut"] - start) / 1000


async def snapshot_and_check(page, sess: Session, page_name: str, when: str, arrival: bool = False) -> dict:
    snap = await page.evaluate(SNAPSHOT_JS)
    if page_name == "molecule-lab" and snap["frame"] is not None:
        sess.state["frame_last"] = snap["frame"][1]
    if not any(h.startswith(HEADINGS[page_name]) for h in snap["h1"]):
        sess.error("wrong_page", f"expected {page_name!r}, saw {snap['path']} with headings {snap['h1']}")
    if snap["exceptions"]:
        sess.error("exceptions", f"{page_name} after {when}: {snap['exceptions'][0]}")
    if snap["errors"]:
        sess.error("error_boxes", f"{page_name} after {when}: {snap['errors'][0]}")
    check_state(sess, snap, page_name, when, arrival)
    return snap


async def _unsettled(page) -> str:
    """What the page showed when an action timed out: its seed box against the URL's seed, and its headings."""
    try:
        snap = await page.evaluate(SNAPSHOT_JS)
    except Exception:  # noqa: BLE001 - the page may be gone
        return ""
    return f" (seed box {snap['seed']!r}, URL seed {snap['q'].get('seed', '0')!r}, headings {snap['h1'][:2]})"


async def step(page, sess: Session, args, page_name: str, kind: str, action: str, act) -> bool:
    """One timed action with its checks; False when it failed (timeout or the action itself)."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    record = {"session": sess.sid, "page": page_name, "kind": kind, "action": action, "t": time.time()}
    ok = True
    try:  # a first load may queue behind every other session's first load: it gets twice the time
        first = kind == "first load"
        record["seconds"] = await timed(page, act, args, 2 * args.timeout if first else None, new_document=first)
    except PlaywrightTimeout as exc:
        ok = False
        record["error"] = "timeout"
        sess.error("timeouts", f"{page_name} {action}: {str(exc).splitlines()[0][:200]}{await _unsettled(page)}")
    except Exception as exc:  # noqa: BLE001 - a failed action is counted, the session goes on
        ok = False
        record["error"] = "action"
        sess.error("action_errors", f"{page_name} {action}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    sess.records.append(record)
    if ok:
        try:
            snap = await snapshot_and_check(page, sess, page_name, action, arrival=kind != "interaction")
            record["app_error"] = bool(snap["exceptions"] or snap["errors"])
        except Exception as exc:  # noqa: BLE001
            sess.error("action_errors", f"{page_name} state check: {type(exc).__name__}: {str(exc)[:200]}")
    return ok


def console(sess: Session, msg) -> None:
    """Console errors count, except the 404s of Streamlit's own probe for its base path: on a deep link such as
    /graph-lab it first asks /graph-lab/_stcore/health and /graph-lab/_stcore/host-config, then the root."""
    if msg.type != "error":
        return
    where = (msg.location or {}).get("url", "")
    path = urlparse(where).path
    if "404" in msg.text and path.endswith(BASE_PATH_PROBES) and path not in BASE_PATH_PROBES:
        sess.ignored_console += 1
        return
    sess.error("console_errors", f"{msg.text[:250]} ({where[:120]})" if where else msg.text[:300])


async def run_session(sid: int, browser, url: str, args, shared: Shared) -> Session:
    sess = Session(sid, shared)
    try:
        await _run_session(sess, browser, url, args)
    except Exception as exc:  # noqa: BLE001 - one broken session must not hide the others' results
        sess.aborted = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        sess.error("action_errors", f"session crashed: {sess.aborted}")
    return sess


async def _run_session(sess: Session, browser, url: str, args) -> None:
    sid = sess.sid
    rng = random.Random(sid)
    await asyncio.sleep(sid * args.ramp)
    width, height = args.viewport
    context = await browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(args.timeout * 1000)  # every click, focus and read of an action: --timeout
    try:
        await context.add_init_script(INIT_JS)
        page = await context.new_page()
        page.on("pageerror", lambda exc: sess.error("page_errors", str(exc)[:300]))
        page.on("console", lambda msg: console(sess, msg))
        seed0, k0 = SEED_STRIDE * (sid + 1), 1 + sid % 15
        for name, value in {"seed": seed0, "gK": k0, "jx": DEFAULTS["jx"], "paint": frozenset(),
                            "presenter": False, "mirror": False}.items():
            sess.expect(name, value)

        async def first_load():
            await page.goto(f"{url}/graph-lab?seed={seed0}&gK={k0}", wait_until="commit", timeout=args.timeout * 1000)

        if not await step(page, sess, args, "graph-lab", "first load", "open /graph-lab", first_load):
            sess.aborted = "first load failed"
            return
        sess.current = "graph-lab"
        order = PAGE_ORDER[sid % len(PAGE_ORDER):] + PAGE_ORDER[:sid % len(PAGE_ORDER)]
        done, visit, failures = 0, 0, 0
        while done < args.interactions:
            target = order[visit % len(order)]
            visit += 1
            if target != sess.current:
                link = page.locator(f'[data-testid="stSidebarNav"] a[href$="/{"" if target == "home" else target}"]')

                async def navigate(link=link, heading=HEADINGS[target]):
                    await click_revealed(page, link.first)
                    await page.locator("h1", has_text=heading).first.wait_for()

                await asyncio.sleep(args.think * rng.uniform(0.5, 1.5))
                ok = await step(page, sess, args, target, "navigation", f"to {target}", navigate)
                sess.current = target
                failures = 0 if ok else failures + 1
            for _ in range(min(args.per_visit, args.interactions - done)):
                if failures >= 3:
                    sess.aborted = f"3 failures in a row (last on {target})"
                    return
                name, act = ACTIONS[target][sess.cursor[target] % len(ACTIONS[target])]
                sess.cursor[target] += 1
                await asyncio.sleep(args.think * rng.uniform(0.5, 1.5))
                ok = await step(page, sess, args, target, "interaction", name, lambda act=act: act(page, sess))
                failures = 0 if ok else failures + 1
                done += 1
    finally:
        sess.final_state = {k: _jsonable(v) for k, v in sess.state.items() if not k.endswith("_base")}
        await context.close()


# ---- resources --------------------------------------------------------------------------------------------------------

def _memory_kb(pid: str) -> int:
    """Proportional set size (shared pages split among the processes that map them), else the resident size."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    with open(f"/proc/{pid}/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def _sum_mb(pids) -> float:
    total = 0
    for pid in pids:
        try:
            total += _memory_kb(str(pid))
        except OSError:
            continue
    return total / 1024


class CpuAccount:
    """Where the machine's CPU time went during the sessions: the server, Chromium and Playwright, this script, and
    everything else (the kernel and other processes), from /proc at every poll. A process's last reading counts, so
    one that exits loses at most a poll interval."""

    GROUPS = ("server", "browsers", "this script", "everything else")

    def __init__(self):
        self.seen: dict[int, tuple[str, float]] = {}
        self.machine = 0.0
        self.mark_at: tuple[dict, float] | None = None

    def poll(self, groups: dict[str, set[int]]) -> None:
        for group, pids in groups.items():
            for pid in pids:
                try:
                    self.seen[pid] = (group, cpu_seconds(pid))
                except (OSError, ValueError, IndexError):
                    continue
        self.machine = machine_busy_seconds()

    def totals(self) -> dict[str, float]:
        out = dict.fromkeys(self.GROUPS[:3], 0.0)
        for group, seconds in self.seen.values():
            out[group] += seconds
        out["everything else"] = self.machine - sum(out.values())
        return out

    def mark(self) -> None:
        self.mark_at = (self.totals(), time.perf_counter())

    def since_mark(self) -> dict:
        """CPU seconds per group since ``mark``, and the wall time."""
        if self.mark_at is None:
            return {}
        before, start = self.mark_at
        now = self.totals()
        return {"wall_s": time.perf_counter() - start, **{g: now[g] - before.get(g, 0.0) for g in self.GROUPS}}


async def monitor(server_pid: int, peaks: dict, cpu: CpuAccount, stop: asyncio.Event) -> None:
    """Peak memory (PSS) of the server and of everything else this process started (Playwright and Chromium), and
    their CPU time (``cpu``)."""
    if not os.path.isdir("/proc"):
        return
    while not stop.is_set():
        groups = process_groups(server_pid)
        server, browser = groups["server"], groups["browsers"]
        cpu.poll(groups)
        peaks["server_mb"] = max(peaks.get("server_mb", 0), _sum_mb(server))
        peaks["browser_mb"] = max(peaks.get("browser_mb", 0), _sum_mb(browser))
        peaks["browser_processes"] = max(peaks.get("browser_processes", 0), len(browser))
        peaks["load_avg_1min"] = max(peaks.get("load_avg_1min", 0), os.getloadavg()[0])
        try:
            await asyncio.wait_for(stop.wait(), timeout=2.0)
        except asyncio.TimeoutError:
            pass


# ---- main -------------------------------------------------------------------------------------------------------------

async def drive(url: str, server_pid: int, args) -> tuple[list[Session], Shared, dict, float]:
    from playwright.async_api import async_playwright

    shared, peaks, cpu, stop = Shared(), {}, CpuAccount(), asyncio.Event()
    watcher = asyncio.create_task(monitor(server_pid, peaks, cpu, stop))
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        warmup = None
        if args.warmup:
            warmup = await warm_up(browser, url, args)
        start = time.perf_counter()
        peaks["sessions_started_at"] = time.time()  # server log lines before this are the warm-up's
        cpu.mark()
        sessions = await asyncio.gather(*(run_session(i, browser, url, args, shared) for i in range(args.sessions)))
        elapsed = time.perf_counter() - start
        if os.path.isdir("/proc"):
            cpu.poll(process_groups(server_pid))  # before the browser closes
            peaks["cpu_seconds"] = cpu.since_mark()
        await browser.close()
    stop.set()
    await watcher
    peaks["warmup_s"] = warmup  # moved to the report's top level by build_report
    return list(sessions), shared, peaks, elapsed


async def warm_up(browser, url: str, args) -> float:
    """The lecturer opens every page once before the class does (models loaded, caches filled); not measured."""
    start = time.perf_counter()
    context = await browser.new_context(viewport={"width": args.viewport[0], "height": args.viewport[1]})
    try:
        await context.add_init_script(INIT_JS)
        page = await context.new_page()
        for name in PAGE_ORDER:
            path = "" if name == "home" else name

            async def go(path=path):
                await page.goto(f"{url}/{path}", wait_until="commit", timeout=args.timeout * 1000)

            await timed(page, go, args, 4 * args.timeout, new_document=True)
    finally:
        await context.close()
    return time.perf_counter() - start


class ServerOutput:
    """Drains the server's stdout (a full pipe would block it) and keeps what looks like errors, plus the tail."""

    def __init__(self, proc):
        self.tail: deque = deque(maxlen=40)
        self.tracebacks = 0
        self.error_lines: list[str] = []
        self.thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self.thread.start()

    def _read(self, proc) -> None:
        for line in proc.stdout:
            line = line.rstrip()
            self.tail.append(line)
            if line.startswith("Traceback"):
                self.tracebacks += 1
            if ("Error" in line or "ERROR" in line or "Exception" in line) and len(self.error_lines) < 20:
                self.error_lines.append(line[:300])


def read_log(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def build_report(sessions: list[Session], shared: Shared, peaks: dict, elapsed: float, server_log: list[dict],
                 server_out: ServerOutput, args) -> dict:
    records = [r for s in sessions for r in s.records]
    inter = [r for r in records if r["kind"] == "interaction"]
    server = defaultdict(list)
    since = peaks.pop("sessions_started_at", 0)
    for r in server_log:
        if r.get("status") == "ok" and r.get("time", since) >= since:
            server[r["page"]].append(1000 * r["seconds"])
    errors = Counter({"server_tracebacks": server_out.tracebacks})
    samples = defaultdict(list)
    if server_out.error_lines:
        samples["server_tracebacks"] = server_out.error_lines[:8]
    for s in sessions:
        errors.update(s.errors)
        for kind, msgs in s.error_samples.items():
            for m in msgs:
                if len(samples[kind]) < 8 and m not in samples[kind]:
                    samples[kind].append(f"session {s.sid}: {m}")
    pages = {}
    for p in PAGE_ORDER:
        rows = [r for r in inter if r["page"] == p]
        times = [1000 * r["seconds"] for r in rows if "seconds" in r]
        pages[p] = {**summary(times), "actions": sorted({r["action"] for r in rows}),
                    "failed": sum("error" in r for r in rows), "app_errors": sum(bool(r.get("app_error")) for r in rows),
                    "server": summary(server.get(p, []))}
    per_action = defaultdict(list)
    for r in inter:
        if "seconds" in r:
            per_action[f"{r['page']}: {r['action']}"].append(1000 * r["seconds"])
    times = [1000 * r["seconds"] for r in inter if "seconds" in r]
    report = {
        "config": {"sessions": args.sessions, "interactions": args.interactions, "per_visit": args.per_visit,
                   "warmup": args.warmup,
                   "think_s": args.think, "ramp_s": args.ramp, "quiet_ms": args.quiet_ms, "timeout_s": args.timeout,
                   "viewport": list(args.viewport), "cpus": os.cpu_count()},
        "elapsed_s": elapsed,
        "warmup_s": peaks.pop("warmup_s", None),
        "overall": {**summary(times), "failed": sum("error" in r for r in inter),
                    "app_errors": sum(bool(r.get("app_error")) for r in inter)},
        "pages": pages,
        "actions": {k: summary(v) for k, v in sorted(per_action.items())},
        "navigation": summary([1000 * r["seconds"] for r in records if r["kind"] == "navigation" and "seconds" in r]),
        "first_load": summary([1000 * r["seconds"] for r in records if r["kind"] == "first load" and "seconds" in r]),
        "server_all_reruns": summary([v for vs in server.values() for v in vs]),
        "errors": {k: errors.get(k, 0) for k in ("exceptions", "error_boxes", "page_errors", "console_errors",
                                                  "timeouts", "action_errors", "wrong_page",
                                                  "server_tracebacks")},
        "error_samples": dict(samples),
        "ignored_console_404s": sum(s.ignored_console for s in sessions),
        "leaks": shared.leaks,
        "state_mismatches": shared.mismatches,
        "sessions": [{"session": s.sid, "interactions": sum(r["kind"] == "interaction" for r in s.records),
                      "failed": sum("error" in r for r in s.records), "aborted": s.aborted,
                      "errors": dict(s.errors), "final_state": getattr(s, "final_state", {})} for s in sessions],
        "resources": peaks,
        "server_output_tail": list(server_out.tail),
        "records": records,
    }
    report["ok"] = (not any(report["errors"].values()) and not shared.leaks and not shared.mismatches
                    and not any(s.aborted for s in sessions))
    return report


def _ms(v) -> str:
    return "–" if v is None else f"{v:.0f}"


def print_report(report: dict) -> None:
    c = report["config"]
    print(f"{c['sessions']} sessions × {c['interactions']} interactions ({c['per_visit']} per page visit), think "
          f"{c['think_s']} s, viewport {c['viewport'][0]}×{c['viewport'][1]}, {c['cpus']} CPUs, "
          f"{report['elapsed_s']:.0f} s in all"
          + (f" (after a {report['warmup_s']:.0f} s warm-up visit of every page)"
             if report["warmup_s"] else " (cold server, no warm-up)"))
    print()
    print("User-visible time from the input event to the idle app (ms); server = the rerun itself (latency log, "
          "every rerun of the page, navigations included).")
    print()
    print("| page | actions | n | p50 | p95 | max | server p50 | server p95 | failed | error boxes |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for p, row in report["pages"].items():
        print(f"| {p} | {', '.join(row['actions'])} | {row['n']} | {_ms(row['p50_ms'])} | {_ms(row['p95_ms'])} | "
              f"{_ms(row['max_ms'])} | {_ms(row['server']['p50_ms'])} | {_ms(row['server']['p95_ms'])} | "
              f"{row['failed']} | {row['app_errors']} |")
    o, sv = report["overall"], report["server_all_reruns"]
    print(f"| **overall** | | {o['n']} | **{_ms(o['p50_ms'])}** | **{_ms(o['p95_ms'])}** | {_ms(o['max_ms'])} | "
          f"{_ms(sv['p50_ms'])} | {_ms(sv['p95_ms'])} | {o['failed']} | {o['app_errors']} |")
    for label, key in (("navigation (sidebar click)", "navigation"), ("first load (goto)", "first_load")):
        r = report[key]
        print(f"| {label} | | {r['n']} | {_ms(r['p50_ms'])} | {_ms(r['p95_ms'])} | {_ms(r['max_ms'])} | | | | |")
    print()
    errs = report["errors"]
    print("Errors: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in errs.items()))
    for kind, msgs in report["error_samples"].items():
        for m in msgs[:3]:
            print(f"  {kind}: {m}")
    print(f"Cross-session leaks: {len(report['leaks'])}; state mismatches: {len(report['state_mismatches'])}")
    for entry in (report["leaks"] + report["state_mismatches"])[:8]:
        print(f"  {entry}")
    aborted = [s for s in report["sessions"] if s["aborted"]]
    if aborted:
        print("Aborted sessions: " + "; ".join(f"{s['session']}: {s['aborted']}" for s in aborted))
    res = report["resources"]
    if res:
        print(f"Peak memory (PSS): server {res.get('server_mb', 0):.0f} MB, Playwright + Chromium "
              f"{res.get('browser_mb', 0):.0f} MB in {res.get('browser_processes', 0)} processes; peak 1-min load "
              f"average {res.get('load_avg_1min', 0):.1f}")
    used = res.get("cpu_seconds")
    if used:
        wall = used["wall_s"]
        print(f"CPU during the sessions ({wall:.0f} s, in cores of {report['config']['cpus']}): "
              + ", ".join(f"{g} {used[g] / wall:.2f}" for g in CpuAccount.GROUPS))
    print("OK" if report["ok"] else "FAILED: errors, leaks or state mismatches (details in the JSON)")


def viewport(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError("expected WIDTHxHEIGHT, e.g. 1024x700") from None
    if w < 800 or h < 300:
        # below Streamlit's md breakpoint (768 px) the sidebar becomes an overlay that the sessions cannot navigate with
        raise argparse.ArgumentTypeError("the viewport must be at least 800 px wide (Streamlit's mobile layout hides "
                                         "the sidebar navigation) and 300 px high")
    return w, h


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=8, help="concurrent browser sessions (default 8)")
    ap.add_argument("--interactions", type=int, default=30, help="widget actions per session (default 30)")
    ap.add_argument("--per-visit", type=int, default=2, help="actions per page visit before moving on (default 2)")
    ap.add_argument("--think", type=float, default=1.0,
                    help="mean pause before each action or navigation, s (uniform in [0.5, 1.5]·think; default 1; "
                         "0 = back to back)")
    ap.add_argument("--ramp", type=float, default=0.5, help="session i starts i·ramp seconds late (default 0.5)")
    ap.add_argument("--quiet-ms", type=int, default=300, help="DOM quiet time that ends an action (default 300)")
    ap.add_argument("--timeout", type=float, default=60, help="seconds before an action counts as timed out (default 60)")
    ap.add_argument("--viewport", type=viewport, default=(1024, 700), help="browser viewport WxH (default 1024x700)")
    ap.add_argument("--no-warmup", dest="warmup", action="store_false",
                    help="skip the unmeasured visit of every page before the sessions start (cold server)")
    ap.add_argument("--threads", type=int, default=1, help="SYMPE_APP_THREADS for the server (default 1)")
    ap.add_argument("--json", help="write the full report (with every timed action) to this file")
    ap.add_argument("--p95-limit", type=float, help="exit 2 when the overall p95 is above this many seconds")
    args = ap.parse_args(argv)
    if args.sessions < 1 or args.interactions < 1 or args.per_visit < 1:
        ap.error("--sessions, --interactions and --per-visit must be at least 1")
    if args.interactions >= SEED_STRIDE:
        ap.error(f"--interactions must stay below {SEED_STRIDE}, or the sessions' seed ranges would overlap")
    try:
        import playwright  # noqa: F401
    except ImportError:
        print("playwright is not installed (pip install -r requirements-test.txt)", file=sys.stderr)
        return 3
    if not Path(CHROMIUM).exists():
        print(f"no Chromium at {CHROMIUM} (apt-get install -y chromium, or set SYMPE_CHROMIUM)", file=sys.stderr)
        return 3

    log = Path(tempfile.mkdtemp(prefix="sympe-load-")) / "latency.jsonl"
    port = free_port()
    proc = start_server(port, {"SYMPE_LATENCY_LOG": str(log), "SYMPE_APP_THREADS": str(args.threads)})
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        server_out = ServerOutput(proc)
        sessions, shared, peaks, elapsed = asyncio.run(drive(url, proc.pid, args))
    finally:
        stop_server(proc)
    server_out.thread.join(timeout=5)
    report = build_report(sessions, shared, peaks, elapsed, read_log(log), server_out, args)
    print_report(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=_jsonable))
    if not report["ok"]:
        return 1
    if args.p95_limit is not None and (report["overall"]["p95_ms"] or 0) > 1000 * args.p95_limit:
        print(f"overall p95 above the limit of {args.p95_limit} s")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
