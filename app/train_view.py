"""The Train page's Streamlit side: the server's job manager, the session's job, the live panel and the models a
session has trained (``trained_models``, read by the Lattice lab).

One job per session (the owner is the Streamlit session id), ``jobs.limit_from_environment()`` jobs at once per
server, the rest queued. Jobs of closed sessions are reaped every ``jobs.REAP_SECONDS`` and whenever any session starts
a job or polls its own.
The live panel is a fragment that reruns itself every ``POLL_SECONDS`` while the job is active, so the rest of the
page never waits for training; when the job ends it reruns the page once to show the results.
"""
from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from app import figures, models, training, ui
from app.jobs import Busy, Job, JobManager, limit_from_environment
from backend.tasks.ising.data import constant_couplings, exact_ground

POLL_SECONDS = 1.0
TRAINED_KEY = "trained_models"  # session_state: {label: training.TrainedModel} of the session's last finished job
SHOWN_PHASES = {"ferromagnet": "ferro", "antiferromagnet": "antiferro", "stripes-horizontal": "stripes (h)",
                "stripes-vertical": "stripes (v)", "field-polarized": "field-polarized"}


@st.cache_resource(show_spinner=False)
def manager() -> JobManager:
    """The server's one job manager, with its reaper of closed sessions' jobs."""
    jobs = JobManager(limit_from_environment())
    jobs.start_reaper(_alive)
    return jobs


def owner() -> str:
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "local"


def _alive(session_id: str) -> bool:
    try:
        from streamlit import runtime
        return not runtime.exists() or runtime.get_instance().is_active_session(session_id)
    except Exception:  # noqa: BLE001 - when in doubt, keep the job
        return True


def current_job() -> Job | None:
    return manager().job(owner())


def start(knobs: training.Knobs) -> str | None:
    """Submit the session's job; returns a one-line reason when it cannot start."""
    problems = training.validate(knobs)
    if problems:
        return "Cannot start: " + "; ".join(problems) + "."
    jobs = manager()
    jobs.reap(_alive)
    st.session_state.pop("_collected", None)
    try:
        jobs.submit(owner(), lambda job: training.run_job(jobs, knobs, job))
    except Busy as exc:
        return str(exc).capitalize() + "."
    st.session_state["_job_knobs"] = knobs
    return None


def stop() -> None:
    manager().cancel(owner())


def trained_models() -> dict[str, training.TrainedModel]:
    """The session's trained models, by label ("yours: sympe (job 3)")."""
    return st.session_state.get(TRAINED_KEY, {})


def _collect(job: Job) -> None:
    """Once per finished job: its models become the session's trained models (replacing the previous job's)."""
    if st.session_state.get("_collected") == job.id or job.state != "done" or not job.result:
        return
    knobs = st.session_state.get("_job_knobs", training.Knobs())
    st.session_state[TRAINED_KEY] = {
        f"yours: {v} (job {job.id})": training.TrainedModel(f"yours: {v} (job {job.id})", v, model, knobs, evaluation)
        for v, (model, evaluation) in job.result.items()}
    st.session_state["_collected"] = job.id


def task_panel() -> None:
    """What the variants must learn, on one input: the constant antiferromagnet (every site alike, so an equivariant
    network gives every site the same spin) and its two ground states (the checkerboards, which it cannot give)."""
    J, h = constant_couplings(-1.0, -1.0, 0.0, training.L)
    ground = exact_ground(J, h)
    states = ground.states[0][ground.is_ground[0]].numpy()
    panels = [(figures.lattice_input_figure(J[0].numpy(), h[0].numpy(), title="input: every site alike", height=260),
               "train-task-input")]
    panels += [(figures.spins_figure(s, title=f"ground state {k + 1}", height=260), f"train-task-ground-{k + 1}")
               for k, s in enumerate(states)]
    for col, (fig, name) in zip(st.columns(len(panels)), panels):
        with col:
            ui.show_figure(fig, name, key=f"fig_{name}")
    ui.explain("An equivariant network must give every site of this input the same spin, and neither ground state "
               "does that. Train and watch which variants reach them.")


def live_panel() -> None:
    """The job's state, polled by a fragment while it is active."""
    job = current_job()
    if job is None:
        st.info("No training yet: choose the variants and press **Start**.", icon=":material/model_training:")
        return
    if job.active:
        _polling_panel()
    else:
        _panel(job)


