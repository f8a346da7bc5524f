"""End-to-end: how the Graph lab displays user text and its heatmaps, in headless Chromium (one server for the
session, tests/e2e/conftest.py).

A graph whose node ids are HTML is uploaded: plotly's hover label shows an id literally (no bold, no element), the
`none` decoded-adjacency heatmap spans exactly n cells with its outlines on its cells (measured on the drawn SVG),
and the pyvis view draws, shows ids and tooltips as text, runs in an opaque origin (sandbox without
allow-same-origin) and runs no script from an id. Screenshots go to screenshots/ for review.
"""
from __future__ import annotations

import json

from harness import SCREENSHOTS
from test_browser import (assert_no_error_box, assert_no_exception, open_page, screenshot, show_pyvis_view,
                          wait_idle)

IDS = ["<b>bold</b>", "a&b", 'q"uote', "<script>window.__script=1</script>", '<img src=x onerror="window.__img=1" href>',
       "plain"]
RING = {"nodes": IDS, "edges": [[IDS[i], IDS[(i + 1) % 6]] for i in range(6)]}

NODE_PIXEL = """(el, k) => {  // page coordinates of point k of the "nodes" trace of a plotly chart
  const gd = el.querySelector('.js-plotly-plot'), fl = gd._fullLayout, box = gd.getBoundingClientRect();
  const t = gd._fullData.find(d => d.name === 'nodes');
  return [box.left + fl.xaxis._offset + fl.xaxis.l2p(t.x[k]), box.top + fl.yaxis._offset + fl.yaxis.l2p(t.y[k])];
}"""

HEATMAP_GEOMETRY = """el => {  // the drawn heatmap image, the outline path and what the figure says
  const gd = el.querySelector('.js-plotly-plot'), fl = gd._fullLayout;
  const img = gd.querySelector('.heatmaplayer image').getBoundingClientRect();
  const paths = [...gd.querySelectorAll('.scatterlayer .js-line')].map(p => p.getBoundingClientRect())
    .map(r => [r.left, r.top, r.right, r.bottom]);
  const wrong = gd._fullData.find(d => d.type === 'scatter');
  return {x: fl.xaxis.range, y: fl.yaxis.range, n: gd._fullData[0].z.length,
          img: [img.left, img.top, img.width, img.height], paths: paths,
          outline: wrong ? [wrong.x, wrong.y] : [[], []]};
}"""


def squares(xs: list, ys: list) -> list[tuple[list, list]]:
    """The None-separated polygons of a line trace."""
    out, cx, cy = [], [], []
    for x, y in zip(xs + [None], ys + [None]):
        if x is None:
            if cx:
                out.append((cx, cy))
            cx, cy = [], []
        else:
            cx.append(x)
            cy.append(y)
    return out


def hover_node(page, view, node: int, attempts: int = 4) -> None:
    """Move the mouse onto a node of the pyvis view until vis-network shows its tooltip. The layout's physics can
    move the node again after it reported itself stabilized (a resize restarts the simulation), so each attempt waits
    for the node to stand still, reads its position, and moves onto it from outside."""
    shown = ("() => { const t = document.querySelector('div.vis-tooltip');"
             " return t && t.style.visibility !== 'hidden' && t.innerText.length > 0; }")
    where = """k => { const p = network.canvasToDOM(network.getPositions([k])[k]);
        const r = document.querySelector('#mynetwork canvas').getBoundingClientRect();
        return [r.left + p.x, r.top + p.y]; }"""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(attempts):
        view.wait_for_function("() => !network.physics.physicsEnabled || network.physics.stabilized", timeout=30_000)
        first = view.evaluate(where, node)
        page.wait_for_timeout(200)
        nx, ny = view.evaluate(where, node)
        if abs(nx - first[0]) > 0.5 or abs(ny - first[1]) > 0.5:
            continue  # still moving
        box = view.frame_element().bounding_box()
        page.mouse.move(box["x"] + nx - 20, box["y"] + ny - 20)
        page.mouse.move(box["x"] + nx, box["y"] + ny, steps=5)
        try:
            view.wait_for_function(shown, timeout=5_000)
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"no tooltip after {attempts} hovers over node {node} of the pyvis view")


