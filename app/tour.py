"""The guided tour: a talk through the idea in ``STEPS``, one preset state of a page each, in the URL as ``?tour=N``.

Conventions:

- Steps are numbered from 1 (as the speaker says them); ``STEPS[n - 1]`` is step n. A step names its page by the
  page's ``url_path`` ("" for Home), the widget values it presets (session-state keys of that page's widgets), and
  the section heading it scrolls to ("" for the top of the page).
- ``?tour=N`` is the only state: Next and Previous (buttons, or the arrow keys) rewrite it; a link with it opens the
  step directly. A step's preset is applied once, when the step is entered; afterwards the page is live (sample
  again, sliders) until another step is entered. Leaving the tour removes the parameter.
- Any other value of ``tour`` (not a whole number from 1 to ``len(STEPS)``, or given twice) gives one warning line
  naming what was received (escaped, at most ``MAX_SHOWN`` characters) and leaves the page as it is.
- The arrow keys are read by a small script without network access (``st.iframe``) that clicks the Next or
  Previous button; it ignores keys typed into inputs, sliders and selects, and keys with modifiers.

``route(page, pages)`` is called by the entry script before the sidebar: it switches to the step's page when the
URL's step belongs to another one (keeping ``presenter`` and the other parameters of a deep link in the URL).
``render()`` is called before every page: it applies the preset and draws the tour bar.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import streamlit as st

from . import ui

PARAM = "tour"
MAX_SHOWN = 40
_APPLIED = "_tour_applied"  # session key: the step whose preset was applied last
_ROUTED = "_tour_routed"  # session key: set after the session's first run (bound widgets own their parameters)


@dataclass(frozen=True)
class Step:
    page: str
    title: str
    text: str
    state: dict = field(default_factory=dict)
    section: str = ""


STEPS: list[Step] = [
    Step("", "A symmetric input, a stuck baseline",
         "Every site of the antiferromagnet's input is alike, so the equivariant baseline can only answer with one "
         "spin everywhere. SymPE's samples are each a concrete checkerboard.",
         {"home_example": "Antiferromagnet"}),
    Step("graph-lab", "Orbits",
         "Nodes in one orbit are exchanged by an automorphism of the graph: an equivariant network must give them "
         "the same output.",
         {"source": "Preset", "graph": "Ring with substituents"}, "1 · Input"),
    Step("graph-lab", "The canonical form",
         "Canonicalization numbers the nodes so that every relabelling of the graph gives the same adjacency; with "
         "symmetries, several numberings do.",
         {"source": "Preset", "graph": "Ring with substituents"}, "2 · Canonical form"),
    Step("theory", "The inversion kernel's choices",
         "The inversion kernel picks one of the |G_x| numberings uniformly at random: every choice is equally "
         "likely, so no node is preferred.",
         {}, "3 · The inversion kernel"),
    Step("graph-lab", "The encoding h·v",
         "The drawn element h moves a learned table v onto the nodes: h·v is a positional encoding that breaks the "
         "tie between symmetric nodes.",
         {"source": "Preset", "graph": "Ring with substituents"}, "4 · The encoding"),
    Step("graph-lab", "The decoded outputs side by side",
         "Without symmetry breaking the autoencoder cannot tell symmetric nodes apart; with SymPE it reconstructs "
         "the graph.",
         {"source": "Preset", "graph": "Cycle C_n"}, "5 · What the autoencoder decodes"),
    Step("lattice-lab", "Degenerate ground states, hit evenly",
         "A constant Hamiltonian has several ground states; SymPE's samples hit them about equally often, the "
         "baseline none.",
         {"jx": -1.0, "jy": -1.0, "field": 0.0, "K": 16, "L": 8}, "4 · Which states"),
    Step("equivariance", "Equivariance in distribution",
         "Transform the input by g and the outputs move with it; moved back by g⁻¹ (the stabilized view), they "
         "follow the same law as for x.",
         {"eq_mode": "Lattice (Ising)"}),
    Step("molecule-lab", "A molecule from noise",
         "Diffusion starts from noise whose graphs are often symmetric; SymPE breaks the symmetry of the current "
         "noisy graph at every denoising step.",
         {}),
    Step("results", "The measured results",
         "Every number here was measured on the shipped models, with the command that reproduces it.",
         {}),
]


def parse(values: list[str]) -> tuple[int | None, str | None]:
    """The step of the URL's ``tour`` values: ``(n, None)`` for one whole number 1 ≤ n ≤ len(STEPS), ``(None, None)``
    when there is none, ``(None, warning)`` otherwise (the warning shows what was received, escaped and bounded)."""
    if not values:
        return None, None
    if len(values) > 1:
        return None, f"The link gives the tour step {len(values)} times; it should give it once."
    raw = values[0].strip()
    if raw.isascii() and raw.isdigit() and len(raw) <= 4 and 1 <= int(raw) <= len(STEPS):
        return int(raw), None
    shown = raw if len(raw) <= MAX_SHOWN else raw[: MAX_SHOWN - 1] + "…"
    return None, (f"The tour has no step {ui.literal(shown) if shown else '(empty)'}: "
                  f"its steps are 1 to {len(STEPS)}.")


def _go(n: int | None) -> None:
    """Button callback: go to step n (None leaves the tour)."""
    if n is None:
        del st.query_params[PARAM]
        st.session_state.pop(_APPLIED, None)
    else:
        st.query_params[PARAM] = str(n)


def route(page, pages) -> None:
    """When the URL's step belongs to another page than ``page``, switch there (``pages``: the navigation's pages).
    Called before the sidebar: on the session's first run (a deep link) no widget is bound to the URL yet, so every
    parameter of the link travels along (``presenter``, ``seed``); on later runs Streamlit refuses to set a
    widget-bound parameter through ``st.switch_page``, so only the step goes, and the bound widgets write theirs
    back themselves. Anything else (no step, a bad one) is left to ``render``."""
    n, _ = parse(st.query_params.get_all(PARAM))
    first_run = not st.session_state.get(_ROUTED)
    st.session_state[_ROUTED] = True
    if n is None or (page.url_path or "") == STEPS[n - 1].page:
        return
    params = {PARAM: str(n)}
    if first_run:
        params = {k: st.query_params.get_all(k) for k in st.query_params if k != PARAM} | params
    st.switch_page(next(p for p in pages if (p.url_path or "") == STEPS[n - 1].page), query_params=params)


def render() -> None:
    """The tour's part of a rerun of the page (see the module docstring): the step's preset and the tour bar."""
    n, warning = parse(st.query_params.get_all(PARAM))
    if warning:
        st.warning(warning, icon=":material/warning:")
        return
    if n is None:
        return
    step = STEPS[n - 1]
    if st.session_state.get(_APPLIED) != n:
        st.session_state.update(step.state)
        st.session_state[_APPLIED] = n
        scroll = step.section
    else:
        scroll = ""
    with st.container(border=True, key="tour_bar"):
        text, buttons = st.columns([3, 2], vertical_alignment="center")
        text.markdown(f"**Tour {n}/{len(STEPS)} · {step.title}.** {step.text}")
        row = buttons.container(horizontal=True, horizontal_alignment="right")
        row.button("Back", icon=":material/arrow_back:", key="tour_prev", disabled=n == 1, on_click=_go, args=(n - 1,),
                   help="Previous step (← key)")
        row.button("Next", icon=":material/arrow_forward:", key="tour_next", disabled=n == len(STEPS), on_click=_go,
                   args=(n + 1,), help="Next step (→ key)", type="primary")
        row.button("End tour", icon=":material/close:", key="tour_end", on_click=_go, args=(None,))
    st.iframe(_KEYS_JS.replace("__SECTION__", json.dumps(scroll)), height=1)  # hidden by ui.APP_CSS


def start_button() -> None:
    """The button that starts the tour at step 1 (in the sidebar)."""
    st.button("Take the tour", icon=":material/slideshow:", key="tour_start", on_click=_go, args=(1,),
              help=f"{len(STEPS)} steps through the idea; ← and → move between them. A step is in the URL: ?tour=3")


_KEYS_JS = """<script>
const doc = window.parent.document;
// one listener per page: this frame's replaces the one of the frame before it (which died with its frame)
if (doc.sympeTourKeys) doc.removeEventListener('keydown', doc.sympeTourKeys);
doc.sympeTourKeys = (e) => {
  if (e.altKey || e.ctrlKey || e.metaKey || e.shiftKey || e.defaultPrevented) return;
  const t = e.target;
  if (t && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName) ||
            ['slider', 'combobox', 'listbox', 'radio', 'spinbutton'].includes(t.getAttribute('role')))) return;
  const key = {ArrowRight: 'tour_next', ArrowLeft: 'tour_prev'}[e.key];
  const button = key && doc.querySelector(`.st-key-${key} button`);
  if (button && !button.disabled) { e.preventDefault(); button.click(); }
};
doc.addEventListener('keydown', doc.sympeTourKeys);
const section = __SECTION__;
if (section) {  // scroll the step's heading under the tour bar, again while the figures above it are still growing
  const started = Date.now();
  let stableSince = null;
  const timer = setInterval(() => {
    const heading = [...doc.querySelectorAll('h2, h3')].find((h) => h.textContent.trim().startsWith(section));
    const bar = doc.querySelector('.st-key-tour_bar');
    if (heading && bar) {
      const target = Math.max(bar.getBoundingClientRect().bottom, 0) + 8;
      const off = heading.getBoundingClientRect().top - target;
      if (Math.abs(off) > 2) {
        heading.style.scrollMarginTop = `${target}px`;
        heading.scrollIntoView({block: 'start'});
        stableSince = null;
      } else if (stableSince === null) {
        stableSince = Date.now();
      }
    }
    if ((stableSince !== null && Date.now() - stableSince > 1500) || Date.now() - started > 20000) {
      clearInterval(timer);
    }
  }, 200);
}
</script>"""
