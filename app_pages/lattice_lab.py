"""Lattice lab: Ising ground states with the p4m group CNN, every shipped variant side by side."""
import streamlit as st

from app import figures, lattice, models, sidebar, train_view, ui
from backend.tasks import TASKS

st.title("Lattice lab: Ising ground states")
ui.explain(
    "Pick couplings J_x, J_y and a field h (or click the phase diagram), optionally paint single sites and bonds, "
    "and compare what each variant of the p4m-equivariant network outputs. A constant Hamiltonian is fixed by the "
    "whole lattice group, so the equivariant baseline can only output a constant spin field; SymPE samples a group "
    "element h from the inversion kernel and can output any one of the degenerate ground states."
)

# ---- state that other widgets write into (applied before the widgets are created) ------------------------------------
defaults = {"jx": -1.0, "jy": -1.0, "field": 0.0}


def _apply_preset():
    name = st.session_state.get("preset")
    if name in lattice.PHASE_PRESETS:
        st.session_state["jx"], st.session_state["jy"], st.session_state["field"] = lattice.PHASE_PRESETS[name]


def _search_on():
    st.session_state["search"] = lattice.SEARCH_PROPOSALS


def _bound(label: str, key: str, value, **kwargs):
    """A slider kept in the URL, its range and step from lattice.URL_SLIDERS (which also checks the link)."""
    lo, hi, step = lattice.URL_SLIDERS[key]
    return st.slider(label, lo, hi, value, step, key=key, bind="query-params", **kwargs)


if "paint" not in st.session_state:  # the first run of this page in the session: read the link once
    st.session_state["paint"], st.session_state["_link_notes"] = lattice.parse_paint(st.query_params.get("paint", ""))
    st.session_state["_link_raw"] = {k: st.query_params.get_all(k) for k in lattice.URL_PARAMS}

picked = ui.fresh_points(st.session_state, st.session_state.get("phase_click"), "_phase_last")
if picked and picked[0].get("customdata") is not None:
    jx_new, jy_new = picked[0]["customdata"][:2]
    st.session_state["jx"], st.session_state["jy"] = round(float(jx_new), 2), round(float(jy_new), 2)

painted = ui.fresh_points(st.session_state, st.session_state.get("painter"), "_paint_last")
if painted:
    value, _ = lattice.paint_value(float(st.session_state.get("paint_value", 2.0)))
    for p in painted:
        cell = lattice.paint_cell(p.get("customdata"), st.session_state.get("L", lattice.SIZES[-1]))
        if cell is not None:
            st.session_state["paint"][cell] = value

# ---- controls ---------------------------------------------------------------------------------------------------------
with ui.controls("Couplings, field, size and samples"):  # the phase diagram is a control too: click to pick J
    controls, diagram = st.columns([1, 1.3])
    with controls:
        st.selectbox("Phase preset", ["Custom"] + list(lattice.PHASE_PRESETS), key="preset", on_change=_apply_preset)
        jx = _bound("J_x (horizontal coupling)", "jx", defaults["jx"])
        jy = _bound("J_y (vertical coupling)", "jy", defaults["jy"])
        hval = _bound("h (field)", "field", defaults["field"])
        L = st.select_slider("L (lattice size)", options=list(lattice.SIZES), value=8, key="L", bind="query-params")
        K = _bound("K (samples per variant)", "K", 8)
        search_available = L <= lattice.SEARCH_MAX_L
        P = _bound("Nearby search (proposals per sample, 0 = off)", "search", 0, disabled=not search_available,
                   help="Each sample becomes the lowest-energy state among the model's own answer and its answers for "
                        "P slightly perturbed Hamiltonians, judged by the true energy. It fixes most misses next to "
                        "phase boundaries, keeps the output law equivariant, and cannot help the unbroken baseline.")
        used = {"jx": jx, "jy": jy, "field": hval, "L": L, "K": K, "search": P}
        if not search_available:
            P = 0
            st.caption(lattice.SEARCH_OFF_NOTE)
act, phase = st.columns([1, 3], vertical_alignment="center")
act.button("Sample again", icon=":material/casino:", on_click=sidebar.next_seed, key="resample_lattice")
phase.markdown(f"Phase of the constant part: **{lattice.phase_of(jx, jy, hval)}**.")
st.caption("The shipped models were trained at L = 8; other sizes tile the learned field.")

paint, outside = lattice.paint_within(st.session_state["paint"], L)
if "_link_raw" in st.session_state:  # the first run: what the link asked for and the page did not take, in one line
    st.session_state["paint"] = paint
    notes = (lattice.url_param_notes(st.session_state.pop("_link_raw"), used) + st.session_state.pop("_link_notes", [])
             + outside)
    if notes:
        st.warning("This link was not used as written: " + "; ".join(notes) + ".", icon=":material/warning:")
