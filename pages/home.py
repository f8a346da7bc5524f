"""Home: a symmetric graph, its automorphism group and SymPE's inversion-kernel samples."""
import networkx as nx
import streamlit as st
import torch

from backend.canonical import canonicalize_graph

st.title("SymPE Lab")
st.write(
    "An equivariant network cannot give two automorphic nodes different outputs. SymPE samples a group element "
    "from the inversion kernel (canonicalize, then pick uniformly among the input's symmetries) and feeds it to the "
    "network as a positional encoding, so each sample is a concrete asymmetric answer."
)
n = st.slider("Ring size", 3, 12, 6)
seed = st.number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, step=1)
ring = nx.cycle_graph(n)
form = canonicalize_graph(n, list(ring.edges()))
st.metric("|Aut(C_n)|", str(form.automorphism_group_order))
samples = form.sample(5, torch.Generator().manual_seed(int(seed)))
st.write("Orderings drawn from the inversion kernel (entry k is the node placed at canonical position k):")
st.table({f"sample {i + 1}": row for i, row in enumerate(samples.tolist())})
