"""Train page: train variants of one experiment side by side, live, and use the result in its lab."""
import streamlit as st

from app import train_view, training, ui

st.title("Train it yourself")
ui.explain(
    "Train small equivariant networks and watch them learn. On a symmetric input (a constant antiferromagnet, stripes, "
    "a cycle) the equivariant baseline `none` can only give a symmetric answer, which is wrong there; SymPE samples a "
    "group element from the inversion kernel, feeds it to the same network as a positional encoding, and learns to "
    "break the symmetry where the answer needs it. The evaluation set is fixed; training uses its own draws."
)

job = train_view.current_job()
busy = job is not None and job.active
name = st.radio("Experiment", list(training.EXPERIMENTS), format_func=lambda e: training.EXPERIMENTS[e].title,
                key="train_experiment", horizontal=True, disabled=busy)
exp = training.EXPERIMENTS[name]
train_view.task_panel(exp)
with ui.controls("Training settings"):
    knobs = train_view.settings(exp, busy)
    problems = training.validate(knobs)
    if problems and not busy:
        st.warning("Cannot start: " + "; ".join(problems) + ".", icon=":material/warning:")
if st.button("Start", icon=":material/play_arrow:", key="train_start", disabled=busy or bool(problems), type="primary"):
    reason = train_view.start(knobs)
    if reason:
        st.error(reason, icon=":material/error:")
    else:
        st.rerun()
st.caption(f"At most one training job per session and {train_view.manager().limit} per server (SYMPE_TRAIN_JOBS); "
           "further jobs wait in a queue. A job ends when its session closes.")

with ui.guard("The training panel"):
    train_view.live_panel()
with ui.guard("Your models"):
    train_view.results_panel()
