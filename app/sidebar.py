"""The sidebar every page shares: presenter mode, the tour's start, seed, device badge and model status.

Shareable state lives in the URL: the page is the path, and the widgets bound with ``bind="query-params"`` keep
their values there (``?presenter=true&seed=3&...``), so a link reproduces what was on the screen.
"""
from __future__ import annotations

import streamlit as st

from backend.tasks import TASKS

from . import models, tour
from .figures import plain

SEED_MAX = 2**31 - 1


def next_seed() -> None:
    """Callback of every "sample again" button: the next seed (kept in the URL, so the draw stays shareable)."""
    _commit_seed((seed() + 1) % (SEED_MAX + 1))


def seed() -> int:
    return int(st.session_state.get(_COMMITTED_SEED, st.session_state.get("seed", 0)))


_COMMITTED_SEED = "_seed_committed"


def _commit_seed(value: int | None = None) -> None:
    """The session's seed changes only here: on its first run, by the user (the widget's on_change) or by
    next_seed. Every run writes it back into the widget before the widget is created, so a rerun that reaches
    the server without the widget's state (a page switch that races a running script, under load) cannot reset
    the widget, and the URL, to its default."""
    value = int(st.session_state.get("seed", 0)) if value is None else value
    st.session_state[_COMMITTED_SEED] = st.session_state["seed"] = value


def render() -> None:
    with st.sidebar:
        st.toggle(
            "Presenter mode", key="presenter", bind="query-params",
            help="Larger fonts and figures, less text; also set by the URL flag ?presenter=true",
        )
        tour.start_button()
        presenter = bool(st.session_state.get("presenter"))
        box = st.expander("Settings and status", expanded=not presenter)
        with box:
            if _COMMITTED_SEED in st.session_state:
                st.session_state["seed"] = st.session_state[_COMMITTED_SEED]
            st.number_input(
                "Seed", key="seed", min_value=0, max_value=SEED_MAX, step=1, bind="query-params", on_change=_commit_seed,
                help="All random draws of this session come from this seed; it is part of the URL.",
            )
            if _COMMITTED_SEED not in st.session_state:
                st.session_state[_COMMITTED_SEED] = int(st.session_state["seed"])
            info = models.device_info()
            st.markdown(f"**Models run on:** `{info.runs_on}`")
            if info.note:
                st.caption(plain(info.note))
            st.markdown("**Models**")
            problem = models.manifest_problem()
            if problem:
                st.error(f"No model can be loaded: {problem}", icon=":material/error:")
            st.markdown(_model_status_markdown())


def _model_status_markdown() -> str:
    lines = []
    for experiment, task in TASKS.items():
        shipped = sorted(models.entries(experiment))
        mark = ":material/check_circle:" if shipped else ":material/block:"
        lines.append(f"- {mark} {task.title}: " + (", ".join(f"`{v}`" for v in shipped) if shipped else "not shipped"))
    return "\n".join(lines)
