"""The evaluation entry point every task shares: shipped variants only, the table, JSON, and manifest records with
the exact command (never from a quick run)."""
from __future__ import annotations

import json

from backend.checkpoints import read_manifest
from backend.tasks.evaluation import evaluation_main

SHA = "0" * 64


def write_manifest(path, variants):
    entries = {f"toy/{v}": {"file": f"toy/{v}.safetensors", "sha256": SHA} for v in variants}
    path.write_text(json.dumps(entries))


def run(tmp_path, argv, capsys):
    manifest = tmp_path / "manifest.json"
    code = evaluation_main("tests.toy_eval", "toy", ("a", "b", "c"), lambda v, args: {"score": len(v) + args.bonus},
                           lambda results: "table " + ",".join(results), argv, manifest=manifest,
                           add_options=lambda p: p.add_argument("--bonus", type=int, default=0))
    out = capsys.readouterr()
    return code, out.out, out.err, manifest


def test_evaluates_shipped_variants_only_and_records_the_command(tmp_path, capsys):
    write_manifest(tmp_path / "manifest.json", ["a", "c"])
    code, out, err, manifest = run(tmp_path, ["--bonus", "2", "--write-manifest", "--json", str(tmp_path / "r.json")], capsys)
    assert code == 0 and out.strip() == "table a,c" and "skipping b: not shipped" in err
    entries = read_manifest(manifest)
    assert entries["toy/a"]["metrics"] == {"score": 3}
    assert entries["toy/c"]["metrics_command"] == f"python -m tests.toy_eval --bonus 2 --write-manifest --json {tmp_path / 'r.json'}"
    assert "metrics" not in entries.get("toy/b", {})
    assert json.loads((tmp_path / "r.json").read_text()) == {"a": {"score": 3}, "c": {"score": 3}}


def test_a_quick_run_never_writes_the_manifest(tmp_path, capsys):
    write_manifest(tmp_path / "manifest.json", ["a"])
    code, _, _, manifest = run(tmp_path, ["--quick", "--write-manifest"], capsys)
    assert code == 0 and "metrics" not in read_manifest(manifest)["toy/a"]


def test_nothing_shipped_is_an_error(tmp_path, capsys):
    write_manifest(tmp_path / "manifest.json", [])
    code, _, err, _ = run(tmp_path, [], capsys)
    assert code == 1 and "no shipped toy variants" in err
