"""The benchmark (``python -m backend bench``): one ``--quick --json`` run in-process, its structure, ratios and
targets consistent with its own times, and the renderer of docs/performance.md. Timings are never asserted."""
from __future__ import annotations

import contextlib
import io
import json
import math

import pytest

from backend import bench
from backend.cli import main as cli_main

SECTIONS = ("graphs", "draws", "lattice", "overhead")
TIMINGS = {"graphs": ("new", "sympy", "vf2"), "draws": ("chain", "relabel", "sympy"), "lattice": ("new", "exhaustive"),
           "overhead": ("encode", "backbone")}


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """(the JSON printed by ``--quick --json``, the file ``--json-out`` wrote)."""
    path = tmp_path_factory.mktemp("bench") / "quick.json"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert bench.main(["--quick", "--json", "--repeats", "1", "--json-out", str(path)]) == 0
    return json.loads(stdout.getvalue()), path


def _rows(result):
    return [(name, row) for name in SECTIONS for row in result[name]]


def test_quick_run_structure(quick):
    result, path = quick
    assert json.loads(path.read_text()) == result
    assert result["schema"] == bench.SCHEMA
    header = result["header"]
    assert header["quick"] is True and header["torch_threads"] == 1
    assert header["cpu_count"] >= 1 and header["platform"]
    config = result["config"]
    assert [(r["family"], r["target_n"]) for r in result["graphs"]] == [
        (f, s) for f in bench.FAMILIES for s in config["graph_sizes"]]
    assert [r["graph"] for r in result["draws"]] == list(bench.DRAW_GRAPHS)
    assert all(r["k"] == config["draws_k"] and r["n"] == 100 for r in result["draws"])
    assert [(r["input"], r["L"]) for r in result["lattice"]] == [
        (kind, L) for kind in ("random", "painted") for L in config["lattice_sizes"]]
    assert [r["model"] for r in result["overhead"][:3]] == ["ising/sympe", "graph_ae/sympe", "qm9/sympe"]
    assert len(result["overhead"]) == 3 + len(config["sparse_sizes"])
    for name, row in _rows(result):
        for key in TIMINGS[name]:
            entry = row[key]
            if entry["ms"] is None:
                assert entry["status"].startswith("skipped: ") and entry["reps"] == 0, (name, key, entry)
            else:
                assert entry["ms"] > 0 and 1 <= entry["reps"] <= config["repeats"], (name, key, entry)
    for name, row in _rows(result):  # the new paths and the overhead always run
        for key in {"graphs": ("new",), "draws": ("chain", "relabel"), "lattice": ("new",),
                    "overhead": ("encode", "backbone")}[name]:
            assert row[key]["status"] == "ok", (name, key, row[key])
    for row in result["graphs"]:
        assert int(row["aut"]) >= 1 and row["n"] >= 8
        assert row["vf2"]["status"] == "ok" or row["vf2"]["status"].startswith("skipped: ")
    for row in result["lattice"]:
        assert row["group_order"] == 16 * row["L"] ** 2
        assert row["group_order"] % row["stabilizer_order"] == 0
        assert row["stabilizer_order"] == (1 if row["input"] == "random" else 4)


def test_ratios_and_targets_are_consistent_with_the_times(quick):
    result, _ = quick
    checked = 0
    for name, row in _rows(result):
        for key, value in row["ratios"].items():
            a, b = (row[part]["ms"] for part in key.split("/"))
            if a is None or b is None:
                assert value is None, (name, key)
            else:
                assert math.isclose(value, a / b, rel_tol=1e-12), (name, key)
                checked += 1
        target = row["target"]
        if target is None:
            assert row["met"] is None
            continue
        q = target["quantity"]
        measured = row["ratios"][q] if "/" in q else row[q]["ms"]
        assert row["met"] is (None if measured is None else measured <= target["max"]), (name, row)
    assert checked >= len(result["graphs"])
    assert all(row["target"] is not None for row in result["overhead"])
    assert [row["target"] is not None for row in result["lattice"]] == [r["L"] == 16 for r in result["lattice"]]


def test_tables_show_every_row(quick):
    result, _ = quick
    text = bench.format_tables(result)
    assert "--quick run" in text
    tables = bench._tables(result)
    assert [len(rows) for _, _, rows in tables] == [len(result[name]) for name in SECTIONS]
    assert all(len(row) == len(headers) for _, headers, rows in tables for row in rows)


def test_render_is_deterministic_and_keeps_the_hand_written_text(quick, tmp_path):
    _, path = quick
    doc = tmp_path / "performance.md"
    doc.write_text(f"# Performance\n\nIntro.\n\n{bench.BEGIN}\nold\n{bench.END}\n\nOutro.\n")
    assert cli_main(["bench", "--render", str(path), "--doc", str(doc)]) == 0
    first, svg = doc.read_text(), doc.with_suffix(".svg").read_text()
    assert bench.main(["--render", str(path), "--doc", str(doc)]) == 0
    assert doc.read_text() == first and doc.with_suffix(".svg").read_text() == svg
    assert first.startswith("# Performance\n\nIntro.\n\n") and first.endswith(f"{bench.END}\n\nOutro.\n")
    assert first.count(bench.BEGIN) == 1 and "old" not in first
    assert "](performance.svg)" in first and "| family | n | edges |" in first
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>") and svg.count("<polyline") >= 4


def test_render_appends_the_section_to_a_doc_without_markers(quick, tmp_path):
    _, path = quick
    doc = tmp_path / "new" / "perf.md"
    bench.write_doc(path, doc)
    text = doc.read_text()
    assert text.startswith("# Performance\n\n" + bench.BEGIN) and text.endswith(bench.END + "\n")
    assert (tmp_path / "new" / "perf.svg").exists()


def test_a_run_past_the_limit_is_skipped():
    cfg = bench.BenchConfig(repeats=3, budget=10.0)

    def spin():
        while True:
            pass

    assert bench._time(spin, cfg, limit=0.05) == {"ms": None, "reps": 0, "status": "skipped: one run > 0.05 s"}
    entry = bench._time(lambda: None, cfg, limit=0.05)
    assert entry["status"] == "ok" and entry["reps"] == 3
