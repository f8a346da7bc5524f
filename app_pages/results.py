"""Results: the measured tables of every shipped model, read from pretrained/manifest.json, with the commands that
reproduce them."""
import streamlit as st

from app import figures, models, results, ui
from backend import results as R
from backend.tasks import TASKS

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
ui.story(lambda: results.headline_figures(manifest))

for experiment, task in TASKS.items():
    title = task.title
    st.header(title)
    entries = models.entries(experiment)
    if not entries:
        st.info(f"Not shipped: no `{experiment}/…` entry in the manifest yet.")
        continue
    with ui.guard(f"The {title} results"):
        tables = R.task_results(experiment)
        chart = tables.chart(entries)
        if chart is not None:
            ui.show_figure(figures.grouped_bar_figure(chart.categories, chart.series, y_title=chart.y_title,
                                                      title=chart.title), f"results-{experiment}", key=f"res_{experiment}")
            if chart.note:
                ui.explain(chart.note)
        st.dataframe(tables.summary_rows(entries), hide_index=True, width="stretch")
        st.markdown("**How each row was made**")
        st.dataframe(R.provenance_rows(entries), hide_index=True, width="stretch")
        with st.expander("Raw manifest entries"):
            st.json({k: v for k, v in manifest.items() if k.startswith(experiment + "/")}, expanded=False)
