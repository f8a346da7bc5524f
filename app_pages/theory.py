"""Theory: the stabilizer argument, canonicalization, the inversion kernel and SymPE, each formula with a tiny live
example computed by the backend."""
import numpy as np
import streamlit as st

from app import figures, sidebar, ui
from app import theory as T

st.title("Theory in five formulas")
seed = sidebar.seed()
ui.story(lambda: T.story_figures(seed))


def section(title: str):
    st.divider()
    st.subheader(title)
    return st.columns([1.1, 1])


# ---- 1 ----------------------------------------------------------------------------------------------------------------
text, live = section("1 · Equivariant functions keep every symmetry of the input")
with text:
    st.latex(r"f(g\cdot x) = g\cdot f(x)\quad\forall g\in G")
    st.latex(r"G_x=\{g: g\cdot x = x\}")
    st.latex(r"g\in G_x\;\Rightarrow\; g\cdot f(x) = f(g\cdot x) = f(x)")
    ui.explain("Whatever the stabilizer G_x fixes in the input, it also fixes in the output. Two nodes in one orbit of "
               "Aut(G) get the same embedding; a constant lattice gets a constant output.")
with live, ui.guard("The example"):
    n = st.slider("Cycle length n", 3, 12, 6, key="th_n")
    out = T.equivariant_outputs(n)
    ui.show_figure(figures.bar_figure([f"node {i}" for i in range(n)], np.round(out, 6).tolist(), height=240,
                                      title="untrained MPNN on C_n, identical node features"), "theory-1", key="th_fig1")
    st.caption(f"Spread across nodes: {float(out.max() - out.min()):.1e} (all equal up to rounding).")

# ---- 2 ----------------------------------------------------------------------------------------------------------------
text, live = section("2 · Canonicalization")
with text:
    st.latex(r"c(x) = \gamma(x)^{-1}\cdot x,\qquad c(g\cdot x) = c(x)")
    ui.explain("γ(x) maps the canonical representative to x. With symmetries it is only defined up to G_x: every "
               "h in the coset G_x·γ(x) satisfies h⁻¹·x = c(x).")
with live, ui.guard("The example"):
    name = st.selectbox("Graph", ["Petersen graph", "Prism C_n × K_2", "Ring with substituents", "Wheel W_n"], key="th_graph")
    rel = T.two_relabellings(name, seed)
    same = rel[0]["canonical"] == rel[1]["canonical"]
    differ = rel[0]["edges"] != rel[1]["edges"]
    st.markdown(f"Two random relabellings of the {name} ({rel['n']} nodes): edge lists "
                f"{'differ' if differ else 'coincide'}; canonical edge lists are "
                f"{'**identical** :material/check_circle:' if same else '**different** :material/cancel:'}.")
    st.code(f"relabelling 1, first edges: {rel[0]['edges'][:6]}\nrelabelling 2, first edges: {rel[1]['edges'][:6]}\n"
            f"canonical (both):           {rel[0]['canonical'][:6]}", language=None)

# ---- 3 ----------------------------------------------------------------------------------------------------------------
text, live = section("3 · The inversion kernel")
with text:
    st.latex(r"h = s\cdot\gamma(x),\qquad s\sim\mathrm{Unif}(G_x)")
    st.latex(r"h \,\big|\, g\cdot x \;\overset{d}{=}\; g\cdot h \,\big|\, x")
    ui.explain("Exactly |G_x| elements map x to its canonical form; the kernel picks one uniformly (exact rank–unrank "
               "through sympy, with a private generator). If x has no symmetry, h = γ(x) is deterministic.")
with live, ui.guard("The example"):
    n3 = st.slider("Cycle length", 3, 8, 4, key="th_n3")
    draws = st.select_slider("Draws", [100, 400, 1600], value=400, key="th_draws")
    order, counts = T.kernel_histogram(n3, draws, seed)
    ui.show_figure(figures.bar_figure(list(counts), list(counts.values()), reference=draws / order, height=260,
                                      title=f"|Aut(C_{n3})| = {order}: {len(counts)} distinct orderings drawn"),
                   "theory-3", key="th_fig3")

# ---- 4 ----------------------------------------------------------------------------------------------------------------
text, live = section("4 · SymPE: symmetry-breaking positional encodings")
with text:
    st.latex(r"e = h\cdot v,\qquad y = f\big(x \oplus e\big)")
    st.latex(r"f(g\cdot x, g\cdot h) = g\cdot f(x, h)")
    ui.explain("v is a learned table (graphs: one row per canonical position) on which the group acts freely. The pair "
               "(x, h) has no symmetry, so f may break the symmetry of x; the model stays equivariant in distribution.")
with live, ui.guard("The example"):
    n4 = st.slider("Cycle length n ", 3, 12, 6, key="th_n4")
    out4, h4, err = T.sympe_outputs(n4, seed)
    ui.show_figure(figures.bar_figure([f"node {i}" for i in range(n4)], np.round(out4, 4).tolist(), height=240,
                                      title="the same kind of MPNN, fed [1, h·v]"), "theory-4", key="th_fig4")
    st.caption(f"h = {h4}. Outputs now differ across nodes (spread {float(out4.max() - out4.min()):.3f}); the joint "
               f"equivariance error under a random relabelling is {err:.1e}.")
    st.button("Another h", icon=":material/casino:", on_click=sidebar.next_seed, key="th_resample")

# ---- 5 ----------------------------------------------------------------------------------------------------------------
text, live = section("5 · Lattices use the geometric group, not the graph's automorphisms")
with text:
    st.latex(r"|p4m| = 8L^2,\qquad g(p) = R_k\,p + t")
    ui.explain("The lattice page uses p4m (translations, 90° rotations, reflections), optionally times the global "
               "spin flip. The periodic grid as a plain graph has more automorphisms than the lattice has symmetries.")
with live, ui.guard("The example"):
    graph_order, fixed, group_order = T.torus_symmetries(4)
    c1, c2, c3 = st.columns(3)
    c1.metric("|Aut| of the 4×4 torus graph", graph_order)
    c2.metric("p4m elements fixing a constant field", fixed)
    c3.metric("|p4m| for L = 4", group_order)
