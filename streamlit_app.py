"""SymPE Lab: the Streamlit entry point (multipage navigation over pages/).

Every rerun goes through here: page config, the shared sidebar, then the selected page inside an error guard, so
no page can show a traceback. With SYMPE_LATENCY_LOG set, the server-side time of every rerun is appended to that
file as one JSON line (scripts/measure_latency.py reads it).
"""
import json
import os
import time

_started = time.perf_counter()

import streamlit as st  # noqa: E402
import torch  # noqa: E402

from app import models, sidebar, ui  # noqa: E402

torch.set_num_threads(models.app_threads())

st.set_page_config(page_title="SymPE Lab", page_icon="◇", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
    st.Page("pages/graph_lab.py", title="Graph lab", icon="🕸️", url_path="graph-lab"),
    st.Page("pages/lattice_lab.py", title="Lattice lab", icon="🧲", url_path="lattice-lab"),
    st.Page("pages/molecule_lab.py", title="Molecule lab", icon="⚗️", url_path="molecule-lab"),
    st.Page("pages/equivariance.py", title="Equivariance in distribution", icon="⚖️", url_path="equivariance"),
    st.Page("pages/results.py", title="Results", icon="📊", url_path="results"),
    st.Page("pages/theory.py", title="Theory", icon="📐", url_path="theory"),
]

page = st.navigation(PAGES)
status = "ok"
try:
    sidebar.render()
    ui.apply_presenter_css()
    with ui.guard(page.title):
        page.run()
except BaseException:
    status = "interrupted"
    raise
finally:
    log_path = os.environ.get("SYMPE_LATENCY_LOG")
    if log_path:
        record = {"page": page.url_path or "home", "seconds": time.perf_counter() - _started, "status": status,
                  "time": time.time()}
        with open(log_path, "a") as fh:
            fh.write(json.dumps(record) + "\n")