@st.fragment(run_every=POLL_SECONDS)
def _polling_panel() -> None:
    jobs = manager()
    jobs.reap(_alive)
    job = current_job()
    if job is None or not job.active:
        st.rerun()  # the job ended: show the results (and stop polling)
    _panel(job)


def _panel(job: Job) -> None:
    jobs = manager()
    if job.state == "queued":
        pos = jobs.queue_position(job)
        st.warning(f"Waiting for a free slot: {jobs.running()} of {jobs.limit} training jobs run on this server "
                   f"(you are number {pos} in the queue).", icon=":material/hourglass_top:")
    elif job.state == "failed":
        st.error(f"Training failed: {ui.literal(job.error)}", icon=":material/error:")
    elif job.state == "stopped":
        st.info("Stopped. Nothing was kept from this run.", icon=":material/stop_circle:")
    elif job.state == "done":
        st.success("Done. Use your models in the Lattice lab, or download them below.", icon=":material/check_circle:")
    if job.active:
        st.button("Stop", icon=":material/stop:", on_click=stop, key="train_stop", type="primary")
    progress = jobs.progress(job)
    if not progress:
        return
    cols = st.columns(len(progress))
    for col, (variant, p) in zip(cols, progress.items()):
        with col:
            label = models.label(variant)
            st.progress(min(1.0, p.step / p.steps), text=f"{label}: {p.state}, step {p.step} / {p.steps}, {p.seconds:.0f} s")
    left, right = st.columns(2)
    with left, ui.guard("The loss curves"):
        series = {v: ([s for s, _ in p.curve], [x for _, x in p.curve]) for v, p in progress.items() if p.curve}
        ui.show_figure(figures.curves_figure(series, title="Training loss (mean-field free energy per site)",
                                             x_title="step", y_title="loss"), "train-loss", key="train_loss")
    with right, ui.guard("The evaluation curves"):
        series = {v: ([s for s, _ in p.evals], [100 * _story(e) for _, e in p.evals]) for v, p in progress.items() if p.evals}
        ui.show_figure(figures.curves_figure(series, title="Exact ground states: antiferromagnets and stripes",
                                             x_title="step", y_title="exact (%)", y_range=(-5, 105)),
                       "train-exact", key="train_exact")
    rows = [_eval_row(v, p.evals[-1]) for v, p in progress.items() if p.evals]
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch")
        ui.explain(f"Exact: the share of the fixed evaluation set's constant Hamiltonians ({training.PER_PHASE} per "
                   "phase, away from phase boundaries) where one sample reaches the exact ground energy. Gap: the mean "
                   "relative energy above it. Coverage: on degenerate inputs, the share of their ground states that "
                   f"{training.COVERAGE_SAMPLES} samples hit (the equivariant baseline can hit none: its one answer is "
                   "symmetric).")


def _story(evaluation: dict) -> float:
    exact = evaluation["exact"]
    values = [exact[p] for p in training.STORY_PHASES if p in exact]
    return sum(values) / len(values) if values else 0.0


def _eval_row(variant: str, evaluation: tuple[int, dict]) -> dict:
    step, e = evaluation
    row = {"variant": models.label(variant), "at step": step}
    for phase, short in SHOWN_PHASES.items():
        if phase in e["exact"]:
            row[f"exact: {short}"] = f"{e['exact'][phase]:.0%}"
    row["mean gap"] = f"{sum(e['gap'].values()) / max(1, len(e['gap'])):.1%}"
    row["coverage"] = "–" if e["coverage"] is None else f"{e['coverage']:.0%}"
    return row


def results_panel() -> None:
    """Download buttons for the session's trained models (collected from a finished job)."""
    job = current_job()
    if job is not None and not job.active:
        _collect(job)
    trained = trained_models()
    if not trained:
        return
    st.subheader("Your models")
    st.markdown("They are in the **Lattice lab** of this session, beside the shipped ones, labelled *yours*. "
                "They live only in this session; download one to keep it (safetensors, with its config, knobs and "
                "evaluation in the metadata).")
    st.page_link("app_pages/lattice_lab.py", label="Open the Lattice lab", icon=":material/grid_on:")
    cols = st.columns(len(trained))
    for col, (label, t) in zip(cols, trained.items()):
        col.download_button(f"Download {label}", t.safetensors, file_name=f"sympe-ising-{t.variant}-yours.safetensors",
                            mime="application/octet-stream", on_click="ignore", key=f"dl_{t.variant}")
