"""Reading user-supplied graph files into a validated simple undirected graph.

Every reader ends in one :class:`ParsedGraph`: nodes are renumbered 0..n-1 (``nodes[i]`` keeps the
original id as a string), edges are pairs ``(u, v)`` with ``u < v``, sorted, without duplicates, and
optional integer colours sit on nodes and on edges (aligned with ``edges``).

Formats (``FORMATS``; ``load_graph`` picks one from the file extension when none is given)

``edgelist`` (.txt .edgelist .edges .el)
    One edge ``u v`` per line, tokens separated by whitespace and/or commas. ``#`` starts a comment;
    blank lines are skipped. A line with a single token declares an isolated node. An optional third
    integer token is the edge colour; when one edge line has it, every edge line must.
    Node order: order of first appearance.
``json`` (.json)
    ``{"n": int, "edges": [[u, v], ...]}`` with integer ids 0..n-1 (node order 0..n-1), or
    ``{"nodes": [id, ...], "edges": [[u, v], ...]}`` with string/integer ids that the edges refer to
    (node order: that list). Optional ``"node_colors"`` (n ints) and ``"edge_colors"`` (one int per
    edge); an edge may also be written ``[u, v, colour]``.
``graphml`` (.graphml .xml) and ``gml`` (.gml)
    Read with networkx; ids become strings (GML: the node labels when every node has a distinct one,
    otherwise the GML ids). Node order: the file's. An integer ``color`` attribute is read as the
    node (edge) colour when every node (edge) carries one. Directed graphs are refused.
``graph6`` (.g6 .graph6)
    A single graph, optional ``>>graph6<<`` header; nodes 0..n-1.

Validation and limits
    Every problem -- unreadable or oversized file, bad encoding (text formats must be UTF-8), syntax
    errors, unknown node references, self loops, duplicate or parallel edges, non-integer or negative
    colours, fewer than 1 or more than ``max_nodes`` nodes (default 2000), more than ``max_edges``
    edges (default 200 000), files above ``max_bytes`` (default 5 000 000) -- raises
    :class:`GraphInputError` with a one-line message. The parse functions raise nothing else for any
    bytes input.
"""
from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import torch

__all__ = [
    "FORMATS",
    "EXTENSIONS",
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

_MAX_COLOUR = 2**31 - 1
_MAX_MESSAGE = 300
_INT_TOKEN = re.compile(r"[+-]?[0-9]+")
_GRAPH6_HEADER = b">>graph6<<"


class GraphInputError(ValueError):
    """A graph input that cannot be used; the message is a single human-readable line."""

    def __init__(self, message: object) -> None:
        text = " ".join(str(message).split())
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
    """Read and validate the graph file at ``path`` (format from the extension when ``fmt`` is None)."""
    p = Path(path)
    fmt = format_for_path(p) if fmt is None else _check_format(fmt)
    source = f"{p.name} ({fmt})"
    try:
        if not p.exists():
            raise GraphInputError(f"{source}: file not found")
        if p.is_dir():
            raise GraphInputError(f"{source}: is a directory, not a file")
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

    Directed graphs, parallel edges and self loops are refused; integer ``color`` attributes are
    read when every node (edge) has one.
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
    index = {node: i for i, node in enumerate(G.nodes)}
    edges = [(index[u], index[v]) for u, v in G.edges()]
    node_colors = _attribute_colours([d for _, d in G.nodes(data=True)], "node", source)
    edge_colors = _attribute_colours([d for _, _, d in G.edges(data=True)], "edge", source)
    nodes = [str(node) for node in G.nodes]
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
        return _parse_text(text, fmt, source, max_nodes, max_edges)
    except GraphInputError:
        raise
    except Exception as exc:  # parsers may raise nearly anything on hostile input (XML, networkx, recursion)
        raise GraphInputError(f"{source}: cannot parse: {str(exc) or type(exc).__name__}") from exc


def _parse_text(text: str, fmt: str, source: str, max_nodes: int, max_edges: int) -> ParsedGraph:
    if fmt == "edgelist":
        return _parse_edgelist(text, source, max_nodes, max_edges)
    if fmt == "json":
        return _parse_json(text, source, max_nodes, max_edges)
    if fmt == "graphml":
        with warnings.catch_warnings():  # e.g. "No key type ... Using string", unsupported ports
            warnings.simplefilter("ignore")
            G = nx.parse_graphml(text)
        return graph_from_networkx(G, max_nodes, max_edges, source=source)
    if fmt == "gml":
        return _parse_gml(text, source, max_nodes, max_edges)
    raise GraphInputError(f"{source}: format {fmt!r} is not a text format")  # pragma: no cover


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


def _parse_json(text: str, source: str, max_nodes: int, max_edges: int) -> ParsedGraph:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GraphInputError(f"{source}: invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")
    if not isinstance(obj, dict):
        raise GraphInputError(f"{source}: the top level must be an object with 'n' or 'nodes' and 'edges'")

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
            raise GraphInputError(f"{source}: duplicate node id {_show(_first_duplicate(nodes))}")

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

    raw_edges = _json_list(obj, "edges", source) if "edges" in obj else []
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


def _parse_gml(text: str, source: str, max_nodes: int, max_edges: int) -> ParsedGraph:
    G = nx.parse_gml(text, label=None)  # nodes keyed by GML id, so any (distinct) labels work
    labels = [data.get("label") for _, data in G.nodes(data=True)]
    if all(label is not None for label in labels) and len({str(x) for x in labels}) == len(labels):
        G = nx.relabel_nodes(G, {node: str(label) for node, label in zip(G.nodes, labels)}, copy=True)
    return graph_from_networkx(G, max_nodes, max_edges, source=source)


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
    n = len(nodes)
    _check_size(n, len(edges), source, max_nodes, max_edges)
    if len(set(nodes)) != n:
        raise GraphInputError(f"{source}: duplicate node id {_show(_first_duplicate(nodes))}")
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


def _attribute_colours(attrs: list[dict[str, Any]], kind: str, source: str) -> list[int] | None:
    """Colours from a ``color`` attribute carried by every node (edge); None when some lack it."""
    if not attrs or not all("color" in a for a in attrs):
        return None
    return [_colour(a["color"], f"{kind} attribute 'color'", source) for a in attrs]


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
