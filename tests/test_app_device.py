"""Where the app's models run (app.models.device_info): backend.device.select_device, inputs moved to the model's
device and outputs back to the CPU. The CPU tests cover the plumbing; the CUDA test runs where a GPU is present."""
from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import streamlit as st
import torch

from app import graphs, lattice, models, pointcloud
from backend.checkpoints import read_manifest
from backend.tasks.ising.data import constant_couplings

SHIPPED = read_manifest()
pytestmark = pytest.mark.skipif(not {"ising/sympe", "ising/none", "graph_ae/sympe", "pointcloud/sympe", "qm9/sympe"}
                                <= set(SHIPPED), reason="the shipped models are missing")


@pytest.fixture
def device(monkeypatch):
    """Select the app's device through SYMPE_DEVICE, with every cached model and output dropped before and after."""
    def select(name: str | None):
        if name is None:
            monkeypatch.delenv("SYMPE_DEVICE", raising=False)
        else:
            monkeypatch.setenv("SYMPE_DEVICE", name)
        st.cache_resource.clear()
        st.cache_data.clear()
        return models.device_info()

    yield select
    monkeypatch.delenv("SYMPE_DEVICE", raising=False)
    st.cache_resource.clear()
    st.cache_data.clear()


def outputs() -> dict[str, np.ndarray]:
    """One output of every app entry point that runs a shipped model."""
    J, h = constant_couplings(-1.0, -1.0, 0.0, 8)
    J, h = J[0].numpy(), h[0].numpy()
    sha = {key: SHIPPED[key]["sha256"] for key in SHIPPED}
    cycle = tuple(nx.cycle_graph(6).edges())
    samples = graphs.kernel_samples(6, cycle, 3, 0)
    cloud, _ = pointcloud.preset("4-gon")
    return {
        "lattice sympe": lattice.run_variant("sympe", J, h, 4, 0, sha["ising/sympe"]).spins,
        "lattice search": lattice.run_variant("none", J, h, 2, 0, sha["ising/none"], search=2).spins,
        "graph decode": graphs.decode("sympe", 6, cycle, samples, 0, sha["graph_ae/sympe"]).probs,
        "point cloud": pointcloud.predict(cloud, 1e-6, "sympe", 3, 0, sha["pointcloud/sympe"])["displacements"],
    }


def test_the_models_sit_on_the_selected_device_and_the_outputs_come_back_to_the_cpu(device):
    info = device("cpu")
    assert info.device == torch.device("cpu") and info.note == ""
    for key in ("ising", "graph_ae", "pointcloud", "qm9"):
        assert next(models.model(key, "sympe").parameters()).device == info.device
    assert next(models.ising_model("sympe", 16).parameters()).device == info.device
    assert all(isinstance(v, np.ndarray) and np.isfinite(v).all() for v in outputs().values())


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: the fallback is for machines without it")
def test_an_absent_accelerator_falls_back_to_the_cpu_and_says_why(device):
    info = device("cuda")
    assert info.device == torch.device("cpu") and "CUDA is not available" in info.note
    assert next(models.model("ising", "sympe").parameters()).device == torch.device("cpu")


def test_to_model_moves_inputs_to_the_model(device):
    device(None)
    model = models.model("graph_ae", "sympe")
    (x,) = models.to_model(model, torch.zeros(2))
    assert x.device == next(model.parameters()).device


@pytest.mark.skipif(not torch.cuda.is_available(),
                    reason="NO CUDA HERE: the app's GPU path (models on cuda, inputs moved, outputs back) is only "
                           "checked on a machine with a GPU")
def test_the_app_gives_the_cpu_outputs_on_the_gpu(device):
    device("cpu")
    on_cpu = outputs()
    assert device("cuda").device.type == "cuda"
    on_gpu = outputs()
    for key, expected in on_cpu.items():
        np.testing.assert_allclose(on_gpu[key], expected, atol=1e-4, err_msg=key)
