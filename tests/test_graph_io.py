"""Tests for backend.graph_io: round trips for every format, colours, every error path, fuzzing."""
from __future__ import annotations

import json
import os
from pathlib import Path

import networkx as nx
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.graph_io import (
    EXTENSIONS,
    FORMATS,
    GraphInputError,
    ParsedGraph,
    format_for_path,
    graph_from_networkx,
    load_graph,
    parse_edge_list_text,
    parse_graph_bytes,
)

# ----------------------------------------------------------------------------------------------
# Fixtures and helpers


def petersen_named() -> nx.Graph:
    """Petersen graph with string ids and integer colours on nodes and edges."""
    G = nx.relabel_nodes(nx.petersen_graph(), {i: f"v{i}" for i in range(10)})
    for i, node in enumerate(G.nodes):
        G.nodes[node]["color"] = i % 3
    for k, (u, v) in enumerate(G.edges):
        G.edges[u, v]["color"] = k % 2
    return G


def edge_set(g: ParsedGraph) -> set[frozenset[str]]:
    return {frozenset((g.nodes[u], g.nodes[v])) for u, v in g.edges}


def nx_edge_set(G: nx.Graph) -> set[frozenset[str]]:
    return {frozenset((str(u), str(v))) for u, v in G.edges}


def assert_valid(g: ParsedGraph) -> None:
    assert isinstance(g, ParsedGraph)
    assert g.n >= 1 and len(set(g.nodes)) == g.n
    assert all(isinstance(x, str) for x in g.nodes)
    assert g.edges == sorted(set(g.edges))
    assert all(isinstance(u, int) and isinstance(v, int) and 0 <= u < v < g.n for u, v in g.edges)
    if g.node_colors is not None:
        assert len(g.node_colors) == g.n and all(isinstance(c, int) and c >= 0 for c in g.node_colors)
    if g.edge_colors is not None:
        assert len(g.edge_colors) == len(g.edges)
        assert all(isinstance(c, int) and c >= 0 for c in g.edge_colors)


def assert_one_line(err: GraphInputError, *fragments: str) -> None:
    msg = str(err)
    assert msg and "\n" not in msg and "\r" not in msg and "Traceback" not in msg
    for fragment in fragments:
        assert fragment.lower() in msg.lower(), msg


def write_json(G: nx.Graph, path: Path) -> None:
    nodes = list(G.nodes)
    path.write_text(
        json.dumps(
            {
                "nodes": nodes,
                "edges": [[u, v] for u, v in G.edges],
                "node_colors": [G.nodes[x]["color"] for x in nodes],
                "edge_colors": [G.edges[e]["color"] for e in G.edges],
            }
        )
    )


def write_edgelist(G: nx.Graph, path: Path) -> None:
    lines = ["# Petersen graph", ""] + [f"{u}, {v} {d['color']}" for u, v, d in G.edges(data=True)]
    path.write_text("\n".join(lines) + "\n")


def serialise(G: nx.Graph, fmt: str) -> bytes:
    """Bytes of G in each format (used as seeds for the mutation fuzzer)."""
    if fmt == "edgelist":
        return "".join(f"{u} {v} {d['color']}\n" for u, v, d in G.edges(data=True)).encode()
    if fmt == "json":
        nodes = list(G.nodes)
        edges = [[u, v, G.edges[u, v]["color"]] for u, v in G.edges]
        return json.dumps({"nodes": nodes, "edges": edges}).encode()
    if fmt == "graphml":
        return "\n".join(nx.generate_graphml(G)).encode()
    if fmt == "gml":
        return "\n".join(nx.generate_gml(G)).encode()
    return nx.to_graph6_bytes(nx.convert_node_labels_to_integers(G))


# ----------------------------------------------------------------------------------------------
# Round trips


def test_edgelist_round_trip(tmp_path: Path) -> None:
    G = petersen_named()
    path = tmp_path / "p.edges"
    write_edgelist(G, path)
    g = load_graph(path)
    assert_valid(g)
    assert g.n == 10 and len(g.edges) == 15
    assert edge_set(g) == nx_edge_set(G)
    assert g.nodes[:2] == ["v0", "v1"]  # order of first appearance
    colour = {frozenset((g.nodes[u], g.nodes[v])): c for (u, v), c in zip(g.edges, g.edge_colors or [])}
    assert colour == {frozenset((u, v)): d["color"] for u, v, d in G.edges(data=True)}


