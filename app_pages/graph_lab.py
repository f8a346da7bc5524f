"""Graph lab: follow one graph through canonicalization, the inversion kernel, the SymPE encoding and the decoder."""
import numpy as np
import streamlit as st

from app import figures, graphs, models, pyvis_view, sidebar, train_view, ui
from backend.graph_io import GraphInputError
from backend.tasks import TASKS

st.title("Graph lab")
ui.explain(
    "Choose a graph and follow the pipeline: its automorphism orbits, its canonical form, an inversion-kernel sample "
    "h (one of the |Aut| orderings that give the canonical form), the encoding h·v, and what the graph autoencoder "
    "decodes with and without symmetry breaking. Click two nodes of the input to add or remove the edge between them."
)

# ---- input ------------------------------------------------------------------------------------------------------------
SOURCES = ["Preset", "Random", "Upload", "Type"]
with ui.controls():
    c_src, c_opts, c_k = st.columns([1, 2, 1])
with c_src:
    source = st.radio("Input", SOURCES, key="source", bind="query-params", horizontal=True)
with c_k:
    K = st.slider("K (samples)", 1, 16, 6, key="gK", bind="query-params")
st.button("Resample h", icon=":material/casino:", on_click=sidebar.next_seed, key="resample_graph")
seed = sidebar.seed()

graph = None
with c_opts:
    try:
        if source == "Preset":
            a, b = st.columns([2, 1])
            name = a.selectbox("Preset", list(graphs.PRESETS), key="graph", bind="query-params")
            preset = graphs.PRESETS[name]
            if preset.lo == preset.hi:
                size = preset.lo
                b.caption("fixed size")
            else:
                size = b.slider(preset.size_label, preset.lo, preset.hi, preset.default, key=f"size_{name}")
            graph = graphs.preset_graph(name, size)
        elif source == "Random":
            a, b, c, d = st.columns([3, 3, 3, 2])
            kind = a.selectbox("Generator", graphs.RANDOM_KINDS, key="rkind", bind="query-params")
            n = b.slider("n", 2, graphs.APP_MAX_NODES, 10, key="rn", bind="query-params")
            p = c.slider("p", 0.05, 1.0, 0.3, 0.05, key="rp", bind="query-params", disabled=kind != graphs.RANDOM_KINDS[0])
            graph_seed = d.number_input("Graph seed", 0, graphs.GRAPH_SEED_MAX, 0, key="rseed", bind="query-params",
                                        help="Draws the graph; “Resample h” keeps the graph and draws new samples.")
            graph = graphs.random_graph(kind, n, p, graph_seed)
        elif source == "Upload":
            upload = st.file_uploader(
                "Graph file: edge list (.txt .edgelist .edges .el), adjacency JSON (.json), GraphML (.graphml .xml), "
                "GML (.gml) or graph6 (.g6 .graph6)", key="upload")
            if upload is None:
                st.info(f"Upload a graph with at most {graphs.UPLOAD_MAX_NODES:,} nodes and {graphs.UPLOAD_MAX_EDGES:,} "
                        f"edges (files up to {graphs.UPLOAD_MAX_BYTES // 1000:,} kB).")
            else:
                graph = graphs.parse_upload(upload.name, upload.getvalue())
        else:
            text = st.text_area("Edge list: one edge `u v` per line (# comments, a single token adds a node)",
                                "0 1\n1 2\n2 3\n3 4\n4 5\n5 0", key="edges", bind="query-params", height=150)
            graph = graphs.parse_typed(text)
    except GraphInputError as exc:
        st.error(f"Cannot use this graph: {ui.literal(str(exc))}")
        graph = None

if graph is None:
    st.stop()

graph = graphs.apply_node_clicks(graph, st.session_state, st.session_state.get("graph_click"))
n, edges = graph.n, tuple(graph.edges)
detailed = graphs.detailed(n)
data = graphs.analyze(n, edges)
pos = graphs.layout(n, edges)
samples = graphs.kernel_samples(n, edges, K, seed)
ui.story(lambda: graphs.story_figures(n, edges, pos, samples, seed))

