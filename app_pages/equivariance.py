"""Equivariance in distribution: the law of the outputs for g·x is the law for x, moved by g."""
import numpy as np
import streamlit as st

from app import equivariance as eq
from app import figures, graphs, lattice, models, sidebar, ui

st.title("Equivariance in distribution")
ui.explain(
    "A SymPE model is a random function: each call draws h from the inversion kernel. It is equivariant *in "
    "distribution*: the outputs for the transformed input g·x have the same law as g applied to the outputs for x. "
    "Below, the outputs for g·x are moved back by g⁻¹ (the stabilized view): change g and the right-hand "
    "distribution stays still, up to sampling noise. The live checker runs the backend's `equivariance_error` on "
    "the joint input (x, h): f(g·x, g∘h) = g·f(x, h) holds to float precision."
)

controls = ui.controls()
with controls:
    mode = st.radio("Domain", ["Lattice (Ising)", "Graph"], key="eq_mode", bind="query-params", horizontal=True)
seed = sidebar.seed()

if mode == "Lattice (Ising)":
    with controls:
        c1, c2, c3 = st.columns([1.2, 1, 1])
        with c1:
            preset = st.selectbox("Input", list(eq.LATTICE_INPUTS), key="eq_input", bind="query-params")
            K = st.slider("K (samples per side)", 4, 64, 32, 4, key="eq_K", bind="query-params")
        with c2:
            rot = st.select_slider("Rotation", options=[0, 90, 180, 270], value=90, key="eq_rot", bind="query-params")
            mirror = st.toggle("Mirror", key="eq_mirror", bind="query-params")
            flip = st.toggle("Spin flip (h → −h)", key="eq_flip", bind="query-params")
        with c3:
            L = eq.LATTICE_L
            dr = st.slider("Shift rows", 0, L - 1, 1, key="eq_dr", bind="query-params")
            dc = st.slider("Shift columns", 0, L - 1, 2, key="eq_dc", bind="query-params")
    act, shown = st.columns([1, 3], vertical_alignment="center")
    act.button("Sample again", icon=":material/casino:", on_click=sidebar.next_seed, key="eq_resample")
    point = rot // 90 + (4 if mirror else 0)
    g = lattice.element_from_parts(L, point, (dr, dc), flip)
    J, h = eq.lattice_input(preset)
    Jg, hg = eq.act_lattice(g, J, h)
    shown.markdown(f"**g = {lattice.element_text(g.to_dicts()[0])}**")

    if not ui.model_ready("ising", "sympe", "The SymPE Ising model"):
        st.stop()
    sha = models.manifest()["ising/sympe"]["sha256"]
    run_x = lattice.run_variant("sympe", J, h, K, seed, sha, per_sample_passes=True)
    run_gx = lattice.run_variant("sympe", Jg, hg, K, seed + 1_000_003, sha, per_sample_passes=True)
    back = eq.act_back_spins(g, run_gx.spins)
    ui.story(lambda: eq.lattice_story_figures(J, h, Jg, hg, run_x.spins, back), widths=[1, 1, 2])

    c1, c2, c3 = st.columns(3)
    with c1:
        ui.show_figure(figures.lattice_input_figure(J, h, title="x", height=300), "eq-x", key="eq_fig_x")
        ui.show_figure(figures.spins_figure(run_x.spins.mean(0), title="mean spin of f(x) over K samples", height=260,
                                            show_scale=True), "eq-mean-x", key="eq_mean_x")
    with c2:
        ui.show_figure(figures.lattice_input_figure(Jg, hg, title="g·x", height=300), "eq-gx", key="eq_fig_gx")
        ui.show_figure(figures.spins_figure(run_gx.spins.mean(0), title="mean spin of f(g·x): moves with g",
                                            height=260, show_scale=True), "eq-mean-gx", key="eq_mean_gx")
    with c3:
        st.markdown("**Stabilized view**")
        ui.explain("g⁻¹ applied to each output for g·x. Same law as the left column.")
        ui.show_figure(figures.spins_figure(back.mean(0), title="mean spin of g⁻¹·f(g·x)", height=260, show_scale=True),
                       "eq-mean-back", key="eq_mean_back")
    with ui.guard("The distributions"):
        law, tv = eq.lattice_law_figure(run_x.spins, back)
        ui.show_figure(law, "eq-hist", key="eq_hist")
        st.caption(f"Total-variation distance between the two empirical laws: {tv:.3f} (K = {K} per side; "
                   "sampling noise alone gives values of order 1/√K).")

    st.subheader("Live equivariance check")
    with ui.guard("The equivariance check"):
        rows = eq.lattice_checks(J, h, point, (dr, dc), flip, seed)
        st.dataframe(rows, hide_index=True, width="stretch")
        ui.explain("`sympe` is checked on the joint input (x, h): the same h moved by g. `none` has no h; its "
                   "network is p4m-equivariant but not built to be odd under the spin flip. `fixed` uses v without "
                   "canonicalization and is not equivariant: its error is large.")