def test_json_round_trip(tmp_path: Path) -> None:
    G = petersen_named()
    path = tmp_path / "p.json"
    write_json(G, path)
    g = load_graph(path)
    assert_valid(g)
    assert g.nodes == list(G.nodes)
    assert edge_set(g) == nx_edge_set(G)
    assert g.node_colors == [G.nodes[x]["color"] for x in G.nodes]
    colour = {frozenset((g.nodes[u], g.nodes[v])): c for (u, v), c in zip(g.edges, g.edge_colors or [])}
    assert colour == {frozenset((u, v)): d["color"] for u, v, d in G.edges(data=True)}


def test_json_n_form_and_inline_colours() -> None:
    g = parse_graph_bytes(b'{"n": 4, "edges": [[3, 0, 5], [1, 0, 2]], "node_colors": [0, 1, 0, 1]}', "json")
    assert g.nodes == ["0", "1", "2", "3"]
    assert g.edges == [(0, 1), (0, 3)] and g.edge_colors == [2, 5]
    assert g.node_colors == [0, 1, 0, 1]


@pytest.mark.parametrize("fmt", ["graphml", "gml"])
def test_networkx_formats_round_trip(tmp_path: Path, fmt: str) -> None:
    G = petersen_named()
    path = tmp_path / f"p.{fmt}"
    (nx.write_graphml if fmt == "graphml" else nx.write_gml)(G, path)
    g = load_graph(path)
    assert_valid(g)
    assert g.nodes == list(G.nodes)  # the file's node order, string ids kept
    assert edge_set(g) == nx_edge_set(G)
    assert g.node_colors == [G.nodes[x]["color"] for x in G.nodes]
    colour = {frozenset((g.nodes[u], g.nodes[v])): c for (u, v), c in zip(g.edges, g.edge_colors or [])}
    assert colour == {frozenset((u, v)): d["color"] for u, v, d in G.edges(data=True)}


def test_gml_without_labels_uses_ids() -> None:
    text = b"graph [ node [ id 7 ] node [ id 3 ] node [ id 5 ] edge [ source 7 target 5 ] ]"
    g = parse_graph_bytes(text, "gml")
    assert g.nodes == ["7", "3", "5"] and g.edges == [(0, 2)]
    assert g.node_colors is None and g.edge_colors is None


def test_graph6_round_trip(tmp_path: Path) -> None:
    G = nx.petersen_graph()
    path = tmp_path / "p.g6"
    nx.write_graph6(G, path)  # writes the >>graph6<< header and a newline
    g = load_graph(path)
    assert_valid(g)
    assert g.nodes == [str(i) for i in range(10)]
    assert set(g.edges) == {(min(u, v), max(u, v)) for u, v in G.edges}
    assert load_graph(path).edges == parse_graph_bytes(nx.to_graph6_bytes(G, header=False), "graph6").edges


def test_to_networkx_and_adjacency() -> None:
    g = parse_graph_bytes(b"a b 1\nb c 2\nd\n", "edgelist")
    assert g.nodes == ["a", "b", "c", "d"] and g.n == 4
    H = g.to_networkx()
    assert list(H.nodes) == [0, 1, 2, 3]
    assert [H.nodes[i]["label"] for i in H] == g.nodes
    assert H.edges[1, 2]["color"] == 2
    A = g.adjacency()
    assert A.dtype == torch.float64 and A.shape == (4, 4)
    expected = torch.zeros(4, 4, dtype=torch.float64)
    expected[0, 1] = expected[1, 0] = expected[1, 2] = expected[2, 1] = 1
    assert torch.equal(A, expected)


def test_edgelist_syntax_details() -> None:
    g = parse_edge_list_text("\ufeff# header\n\n x , y  # trailing comment\n y\tz\n w\n")
    assert g.nodes == ["x", "y", "z", "w"] and g.edges == [(0, 1), (1, 2)] and g.edge_colors is None


def test_partial_colour_attributes_are_ignored() -> None:
    G = nx.path_graph(3)
    G.nodes[0]["color"] = 1
    g = graph_from_networkx(G)
    assert g.node_colors is None and g.edge_colors is None


def test_extension_mapping_and_explicit_format(tmp_path: Path) -> None:
    assert format_for_path("x.EDGES") == "edgelist"
    assert {EXTENSIONS[e] for e in EXTENSIONS} == set(FORMATS)
    for ext, fmt in [(".txt", "edgelist"), (".el", "edgelist"), (".xml", "graphml"), (".graph6", "graph6")]:
        assert format_for_path("g" + ext) == fmt
    path = tmp_path / "graph.dat"
    path.write_text('{"n": 2, "edges": [[0, 1]]}')
    assert load_graph(path, "json").edges == [(0, 1)]


# ----------------------------------------------------------------------------------------------
# Errors

