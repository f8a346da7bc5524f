"""app.models.limit_threads: the app's process runs torch and every BLAS library it loads with SYMPE_APP_THREADS
threads, so that no idle BLAS worker spins on a core the rerun or the browser needs."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import json
from app import models
models.limit_threads()
import scipy.optimize, torch
from threadpoolctl import threadpool_info
print(json.dumps({"torch": torch.get_num_threads(),
                  "blas": [(i["filepath"], i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"]}))
"""


def test_torch_and_every_loaded_blas_library_get_the_apps_thread_count():
    env = {**os.environ, "SYMPE_APP_THREADS": "1", "PYTHONPATH": str(ROOT)}
    env.pop("OPENBLAS_NUM_THREADS", None)
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["torch"] == 1
    libraries = [path for path, _ in seen["blas"]]
    assert any("numpy" in path for path in libraries) and any("scipy" in path for path in libraries), libraries
    assert all(threads == 1 for _, threads in seen["blas"]), seen["blas"]
