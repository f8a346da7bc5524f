"""Plotly figure builders (pure functions: data in, figure out; no Streamlit here).

Every builder returns a ``SpecFigure`` with a fixed height; the page frame enlarges it in presenter mode. Points
that can be clicked carry ``customdata`` so a page can tell which node, site or bond was selected.

Text sizes come from one plotly template, ``template(presenter)`` (``register_templates()`` names it ``sympe`` and
``sympe-presenter`` in plotly, for scripts): the base font (ticks, legends, colour bars, axis titles), the figure
title and the hover labels scale together, and every axis and title pushes the margins out as far as its labels need
(``automargin``), so no builder sets a font size or a margin wide enough for its labels itself; a figure whose only
text outside the plot is its title gets that margin computed instead (``SpecFigure.present``), which spares the
browser a second draw. Builders set only what the data needs: a title (at most ``TITLE_CHARS`` characters per line;
``wrap`` breaks longer ones), axes, and a legend placed by
``BOTTOM_LEGEND`` at the foot of the figure, below the axis titles.

Speed: a page draws up to ~20 figures per rerun. plotly's property-by-property validation (go.Scatter(...),
update_layout(...)) costs about 10 ms per figure, and even unvalidated, go.Figure's constructor and ``to_dict()``
(which st.plotly_chart calls) deep-copy every trace: 3–6 ms per figure, about 0.1 s for a 2,000-node drawing. So each
builder writes plain dicts, and ``SpecFigure`` hands them to Streamlit as they are; ``tests/test_app.py`` validates
every builder's output with plotly once instead (``VALIDATE``).
"""
from __future__ import annotations

import html
from functools import lru_cache
from typing import Any, Iterable, Sequence

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.colors import get_colorscale, qualitative, sample_colorscale

PALETTE = qualitative.Plotly + qualitative.D3 + qualitative.Set3
VIRIDIS = get_colorscale("Viridis")  # resolved once: plotly looks a named scale up anew on every call (about 1 ms)
SPIN_COLORS = [[0.0, "#1f3b73"], [0.5, "#f2f2f2"], [1.0, "#e8a33d"]]  # -1 dark blue, +1 amber
# plotly.js's "RdBu" (blue for low, red for high; not colorbrewer's RdBu of plotly.colors), spelt out so that the
# cells coloured here (lattice_input_figure's outlines) match the markers and colour bars plotly.js colours with it.
DIVERGING = [[0.0, "rgb(5,10,172)"], [0.35, "rgb(106,137,247)"], [0.5, "rgb(190,190,190)"], [0.6, "rgb(220,170,132)"],
             [0.7, "rgb(230,145,90)"], [1.0, "rgb(178,10,28)"]]
PHASE_COLORS = {
    "ferromagnet": "#e8a33d",
    "antiferromagnet": "#1f3b73",
    "stripes-horizontal": "#2ca02c",
    "stripes-vertical": "#17becf",
    "field-polarized": "#d62728",
}
VALIDATE = False  # tests switch this on to have plotly check every property


LABEL_SWITCH = (0.05 * 1.05) ** 0.5 - 0.05  # 0.1791: the luminance where black and white text contrast equally


def relative_luminance(fill: str) -> float:
    """WCAG 2 relative luminance of ``#rgb``, ``#rrggbb`` or ``rgb(r, g, b)`` / ``rgba(...)``: 0 black … 1 white."""
    fill = fill.strip()
    if fill.startswith("#"):
        digits = fill[1:] if len(fill) == 7 else "".join(c * 2 for c in fill[1:4])
        rgb = [int(digits[k : k + 2], 16) / 255 for k in (0, 2, 4)]
    else:
        rgb = [float(c) / 255 for c in fill[fill.index("(") + 1 : fill.index(")")].split(",")[:3]]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def label_color(fill: str) -> str:
    """Black or white text, whichever has the larger WCAG contrast ratio with the fill: white on fills of relative
    luminance below 0.179, where (L + 0.05) / 0.05 = 1.05 / (L + 0.05). The one rule for every label drawn on a
    coloured marker."""
    return "white" if relative_luminance(fill) < LABEL_SWITCH else "black"


def plain(texts: Iterable[object]) -> list[str]:
    """Strings that plotly shows as they are. plotly renders a subset of HTML in text, hover labels, tick labels
    and legend names (<b>, <br>, <a href>, entities), so every string that can come from the user (node ids, atom
    types, file names) goes through here, escaped once: plotly decodes the entities back when it draws. The one
    helper for every figure builder; a builder never escapes anything else."""
    return [html.escape(str(t), quote=False) for t in texts]


class SpecFigure(go.Figure):
    """A plotly figure kept as the plain dicts it was built from: ``spec = {"data": [...], "layout": {...}}``.

    st.plotly_chart only calls ``to_dict()`` on a figure, and this returns ``spec`` itself, without plotly's copies.
    plotly's constructor is skipped on purpose, so the other go.Figure methods do not work here; the layout carries
    plotly's default template explicitly, so the figure looks as a go.Figure would. Edit ``spec`` in place (the page
    frame does, for the presenter mode); builders make a fresh one per call.
    """

    def __init__(self, data: list[dict], layout: dict):  # noqa: plotly's constructor is skipped on purpose
        self.__dict__["spec"] = {"data": data, "layout": {"template": template(False), **layout}}

    def present(self, presenter: bool) -> "SpecFigure":
        """The figure for the mode: its template's text sizes, and in presenter mode PRESENTER_HEIGHT times the
        height it was built with (so calling it again, for either mode, never compounds)."""
        layout = self.spec["layout"]
        built = self.__dict__.setdefault("built_height", layout.get("height") or 400)
        layout["template"] = template(presenter)
        layout["height"] = int(built * PRESENTER_HEIGHT) if presenter else built
        if _axes_hidden(layout) and not layout.get("showlegend") and not _has_colour_bar(self.spec["data"]):
            built_top = self.__dict__.setdefault("built_top", layout.get("margin", {}).get("t", 0))
            _fix_title_margin(layout, presenter, built_top)
        return self

    def to_dict(self) -> dict:
        return self.spec

    def __repr__(self) -> str:
        return f"SpecFigure({len(self.spec['data'])} traces, height {self.spec['layout'].get('height')})"


