"""Self-describing checkpoints: safetensors weights plus a JSON manifest entry, verified by sha256.

A shipped model lives in ``pretrained/<experiment>/<variant>.safetensors``; ``pretrained/manifest.json`` maps
"<experiment>/<variant>" to a record with the model config, the training command, seed, data sizes, training
time, measured metrics and the sha256 of the weights file. Loading never executes code from the file: the
weights are read with safetensors and the hash is checked before anything is read.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
from pathlib import Path
from typing import Any, Callable

import torch
from safetensors.torch import load_file, save_file

__all__ = ["PRETRAINED", "MANIFEST", "sha256_of", "save_checkpoint", "load_state_dict", "read_manifest", "update_manifest", "manifest_entry", "CheckpointError"]

PRETRAINED = Path(__file__).resolve().parent.parent / "pretrained"
MANIFEST = PRETRAINED / "manifest.json"


class CheckpointError(RuntimeError):
    """A shipped checkpoint is missing, altered, or does not match its manifest."""


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_manifest(path: Path = MANIFEST) -> dict[str, Any]:
    if not path.exists():
        return {}
    return json.loads(path.read_text())


def manifest_entry(key: str, path: Path = MANIFEST) -> dict[str, Any] | None:
    return read_manifest(path).get(key)


def save_checkpoint(model: torch.nn.Module, key: str, record: dict[str, Any], root: Path = PRETRAINED) -> dict[str, Any]:
    """Write ``root/<key>.safetensors`` and update the manifest entry ``key`` (record + file + sha256)."""
    weights = root / f"{key}.safetensors"
    weights.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, str(weights), metadata={"key": key})
    entry = dict(record, file=str(weights.relative_to(root)), sha256=sha256_of(weights))
    update_manifest(lambda manifest: manifest.__setitem__(key, entry), root / "manifest.json")
    return entry


def update_manifest(change: Callable[[dict[str, Any]], None], path: Path = MANIFEST) -> None:
    """Read, change and write the manifest under an exclusive lock (training jobs may finish together)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        manifest = read_manifest(path)
        change(manifest)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(dict(sorted(manifest.items())), indent=2) + "\n")
        tmp.replace(path)


def load_state_dict(key: str, root: Path = PRETRAINED) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Weights and manifest entry of a shipped model, after checking the sha256."""
    entry = read_manifest(root / "manifest.json").get(key)
    if entry is None:
        raise CheckpointError(f"no pretrained model '{key}' in {root / 'manifest.json'}")
    weights = root / entry["file"]
    if not weights.exists():
        raise CheckpointError(f"weights file {weights} listed for '{key}' is missing")
    digest = sha256_of(weights)
    if digest != entry["sha256"]:
        raise CheckpointError(f"sha256 of {weights} is {digest}, the manifest says {entry['sha256']}")
    return load_file(str(weights)), entry