if not detailed:
    st.info(f"This graph has {n:,} nodes, more than {graphs.DETAIL_MAX_NODES}: the drawings leave out node labels "
            "(hover a node for its number), and the n × n heatmaps and the per-sample drawings are hidden, since their "
            "cells and labels would be too small to read. The JSON export below holds the canonical edges and every "
            "sample.", icon=":material/info:")
if not edges:
    st.warning("This graph has no edges: every relabelling is an automorphism, and there is nothing to decode.")
elif not data.connected:
    st.info("This graph is disconnected: canonicalization handles it; the autoencoder was trained on connected graphs.")

# ---- 1. input and orbits ----------------------------------------------------------------------------------------------
st.subheader("1 · Input: automorphism orbits")
c1, c2 = st.columns([1.4, 1])
with c1:
    pending = st.session_state.get("pending")
    hover = [f"node {i} (id {graph.nodes[i]}), orbit {data.orbit_of[i]}" for i in range(n)]
    ui.show_figure(
        figures.graph_figure(pos, edges, groups=data.orbit_of, hover=hover, show_labels=detailed,
                             selected=[pending] if pending is not None else [],
                             title="Nodes coloured by orbit (click two nodes to toggle their edge)", height=420),
        "graph-input", key="graph_click", on_select="rerun", selection_mode=("points",))
with c2:
    m1, m2, m3 = st.columns(3)
    m1.metric("nodes", n)
    m2.metric("edges", len(edges))
    m3.metric("orbits", len(data.orbits))
    st.metric("|Aut(G)|", graphs.count_text(data.aut_order))
    if st.session_state.get("pending") is not None:
        st.info(f"Node {st.session_state['pending']} selected: click another node to add or remove that edge.")
    if st.session_state["edits"]:
        st.caption("Edited edges: " + ", ".join(f"{u}–{v}" for u, v in sorted(st.session_state["edits"])))
        if st.button("Undo all edits", key="undo_edits"):
            st.session_state["edits"] = frozenset()
            st.session_state["pending"] = None
            st.rerun()
    ui.explain("Nodes in one orbit are exchanged by some automorphism, so any equivariant network gives them the same "
               "embedding. Orbits: " + graphs.orbits_text(data.orbits))

# ---- 2. canonical form ------------------------------------------------------------------------------------------------
st.subheader("2 · Canonical form")
c1, c2 = st.columns([1, 1])
gamma = np.asarray(data.order)
canon_pos = graphs.positions_of(gamma)
with c1:
    ui.show_figure(figures.graph_figure(pos, edges, values=canon_pos, labels=[str(p) for p in canon_pos],
                                        show_labels=detailed, title="γ: the canonical position of each node",
                                        height=360), "graph-canonical-positions", key="fig_canon_pos")
with c2:
    if detailed:
        ui.show_figure(figures.adjacency_figure(graphs.adjacency(n, data.canonical_edges),
                                                title="canonical adjacency C[k, l] = A[γ[k], γ[l]]", height=360),
                       "graph-canonical-adjacency", key="fig_canon_adj")
    else:
        st.info(graphs.hidden_heatmap_text("canonical adjacency", n, n))
ui.explain("The canonical adjacency is identical for every relabelling of the same graph (BLISS through igraph). "
           "With symmetries, γ is only defined up to an automorphism: that freedom is what the inversion kernel samples.")
with st.expander("Exact versus approximate canonicalization"):
    approx = graphs.approximation(n, edges, seed)
    st.dataframe([
        {"canonicalizer": "exact (BLISS), the inversion kernel", "orderings it draws from": graphs.count_text(data.aut_order),
         f"different canonical adjacencies in {approx.draws} draws": 1, "two draws give the same adjacency": "100%"},
        {"canonicalizer": "approximate (colour refinement, ties at random)",
         "orderings it draws from": graphs.log10_count_text(approx.pool_log10),
         f"different canonical adjacencies in {approx.draws} draws": approx.distinct,
         "two draws give the same adjacency": f"{100 * approx.agreement:.1f}%"},
    ], hide_index=True, width="stretch")
    ui.explain(f"Colour refinement splits this graph into {approx.classes} class{'es' * (approx.classes != 1)} of "
               f"{n} nodes. It cannot tell automorphic nodes from nodes that only look alike, so where a class has "
               "more than one node its random tie-break draws from every ordering of the class, not from the "
               "automorphisms: the \"canonical\" form it gives changes from draw to draw, and an encoding placed by "
               "it is not the exact inversion kernel. Where refinement separates every node, both agree.")

