"""Model status and cached model loaders.

Models are loaded once per process with ``st.cache_resource`` and never mutated (everything runs under
``torch.inference_mode``). The cache key includes the sha256 recorded in the manifest and the weights file's size
and modification time, so weights that land (or are repaired) while the server runs are picked up on the next
rerun.

A model is in one of three states (``status``): "ok"; "not shipped" (the manifest has no entry for it); or
"failed" (the manifest cannot be read, or its entry's weights do not load: missing file, sha256 mismatch, NaN,
names or shapes that do not fit). A failure is never reported as "not shipped": ``ui.model_ready`` shows it as
"cannot be loaded" with the one-line fault, which names the file.
"""
from __future__ import annotations

import copy
import gc
import importlib
import logging
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

import streamlit as st
import torch

from backend.checkpoints import PRETRAINED, CheckpointError, read_manifest
from backend.device import device_description, select_device
from backend.encodings import encoding
from backend.options import one_line
from backend.tasks import TASKS
from backend.tasks.qm9.model import with_traced_backbone

log = logging.getLogger("sympe.app")

ROOT = PRETRAINED  # the weights: ROOT/<entry["file"]> (tests point ROOT and MANIFEST at a temporary copy)
MANIFEST = ROOT / "manifest.json"

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


@lru_cache(maxsize=4)
def _read_at(path: str, stamp: int) -> tuple[dict, str | None]:
    """The manifest of one modification time, parsed once per process and shared (read-only: never mutate it; a
    page asks for it about twenty times per rerun, which st.cache_data's copy on every call made cost 8 ms)."""
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
    """Whether the manifest has an entry for the model (it may still fail to load: see ``status``)."""
    return f"{experiment}/{variant}" in manifest()


@dataclass(frozen=True)
class ModelStatus:
    """``state``: "ok", "not shipped" (no manifest entry) or "failed" (``detail``: the one-line fault, naming the
    manifest or the weights file)."""

    experiment: str
    variant: str
    state: str
    detail: str = ""

    @property
    def key(self) -> str:
        return f"{self.experiment}/{self.variant}"

    @property
    def ok(self) -> bool:
        return self.state == "ok"


def status(experiment: str, variant: str) -> ModelStatus:
    """Whether the model of ``experiment/variant`` can be used; loads it (once per weights version) to find out."""
    problem = manifest_problem()
    if problem:
        return ModelStatus(experiment, variant, "failed", problem)
    if f"{experiment}/{variant}" not in manifest():
        return ModelStatus(experiment, variant, "not shipped")
    try:
        model(experiment, variant)
    except Exception as exc:  # noqa: BLE001 - the loaders raise CheckpointError; anything else is reported the same
        return ModelStatus(experiment, variant, "failed", one_line(exc, 400))
    return ModelStatus(experiment, variant, "ok")


def available(experiment: str, variant: str) -> bool:
    """Shipped and loadable."""
    return status(experiment, variant).ok


def shipped_variants(experiment: str) -> list[str]:
    """The experiment's variants that are shipped and load, in the task's order (a failed one is reported by
    ``ui.model_ready``)."""
    return [v for v in TASKS[experiment].variants if available(experiment, v)]


def label(variant: str) -> str:
    """How the app names a variant (its encoding's label)."""
    return encoding(variant).label


def model(experiment: str, variant: str) -> torch.nn.Module | None:
    """The shipped model of ``experiment/variant`` (the task's loader, ``backend.tasks.TASKS``), or None when it is
    not shipped. Raises CheckpointError (one line naming the file) when its weights do not load."""
    entry = manifest().get(f"{experiment}/{variant}")
    if entry is None:
        return None
    return _loaded(f"{experiment}/{variant}", entry, TASKS[experiment].load)


def _file_version(entry: dict) -> tuple[int, int] | None:
    """(size, mtime) of the entry's weights file, None when there is none: part of the loaders' cache key."""
    try:
        stat = (ROOT / entry["file"]).stat()
    except (OSError, KeyError, TypeError):
        return None
    return stat.st_size, stat.st_mtime_ns


def _loaded(key: str, entry: dict, load) -> torch.nn.Module:
    """The model of manifest ``entry``, loaded by ``load(variant, root)`` once per (sha256, root, file version).
    Every fault is a CheckpointError with one line that names the file (a failed load is not cached: the next
    rerun tries again)."""
    return _load_once(key, str(entry.get("sha256", "")), str(ROOT), str(entry.get("file", "")), _file_version(entry),
                      load)


@st.cache_resource(show_spinner=False, max_entries=32)
def _load_once(key: str, sha256: str, root: str, file: str, version, _load) -> torch.nn.Module:
    try:
        model = _load(key.split("/", 1)[1], Path(root))
    except CheckpointError:
        raise
    except Exception as exc:  # a config the code cannot build, a torch error: still a fault of this entry
        log.exception("%s failed to load", key)
        raise CheckpointError(f"{Path(root) / file}: {type(exc).__name__}: {one_line(exc, 400)}") from exc
    for p in model.parameters():
        p.requires_grad_(False)
    return model.to(device_info().device).eval()


# ----------------------------------------------------------------------------------------------------------------------
# Devices


@dataclass(frozen=True)
class DeviceInfo:
    """Where the app's models run (``device``, described in ``runs_on``), and why not where asked (``note``)."""

    device: torch.device
    runs_on: str
    note: str = ""


