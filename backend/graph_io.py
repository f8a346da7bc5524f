"""Reading user-supplied graph files into a validated simple undirected graph.

Every reader ends in one :class:`ParsedGraph`: nodes are renumbered 0..n-1 (``nodes[i]`` keeps the
original id as a string), edges are pairs ``(u, v)`` with ``u < v``, sorted, without duplicates, and
optional integer colours sit on nodes and on edges (aligned with ``edges``).

Invariants of every ParsedGraph, whatever the reader (all checked in one place, ``_build``)
    * 1 <= n <= ``max_nodes`` (default 2000) and at most ``max_edges`` edges (default 200 000);
    * node ids are distinct, non-empty, at most ``MAX_ID_CHARS`` (200) characters and printable in the
      sense of ``str.isprintable``: no control, format, surrogate, private-use or unassigned characters
      and no whitespace but the plain space, so every id encodes as UTF-8 and prints on one line;
    * every edge joins two distinct nodes that the input declares (edge list: mentions), once: self
      loops and duplicate (parallel) edges are refused, never merged or dropped;
    * colours are given on every node (edge) or on none, each an integer in 0..2**31 - 1.

Formats (``FORMATS``; ``load_graph`` picks one from the file extension when none is given). Elements are
counted from 0 in file order in messages: "edge #2" is the third edge.

``edgelist`` (.txt .edgelist .edges .el)
    One edge ``u v`` per line, tokens separated by whitespace and/or commas. ``#`` starts a comment;
    blank lines are skipped. A line with a single token names a node (isolated unless an edge mentions
    it). An optional third integer token is the edge colour; when one edge line has it, every edge line
    must. Node order: order of first appearance.
``json`` (.json)
    ``{"n": int, "edges": [[u, v], ...]}`` with integer ids 0..n-1 (node order 0..n-1), or
    ``{"nodes": [id, ...], "edges": [[u, v], ...]}`` with string/integer ids that the edges refer to
    (node order: that list). Optional ``"node_colors"`` (n ints) and ``"edge_colors"`` (one int per
    edge); an edge may also be written ``[u, v, colour]``. ``edges`` is required; any other key, and a
    key repeated in one object, is refused.
``graphml`` (.graphml .xml)
    One ``<graph>``, undirected (``edgedefault`` absent or "undirected", no edge with directed="true"),
    read by a strict streaming reader: every ``<node>`` has an ``id`` of its own, every ``<edge>`` a
    ``source`` and a ``target`` naming nodes of the graph, every ``<data>`` a ``key`` declared (before
    use) for that kind of element, at most once per element. Colours come from the data of a key with
    ``attr.name="color"`` for nodes (edges) or for all, its ``<default>`` filling in. Refused: DOCTYPE
    declarations (so no entity can be declared), nested graphs, hyperedges, locators, unknown elements
    outside ``<data>``, ``<default>`` and ``<desc>``, and unknown attributes on ``<graph>``, ``<node>``
    and ``<edge>`` (attributes in other XML namespaces and ``parse.*`` hints are ignored, as are ports).
    Node order: the file's.
``gml`` (.gml)
    One ``graph [ ... ]``. Keys read -- graph: node, edge, directed (0; 1 is refused), multigraph (0 or
    1); node: id (an integer of its own), label, color; edge: source, target (ids of nodes of the
    graph), color. Keys accepted and ignored (presentation and metadata, ``_GML_KEYS``): Creator and
    Version on top; id, name, label, comment, hierarchic, graphics in the graph; name, comment, value,
    weight, graphics, LabelGraphics in nodes and edges, and id and label in edges. Any other key, and a
    key other than graph/node/edge repeated in one block, is refused. Strings may hold HTML character
    references (``&amp;``, ``&#233;``), as networkx writes them. Node ids: the labels when every node
    has one and they are distinct, otherwise the GML ids. Node order: the file's.
``graph6`` (.g6 .graph6)
    A single graph, optional ``>>graph6<<`` header; nodes 0..n-1.

Errors
    Every problem -- a missing, unreadable, non-regular or oversized file (more than ``max_bytes``,
    default 5 000 000), bad encoding (text formats must be UTF-8), syntax errors, nesting deeper than
    ``MAX_NESTING`` levels, and every broken invariant above -- raises :class:`GraphInputError` with a
    one-line printable message (``backend.options.one_line``) naming the input and the offending element. The parse
    functions raise nothing else for any bytes input, except MemoryError: inputs are small enough
    (``max_bytes``) that running out of memory is a fault of this module or of the machine, not of
    the input, and is not disguised as one.
"""
from __future__ import annotations

import json
import os
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from html.entities import name2codepoint
from pathlib import Path
from typing import Any

import networkx as nx
import torch

from .options import one_line

__all__ = [
    "FORMATS",
    "EXTENSIONS",
    "MAX_ID_CHARS",
    "MAX_NESTING",
    "GraphInputError",
    "ParsedGraph",
    "format_for_path",
    "graph_from_networkx",
    "load_graph",
    "parse_edge_list_text",
    "parse_graph_bytes",
]

FORMATS: tuple[str, ...] = ("edgelist", "json", "graphml", "gml", "graph6")

EXTENSIONS: Mapping[str, str] = {
    ".txt": "edgelist",
    ".edgelist": "edgelist",
    ".edges": "edgelist",
    ".el": "edgelist",
    ".json": "json",
    ".graphml": "graphml",
    ".xml": "graphml",
    ".gml": "gml",
    ".g6": "graph6",
    ".graph6": "graph6",
}

