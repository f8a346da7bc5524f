"""SymPE Lab: the Streamlit entry point (multipage navigation over app_pages/).

The page scripts live in app_pages/, not pages/: Streamlit treats a folder named pages/ beside the entry script as
the old automatic multipage layout until st.navigation has run once in the process, so on a freshly started server a
shared deep link such as /lattice-lab would run the page script alone, without this entry script (no sidebar, no
URL state, no error guard).

Every rerun goes through here: page config, the tour's switch to a step's page (app/tour.py, when the URL has
?tour=N: before the sidebar, so a deep link keeps its parameters), the shared sidebar, then the tour's bar and the
selected page inside an error guard, so no page can show a traceback. After a page's first complete rerun the heap
is frozen (models.freeze_heap_after_first_run), so that the garbage collector's full passes stay short. With
SYMPE_LATENCY_LOG set, the server-side time of every rerun is appended to that file as one JSON line
(scripts/measure_latency.py reads it).
"""
import json
import os
import time
from pathlib import Path

_started = time.perf_counter()

import streamlit as st  # noqa: E402

from app import models, sidebar, tour, ui  # noqa: E402

models.limit_threads()

st.set_page_config(page_title="SymPE Lab", page_icon=str(Path(__file__).resolve().parent / "app" / "favicon.png"), layout="wide")

PAGES = [
    st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("app_pages/graph_lab.py", title="Graph lab", icon=":material/hub:", url_path="graph-lab"),
    st.Page("app_pages/lattice_lab.py", title="Lattice lab", icon=":material/grid_on:", url_path="lattice-lab"),
    st.Page("app_pages/molecule_lab.py", title="Molecule lab", icon=":material/science:", url_path="molecule-lab"),
    st.Page("app_pages/pointcloud_lab.py", title="Point-cloud lab", icon=":material/deployed_code:", url_path="point-cloud-lab"),
    st.Page("app_pages/equivariance.py", title="Equivariance in distribution", icon=":material/balance:", url_path="equivariance"),
    st.Page("app_pages/train.py", title="Train", icon=":material/model_training:", url_path="train"),
    st.Page("app_pages/results.py", title="Results", icon=":material/leaderboard:", url_path="results"),
    st.Page("app_pages/theory.py", title="Theory", icon=":material/functions:", url_path="theory"),
]

page = st.navigation(PAGES)
status = "ok"
try:
    with ui.guard("The tour"):
        tour.route(page, PAGES)
    sidebar.render()
    ui.apply_style()
    with ui.guard("The tour"):
        tour.render()
    with ui.guard(page.title):
        page.run()
except BaseException:
    status = "interrupted"
    raise
else:
    models.freeze_heap_after_first_run(page.url_path or "home")
finally:
    log_path = os.environ.get("SYMPE_LATENCY_LOG")
    if log_path:
        record = {"page": page.url_path or "home", "seconds": time.perf_counter() - _started, "status": status,
                  "time": time.time()}
        with open(log_path, "a") as fh:
            fh.write(json.dumps(record) + "\n")
