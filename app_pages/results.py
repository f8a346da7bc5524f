"""Results: the measured tables of every shipped model, read from pretrained/manifest.json, with the commands that
reproduce them."""
import streamlit as st

from app import figures, models, ui
from backend import results as R
from backend.tasks.ising_eval import DEGENERACY_SAMPLES

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

# experiment: (the categories and per-variant values of its bar chart, the axis title, the chart title, the note)
CHARTS = {
    "ising": (R.ising_phase_series, "exact ground states %", "Constant Hamiltonians: exact ground states per phase",
              f"TV: total-variation distance between the K = {DEGENERACY_SAMPLES} sampled states and the uniform law on "
              "the degenerate ground states (0 is perfect coverage; a model stuck on one state scores at least 0.5)."),
    "graph_ae": (lambda entries: R.graph_ae_exact_series(R.graph_ae_rows(entries)), "exact reconstructions %",
                 "Exactly reconstructed test graphs", ""),
    "pointcloud": (R.pointcloud_family_series, "draws that hit a target %", "Point clouds: hits per shape family",
                   "Coverage TV: total-variation distance of the targets chosen over the draws of each shape from "
                   "uniform, beside the same figure for an exactly uniform sampler (finite draws alone make it "
                   "positive). A deterministic model that always picks the same target scores 1 − 1/m."),
}

for experiment, title in models.EXPERIMENTS.items():
    st.header(title)
    entries = models.entries(experiment)
    if not entries:
        st.info(f"Not shipped: no `{experiment}/…` entry in the manifest yet.")
        continue
    with ui.guard(f"The {title} results"):
        if experiment in CHARTS:
            series_of, y_title, chart_title, note = CHARTS[experiment]
            categories, series = series_of(entries)
            if series:
                ui.show_figure(figures.grouped_bar_figure(categories, series, y_title=y_title, title=chart_title),
                               f"results-{experiment}", key=f"res_{experiment}")
            if note:
                ui.explain(note)
        st.dataframe(R.SUMMARY_ROWS[experiment](entries), hide_index=True, width="stretch")
        st.markdown("**How each row was made**")
        st.dataframe(R.provenance_rows(entries), hide_index=True, width="stretch")
        with st.expander("Raw manifest entries"):
            st.json({k: v for k, v in manifest.items() if k.startswith(experiment + "/")}, expanded=False)