DEFAULT_MAX_NODES = 2000
DEFAULT_MAX_EDGES = 200_000
DEFAULT_MAX_BYTES = 5_000_000
MAX_ID_CHARS = 200
MAX_NESTING = 100

_MAX_COLOUR = 2**31 - 1
_MAX_MESSAGE = 300
_INT_TOKEN = re.compile(r"[+-]?[0-9]+")
_GRAPH6_HEADER = b">>graph6<<"


class GraphInputError(ValueError):
    """A graph input that cannot be used; the message is one printable line of at most 300 characters."""

    def __init__(self, message: object) -> None:
        text = one_line(message)
        if len(text) > _MAX_MESSAGE:
            text = text[: _MAX_MESSAGE - 3] + "..."
        super().__init__(text)


@dataclass(frozen=True)
class ParsedGraph:
    """A validated simple undirected graph on nodes 0..n-1."""

    nodes: list[str]  # original node ids; index = internal node id
    edges: list[tuple[int, int]]  # u < v, sorted, no duplicates
    node_colors: list[int] | None = None
    edge_colors: list[int] | None = None  # aligned with edges

    @property
    def n(self) -> int:
        return len(self.nodes)

    def to_networkx(self) -> nx.Graph:
        """Nodes 0..n-1 with attribute ``label`` (original id) and ``color`` where colours exist."""
        G = nx.Graph()
        for i, label in enumerate(self.nodes):
            G.add_node(i, label=label)
            if self.node_colors is not None:
                G.nodes[i]["color"] = self.node_colors[i]
        for k, (u, v) in enumerate(self.edges):
            G.add_edge(u, v)
            if self.edge_colors is not None:
                G.edges[u, v]["color"] = self.edge_colors[k]
        return G

    def adjacency(self) -> torch.Tensor:
        """Symmetric 0/1 adjacency matrix, float64 of shape (n, n)."""
        a = torch.zeros(self.n, self.n, dtype=torch.float64)
        if self.edges:
            idx = torch.tensor(self.edges, dtype=torch.long)
            a[idx[:, 0], idx[:, 1]] = 1.0
            a[idx[:, 1], idx[:, 0]] = 1.0
        return a


# ----------------------------------------------------------------------------------------------
# Public entry points


def format_for_path(path: str | os.PathLike[str]) -> str:
    """The format implied by a file name's extension."""
    suffix = Path(path).suffix.lower()
    try:
        return EXTENSIONS[suffix]
    except KeyError:
        known = " ".join(sorted(EXTENSIONS))
        raise GraphInputError(
            f"{Path(path).name}: unknown file extension {suffix or '(none)'!r}; expected one of {known}"
        ) from None


def load_graph(
    path: str | os.PathLike[str],
    fmt: str | None = None,
    *,
    max_nodes: int = DEFAULT_MAX_NODES,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_edges: int = DEFAULT_MAX_EDGES,
) -> ParsedGraph:
    """Read and validate the graph file at ``path`` (format from the extension when ``fmt`` is None).

    Only regular files are read: a FIFO or device could block or never end."""
    p = Path(path)
    fmt = format_for_path(p) if fmt is None else _check_format(fmt)
    source = f"{p.name} ({fmt})"
    try:
        if not p.exists():
            raise GraphInputError(f"{source}: file not found")
        if p.is_dir():
            raise GraphInputError(f"{source}: is a directory, not a file")
        if not p.is_file():
            raise GraphInputError(f"{source}: not a regular file (a FIFO, device or socket is not read)")
        size = p.stat().st_size
        if size > max_bytes:
            raise GraphInputError(f"{source}: file is too large ({size} bytes; the limit is {max_bytes})")
        with p.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise GraphInputError(f"{source}: cannot read file ({exc.strerror or type(exc).__name__})") from None
    if len(data) > max_bytes:
        raise GraphInputError(f"{source}: file is too large (more than {max_bytes} bytes)")
    return parse_graph_bytes(data, fmt, max_nodes=max_nodes, max_edges=max_edges, source=source)


def parse_graph_bytes(
    data: bytes,
    fmt: str,
    *,
    max_nodes: int = DEFAULT_MAX_NODES,
    max_edges: int = DEFAULT_MAX_EDGES,
    source: str | None = None,
) -> ParsedGraph:
    """Parse ``data`` in format ``fmt``; ``source`` names the input in error messages."""
    fmt = _check_format(fmt)
    return _parse_guarded(bytes(data), fmt, source or f"{fmt} input", max_nodes, max_edges)


def parse_edge_list_text(
    text: str,
    *,
    max_nodes: int = DEFAULT_MAX_NODES,
    max_edges: int = DEFAULT_MAX_EDGES,
    source: str = "edge list",
) -> ParsedGraph:
    """Parse a typed edge list (the ``edgelist`` format) given as text."""
    return _parse_guarded(text, "edgelist", source, max_nodes, max_edges)


