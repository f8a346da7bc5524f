"""Train page: train Ising variants side by side, live, and use the result in the Lattice lab."""
import streamlit as st

from app import models, train_view, training, ui

st.title("Train it yourself")
ui.explain(
    "Train small p4m-equivariant networks on the 8×8 Ising lattice and watch them learn. On a symmetric input (a "
    "constant antiferromagnet, stripes) the equivariant baseline `none` can only give a symmetric answer, which is "
    "never a ground state there; SymPE samples a group element from the inversion kernel, feeds it to the same "
    "network as a positional encoding, and learns to reach one of the degenerate ground states. The evaluation set "
    "is fixed; training uses its own draws."
)

job = train_view.current_job()
busy = job is not None and job.active
lo = training.BOUNDS
d = training.Knobs()
train_view.task_panel()
with ui.controls("Training settings"):
    st.radio("Experiment", ["Ising lattice (L = 8)"], key="train_experiment", horizontal=True,
             help="The graph autoencoder is not offered on this page yet.")
    variants = st.multiselect("Variants trained side by side", list(training.VARIANTS), default=list(d.variants),
                              format_func=models.label, key="train_variants",
                              max_selections=len(training.VARIANTS), disabled=busy)
    c1, c2, c3 = st.columns(3)
    steps = c1.slider("Steps", *lo["steps"][:2], d.steps, lo["steps"][2], key="train_steps", disabled=busy)
    lr = c2.select_slider("Learning rate", options=[1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 5e-3, 1e-2], value=d.lr,
                          format_func=lambda x: f"{x:g}", key="train_lr", disabled=busy)
    width = c3.slider("Width (hidden channels)", *lo["width"][:2], d.width, lo["width"][2], key="train_width",
                      disabled=busy)
    c4, c5, c6 = st.columns(3)
    enc = c4.slider("Encoding dimension", *lo["encoding_dim"][:2], d.encoding_dim, lo["encoding_dim"][2],
                    key="train_enc", disabled=busy, help="Channels of SymPE's learned field v (and of noise and fixed).")
    share = c5.slider("Share of symmetric inputs", *lo["symmetric_share"][:2], d.symmetric_share,
                      lo["symmetric_share"][2], key="train_share", disabled=busy,
                      help="Constant Hamiltonians (fixed by the whole lattice group) among the training inputs; the "
                           "rest vary in space.")
    seed = c6.number_input("Seed", *lo["seed"][:2], d.seed, 1, key="train_seed", disabled=busy)
    knobs = training.Knobs(tuple(variants), int(steps), float(lr), int(width), int(enc), float(share), int(seed))
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
