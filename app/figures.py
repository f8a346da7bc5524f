"""Plotly figure builders (pure functions: data in, figure out; no Streamlit here).

Every builder returns a ``go.Figure`` with a fixed height; the page frame enlarges it in presenter mode. Points
that can be clicked carry ``customdata`` so a page can tell which node, site or bond was selected.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative

PALETTE = qualitative.Plotly + qualitative.D3 + qualitative.Set3
SPIN_COLORS = [[0.0, "#1f3b73"], [0.5, "#f2f2f2"], [1.0, "#e8a33d"]]  # -1 dark blue, +1 amber
DIVERGING = "RdBu"
PHASE_COLORS = {
    "ferromagnet": "#e8a33d",
    "antiferromagnet": "#1f3b73",
    "stripes-horizontal": "#2ca02c",
    "stripes-vertical": "#17becf",
    "field-polarized": "#d62728",
}


def _base(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, font=dict(size=15)), height=height, margin=dict(l=10, r=10, t=40, b=10),
        paper_bgcolor="white", plot_bgcolor="white", showlegend=False,
    )
    return fig


def _square_axes(fig: go.Figure, reverse_y: bool = False) -> None:
    fig.update_xaxes(visible=False, scaleanchor="y", scaleratio=1, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed" if reverse_y else True, constrain="domain")


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
) -> go.Figure:
    """A node-link drawing. ``groups`` colours nodes categorically (orbits), ``values`` continuously.

    ``edge_styles``: one of "normal", "missing" (red dashed: in the input, not in the output) or "extra" (orange:
    in the output, not in the input), aligned with ``edges``.
    """
    fig = go.Figure()
    n = len(pos)
    styles = list(edge_styles) if edge_styles is not None else ["normal"] * len(edges)
    look = {"normal": ("#888888", 2, "solid"), "missing": ("#d62728", 3, "dash"), "extra": ("#ff7f0e", 3, "solid")}
    for style in ("normal", "missing", "extra"):
        xs, ys = [], []
        for (u, v), s in zip(edges, styles):
            if s == style:
                xs += [pos[u, 0], pos[v, 0], None]
                ys += [pos[u, 1], pos[v, 1], None]
        if xs:
            color, width, dash = look[style]
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=color, width=width, dash=dash),
                                     hoverinfo="skip", name=style))
    if groups is not None:
        colors = [PALETTE[int(g) % len(PALETTE)] for g in groups]
        marker = dict(size=node_size, color=colors, line=dict(color="#333", width=1))
    elif values is not None:
        marker = dict(size=node_size, color=list(values), colorscale="Viridis", showscale=True,
                      line=dict(color="#333", width=1), colorbar=dict(thickness=10))
    else:
        marker = dict(size=node_size, color="#9ecae1", line=dict(color="#333", width=1))
    line_widths = [4 if i in set(selected) else 1 for i in range(n)]
    marker["line"] = dict(color=["#d62728" if i in set(selected) else "#333" for i in range(n)], width=line_widths)
    fig.add_trace(go.Scatter(
        x=pos[:, 0], y=pos[:, 1], mode="markers+text",
        text=list(labels) if labels is not None else [str(i) for i in range(n)],
        textfont=dict(color="black", size=12), textposition="middle center",
        hovertext=list(hover) if hover is not None else None, hoverinfo="text" if hover is not None else "none",
        customdata=list(range(n)), marker=marker, name="nodes",
    ))
    _base(fig, title, height)
    _square_axes(fig)
    fig.update_layout(dragmode=False, clickmode="event+select")
    return fig


def adjacency_figure(A: np.ndarray, *, title: str = "", reference: np.ndarray | None = None, height: int = 320,
                     labels: Sequence[str] | None = None, zmax: float = 1.0) -> go.Figure:
    """A heatmap of an adjacency (or edge-probability) matrix; with ``reference`` the wrong entries are outlined."""
    n = A.shape[0]
    ticks = list(labels) if labels is not None else [str(i) for i in range(n)]
    fig = go.Figure(go.Heatmap(z=A, x=ticks, y=ticks, colorscale="Greys", zmin=0, zmax=zmax, showscale=False,
                               hovertemplate="(%{y}, %{x}): %{z:.2f}<extra></extra>"))
    if reference is not None:
        wrong = np.argwhere((A >= 0.5) != (reference >= 0.5))
        if len(wrong):
            fig.add_trace(go.Scatter(
                x=[ticks[j] for _, j in wrong], y=[ticks[i] for i, _ in wrong], mode="markers",
                marker=dict(symbol="square-open", size=max(6, 240 // max(n, 1)), color="#d62728", line=dict(width=2)),
                hoverinfo="skip",
            ))
    _base(fig, title, height)
    fig.update_yaxes(autorange="reversed", scaleanchor="x", constrain="domain", showgrid=False)
    fig.update_xaxes(showgrid=False, constrain="domain", side="top")
    return fig


def matrix_heatmap(M: np.ndarray, *, title: str = "", x: Sequence[str] | None = None, y: Sequence[str] | None = None,
                   height: int = 300, colorscale: str = DIVERGING, symmetric: bool = True) -> go.Figure:
    zmax = float(np.abs(M).max()) if symmetric and M.size else None
    fig = go.Figure(go.Heatmap(z=M, x=list(x) if x is not None else None, y=list(y) if y is not None else None,
                               colorscale=colorscale, zmid=0 if symmetric else None,
                               zmin=-zmax if zmax else None, zmax=zmax, colorbar=dict(thickness=10)))
    _base(fig, title, height)
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category")
    return fig


# ----------------------------------------------------------------------------------------------------------------------
# Lattices


def lattice_input_figure(J: np.ndarray, h: np.ndarray, *, title: str = "", height: int = 420,
                         marked: Sequence[tuple[str, int, int]] = ()) -> go.Figure:
    """Sites as circles coloured by the field h, bonds as squares at their midpoints coloured by J.

    Row i is drawn downwards, column j to the right. customdata is ("h", i, j), ("jx", i, j) or ("jy", i, j): the
    horizontal bond (i, j)–(i, j+1) sits at (j + 1/2, i), the vertical bond (i, j)–(i+1, j) at (j, i + 1/2).
    Bonds that wrap around the periodic boundary are drawn past the last row or column.
    """
    L = h.shape[0]
    vmax = max(float(np.abs(J).max()), float(np.abs(h).max()), 1e-9)
    cell = max(height - 80, 100) / (L + 0.5)  # pixels per lattice spacing in a square plot of this height
    site_size, bond_size = max(4.0, 0.42 * cell), max(3.0, 0.26 * cell)
    ii, jj = np.meshgrid(np.arange(L), np.arange(L), indexing="ij")
    fig = go.Figure()
    marked_set = set(marked)
    for name, xs, ys, vals, symbol in (
        ("jx", jj + 0.5, ii, J[0], "square"),
        ("jy", jj, ii + 0.5, J[1], "square"),
    ):
        custom = [[name, int(a), int(b)] for a, b in zip(ii.ravel(), jj.ravel())]
        fig.add_trace(go.Scatter(
            x=xs.ravel(), y=ys.ravel(), mode="markers", customdata=custom,
            marker=dict(symbol=symbol, size=bond_size, color=vals.ravel(), colorscale=DIVERGING,
                        cmin=-vmax, cmax=vmax, line=dict(width=[3 if (name, a, b) in marked_set else 0.5
                                                                 for a, b in zip(ii.ravel(), jj.ravel())],
                                                         color="#333")),
            hovertemplate=f"{'J_x' if name == 'jx' else 'J_y'}" + "[%{customdata[1]},%{customdata[2]}] = %{marker.color:.2f}<extra></extra>",
        ))
    custom = [["h", int(a), int(b)] for a, b in zip(ii.ravel(), jj.ravel())]
    fig.add_trace(go.Scatter(
        x=jj.ravel(), y=ii.ravel(), mode="markers", customdata=custom,
        marker=dict(size=site_size, color=h.ravel(), colorscale=DIVERGING, cmin=-vmax, cmax=vmax,
                    showscale=True, colorbar=dict(thickness=10, title="value"),
                    line=dict(width=[3 if ("h", a, b) in marked_set else 1 for a, b in zip(ii.ravel(), jj.ravel())],
                              color="#333")),
        hovertemplate="h[%{customdata[1]},%{customdata[2]}] = %{marker.color:.2f}<extra></extra>",
    ))
    _base(fig, title, height)
    _square_axes(fig, reverse_y=True)
    fig.update_layout(dragmode=False, clickmode="event+select")
    return fig


def spins_figure(s: np.ndarray, *, title: str = "", height: int = 260, show_scale: bool = False) -> go.Figure:
    """Spins ±1 (or magnetisations in [-1, 1]) as a heatmap, row i downwards."""
    fig = go.Figure(go.Heatmap(z=s, zmin=-1, zmax=1, colorscale=SPIN_COLORS, showscale=show_scale, xgap=1, ygap=1,
                               hovertemplate="s[%{y},%{x}] = %{z:.2f}<extra></extra>", colorbar=dict(thickness=10)))
    _base(fig, title, height)
    fig.update_xaxes(visible=False, scaleanchor="y", constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", constrain="domain")
    return fig


def field_figure(f: np.ndarray, *, title: str = "", height: int = 260) -> go.Figure:
    vmax = float(np.abs(f).max()) or 1.0
    fig = go.Figure(go.Heatmap(z=f, zmin=-vmax, zmax=vmax, colorscale="PiYG", showscale=False,
                               hovertemplate="[%{y},%{x}] = %{z:.3f}<extra></extra>"))
    _base(fig, title, height)
    fig.update_xaxes(visible=False, scaleanchor="y", constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", constrain="domain")
    return fig


def phase_diagram_figure(grid: np.ndarray, phases: Sequence[str], current: tuple[float, float], *, h: float,
                         height: int = 380) -> go.Figure:
    """Phase of the constant Hamiltonian at each (J_x, J_y) of ``grid`` (N, 2) for the field h; click a point."""
    fig = go.Figure()
    for phase, color in PHASE_COLORS.items():
        idx = [k for k, p in enumerate(phases) if p == phase]
        if not idx:
            continue
        fig.add_trace(go.Scatter(
            x=grid[idx, 0], y=grid[idx, 1], mode="markers", name=phase, customdata=grid[idx],
            marker=dict(size=11, color=color, symbol="square"),
            hovertemplate=f"{phase}<br>J_x=%{{x:.2f}}, J_y=%{{y:.2f}}<extra></extra>",
        ))
    fig.add_trace(go.Scatter(x=[current[0]], y=[current[1]], mode="markers", name="current",
                             marker=dict(size=18, symbol="x", color="black"), hoverinfo="skip"))
    _base(fig, f"Phase diagram at h = {h:g} (click to pick J_x, J_y)", height)
    fig.update_layout(showlegend=True, legend=dict(orientation="h", y=-0.15), dragmode=False, clickmode="event+select")
    fig.update_xaxes(title="J_x", zeroline=True, zerolinecolor="#999", range=[-2.2, 2.2])
    fig.update_yaxes(title="J_y", zeroline=True, zerolinecolor="#999", range=[-2.2, 2.2])
    return fig


# ----------------------------------------------------------------------------------------------------------------------
# Charts


def bar_figure(labels: Sequence[str], values: Sequence[float], *, title: str = "", height: int = 300,
               colors: Sequence[str] | None = None, y_title: str = "", reference: float | None = None) -> go.Figure:
    fig = go.Figure(go.Bar(x=list(labels), y=list(values), marker_color=list(colors) if colors else "#4c78a8",
                           text=[f"{v:g}" for v in values], textposition="auto"))
    if reference is not None:
        fig.add_hline(y=reference, line=dict(color="#d62728", dash="dash"), annotation_text="uniform")
    _base(fig, title, height)
    fig.update_yaxes(title=y_title, gridcolor="#eee")
    return fig


def grouped_bar_figure(categories: Sequence[str], series: dict[str, Sequence[float]], *, title: str = "",
                       y_title: str = "", height: int = 340) -> go.Figure:
    fig = go.Figure()
    for k, (name, vals) in enumerate(series.items()):
        fig.add_trace(go.Bar(name=name, x=list(categories), y=list(vals), marker_color=PALETTE[k % len(PALETTE)]))
    _base(fig, title, height)
    fig.update_layout(barmode="group", showlegend=True, legend=dict(orientation="h", y=-0.2))
    fig.update_yaxes(title=y_title, gridcolor="#eee")
    return fig


# ----------------------------------------------------------------------------------------------------------------------
# Molecules

ATOM_COLORS = {"C": "#909090", "N": "#3050f8", "O": "#ff0d0d", "F": "#90e050", "?": "#f5e6a8"}
BOND_LOOK = {"single": ("#555555", 2, "solid"), "double": ("#1f77b4", 5, "solid"), "triple": ("#9467bd", 8, "solid"),
             "?": ("#d62728", 1.5, "dot")}


def molecule_figure(pos: np.ndarray, atoms: Sequence[str], bonds: Sequence[tuple[int, int, str]], *, title: str = "",
                    height: int = 360, labels: Sequence[str] | None = None) -> go.Figure:
    """Atoms coloured by type (? = masked), bonds styled by type (dotted red = masked pair)."""
    fig = go.Figure()
    for kind, (color, width, dash) in BOND_LOOK.items():
        xs, ys = [], []
        for u, v, b in bonds:
            if b == kind:
                xs += [pos[u, 0], pos[v, 0], None]
                ys += [pos[u, 1], pos[v, 1], None]
        if xs:
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=color, width=width, dash=dash),
                                     hoverinfo="skip", name=kind))
    text = list(labels) if labels is not None else list(atoms)
    fig.add_trace(go.Scatter(
        x=pos[:, 0], y=pos[:, 1], mode="markers+text", text=text, textposition="middle center",
        marker=dict(size=30, color=[ATOM_COLORS.get(a, "#ccc") for a in atoms], line=dict(color="#333", width=1)),
        hovertext=[f"atom {i}: {a}" for i, a in enumerate(atoms)], hoverinfo="text", name="atoms",
    ))
    _base(fig, title, height)
    _square_axes(fig)
    return fig
