"""A plotly chart that the browser updates in place: ``show(fig, key=..., config=...)``.

``st.plotly_chart`` gives a chart a new element id whenever its figure changes (the id hashes the figure), so the
browser mounts a new chart and plotly.js builds it from nothing. For a 3D scene that is a new WebGL context and
about 55 shader compilations per changed scene, in software where the browser has no GPU. This module draws a
figure with a Streamlit component (``st.components.v2``) whose identity is its key alone: the element stays, and
its JavaScript hands each new figure to ``Plotly.react`` on the same ``<div>``, which keeps the scene's context and
redraws only what changed.

Conventions:

- plotly.js is the copy that the plotly package ships (``plotly/package_data/plotly.min.js``, the version its
  figures are written for), served by Streamlit's route for a component's assets,
  ``/_stcore/bidi-components/sympe.chart/plotly.min.js`` (the route serves that folder of the plotly package
  read-only: plotly.js, its widget bundle, templates and sample datasets), and loaded once per page (one
  ``<script>`` element, shared by every chart of the page).
- The figure travels as its JSON text (plotly's encoder, orjson when installed): one string, parsed once in the
  browser.
- A chart fills its column's width and takes the figure's ``layout.height``; it follows its column when that is
  resized. Unmounting the element purges the chart (its WebGL contexts included).
- Updates are coalesced: a figure that arrives while the previous one is being drawn replaces any still waiting.
  A figure that cannot be drawn (plotly.js not reachable) leaves one line of text in the chart's place.
- No selection events. ``ui.show_figure`` sends figures with a 3D scene here, where rebuilding costs most, and the
  others, some of which the user clicks or selects on, to ``st.plotly_chart``.
"""
from __future__ import annotations

import json
from pathlib import Path

import plotly
import plotly.io as pio
import streamlit as st
from streamlit.components.v2.manifest_scanner import ComponentConfig, ComponentManifest

from .figures import SpecFigure

PACKAGE = "sympe"
NAME = "chart"
COMPONENT = f"{PACKAGE}.{NAME}"
ASSET_DIR = "package_data"  # inside the plotly package; it holds plotly.min.js
PLOTLY_JS = "plotly.min.js"

JS = """
function loadPlotly(url) {
  if (!window.__sympePlotly) {
    window.__sympePlotly = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = url;
      script.async = true;
      script.onload = () => resolve(window.Plotly);
      script.onerror = () => {
        window.__sympePlotly = undefined;
        reject(new Error("plotly.js did not load from " + url));
      };
      document.head.appendChild(script);
    });
  }
  return window.__sympePlotly;
}

export default function (component) {
  const { data, parentElement } = component;
  const { figure, config, url } = JSON.parse(data);
  const div = parentElement.querySelector("div.sympe-chart");
  div.style.height = (figure.layout.height || 450) + "px";
  div.__sympeNext = { figure, config };
  const draw = () => {
    const next = div.__sympeNext;
    div.__sympeNext = null;
    if (!next) return;
    return loadPlotly(url).then((Plotly) => {
      div.__sympePlotly = Plotly;
      if (!div.__sympeResize) {
        div.__sympeResize = new ResizeObserver(() => { if (div.layout) Plotly.Plots.resize(div); });
        div.__sympeResize.observe(div);
      }
      return Plotly.react(div, next.figure.data, next.figure.layout, next.config);
    }).catch((err) => { div.textContent = "This figure could not be drawn: " + err.message; });
  };
  div.__sympeQueue = (div.__sympeQueue || Promise.resolve()).then(draw);
  return () => {
    if (div.__sympeResize) div.__sympeResize.disconnect();
    if (div.__sympePlotly) div.__sympePlotly.purge(div);
  };
}
"""

HTML = '<div class="sympe-chart" style="width: 100%"></div>'
_chart = st.components.v2.component(COMPONENT, html=HTML, js=JS, isolate_styles=False)


def plotly_js_url() -> str:
    """Where the browser fetches plotly.js: Streamlit's route for a component's assets, under the server's base
    path."""
    base = str(st.get_option("server.baseUrlPath") or "").strip("/")
    return "/" + "/".join(p for p in (base, "_stcore", "bidi-components", COMPONENT, PLOTLY_JS) if p)


def _serve_plotly_js() -> None:
    """Declare plotly's package_data folder as this component's assets on the running server (once per runtime;
    AppTest starts a runtime per test)."""
    from streamlit.components.v2.get_bidi_component_manager import get_bidi_component_manager

    manager = get_bidi_component_manager()
    if manager.get_component_asset_root(COMPONENT) is None:
        manifest = ComponentManifest(name=PACKAGE, version=plotly.__version__,
                                     components=[ComponentConfig(name=NAME, asset_dir=ASSET_DIR)])
        manager.register_from_manifest(manifest, Path(plotly.__file__).parent)


def show(fig: SpecFigure, *, key: str, config: dict) -> None:
    """Draw ``fig`` as the element ``key`` (unique on the page), updated in place on later reruns."""
    _serve_plotly_js()
    head = json.dumps({"config": config, "url": plotly_js_url()})
    _chart(key=key, data=f'{head[:-1]}, "figure": {pio.to_json(fig.to_dict(), validate=False)}}}', height="content")
