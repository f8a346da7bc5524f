"""The Train page's Streamlit side: the server's job manager, the session's job, the settings of the chosen experiment
(``settings``, from its ``training.Experiment``), the live panel and the models a session has trained
(``trained_models(experiment)``, read by the Lattice lab and the Graph lab).

One job per session (the owner is the Streamlit session id), ``jobs.limit_from_environment()`` jobs at once per
server, the rest queued. Jobs of closed sessions are reaped every ``jobs.REAP_SECONDS`` and whenever any session starts
a job or polls its own.
The live panel is a fragment that reruns itself every ``POLL_SECONDS`` while the job is active, so the rest of the
page never waits for training; when the job ends it reruns the page once to show the results.
"""
from __future__ import annotations

import networkx as nx
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from app import figures, graphs, models, training, ui
from app.jobs import Busy, Job, JobManager, limit_from_environment
from backend.encodings import NOISE
from backend.tasks.ising.data import constant_couplings, exact_ground

POLL_SECONDS = 1.0
TRAINED_KEY = "trained_models"  # session_state: {experiment: {label: training.TrainedModel}}, each experiment's last job
LEARNING_RATES = (1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 5e-3, 1e-2)


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
        jobs.submit(owner(), lambda job: training.run_job_in_process(jobs, knobs, job))
    except Busy as exc:
        return str(exc).capitalize() + "."
    st.session_state["_job_knobs"] = knobs
    return None


def stop() -> None:
    manager().cancel(owner())


def trained_models(experiment: str = "ising") -> dict[str, training.TrainedModel]:
    """The session's trained models of ``experiment``, by label ("yours: sympe (job 3)"); the Lattice lab asks for
    the Ising ones (the default)."""
    return st.session_state.get(TRAINED_KEY, {}).get(experiment, {})


def _job_knobs() -> training.Knobs:
    return st.session_state.get("_job_knobs", training.Knobs())


def _collect(job: Job) -> None:
    """Once per finished job: its models become the session's trained models of its experiment (replacing those of
    that experiment's previous job)."""
    if st.session_state.get("_collected") == job.id or job.state != "done" or not job.result:
        return
    knobs = _job_knobs()
    mine = {f"yours: {v} (job {job.id})": training.TrainedModel(f"yours: {v} (job {job.id})", v, model, knobs, evaluation)
            for v, (model, evaluation) in job.result.items()}
    st.session_state[TRAINED_KEY] = {**st.session_state.get(TRAINED_KEY, {}), knobs.experiment: mine}
    st.session_state["_collected"] = job.id


def settings(exp: training.Experiment, busy: bool) -> training.Knobs:
    """The experiment's knobs as widgets (keys ``train_<experiment>_<knob>``, so each experiment keeps its own
    choices and defaults); the noise scale only when ``noise`` is chosen."""
    d, lo = exp.defaults, exp.bounds
    key = lambda knob: f"train_{exp.name}_{knob}"  # noqa: E731
    variants = st.multiselect("Variants trained side by side", list(exp.variants), default=list(d.variants),
                              format_func=models.label, key=key("variants"), max_selections=len(exp.variants),
                              disabled=busy)
    c1, c2, c3 = st.columns(3)
    steps = c1.slider("Steps", *lo["steps"][:2], d.steps, lo["steps"][2], key=key("steps"), disabled=busy)
    lr = c2.select_slider("Learning rate", options=list(LEARNING_RATES), value=d.lr, format_func=lambda x: f"{x:g}",
                          key=key("lr"), disabled=busy)
    width = c3.slider("Width", *lo["width"][:2], d.width, lo["width"][2], key=key("width"), disabled=busy,
                      help=exp.width_help)
    c4, c5, c6 = st.columns(3)
    enc = c4.slider("Encoding dimension", *lo["encoding_dim"][:2], d.encoding_dim, lo["encoding_dim"][2],
                    key=key("enc"), disabled=busy, help="Channels of SymPE's learned table v (and of noise and fixed).")
    share = c5.slider("Share of symmetric inputs", *lo["symmetric_share"][:2], d.symmetric_share,
                      lo["symmetric_share"][2], key=key("share"), disabled=busy, help=exp.share_help)
    seed = c6.number_input("Seed", *lo["seed"][:2], d.seed, 1, key=key("seed"), disabled=busy)
    scale = d.noise_scale
    if NOISE.name in variants:
        scale = st.slider("Noise scale σ", *lo["noise_scale"][:2], d.noise_scale, lo["noise_scale"][2],
                          key=key("noise_scale"), disabled=busy,
                          help="The noise variant's features are N(0, σ²), fresh at every call.")
    return training.Knobs(tuple(variants), int(steps), float(lr), int(width), int(enc), float(share), int(seed),
                          d.batch, exp.name, float(scale))


def _ising_task() -> None:
    """The constant antiferromagnet (every site alike, so an equivariant network gives every site the same spin) and
    its two ground states (the checkerboards, which it cannot give)."""
    J, h = constant_couplings(-1.0, -1.0, 0.0, training.L)
    ground = exact_ground(J, h)
    states = ground.states[0][ground.is_ground[0]].numpy()
    panels = [(figures.lattice_input_figure(J[0].numpy(), h[0].numpy(), title="input: every site alike", height=260),
               "train-task-input")]
    panels += [(figures.spins_figure(s, title=f"ground state {k + 1}", height=260), f"train-task-ground-{k + 1}")
               for k, s in enumerate(states)]
    _figures(panels)
    ui.explain("An equivariant network must give every site of this input the same spin, and neither ground state "
               "does that. Train and watch which variants reach them.")


