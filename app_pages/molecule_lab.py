"""Molecule lab: symmetric noisy molecule graphs in discrete diffusion. With the shipped QM9 models it animates their
generation trajectories (saved or sampled live) and compares the variants; without them it shows the model-free
forward process and the symmetry of every noisy graph."""
import numpy as np
import streamlit as st

from app import figures, graphs, models, sidebar, ui
from app import molecules as M
from backend import results as R
from backend.encodings import SYMPE

st.title("Molecule lab")

entries = models.entries("qm9")
shipped = models.shipped_variants("qm9")  # shipped and loadable
if models.manifest_problem() or any(models.status("qm9", v).state == "failed" for v in entries):
    ui.not_shipped("The QM9 diffusion model", "qm9/<variant>")
elif not shipped:
    st.warning(
        "**The QM9 diffusion model is not shipped.** There is no `qm9/…` entry in pretrained/manifest.json, so this "
        "page cannot generate molecules (docs/experiments/qm9.md gives the training command). What follows needs no model."
    )

ui.explain(
    "A discrete diffusion model generates a molecule by denoising, starting from pure noise: every atom type and "
    "every pair's bond type drawn from the data's marginals, so atoms and pairs are exchangeable and the noisy graphs "
    "are often symmetric. An equivariant denoiser cannot break the symmetry of its input by itself; SymPE draws h "
    "from the inversion kernel of the *current* noisy graph (atom and bond types as colours) at every step."
)

with ui.controls():
    sources = (["Trained model: generation"] if shipped else []) + ["Forward noising of a known molecule (no model)"]
    source = st.radio("Show", sources, key="mol_source", bind="query-params", horizontal=True)
    seed = sidebar.seed()
    smiles, steps, saved, mode = None, None, [], None
    if source.startswith("Trained"):
        c1, c2, c3 = st.columns([1.2, 1.2, 1])
        variant = c1.selectbox("Variant", shipped, index=shipped.index(SYMPE.name) if SYMPE.name in shipped else 0,
                               format_func=models.label, key="mol_variant",
                               bind="query-params")
        sha = entries[variant]["sha256"]
        saved = M.saved_trajectories(variant, sha)
        modes = (["saved"] if saved else []) + ["live"]
        mode = c2.radio("Trajectory", modes, key="mol_mode", bind="query-params", horizontal=True,
                        captions=[{"saved": "instant", "live": "sampled now"}[m] for m in modes])
        speed = c3.select_slider("Speed (steps per second)", [1.0, 2.0, 5.0, 10.0, 20.0], value=10.0,
                                  key="mol_speed_model")
        with ui.guard("Generation"):
            if mode == "saved":
                k = st.select_slider("Saved trajectory", list(range(len(saved))), value=0, key="mol_saved")
                steps, smiles = M.saved_trajectory(saved[k])
                key = ("saved", variant, k)
            else:
                T_model = int(entries[variant]["config"]["T"])
                n_steps = st.select_slider("Denoising steps", sorted({10, 25, 50, T_model}), value=T_model,
                                           key="mol_steps")
                with st.spinner("Sampling a molecule…"):
                    steps, smiles = M.live_trajectory(variant, sha, seed, n_steps)
                key = ("live", variant, seed, n_steps)
        if steps is None:
            st.stop()
        T = len(steps) - 1
        n = len(steps[0].atoms)
        edges0 = tuple(sorted((u, v) for u, v, _ in steps[0].bonds))
    else:
        c1, c2, c3, c4 = st.columns(4)
        name = c1.selectbox("Molecule (heavy atoms)", list(M.MOLECULES), key="mol", bind="query-params")
        process = c2.radio("Noise", ["absorbing", "uniform"], key="mol_process", bind="query-params", horizontal=True)
        T = c3.select_slider("Steps T", [10, 20, 50], value=20, key="mol_T", bind="query-params")
        speed = c4.select_slider("Speed (steps per second)", [0.5, 1.0, 2.0, 4.0], value=2.0, key="mol_speed")
        steps = M.trajectory(name, process, T, seed)
        atoms0, bonds0 = M.MOLECULES[name]
        n = len(atoms0)
        edges0 = tuple(sorted((min(u, v), max(u, v)) for u, v, _ in bonds0))
        key = ("forward", name, process, T, seed)
pos = graphs.layout(n, edges0)
ui.story(lambda: M.story_figures(steps, pos, source.startswith("Trained")))

# The player shows generation order: index 0 is t = T (noise), index T is t = 0 (the molecule).
if st.session_state.get("_mol_key") != key:
    st.session_state["_mol_key"] = key
    st.session_state["mol_frame"] = 0
    st.session_state["mol_playing"] = False


