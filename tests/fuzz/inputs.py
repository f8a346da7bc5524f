"""Hypothesis strategies for hostile inputs to every graph reader and every CLI command.

``graph_files(fmt)``
    Bytes for the ``fmt`` reader (``backend.graph_io.FORMATS``), one of: random bytes; a valid file
    (``seed_file``) with a few bytes deleted, inserted, replaced or duplicated; a generated graph with
    hostile parts written in ``fmt`` (ids with control characters, lone surrogates, invisible or overlong
    text, repeated ids, edges to unknown nodes, self loops, colours that are not small integers, key and
    attribute typos); and the format's own tricks (XML DOCTYPEs and entities, XInclude, deep nesting,
    huge numbers, many nodes).
``couplings_files()``
    ``(suffix, bytes)`` for ``predict ising --couplings``: JSON and .npy, valid and hostile.
``cli_cases()``
    A :class:`CliCase` for ``backend.cli.main``: every command with generated option values (valid or
    hostile strings) and files, plus unknown options, repeats, ``--opt=value`` forms and missing values.
    Valid values are drawn so that one run costs at most a few seconds: each documented upper bound
    appears, but not all at once (the heaviest legitimate runs are the business of each command's tests).
"""
from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import networkx as nx
import numpy as np
from hypothesis import strategies as st

from backend.graph_io import FORMATS

__all__ = ["COMMANDS", "SEEDS", "point_cloud_files", "valid_point_clouds", "XML_TRICKS", "CliCase", "FileArg", "cli_cases", "couplings_files", "graph_files",
           "petersen_named", "seed_file", "valid_couplings_files", "valid_files"]

# ----------------------------------------------------------------------------------------------
# Building blocks


