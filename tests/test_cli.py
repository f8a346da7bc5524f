"""``python -m backend canon graph``: the JSON contract on good input, one line and exit code 2 on bad input."""
import json
import subprocess
import sys

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.cli import main


def canon(capsys, *args):
    rc = main(["canon", "graph", *map(str, args)])
    out, err = capsys.readouterr()
    return rc, out, err


def _adjacency(n, edges):
    A = [[0] * n for _ in range(n)]
    for u, v in edges:
        A[u][v] = A[v][u] = 1
    return A


def test_cycle_with_string_ids(tmp_path, capsys):
    path = tmp_path / "ring.txt"
    path.write_text("a b\nb c\nc d\nd e\ne f\nf a\n")
    rc, out, err = canon(capsys, path, "--samples", "50", "--seed", "7")
    assert rc == 0, err
    data = json.loads(out)
    assert data["n"] == 6 and data["nodes"] == list("abcdef")
    assert data["automorphism_group_order"] == "12"
    assert data["orbits"] == [[0, 1, 2, 3, 4, 5]]
    edges = [(data["nodes"].index(u), data["nodes"].index(v)) for u, v in ["ab", "bc", "cd", "de", "ef", "fa"]]
    A = _adjacency(6, edges)
    order = data["canonical_order"]
    C = [[A[order[k]][order[l]] for l in range(6)] for k in range(6)]
    assert sorted(map(tuple, data["canonical_edges"])) == sorted((k, l) for k in range(6) for l in range(k + 1, 6) if C[k][l])
    seen = set()
    for sample in data["samples"]:
        assert [[A[sample[k]][sample[l]] for l in range(6)] for k in range(6)] == C
        seen.add(tuple(sample))
    assert len(seen) > 6  # 50 draws from 12 orderings


@pytest.mark.parametrize("fmt", ["json", "graphml", "gml", "graph6"])
def test_every_format_gives_the_same_canonical_form(tmp_path, capsys, fmt):
    g = nx.petersen_graph()
    ref = tmp_path / "ref.txt"
    ref.write_text("\n".join(f"{u} {v}" for u, v in g.edges()))
    path = tmp_path / f"g.{ {'json': 'json', 'graphml': 'graphml', 'gml': 'gml', 'graph6': 'g6'}[fmt] }"
    if fmt == "json":
        path.write_text(json.dumps({"n": 10, "edges": [list(e) for e in g.edges()]}))
    elif fmt == "graphml":
        nx.write_graphml(g, path)
    elif fmt == "gml":
        nx.write_gml(nx.relabel_nodes(g, str), path)
    else:
        path.write_bytes(nx.to_graph6_bytes(g, header=False))
    _, ref_out, _ = canon(capsys, ref)
    rc, out, err = canon(capsys, path)
    assert rc == 0, err
    assert json.loads(out)["canonical_edges"] == json.loads(ref_out)["canonical_edges"]
    assert json.loads(out)["automorphism_group_order"] == "120"


def test_huge_group_order_is_an_exact_decimal_string(tmp_path, capsys):
    path = tmp_path / "k.json"
    path.write_text(json.dumps({"n": 30, "edges": [[i, j] for i in range(30) for j in range(i + 1, 30)]}))
    rc, out, _ = canon(capsys, path, "--samples", "2")
    assert rc == 0
    assert json.loads(out)["automorphism_group_order"] == "265252859812191058636308480000000"


@pytest.mark.parametrize(
    "name, content, extra",
    [
        ("missing.txt", None, []),
        ("g.unknown", "0 1\n", []),
        ("g.txt", "0 0\n", []),
        ("g.txt", "0 1\n1 0\n", []),
        ("g.json", '{"n": 2, "edges": [[0, 5]]}', []),
        ("g.json", "{not json", []),
        ("g.graphml", "<graphml><broken", []),
        ("g.g6", "!!!!", []),
        ("g.txt", "\n".join(f"{i} {i + 1}" for i in range(30)), ["--max-nodes", "10"]),
        ("g.txt", "0 1\n", ["--samples", "-1"]),
        ("g.txt", "0 1\n", ["--format", "bogus"]),
    ],
)
def test_bad_input_gives_one_line_and_exit_2(tmp_path, capsys, name, content, extra):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    rc, out, err = canon(capsys, path, *extra)
    assert rc == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("error:")


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400), ext=st.sampled_from(["txt", "json", "graphml", "gml", "g6"]))
def test_fuzz_random_bytes_never_traceback(tmp_path, capsys, data, ext):
    path = tmp_path / f"fuzz.{ext}"
    path.write_bytes(data)
    rc, out, err = canon(capsys, path)
    assert rc in (0, 2)
    if rc == 0:
        assert json.loads(out)["n"] >= 1
    else:
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_module_entry_point_runs(tmp_path):
    path = tmp_path / "p.txt"
    path.write_text("0 1\n1 2\n")
    proc = subprocess.run([sys.executable, "-m", "backend", "canon", "graph", str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and json.loads(proc.stdout)["automorphism_group_order"] == "2"
    proc = subprocess.run([sys.executable, "-m", "backend", "canon", "graph", str(tmp_path / "nope.txt")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("text, value", [("-1e-05", -1e-05), ("-.5", -0.5), ("-2", -2.0), ("-1E+1", -10.0), ("-0.25", -0.25)])
def test_negative_numbers_in_any_notation_are_values_not_options(capsys, text, value):
    assert main(["predict", "ising", "--jx", text, "--jy", "1", "--h", "0", "--L", "4"]) == 0
    assert json.loads(capsys.readouterr().out)["input"]["jx"] == value


def test_an_unknown_dash_word_is_still_an_unknown_option(capsys):
    assert main(["predict", "ising", "--jx", "-x", "--jy", "1", "--h", "0"]) == 2
    assert "--jx" in capsys.readouterr().err
