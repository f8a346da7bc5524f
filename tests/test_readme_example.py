"""The Python examples in README.md and docs/library.md run as they stand, so they cannot rot.

Every ```python block is run from the repository root in a fresh namespace (each block must be self-contained, as a
reader copies it), all blocks of one document in one subprocess. A comment ``# → TEXT`` (after a print or on a line
of its own) says what the block prints: each such TEXT must appear in the block's output, in order."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = ("README.md", "docs/library.md")
FENCE = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
EXPECTED = re.compile(r"#\s*→\s*(.+?)\s*$", re.MULTILINE)

RUNNER = r"""
import contextlib, io, json, sys, traceback
results = []
for code in json.load(sys.stdin):
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, "<example>", "exec"), {"__name__": "__example__"})
        results.append({"ok": True, "stdout": out.getvalue()})
    except BaseException:
        results.append({"ok": False, "stdout": out.getvalue(), "error": traceback.format_exc()})
print("\n" + json.dumps(results))
"""


def python_blocks(document: str) -> list[str]:
    return FENCE.findall((ROOT / document).read_text(encoding="utf-8"))


def expected_outputs(code: str) -> list[str]:
    return EXPECTED.findall(code)


def run_blocks(blocks: list[str]) -> list[dict]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", RUNNER], input=json.dumps(blocks), capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_python_example_runs_and_prints_what_it_says(document):
    blocks = python_blocks(document)
    assert blocks, f"{document} has no ```python example"
    for code, result in zip(blocks, run_blocks(blocks)):
        head = code.strip().splitlines()[0]
        assert result["ok"], f"{document}: the example starting {head!r} failed:\n{result['error']}"
        position = 0
        for text in expected_outputs(code):
            found = result["stdout"].find(text, position)
            assert found >= 0, f"{document}: the example starting {head!r} should print {text!r}; it printed:\n{result['stdout']}"
            position = found + len(text)


def test_the_readme_has_one_short_example_of_the_whole_pipeline():
    (code,) = python_blocks("README.md")
    assert len(code.splitlines()) <= 40
    for step in ("canonicalize_graph", ".sample(", "encoding", "load_graph_ae"):
        assert step in code, f"the README example should show {step}"


def test_expected_outputs_are_read_from_arrow_comments():
    code = 'print(1)  # → 1\n# → two\nx = 3  # not an expectation\n'
    assert expected_outputs(code) == ["1", "two"]
