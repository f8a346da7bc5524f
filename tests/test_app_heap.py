"""app.models.freeze_heap_after_first_run: each page freezes the heap once per process, after its first complete
rerun, so that the collector's full passes skip what the page loaded; a second call for the same page freezes nothing.
Run in a subprocess: a freeze is for the life of the process."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import gc, json
from app import models
counts = []
models.freeze_heap_after_first_run("home"); counts.append(gc.get_freeze_count())
loaded = [[i] for i in range(5000)]  # what a page keeps alive (tracked by the collector)
models.freeze_heap_after_first_run("home"); counts.append(gc.get_freeze_count())
models.freeze_heap_after_first_run("point-cloud-lab"); counts.append(gc.get_freeze_count())
models.freeze_heap_after_first_run("point-cloud-lab"); counts.append(gc.get_freeze_count())
print(json.dumps(counts))
"""


def test_each_page_freezes_the_heap_once():
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=300, check=True)
    first, again, other_page, other_again = json.loads(out.stdout.strip().splitlines()[-1])
    assert first > 0
    assert again == first  # the same page: nothing more frozen
    assert other_page >= first + 5000  # another page's first run: what was loaded since is frozen too
    assert other_again == other_page