def graph_from_networkx(
    G: nx.Graph,
    max_nodes: int = DEFAULT_MAX_NODES,
    max_edges: int = DEFAULT_MAX_EDGES,
    *,
    source: str = "graph",
) -> ParsedGraph:
    """Validate a networkx graph and convert it; node ids become ``str(node)`` in G's node order.

    Directed graphs and parallel edges are refused, like everything that breaks the invariants; integer
    ``color`` attributes are read, and then every node (edge) must carry one.
    """
    if not isinstance(G, nx.Graph):
        raise GraphInputError(f"{source}: expected a networkx graph, got {type(G).__name__}")
    if G.is_directed():
        raise GraphInputError(f"{source}: directed graphs are not supported")
    _check_size(G.number_of_nodes(), G.number_of_edges(), source, max_nodes, max_edges)
    if G.is_multigraph():
        for u, v in G.edges():
            if G.number_of_edges(u, v) > 1:
                pair = f"{_show(str(u))} and {_show(str(v))}"
                raise GraphInputError(f"{source}: parallel edges between {pair}")
    nodes = [str(node) for node in G.nodes]
    index = {node: i for i, node in enumerate(G.nodes)}
    edge_list = list(G.edges(data=True))
    edges = [(index[u], index[v]) for u, v, _ in edge_list]
    node_colors = _colours(
        [d.get("color") for _, d in G.nodes(data=True)], lambda i: f"node {_show(nodes[i])}", source
    )
    edge_colors = _colours(
        [d.get("color") for _, _, d in edge_list],
        lambda k: f"edge {_show(nodes[edges[k][0]])} -- {_show(nodes[edges[k][1]])}",
        source,
    )
    return _build(nodes, edges, node_colors, edge_colors, source, max_nodes, max_edges)


# ----------------------------------------------------------------------------------------------
# Format readers


def _parse_guarded(
    payload: bytes | str, fmt: str, source: str, max_nodes: int, max_edges: int
) -> ParsedGraph:
    """Dispatch to the reader for ``fmt``; any failure inside becomes a GraphInputError."""
    try:
        if fmt == "graph6":
            raw = payload if isinstance(payload, bytes) else payload.encode("utf-8", "replace")
            return _parse_graph6(raw, source, max_nodes, max_edges)
        text = _decode(payload, source) if isinstance(payload, bytes) else payload.removeprefix("\ufeff")
        reader = {"edgelist": _parse_edgelist, "json": _parse_json, "graphml": _parse_graphml, "gml": _parse_gml}
        return reader[fmt](text, source, max_nodes, max_edges)
    except (GraphInputError, MemoryError):
        raise
    except Exception as exc:  # networkx's graph6 reader and Python's recursion limit on hostile input
        raise GraphInputError(f"{source}: cannot parse: {str(exc) or type(exc).__name__}") from exc


def _parse_edgelist(text: str, source: str, max_nodes: int, max_edges: int) -> ParsedGraph:
    index: dict[str, int] = {}
    edges: list[tuple[int, int]] = []
    colours: list[int] = []
    coloured: bool | None = None  # set by the first edge line

    def node(token: str) -> int:
        if token not in index:
            if len(index) >= max_nodes:
                raise GraphInputError(f"{source}: more than {max_nodes} nodes (the limit)")
            index[token] = len(index)
        return index[token]

    for lineno, raw in enumerate(text.splitlines(), start=1):
        tokens = [t for t in re.split(r"[\s,]+", raw.split("#", 1)[0]) if t]
        if not tokens:
            continue
        if len(tokens) > 3:
            raise GraphInputError(
                f"{source}: line {lineno}: expected 'u v' or 'u v colour', got {len(tokens)} tokens"
            )
        if len(tokens) == 1:
            node(tokens[0])
            continue
        has_colour = len(tokens) == 3
        if coloured is None:
            coloured = has_colour
        elif coloured != has_colour:
            raise GraphInputError(
                f"{source}: line {lineno}: edge colours must be given on every edge line or on none"
            )
        if len(edges) >= max_edges:
            raise GraphInputError(f"{source}: more than {max_edges} edges (the limit)")
        edges.append((node(tokens[0]), node(tokens[1])))
        if has_colour:
            colours.append(_colour(tokens[2], f"edge colour on line {lineno}", source))
    nodes = list(index)
    return _build(nodes, edges, None, colours if coloured else None, source, max_nodes, max_edges)


_JSON_KEYS = ("n", "nodes", "edges", "node_colors", "edge_colors")


