"""Results: the measured tables of every shipped model, read from pretrained/manifest.json, with the commands that
reproduce them."""
import streamlit as st

from app import figures, models, ui
from backend import results as R

st.title("Results")
ui.explain("Every number on this page is read from `pretrained/manifest.json`, which the training and evaluation "
           "scripts write. Rerun the listed command to reproduce a row. A model that is not shipped has no row.")

manifest = models.manifest()
problem = models.manifest_problem()
if problem:  # a broken manifest is not an empty one: say what is wrong, and show no "not shipped" rows
    st.error(f"The results cannot be read: {ui.literal(problem)}", icon=":material/error:")
    st.stop()
if not manifest:
    st.warning("pretrained/manifest.json is missing or empty: no model is shipped yet.")

for experiment, title in models.EXPERIMENTS.items():
    st.header(title)
    entries = models.entries(experiment)
    if not entries:
        st.info(f"Not shipped: no `{experiment}/…` entry in the manifest yet.")
        continue
    with ui.guard(f"The {title} results"):
        rows = R.SUMMARY_ROWS[experiment](entries)
        st.dataframe(rows, hide_index=True, width="stretch")
        if experiment == "ising":
            phases, series = R.ising_phase_series(entries)
            if series:
                ui.show_figure(figures.grouped_bar_figure(phases, series, y_title="exact ground states %",
                                                          title="Constant Hamiltonians: exact ground states per phase"),
                               "results-ising-phases", key="res_ising_phases")
            ui.explain("TV: total-variation distance between the K = 200 sampled states and the uniform law on the "
                       "degenerate ground states (0 is perfect coverage; a model stuck on one state scores at least 0.5).")
        elif experiment == "graph_ae":
            datasets, series = R.graph_ae_exact_series(rows)
            if series:
                ui.show_figure(figures.grouped_bar_figure(datasets, series, y_title="exact reconstructions %",
                                                          title="Exactly reconstructed test graphs"),
                               "results-graph-ae", key="res_graph_ae")
        elif experiment == "pointcloud":
            families, series = R.pointcloud_family_series(entries)
            if series:
                ui.show_figure(figures.grouped_bar_figure(families, series, y_title="draws that hit a target %",
                                                          title="Point clouds: hits per shape family"),
                               "results-pointcloud", key="res_pointcloud")
            ui.explain("Coverage TV: total-variation distance of the targets chosen over 32 draws per shape from "
                       "uniform, beside the same figure for an exactly uniform sampler (finite draws alone make it "
                       "positive). A deterministic model that always picks the same target scores 1 − 1/m.")
        st.markdown("**How each row was made**")
        st.dataframe(R.provenance_rows(entries), hide_index=True, width="stretch")
        with st.expander("Raw manifest entries"):
            st.json({k: v for k, v in manifest.items() if k.startswith(experiment + "/")}, expanded=False)
