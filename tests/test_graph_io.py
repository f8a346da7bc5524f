"""Tests for backend.graph_io: round trips for every format, colours, every error path, the invariants.

Hostile inputs in bulk (property-based fuzzing) are in test_fuzz.py and ``python -m tests.fuzz``."""
from __future__ import annotations

import json
import os
from pathlib import Path

import networkx as nx
import pytest
import torch
from fuzz.inputs import XML_TRICKS, petersen_named, seed_file
from fuzz.outcomes import graph_problem

from backend.graph_io import (
    EXTENSIONS,
    FORMATS,
    MAX_ID_CHARS,
    GraphInputError,
    ParsedGraph,
    format_for_path,
    graph_from_networkx,
    load_graph,
    parse_edge_list_text,
    parse_graph_bytes,
)
from backend.options import one_line

# ----------------------------------------------------------------------------------------------
# Helpers


def edge_set(g: ParsedGraph) -> set[frozenset[str]]:
    return {frozenset((g.nodes[u], g.nodes[v])) for u, v in g.edges}


def nx_edge_set(G: nx.Graph) -> set[frozenset[str]]:
    return {frozenset((str(u), str(v))) for u, v in G.edges}


def assert_valid(g: ParsedGraph) -> None:
    assert graph_problem(g) is None, graph_problem(g)


def assert_one_line(err: GraphInputError, *fragments: str) -> None:
    msg = str(err)
    assert msg and msg.isprintable() and "Traceback" not in msg
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


YED_GRAPHML = b"""<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xmlns:y="http://www.yworks.com/xml/graphml"
  xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns http://www.yworks.com/xml/schema/graphml/1.1/ygraphml.xsd">
  <!--Created by yEd-->
  <key attr.name="Description" attr.type="string" for="graph" id="d0"/>
  <key for="port" id="d1" yfiles.type="portgraphics"/>
  <key for="node" id="d6" yfiles.type="nodegraphics"/>
  <key for="graphml" id="d7" yfiles.type="resources"/>
  <key for="edge" id="d10" yfiles.type="edgegraphics"/>
  <graph edgedefault="undirected" id="G" parse.nodes="2">
    <data key="d0"/>
    <node id="n0"><data key="d6"><y:ShapeNode><y:NodeLabel>1</y:NodeLabel></y:ShapeNode></data></node>
    <node id="n1"><port name="p0"><data key="d1"/></port></node>
    <edge id="e0" source="n0" target="n1" targetport="p0"><data key="d10"><y:PolyLineEdge/></data></edge>
  </graph>
  <data key="d7"><y:Resources/></data>
</graphml>"""
YED_GML = b"""Creator "yFiles"
Version "2.22"
graph
[
  hierarchic 1
  label ""
  directed 0
  node [ id 0 label "1" graphics [ x 0.0 y -1.5E2 type "rectangle" fill "#FFCC00" ] LabelGraphics [ text "1" ] ]
  node [ id 1 label "2" ]
  edge [ source 0 target 1 graphics [ fill "#000000" ] ]
]
"""


@pytest.mark.parametrize(("fmt", "data"), [("graphml", YED_GRAPHML), ("gml", YED_GML)])
def test_files_written_by_other_tools(fmt: str, data: bytes) -> None:
    """yEd-style files: presentation data, ports, namespaced attributes and parse hints are read past."""
    g = parse_graph_bytes(data, fmt)
    assert g.nodes == (["n0", "n1"] if fmt == "graphml" else ["1", "2"]) and g.edges == [(0, 1)]


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