DIRECTED_GRAPHML = "\n".join(nx.generate_graphml(nx.DiGraph([(0, 1)]))).encode()
MULTI_GRAPHML = "\n".join(nx.generate_graphml(nx.MultiGraph([(0, 1), (1, 0)]))).encode()
LOOP_GRAPHML = "\n".join(nx.generate_graphml(nx.Graph([(0, 0), (0, 1)]))).encode()


def _graphml_with_colours(colours: list[object]) -> bytes:
    G = nx.path_graph(len(colours))
    for i, c in enumerate(colours):
        G.nodes[i]["color"] = c
    return "\n".join(nx.generate_graphml(G)).encode()


ERROR_CASES: list[tuple[str, bytes, str]] = [
    # edge list
    ("edgelist", b"", "no nodes"),
    ("edgelist", b"# only a comment\n\n", "no nodes"),
    ("edgelist", b"a b\nb b\n", "self loop on node 'b'"),
    ("edgelist", b"a b\nb a\n", "duplicate edge 'b' -- 'a'"),
    ("edgelist", b"a b 1\nb c\n", "every edge line"),
    ("edgelist", b"a b x\n", "must be an integer"),
    ("edgelist", b"a b 1.5\n", "must be an integer"),
    ("edgelist", b"a b -1\n", "non-negative"),
    ("edgelist", b"a b 1 2\n", "line 1"),
    ("edgelist", b"\xff\xfe a b\n", "UTF-8"),
    # JSON
    ("json", b"{", "invalid JSON"),
    ("json", b"[1, 2]", "top level"),
    ("json", b'{"edges": []}', "'n' or a 'nodes'"),
    ("json", b'{"n": true, "edges": []}', "'n' must be an integer"),
    ("json", b'{"n": 2.0, "edges": []}', "'n' must be an integer"),
    ("json", b'{"n": 0, "edges": []}', "no nodes"),
    ("json", b'{"n": -3, "edges": []}', "no nodes"),
    ("json", b'{"n": 3, "nodes": [0, 1], "edges": []}', "'n' is 3"),
    ("json", b'{"n": 2, "edges": [[0, 2]]}', "unknown node 2"),
    ("json", b'{"n": 2, "edges": [["0", 1]]}', "unknown node '0'"),
    ("json", b'{"nodes": ["a", "b"], "edges": [["a", "c"]]}', "unknown node 'c'"),
    ("json", b'{"nodes": ["a", "a"], "edges": []}', "duplicate node id 'a'"),
    ("json", b'{"nodes": [1, "1"], "edges": []}', "duplicate node id '1'"),
    ("json", b'{"nodes": [1.5], "edges": []}', "strings or integers"),
    ("json", b'{"nodes": "ab", "edges": []}', "must be a list"),
    ("json", b'{"n": 2, "edges": [[0]]}', "edge #0"),
    ("json", b'{"n": 2, "edges": {"0": 1}}', "must be a list"),
    ("json", b'{"n": 2, "edges": [[0, 0]]}', "self loop"),
    ("json", b'{"n": 2, "edges": [[0, 1], [1, 0]]}', "duplicate edge '1' -- '0'"),
    ("json", b'{"n": 2, "edges": [], "node_colors": [0]}', "1 entries for 2 nodes"),
    ("json", b'{"n": 2, "edges": [], "node_colors": [0, 0.5]}', "must be an integer"),
    ("json", b'{"n": 2, "edges": [], "node_colors": [0, true]}', "must be an integer"),
    ("json", b'{"n": 2, "edges": [], "node_colors": [0, -1]}', "non-negative"),
    ("json", b'{"n": 2, "edges": [[0, 1]], "edge_colors": [1, 2]}', "2 entries for 1 edges"),
    ("json", b'{"n": 3, "edges": [[0, 1, 1], [1, 2]]}', "every edge"),
    ("json", b'{"n": 2, "edges": [[0, 1, "red"]]}', "must be an integer"),
    ("json", b'{"n": 2, "edges": [[0, 1, 1]], "edge_colors": [1]}', "both inline"),
    ("json", b'{"n": 2, "edges": [], "node_colors": [0, 99999999999999]}', "too large"),
    ("json", b"[" * 100_000 + b"]" * 100_000, "cannot parse"),
    ("json", b'{"n": 1' + b"0" * 5000 + b"}", "cannot parse"),
    ("json", b'{"n": 2, "edges": []}\xc3', "UTF-8"),
    # GraphML
    ("graphml", b"<graphml><graph", "cannot parse"),
    ("graphml", b"not xml at all", "cannot parse"),
    ("graphml", b"<a/>", "cannot parse"),
    ("graphml", DIRECTED_GRAPHML, "directed graphs are not supported"),
    ("graphml", MULTI_GRAPHML, "parallel edges between '0' and '1'"),
    ("graphml", LOOP_GRAPHML, "self loop on node '0'"),
    ("graphml", _graphml_with_colours(["red", "blue"]), "must be an integer"),
    ("graphml", _graphml_with_colours([1.5, 2.0]), "must be an integer"),
    ("graphml", _graphml_with_colours([1, -2]), "non-negative"),
    (
        "graphml",
        b'<graphml xmlns="http://graphml.graphdrawing.org/xmlns"><graph edgedefault="undirected">'
        b'<node id="a"/><hyperedge><endpoint node="a"/></hyperedge></graph></graphml>',
        "hyperedges",
    ),
    (
        "graphml",
        b'<graphml xmlns="http://graphml.graphdrawing.org/xmlns"><graph edgedefault="undirected"/></graphml>',
        "no nodes",
    ),
    # GML
    ("gml", b"graph [ node [ id 0 ", "cannot parse"),
    ("gml", b"graph [ directed 1 node [ id 0 ] node [ id 1 ] edge [ source 0 target 1 ] ]",
     "directed graphs are not supported"),
    ("gml", b"graph [ node [ id 0 ] node [ id 1 ] edge [ source 0 target 1 ] edge [ source 1 target 0 ] ]",
     "duplicated"),
    ("gml", b"graph [ multigraph 1 node [ id 0 ] node [ id 1 ] edge [ source 0 target 1 ] "
     b"edge [ source 1 target 0 ] ]", "parallel edges between '0' and '1'"),
    ("gml", b"graph [ node [ id 0 ] edge [ source 0 target 5 ] ]", "undefined target 5"),
    ("gml", b"graph [ node [ id 0 ] node [ id 1 ] edge [ source 0 target 0 ] ]", "self loop"),
    ("gml", b'graph [ node [ id 0 color "red" ] node [ id 1 color 2 ] ]', "must be an integer"),
    ("gml", b"graph [ ]", "no nodes"),
    # graph6
    ("graph6", b"", "empty"),
    ("graph6", b">>graph6<<\n", "empty"),
    ("graph6", b"?", "no nodes"),
    ("graph6", b"Ih?GGGGG?\nIh?GGGGG?\n", "single graph"),
    ("graph6", b":Fa@x^", "sparse6"),
    ("graph6", b"A0", "ASCII range"),
    ("graph6", "Ié".encode(), "ASCII range"),
    ("graph6", b"Ih?", "cannot parse"),
    ("graph6", b"~", "truncated"),
    ("graph6", b"~?~~", "exceed the limit"),
]