def _graph_task() -> None:
    """Three held-out evaluation graphs (vertex-transitive: every node alike)."""
    shown = [("cycle C8", nx.cycle_graph(8)), ("Möbius ladder M8", nx.circulant_graph(8, [1, 4])),
             ("circulant C11(1,3)", nx.circulant_graph(11, [1, 3]))]
    panels = []
    for name, G in shown:
        edges = tuple(sorted(G.edges()))
        pos = graphs.layout(G.number_of_nodes(), edges)
        panels.append((figures.graph_figure(pos, edges, title=f"{name}: every node alike", height=260, node_size=16,
                                            show_labels=False), f"train-task-{name.split()[0].lower()}"))
    _figures(panels)
    ui.explain("On these graphs every node looks like every other, so the equivariant `none` gives all nodes one "
               "embedding and can only guess one probability for every pair: never an exact reconstruction. The "
               "graphs of 8 and 11 nodes are held out of training.")


TASK_PANELS = {"ising": _ising_task, "graph_ae": _graph_task}


def _figures(panels) -> None:
    for col, (fig, name) in zip(st.columns(len(panels)), panels):
        with col:
            ui.show_figure(fig, name, key=f"fig_{name}")


def task_panel(exp: training.Experiment) -> None:
    """What the variants must learn, on an example input of the experiment."""
    TASK_PANELS[exp.name]()


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
    exp = training.EXPERIMENTS[_job_knobs().experiment]
    if job.state == "queued":
        pos = jobs.queue_position(job)
        st.warning(f"Waiting for a free slot: {jobs.running()} of {jobs.limit} training jobs run on this server "
                   f"(you are number {pos} in the queue).", icon=":material/hourglass_top:")
    elif job.state == "failed":
        st.error(f"Training failed: {ui.literal(job.error)}", icon=":material/error:")
    elif job.state == "stopped":
        st.info("Stopped. Nothing was kept from this run.", icon=":material/stop_circle:")
    elif job.state == "done":
        st.success(f"Done. Use your models in the {exp.lab[1]}, or download them below.", icon=":material/check_circle:")
    if job.active:
        st.button("Stop", icon=":material/stop:", on_click=stop, key="train_stop", type="primary")
    progress = jobs.progress(job)
    if not progress:
        return
    st.caption(f"Training: {exp.title}")
    cols = st.columns(len(progress))
    for col, (variant, p) in zip(cols, progress.items()):
        with col:
            label = models.label(variant)
            st.progress(min(1.0, p.step / p.steps), text=f"{label}: {p.state}, step {p.step} / {p.steps}, {p.seconds:.0f} s")
    left, right = st.columns(2)
    with left, ui.guard("The loss curves"):
        series = {v: ([s for s, _ in p.curve], [x for _, x in p.curve]) for v, p in progress.items() if p.curve}
        ui.show_figure(figures.curves_figure(series, title=exp.loss_title, x_title="step", y_title="loss"),
                       "train-loss", key="train_loss")
    with right, ui.guard("The evaluation curves"):
        series = {v: ([s for s, _ in p.evals], [100 * exp.score(e) for _, e in p.evals])
                  for v, p in progress.items() if p.evals}
        ui.show_figure(figures.curves_figure(series, title=exp.score_title, x_title="step", y_title="exact (%)",
                                             y_range=(-5, 105)), "train-exact", key="train_exact")
    rows = [{"variant": models.label(v), "at step": p.evals[-1][0], **exp.row(p.evals[-1][1])}
            for v, p in progress.items() if p.evals]
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch")
        ui.explain(EVALUATION_NOTES[exp.name])


EVALUATION_NOTES = {
    "ising": f"Exact: the share of the fixed evaluation set's constant Hamiltonians ({training.PER_PHASE} per phase, "
             "away from phase boundaries) where one sample reaches the exact ground energy. Gap: the mean relative "
             "energy above it. Coverage: on degenerate inputs, the share of their ground states that "
             f"{training.COVERAGE_SAMPLES} samples hit (the equivariant baseline can hit none: its one answer is "
             "symmetric).",
    "graph_ae": "Exact: the share of graphs whose every node pair is right at threshold 0.5, from one reconstruction "
                "(one sample for noise and SymPE). Edge error: the share of wrong pairs. Symmetric: the cycles, "
                f"prisms, Möbius ladders, circulants and hypercubes of {' and '.join(map(str, training.GRAPH_HELD_OUT_SIZES))} "
                f"nodes, held out of training; random: {training.GRAPH_EVAL_RANDOM[0]} fresh Erdős–Rényi graphs.",
}


def results_panel() -> None:
    """Download buttons for the session's trained models (collected from a finished job), per experiment."""
    job = current_job()
    if job is not None and not job.active:
        _collect(job)
    for exp in training.EXPERIMENTS.values():
        trained = trained_models(exp.name)
        if not trained:
            continue
        page, lab = exp.lab
        st.subheader(f"Your models: {exp.title}")
        st.markdown(f"They are in the **{lab}** of this session, beside the shipped ones, labelled *yours*. They live "
                    "only in this session; download one to keep it (safetensors, with its config, knobs and "
                    "evaluation in the metadata).")
        st.page_link(page, label=f"Open the {lab}", icon=":material/open_in_new:")
        cols = st.columns(max(len(trained), 2))
        for col, (label, t) in zip(cols, trained.items()):
            col.download_button(f"Download {label}", t.safetensors,
                                file_name=f"sympe-{exp.name}-{t.variant}-yours.safetensors",
                                mime="application/octet-stream", on_click="ignore", key=f"dl_{exp.name}_{t.variant}")
