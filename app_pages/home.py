"""Home: the one-minute story. An antiferromagnet, the equivariant baseline stuck on the symmetric answer, and SymPE's
samples, each a concrete checkerboard; plus the same effect on a 6-ring."""
import streamlit as st

from app import figures, graphs, lattice, models, sidebar, ui

L, K = 8, 4
EXAMPLES = {
    "Stripes": ("Stripes (rows alternate)", "stripes: J_x = 1 along the rows, J_y = −1 between them, h = 0",
                "one concrete striped state"),
    "Antiferromagnet": ("Antiferromagnet", "the antiferromagnet: J_x = J_y = −1, h = 0", "one concrete checkerboard"),
}

st.title("SymPE Lab")
example = st.radio("Example", list(EXAMPLES), key="home_example", bind="query-params", horizontal=True)
preset, description, answer = EXAMPLES[example]
JX, JY, HF = lattice.PHASE_PRESETS[preset]
ui.explain(
    f"An equivariant network maps a symmetric input to an equally symmetric output: on {description} (every site "
    "alike) it can only answer with the same spin everywhere. **SymPE** samples a group element from the input's "
    "inversion kernel and feeds it to the same network as a positional encoding, so each sample is free to be "
    f"{answer}; an equivariant distribution hits the degenerate ground states equally often. The counts below are "
    "measured live on the shipped models."
)

J, h = lattice.build_inputs(JX, JY, HF, L)
seed = sidebar.seed()
ref = lattice.reference(J, h)

# In presenter mode this row is the page's story (it lies in the container ui.story draws in, which the browser check
# reads): it already shows the input, the baseline's answer and SymPE's samples, so Home adds no separate story row.
row = st.container(key=ui.STORY_KEY if ui.presenter() else None)
c_in, c_base, c_sympe = row.columns([1, 1, 2])
with c_in:
    with ui.guard("The input"):
        ui.show_figure(figures.lattice_input_figure(J, h, title="Input (8×8, periodic)", height=330), "home-input",
                       key="home_input")
        stab = lattice.stabilizer(J, h)
        st.metric("symmetries of the input", f"{stab.order} of {stab.group_order}")
with c_base:
    st.markdown("**Equivariant baseline** (`none`)")
    if ui.model_ready("ising", "none", "The baseline Ising model"):
        with ui.guard("The baseline output"):
            sha = models.manifest()["ising/none"]["sha256"]
            base = lattice.run_variant("none", J, h, 1, seed, sha)
            ui.show_figure(figures.spins_figure(base.spins[0], title="its only answer", height=280), "home-baseline",
                           key="home_base")
            st.metric("energy per site", f"{base.energies[0] / L**2 + 0.0:.3f}")
            st.caption(f"The ground state has {ref.energy / L**2:.3f} per site.")
with c_sympe:
    st.markdown("**SymPE samples** (`sympe`)")
    if ui.model_ready("ising", "sympe", "The SymPE Ising model"):
        with ui.guard("The SymPE samples"):
            sha = models.manifest()["ising/sympe"]["sha256"]
            run = lattice.run_variant("sympe", J, h, K, seed, sha)
            ui.show_figure(figures.spins_row_figure(run.spins, height=150), "home-sympe", key="home_sympe")
            for k, col in enumerate(st.columns(K)):
                col.caption(f"**sample {k + 1}**: E/site {run.energies[k] / L**2:.3f}")
                col.caption(f"h: {lattice.element_text(run.elements[k])}")
            counts = lattice.coverage(run, ref)
            st.markdown("Ground states hit: " + ", ".join(f"{name}: **{c}**" for name, c in counts.items()))
    st.button("Sample again", icon=":material/casino:", on_click=sidebar.next_seed, key="home_resample", type="primary")

st.divider()
st.markdown("**The same on a graph.**")
ui.explain("A 6-ring with identical atoms: all six atoms lie in one orbit of its 12 automorphisms, so an equivariant "
           "model must treat them alike. SymPE draws one of the 12 orderings that give the canonical form and numbers "
           "the atoms by it.")
with ui.guard("The ring example"):
    ring = graphs.preset_graph("Cycle C_n", 6)
    edges = tuple(ring.edges)
    data = graphs.analyze(ring.n, edges)
    pos = graphs.layout(ring.n, edges)
    samples = graphs.kernel_samples(ring.n, edges, 3, seed)
    ring_col, samples_col = st.columns([1, 3])
    with ring_col:
        ui.show_figure(figures.graph_figure(pos, edges, groups=data.orbit_of, title=f"|Aut| = {data.aut_order}, one orbit",
                                            height=250), "home-ring", key="home_ring")
    with samples_col:
        ui.show_figure(figures.graph_grid_figure(pos, edges, [graphs.positions_of(h) for h in samples],
                                                 titles=[f"sample {k + 1}: positions" for k in range(3)], per_row=3,
                                                 cell_height=250, node_size=26),
                       "home-ring-samples", key="home_ring_samples")

st.divider()
st.subheader("Explore")
links = [
    ("app_pages/graph_lab.py", "Graph lab", "canonical forms, automorphisms, the inversion kernel and SymPE on any graph"),
    ("app_pages/lattice_lab.py", "Lattice lab", "Ising ground states: phase diagram, painter, every variant side by side"),
    ("app_pages/molecule_lab.py", "Molecule lab", "symmetric noisy molecule graphs in discrete diffusion"),
    ("app_pages/equivariance.py", "Equivariance in distribution", "the law of the outputs moves with the input"),
    ("app_pages/results.py", "Results", "measured tables of the shipped models, with the commands that reproduce them"),
    ("app_pages/theory.py", "Theory", "the stabilizer argument, the inversion kernel and SymPE, with live examples"),
]
cols = st.columns(3)
for k, (path, title, text) in enumerate(links):
    with cols[k % 3]:
        st.page_link(path, label=title)
        st.caption(text)