if paint:
    st.query_params["paint"] = lattice.encode_paint(paint, L)
elif "paint" in st.query_params:
    del st.query_params["paint"]
J, h = lattice.build_inputs(jx, jy, hval, L, tuple((k, i, j, v) for (k, i, j), v in sorted(paint.items())))
seed = sidebar.seed()
shipped = models.shipped_variants("ising")
ui.precompute(lattice.page_computations(J, h, K, seed, P, shipped))
with diagram, ui.guard("The phase diagram"):  # filled after the computations: see ui.precompute
    grid, phases = lattice.phase_grid(hval)
    ui.show_figure(figures.phase_diagram_figure(grid, phases, (jx, jy), h=hval), "phase-diagram",
                   key="phase_click", on_select="rerun", selection_mode=("points",))
ui.story(lambda: lattice.story_figures(J, h, K, seed, P), widths=[1.6, 1, 1, 1, 1])

# ---- input, painter and stabilizer ------------------------------------------------------------------------------------
st.subheader("1 · The input and its stabilizer")
left, right = st.columns([1.2, 1])
with left:
    with ui.guard("The painter"):
        pc1, pc2, pc3 = st.columns([1, 1, 1])
        pc1.number_input("Paint value", lattice.PAINT_MIN, lattice.PAINT_MAX, 2.0, lattice.PAINT_STEP, key="paint_value",
                         help="Click a site (circle: field h) or a bond (square: J) to set it to this value.")
        pc2.metric("Painted sites and bonds", len(paint))
        if pc3.button("Clear painting", key="clear_paint", disabled=not paint):
            st.session_state["paint"] = {}
            st.session_state["_paint_last"] = None
            st.rerun()
        ui.show_figure(
            figures.lattice_input_figure(J, h, title="Input: circles = field h, squares = couplings J (click to paint)",
                                         marked=[k for k in paint]),
            "lattice-input", key="painter", on_select="rerun", selection_mode=("points", "box"),
        )
with right:
    with ui.guard("The stabilizer"):
        stab = lattice.stabilizer(J, h)
        c1, c2 = st.columns(2)
        c1.metric("|G_x| (symmetries of the input)", f"{stab.order}")
        c2.metric("|G| = 16·L² (p4m × spin flip)", f"{stab.group_order}")
        st.markdown(f"**Fixed by:** {stab.summary}.")
        ui.explain("Each row: how many translations, combined with this rotation or reflection (and optionally the "
                   "global spin flip, which flips the sign of h), map the input onto itself.")
        st.dataframe(stab.table, hide_index=True, width="stretch")

# ---- outputs per variant ----------------------------------------------------------------------------------------------
st.subheader("2 · Output spins of each variant")
ref = None
with ui.guard("The reference energy"):
    ref = lattice.reference(J, h)
    st.markdown(f"Reference ground energy per site: **{ref.energy / L**2:.4f}** ({ref.method}).")
    if lattice.tied_ground_states(ref) > 2:
        st.info(f"**On a phase boundary:** {lattice.tied_ground_states(ref)} of the 2-periodic states tie for the ground "
                "state (and when a coupling is exactly 0, many more states do). The models were trained on "
                "continuous couplings, where exact ties almost never occur, so a sample here can mix two phases and "
                "miss the ground energy. The nearby search compares each sample with the model's answers for "
                "slightly shifted couplings and keeps the lowest energy.", icon=":material/info:")
        if P == 0 and search_available:
            st.button(f"Turn on the nearby search (P = {lattice.SEARCH_PROPOSALS})", key="search_on", on_click=_search_on)

runs: dict = {}
# the headers in a row of their own, so that one wrapping to two lines does not shift its column's figure
variants = TASKS["ising"].variants
for col, variant in zip(st.columns(len(variants)), variants):
    col.markdown(f"**{models.label(variant)}**")
for col, variant in zip(st.columns(len(variants)), variants):
    with col:
        if variant not in shipped:
            ui.not_shipped(f"`ising/{variant}`", f"ising/{variant}")
            continue
        with ui.guard(f"The {variant} output"):
            sha = models.manifest()[f"ising/{variant}"]["sha256"]
            run = lattice.run_variant(variant, J, h, K, seed, sha, P)
            runs[variant] = run
            ui.show_figure(figures.spins_figure(run.spins[0], title="sample 1"), f"spins-{variant}",
                           key=f"spins_{variant}")
            e_site = run.energies[0] / L**2
            if ref is not None:
                gap = (run.energies[0] - ref.energy) / max(abs(ref.energy), 1e-12)
                ok = abs(gap) <= 1e-9 if ref.exact else gap <= 1e-9
                st.metric("energy per site", f"{e_site:.4f}", f"{gap:+.2%} vs reference",
                          delta_color="off" if ok else "inverse", delta_arrow="off" if abs(gap) <= 1e-9 else "auto")
                st.markdown(":material/check_circle: a ground state" if ok and ref.exact else (":material/check_circle: matches the reference" if ok else ":material/cancel: above the reference"))

