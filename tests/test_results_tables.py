"""Generated results tables: every block in README.md and docs/ equals what pretrained/manifest.json gives, every
block names a known table, and the tables follow the manifest (a changed number shows up)."""
from __future__ import annotations

import copy

import pytest

from backend import results
from backend.checkpoints import read_manifest


def test_every_checked_in_table_matches_the_manifest():
    assert results.stale() == [], "run make results"


def test_every_block_names_a_known_table():
    manifest = read_manifest()
    names = [m.group(2) for path in results.documents() for m in results._BLOCK.finditer(path.read_text())]
    assert names, "no generated block found"
    for name in names:
        results.table(name, manifest)  # raises KeyError for an unknown name


def test_a_changed_manifest_number_changes_the_table():
    manifest = read_manifest()
    key = next(k for k in manifest if k.startswith("pointcloud/"))
    changed = copy.deepcopy(manifest)
    changed[key]["metrics"]["hit_pct"] = 12.345
    text = "<!-- BEGIN RESULTS: pointcloud -->\n<!-- END RESULTS -->"
    assert "12.345" in results.render(text, changed) and "12.345" not in results.render(text, manifest)


def test_unknown_table_names_are_refused():
    with pytest.raises(KeyError, match="unknown results table"):
        results.table("bogus", {})


def test_markdown_tables_escape_pipes_and_fill_missing_cells():
    table = results.markdown_table([{"a": "x|y", "b": 1}, {"a": None, "c": 2.5}])
    assert table.splitlines() == ["| a | b | c |", "|---|---|---|", "| x\\|y | 1 |  |", "|  |  | 2.5 |"]
