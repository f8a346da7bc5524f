"""Page frame shared by every page: presenter mode, long-text helper, figure display, error guard.

Pages call these helpers instead of Streamlit directly where the presenter mode or the error policy matters:

- ``guard(what)``: a context manager that turns any exception inside into one ``st.error`` line (the traceback goes
  to the server log, never to the page). The entry script wraps every page in one, so a page can never show a
  traceback; pages add their own around independent panels so one failing panel leaves the others standing.
- ``apply_style()``: the app's stylesheet and the presenter mode's (larger text, no captions, sidebar collapsed).
- ``explain(text)``: long explanatory text, hidden in presenter mode (its place kept, as the story row's is).
- ``controls()``: the container of a page's settings, a collapsed expander in presenter mode.
- ``show_figure(fig, name)``: a plotly figure with presenter-mode sizing and a PNG download button in its toolbar.
- ``story(build)``: in presenter mode only, the page's story as one row of compact figures right under the title
  (the input, the baseline's answer, SymPE's samples; or the page's key picture), so that it is on the first screen
  of a projector at 1280×720; normal mode is left as it was.
- ``precompute(calls)``: run a page's cached computations before it sends its first figure.
- ``model_ready(experiment, variant, what)`` / ``not_shipped(what, key)``: whether a model can be used, and if not,
  why: "not shipped yet" only when the manifest has no entry; "cannot be loaded: <fault naming the file>" when the
  manifest or the weights are broken.
"""
from __future__ import annotations

import contextlib
import logging
import re
from typing import Callable, Iterable, Iterator, MutableMapping, Sequence

import streamlit as st

from backend.options import one_line

from . import live_chart, models
from .figures import SpecFigure

log = logging.getLogger("sympe.app")

APP_CSS = """
<style>
[data-testid="stMainBlockContainer"] { padding-top: 2.5rem; }
.stMarkdownEllipsis, .stMarkdownEllipsis p {
  white-space: normal; text-overflow: clip; word-break: normal; overflow-wrap: normal;
}
[data-testid="stLayoutWrapper"]:has(> .st-key-tour_bar) { position: sticky; top: 3.75rem; z-index: 999990; }
.st-key-tour_bar { background: white; }
[data-testid="stElementContainer"]:has(iframe[srcdoc*="sympeTourKeys"]) { display: none; }
</style>
"""

PRESENTER_CSS = """
<style>
html, body, [data-testid="stAppViewContainer"] { font-size: 21px; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li { font-size: 1.15rem; }
h1 { font-size: 2.3rem !important; padding-top: 0 !important; }
[data-testid="stCaptionContainer"] { display: none; }
[data-testid="stMetricValue"] { font-size: 2.4rem; }
[data-testid="stMetricValue"] p { font-size: inherit; }  /* the markdown rule above must not shrink metric values */
</style>
"""

# Exceptions that Streamlit uses for control flow (st.rerun, st.stop, st.switch_page) must pass through.
try:  # pragma: no cover - import paths differ slightly between Streamlit versions
    from streamlit.runtime.scriptrunner_utils.exceptions import RerunException, StopException

    _CONTROL_FLOW: tuple[type[BaseException], ...] = (RerunException, StopException)
except Exception:  # pragma: no cover
    _CONTROL_FLOW = ()


@contextlib.contextmanager
def guard(what: str = "This panel") -> Iterator[None]:
    """Run a block; any error becomes one st.error line and the rest of the page goes on."""
    try:
        yield
    except _CONTROL_FLOW:
        raise
    except Exception as exc:  # noqa: BLE001 - the point is to catch everything
        log.exception("%s failed", what)
        st.error(f"{what} could not be shown: {one_line(exc, 300)}")


def presenter() -> bool:
    return bool(st.session_state.get("presenter", False))


def explain(text: str) -> None:
    """Long explanatory text, hidden in presenter mode. Hidden, it keeps its place (an empty element): Streamlit's
    browser side matches a page's elements by position, so a text that vanished would have every element after it
    (figures, tables) rebuilt from scratch on the presenter-mode switch instead of updated."""
    if presenter():
        st.empty()
    else:
        st.markdown(text)


def fresh_points(state: MutableMapping, event: dict | None, memory: str) -> list[dict]:
    """The points of a plotly selection (``on_select``) the first time it is seen, else []. Streamlit hands the same
    selection to every rerun until the next click, so the selection last seen is remembered in ``state[memory]``."""
    if not event:
        return []
    points = event.get("selection", {}).get("points", [])
    signature = repr([p.get("customdata") for p in points])
    fresh = points if points and signature != state.get(memory) else []
    state[memory] = signature
    return fresh


def controls(label: str = "Controls"):
    """Where a page's settings go: in presenter mode a collapsed expander (the first screen is for the figures; the
    speaker opens it to change the input), otherwise a plain container. Buttons a speaker presses (sample again)
    stay outside."""
    return st.expander(label, expanded=False, icon=":material/tune:") if presenter() else st.container()


def apply_style() -> None:
    """The app's stylesheet (a compact page top; button and navigation labels wrap between words instead of being
    cut off; the tour bar stays at the top while the page scrolls) and, in presenter mode, larger text without
    captions, and the sidebar collapsed (its arrow opens it again)."""
    st.markdown(APP_CSS + (PRESENTER_CSS if presenter() else ""), unsafe_allow_html=True)
    st.set_page_config(initial_sidebar_state="collapsed" if presenter() else "auto")


