"""Model status and cached model loaders.

Models are loaded once per process with ``st.cache_resource`` and never mutated (everything runs under
``torch.inference_mode``). The cache key includes the sha256 recorded in the manifest, so weights that land while
the server runs are picked up on the next rerun: a page whose model is missing says so and lights up later.
"""
from __future__ import annotations

import gc
import importlib
import os
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
import torch

from backend.checkpoints import MANIFEST, CheckpointError, read_manifest
from backend.device import device_description, select_device

ISING_VARIANTS = ("none", "noise", "sympe", "fixed")
GRAPH_AE_VARIANTS = ("none", "noise", "sympe", "fixed")
VARIANT_LABELS = {
    "none": "none (equivariant baseline)",
    "noise": "noise injection",
    "sympe": "SymPE",
    "sympe-edges": "SymPE (nodes and edges)",
    "fixed": "fixed table (not equivariant)",
}
EXPERIMENTS = {
    "ising": "Ising ground states (p4m group CNN)",
    "graph_ae": "Graph autoencoder",
    "qm9": "QM9 diffusion (molecules)",
    "pointcloud": "Point-cloud distortion (EGNN, O(3))",
}


def manifest() -> dict:
    """The manifest, re-read when the file changes (cheap: keyed on its modification time)."""
    try:
        stamp = MANIFEST.stat().st_mtime_ns
    except OSError:
        return {}
    return _manifest_at(stamp)


def manifest_problem() -> str | None:
    """The one-line reason the manifest cannot be used (no model is then offered), or None."""
    try:
        stamp = MANIFEST.stat().st_mtime_ns
    except OSError:
        return None
    return _read_at(str(MANIFEST), stamp)[1]


@st.cache_data(show_spinner=False, max_entries=4)
def _read_at(path: str, stamp: int) -> tuple[dict, str | None]:
    try:
        return read_manifest(Path(path)), None
    except CheckpointError as e:
        return {}, str(e)


def _manifest_at(stamp: int) -> dict:
    return _read_at(str(MANIFEST), stamp)[0]


def entries(experiment: str) -> dict[str, dict]:
    """Manifest entries of one experiment, keyed by variant."""
    prefix = experiment + "/"
    return {k[len(prefix):]: v for k, v in manifest().items() if k.startswith(prefix)}


def versions(experiment: str) -> tuple[tuple[str, str], ...]:
    """(variant, sha256) of every shipped model of an experiment: a cache key that changes when weights land."""
    return tuple(sorted((v, str(e.get("sha256", ""))) for v, e in entries(experiment).items()))


def shipped(experiment: str, variant: str) -> bool:
    return f"{experiment}/{variant}" in manifest()


# ----------------------------------------------------------------------------------------------------------------------
# Devices


@dataclass(frozen=True)
class DeviceInfo:
    runs_on: str
    detected: str


@st.cache_resource(show_spinner=False)
def device_info() -> DeviceInfo:
    """The app runs its small models on the CPU (one thread per computation, so sessions share the cores);
    the badge also names the accelerator the backend would pick, when there is one."""
    try:
        detected = device_description(select_device())
    except ValueError as exc:
        detected = f"unavailable ({exc})"
    return DeviceInfo(device_description(torch.device("cpu")), detected)


def app_threads() -> int:
    return max(1, int(os.environ.get("SYMPE_APP_THREADS", "1")))


_heap_frozen = False


def freeze_startup_heap() -> None:
    """Once per process, after the first rerun: collect, then move every object still alive (the imported libraries
    and the loaded models, about 360,000 objects) to the garbage collector's permanent generation. Its full
    collections otherwise scan all of them, 100–160 ms in the middle of some rerun; now they scan only what later
    reruns create. Objects frozen here are still freed by reference counting, only never by the cycle collector."""
    global _heap_frozen
    if not _heap_frozen:
        _heap_frozen = True
        gc.collect()
        gc.freeze()


# ----------------------------------------------------------------------------------------------------------------------
# Ising


def ising_model(variant: str, L: int = 8):
    """The shipped Ising model for ``variant`` at lattice size L, or None when it is not shipped."""
    entry = manifest().get(f"ising/{variant}")
    if entry is None:
        return None
    return _ising_model(variant, L, entry["sha256"])


@st.cache_resource(show_spinner=False, max_entries=32)
def _ising_model(variant: str, L: int, sha256: str):
    from backend.tasks.ising_eval import load_ising

    model = load_ising(variant)
    if L != model.config.L:
        model = model.at_size(L).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def shipped_ising_variants() -> list[str]:
    return [v for v in ISING_VARIANTS if shipped("ising", v)]


# ----------------------------------------------------------------------------------------------------------------------
# Graph autoencoder (built by another issue; the app adapts to it when it lands)


def graph_ae_module():
    """The backend's graph autoencoder task module, or None while it does not exist."""
    try:
        return importlib.import_module("backend.tasks.graph_ae")
    except ImportError:
        return None


def graph_ae_limit(variant: str = "sympe") -> int | None:
    """The node limit of the shipped autoencoder (its config's n_max)."""
    entry = manifest().get(f"graph_ae/{variant}")
    return int(entry["config"].get("n_max", 20)) if entry else None


def graph_ae_model(variant: str):
    entry = manifest().get(f"graph_ae/{variant}")
    if entry is None or graph_ae_module() is None:
        return None
    return _graph_ae_model(variant, entry["sha256"])


@st.cache_resource(show_spinner=False, max_entries=8)
def _graph_ae_model(variant: str, sha256: str):
    module = graph_ae_module()
    model = module.load_graph_ae(variant)
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()


# ----------------------------------------------------------------------------------------------------------------------
# QM9 diffusion


QM9_VARIANTS = ("none", "noise", "sympe", "sympe-edges")


def shipped_qm9_variants() -> list[str]:
    return [v for v in QM9_VARIANTS if shipped("qm9", v)]


def qm9_model(variant: str):
    """The shipped QM9 denoiser for ``variant``, or None when it is not shipped."""
    entry = manifest().get(f"qm9/{variant}")
    if entry is None:
        return None
    return _qm9_model(variant, entry["sha256"])


@st.cache_resource(show_spinner=False, max_entries=8)
def _qm9_model(variant: str, sha256: str):
    from backend.tasks.qm9_diffusion import load_qm9_model

    model = load_qm9_model(variant)
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()


# ----------------------------------------------------------------------------------------------------------------------
# Point clouds


POINTCLOUD_VARIANTS = ("none", "noise", "sympe", "fixed")


def pointcloud_model(variant: str):
    """The shipped point-cloud distortion model for ``variant``, or None when it is not shipped."""
    entry = manifest().get(f"pointcloud/{variant}")
    if entry is None:
        return None
    return _pointcloud_model(variant, entry["sha256"])


@st.cache_resource(show_spinner=False, max_entries=8)
def _pointcloud_model(variant: str, sha256: str):
    from backend.tasks.pointcloud.evaluate import load_pointcloud_model

    model = load_pointcloud_model(variant)
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()
