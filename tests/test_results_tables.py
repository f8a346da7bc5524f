"""Generated results tables: every block in README.md and docs/ equals what pretrained/manifest.json gives, every
block names a known table, and the tables follow the manifest (a changed number shows up), with one number format."""
from __future__ import annotations

import copy

import pytest

from backend import results
from backend.checkpoints import read_manifest


@pytest.fixture(scope="module")
def manifest():
    return read_manifest()


def test_every_checked_in_table_matches_the_manifest(manifest):
    assert results.problems(manifest=manifest) == [], "run make results"


def test_the_readme_and_every_experiment_page_have_generated_tables():
    paths = {str(p.relative_to(results.ROOT)) for p in results.documents()}
    assert {"README.md", "docs/experiments/ising.md", "docs/experiments/graph_ae.md", "docs/experiments/qm9.md",
            "docs/experiments/pointcloud.md"} <= paths


def test_every_block_names_a_known_table(manifest):
    names = [name for path in results.documents() for name, _ in results.blocks(path.read_text(encoding="utf-8"))]
    assert "headline" in names
    for name in names:
        assert name in results.table_names()
        assert results.rows(name, manifest), f"table {name!r} is empty with the shipped manifest"


def test_every_table_name_is_documented():
    library = (results.ROOT / "docs" / "library.md").read_text(encoding="utf-8")
    for name in results.table_names():
        assert f"`{name}`" in library, f"docs/library.md does not list the table {name!r}"


def test_check_names_a_stale_block_and_write_fixes_it(tmp_path, manifest):
    fresh = results.render("<!-- BEGIN RESULTS: qm9 -->\n<!-- END RESULTS -->\n", manifest)
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text("intro\n\n" + fresh, encoding="utf-8")
    stale = fresh.replace("| sympe |", "| sympe (typed by hand) |")
    (tmp_path / "docs" / "page.md").write_text(stale + "\n<!-- BEGIN RESULTS: bogus -->\nx\n<!-- END RESULTS -->\n")
    found = results.problems(tmp_path, manifest)
    assert len(found) == 2
    assert "docs/page.md: block 'qm9' differs from the manifest" in found[0]
    assert "docs/page.md: unknown results table 'bogus'" in found[1]


def test_an_unterminated_block_is_reported(tmp_path, manifest):
    (tmp_path / "README.md").write_text("<!-- BEGIN RESULTS: qm9 -->\n| a |\n", encoding="utf-8")
    (found,) = results.problems(tmp_path, manifest)
    assert "1 BEGIN RESULTS markers but 0 complete blocks" in found


def test_a_marker_mentioned_in_prose_is_not_a_block():
    assert results.blocks("Blocks look like `<!-- BEGIN RESULTS: <name> -->` in the text.\n") == []


@pytest.mark.parametrize("name, change, shown", [
    ("headline", lambda m: m["ising/sympe"]["metrics"]["constant"].update(exact_rate=0.4321), "43.2"),
    ("ising-per-phase", lambda m: m["ising/noise"]["metrics"]["constant"]["per_phase"]["antiferromagnet"].update(exact_rate=0.1234), "12.3 / "),
    ("ising-degeneracy-search", lambda m: m["ising/fixed"]["metrics"]["search"]["degeneracy_tv"]["ferromagnet"].update(mean_tv=0.7777), "0.7777 (n="),
    ("graph_ae-families", lambda m: m["graph_ae/sympe"]["metrics"]["symmetric"]["families"]["torus"].update(exact_pct=12.5), "12.5"),
    ("graph_ae-uniform-guess", lambda m: m["graph_ae/none"]["metrics"]["cycles"]["C6"].update(mean_prob_edges=0.9876), "0.9876"),
    ("qm9-nll", lambda m: m["qm9/sympe"]["metrics"].update(test_nll_minus_none=-0.5, test_nll_minus_none_sem=0.1), "(-0.50 ± 0.10)"),
    ("pointcloud", lambda m: m["pointcloud/sympe"]["metrics"].update(hit_pct=12.345), "12.35"),
    ("provenance-ising", lambda m: m["ising/none"]["training"].update(seconds=1234.5), "1234"),
])
def test_a_changed_manifest_number_changes_the_table(manifest, name, change, shown):
    changed = copy.deepcopy(manifest)
    change(changed)
    text = f"<!-- BEGIN RESULTS: {name} -->\n<!-- END RESULTS -->\n"
    assert shown in results.render(text, changed)
    assert shown not in results.render(text, manifest)


def test_a_variant_without_metrics_leaves_its_cells_empty(manifest):
    changed = copy.deepcopy(manifest)
    del changed["qm9/noise"]["metrics"]
    (qm9,) = [r for r in results.headline_rows(changed) if r["experiment"] == "QM9 generation"]
    assert qm9["noise"] is None and qm9["fixed"] is None and qm9["sympe"] is not None


def test_unknown_table_names_are_refused():
    with pytest.raises(KeyError, match="unknown results table"):
        results.table("bogus", {})
    with pytest.raises(KeyError, match="unknown results table"):
        results.table("provenance-bogus", {})


@pytest.mark.parametrize("value, text", [
    (25.50169771048744, "25.50"),  # 4 significant digits, trailing zero kept when the value has it
    (0.113, "0.113"),  # never more places than stored
    (0.0007, "0.0007"),
    (5.818744876362672e-05, "0.00005819"),  # positional, never 5.8e-05
    (2540.8, "2541"),  # all integer digits
    (100.0, "100.0"),
    (0.0, "0.0"),
    (-0.0123456, "-0.01235"),
    (13083, "13083"),
    (True, "yes"),
    (None, ""),
    ("text", "text"),
])
def test_number_format(value, text):
    assert results.number(value) == text


def test_values_with_errors_are_rounded_to_the_errors_second_digit():
    assert results.plus_minus(25.50169771048744, 0.22465476838866275) == "25.50 ± 0.22"
    assert results.plus_minus(0.031419566673563985, 0.027804895567548903, signed=True) == "+0.031 ± 0.028"
    assert results.plus_minus(5.818744876362672e-05, 6.5812091698954835e-06) == "0.0000582 ± 0.0000066"
    assert results.plus_minus(0.0, 0.0) == "0.0 ± 0.0"


def test_markdown_tables_escape_pipes_and_fill_missing_cells():
    table = results.markdown_table([{"a": "x|y", "b": 1}, {"a": None, "c": 2.5}])
    assert table.splitlines() == ["| a | b | c |", "|---|---|---|", "| x\\|y | 1 |  |", "|  |  | 2.5 |"]
    assert results.markdown_table([{"|Aut|": 1}]).splitlines()[0] == "| \\|Aut\\| |"


def test_the_command_line_checks_lists_and_shows(capsys):
    assert results.main(["--check"]) == 0
    assert results.main(["--list"]) == 0
    assert "headline" in capsys.readouterr().out.split()
    assert results.main(["--show", "qm9-nll"]) == 0
    assert "mixture gain" in capsys.readouterr().out
    assert results.main(["--show", "bogus"]) == 2