# ---- 3. the sampled h -------------------------------------------------------------------------------------------------
st.subheader("3 · The sampled group element h")
h0 = samples[0]
s0 = graphs.automorphism_of_sample(data.order, h0)
c1, c2 = st.columns([1, 1.4])
with c1:
    st.markdown(f"**h = s∘γ** with s drawn uniformly from the {graphs.count_text(data.aut_order)} automorphisms.")
    st.markdown(f"**Drawn automorphism s:** `{graphs.cycle_notation(s0, graphs.CYCLE_TEXT_CHARS)}`")
    st.markdown("s maps the graph onto itself: " + (":material/check_circle: verified" if graphs.is_automorphism(s0, edges) else ":material/cancel: not an automorphism"))
    st.caption(f"Seed {seed}. Press “Resample h” for the next seed.")
with c2:
    st.dataframe({"canonical position k": list(range(n)), "node h[k]": h0.tolist(), "γ[k]": list(data.order)},
                 hide_index=True, height=240, width="stretch")

# ---- 4. the encoding --------------------------------------------------------------------------------------------------
st.subheader("4 · The encoding h·v")
table = None
with ui.guard("The learned table"):
    table = graphs.learned_table("sympe") if models.available("graph_ae", "sympe") else None
if table is not None and n <= table.shape[0]:
    source_note = "the shipped autoencoder's learned table v"
else:
    table = graphs.demo_table(max(n, 1), 8)
    source_note = "a fixed random table v (seed 0), standing in until the trained autoencoder covers this graph"
e = graphs.encode(table, h0)
c1, c2 = st.columns([1, 1.2])
with c1:
    ui.show_figure(figures.graph_figure(pos, edges, values=e[:, 0], labels=[str(p) for p in graphs.positions_of(h0)],
                                        show_labels=detailed, height=360,
                                        title="node colour = channel 0 of h·v (label: position under h)"),
                   "graph-encoding", key="fig_enc")
with c2:
    if detailed:
        ui.show_figure(figures.matrix_heatmap(e, title="h·v: node i's row is v[position of i]",
                                              y=[f"node {i}" for i in range(n)], x=[f"d{j}" for j in range(e.shape[1])],
                                              height=360), "graph-encoding-matrix", key="fig_enc_mat")
    else:
        st.info(graphs.hidden_heatmap_text("encoding h·v", n, e.shape[1]))
st.caption(f"Using {source_note}.")

# ---- 5. decoded adjacency ---------------------------------------------------------------------------------------------
st.subheader("5 · What the autoencoder decodes")


def show_decoded(dec: graphs.Decoded, name: str) -> None:
    """The first reconstruction's edge probabilities (red: wrong at 0.5) and its number of wrong pairs."""
    ui.show_figure(figures.adjacency_figure(dec.probs[0], reference=graphs.adjacency(n, edges), height=300,
                                            title="edge probabilities (red: wrong at 0.5)"),
                   f"graph-decoded-{name}", key=f"fig_dec_{name}")
    wrong = int(dec.wrong[0])
    st.metric("wrong pairs", f"{wrong} of {n * (n - 1) // 2}")
    if wrong == 0:
        st.caption(":material/check_circle: exact reconstruction")


decoded: dict = {}
limit = models.graph_ae_limit()
if not models.entries("graph_ae"):
    ui.not_shipped("The graph autoencoder", "graph_ae/<variant>")
elif limit is not None and n > limit:
    st.warning(f"The shipped graph autoencoder handles graphs of at most {limit} nodes; this one has {n}.")
elif n < 2:
    st.warning("The autoencoder needs at least two nodes (there is no pair to decode).")