def _parse_json(text: str, source: str, max_nodes: int, max_edges: int) -> ParsedGraph:
    def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) != len(pairs):
            key = _first_duplicate([k for k, _ in pairs])
            raise GraphInputError(f"{source}: key {_show(key)} appears twice in one object")
        return obj

    try:
        obj = json.loads(text, object_pairs_hook=unique_keys)
    except GraphInputError:
        raise
    except json.JSONDecodeError as exc:
        raise GraphInputError(f"{source}: invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise GraphInputError(f"{source}: invalid JSON: nested too deeply") from None
    except ValueError:  # the one other failure: an integer beyond Python's conversion limit (4300 digits)
        raise GraphInputError(f"{source}: invalid JSON: an integer has too many digits") from None
    if not isinstance(obj, dict):
        raise GraphInputError(f"{source}: the top level must be an object with 'n' or 'nodes' and 'edges'")
    unknown = [key for key in obj if key not in _JSON_KEYS]
    if unknown:
        raise GraphInputError(f"{source}: unknown key {_show(unknown[0])} (expected {', '.join(_JSON_KEYS)})")
    if "edges" not in obj:
        raise GraphInputError(f"{source}: missing 'edges' (an empty list for a graph without edges)")

    n_given = obj.get("n")
    if n_given is not None and not _is_int(n_given):
        raise GraphInputError(f"{source}: 'n' must be an integer, got {_show(n_given)}")
    if "nodes" in obj:
        ids = _json_list(obj, "nodes", source)
        for x in ids:
            if not (_is_int(x) or isinstance(x, str)):
                raise GraphInputError(f"{source}: node ids must be strings or integers, got {_show(x)}")
        if n_given is not None and n_given != len(ids):
            raise GraphInputError(f"{source}: 'n' is {n_given} but 'nodes' lists {len(ids)} nodes")
        _check_size(len(ids), 0, source, max_nodes, max_edges)
        nodes = [str(x) for x in ids]
        index = {key: i for i, key in enumerate(nodes)}
        if len(index) != len(nodes):
            raise GraphInputError(f"{source}: node id {_show(_first_duplicate(nodes))} appears twice")

        def endpoint(x: Any, k: int) -> int:
            if (_is_int(x) or isinstance(x, str)) and str(x) in index:
                return index[str(x)]
            raise GraphInputError(f"{source}: edge #{k} refers to unknown node {_show(x)}")

    elif n_given is not None:
        _check_size(n_given, 0, source, max_nodes, max_edges)
        n = n_given
        nodes = [str(i) for i in range(n)]

        def endpoint(x: Any, k: int) -> int:
            if _is_int(x) and 0 <= x < n:
                return int(x)
            raise GraphInputError(
                f"{source}: edge #{k} refers to unknown node {_show(x)} (ids are 0..{n - 1})"
            )

    else:
        raise GraphInputError(f"{source}: expected an 'n' or a 'nodes' entry")

    raw_edges = _json_list(obj, "edges", source)
    _check_size(len(nodes), len(raw_edges), source, max_nodes, max_edges)
    edges: list[tuple[int, int]] = []
    inline_colours: list[Any] = []
    for k, e in enumerate(raw_edges):
        if not isinstance(e, list) or len(e) not in (2, 3):
            raise GraphInputError(f"{source}: edge #{k} must be [u, v] or [u, v, colour], got {_show(e)}")
        edges.append((endpoint(e[0], k), endpoint(e[1], k)))
        if len(e) == 3:
            inline_colours.append(e[2])
    if inline_colours and len(inline_colours) != len(edges):
        raise GraphInputError(f"{source}: edge colours must be given on every edge or on none")
    if inline_colours and obj.get("edge_colors") is not None:
        raise GraphInputError(f"{source}: edge colours given both inline and in 'edge_colors'")

    node_colors = _json_colours(obj, "node_colors", len(nodes), "nodes", source)
    edge_colors = _json_colours(obj, "edge_colors", len(edges), "edges", source)
    if inline_colours:
        edge_colors = [_colour(c, f"colour of edge #{k}", source) for k, c in enumerate(inline_colours)]
    return _build(nodes, edges, node_colors, edge_colors, source, max_nodes, max_edges)


# GraphML: the elements each element may contain ("" is the document), the attributes read on the
# structural elements, and why the rest of the GraphML vocabulary is refused.
_GRAPHML_NS = "{http://graphml.graphdrawing.org/xmlns}"
_GRAPHML_CONTENT: Mapping[str, frozenset[str]] = {
    "": frozenset({"graphml"}),
    "graphml": frozenset({"desc", "key", "data", "graph"}),
    "key": frozenset({"desc", "default"}),
    "graph": frozenset({"desc", "data", "node", "edge"}),
    "node": frozenset({"desc", "data", "port"}),
    "edge": frozenset({"desc", "data"}),
    "port": frozenset({"desc", "data", "port"}),
}
_GRAPHML_FREE_CONTENT = frozenset({"desc", "data", "default"})
_GRAPHML_ATTRIBUTES: Mapping[str, frozenset[str]] = {
    "graph": frozenset({"id", "edgedefault"}),
    "node": frozenset({"id"}),
    "edge": frozenset({"id", "source", "target", "directed", "sourceport", "targetport"}),
}
_GRAPHML_KEY_DOMAINS = frozenset({"all", "graphml", "graph", "node", "edge", "port", "hyperedge", "endpoint"})
_GRAPHML_UNSUPPORTED: Mapping[str, str] = {
    "graph": "nested graphs are not supported",
    "hyperedge": "hyperedges are not supported",
    "locator": "locators (graphs stored in other files) are not supported",
}


@dataclass
class _GraphMLKey:
    domain: str  # the key's 'for'
    name: str | None  # its 'attr.name'
    default: str | None = None


@dataclass
class _GraphMLOwner:
    """An element that may hold <data>: graphml, graph, node, edge or port."""

    kind: str
    what: str  # how messages name it
    keys: set[str] = field(default_factory=set)
    colour: str | None = None  # text of its colour data


class _GraphMLReader:
    """An ElementTree parser target that checks one GraphML graph as the XML streams in (no tree is kept)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.open: list[str] = []  # local names of the open elements; "*" inside free content
        self.owners: list[_GraphMLOwner] = []
        self.keys: dict[str, _GraphMLKey] = {}
        self.key: _GraphMLKey | None = None  # the key being declared
        self.colour_keys: dict[str, str] = {}  # node/edge -> id of the key named "color" for it
        self.text: list[str] | None = None  # character data of a colour <data> or of a <default>
        self.graphs = 0
        self.index: dict[str, int] = {}  # node id -> position
        self.edges: list[tuple[str, str]] = []
        self.colours: dict[str, list[str | None]] = {"node": [], "edge": []}

    def fail(self, message: str) -> GraphInputError:
        return GraphInputError(f"{self.source}: {message}")

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise self.fail("a DOCTYPE declaration is not allowed (GraphML needs none; it could declare entities)")

    def data(self, text: str) -> None:
        if self.text is not None:
            self.text.append(text)

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        parent = self.open[-1] if self.open else ""
        if len(self.open) >= MAX_NESTING:
            raise self.fail(f"XML elements nested deeper than {MAX_NESTING} levels")
        if parent == "*" or parent in _GRAPHML_FREE_CONTENT:
            self.open.append("*")
            return
        name = tag.removeprefix(_GRAPHML_NS)
        where = self.owners[-1].what if parent in ("node", "edge") else f"<{parent}>" if parent else "the document"
        if name == "graph" and parent == "graphml" and self.graphs:
            raise self.fail("more than one <graph>; a file holds one graph")
        if name not in _GRAPHML_CONTENT[parent]:
            expected = " (expected <graphml>)" if not parent else ""
            reason = _GRAPHML_UNSUPPORTED.get(name, f"unexpected element{expected}")
            raise self.fail(f"<{name}> in {where}: {reason}")
        self.open.append(name)
        getattr(self, f"_start_{name}", lambda _: None)(attrib)

    def end(self, tag: str) -> None:
        name = self.open.pop()
        if name == "default" and self.key is not None:
            self.key.default, self.text = "".join(self.text or ()), None
        elif name == "data" and self.text is not None:
            self.owners[-1].colour, self.text = "".join(self.text), None
        elif name in ("node", "edge"):
            owner = self.owners.pop()
            key = self.keys.get(self.colour_keys.get(name, ""))
            self.colours[name].append(owner.colour if owner.colour is not None else key and key.default)
        elif name in ("graphml", "graph", "port"):
            self.owners.pop()

    def close(self) -> _GraphMLReader:
        return self

    def check_attributes(self, kind: str, what: str, attrib: dict[str, str]) -> None:
        """Refuse an attribute the element does not have (typos); other namespaces and parse.* hints pass."""
        for attr in attrib:
            if attr not in _GRAPHML_ATTRIBUTES[kind] and not attr.startswith(("{", "parse.")):
                raise self.fail(f"{what} has an unknown attribute {_show(attr)}")

    def _start_graphml(self, attrib: dict[str, str]) -> None:
        self.owners.append(_GraphMLOwner("graphml", "<graphml>"))

    def _start_key(self, attrib: dict[str, str]) -> None:
        key_id, domain, name = attrib.get("id"), attrib.get("for", "all"), attrib.get("attr.name")
        if key_id is None:
            raise self.fail(f"<key> #{len(self.keys)} has no 'id'")
        if key_id in self.keys:
            raise self.fail(f"key id {_show(key_id)} appears twice")
        if domain not in _GRAPHML_KEY_DOMAINS:
            raise self.fail(f"key {_show(key_id)} is for an unknown kind of element {_show(domain)}")
        self.key = self.keys[key_id] = _GraphMLKey(domain, name)
        for kind in ("node", "edge"):
            if name == "color" and domain in (kind, "all"):
                if kind in self.colour_keys:
                    raise self.fail(f"two keys named 'color' for {kind}s: {self.colour_keys[kind]!r} and {key_id!r}")
                self.colour_keys[kind] = key_id

    def _start_default(self, attrib: dict[str, str]) -> None:
        self.text = []

    def _start_graph(self, attrib: dict[str, str]) -> None:
        self.check_attributes("graph", "<graph>", attrib)
        self.graphs += 1
        edgedefault = attrib.get("edgedefault", "undirected")
        if edgedefault == "directed":
            raise self.fail("directed graphs are not supported")
        if edgedefault != "undirected":
            raise self.fail(f"edgedefault must be 'undirected' or 'directed', got {_show(edgedefault)}")
        self.owners.append(_GraphMLOwner("graph", "<graph>"))

    def _start_node(self, attrib: dict[str, str]) -> None:
        node_id = attrib.get("id")
        what = f"node #{len(self.index)}" if node_id is None else f"node {_show(node_id)}"
        self.check_attributes("node", what, attrib)
        if node_id is None:
            raise self.fail(f"{what} has no 'id'")
        if node_id in self.index:
            raise self.fail(f"node id {_show(node_id)} appears twice")
        self.index[node_id] = len(self.index)
        self.owners.append(_GraphMLOwner("node", what))

    def _start_edge(self, attrib: dict[str, str]) -> None:
        what = f"edge #{len(self.edges)}"
        self.check_attributes("edge", what, attrib)
        for end in ("source", "target"):
            if end not in attrib:
                raise self.fail(f"{what} has no {end!r}")
        directed = attrib.get("directed", "false")
        if directed == "true":
            raise self.fail(f"{what} is directed (directed graphs are not supported)")
        if directed != "false":
            raise self.fail(f"{what}: 'directed' must be 'true' or 'false', got {_show(directed)}")
        self.edges.append((attrib["source"], attrib["target"]))
        self.owners.append(_GraphMLOwner("edge", what))

    def _start_port(self, attrib: dict[str, str]) -> None:
        self.owners.append(_GraphMLOwner("port", f"port {_show(attrib.get('name', ''))}"))

    def _start_data(self, attrib: dict[str, str]) -> None:
        owner = self.owners[-1]
        key_id = attrib.get("key")
        if key_id is None:
            raise self.fail(f"a <data> of {owner.what} has no 'key'")
        key = self.keys.get(key_id)
        if key is None:
            raise self.fail(f"{owner.what} has data for an undeclared key {_show(key_id)}")
        if key.domain not in ("all", owner.kind):
            raise self.fail(f"{owner.what} has data for key {_show(key_id)}, which is declared for {key.domain}")
        if key_id in owner.keys:
            raise self.fail(f"{owner.what} has two <data> for key {_show(key_id)}")
        owner.keys.add(key_id)
        if self.colour_keys.get(owner.kind) == key_id:
            self.text = []


def _parse_graphml(text: str, source: str, max_nodes: int, max_edges: int) -> ParsedGraph:
    reader = _GraphMLReader(source)
    parser = ET.XMLParser(target=reader)
    try:
        parser.feed(text)
        parser.close()
    except ET.ParseError as exc:
        raise GraphInputError(f"{source}: cannot parse XML: {exc}") from None
    if not reader.graphs:
        raise GraphInputError(f"{source}: no <graph> element")
    nodes = list(reader.index)
    edges = []
    for k, ends in enumerate(reader.edges):
        for end in ends:
            if end not in reader.index:
                raise GraphInputError(f"{source}: edge #{k} refers to an unknown node {_show(end)}")
        edges.append((reader.index[ends[0]], reader.index[ends[1]]))
    node_colors = _colours(reader.colours["node"], lambda i: f"node {_show(nodes[i])}", source)
    edge_colors = _colours(reader.colours["edge"], lambda k: f"edge #{k}", source)
    return _build(nodes, edges, node_colors, edge_colors, source, max_nodes, max_edges)


# GML: per block, the keys read and the keys accepted and ignored (presentation and metadata).
_GML_KEYS: Mapping[str, tuple[frozenset[str], frozenset[str]]] = {
    "file": (frozenset({"graph"}), frozenset({"Creator", "Version", "creator", "version"})),
    "graph": (
        frozenset({"node", "edge", "directed", "multigraph"}),
        frozenset({"id", "name", "label", "comment", "hierarchic", "graphics"}),
    ),
    "node": (
        frozenset({"id", "label", "color"}),
        frozenset({"name", "comment", "value", "weight", "graphics", "LabelGraphics"}),
    ),
    "edge": (
        frozenset({"source", "target", "color"}),
        frozenset({"id", "label", "name", "comment", "value", "weight", "graphics", "LabelGraphics"}),
    ),
}
_GML_TOKEN = re.compile(
    r"""(?P<space>\s+|\#[^\n]*)
      | (?P<real>[+-]?(?:[0-9]*\.[0-9]+|[0-9]+\.[0-9]*|[0-9]+(?=[Ee])|(?:INF|NAN)(?![A-Za-z0-9_]))(?:[Ee][+-]?[0-9]+)?)
      | (?P<int>[+-]?[0-9]+)
      | (?P<key>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<string>"[^"]*")
      | (?P<open>\[)
      | (?P<close>\])""",
    re.VERBOSE,
)
_GML_REFERENCE = re.compile(r"&(?:#([0-9]+)|#[xX]([0-9A-Fa-f]+)|([A-Za-z][A-Za-z0-9]*));")

_GmlItems = list[tuple[str, Any, int]]  # (key, value, line); a value is an int, float, str or _GmlItems


def _gml_items(text: str, source: str) -> _GmlItems:
    """The key-value pairs of a GML text, nested lists for ``[ ... ]``, with their line numbers."""
    root: _GmlItems = []
    stack = [root]
    pending: tuple[str, int] | None = None  # a key waiting for its value
    pos, line = 0, 1
    while pos < len(text):
        match = _GML_TOKEN.match(text, pos)
        if match is None:
            raise GraphInputError(f"{source}: line {line}: unexpected character {_show(text[pos])}")
        kind, token, token_line = match.lastgroup, match.group(), line
        pos, line = match.end(), line + token.count("\n")
        if kind == "space":
            continue
        if pending is None:
            if kind == "close" and len(stack) > 1:
                stack.pop()
            elif kind == "key":
                pending = (token, token_line)
            else:
                raise GraphInputError(f"{source}: line {token_line}: expected a key, got {_show(token)}")
            continue
        key, key_line = pending
        pending = None
        if kind == "open":
            if len(stack) > MAX_NESTING:
                raise GraphInputError(f"{source}: line {token_line}: lists nested deeper than {MAX_NESTING} levels")
            child: _GmlItems = []
            stack[-1].append((key, child, key_line))
            stack.append(child)
        elif kind == "int":
            try:
                stack[-1].append((key, int(token), key_line))
            except ValueError:
                raise GraphInputError(f"{source}: line {token_line}: integer too long") from None
        elif kind == "real":
            stack[-1].append((key, float(token), key_line))
        elif kind == "string":
            stack[-1].append((key, _gml_unescape(token[1:-1]), key_line))
        else:
            raise GraphInputError(f"{source}: line {token_line}: key {_show(key)} has no value")
    if pending is not None:
        raise GraphInputError(f"{source}: line {pending[1]}: key {_show(pending[0])} has no value")
    if len(stack) > 1:
        raise GraphInputError(f"{source}: a '[' is never closed")
    return root


def _gml_unescape(text: str) -> str:
    """Resolve HTML character references (``&#233;``, ``&#xE9;``, ``&eacute;``); others stay as written."""

    def resolve(match: re.Match[str]) -> str:
        decimal, hexadecimal, name = match.groups()
        code = int(decimal, 10) if decimal else int(hexadecimal, 16) if hexadecimal else name2codepoint.get(name, -1)
        return chr(code) if 0 <= code <= 0x10FFFF else match.group()

    return _GML_REFERENCE.sub(resolve, text) if "&" in text else text


def _gml_block(items: Any, kind: str, what: str, source: str) -> dict[str, Any]:
    """One GML block (``kind``: file, graph, node or edge) as a dict.

    The block must be a list; unknown keys are refused, and so are repeated keys except ``graph``,
    ``node`` and ``edge``, whose values are collected in lists."""
    if not isinstance(items, list):
        raise GraphInputError(f"{source}: {what} must be a list [ ... ], got {_show(items)}")
    read, ignored = _GML_KEYS[kind]
    block: dict[str, Any] = {}
    for key, value, line in items:
        if key not in read and key not in ignored:
            raise GraphInputError(
                f"{source}: {what} has an unknown key {_show(key)} on line {line} "
                f"(read: {', '.join(sorted(read))}; ignored: {', '.join(sorted(ignored))})"
            )
        if key in ("graph", "node", "edge"):
            block.setdefault(key, []).append(value)
        elif key in block:
            raise GraphInputError(f"{source}: {what} has the key {_show(key)} twice (line {line})")
        else:
            block[key] = value
    return block


def _parse_gml(text: str, source: str, max_nodes: int, max_edges: int) -> ParsedGraph:
    graphs = _gml_block(_gml_items(text, source), "file", "the file", source).get("graph", [])
    if len(graphs) != 1:
        raise GraphInputError(f"{source}: expected one 'graph [ ... ]', found {len(graphs)}")
    graph = _gml_block(graphs[0], "graph", "the graph", source)
    for flag in ("directed", "multigraph"):
        value = graph.get(flag, 0)
        if not (_is_int(value) and value in (0, 1)):
            raise GraphInputError(f"{source}: '{flag}' must be 0 or 1, got {_show(value)}")
    if graph.get("directed") == 1:
        raise GraphInputError(f"{source}: directed graphs are not supported")

    index: dict[int, int] = {}  # GML id -> position
    labels: list[Any] = []
    node_colours: list[Any] = []
    for k, items in enumerate(graph.get("node", [])):
        node = _gml_block(items, "node", f"node #{k}", source)
        gml_id = node.get("id")
        if gml_id is None:
            raise GraphInputError(f"{source}: node #{k} has no 'id'")
        if not _is_int(gml_id):
            raise GraphInputError(f"{source}: node #{k} needs an integer 'id', got {_show(gml_id)}")
        if gml_id in index:
            raise GraphInputError(f"{source}: node id {gml_id} appears twice")
        if isinstance(node.get("label"), list):
            raise GraphInputError(f"{source}: node id {gml_id} has a list as its label")
        index[gml_id] = k
        labels.append(node.get("label"))
        node_colours.append(node.get("color"))
    edges: list[tuple[int, int]] = []
    edge_colours: list[Any] = []
    for k, items in enumerate(graph.get("edge", [])):
        edge = _gml_block(items, "edge", f"edge #{k}", source)
        for end in ("source", "target"):
            if end not in edge:
                raise GraphInputError(f"{source}: edge #{k} has no {end!r}")
            if not (_is_int(edge[end]) and edge[end] in index):
                raise GraphInputError(f"{source}: edge #{k} has {end} {_show(edge[end])}, not a node id")
        edges.append((index[edge["source"]], index[edge["target"]]))
        edge_colours.append(edge.get("color"))

    names = [str(label) for label in labels]
    if None in labels or len(set(names)) != len(names):
        names = [str(gml_id) for gml_id in index]
    node_colors = _colours(node_colours, lambda i: f"node {_show(names[i])}", source)
    edge_colors = _colours(edge_colours, lambda k: f"edge #{k}", source)
    return _build(names, edges, node_colors, edge_colors, source, max_nodes, max_edges)


def _parse_graph6(data: bytes, source: str, max_nodes: int, max_edges: int) -> ParsedGraph:
    body = data.strip()
    if body.startswith(_GRAPH6_HEADER):
        body = body[len(_GRAPH6_HEADER) :].strip()
    if not body:
        raise GraphInputError(f"{source}: empty graph6 data")
    if any(c in b" \t\r\n\v\f" for c in body):
        raise GraphInputError(f"{source}: graph6 input must contain a single graph")
    if body[:1] in (b":", b";"):
        raise GraphInputError(f"{source}: sparse6 is not supported, only graph6")
    if any(not 63 <= c <= 126 for c in body):
        raise GraphInputError(f"{source}: graph6 characters must be in the ASCII range '?'..'~'")
    _check_size(_graph6_order(body, source), 0, source, max_nodes, max_edges)
    G = nx.from_graph6_bytes(body)
    return graph_from_networkx(G, max_nodes, max_edges, source=source)


def _graph6_order(body: bytes, source: str) -> int:
    """The node count in a graph6 header, read before networkx allocates anything."""
    v = [c - 63 for c in body]
    if v[0] < 63:
        return v[0]
    if len(v) >= 4 and v[1] < 63:
        return (v[1] << 12) | (v[2] << 6) | v[3]
    if len(v) >= 8 and v[1] == 63:
        return sum(x << (6 * (7 - i)) for i, x in enumerate(v[2:8], start=2))
    raise GraphInputError(f"{source}: truncated graph6 header")


# ----------------------------------------------------------------------------------------------
# Validation shared by all readers


def _build(
    nodes: list[str],
    edges: Sequence[tuple[int, int]],
    node_colors: list[int] | None,
    edge_colors: list[int] | None,
    source: str,
    max_nodes: int,
    max_edges: int,
) -> ParsedGraph:
    """The ParsedGraph of ``nodes`` and ``edges`` (indices into ``nodes``) once every invariant holds."""
    n = len(nodes)
    _check_size(n, len(edges), source, max_nodes, max_edges)
    for node in nodes:
        _check_node_id(node, source)
    if len(set(nodes)) != n:
        raise GraphInputError(f"{source}: node id {_show(_first_duplicate(nodes))} appears twice")
    if node_colors is not None and len(node_colors) != n:
        raise GraphInputError(f"{source}: {len(node_colors)} node colours for {n} nodes")
    if edge_colors is not None and len(edge_colors) != len(edges):
        raise GraphInputError(f"{source}: {len(edge_colors)} edge colours for {len(edges)} edges")
    seen: set[tuple[int, int]] = set()
    keyed: list[tuple[tuple[int, int], int]] = []
    for k, (u, v) in enumerate(edges):
        if not (0 <= u < n and 0 <= v < n):
            raise GraphInputError(f"{source}: edge #{k} refers to a node outside 0..{n - 1}")
        if u == v:
            raise GraphInputError(f"{source}: self loop on node {_show(nodes[u])}")
        key = (min(u, v), max(u, v))
        if key in seen:
            raise GraphInputError(f"{source}: duplicate edge {_show(nodes[u])} -- {_show(nodes[v])}")
        seen.add(key)
        keyed.append((key, k))
    keyed.sort()
    return ParsedGraph(
        nodes=list(nodes),
        edges=[key for key, _ in keyed],
        node_colors=list(node_colors) if node_colors is not None else None,
        edge_colors=[edge_colors[k] for _, k in keyed] if edge_colors is not None else None,
    )


def _check_node_id(node: str, source: str) -> None:
    """A node id is non-empty, at most MAX_ID_CHARS characters and printable (see the module docstring)."""
    if not node:
        raise GraphInputError(f"{source}: a node id is empty")
    if len(node) > MAX_ID_CHARS:
        raise GraphInputError(f"{source}: node id {_show(node)} is longer than {MAX_ID_CHARS} characters")
    if not node.isprintable():
        bad = next(c for c in node if not c.isprintable())
        kind = {"Cc": "a control character", "Cs": "a lone surrogate"}.get(
            unicodedata.category(bad), f"the non-printable character U+{ord(bad):04X}"
        )
        raise GraphInputError(f"{source}: node id {_show(node)} contains {kind}")


def _check_size(n: int, m: int, source: str, max_nodes: int, max_edges: int) -> None:
    if n < 1:
        raise GraphInputError(f"{source}: the graph has no nodes (n = {n})")
    if n > max_nodes:
        raise GraphInputError(f"{source}: {n} nodes exceed the limit of {max_nodes}")
    if m > max_edges:
        raise GraphInputError(f"{source}: {m} edges exceed the limit of {max_edges}")


def _colour(value: Any, what: str, source: str) -> int:
    """A colour: a non-negative int (or a string of digits), at most 2**31 - 1."""
    if isinstance(value, str) and _INT_TOKEN.fullmatch(value.strip()):
        value = int(value.strip())
    if not _is_int(value):
        raise GraphInputError(f"{source}: {what} must be an integer, got {_show(value)}")
    if value < 0:
        raise GraphInputError(f"{source}: {what} must be non-negative, got {value}")
    if value > _MAX_COLOUR:
        raise GraphInputError(f"{source}: {what} is too large ({_show(value)})")
    return int(value)


def _colours(values: Sequence[Any], name: Callable[[int], str], source: str) -> list[int] | None:
    """Colours of the nodes (edges) in order, None for one without; ``name(i)`` names element i.

    None when no element has a colour; an error when only some do."""
    missing = [i for i, value in enumerate(values) if value is None]
    if len(missing) == len(values):
        return None
    if missing:
        raise GraphInputError(f"{source}: {name(missing[0])} has no colour while others have one (colour all or none)")
    return [_colour(value, f"colour of {name(i)}", source) for i, value in enumerate(values)]


def _json_colours(obj: dict[str, Any], key: str, count: int, what: str, source: str) -> list[int] | None:
    if obj.get(key) is None:
        return None
    values = _json_list(obj, key, source)
    if len(values) != count:
        raise GraphInputError(f"{source}: '{key}' has {len(values)} entries for {count} {what}")
    return [_colour(c, f"'{key}'[{i}]", source) for i, c in enumerate(values)]


def _json_list(obj: dict[str, Any], key: str, source: str) -> list[Any]:
    value = obj[key]
    if not isinstance(value, list):
        raise GraphInputError(f"{source}: '{key}' must be a list, got {type(value).__name__}")
    return value


# ----------------------------------------------------------------------------------------------
# Small helpers


def _check_format(fmt: str) -> str:
    name = str(fmt).strip().lower()
    if name not in FORMATS:
        raise GraphInputError(f"unknown graph format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return name


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise GraphInputError(f"{source}: not valid UTF-8 text (byte {exc.start})") from None


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _show(x: Any) -> str:
    """A short repr for messages."""
    try:
        text = repr(x)
    except Exception:  # e.g. an int too long to print
        text = f"<{type(x).__name__}>"
    return text if len(text) <= 40 else text[:37] + "..."


def _first_duplicate(items: Sequence[str]) -> str:
    seen: set[str] = set()
    for x in items:
        if x in seen:
            return x
        seen.add(x)
    return ""  # pragma: no cover