def test_partial_colour_attributes_are_refused() -> None:
    G = nx.path_graph(3)
    G.nodes[0]["color"] = 1
    with pytest.raises(GraphInputError) as info:
        graph_from_networkx(G)
    assert_one_line(info.value, "node '1' has no colour while others have one")
    G = nx.path_graph(3)
    G.edges[1, 2]["color"] = 1
    with pytest.raises(GraphInputError) as info:
        graph_from_networkx(G)
    assert_one_line(info.value, "edge '0' -- '1' has no colour")


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
    ("json", b'{"nodes": ["a", "a"], "edges": []}', "node id 'a' appears twice"),
    ("json", b'{"nodes": [1, "1"], "edges": []}', "node id '1' appears twice"),
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
    ("json", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ("json", b'{"n": 1' + b"0" * 5000 + b', "edges": []}', "too many digits"),
    ("json", b'{"n": 2, "edges": []}\xc3', "UTF-8"),
    # GraphML
    ("graphml", b"<graphml><graph", "cannot parse XML"),
    ("graphml", b"not xml at all", "cannot parse XML"),
    ("graphml", b"<a/>", "<a> in the document: unexpected element (expected <graphml>)"),
    ("graphml", DIRECTED_GRAPHML, "directed graphs are not supported"),
    ("graphml", MULTI_GRAPHML, "duplicate edge '0' -- '1'"),
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
    ("gml", b"graph [ node [ id 0 ", "a '[' is never closed"),
    ("gml", b"graph [ directed 1 node [ id 0 ] node [ id 1 ] edge [ source 0 target 1 ] ]",
     "directed graphs are not supported"),
    ("gml", b"graph [ node [ id 0 ] node [ id 1 ] edge [ source 0 target 1 ] edge [ source 1 target 0 ] ]",
     "duplicate edge '1' -- '0'"),
    ("gml", b"graph [ multigraph 1 node [ id 0 ] node [ id 1 ] edge [ source 0 target 1 ] "
     b"edge [ source 1 target 0 ] ]", "duplicate edge '1' -- '0'"),
    ("gml", b"graph [ node [ id 0 ] edge [ source 0 target 5 ] ]", "edge #0 has target 5, not a node id"),
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


def _graphml(body: str, keys: str = "", graph: str = ' edgedefault="undirected"') -> bytes:
    return (f'<graphml xmlns="http://graphml.graphdrawing.org/xmlns">{keys}<graph{graph}>{body}</graph></graphml>').encode()


NODES_AB = '<node id="a"/><node id="b"/>'
COLOUR_KEYS = '<key id="c" for="node" attr.name="color" attr.type="int"/><key id="e" for="edge" attr.name="color"/>'

# Faults that once passed silently (merged, dropped or turned into odd ids): each is now refused by name.
FAULT_CASES: list[tuple[str, bytes, str]] = [
    # GraphML structure
    ("graphml", _graphml(NODES_AB + '<edge target="b"/>'), "edge #0 has no 'source'"),
    ("graphml", _graphml(NODES_AB + '<edge source="a" target="b"/><edge source="a"/>'), "edge #1 has no 'target'"),
    ("graphml", _graphml(NODES_AB + '<node id="a"/>'), "node id 'a' appears twice"),
    ("graphml", _graphml(NODES_AB + "<node/>"), "node #2 has no 'id'"),
    ("graphml", _graphml(NODES_AB + '<edge source="a" target="zz"/>'), "edge #0 refers to an unknown node 'zz'"),
    ("graphml", _graphml(NODES_AB + '<edge soruce="a" source="a" target="b"/>'),
     "edge #0 has an unknown attribute 'soruce'"),
    ("graphml", _graphml('<node ID="a"/>'), "node #0 has an unknown attribute 'ID'"),
    ("graphml", _graphml(NODES_AB + '<nod id="c"/>'), "<nod> in <graph>: unexpected element"),
    ("graphml", _graphml('<node id="a"><graph><node id="a::b"/></graph></node>'), "node 'a': nested graphs"),
    ("graphml", _graphml(NODES_AB).replace(b"</graphml>", b"<graph/></graphml>"), "more than one <graph>"),
    ("graphml", b'<graphml xmlns="http://graphml.graphdrawing.org/xmlns"/>', "no <graph>"),
    ("graphml", _graphml(NODES_AB, graph=' edgedefault="sideways"'), "edgedefault must be"),
    ("graphml", _graphml(NODES_AB + '<edge source="a" target="b" directed="true"/>'), "edge #0 is directed"),
    ("graphml", _graphml(NODES_AB + "<locator/>"), "locators"),
    # GraphML data and colours
    ("graphml", _graphml('<node id="a"><data key="d9">1</data></node>'),
     "node 'a' has data for an undeclared key 'd9'"),
    ("graphml", _graphml('<node id="a"><data key="e">1</data></node>', COLOUR_KEYS),
     "key 'e', which is declared for edge"),
    ("graphml", _graphml('<node id="a"><data key="c">1</data><data key="c">2</data></node>', COLOUR_KEYS),
     "node 'a' has two <data> for key 'c'"),
    ("graphml", _graphml('<node id="a"><data key="c">1</data></node><node id="b"/>', COLOUR_KEYS),
     "node 'b' has no colour while others have one"),
    ("graphml", _graphml(NODES_AB, '<key id="c" for="nodes"/>'), "unknown kind of element 'nodes'"),
    ("graphml", _graphml(NODES_AB, COLOUR_KEYS + '<key id="d" for="all" attr.name="color"/>'),
     "two keys named 'color'"),
    ("graphml", _graphml(NODES_AB, '<key id="c"/><key id="c"/>'), "key id 'c' appears twice"),
    # GraphML: no DOCTYPE, hence no entity of any kind
    *[("graphml", xml.encode() + _graphml('<node id="&j;"/>'), "DOCTYPE") for xml in XML_TRICKS if "DOCTYPE" in xml],
    ("graphml", b'<!DOCTYPE g [<!ENTITY e "x">]>' + _graphml('<node id="&e;"/>'), "DOCTYPE"),
    ("graphml", _graphml('<node id="&e;"/>'), "undefined entity"),
    ("graphml", _graphml('<node id="b"/>' + "<desc>" * 200), "nested deeper than 100"),
    ("graphml", _graphml('<node id="a&#x85;"/>'), "node id 'a\\x85' contains a control character"),
    # GML
    ("gml", b"graph [ node [ id 1 ] node [ id 1 ] ]", "node id 1 appears twice"),
    ("gml", b"graph [ node [ id 1 ] node [ id 2 ] edge [ source 1 target 2 ] edge [ source 2 target 1 ] "
     b"edge [ soruce 1 target 2 ] ]", "edge #2 has an unknown key 'soruce'"),
    ("gml", b"graph [ node [ id 1 ] egde [ source 1 target 1 ] ]", "the graph has an unknown key 'egde'"),
    ("gml", b"graph [ node [ id 1 lable \"a\" ] ]", "node #0 has an unknown key 'lable'"),
    ("gml", b"graph [ node [ id 1 id 2 ] ]", "node #0 has the key 'id' twice"),
    ("gml", b"graph [ node [ id 1 ] node [ id 2 ] edge [ source 1 target 2 target 1 ] ]", "the key 'target' twice"),
    ("gml", b"graph [ node [ label \"a\" ] ]", "node #0 has no 'id'"),
    ("gml", b'graph [ node [ id "a" ] ]', "node #0 needs an integer 'id', got 'a'"),
    ("gml", b"graph [ node [ id 1 ] node [ id 2 ] edge [ target 2 ] ]", "edge #0 has no 'source'"),
    ("gml", b"graph [ node [ id 1 ] ] graph [ node [ id 2 ] ]", "expected one 'graph [ ... ]', found 2"),
    ("gml", b'Creator "x"', "expected one 'graph [ ... ]', found 0"),
    ("gml", b"graph [ directed 2 node [ id 1 ] ]", "'directed' must be 0 or 1"),
    ("gml", b"graph [ node [ id 1 label [ a 1 ] ] ]", "node id 1 has a list as its label"),
    ("gml", b'graph [ node [ id 1 label "a&#7;" ] node [ id 2 label "b" ] ]',
     "node id 'a\\x07' contains a control character"),
    ("gml", b'graph [ node [ id 1 label "&#55296;" ] node [ id 2 label "b" ] ]', "contains a lone surrogate"),
    ("gml", b"graph [ node [ id 1 color 1 ] node [ id 2 ] ]", "node '2' has no colour while others have one"),
    ("gml", b"graph [ node [ id 1" + b"0" * 5000 + b" ] ]", "integer too long"),
    ("gml", b"graph [ " + b"a [ " * 200, "nested deeper than 100"),
    ("gml", b'graph [ node [ id 1 label "open ] ]', "unexpected character '\"'"),
    ("gml", b"graph [ node [ id ] ]", "key 'id' has no value"),
    ("gml", b"graph [ node 5 ]", "node #0 must be a list"),
    # JSON
    ("json", b'{"nodes": ["a\\u0007", "b"], "edges": []}', "node id 'a\\x07' contains a control character"),
    ("json", b'{"nodes": ["\\ud800"], "edges": []}', "contains a lone surrogate"),
    ("json", b'{"nodes": ["a\\u200b"], "edges": []}', "the non-printable character U+200B"),
    ("json", b'{"nodes": [""], "edges": []}', "a node id is empty"),
    ("json", b'{"nodes": ["' + b"x" * (MAX_ID_CHARS + 1) + b'"], "edges": []}', f"longer than {MAX_ID_CHARS}"),
    ("json", b'{"nodes": ["a"], "edges": [], "nodes": ["b"]}', "key 'nodes' appears twice"),
    ("json", b'{"nodes": ["a"], "edges": [], "edge_colours": []}', "unknown key 'edge_colours'"),
    ("json", b'{"nodes": ["a"]}', "missing 'edges'"),
    # edge list
    ("edgelist", b"a\x07 b\n", "node id 'a\\x07' contains a control character"),
    ("edgelist", b"a b\n\x7f c\n", "node id '\\x7f' contains a control character"),
    ("edgelist", "a\u200e b\n".encode(), "the non-printable character U+200E"),
]


@pytest.mark.parametrize(("fmt", "data", "fragment"), ERROR_CASES + FAULT_CASES)
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
            parse_graph_bytes(seed_file(petersen_named(), fmt), fmt, max_nodes=9)
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


@pytest.mark.skipif(not Path("/proc/self/mem").is_file(), reason="needs Linux's /proc/self/mem")
def test_unreadable_file(tmp_path: Path) -> None:
    """A regular file whose read fails for every user, root included: /proc/self/mem from offset 0 (EIO)."""
    path = tmp_path / "locked.txt"
    path.symlink_to("/proc/self/mem")
    with pytest.raises(GraphInputError) as info:
        load_graph(path)
    assert_one_line(info.value, "locked.txt", "cannot read file (Input/output error)")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_special_files_are_refused_without_reading(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)  # opening it would block until a writer came
    for path, fmt in [(fifo, None), ("/dev/zero", "edgelist")]:
        with pytest.raises(GraphInputError) as info:
            load_graph(path, fmt)
        assert_one_line(info.value, "not a regular file")


@pytest.mark.parametrize("name", ["a\0b.txt", "\ud800.txt"])
def test_file_names_no_file_can_have(tmp_path: Path, name: str) -> None:
    with pytest.raises(GraphInputError) as info:
        load_graph(tmp_path / name)
    assert_one_line(info.value, "file not found")


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
    assert_one_line(info.value, "node id '1' appears twice")
    with pytest.raises(GraphInputError) as info:
        graph_from_networkx(nx.empty_graph(0))
    assert_one_line(info.value, "no nodes")
    with pytest.raises(GraphInputError) as info:
        graph_from_networkx(nx.path_graph(5), max_nodes=4)
    assert_one_line(info.value, "exceed the limit of 4")
    g = graph_from_networkx(nx.MultiGraph([(0, 1), (1, 2)]))
    assert g.edges == [(0, 1), (1, 2)]


def test_messages_are_one_printable_line_of_at_most_300_characters() -> None:
    err = GraphInputError("x" * 1000 + "\n" + "y")
    assert len(str(err)) <= 300 and "\n" not in str(err)
    assert one_line("a\r\n b\x1b[31m\ud800\u2028c") == "a b\\x1b[31m\\ud800 c"
    assert one_line(KeyError()) == "KeyError" and one_line(ValueError("x " * 200), 20) == "x x x x x x x x x..."
    with pytest.raises(GraphInputError) as info:
        load_graph(Path("nowhere") / "bad\x1bname.txt")
    assert_one_line(info.value, "bad\\x1bname.txt")


def test_graphml_colour_key_default_fills_in() -> None:
    keys = '<key id="c" for="node" attr.name="color"><default>5</default></key>'
    g = parse_graph_bytes(_graphml('<node id="a"/><node id="b"><data key="c">2</data></node>', keys), "graphml")
    assert g.node_colors == [5, 2] and g.edge_colors is None