def _move(delta: int | None = None, to: int | None = None):
    frame = st.session_state.get("mol_frame", 0)
    st.session_state["mol_frame"] = int(np.clip(to if to is not None else frame + delta, 0, T))


def _toggle_play():
    if not st.session_state.get("mol_playing") and st.session_state.get("mol_frame", 0) >= T:
        st.session_state["mol_frame"] = 0
    st.session_state["mol_playing"] = not st.session_state.get("mol_playing", False)


row = st.container(horizontal=True)  # buttons as wide as their labels; the row wraps, a label never does
row.button("Start", icon=":material/skip_previous:", on_click=_move, kwargs={"to": 0}, key="mol_first")
row.button("Step back", icon=":material/navigate_before:", on_click=_move, kwargs={"delta": -1}, key="mol_prev")
row.button("Pause" if st.session_state.get("mol_playing") else "Play",
             icon=":material/pause:" if st.session_state.get("mol_playing") else ":material/play_arrow:", on_click=_toggle_play, key="mol_play")
row.button("Step", icon=":material/navigate_next:", on_click=_move, kwargs={"delta": 1}, key="mol_next")
row.button("End", icon=":material/skip_next:", on_click=_move, kwargs={"to": T}, key="mol_last")


def _new_trajectory():
    """The next saved trajectory when showing saved ones; otherwise the next seed (a fresh draw)."""
    if mode == "saved":
        st.session_state["mol_saved"] = (int(st.session_state.get("mol_saved", 0)) + 1) % len(saved)
    else:
        sidebar.next_seed()


row.button("New trajectory", icon=":material/casino:", on_click=_new_trajectory, key="mol_resample")


@st.fragment(run_every=(1.0 / speed) if st.session_state.get("mol_playing") else None)
def player():
    if st.session_state.get("mol_playing"):
        if st.session_state["mol_frame"] >= T:
            st.session_state["mol_playing"] = False
        else:
            st.session_state["mol_frame"] += 1
    frame = st.session_state["mol_frame"]
    step = steps[T - frame]
    left, right = st.columns([1.3, 1])
    with left:
        ui.show_figure(figures.molecule_figure(pos, step.atoms, step.bonds,
                                               title=f"noisy graph at t = {step.t} (frame {frame} of {T})"),
                       "molecule-step", key="mol_fig")
    with right:
        st.progress(frame / T, text=f"generation direction: t = {step.t}")
        st.metric("|Aut| of the noisy coloured graph", f"{step.aut_order:,}")
        st.markdown("**symmetric** (an equivariant denoiser is stuck on its orbits)" if step.aut_order > 1
                    else "**no symmetry left** (h is deterministic: plain canonicalization)")
        st.markdown(f"orbits: {step.orbits} of {n} atoms")
        st.markdown(f"h drawn by SymPE at this step: `{list(step.h)}` (atom at canonical position k)")


player()

st.subheader("Symmetry along the trajectory")
ts = [s.t for s in steps]
ui.show_figure(figures.bar_figure([str(t) for t in ts], [round(float(np.log10(s.aut_order)), 2) for s in steps],
                                  title="log10 |Aut| of the noisy graph at each t (0 = the molecule)", height=260,
                                  y_title="log10 |Aut|"), "molecule-aut", key="mol_aut")
st.caption(f"{100 * M.symmetric_fraction(steps):.0f}% of the {T + 1} states have a nontrivial automorphism group. "
           "The molecule itself: |Aut| = " + f"{steps[0].aut_order}.")

if source.startswith("Trained"):
    st.markdown(f"Generated molecule: `{smiles}`" if smiles else
                "The generated graph is **not a valid molecule** (RDKit cannot sanitize it, or it is disconnected).")
    svg = M.depiction_svg(smiles) if smiles else None
    if svg:
        st.image(svg, caption="RDKit depiction (hydrogens implicit)")

    st.subheader("The variants side by side")
    ui.explain("The same seed for every variant: 16 molecules each, sampled now with all denoising steps. The full "
               "evaluation (1000 molecules per variant) is in the table below and in the README.")
    if st.button("Sample 16 molecules from every variant", icon=":material/science:", key="mol_compare"):
        st.session_state["mol_compare_seed"] = seed
    if st.session_state.get("mol_compare_seed") is not None:
        with ui.guard("The comparison"), st.spinner("Sampling…"):
            st.dataframe(M.compare_variants(models.versions("qm9"), st.session_state["mol_compare_seed"], 16),
                         hide_index=True, width="stretch")

    st.subheader("Measured results")
    with ui.guard("The QM9 manifest entries"):

        st.dataframe(R.task_results("qm9").summary_rows(entries), hide_index=True, width="stretch")
        st.dataframe(R.provenance_rows(entries), hide_index=True, width="stretch")