def show_figure(fig: SpecFigure, name: str, *, key: str | None = None, on_select=None, selection_mode=None, **kwargs):
    """st.plotly_chart with the mode's template and height (SpecFigure.present) and a named PNG export in the
    toolbar. Returns the chart's event. A figure with a 3D scene is drawn by ``live_chart.show`` instead (updated in
    place, no events), as the element ``key`` or, without one, ``chart_<name>``."""
    fig.present(presenter())
    config = {
        "displaylogo": False,
        "toImageButtonOptions": {"format": "png", "filename": f"sympe-{name}", "scale": 2},
        "modeBarButtonsToRemove": ["sendDataToCloud"],
    }
    if "scene" in fig.spec["layout"]:
        if on_select is not None or kwargs:
            raise ValueError(f"figure {name!r} has a 3D scene, drawn by live_chart, which takes no events or options")
        return live_chart.show(fig, key=key or f"chart_{name}", config=config)
    args = dict(key=key, config=config, width="stretch", theme=None)
    if on_select is not None:
        args.update(on_select=on_select, selection_mode=selection_mode or ("points",))
    args.update(kwargs)
    return st.plotly_chart(fig, **args)


STORY_HEIGHT = 280  # px a story figure is built with: 322 px in presenter mode, a row under a page's top at 720 px
STORY_KEY = "story"  # the story row's container key (class st-key-story, which tests/e2e/test_presenter.py reads)


def story(build: Callable[[], Sequence[tuple[SpecFigure, str]]], widths: Sequence[float] | None = None) -> None:
    """The page's story on the first screen, in presenter mode only: ``build()`` returns (figure, name) pairs and
    each is drawn STORY_HEIGHT high in a column of one row (``widths``: relative column widths, equal by default).
    In normal mode ``build`` is not called and nothing is drawn; the page's sections below show the same things
    with their controls and explanations. In normal mode the row's place is held by an empty element (see
    ``explain``)."""
    slot = st.empty()
    if not presenter():
        return
    with guard("The story"):
        shown = list(build())
        if not shown:
            return
        with slot.container(key=STORY_KEY):
            for col, (fig, name) in zip(st.columns(list(widths) if widths else len(shown)), shown):
                fig.spec["layout"]["height"] = STORY_HEIGHT
                with col:
                    show_figure(fig, f"story-{name}", key=f"story_{name}")


def precompute(calls: Iterable[Callable[[], object]]) -> None:
    """Run ``calls`` (a page's cached computations: st.cache_data functions) before the page sends its first figure.
    The browser draws what it has received while the script still runs, and on two cores that drawing takes the core
    the computation would use; computed first, the page's sections only read the caches. A failure is left for the
    section that makes the same call inside its guard to show."""
    for call in calls:
        try:
            call()
        except Exception:  # noqa: BLE001 - shown by the page's own guard
            pass


def literal(text: str) -> str:
    """``text`` as a markdown code span: shown as it is (a file name, a fault message, a node id; runs of whitespace
    become one space), never read as markdown or HTML. The fence is one backtick longer than the longest run of
    backticks inside."""
    text = " ".join(str(text).split())
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _cannot_load(what: str, detail: str) -> None:
    st.error(f"{what} cannot be loaded: {literal(detail)}", icon=":material/error:")


def model_ready(experiment: str, variant: str, what: str) -> bool:
    """True when the model loads; otherwise says why on the page (``not_shipped``) and returns False."""
    if models.status(experiment, variant).ok:
        return True
    not_shipped(what, f"{experiment}/{variant}")
    return False


def not_shipped(what: str, key_hint: str) -> None:
    """Why a model is not offered, for ``key_hint`` "experiment/variant" or "experiment/<variant>" (all of them):

    - the manifest cannot be read: an error with its fault (naming the file);
    - the entry is there but its weights do not load (missing file, sha256 mismatch, NaN, wrong names or shapes):
      an error "cannot be loaded" with the fault, naming the weights file, for each such variant;
    - no entry: a warning that it is not shipped, naming the missing entry and where its training command is.
    A model that fails to load is never called "not shipped"."""
    problem = models.manifest_problem()
    if problem:
        _cannot_load(what, problem)
        return
    experiment, _, variant = key_hint.partition("/")
    if variant.startswith("<"):
        failed = [s for s in (models.status(experiment, v) for v in models.entries(experiment)) if s.state == "failed"]
    else:
        failed = [s for s in [models.status(experiment, variant)] if s.state != "not shipped"]
    for status in failed:
        if status.ok:  # it loads: what is missing is an output computed above (its error is shown there)
            st.info(f"{what} has no output to show here: computing it failed above.")
        else:
            _cannot_load(what if len(failed) == 1 and not variant.startswith("<") else f"`{status.key}`", status.detail)
    if not failed:
        st.warning(
            f"{what} is not shipped: pretrained/manifest.json has no `{key_hint}` entry. "
            "docs/experiments/ gives the command that trains it; the page uses it as soon as it is there."
        )