yours: dict = {}
trained = train_view.trained_models()
if trained:
    st.markdown("**Your models** (trained on the Train page in this session; not shipped)")
    cols = st.columns(max(len(trained), 2))
    for col, (label, model) in zip(cols, trained.items()):
        with col, ui.guard(f"Your {model.variant} output"):
            st.markdown(f"**{label}**")
            run = lattice.run_trained(model, J, h, K, seed, P)
            yours[label] = run
            ui.show_figure(figures.spins_figure(run.spins[0], title=f"{label}, sample 1"), f"spins-{label}",
                           key=f"spins_{label}")
            if ref is not None:
                gap = (run.energies[0] - ref.energy) / max(abs(ref.energy), 1e-12)
                st.metric("energy per site", f"{run.energies[0] / L**2:.4f}", f"{gap:+.2%} vs reference",
                          delta_color="off", delta_arrow="off" if abs(gap) <= 1e-9 else "auto")

# ---- SymPE internals --------------------------------------------------------------------------------------------------
st.subheader("3 · Inside SymPE: the sampled h and the encoding h·v")
if "sympe" not in runs:
    ui.not_shipped("The SymPE Ising model", "ising/sympe")
else:
    with ui.guard("The SymPE internals"):
        run = runs["sympe"]
        a, b, c = st.columns([1.2, 1, 1])
        with a:
            st.markdown(f"**h for sample 1:** {lattice.element_text(run.elements[0])}")
            ui.explain("h is drawn uniformly from the coset G_x·γ(x): every element that maps the input to its "
                       "canonical form. The network sees x together with h·v. Without the nearby search the K "
                       "outputs come from one forward pass at γ, moved by each sample's stabilizer element h∘γ⁻¹: "
                       "joint equivariance makes that exact, and the Equivariance page runs every sample to check it.")
            st.dataframe([{"sample": k + 1, "h": lattice.element_text(d)} for k, d in enumerate(run.elements)],
                         hide_index=True, height=240, width="stretch")
        channel = st.radio("Encoding channel", list(range(run.table.shape[0])), horizontal=True, key="enc_channel")
        with b:
            ui.show_figure(figures.field_figure(run.table[channel], title=f"learned field v (channel {channel})"),
                           "sympe-v", key="fig_v")
        with c:
            ui.show_figure(figures.field_figure(run.encoding[channel], title=f"h·v for sample 1 (channel {channel})"),
                           "sympe-hv", key="fig_hv")

# ---- coverage of the degenerate ground states -------------------------------------------------------------------------
st.subheader(f"4 · Which states do K = {K} samples hit?")
ui.explain("For a constant Hamiltonian the degenerate ground states are known exactly. An equivariant model in "
           "distribution should hit each of them equally often; the deterministic baseline always gives the same answer.")
if (runs or yours) and ref is not None:
    labelled = {v: (models.label(v), r) for v, r in runs.items()} | {k: (k, r) for k, r in yours.items()}
    with ui.guard("The histograms"):
        uniform = K / len(ref.ground_cells) if ref.ground_cells else None
        panels = []
        for name, (title, run) in labelled.items():
            counts = lattice.coverage(run, ref)
            panels.append(dict(name=name, title=title, labels=list(counts), values=list(counts.values()),
                               colors=["#d62728" if k == "not a ground state" else "#4c78a8" for k in counts],
                               reference=uniform))
        ui.show_figure(figures.bar_row_figure(panels, y_title="samples"), "coverage", key="coverage")
    st.caption("Ground states are named by their 2×2 cell (row 0 / row 1, ↑ = +1). The dashed line is K divided by "
               "the number of degenerate ground states.")
elif not runs:
    st.info("No Ising model is shipped yet.")

if runs and ref is not None:
    params = {"jx": jx, "jy": jy, "h": hval, "L": L, "K": K, "seed": seed, "search": P}
    st.download_button("Download inputs and outputs (JSON)", lambda: lattice.export_json(params, J, h, runs, ref),
                       file_name="sympe-lattice.json", mime="application/json", on_click="ignore", key="dl_lattice")