@pytest.mark.parametrize(("fmt", "data", "fragment"), ERROR_CASES)
def test_error_cases(fmt: str, data: bytes, fragment: str) -> None:
    with pytest.raises(GraphInputError) as info:
        parse_graph_bytes(data, fmt)
    assert_one_line(info.value, fmt, fragment)


def test_limits() -> None:
    text = b"".join(f"{i} {i + 1}\n".encode() for i in range(20))
    with pytest.raises(GraphInputError) as info:
        parse_graph_bytes(text, "edgelist", max_nodes=10)
    assert_one_line(info.value, "10")
    with pytest.raises(GraphInputError) as info:
        parse_graph_bytes(text, "edgelist", max_edges=5)
    assert_one_line(info.value, "5 edges")
    with pytest.raises(GraphInputError) as info:
        parse_graph_bytes(b'{"n": 1000000000, "edges": []}', "json")
    assert_one_line(info.value, "exceed the limit of 2000")
    with pytest.raises(GraphInputError) as info:
        parse_graph_bytes(nx.to_graph6_bytes(nx.complete_graph(30)), "graph6", max_edges=100)
    assert_one_line(info.value, "435 edges exceed")
    for fmt in ("graphml", "gml"):
        with pytest.raises(GraphInputError) as info:
            parse_graph_bytes(serialise(petersen_named(), fmt), fmt, max_nodes=9)
        assert_one_line(info.value, "10 nodes exceed the limit of 9")


def test_unknown_format() -> None:
    with pytest.raises(GraphInputError) as info:
        parse_graph_bytes(b"a b", "csv")
    assert_one_line(info.value, "unknown graph format", "edgelist")