@st.cache_resource(show_spinner=False)
def device_info() -> DeviceInfo:
    """The device of every shipped model the app loads: ``backend.device.select_device`` (CUDA, then Apple MPS, then
    the CPU; SYMPE_DEVICE forces one). A SYMPE_DEVICE naming an accelerator that is absent falls back to the CPU, and
    the note says so. Inputs go to the model's device and outputs come back to the CPU (``to_model``); the float64
    equivariance checks always run on CPU copies (MPS has no float64)."""
    try:
        device, note = select_device(), ""
    except ValueError as exc:
        device, note = torch.device("cpu"), f"{exc}: running on the CPU"
    return DeviceInfo(device, device_description(device), note)


def to_model(model: torch.nn.Module, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """``tensors`` on the device of ``model``'s parameters."""
    device = next(model.parameters()).device
    return tuple(t.to(device) for t in tensors)


APP_THREADS_MAX = 64


def app_threads() -> int:
    """Threads per computation (torch's, and BLAS's through ``limit_threads``): SYMPE_APP_THREADS, 1 when unset. A
    value that is not a whole number from 1 to APP_THREADS_MAX counts as 1, with a warning in the server's log."""
    return _threads_setting(os.environ.get("SYMPE_APP_THREADS", "1"))


@lru_cache(maxsize=8)
def _threads_setting(raw: str) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        value = 0
    if 1 <= value <= APP_THREADS_MAX:
        return value
    log.warning("SYMPE_APP_THREADS=\"%s\" is not a whole number from 1 to %d; using 1", one_line(raw, 40),
                APP_THREADS_MAX)
    return 1


def limit_threads() -> None:
    """Run torch, and the BLAS libraries that numpy and scipy bundle (OpenBLAS), with ``app_threads()`` threads each.

    OpenBLAS otherwise starts one worker per core, and after every call its workers spin while they wait for the
    next one: a Molecule lab trajectory (the molecule's layout, from scipy's optimizer in networkx's Kamada–Kawai)
    kept one of this machine's two cores busy for another 60–110 ms, taken from the rest of the rerun and from the
    browser."""
    torch.set_num_threads(app_threads())
    _limit_blas(app_threads())


@lru_cache(maxsize=1)
def _limit_blas(threads: int) -> None:
    """Once per thread count: load scipy's OpenBLAS (threadpoolctl changes only the libraries already loaded), then
    limit every loaded BLAS library to ``threads``."""
    importlib.import_module("scipy.linalg")
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads, user_api="blas")


_frozen_pages: set[str] = set()
_freeze_lock = threading.Lock()


def freeze_heap_after_first_run(page: str) -> None:
    """Once per page and process, after the page's first complete rerun: collect, then move every object still alive
    (the imported libraries, the models the page loaded, its caches) to the garbage collector's permanent
    generation. Its full collections otherwise scan them all: 100–160 ms in the middle of some rerun with nothing
    frozen, and with only the start-up heap frozen still 20–32 ms about once every twenty reruns of the Point-cloud
    lab, whose models load on its first visit (4–8 ms with them frozen). Frozen objects are still freed by reference
    counting, only never by the cycle collector: a cycle alive at a freeze (a session's state then) stays in memory
    once it is garbage, so this happens at most once per page."""
    with _freeze_lock:
        if page in _frozen_pages:
            return
        _frozen_pages.add(page)
        gc.collect()
        gc.freeze()


# ----------------------------------------------------------------------------------------------------------------------
# What only some tasks have


def derived(experiment: str, variant: str, purpose: str, make: Callable[[torch.nn.Module], torch.nn.Module]):
    """``make(model)`` for the shipped model of ``experiment/variant``, built once per (purpose, weights version) and
    cached like the model itself (never mutated; ``make`` must copy, not change, what it is given), or None when the
    model is not shipped. Raises CheckpointError (one line naming the file) when its weights do not load."""
    loaded = model(experiment, variant)
    if loaded is None:
        return None
    key = f"{experiment}/{variant}"
    entry = manifest()[key]
    return _derived(loaded, purpose, key, str(entry["sha256"]), str(ROOT), _file_version(entry), make)


@st.cache_resource(show_spinner=False, max_entries=64)
def _derived(_model, purpose: str, key: str, sha256: str, root: str, version, _make):
    return _make(_model)


def float64_copy(experiment: str, variant: str, L: int | None = None):
    """A float64 copy of the shipped model on the CPU, for the float64 equivariance checks (``derived``); an Ising
    model at lattice size L when L is given."""
    def make(m: torch.nn.Module) -> torch.nn.Module:
        return copy.deepcopy(m if L is None or L == m.config.L else m.at_size(L)).cpu().double()

    return derived(experiment, variant, f"float64, L = {L}", make)


def ising_model(variant: str, L: int = 8):
    """The shipped Ising model for ``variant`` at lattice size L (its learned field tiled; ``derived``)."""
    loaded = model("ising", variant)
    if loaded is None or L == loaded.config.L:
        return loaded
    return derived("ising", variant, f"L = {L}", lambda m: _frozen(m.at_size(L).to(device_info().device).eval()))


def _frozen(model: torch.nn.Module) -> torch.nn.Module:
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def qm9_sampler(variant: str):
    """The shipped QM9 denoiser for sampling, traced (``backend.tasks.qm9.model.with_traced_backbone``: the backbone,
    and for one molecule the whole logits; the same samples in about half the time per denoising step;
    ``derived``)."""
    return derived("qm9", variant, "traced backbone", with_traced_backbone)


def graph_ae_limit(variant: str = "sympe") -> int | None:
    """The node limit of the shipped autoencoder (its config's n_max)."""
    entry = manifest().get(f"graph_ae/{variant}")
    return int(entry["config"].get("n_max", 20)) if entry else None