FONT_SIZE = {False: 13, True: 17}  # base text: ticks, legends, colour bars, axis titles, annotations
TITLE_SIZE = {False: 15, True: 20}
HOVER_SIZE = {False: 13, True: 18}
PRESENTER_HEIGHT = 1.15
TITLE_PAD = 8  # pixels between a title and the plot area
TITLE_TOP = 4  # pixels above a title whose margin is set (_fix_title_margin)
TITLE_CHARS = 26  # the longest title line that fits a quarter of a 1280-pixel page at the presenter's title size
BOTTOM_LEGEND = dict(orientation="h", x=0, xanchor="left", y=0, yref="container", yanchor="bottom")


@lru_cache(maxsize=2)
def template(presenter: bool) -> dict:
    """The one template of every figure, as a dict: plotly's default template with the mode's text sizes and
    automatic margins (see the module docstring)."""
    base = pio.templates[pio.templates.default].to_plotly_json()
    axis = dict(automargin=True, title=dict(standoff=6))
    layout = {
        **base["layout"],
        "font": {**base["layout"].get("font", {}), "size": FONT_SIZE[presenter]},
        "title": {**base["layout"].get("title", {}), "font": {"size": TITLE_SIZE[presenter]}, "automargin": True,
                  "x": 0.5, "xanchor": "center", "y": 1, "yref": "paper", "yanchor": "bottom", "pad": {"b": TITLE_PAD}},
        "hoverlabel": {"font": {"size": HOVER_SIZE[presenter]}},
        "legend": {"font": {"size": FONT_SIZE[presenter]}},
        "xaxis": {**base["layout"].get("xaxis", {}), **axis},
        "yaxis": {**base["layout"].get("yaxis", {}), **axis},
    }
    return {"data": base["data"], "layout": layout}


def _axes_hidden(layout: dict) -> bool:
    """True when every axis of the layout is hidden (drawings and heatmaps): nothing but the title needs a margin."""
    axes = [v for k, v in layout.items() if k.startswith(("xaxis", "yaxis"))]
    return bool(axes) and all(a.get("visible") is False for a in axes) and "scene" not in layout


def _has_colour_bar(data: list[dict]) -> bool:
    return any(t.get("showscale") or t.get("marker", {}).get("showscale") for t in data)


def _fix_title_margin(layout: dict, presenter: bool, built_top: int) -> None:
    """The top margin the title needs, set once instead of by plotly's ``automargin``.

    With automargin plotly draws a figure, measures what its title and axes push, and draws it again whenever the
    margins moved: about half of the browser's plotly time per rerun (a profile of the Home page's "Sample again").
    A figure with hidden axes, no legend and no colour bar has only its title to fit, whose height is known: its lines
    at the title size times plotly's line spacing (1.3), plus the title's pad. Without automargin plotly no longer
    lifts a paper-anchored title above the plot area, so the title is placed in the figure's own coordinates: its
    block centred ``TITLE_TOP`` + half its height below the top edge (plotly's top and bottom anchors misplace
    multi-line titles by about a line; its middle anchor does not)."""
    title = layout.get("title") or {}
    text = title.get("text") if isinstance(title, dict) else title
    if not text:
        return
    block = (str(text).count("<br>") + 1) * TITLE_SIZE[presenter] * 1.3
    layout.setdefault("margin", {})["t"] = max(built_top, int(np.ceil(block)) + TITLE_PAD + TITLE_TOP)
    layout["title"] = {**title, "automargin": False, "yref": "container", "yanchor": "middle",
                       "y": 1 - (TITLE_TOP + block / 2) / layout["height"]}


def register_templates() -> None:
    """Make the two templates known to plotly by name (``sympe``, ``sympe-presenter``), for scripts and notebooks."""
    for presenter, name in ((False, "sympe"), (True, "sympe-presenter")):
        pio.templates[name] = go.layout.Template(template(presenter))


