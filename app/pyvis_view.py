"""A draggable graph view made with pyvis that works offline.

pyvis's template loads vis-network and Bootstrap from CDNs. We render with ``cdn_resources="in_line"`` (vis-network's
JavaScript and CSS from the pyvis package, inlined) and then delete every remaining tag that points outside the page
(the Bootstrap ``<link>``/``<script>``), so the HTML makes no network request at all.

Escaping, exactly once. Labels and tooltips go to pyvis as they are (no html.escape here): the template writes the
node data with Jinja's ``tojson`` (``<``, ``>``, ``&`` and ``'`` become JSON escapes, so nothing can close the
``<script>``), vis-network 9 draws labels on a canvas (``font.multi`` is off: no <b> markup) and sets a string
tooltip with ``innerText``. So a node id shows literally and never becomes markup. One pyvis path would break that:
when any tooltip contains the text "href", ``Network.generate_html`` switches to a custom popup that sets the tooltip
with ``innerHTML``. ``render`` fills the template itself with that switch off.

The page runs in a nested frame whose sandbox allows scripts only (``sandboxed``): an opaque origin, so even a
script in the view could not reach the app.
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
    return strip_external(render(net))


def render(net: Network) -> str:
    """``net.generate_html()`` (pyvis 0.3.2) with the "href" popup off: tooltips are always set as text."""
    nodes, edges, heading, height, width, options = net.get_network_data()
    return net.templateEnv.get_template(net.path).render(
        height=height, width=width, nodes=nodes, edges=edges, heading=heading, options=options,
        physics_enabled=json.loads(options).get("physics", {}).get("enabled", True), use_DOT=net.use_DOT,
        dot_lang=net.dot_lang, widget=net.widget, bgcolor=net.bgcolor, conf=net.conf, tooltip_link=False,
        neighborhood_highlight=net.neighborhood_highlight, select_menu=net.select_menu, filter_menu=net.filter_menu,
        notebook=False, cdn_resources=net.cdn_resources)