else:
    with controls:
        c1, c2 = st.columns([1.5, 1])
        with c1:
            name = st.selectbox("Graph", list(graphs.PRESETS), index=list(graphs.PRESETS).index("Ring with substituents"),
                                key="eq_graph", bind="query-params")
            preset = graphs.PRESETS[name]
            size = preset.lo if preset.lo == preset.hi else st.slider(
                preset.size_label, preset.lo, min(preset.hi, 20), min(preset.default, 20), key=f"eq_size_{name}")
            K = st.slider("K (samples per side)", 8, 256, 64, 8, key="eq_gK", bind="query-params")
        with c2:
            g_seed = st.number_input("g: random relabelling number", 0, 10_000, 1, key="eq_g", bind="query-params")
    act, shown = st.columns([1, 3], vertical_alignment="center")
    act.button("Sample again", icon=":material/casino:", on_click=sidebar.next_seed, key="eq_resample_graph")
    graph = graphs.preset_graph(name, size)
    n, edges = graph.n, tuple(graph.edges)
    g = eq.relabelling(n, int(g_seed))
    edges_g = eq.relabel_edges(edges, g)
    shown.markdown(f"**g** = `{graphs.cycle_notation(g)}` (node i ↦ g[i])")
    data = graphs.analyze(n, edges)
    data_g = graphs.analyze(n, edges_g)
    hx = graphs.kernel_samples(n, edges, K, seed)
    hgx = graphs.kernel_samples(n, edges_g, K, seed + 1_000_003)
    pos = graphs.layout(n, edges)
    pos_g = np.empty_like(pos)
    pos_g[g] = pos  # draw g·x with node g[i] where node i was: the picture is the same, the labels move
    ui.story(lambda: eq.graph_story_figures(pos, pos_g, data, data_g, hx, hgx, g), widths=[1, 1, 2])
    c1, c2, c3 = st.columns(3)
    with c1:
        ui.show_figure(figures.graph_figure(pos, edges, groups=data.orbit_of, title="x (coloured by orbit)", height=300),
                       "eq-graph-x", key="eq_gfig_x")
    with c2:
        ui.show_figure(figures.graph_figure(pos_g, edges_g, groups=data_g.orbit_of, title="g·x (relabelled)", height=300),
                       "eq-graph-gx", key="eq_gfig_gx")
    with c3:
        ui.explain("Which node is put at canonical position 0? For x the answer is uniform over one orbit. For g·x the "
                   "node names move with g; moved back by g⁻¹ the histogram is the same law.")
    ui.show_figure(eq.graph_law_figure(hx, hgx, g), "eq-graph-hist", key="eq_ghist")
    st.subheader("Live equivariance check")
    with ui.guard("The equivariance check"):
        st.dataframe(eq.graph_checks(n, edges, g, hx[:1], models.versions("graph_ae")), hide_index=True,
                     width="stretch")