def _weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of the strategies, each drawn with its weight (``st.one_of`` would count a repeated strategy once)."""
    return st.sampled_from([strategy for weight, strategy in choices for _ in range(weight)]).flatmap(lambda s: s)


HOSTILE_CHARS = st.sampled_from([
    "\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9f", "\u00a0", "\u200b", "\u202e", "\u2028", "\ud800", "\udcff",
    "\ufeff", "\uffff", "\U0010ffff", "é", "漢", "😀", " ", "\t", "\n", "\r", ",", "#", '"', "'", "<", ">", "&", "[",
    "]", "{", "}", "\\", ";",
])
HOSTILE_TEXT = st.text(alphabet=st.one_of(HOSTILE_CHARS, st.characters()), max_size=8)
NODE_IDS = _weighted(
    (3, st.integers(-3, 40).map(str)),
    (3, st.text(alphabet="abcé漢😀 -", min_size=1, max_size=4)),
    (1, HOSTILE_TEXT),
    (1, st.sampled_from(["", " ", "a" * 200, "a" * 201, "x" * 5000, "None", "-0", "1e3", "&amp;", "&#7;", "&#55296;"])),
)
NUMBER_TOKENS = st.one_of(  # numbers as written in a file
    st.integers(0, 5).map(str),
    st.sampled_from([
        "-1", "-0", "2147483647", "2147483648", "18446744073709551616", "1" * 5000, "1.5", "2.0", "1e400", "-1e400",
        "NaN", "Infinity", "true", "null", '"3"', '"red"', "[]",
    ]),
)
BAD_OPTION_VALUES = st.one_of(
    st.sampled_from([
        "", " ", "-1", "0", "+1", " 7", "7 ", "1.0", "1e3", "nan", "inf", "-inf", "1e309", "0x10", "1_000", "٣", "１２",
        "9" * 30, "-" + "9" * 30, "9" * 5000, "--", "-", "None", "true", "\udcff", "\x1b[31m", "\u202e5", "10**9",
    ]),
    st.integers().map(str),
    st.floats().map(repr),
    HOSTILE_TEXT,
)


def _encode(text: str) -> bytes:
    """UTF-8, lone surrogates written as their (invalid) three-byte forms."""
    return text.encode("utf-8", "surrogatepass")


@dataclass(frozen=True)
class _GraphSpec:
    """A graph as hostile files describe it: ids may repeat, endpoints may be unknown, colours are raw tokens."""

    ids: list[str]
    edges: list[tuple[str, str]]
    node_colours: list[str] | None
    edge_colours: list[str] | None


@st.composite
def _graph_specs(draw: st.DrawFn) -> _GraphSpec:
    ids = draw(st.lists(NODE_IDS, max_size=8))
    if ids and draw(st.integers(0, 5)) == 0:
        ids.append(draw(st.sampled_from(ids)))
    endpoint = st.one_of(st.sampled_from(ids), NODE_IDS) if ids else NODE_IDS
    edges = draw(st.lists(st.tuples(endpoint, endpoint), max_size=12))
    colour = st.one_of(st.integers(0, 3).map(str), NUMBER_TOKENS)
    node_colours = draw(st.none() | st.lists(colour, min_size=len(ids), max_size=len(ids) + 1))
    edge_colours = draw(st.none() | st.lists(colour, min_size=len(edges), max_size=len(edges) + 1))
    return _GraphSpec(ids, edges, node_colours, edge_colours)


def petersen_named() -> nx.Graph:
    """Petersen graph with string ids and integer colours on nodes and edges."""
    G = nx.relabel_nodes(nx.petersen_graph(), {i: f"v{i}" for i in range(10)})
    for i, node in enumerate(G.nodes):
        G.nodes[node]["color"] = i % 3
    for k, (u, v) in enumerate(G.edges):
        G.edges[u, v]["color"] = k % 2
    return G


def seed_file(G: nx.Graph, fmt: str) -> bytes:
    """G (with ``color`` on every node and edge) as a valid file in ``fmt``; graph6 drops ids and colours."""
    if fmt == "edgelist":
        isolated = [f"{node}\n" for node in G if not G.degree(node)]
        return "".join(isolated + [f"{u} {v} {d['color']}\n" for u, v, d in G.edges(data=True)]).encode()
    if fmt == "json":
        nodes = list(G.nodes)
        edges = [[u, v, G.edges[u, v]["color"]] for u, v in G.edges]
        node_colors = [G.nodes[x]["color"] for x in nodes]
        return json.dumps({"nodes": nodes, "edges": edges, "node_colors": node_colors}).encode()
    if fmt == "graphml":
        return "\n".join(nx.generate_graphml(G)).encode()
    if fmt == "gml":
        return "\n".join(nx.generate_gml(G)).encode()
    return nx.to_graph6_bytes(nx.convert_node_labels_to_integers(G))


SEEDS = {fmt: seed_file(petersen_named(), fmt) for fmt in FORMATS}


@st.composite
def valid_files(draw: st.DrawFn, fmt: str) -> bytes:
    """A random simple graph on 1..12 nodes with distinct ids and colours everywhere, as a valid ``fmt`` file."""
    n = draw(st.integers(1, 12))
    G = nx.empty_graph(n)
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=25))
    G.add_edges_from((u, v) for u, v in pairs if u != v)
    names = draw(st.sampled_from([str, lambda i: f"v{i}", lambda i: f"é{i}😀"]))
    G = nx.relabel_nodes(G, {i: names(i) for i in range(n)})
    nx.set_node_attributes(G, {node: draw(st.integers(0, 3)) for node in G}, "color")
    nx.set_edge_attributes(G, {edge: draw(st.integers(0, 3)) for edge in G.edges}, "color")
    return seed_file(G, fmt)


@st.composite
def _mutated(draw: st.DrawFn, fmt: str) -> bytes:
    data = bytearray(SEEDS[fmt])
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["delete", "insert", "replace", "duplicate"]))
        i = draw(st.integers(0, len(data)))
        j = draw(st.integers(i, min(len(data), i + 40)))
        if op == "delete":
            del data[i:j]
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=12) | st.sampled_from([b"\x07", b"\xed\xa0\x80", b"\x00"]))
        elif op == "replace" and i < len(data):
            data[i] = draw(st.integers(0, 255))
        else:
            data[i:i] = data[i:j]
    return bytes(data)


# ----------------------------------------------------------------------------------------------
# Generated graphs written in each format


@st.composite
def _edgelist(draw: st.DrawFn) -> bytes:
    spec = draw(_graph_specs())
    sep = draw(st.sampled_from([" ", "\t", ", ", ",", " , ", "\x0b", "\u3000"]))
    lines = [node for node in spec.ids if draw(st.booleans())]
    for k, (u, v) in enumerate(spec.edges):
        colour = spec.edge_colours[k] if spec.edge_colours and k < len(spec.edge_colours) else None
        lines.append(sep.join([u, v] if colour is None else [u, v, colour]))
    if draw(st.booleans()):
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(["# comment", "", "a b c d", "a # b"])))
    return _encode(draw(st.sampled_from(["\n", "\r\n", "\r"])).join(lines))


@st.composite
def _json_file(draw: st.DrawFn) -> bytes:
    spec = draw(_graph_specs())
    by_count = draw(st.booleans())
    index = {node: i for i, node in enumerate(spec.ids)}
    dump = lambda x: json.dumps(x, ensure_ascii=draw(st.booleans()))  # noqa: E731
    parts: list[tuple[str, str]] = []
    if by_count:
        parts.append(("n", draw(st.just(str(len(spec.ids))) | NUMBER_TOKENS)))
        endpoint = lambda x: str(index.get(x, draw(st.integers(-2, 10))))  # noqa: E731
    else:
        parts.append(("nodes", dump(spec.ids)))
        endpoint = lambda x: draw(st.just(dump(x)) | st.just(x if x.lstrip("-").isdigit() else dump(x)))  # noqa: E731
    edges = []
    for k, (u, v) in enumerate(spec.edges):
        inline = spec.edge_colours is not None and k < len(spec.edge_colours) and draw(st.booleans())
        edges.append("[" + ", ".join([endpoint(u), endpoint(v)] + ([spec.edge_colours[k]] if inline else [])) + "]")
    parts.append(("edges", "[" + ", ".join(edges) + "]"))
    for key, colours in (("node_colors", spec.node_colours), ("edge_colors", spec.edge_colours)):
        if colours is not None and draw(st.booleans()):
            parts.append((key, "[" + ", ".join(colours) + "]"))
    extra = draw(st.sampled_from([None, "drop", "duplicate", "unknown"]))
    if extra == "drop":
        parts.pop(draw(st.integers(0, len(parts) - 1)))
    elif extra == "duplicate":
        parts.append(draw(st.sampled_from(parts)))
    elif extra == "unknown":
        parts.append((draw(st.sampled_from(["edge", "node_colours", "directed", "name", ""])), "1"))
    return _encode("{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in parts) + "}")


XML_TRICKS = [  # prologues that smuggle entities, DTDs or includes into a GraphML file
    '<!DOCTYPE graphml [<!ENTITY a "x"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    + "".join(f'<!ENTITY {c} "' + f"&{p};" * 10 + '">' for p, c in zip("bcdefghi", "cdefghij")) + "]>",
    '<!DOCTYPE graphml [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
    '<!DOCTYPE graphml [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>',
    '<!DOCTYPE graphml SYSTEM "http://graphml.graphdrawing.org/dtds/graphml.dtd">',
    '<!DOCTYPE graphml [<!ENTITY q "' + "q" * 50_000 + '">]>',
    '<?xml-stylesheet href="http://127.0.0.1/x.xsl"?>',
]


@st.composite
def _graphml(draw: st.DrawFn) -> bytes:
    spec = draw(_graph_specs())
    attr = lambda s: quoteattr(s) if draw(st.integers(0, 9)) else f'"{s}"'  # noqa: E731
    declaration = draw(st.sampled_from(["", "UTF-8", "latin-1"]))
    out = [f'<?xml version="1.0" encoding="{declaration}"?>' if declaration else ""]
    if draw(st.integers(0, 4)) == 0:
        out.append(draw(st.sampled_from(XML_TRICKS)))
    ns = draw(st.sampled_from([' xmlns="http://graphml.graphdrawing.org/xmlns"', "", ' xmlns="urn:other"']))
    out.append(f"<graphml{ns}>")
    for kind in ("node", "edge"):
        if draw(st.booleans()):
            domain = draw(st.sampled_from([kind, "all", "graph", "nodes"]))
            default = draw(st.sampled_from(["", "<default>0</default>", "<default>x</default>"]))
            out.append(f'<key id="c{kind}" for="{domain}" attr.name="color" attr.type="int">{default}</key>')
    edgedefault = draw(st.sampled_from(["", " edgedefault='undirected'", " edgedefault='directed'", " edgedefault=''"]))
    out.append(f"<graph{edgedefault}>")
    for i, node in enumerate(spec.ids):
        data = f'<data key="cnode">{escape(spec.node_colours[i])}</data>' if spec.node_colours else ""
        body = data + draw(st.sampled_from(["", "", '<port name="p"/>', "<graph/>", "<desc>d</desc>", "<![CDATA[x]]>"]))
        out.append(f"<node{draw(st.sampled_from([' id', ' id', ' id', ' ID', ' name']))}={attr(node)}>{body}</node>")
    for k, (u, v) in enumerate(spec.edges):
        ends = [f" source={attr(u)}", f" target={attr(v)}"]
        if draw(st.integers(0, 5)) == 0:
            ends[draw(st.integers(0, 1))] = draw(st.sampled_from(["", f" soruce={attr(u)}", " directed='true'"]))
        data = f'<data key="{draw(st.sampled_from(["cedge", "cnode", "nokey"]))}">{spec.edge_colours[k]}</data>' \
            if spec.edge_colours and k < len(spec.edge_colours) else ""
        out.append(f"<edge{''.join(ends)}>{data}</edge>")
    out.append(draw(st.sampled_from([
        "", "", "<!-- c -->", "<?pi x?>", "<hyperedge/>", "<locator/>", "<nod id='z'/>", "<data key='q'/>",
        '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="/etc/passwd" parse="text"/>', "&e;", "&j;",
        '<node id="&q;&q;&q;"/>',
    ])))
    out.append("</graph>" + draw(st.sampled_from(["", "", "<graph/>"])) + "</graphml>")
    return _encode("".join(out))


GML_KEY_TYPOS = st.sampled_from(["soruce", "targte", "ID", "lable", "colour", "egde", "nodes", "Source"])
GML_FLAGS = st.sampled_from(["0", "1", "2", "1.0", '"yes"'])
GML_IDS = st.sampled_from(["0", "1.5", "-7", '"x"', "1" * 5000])


@st.composite
def _gml(draw: st.DrawFn) -> bytes:
    spec = draw(_graph_specs())
    key = lambda k: draw(GML_KEY_TYPOS) if draw(st.integers(0, 19)) == 0 else k  # noqa: E731
    string = lambda s: '"' + s.replace("&", draw(st.sampled_from(["&", "&amp;"]))) + '"'  # noqa: E731
    gml_id = {node: i for i, node in enumerate(spec.ids)}
    out = [draw(st.sampled_from(["", 'Creator "fuzz"', "# comment", "Version 2"])), f"{key('graph')} ["]
    for flag in ("directed", "multigraph"):
        if draw(st.integers(0, 3)) == 0:
            out.append(f"{flag} {draw(GML_FLAGS)}")
    for i, node in enumerate(spec.ids):
        fields = [f"{key('id')} {draw(st.just(str(i)) | GML_IDS)}"]
        if draw(st.integers(0, 4)):
            fields.append(f"{key('label')} {string(node)}")
        if spec.node_colours:
            fields.append(f"{key('color')} {spec.node_colours[i]}")
        if draw(st.integers(0, 5)) == 0:
            fields.append(draw(st.sampled_from(["graphics [ x 1.0 y -2e3 ]", "weight INF", "id 99", "label [ a 1 ]"])))
        out.append(f"{key('node')} [ " + " ".join(fields) + " ]")
    for k, (u, v) in enumerate(spec.edges):
        ends = [f"{key('source')} {gml_id.get(u, draw(st.integers(-1, 12)))}", f"{key('target')} {gml_id.get(v, 3)}"]
        if spec.edge_colours and k < len(spec.edge_colours):
            ends.append(f"{key('color')} {spec.edge_colours[k]}")
        out.append(f"{key('edge')} [ " + " ".join(draw(st.permutations(ends))) + " ]")
    out.append(draw(st.sampled_from(["]", "]", "] ]", "", "] graph [ node [ id 0 ] ]"])))
    return _encode("\n".join(out))


@st.composite
def _graph6(draw: st.DrawFn) -> bytes:
    n = draw(st.integers(1, 70))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=60))
    G = nx.empty_graph(n)
    G.add_edges_from((u, v) for u, v in pairs if u != v)
    return nx.to_graph6_bytes(G, header=draw(st.booleans()))


GRAPH6_TEXT = st.text(alphabet=[chr(c) for c in range(63, 127)], max_size=30).map(str.encode)

FORMAT_TRICKS = {  # hostile documents that need no generated graph
    "edgelist": st.sampled_from([
        b"a" * 300_000 + b" b\n", b"".join(b"%d %d\n" % (i, i + 1) for i in range(400)), b"\x00 \x01\n", b"a\x0cb c\n",
        b"\r\r\r", b",,,\n", b"a b " + b"9" * 5000 + b"\n", b"\xef\xbb\xbf\xef\xbb\xbfa b\n",
    ]),
    "json": st.sampled_from([
        b"[" * 100_000, b'{"a":' * 50_000, b'{"n": 1' + b"0" * 5000 + b', "edges": []}', b'{"n": 1e400, "edges": []}',
        b'{"n": NaN, "edges": []}', b'{"n": 2, "edges": [[0, 1e400]]}', b'{"nodes": ["\\ud800"], "edges": []}',
        b'{"nodes": [' + b",".join(b"%d" % i for i in range(5000)) + b'], "edges": []}',
        b'{"n": 300, "edges": [' + b",".join(b"[%d, %d]" % (i, i + 1) for i in range(299)) + b"]}",
        b'{"n": 2, "edges": [[0, 1]], "edges": []}', b'{"n": 2, "edges": [[0, 1, 2, 3]]}', b'"\\u0000"',
    ]),
    "graphml": st.sampled_from([
        (XML_TRICKS[0] + "<graphml><graph><node id='&j;'/></graph></graphml>").encode(),
        b"<graphml><graph>" + b"<desc>" * 100_000,
        b"<graphml><graph>" + b"<node id='1'/>" * 3000 + b"</graph></graphml>",
        '<?xml version="1.0" encoding="UTF-16"?><graphml/>'.encode(),
        b"<graphml><graph><node id='a\xc2\x85'/></graph></graphml>",
        b"<graphml><key id='k' for='node' attr.name='color'/><key id='k' for='edge' attr.name='color'/></graphml>",
    ]),
    "gml": st.sampled_from([
        b"graph [ " + b"a [ " * 100_000, b"graph [ node [ id 1" + b"0" * 5000 + b" ] ]",
        b'graph [ node [ id 0 label "x',
        b'graph [ node [ id 0 label "&#1114112;&#0;&#xD800;" ] ]', b"graph [ node [ id 0 ] node [ id 0 ] ]",
        b"graph [ " + b"node [ id %d ] " * 0 + b"".join(b"node [ id %d ] " % i for i in range(300)) + b"]",
        b"graph [ node [ id 0 ] edge [ source 0 target 0 ] ]", b"graph 1", b"[ ]", b"]", b"graph [ node 5 ]",
    ]),
    "graph6": st.sampled_from([b"~??~~~", b"~~???????", b"~" * 8, b">>graph6<<", b"A_\nA_", b":Fa@x^", b"~" * 300]),
}
_STRUCTURED = {"edgelist": _edgelist, "json": _json_file, "graphml": _graphml, "gml": _gml, "graph6": _graph6}


def graph_files(fmt: str) -> st.SearchStrategy[bytes]:
    """Hostile bytes for the ``fmt`` reader (see the module docstring)."""
    extra = GRAPH6_TEXT if fmt == "graph6" else st.nothing()
    return st.one_of(
        st.binary(max_size=300), _mutated(fmt), _STRUCTURED[fmt](), FORMAT_TRICKS[fmt], valid_files(fmt), extra
    )


# ----------------------------------------------------------------------------------------------
# Couplings files for predict ising


@st.composite
def _couplings_json(draw: st.DrawFn) -> bytes:
    L = draw(st.sampled_from([4, 6, 8, 4, 6, 8, 3, 2, 66]))
    grid = st.integers(0, 2**32 - 1).map(lambda s: json.dumps(np.random.default_rng(s).normal(size=(L, L)).tolist()))
    value = _weighted((2, st.floats(-2, 2).map(repr)), (4, grid), (1, NUMBER_TOKENS), (1, st.sampled_from([
        json.dumps(np.ones((L, L + 1)).tolist()), json.dumps([[1.0] * L] * (L - 1) + [[1.0]]),
        json.dumps(np.ones((2, L, L)).tolist()), "[" * 5000 + "]" * 5000, '"1.5"',
    ])))
    keys = draw(st.sampled_from([("jx", "jy", "h")] * 3 + [("jx", "jy"), ("jx", "jy", "h", "h"), ("h", "jx", "L")]))
    return ("{" + ", ".join(f'"{k}": {draw(value)}' for k in keys) + "}").encode()


@st.composite
def _couplings_npy(draw: st.DrawFn) -> bytes:
    L = draw(st.sampled_from([4, 6, 8, 3, 66]))
    shape = draw(st.sampled_from([(3, L, L)] * 3 + [(2, L, L), (3, L, L + 1), (L,), (), (3, L, L, 1)]))
    dtype = draw(st.sampled_from(["float64"] * 3 + ["float32", "int8", "uint64", "bool", "complex64", "U3", "float16"]))
    fill = st.integers(0, 2**32 - 1).map(lambda s: np.random.default_rng(s).normal(size=shape))
    with np.errstate(invalid="ignore"):  # NaN and infinity cast to integers on purpose
        value = draw(_weighted((3, fill), (1, st.sampled_from([1.0, -1.0, 0.0, np.nan, np.inf, 1e4]))))
        array = np.asarray(value).astype(dtype)
    array = np.broadcast_to(array, shape).copy()
    buffer = io.BytesIO()
    np.save(buffer, array)
    data = bytearray(buffer.getvalue())
    if draw(st.integers(0, 3)) == 0:
        i = draw(st.integers(0, len(data) - 1))
        data[i : i + 1] = draw(st.binary(min_size=0, max_size=8))
    return bytes(data)


@st.composite
def valid_couplings_files(draw: st.DrawFn) -> tuple[str, bytes]:
    """``(suffix, bytes)`` of a valid couplings file: L in 4, 6, 8, random fields, JSON or .npy."""
    L = draw(st.sampled_from([4, 6, 8]))
    fields = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).normal(size=(3, L, L)).round(3)
    if draw(st.booleans()):
        buffer = io.BytesIO()
        np.save(buffer, fields)
        return ".npy", buffer.getvalue()
    return ".json", json.dumps(dict(zip(("jx", "jy", "h"), fields.tolist()))).encode()


def couplings_files() -> st.SearchStrategy[tuple[str, bytes]]:
    """``(suffix, bytes)`` for ``predict ising --couplings``."""
    return _weighted(
        (3, st.tuples(st.just(".json"), _couplings_json())),
        (3, st.tuples(st.just(".npy"), _couplings_npy())),
        (1, st.tuples(st.sampled_from([".json", ".npy", ".txt", ""]), st.binary(max_size=200))),
        (1, st.tuples(st.just(".npy"), st.sampled_from([
            b"\x93NUMPY\x01\x00\x76\x00{'descr': '<f8', 'fortran_order': False, 'shape': (3, 100000, 100000), }",
            b"PK\x03\x04",
        ]))),
    )


# ----------------------------------------------------------------------------------------------
# Command lines


@dataclass(frozen=True)
class FileArg:
    """A path argument that the case creates before it runs.

    ``kind``: "file" (``data`` written), "missing", "directory", "fifo", or "unreadable" (a link to
    /proc/self/mem, which nobody, root included, can read from its start)."""

    name: str
    kind: str = "file"
    data: bytes = b""

    def create(self, folder: Path) -> str:
        """The path of the file under ``folder``, created unless it is there already (a repeated argument)."""
        path = folder / self.name
        if path.exists() or path.is_symlink():
            pass
        elif self.kind == "file":
            path.write_bytes(self.data)
        elif self.kind == "directory":
            path.mkdir()
        elif self.kind == "fifo":
            os.mkfifo(path)
        elif self.kind == "unreadable":
            path.symlink_to("/proc/self/mem")
        return str(path)


@dataclass(frozen=True)
class CliCase:
    """Arguments of ``python -m backend``; each :class:`FileArg` becomes a path in :meth:`materialise`."""

    argv: tuple[str | FileArg, ...]

    @property
    def command(self) -> str:
        """One of COMMANDS, or "other"."""
        head = " ".join(a for a in self.argv[:2] if isinstance(a, str))
        return head if head in COMMANDS else "other"

    @property
    def shell_safe(self) -> bool:
        """Whether the argv can reach a real process: no NUL, every string encodable as a file name."""
        try:
            return all("\0" not in a and os.fsencode(a) is not None for a in self.argv if isinstance(a, str))
        except UnicodeEncodeError:
            return False

    def materialise(self, folder: Path) -> list[str]:
        return [a.create(folder) if isinstance(a, FileArg) else a for a in self.argv]


COMMANDS = ("canon graph", "predict ising", "predict graph-ae", "predict point-cloud", "sample qm9")
GRAPH_EXTENSIONS = {
    "edgelist": [".txt", ".edgelist", ".edges", ".el"], "json": [".json"], "graphml": [".graphml", ".xml"],
    "gml": [".gml"], "graph6": [".g6", ".graph6"],
}
FILE_STEMS = st.sampled_from(["g", "g", "g", "a b", "x\x1b", "é", "-g", ".hidden", "😀", "n\nl"])
RAW_PATHS = st.sampled_from([
    "", "-", "/", "/dev/null", "/dev/zero", "/proc/self/mem", "nonexistent.txt", "/etc/passwd", "a\0b.txt",
    "x" * 300 + ".txt", "\udcff.txt", "\ud800.json", "/tmp",
])


def _value(valid: st.SearchStrategy[str], bad: bool) -> st.SearchStrategy[str]:
    """An option value: with ``bad`` valid five times in six, else always valid."""
    return _weighted((5, valid), (1, BAD_OPTION_VALUES)) if bad else valid


def _integer(lo: int, cheap: int, hi: int, bad: bool) -> st.SearchStrategy[str]:
    """Integers in [lo, cheap] mostly, the bounds lo and hi sometimes."""
    return _value(_weighted((5, st.integers(lo, cheap)), (1, st.sampled_from([lo, hi]))).map(str), bad)


FILE_KINDS = st.sampled_from(["file"] * 8 + ["missing", "directory", "fifo", "unreadable", "raw", "raw"])


@st.composite
def _graph_arg(draw: st.DrawFn, hostile: bool) -> str | FileArg:
    kind = draw(FILE_KINDS) if hostile else "file"
    if kind == "raw":
        return draw(RAW_PATHS)
    fmt = draw(st.sampled_from(FORMATS))
    ext = st.sampled_from(GRAPH_EXTENSIONS[fmt])
    if hostile:
        ext = _weighted((3, ext), (1, st.sampled_from([".csv", "", ".JSON", ".GML", ".txt"])))
    data = _weighted((2, valid_files(fmt)), (1, graph_files(fmt))) if hostile else valid_files(fmt)
    return FileArg(draw(FILE_STEMS) + draw(ext), kind, draw(data) if kind == "file" else b"")


@st.composite
def _couplings_arg(draw: st.DrawFn, hostile: bool) -> str | FileArg:
    kind = draw(FILE_KINDS) if hostile else "file"
    if kind == "raw":
        return draw(RAW_PATHS)
    suffix, data = draw(couplings_files() if hostile else valid_couplings_files())
    return FileArg("c" + suffix, kind, data if kind == "file" else b"")


_COORDINATE = st.one_of(st.floats(-5, 5, allow_nan=False), st.sampled_from(["nan", "inf", "-inf", "1e400", "0x1p3", "", "1,5", "−1"]))


@st.composite
def _xyz(draw: st.DrawFn) -> bytes:
    rows = draw(st.lists(st.tuples(st.sampled_from(["C", "H", "O", "", "a b", "<b>", "x" * 40]),
                                   _COORDINATE, _COORDINATE, _COORDINATE), max_size=12))
    count = draw(_weighted((4, st.just(str(len(rows)))), (1, st.sampled_from(["-1", "x", "", "99999999", str(len(rows) + 1)]))))
    lines = [count, "comment"] + [" ".join(str(v) for v in row) for row in rows]
    return _encode("\n".join(lines) + draw(st.sampled_from(["\n", "", "\nextra\n"])))


@st.composite
def _points_json(draw: st.DrawFn) -> bytes:
    points = draw(st.lists(st.lists(st.one_of(st.floats(-5, 5), st.integers(-10**30, 10**30), st.text(max_size=3), st.none()),
                                    min_size=2, max_size=4), max_size=10))
    obj: dict[str, Any] = {"points": points}
    if draw(st.booleans()):
        obj["types"] = draw(st.lists(st.one_of(st.sampled_from(["C", "N", ""]), st.integers()), max_size=12))
    if draw(st.integers(0, 5)) == 0:
        obj[draw(st.sampled_from(["colour", "Points", ""]))] = 1
    return _encode(json.dumps(obj) if draw(st.integers(0, 5)) else json.dumps(obj)[: draw(st.integers(0, 20))])


@st.composite
def valid_point_clouds(draw: st.DrawFn) -> tuple[str, bytes]:
    """A small cloud of distinct points, as XYZ or JSON."""
    n = draw(st.integers(2, 8))
    points = [[float(i), float(draw(st.integers(-3, 3))), float(draw(st.integers(-3, 3)))] for i in range(n)]
    if draw(st.booleans()):
        return ".xyz", _encode(f"{n}\nfuzz\n" + "".join(f"C {x} {y} {z}\n" for x, y, z in points))
    return ".json", _encode(json.dumps({"points": points}))


def point_cloud_files(fmt: str) -> st.SearchStrategy[bytes]:
    """Hostile bytes for the point-cloud reader of ``fmt``: structured mutations and raw bytes."""
    structured = _xyz() if fmt == "xyz" else _points_json()
    return _weighted((6, structured), (1, st.binary(max_size=300)))


@st.composite
def _points_arg(draw: st.DrawFn, hostile: bool) -> str | FileArg:
    kind = draw(FILE_KINDS) if hostile else "file"
    if kind == "raw":
        return draw(RAW_PATHS)
    if hostile and draw(st.booleans()):
        fmt = draw(st.sampled_from(["xyz", "json"]))
        suffix = draw(_weighted((3, st.just("." + fmt)), (1, st.sampled_from([".txt", "", ".XYZ"]))))
        return FileArg("p" + suffix, kind, draw(point_cloud_files(fmt)) if kind == "file" else b"")
    suffix, data = draw(valid_point_clouds())
    return FileArg("p" + suffix, kind, data if kind == "file" else b"")


def _option(flag: str, value: st.SearchStrategy[str | FileArg]) -> st.SearchStrategy[list[str | FileArg]]:
    return value.map(lambda v: [flag, v])


@st.composite
def _some(draw: st.DrawFn, *options: st.SearchStrategy[list[str | FileArg]]) -> list[list[str | FileArg]]:
    """Each option with probability 1/2."""
    return [draw(option) for option in options if draw(st.booleans())]


@st.composite
def _canon_graph(draw: st.DrawFn, bad_values: bool, bad_files: bool) -> list[list[str | FileArg]]:
    formats = [_option("--format", _value(st.sampled_from(FORMATS), True))] if bad_values else []
    return [[draw(_graph_arg(bad_files))]] + draw(_some(
        *formats,
        _option("--samples", _integer(0, 50, 100_000, bad_values)),
        _option("--seed", _integer(0, 2**63 - 1, 2**63 - 1, bad_values)),
        _option("--max-nodes", _integer(1, 2000, 20_000, bad_values)),
    ))


@st.composite
def _predict_ising(draw: st.DrawFn, bad_values: bool, bad_files: bool) -> list[list[str | FileArg]]:
    number = _value(_weighted((5, st.floats(-5, 5).map(repr)), (1, st.sampled_from(["1000", "-1000"]))), bad_values)
    sizes = [str(L) for L in range(4, 17, 2)] + ["64"] + (["2", "66"] if bad_values else [])
    chosen = draw(_some(
        _option("--L", _value(st.sampled_from(sizes), bad_values)),
        _option("--variant", _value(st.sampled_from(["none", "noise", "sympe", "fixed"]), bad_values)),
        _option("--samples", _integer(1, 8, 1000, bad_values)),
        _option("--seed", _integer(0, 2**63 - 1, 2**63 - 1, bad_values)),
        _option("--search", _integer(0, 3, 64, bad_values)),
    ))
    constant = draw(st.integers(0, 2)) > 0
    if constant or bad_values:
        flags = [flag for flag in ("--jx", "--jy", "--h") if not bad_values or draw(st.integers(0, 9))]
        chosen += [draw(_option(flag, number)) for flag in flags]
    if not constant or (bad_values and draw(st.booleans())):
        chosen = [item for item in chosen if bad_values or item[0] != "--L"]
        chosen.append(draw(_option("--couplings", _couplings_arg(bad_files))))
    return chosen


@st.composite
def _predict_graph_ae(draw: st.DrawFn, bad_values: bool, bad_files: bool) -> list[list[str | FileArg]]:
    formats = [_option("--format", _value(st.sampled_from(FORMATS), True))] if bad_values else []
    chosen = draw(_some(
        *formats,
        _option("--variant", _value(st.sampled_from(["none", "noise", "sympe", "fixed"]), bad_values)),
        _option("--samples", _integer(1, 5, 100, bad_values)),
        _option("--seed", _integer(0, 2**63 - 1, 2**63 - 1, bad_values)),
    ))
    if not bad_values or draw(st.integers(0, 9)):
        chosen.append(draw(_option("--graph", _graph_arg(bad_files))))
    return chosen


@st.composite
def _predict_point_cloud(draw: st.DrawFn, bad_values: bool, bad_files: bool) -> list[list[str | FileArg]]:
    formats = [_option("--format", _value(st.sampled_from(["xyz", "json"]), True))] if bad_values else []
    chosen = draw(_some(
        *formats,
        _option("--variant", _value(st.sampled_from(["none", "noise", "sympe", "fixed"]), bad_values)),
        _option("--samples", _integer(1, 5, 100, bad_values)),
        _option("--seed", _integer(0, 2**63 - 1, 2**63 - 1, bad_values)),
        _option("--tol", _value(st.sampled_from(["1e-6", "1e-3", "1e-12"]), bad_values)),
    ))
    if not bad_values or draw(st.integers(0, 9)):
        chosen.append(draw(_option("--points", _points_arg(bad_files))))
    return chosen


@st.composite
def _sample_qm9(draw: st.DrawFn, bad_values: bool, bad_files: bool) -> list[list[str | FileArg]]:
    """No files here. --num above 16 comes with at most 3 steps: 1000 molecules take seconds per step."""
    num = draw(_integer(1, 4, 1000, bad_values))
    chosen = draw(_some(
        _option("--variant", _value(st.sampled_from(["none", "noise", "sympe", "sympe-edges"]), bad_values)),
        _option("--seed", _integer(0, 2**63 - 1, 2**63 - 1, bad_values)),
    ))
    many = num.strip().isdecimal() and 16 < int(num.strip()[:5]) <= 1000
    if many or draw(st.booleans()):
        chosen.append(["--num", num])
    if many or draw(st.booleans()):
        steps = _integer(1, 3, 3, bad_values) if many else _integer(1, 10, 100, bad_values)
        chosen.append(draw(_option("--steps", steps)))
    if draw(st.integers(0, 3)) == 0:
        chosen.append(["--trajectory"])
    return chosen


OTHER_ARGV = st.sampled_from([
    [], ["canon"], ["predict"], ["sample"], ["canon", "lattice"], ["bogus"], ["predict", "qm9"], ["sample", "ising"],
    ["--version"], ["-h"], ["canon", "graph"], ["predict", "ising", "--help"], [""], ["\x00"], ["--", "canon"],
])
JUNK = st.sampled_from(["unknown", "repeat", "equals", "dangling", "abbreviate", "help", "separator", "empty"])


@st.composite
def cli_cases(draw: st.DrawFn) -> CliCase:
    """A command line for ``backend.cli.main`` (see the module docstring): one in four is clean (valid values
    and files only), one in four has hostile option values (and junk), one in four hostile files, one both."""
    command = draw(st.sampled_from(COMMANDS + ("other",)))
    if command == "other":
        return CliCase(tuple(draw(OTHER_ARGV)))
    bad_values, bad_files = draw(st.sampled_from([(False, False), (True, False), (False, True), (True, True)]))
    options = {"canon graph": _canon_graph, "predict ising": _predict_ising, "predict graph-ae": _predict_graph_ae,
               "predict point-cloud": _predict_point_cloud, "sample qm9": _sample_qm9}[command]
    items = draw(st.permutations(draw(options(bad_values, bad_files))))
    if bad_values and items and draw(st.integers(0, 2)) == 0:
        junk, k = draw(JUNK), draw(st.integers(0, len(items) - 1))
        item = items[k]
        if junk == "unknown":
            items.insert(k, [draw(st.sampled_from(["--bogus", "-x", "--samples-x", "---samples"]))])
        elif junk == "repeat":
            items.append(item)
        elif junk == "equals" and len(item) == 2 and isinstance(item[1], str):
            items[k] = [f"{item[0]}={item[1]}"]
        elif junk == "dangling":
            items[k] = item[:1]
            items.append(items.pop(k))
        elif junk == "abbreviate" and str(item[0]).startswith("--"):
            items[k] = [item[0][:3], *item[1:]]
        elif junk == "help":
            items.append([draw(st.sampled_from(["-h", "--help", "--he"]))])
        elif junk == "separator":
            items.insert(k, ["--"])
        elif junk == "empty":
            items.insert(k, [""])
    return CliCase(tuple(command.split()) + tuple(a for item in items for a in item))