def test_graph_lab_shows_html_node_ids_as_text_and_lines_up_the_none_heatmap(page, server, tmp_path):
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    open_page(page, server, "graph-lab", "source=Upload")
    upload = tmp_path / "html-ids.json"
    upload.write_text(json.dumps(RING))
    page.locator('input[type="file"]').set_input_files(str(upload))
    page.get_by_text("What the autoencoder decodes").wait_for(timeout=120_000)
    wait_idle(page)
    assert_no_exception(page)
    assert_no_error_box(page)
    screenshot(page, "graph-lab-html-ids.png")

    # plotly: the hover label of node 0 shows its id as text
    first = page.locator('[data-testid="stPlotlyChart"]').first
    first.scroll_into_view_if_needed()
    x, y = first.evaluate(NODE_PIXEL, 0)
    page.mouse.move(x, y)
    hover = page.locator(".hoverlayer .hovertext").first
    hover.wait_for(timeout=10_000)
    assert "(id <b>bold</b>)" in hover.text_content()
    assert hover.locator("tspan[style*='bold']").count() == 0 and hover.locator("b, a").count() == 0

    # the `none` decoded adjacency: n cells per axis, outlines on their cells (in drawn pixels)
    charts = page.locator('[data-testid="stPlotlyChart"]')
    decoded = [charts.nth(k) for k in range(charts.count())
               if "edge probabilities" in (charts.nth(k).text_content() or "")]
    assert len(decoded) == 3, "none, noise and sympe"
    decoded[0].scroll_into_view_if_needed()
    geo = decoded[0].evaluate(HEATMAP_GEOMETRY)
    n = geo["n"]
    assert n == 6 and geo["x"] == [-0.5, n - 0.5] and geo["y"] == [n - 0.5, -0.5]
    left, top, width, height = geo["img"]
    cell = width / n
    assert abs(height - width) < 1.5  # square cells
    # each drawn outline square (one path per square) where its data coordinates put it on the drawn cells
    expected = sorted([left + (min(xs) + 0.5) * cell, top + (min(ys) + 0.5) * cell,
                       left + (max(xs) + 0.5) * cell, top + (max(ys) + 0.5) * cell]
                      for xs, ys in squares(*geo["outline"]))
    drawn = sorted(geo["paths"])
    assert len(drawn) == len(expected)
    for box, want in zip(drawn, expected):
        assert all(abs(a - b) < 2.0 for a, b in zip(box, want)), (box, want)  # 1 px: half the line width
        row, col = ((box[1] + box[3]) / 2 - top) / cell - 0.5, ((box[0] + box[2]) / 2 - left) / cell - 0.5
        assert abs(row - round(row)) < 0.05 and abs(col - round(col)) < 0.05  # centred on a cell
    decoded[0].screenshot(path=str(SCREENSHOTS / "graph-lab-decoded-none.png"))

    # pyvis: drawn, ids as text, opaque origin, no script from an id
    show_pyvis_view(page)
    page.frame_locator("iframe").first.frame_locator("iframe").locator("#mynetwork canvas").wait_for(timeout=60_000)
    view = next(f for f in page.frames if f.parent_frame is not None and f.parent_frame.parent_frame is not None)
    view.wait_for_function("() => typeof network !== 'undefined' && Object.keys(network.getPositions()).length === 6",
                           timeout=60_000)
    assert view.evaluate("() => nodes.get().map(n => n.label)") == IDS
    assert view.evaluate("() => window.origin") == "null"  # sandbox="allow-scripts" only: an opaque origin
    assert view.evaluate("() => { try { return !!window.parent.document; } catch (e) { return false; } }") is False
    page.locator("iframe").first.scroll_into_view_if_needed()
    hover_node(page, view, 4)
    tip = view.locator("div.vis-tooltip")
    assert tip.inner_text() == f"id {IDS[4]}, orbit 0"
    assert tip.evaluate("t => t.children.length") == 0  # text, not elements
    page.locator("iframe").first.screenshot(path=str(SCREENSHOTS / "graph-lab-html-ids-pyvis.png"))
    for frame in page.frames:
        assert frame.evaluate("() => [window.__script, window.__img]") == [None, None]
    assert dialogs == []
    assert_no_exception(page)
