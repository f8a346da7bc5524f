"""A draggable graph view made with pyvis that works offline.

pyvis's template loads vis-network and Bootstrap from CDNs. We render with ``cdn_resources="in_line"`` (vis-network's
JavaScript and CSS from the pyvis package, inlined) and then delete every remaining tag that points outside the page
(the Bootstrap ``<link>``/``<script>``), so the HTML makes no network request at all. Labels and tooltips go to
pyvis as they are, escaped exactly once: pyvis serializes the node data with Jinja's ``tojson`` (which writes
``<``, ``>`` and ``&`` as JSON escapes), and vis-network 9 draws labels on a canvas and puts tooltip strings into
``innerText``, never into HTML. So a node id from an uploaded file shows literally and cannot inject markup.
"""
from __future__ import annotations

import html
import json
import re
from typing import Sequence

import numpy as np
from pyvis.network import Network

from .figures import PALETTE

_EXTERNAL_TAG = re.compile(
    r"<link\b[^>]*\bhref\s*=\s*[\"']?(?:https?:)?//[^>]*>"  # stylesheets from a CDN
    r"|<script\b[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//[^>]*>\s*</script>",  # scripts from a CDN
    re.IGNORECASE | re.DOTALL,
)


def strip_external(page: str) -> str:
    """Remove every <link href=...> and <script src=...> that points to another host."""
    return _EXTERNAL_TAG.sub("", page)


def external_references(page: str) -> list[str]:
    """Attributes that would make the browser fetch something from another host (empty for a clean page)."""
    return re.findall(r"\b(?:src|href)\s*=\s*[\"']?((?:https?:)?//[^\"'\s>]+)", page, re.IGNORECASE)


def sandboxed(page: str, height_px: int) -> str:
    """``page`` in a nested iframe whose sandbox allows scripts only: the view runs in an opaque origin, so its
    scripts cannot reach the app, its cookies or its storage (Streamlit's own component frame allows scripts and
    the same origin together). The outer document holds nothing but that frame."""
    return (f'<iframe sandbox="allow-scripts" title="graph view" srcdoc="{html.escape(page, quote=True)}" '
            f'style="border:0;width:100%;height:{int(height_px)}px"></iframe>')


def graph_html(
    n: int,
    edges: Sequence[tuple[int, int]],
    *,
    labels: Sequence[str],
    groups: Sequence[int] | None = None,
    tooltips: Sequence[str] | None = None,
    height_px: int = 420,
    positions: np.ndarray | None = None,
    show_labels: bool = True,
) -> str:
    """Self-contained HTML of a draggable node-link view, nodes coloured by ``groups``.

    Without ``positions`` vis-network lays the graph out with its physics simulation (fine for a few dozen nodes).
    With ``positions`` (n, 2) in [-1, 1] (y up) the nodes start there and physics is off, so a large graph appears at
    once and stays put; nodes can still be dragged. ``show_labels=False`` leaves the labels to the tooltips."""
    net = Network(height=f"{height_px}px", width="100%", cdn_resources="in_line", notebook=False)
    scale = 40.0 * max(n, 1) ** 0.5  # canvas units: about 40 per node along each axis of a square
    for i in range(n):
        color = PALETTE[int(groups[i]) % len(PALETTE)] if groups is not None else "#9ecae1"
        title = tooltips[i] if tooltips is not None else labels[i]
        extra = {} if positions is None else {"x": float(positions[i, 0] * scale), "y": float(-positions[i, 1] * scale)}
        net.add_node(i, label=str(labels[i]) if show_labels else " ", title=str(title),
                     color=color, shape="dot", size=14 if show_labels else 6, **extra)
    for u, v in edges:
        net.add_edge(int(u), int(v), color="#888888")
    physics = {"stabilization": {"iterations": 150}} if positions is None else {"enabled": False}
    net.set_options(json.dumps({"physics": physics, "interaction": {"dragNodes": True}}))
    page = net.generate_html(notebook=False)
    return strip_external(page)
