"""Running one fuzz input and judging what came out.

Outcomes (``KINDS``): "ok" and "error" are the two clean ones; the rest are failures: "traceback" (an
exception other than the documented one, or a traceback in the output), "hang" (past the time limit),
"memory" (MemoryError or an allocator failure), "crash" (the process died) and "bad" (output that breaks
the contract).

Contracts
    A graph reader (``parse_graph_bytes`` under ``PARSE_LIMITS``) returns a ParsedGraph that satisfies the
    invariants of ``backend.graph_io`` (``graph_problem`` finds none) or raises GraphInputError whose
    message is one printable line.
    A command (``backend.cli.main``, or ``python -m backend``) exits 0 with one JSON document on stdout
    (usage text for -h/--help), or exits 2 with nothing on stdout and exactly one printable line on
    stderr, starting with "error: ".
"""
from __future__ import annotations

import io
import json
import traceback
from contextlib import redirect_stderr, redirect_stdout
from typing import NamedTuple

from backend.deadline import deadline
from backend.graph_io import MAX_ID_CHARS, GraphInputError, ParsedGraph, parse_graph_bytes

__all__ = ["FAILURES", "KINDS", "PARSE_LIMITS", "Outcome", "TimeLimit", "cli_in_process", "exception_outcome",
           "graph_problem", "parse_outcome", "process_outcome", "time_limit"]

KINDS = ("ok", "error", "traceback", "hang", "memory", "crash", "bad")
FAILURES = KINDS[2:]
PARSE_LIMITS = {"max_nodes": 200, "max_edges": 2000}  # small, so that generated inputs reach them
_MAX_COLOUR = 2**31 - 1


class Outcome(NamedTuple):
    kind: str  # one of KINDS
    detail: str = ""  # the message, traceback or broken rule
    stdout: str = ""
    stderr: str = ""


class TimeLimit(BaseException):
    """Raised by :func:`time_limit`; a BaseException, so that no ``except Exception`` under test stops it."""


def time_limit(seconds: float):
    """Raise TimeLimit in the main thread once ``seconds`` have passed (backend.deadline). A blocking system call
    (opening a FIFO, reading a pipe) is interrupted too; a C function that never returns to Python is not, which is
    why the fuzz runner also watches its workers from outside."""
    return deadline(seconds, TimeLimit)


def graph_problem(g: object, max_nodes: int = 2000, max_edges: int = 200_000) -> str | None:
    """The first invariant of ``backend.graph_io`` that ``g`` breaks, or None."""
    if not isinstance(g, ParsedGraph):
        return f"not a ParsedGraph: {type(g).__name__}"
    if not 1 <= g.n <= max_nodes or len(g.edges) > max_edges:
        return f"size out of limits: n={g.n}, m={len(g.edges)}"
    if len(set(g.nodes)) != g.n:
        return "repeated node ids"
    for node in g.nodes:
        if not (isinstance(node, str) and 0 < len(node) <= MAX_ID_CHARS and node.isprintable()):
            return f"bad node id {node!r}"
    if g.edges != sorted(set(g.edges)):
        return "edges not sorted and distinct"
    if not all(type(u) is int and type(v) is int and 0 <= u < v < g.n for u, v in g.edges):
        return "an edge is not a pair u < v of nodes"
    for name, colours, count in (("node", g.node_colors, g.n), ("edge", g.edge_colors, len(g.edges))):
        if colours is not None and (
            len(colours) != count or not all(type(c) is int and 0 <= c <= _MAX_COLOUR for c in colours)
        ):
            return f"bad {name} colours"
    return None


def _one_printable_line(text: str) -> bool:
    return bool(text) and text.isprintable()


def exception_outcome(exc: BaseException) -> Outcome:
    """An exception that escaped: a memory blow-up or a traceback."""
    text = "".join(traceback.format_exception(exc))
    if isinstance(exc, MemoryError) or "can't allocate memory" in str(exc):
        return Outcome("memory", text)
    return Outcome("traceback", text)


def parse_outcome(fmt: str, data: bytes) -> Outcome:
    """A graph reader's outcome, or with ``fmt`` = "points:xyz" / "points:json" the point-cloud reader's followed by
    the cloud's canonicalization."""
    if fmt.startswith("points:"):
        return _point_cloud_outcome(fmt.removeprefix("points:"), data)
    try:
        g = parse_graph_bytes(data, fmt, **PARSE_LIMITS)
    except GraphInputError as err:
        message = str(err)
        return Outcome("error" if _one_printable_line(message) else "bad", message)
    except Exception as exc:
        return exception_outcome(exc)
    problem = graph_problem(g, **PARSE_LIMITS)
    return Outcome("bad", problem) if problem else Outcome("ok", f"n={g.n} m={len(g.edges)}")


def _point_cloud_outcome(fmt: str, data: bytes) -> Outcome:
    from backend.pointcloud import PointCloudError, canonicalize_point_cloud
    from backend.pointcloud_io import PointCloudInputError, parse_point_cloud

    try:
        cloud = parse_point_cloud(data, fmt)
        form = canonicalize_point_cloud(cloud.points, cloud.types)
    except (PointCloudInputError, PointCloudError) as err:
        message = str(err)
        return Outcome("error" if _one_printable_line(message) else "bad", message)
    except Exception as exc:
        return exception_outcome(exc)
    return Outcome("ok", f"n={cloud.n} order={form.stabilizer.order}")


def cli_in_process(argv: list[str]) -> tuple[int, str, str]:
    """``backend.cli.main(argv)`` with stdout and stderr captured: (exit code, stdout, stderr).

    SystemExit (argparse's --help) gives its code; other exceptions propagate."""
    from backend.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    return rc, out.getvalue(), err.getvalue()


def process_outcome(rc: int, out: str, err: str) -> Outcome:
    """Judge a command's exit code and output against the contract."""
    if "Traceback" in err or "Traceback" in out:
        kind = "memory" if "MemoryError" in err or "can't allocate memory" in err else "traceback"
        return Outcome(kind, err[-2000:], out[-2000:], err[-4000:])
    if rc == 0:
        if out.startswith("usage:"):
            return Outcome("ok", "usage text", out[-2000:], err[-2000:])
        try:
            json.loads(out)
        except ValueError:
            return Outcome("bad", "exit 0 without one JSON document on stdout", out[-2000:], err[-2000:])
        return Outcome("ok", f"{len(out)} bytes of JSON", "", err[-2000:])
    lines = err.splitlines()
    if rc == 2 and not out and len(lines) == 1 and lines[0].startswith("error: ") and lines[0].isprintable():
        return Outcome("error", lines[0])
    if rc < 0:
        return Outcome("crash", f"killed by signal {-rc}", out[-2000:], err[-2000:])
    return Outcome("bad", f"exit {rc} with {len(lines)} stderr lines", out[-2000:], err[-2000:])