def wrap(text: str, width: int = TITLE_CHARS) -> str:
    """``text`` broken at spaces into as few lines (plotly's ``<br>``) of at most ``width`` characters as possible,
    and those lines as even as possible (no short last word on a line of its own); a single longer word stays
    whole. For titles built from code; user strings go through ``plain`` first."""
    words = text.split(" ")
    lines = _fill(words, width)
    for narrower in range(-(-len(text) // len(lines)), width):
        even = _fill(words, narrower)
        if len(even) == len(lines):
            return "<br>".join(even)
    return "<br>".join(lines)


def _fill(words: list[str], width: int) -> list[str]:
    """Greedy line filling: each line takes words while it stays within ``width`` (the fewest lines possible)."""
    lines: list[str] = []
    for word in words:
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def _figure(data: list[dict], layout: dict) -> SpecFigure:
    if VALIDATE:
        go.Figure(data=data, layout=layout)  # raises on any invalid property
    return SpecFigure(data, layout)


def _layout(title: str, height: int, **extra: Any) -> dict:
    layout = dict(title=dict(text=wrap(title)), height=height, margin=dict(l=10, r=10, t=10, b=10),
                  paper_bgcolor="white", plot_bgcolor="white", showlegend=False)
    layout.update(extra)
    return layout


def _square(reverse_y: bool = False) -> dict:
    return dict(xaxis=dict(visible=False, scaleanchor="y", scaleratio=1, constrain="domain"),
                yaxis=dict(visible=False, autorange="reversed" if reverse_y else True, constrain="domain"))


def _list(a) -> list:
    return a.tolist() if isinstance(a, np.ndarray) else list(a)


ROW_GAP = 0.04  # the gap between the panels of a multi-panel figure, as a fraction of its width


def _cell(k: int, count: int) -> list[float]:
    """The paper-coordinate domain [start, end] of panel k of ``count`` side by side, ROW_GAP apart."""
    return [k / count + ROW_GAP / 2, (k + 1) / count - ROW_GAP / 2]


def _reference_line(reference: float, suffix: str = "") -> tuple[dict, dict]:
    """A dashed red line at y = ``reference`` across the plot of axes x<suffix>/y<suffix>, and its label "uniform"
    (on a white backing, so that it stays readable over a bar of the same colour): (shape, annotation)."""
    shape = dict(type="line", xref=f"x{suffix} domain", x0=0, x1=1, yref=f"y{suffix}", y0=reference, y1=reference,
                 line=dict(color="#d62728", dash="dash"))
    label = dict(xref=f"x{suffix} domain", x=1, yref=f"y{suffix}", y=reference, text="uniform", showarrow=False,
                 xanchor="right", yanchor="bottom", font=dict(color="#d62728"), bgcolor="rgba(255,255,255,0.85)")
    return shape, label


# ----------------------------------------------------------------------------------------------------------------------
# Graphs


def graph_figure(
    pos: np.ndarray,
    edges: Sequence[tuple[int, int]],
    *,
    title: str = "",
    groups: Sequence[int] | None = None,
    values: Sequence[float] | None = None,
    labels: Sequence[str] | None = None,
    hover: Sequence[str] | None = None,
    edge_styles: Sequence[str] | None = None,
    selected: Sequence[int] = (),
    height: int = 360,
    node_size: int = 26,
    show_scale: bool = True,
    show_labels: bool = True,
) -> SpecFigure:
    """A node-link drawing. ``groups`` colours nodes categorically (orbits), ``values`` continuously.

    ``edge_styles``: one of "normal", "missing" (red dashed: in the input, not in the output) or "extra" (orange:
    in the output, not in the input), aligned with ``edges``. Markers shrink to at most 300/√n pixels and lines to
    12/√n (at least 4 and 0.5) so that large graphs stay legible; ``show_labels=False`` leaves the text out (the
    hover still names each node).
    """
    data = _graph_traces(pos, edges, groups=groups, values=values, labels=labels, hover=hover,
                         edge_styles=edge_styles, selected=selected, node_size=node_size, show_scale=show_scale,
                         show_labels=show_labels)
    return _figure(data, _layout(title, height, dragmode=False, clickmode="event+select", **_square()))


def _graph_traces(pos: np.ndarray, edges: Sequence[tuple[int, int]], *, groups=None, values=None, labels=None,
                  hover=None, edge_styles=None, selected: Sequence[int] = (), node_size: int = 26,
                  show_scale: bool = True, show_labels: bool = True, axes: str = "") -> list[dict]:
    """The traces of one node-link drawing (``graph_figure`` states the conventions) on the axes pair ``x<axes>``,
    ``y<axes>`` ("" is the first)."""
    n = len(pos)
    px, py = pos[:, 0].tolist(), pos[:, 1].tolist()
    node_size = max(4, min(node_size, int(300 / max(n, 1) ** 0.5)))
    width = max(0.5, min(2.0, 12 / max(n, 1) ** 0.5))
    styles = list(edge_styles) if edge_styles is not None else ["normal"] * len(edges)
    look = {"normal": ("#888888", width, "solid"), "missing": ("#d62728", 1.5 * width, "dash"),
            "extra": ("#ff7f0e", 1.5 * width, "solid")}
    data: list[dict] = []
    for style in ("normal", "missing", "extra"):
        xs: list = []
        ys: list = []
        for (u, v), s in zip(edges, styles):
            if s == style:
                xs += [px[u], px[v], None]
                ys += [py[u], py[v], None]
        if xs:
            color, width, dash = look[style]
            data.append(dict(type="scatter", x=xs, y=ys, mode="lines", line=dict(color=color, width=width, dash=dash),
                             hoverinfo="skip", name=style, xaxis=f"x{axes}", yaxis=f"y{axes}"))
    chosen = set(selected)
    outline = dict(color=["#d62728" if i in chosen else "#333" for i in range(n)],
                   width=[4 if i in chosen else min(1.0, width / 2) for i in range(n)])
    if groups is not None:
        fills = [PALETTE[int(g) % len(PALETTE)] for g in groups]
        marker = dict(size=node_size, color=fills, line=outline)
    elif values is not None:
        v = np.asarray(_list(values), dtype=float)
        span = float(v.max() - v.min()) if v.size else 0.0
        fills = sample_colorscale(VIRIDIS, ((v - v.min()) / span).tolist() if span > 0 else [0.5] * len(v))
        marker = dict(size=node_size, color=_list(values), colorscale="Viridis", showscale=show_scale, line=outline,
                      colorbar=dict(thickness=10))
    else:
        fills = ["#9ecae1"] * n
        marker = dict(size=node_size, color="#9ecae1", line=outline)
    text = plain(labels if labels is not None else [str(i) for i in range(n)]) if show_labels else None
    data.append(dict(
        type="scatter", x=px, y=py, mode="markers+text" if show_labels else "markers", text=text,
        textfont=dict(color=[label_color(f) for f in fills], size=12), textposition="middle center",
        hovertext=plain(hover) if hover is not None else None, hoverinfo="text" if hover is not None else "none",
        customdata=list(range(n)), marker=marker, name="nodes", xaxis=f"x{axes}", yaxis=f"y{axes}",
    ))
    return data


def graph_grid_figure(pos: np.ndarray, edges: Sequence[tuple[int, int]], numberings: Sequence[Sequence[int]], *,
                      titles: Sequence[str], per_row: int, cell_height: int = 230, node_size: int = 20,
                      show_labels: bool = True) -> SpecFigure:
    """One drawing of the same graph per numbering, ``per_row`` to a row, in one figure (one draw in the browser
    instead of one per drawing): drawing k colours node i by ``numberings[k][i]`` (viridis over 0..n-1, no colour
    bar) and labels it with that number, under the title ``titles[k]`` (an annotation at the base font size);
    hover "node i: <number>". Cell k is on axes k + 1, each square, ``cell_height`` pixels high with its title
    inside."""
    K = len(numberings)
    rows = -(-K // per_row)
    n = len(pos)
    head = (FONT_SIZE[True] * 1.3 + TITLE_PAD) / (rows * cell_height)  # a title line at the larger size
    data, layout = [], {}
    for k, numbering in enumerate(numberings):
        r, c = divmod(k, per_row)
        suffix = "" if k == 0 else str(k + 1)
        numbers = [int(p) for p in numbering]
        data += _graph_traces(pos, edges, values=numbers, labels=[str(p) for p in numbers],
                              hover=[f"node {i}: {p}" for i, p in enumerate(numbers)], node_size=node_size,
                              show_scale=False, show_labels=show_labels, axes=suffix)
        data[-1]["marker"].update(cmin=0, cmax=max(n - 1, 1))
        top, bottom = 1 - r / rows, 1 - (r + 1) / rows
        layout[f"xaxis{suffix}"] = dict(visible=False, domain=_cell(c, per_row),
                                        scaleanchor=f"y{suffix}", scaleratio=1, constrain="domain")
        layout[f"yaxis{suffix}"] = dict(visible=False, domain=[bottom + ROW_GAP / 2, top - head], constrain="domain")
        layout.setdefault("annotations", []).append(dict(
            text=plain([titles[k]])[0], x=(c + 0.5) / per_row, y=top, xref="paper", yref="paper", xanchor="center",
            yanchor="top", showarrow=False))
    return _figure(data, _layout("", rows * cell_height, dragmode=False, **layout))


def adjacency_figure(A: np.ndarray, *, title: str = "", reference: np.ndarray | None = None, height: int = 320,
                     labels: Sequence[str] | None = None, zmax: float = 1.0) -> SpecFigure:
    """A heatmap of an adjacency (or edge-probability) matrix; with ``reference`` the wrong entries are outlined.

    Cell (i, j) is centred on x = j, y = i (row i downwards), both axes fixed to [−0.5, n − 0.5] with ticks at the
    cell centres labelled by ``labels``. The outlines are drawn in the same data coordinates (one line trace, a
    square of side 2·OUTLINE around each wrong cell's centre), so they stay on their cells at any size, in presenter
    mode too, and whatever the values (a constant matrix included). (Markers sized in pixels would not: their size
    cannot follow the cell's.)"""
    n = A.shape[0]
    ticks = plain(labels) if labels is not None else [str(i) for i in range(n)]
    index = list(range(n))
    data = [dict(type="heatmap", z=np.asarray(A, dtype=float).tolist(), x=index, y=index,
                 colorscale=[[0.0, "#ffffff"], [1.0, "#111111"]], zmin=0, zmax=zmax, showscale=False,
                 hovertemplate="(%{y}, %{x}): %{z:.2f}<extra></extra>")]
    if reference is not None:
        wrong = np.argwhere((A >= 0.5) != (reference >= 0.5))
        if len(wrong):
            xs, ys = cell_outlines(wrong)
            data.append(dict(type="scatter", x=xs, y=ys, mode="lines", line=dict(color="#d62728", width=2),
                             hoverinfo="skip", name="wrong"))
    axis = dict(showgrid=False, zeroline=False, tickmode="array", tickvals=index, ticktext=ticks, constrain="domain")
    layout = _layout(title, height,
                     yaxis=dict(axis, range=[n - 0.5, -0.5], autorange=False, scaleanchor="x"),
                     xaxis=dict(axis, range=[-0.5, n - 0.5], autorange=False))
    return _figure(data, layout)


OUTLINE = 0.42  # half the side of a wrong cell's outline, in cells: inside the cell, so neighbours stay apart


def cell_outlines(cells: np.ndarray) -> tuple[list, list]:
    """x and y of closed squares around the cells (row i, column j) → centre (j, i), separated by None."""
    xs: list = []
    ys: list = []
    for i, j in np.asarray(cells, dtype=int).reshape(-1, 2).tolist():
        xs += [j - OUTLINE, j + OUTLINE, j + OUTLINE, j - OUTLINE, j - OUTLINE, None]
        ys += [i - OUTLINE, i - OUTLINE, i + OUTLINE, i + OUTLINE, i - OUTLINE, None]
    return xs, ys


def matrix_heatmap(M: np.ndarray, *, title: str = "", x: Sequence[str] | None = None, y: Sequence[str] | None = None,
                   height: int = 300, colorscale: str = DIVERGING, symmetric: bool = True) -> SpecFigure:
    zmax = float(np.abs(M).max()) if symmetric and M.size else None
    trace = dict(type="heatmap", z=M.tolist(), colorscale=colorscale, colorbar=dict(thickness=10))
    if x is not None:
        trace["x"] = plain(x)
    if y is not None:
        trace["y"] = plain(y)
    if zmax:
        trace.update(zmid=0, zmin=-zmax, zmax=zmax)
    return _figure([trace], _layout(title, height, yaxis=dict(autorange="reversed", type="category"),
                                    xaxis=dict(type="category")))


# ----------------------------------------------------------------------------------------------------------------------
# Lattices


WEBGL_FROM_L = 48  # the painter draws with WebGL from this size on (lattice_input_figure)
CELLS_IN_DATA_UNITS_UP_TO_L = 8  # lattice_input_figure draws its cells as filled outlines up to this size
SITE_RADIUS, BOND_HALF = 0.21, 0.13  # in lattice spacings: the radius of a site's circle, half a bond's square


def lattice_input_figure(J: np.ndarray, h: np.ndarray, *, title: str = "", height: int | None = None,
                         marked: Sequence[tuple[str, int, int]] = ()) -> SpecFigure:
    """Sites as circles coloured by the field h, bonds as squares at their midpoints coloured by J.

    Row i is drawn downwards, column j to the right. customdata is ("h", i, j), ("jx", i, j) or ("jy", i, j): the
    horizontal bond (i, j)–(i, j+1) sits at (j + 1/2, i), the vertical bond (i, j)–(i+1, j) at (j, i + 1/2).
    Bonds that wrap around the periodic boundary are drawn past the last row or column. The default height grows
    with L, from 420 px up to L = 30 to 560 px from L = 42 on, about the width of the page's column (more height
    would only add empty space): at L = 64 sites are about 7 px apart, and a click selects the nearest marker.
    From L = WEBGL_FROM_L on the markers are drawn with WebGL (``scattergl``, selectable the same way), outlined only
    where marked, and the sites' trace first (WebGL hit-testing gives a click that touches a site and a bond to the
    first trace): as SVG, each of the 3·L² markers is an element of its own that the browser styles and composites
    again on every rerun of the page (about 0.2 s of its main thread per rerun at L = 64).

    Up to L = CELLS_IN_DATA_UNITS_UP_TO_L the circles and squares are filled outlines sized in lattice spacings
    (``_cell_outlines``, traces after the three marker traces) and the markers, still there for hover, clicks,
    selection and the colour bar, are transparent: a marker's size is in pixels and is chosen before the width of the
    plot is known, so in a narrow column (Home's input at a 1280-pixel screen) markers sized for the height
    overlapped, while outlines scale with the axes. (Layout shapes would scale too, but they are one SVG element per
    cell: drawn so, a 16×16 painter cost the browser about 60% more CPU per redraw than its markers.)
    """
    L = h.shape[0]
    height = height or min(560, max(420, 12 * L + 60))
    vmax = max(float(np.abs(J).max()), float(np.abs(h).max()), 1e-9)
    cell = max(height - 80, 100) / (L + 0.5)  # pixels per lattice spacing in a square plot of this height
    site_size, bond_size = max(4.0, 2 * SITE_RADIUS * cell), max(3.0, 2 * BOND_HALF * cell)
    marked_set = set(marked)
    kind, bond_line, site_line = ("scattergl", 0.0, 0.0) if L >= WEBGL_FROM_L else ("scatter", 0.5, 1.0)
    data = []
    for name, vals in (("jx", J[0]), ("jy", J[1])):
        xs, ys, custom = _lattice_points(L, name)
        data.append(dict(
            type=kind, x=xs, y=ys, mode="markers", customdata=custom,
            marker=dict(symbol="square", size=bond_size, color=vals.ravel().tolist(), colorscale=DIVERGING,
                        cmin=-vmax, cmax=vmax,
                        line=dict(width=_outline(L, name, marked_set, 3, bond_line), color="#333")),
            hovertemplate=("J_x" if name == "jx" else "J_y")
            + "[%{customdata[1]},%{customdata[2]}] = %{marker.color:.2f}<extra></extra>",
        ))
    xs, ys, custom = _lattice_points(L, "h")
    data.append(dict(
        type=kind, x=xs, y=ys, mode="markers", customdata=custom,
        marker=dict(size=site_size, color=h.ravel().tolist(), colorscale=DIVERGING, cmin=-vmax, cmax=vmax,
                    showscale=True, colorbar=dict(thickness=10, orientation="h", y=-0.02, yanchor="top", len=0.9,
                                                  nticks=3, title=dict(text="value", side="top")),
                    line=dict(width=_outline(L, "h", marked_set, 3, site_line), color="#333")),
        hovertemplate="h[%{customdata[1]},%{customdata[2]}] = %{marker.color:.2f}<extra></extra>",
    ))
    if kind == "scattergl":
        data = data[-1:] + data[:-1]
    elif L <= CELLS_IN_DATA_UNITS_UP_TO_L:
        hidden = dict(marker=dict(opacity=0))
        for trace in data:
            trace.update(marker={**trace["marker"], "opacity": 0}, selected=hidden, unselected=hidden)
        for name, vals in (("jx", J[0]), ("jy", J[1]), ("h", h)):
            data += _cell_outlines(L, name, vals, vmax, marked_set)
    return _figure(data, _layout(title, height, dragmode=False, clickmode="event+select", **_square(reverse_y=True)))


_CIRCLE = [(float(np.cos(a)), float(np.sin(a))) for a in np.linspace(0, 2 * np.pi, 17)]  # closed 16-gon
_SQUARE = [(1.0, 1.0), (-1.0, 1.0), (-1.0, -1.0), (1.0, -1.0), (1.0, 1.0)]


def _cell_outlines(L: int, name: str, values: np.ndarray, vmax: float, marked: set) -> list[dict]:
    """The sites ("h", circles as 16-gons) or bonds ("jx", "jy", squares) of an L×L lattice as filled outlines in
    data coordinates, centred at the markers' positions (``_lattice_points``), filled with their values' colours on
    ``DIVERGING`` over [−vmax, vmax] and outlined thicker where (name, i, j) is marked: one line trace per colour
    and outline width (a constant lattice is three traces), not taking hover, clicks or selections."""
    xs, ys, custom = _lattice_points(L, name)
    colors = sample_colorscale(DIVERGING, np.clip((values.ravel() / vmax + 1) / 2, 0, 1).tolist())
    r, corners, thin = (SITE_RADIUS, _CIRCLE, 1.0) if name == "h" else (BOND_HALF, _SQUARE, 0.5)
    groups: dict[tuple[str, float], tuple[list, list]] = {}
    for x, y, (_, i, j), color in zip(xs, ys, custom, colors):
        gx, gy = groups.setdefault((color, 3.0 if (name, i, j) in marked else thin), ([], []))
        gx += [x + r * cx for cx, _ in corners] + [None]
        gy += [y + r * cy for _, cy in corners] + [None]
    return [dict(type="scatter", x=gx, y=gy, mode="lines", fill="toself", fillcolor=color, hoverinfo="skip",
                 line=dict(color="#333", width=width), name=f"{name} cells", showlegend=False)
            for (color, width), (gx, gy) in groups.items()]


@lru_cache(maxsize=16)
def _lattice_points(L: int, name: str) -> tuple[list, list, list]:
    """x, y and customdata of the painter's markers of one kind ("h" sites, "jx" or "jy" bonds), row-major over
    (i, j). Cached per L because they never change (12,288 small lists at L = 64); shared, so read-only."""
    ii, jj = np.meshgrid(np.arange(L), np.arange(L), indexing="ij")
    dx, dy = {"h": (0, 0), "jx": (0.5, 0), "jy": (0, 0.5)}[name]
    custom = [[name, a, b] for a, b in zip(ii.ravel().tolist(), jj.ravel().tolist())]
    return (jj + dx).ravel().tolist(), (ii + dy).ravel().tolist(), custom


def _outline(L: int, name: str, marked: set, wide: float, thin: float) -> list[float]:
    """Marker outline widths: ``wide`` for the marked (name, i, j), ``thin`` elsewhere."""
    widths = [thin] * (L * L)
    for kind, i, j in marked:
        if kind == name and i < L and j < L:
            widths[i * L + j] = wide
    return widths


def _grid_axes() -> dict:
    return dict(xaxis=dict(visible=False, scaleanchor="y", constrain="domain"),
                yaxis=dict(visible=False, autorange="reversed", constrain="domain"))


def _grid_height(L: int) -> int:
    """Default height of an L×L heatmap: 260 px up to L = 16, 320 px above (about 4 px per site at L = 64)."""
    return 260 if L <= 16 else 320


def spins_figure(s: np.ndarray, *, title: str = "", height: int | None = None, show_scale: bool = False) -> SpecFigure:
    """Spins ±1 (or magnetisations in [-1, 1]) as a heatmap, row i downwards. Sites are separated by a 1 px gap
    up to L = 16; above, the gaps would cover a quarter of each site, so there are none."""
    data = [_spins_trace(s, "", showscale=show_scale, colorbar=dict(thickness=10))]
    return _figure(data, _layout(title, height or _grid_height(len(s)), **_grid_axes()))


def _spins_trace(s: np.ndarray, hover_prefix: str, **extra: Any) -> dict:
    """One spin heatmap trace (``spins_figure``'s conventions), hover "<prefix>s[i, j] = value"."""
    L = len(s)
    return dict(type="heatmap", z=np.asarray(s, dtype=float).tolist(), zmin=-1, zmax=1, colorscale=SPIN_COLORS,
                xgap=int(L <= 16), ygap=int(L <= 16),
                hovertemplate=f"{hover_prefix}s[%{{y}},%{{x}}] = %{{z:.2f}}<extra></extra>", **extra)


def spins_row_figure(samples: Sequence[np.ndarray], *, title: str = "", height: int = 200) -> SpecFigure:
    """Several spin configurations side by side in one figure (one draw in the browser instead of one per sample,
    and the row uses the width it is given): sample k on axes k + 1, a gap of ``ROW_GAP`` of the width between
    them, each square, hover "sample k: s[i, j]"."""
    K = len(samples)
    data, axes = [], {}
    for k, s in enumerate(samples):
        suffix = "" if k == 0 else str(k + 1)
        data.append(_spins_trace(s, f"sample {k + 1}: ", showscale=False, xaxis=f"x{suffix}", yaxis=f"y{suffix}"))
        axes[f"xaxis{suffix}"] = dict(visible=False, domain=_cell(k, K), scaleanchor=f"y{suffix}", constrain="domain")
        axes[f"yaxis{suffix}"] = dict(visible=False, autorange="reversed", constrain="domain")
    return _figure(data, _layout(title, height, **axes))


def field_figure(f: np.ndarray, *, title: str = "", height: int | None = None) -> SpecFigure:
    vmax = float(np.abs(f).max()) or 1.0
    data = [dict(type="heatmap", z=np.asarray(f, dtype=float).tolist(), zmin=-vmax, zmax=vmax, colorscale="PiYG",
                 showscale=False, hovertemplate="[%{y},%{x}] = %{z:.3f}<extra></extra>")]
    return _figure(data, _layout(title, height or _grid_height(len(f)), **_grid_axes()))


def phase_diagram_figure(grid: np.ndarray, phases: Sequence[str], current: tuple[float, float], *, h: float,
                         height: int = 380) -> SpecFigure:
    """Phase of the constant Hamiltonian at each (J_x, J_y) of ``grid`` (N, 2) for the field h; click a point."""
    data = []
    for phase, color in PHASE_COLORS.items():
        idx = [k for k, p in enumerate(phases) if p == phase]
        if not idx:
            continue
        data.append(dict(
            type="scatter", x=grid[idx, 0].tolist(), y=grid[idx, 1].tolist(), mode="markers", name=phase,
            customdata=grid[idx].tolist(), marker=dict(size=11, color=color, symbol="square"),
            hovertemplate=f"{phase}<br>J_x=%{{x:.2f}}, J_y=%{{y:.2f}}<extra></extra>",
        ))
    data.append(dict(type="scatter", x=[current[0]], y=[current[1]], mode="markers", name="current",
                     marker=dict(size=18, symbol="x", color="black"), hoverinfo="skip"))
    layout = _layout(f"Phase diagram at h = {h:g} (click to pick J_x, J_y)", height, showlegend=True,
                     legend=BOTTOM_LEGEND, dragmode=False, clickmode="event+select",
                     xaxis=dict(title=dict(text="J_x"), zeroline=True, zerolinecolor="#999", range=[-2.2, 2.2]),
                     yaxis=dict(title=dict(text="J_y"), zeroline=True, zerolinecolor="#999", range=[-2.2, 2.2]))
    return _figure(data, layout)


# ----------------------------------------------------------------------------------------------------------------------
# Charts


def bar_figure(labels: Sequence[str], values: Sequence[float], *, title: str = "", height: int = 300,
               colors: Sequence[str] | None = None, y_title: str = "", reference: float | None = None) -> SpecFigure:
    """One bar per label, in order. Labels are categories even when they read as numbers ("0 1 2 3", "12"): plotly
    would otherwise put such bars on a numeric axis at those values."""
    data = [dict(type="bar", x=plain(labels), y=_list(values), marker=dict(color=list(colors) if colors else "#4c78a8"),
                 text=[f"{v:g}" for v in values], textposition="auto")]
    layout = _layout(title, height, xaxis=dict(type="category"), yaxis=dict(title=dict(text=y_title), gridcolor="#eee"))
    if reference is not None:
        shape, label = _reference_line(reference)
        layout.update(shapes=[shape], annotations=[label])
    return _figure(data, layout)


def bar_row_figure(panels: Sequence[dict], *, y_title: str = "", height: int = 300) -> SpecFigure:
    """Bar charts side by side in one figure, sharing one y range: one draw in the browser instead of one per chart
    (each figure with axes is drawn twice by plotly's automargin). ``panels``: dicts with ``name`` (the trace's name,
    for reading the figure back), ``title``, ``labels``, ``values`` and optionally ``colors`` and ``reference`` (a
    dashed line labelled "uniform", as in ``bar_figure``). Panel k has axes x{k+1}/y{k+1}; its title is an
    annotation above it, wrapped to the panel's width."""
    n = max(len(panels), 1)
    chars = max(8, int(TITLE_CHARS * 4 / n))  # TITLE_CHARS fits a quarter of the page
    lines = max((wrap(p.get("title", ""), chars).count("<br>") + 1 for p in panels), default=1)
    top = int(np.ceil(lines * FONT_SIZE[True] * 1.3)) + TITLE_PAD  # the panel titles at the larger (presenter) size
    layout = _layout("", height, margin=dict(l=10, r=10, b=10, t=top), shapes=[], annotations=[])
    data = []
    for k, panel in enumerate(panels):
        suffix = "" if k == 0 else str(k + 1)
        values, labels = _list(panel["values"]), plain(panel["labels"])
        colors = panel.get("colors")
        data.append(dict(type="bar", name=plain([panel["name"]])[0], x=labels, y=values,
                         marker=dict(color=list(colors) if colors else "#4c78a8"), text=[f"{v:g}" for v in values],
                         textposition="auto", xaxis=f"x{suffix}", yaxis=f"y{suffix}",
                         hovertemplate="%{x}: %{y}<extra></extra>"))
        left, right = _cell(k, n)
        layout[f"xaxis{suffix}"] = dict(type="category", domain=[left, right], anchor=f"y{suffix}", tickmode="array",
                                        tickvals=labels, ticktext=[wrap(t, max(6, chars // 3)) for t in labels],
                                        tickangle=0)
        layout[f"yaxis{suffix}"] = dict(anchor=f"x{suffix}", gridcolor="#eee", **({} if k == 0 else {"matches": "y"}),
                                        **({"title": dict(text=y_title)} if k == 0 else {}))
        layout["annotations"].append(dict(text=wrap(plain([panel.get("title", "")])[0], chars), x=(left + right) / 2,
                                          y=1, xref="paper", yref="paper", xanchor="center", yanchor="bottom",
                                          yshift=TITLE_PAD / 2, showarrow=False))
        if panel.get("reference") is not None:
            shape, label = _reference_line(panel["reference"], suffix)
            layout["shapes"].append(shape)
            layout["annotations"].append(label)
    return _figure(data, layout)


def grouped_bar_figure(categories: Sequence[str], series: dict[str, Sequence[float]], *, title: str = "",
                       y_title: str = "", height: int = 340, category_chars: int | None = None,
                       values: bool = False) -> SpecFigure:
    """One bar per series in each category; ``category_chars``: category labels broken into lines of at most that
    many characters (``wrap``), so that long ones need not be tilted; ``values``: each bar's value written on it to
    three significant digits, inside the bar, or just above it when the bar is short (a bar of 0 then still shows)."""
    x = plain(categories)
    if category_chars:
        x = [wrap(c, category_chars) for c in x]
    data = [dict(type="bar", name=plain([name])[0], x=x, y=_list(vals),
                 marker=dict(color=PALETTE[k % len(PALETTE)]))
            for k, (name, vals) in enumerate(series.items())]
    if values:
        top = max((abs(v) for trace in data for v in trace["y"]), default=0) or 1
        for trace in data:
            trace.update(text=[f"{v:.3g}" for v in trace["y"]],
                         textposition=["inside" if abs(v) >= 0.15 * top else "outside" for v in trace["y"]])
    layout = _layout(title, height, barmode="group", showlegend=True, legend=BOTTOM_LEGEND,
                     xaxis=dict(type="category"), yaxis=dict(title=dict(text=y_title), gridcolor="#eee"))
    return _figure(data, layout)


def curves_figure(series: dict[str, tuple[Sequence[float], Sequence[float]]], *, title: str = "", x_title: str = "",
                  y_title: str = "", y_range: tuple[float, float] | None = None, height: int = 320) -> SpecFigure:
    """One line with markers per named series {name: (xs, ys)}, in PALETTE order, with a legend."""
    data = [dict(type="scatter", mode="lines+markers" if len(xs) <= 20 else "lines", name=plain([name])[0],
                 x=_list(xs), y=_list(ys), line=dict(color=PALETTE[k % len(PALETTE)], width=2))
            for k, (name, (xs, ys)) in enumerate(series.items())]
    yaxis = dict(title=dict(text=y_title), gridcolor="#eee", zeroline=False)
    if y_range is not None:
        yaxis["range"] = list(y_range)
    layout = _layout(title, height, showlegend=True, legend=dict(orientation="h", y=-0.25),
                     xaxis=dict(title=dict(text=x_title), gridcolor="#eee"), yaxis=yaxis,
                     margin=dict(l=60, r=10, t=40, b=40))
    return _figure(data, layout)


# ----------------------------------------------------------------------------------------------------------------------
# Molecules

ATOM_COLORS = {"C": "#909090", "N": "#3050f8", "O": "#ff0d0d", "F": "#90e050", "?": "#f5e6a8"}
BOND_LOOK = {"single": ("#555555", 2, "solid"), "double": ("#1f77b4", 5, "solid"), "triple": ("#9467bd", 8, "solid"),
             "?": ("#d62728", 1.5, "dot")}


def molecule_figure(pos: np.ndarray, atoms: Sequence[str], bonds: Sequence[tuple[int, int, str]], *, title: str = "",
                    height: int = 360, labels: Sequence[str] | None = None) -> SpecFigure:
    """Atoms coloured by type (? = masked), bonds styled by type (dotted red = masked pair)."""
    px, py = pos[:, 0].tolist(), pos[:, 1].tolist()
    data = []
    for kind, (color, width, dash) in BOND_LOOK.items():
        xs: list = []
        ys: list = []
        for u, v, b in bonds:
            if b == kind:
                xs += [px[u], px[v], None]
                ys += [py[u], py[v], None]
        if xs:
            data.append(dict(type="scatter", x=xs, y=ys, mode="lines", line=dict(color=color, width=width, dash=dash),
                             hoverinfo="skip", name=kind))
    fills = [ATOM_COLORS.get(a, "#cccccc") for a in atoms]
    data.append(dict(
        type="scatter", x=px, y=py, mode="markers+text", text=plain(labels if labels is not None else atoms),
        textposition="middle center", textfont=dict(color=[label_color(f) for f in fills]),
        marker=dict(size=30, color=fills, line=dict(color="#333", width=1)),
        hovertext=plain(f"atom {i}: {a}" for i, a in enumerate(atoms)), hoverinfo="text", name="atoms",
    ))
    return _figure(data, _layout(title, height, **_square()))