else:
    shown = [e.name for e in TASKS["graph_ae"].encodings if e.equivariant]  # the lab compares the equivariant encodings
    for col, variant in zip(st.columns(len(shown)), shown):
        with col:
            st.markdown(f"**{models.label(variant)}**")
            if not ui.model_ready("graph_ae", variant, f"`graph_ae/{variant}`"):
                continue
            with ui.guard(f"The {variant} reconstruction"):
                sha = models.manifest()[f"graph_ae/{variant}"]["sha256"]
                decoded[variant] = graphs.decode(variant, n, edges, samples, seed, sha)
                show_decoded(decoded[variant], variant)
    ui.explain("`none` gives automorphic nodes identical embeddings, so every pair inside an orbit looks alike and the "
               "decoder can only guess one probability for all of them. SymPE's h·v tells the nodes apart.")

yours = train_view.trained_models("graph_ae")
if yours and n >= 2:
    st.markdown("**Your models** (trained on the Train page in this session; not shipped)")
    for col, (label, mine) in zip(st.columns(max(len(yours), 2)), yours.items()):
        with col, ui.guard(f"Your {mine.variant} reconstruction"):
            st.markdown(f"**{label}**")
            if n > mine.model.config.n_max:
                st.warning(f"This model handles graphs of at most {mine.model.config.n_max} nodes.")
            else:
                show_decoded(graphs.decode_with(mine.model, mine.variant, n, edges, samples, seed), f"yours-{mine.variant}")

# ---- 6. gallery -------------------------------------------------------------------------------------------------------
st.subheader(f"6 · Gallery: K = {K} samples differ exactly by automorphisms")
ui.explain("Each drawing labels the nodes by the canonical position that sample gives them. Any two samples are "
           "related by an automorphism t = s_i∘s_1⁻¹, and a jointly equivariant decoder's outputs are related by the "
           "same t.")
relative = graphs.relative_automorphisms(data.order, samples)
sym = decoded.get("sympe")
if detailed:
    numberings = [graphs.positions_of(h) for h in samples]
    ui.show_figure(figures.graph_grid_figure(pos, edges, numberings, titles=[f"sample {k + 1}" for k in range(K)],
                                             per_row=3 if ui.presenter() else 4),
                   "graph-samples", key="fig_gallery")
else:
    st.caption(f"One row per sample instead of {K} drawings of {n:,} nodes.")
rows = []
for k, t in enumerate(relative):
    row = {"sample": k + 1, "t = s_k∘s_1⁻¹": graphs.cycle_notation(t, graphs.CYCLE_TEXT_CHARS),
           "automorphism": "✓ verified" if graphs.is_automorphism(t, edges) else "✗ not an automorphism"}
    if sym is not None:
        diff = float(np.abs(sym.probs[k] - graphs.permute_matrix(sym.probs[0], t)).max())
        row["decoded_k vs t·decoded_1 (max diff)"] = f"{diff:.1e}"
    rows.append(row)
st.dataframe(rows, hide_index=True, width="stretch")

with st.expander("Draggable view (pyvis, works offline)"):
    if st.toggle("Show the draggable view", key="show_pyvis"):
        with ui.guard("The draggable view"):
            html = pyvis_view.graph_html(n, edges, labels=[str(x) for x in graph.nodes], groups=data.orbit_of,
                                         tooltips=[f"id {x}, orbit {data.orbit_of[i]}" for i, x in enumerate(graph.nodes)],
                                         positions=None if detailed else pos, show_labels=detailed)
            if not detailed:
                st.caption("Physics is off at this size: the nodes start at the layout above and stay where you drop them.")
            st.iframe(pyvis_view.sandboxed(html, 424), height=440)
extra = {"seed": seed, "decoded": {v: {"probabilities": d.probs.round(4).tolist(), "wrong_pairs": d.wrong.tolist()}
                                   for v, d in decoded.items()}}
st.download_button("Download inputs and outputs (JSON)", lambda: graphs.export_json(graph, data, samples, extra),
                   file_name="sympe-graph.json", mime="application/json", on_click="ignore", key="dl_graph")
