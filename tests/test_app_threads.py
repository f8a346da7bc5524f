"""app.models.limit_threads: the app's process runs torch and every BLAS library it loads with SYMPE_APP_THREADS
threads, so that no idle BLAS worker spins on a core the rerun or the browser needs; any setting other than a whole
number in range counts as one thread and says so in the server's log."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import models

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


@pytest.mark.parametrize("raw, expected", [("3", 3), (" 2 ", 2), ("1", 1)])
def test_a_whole_number_of_threads_is_taken(monkeypatch, caplog, raw, expected):
    monkeypatch.setenv("SYMPE_APP_THREADS", raw)
    assert models.app_threads() == expected
    assert "SYMPE_APP_THREADS" not in caplog.text


@pytest.mark.parametrize("raw", ["abc", "", "0", "-2", "2.5", str(models.APP_THREADS_MAX + 1), "9" * 5000])
def test_any_other_setting_counts_as_one_thread_and_says_so_in_the_log(monkeypatch, caplog, raw):
    monkeypatch.setenv("SYMPE_APP_THREADS", raw)
    models._threads_setting.cache_clear()
    with caplog.at_level(logging.WARNING, logger="sympe.app"):
        assert models.app_threads() == 1
    assert "SYMPE_APP_THREADS" in caplog.text and "using 1" in caplog.text
    assert max(len(line) for line in caplog.text.splitlines()) < 200