def test_file_errors(tmp_path: Path) -> None:
    cases: list[tuple[Path, str | None, dict[str, int], str]] = []
    cases.append((tmp_path / "missing.json", None, {}, "not found"))
    (tmp_path / "dir.json").mkdir()
    cases.append((tmp_path / "dir.json", None, {}, "directory"))
    big = tmp_path / "big.txt"
    big.write_text("a b\n" * 100)
    cases.append((big, None, {"max_bytes": 50}, "too large"))
    latin = tmp_path / "latin.gml"
    latin.write_bytes('graph [ node [ id 0 label "é" ] ]'.encode("latin-1"))
    cases.append((latin, None, {}, "UTF-8"))
    unknown = tmp_path / "graph.csv"
    unknown.write_text("a,b\n")
    cases.append((unknown, None, {}, "unknown file extension"))
    cases.append((big, "nope", {}, "unknown graph format"))
    empty = tmp_path / "empty.graphml"
    empty.write_bytes(b"")
    cases.append((empty, None, {}, "cannot parse"))
    for path, fmt, limits, fragment in cases:
        with pytest.raises(GraphInputError) as info:
            load_graph(path, fmt, **limits)
        assert_one_line(info.value, fragment)
        if "format" not in fragment:
            assert path.name in str(info.value)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read anything")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "locked.txt"
    path.write_text("a b\n")
    path.chmod(0)
    try:
        with pytest.raises(GraphInputError) as info:
            load_graph(path)
        assert_one_line(info.value, "locked.txt", "cannot read")
    finally:
        path.chmod(0o600)


def test_graph_from_networkx_validation() -> None:
    with pytest.raises(GraphInputError) as info:
        graph_from_networkx(nx.DiGraph([(0, 1)]))
    assert_one_line(info.value, "directed graphs are not supported")
    with pytest.raises(GraphInputError) as info:
        graph_from_networkx(nx.MultiGraph([(0, 1), (0, 1)]))
    assert_one_line(info.value, "parallel edges between '0' and '1'")
    with pytest.raises(GraphInputError) as info:
        graph_from_networkx(nx.Graph([(0, 1), (2, 2)]))
    assert_one_line(info.value, "self loop on node '2'")
    with pytest.raises(GraphInputError) as info:
        graph_from_networkx(nx.Graph([(1, "1")]))
    assert_one_line(info.value, "duplicate node id '1'")
    with pytest.raises(GraphInputError) as info:
        graph_from_networkx(nx.empty_graph(0))
    assert_one_line(info.value, "no nodes")
    with pytest.raises(GraphInputError) as info:
        graph_from_networkx(nx.path_graph(5), max_nodes=4)
    assert_one_line(info.value, "exceed the limit of 4")
    g = graph_from_networkx(nx.MultiGraph([(0, 1), (1, 2)]))
    assert g.edges == [(0, 1), (1, 2)]


def test_long_messages_are_truncated() -> None:
    err = GraphInputError("x" * 1000 + "\n" + "y")
    assert len(str(err)) <= 300 and "\n" not in str(err)
    with pytest.raises(GraphInputError) as info:
        parse_graph_bytes(("a" * 5000 + " " + "a" * 5000).encode(), "edgelist")
    assert_one_line(info.value, "self loop")
    assert len(str(info.value)) <= 300


# ----------------------------------------------------------------------------------------------
# Fuzzing: any bytes either parse into a valid graph or raise GraphInputError

SEEDS = {fmt: serialise(petersen_named(), fmt) for fmt in FORMATS}
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check_fuzz(data: bytes, fmt: str) -> None:
    try:
        g = parse_graph_bytes(data, fmt, max_nodes=200, max_edges=2000)
    except GraphInputError as err:
        assert_one_line(err)
    else:
        assert_valid(g)
        assert g.n <= 200 and len(g.edges) <= 2000


@st.composite
def mutated(draw: st.DrawFn, fmt: str) -> bytes:
    data = bytearray(SEEDS[fmt])
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["delete", "insert", "replace", "duplicate"]))
        i = draw(st.integers(0, len(data)))
        j = draw(st.integers(i, min(len(data), i + 40)))
        if op == "delete":
            del data[i:j]
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=12))
        elif op == "replace" and i < len(data):
            data[i] = draw(st.integers(0, 255))
        else:
            data[i:i] = data[i:j]
    return bytes(data)


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(data=st.binary(max_size=300))
def test_fuzz_random_bytes(fmt: str, data: bytes) -> None:
    _check_fuzz(data, fmt)


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(data=st.data())
def test_fuzz_mutated_files(fmt: str, data: st.DataObject) -> None:
    _check_fuzz(data.draw(mutated(fmt)), fmt)


@pytest.mark.parametrize("fmt", FORMATS)
def test_fuzz_seeds_parse(fmt: str) -> None:
    g = parse_graph_bytes(SEEDS[fmt], fmt)
    assert_valid(g)
    assert g.n == 10 and len(g.edges) == 15
