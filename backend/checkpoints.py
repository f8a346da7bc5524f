"""Self-describing checkpoints: safetensors weights plus a JSON manifest entry, verified by sha256.

A shipped model lives in ``pretrained/<experiment>/<variant>.safetensors``; ``pretrained/manifest.json`` maps
"<experiment>/<variant>" to a record with the model config, the training command, seed, data sizes, training
time, measured metrics and the sha256 of the weights file. Loading never executes code from the file: the
weights are read with safetensors and the hash is checked before anything is read. The manifest is checked
against ``ENTRY_FIELDS`` when read, and weights are checked for finiteness and against the model's own names and
shapes when loaded; every fault is a CheckpointError with one line naming the file and what is wrong.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
from pathlib import Path
from typing import Any, Callable

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

__all__ = ["PRETRAINED", "MANIFEST", "ENTRY_FIELDS", "sha256_of", "save_checkpoint", "load_state_dict", "load_model",
           "read_manifest", "update_manifest", "manifest_entry", "CheckpointError"]

# The fields of a manifest entry and their JSON types; "file" and "sha256" are required.
ENTRY_FIELDS: dict[str, type] = {
    "file": str, "sha256": str, "experiment": str, "variant": str, "config": dict, "command": str, "seed": int,
    "data": dict, "training": dict, "small_eval": dict, "metrics": dict, "metrics_command": str,
}

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
    """The manifest ({} when there is none), checked: a JSON object of entries whose fields have the types of
    ENTRY_FIELDS, with a relative ``.safetensors`` path inside the folder and a 64-digit hex sha256."""
    if not path.exists():
        return {}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as e:
        raise CheckpointError(f"{path}: not a readable JSON manifest ({e})") from None
    if not isinstance(manifest, dict):
        raise CheckpointError(f"{path}: the manifest must be a JSON object of entries, got {type(manifest).__name__}")
    for key, entry in manifest.items():
        problem = _entry_problem(entry)
        if problem:
            raise CheckpointError(f"{path}: entry {key!r} {problem}")
    return manifest


def _entry_problem(entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return f"must be an object, got {type(entry).__name__}"
    for name in ("file", "sha256"):
        if name not in entry:
            return f"has no {name!r}"
    for name, kind in ENTRY_FIELDS.items():
        value = entry.get(name)
        if name in entry and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
            return f"field {name!r} must be of JSON type {kind.__name__}, got {type(value).__name__}"
    file = Path(entry["file"])
    if file.is_absolute() or ".." in file.parts or file.suffix != ".safetensors":
        return f"field 'file' must be a relative .safetensors path inside the folder, got {entry['file']!r}"
    if len(entry["sha256"]) != 64 or any(c not in "0123456789abcdef" for c in entry["sha256"]):
        return "field 'sha256' must be 64 lowercase hex digits"
    return None


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
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{weights}: not a readable safetensors file ({e})") from None
    for name, tensor in state.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(f"{weights}: tensor {name!r} holds NaN or infinite values")
    return state, entry


def load_model(key: str, build: Callable[[dict[str, Any]], torch.nn.Module], root: Path = PRETRAINED) -> torch.nn.Module:
    """A shipped model in eval mode: ``build(entry["config"])`` filled with the checked weights of ``key``.

    The weights must have exactly the model's tensor names and shapes (another experiment's file, or a config that
    does not match, is refused before anything is copied)."""
    state, entry = load_state_dict(key, root)
    weights = root / entry["file"]
    try:
        model = build(entry.get("config", {}))
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{root / 'manifest.json'}: the config of {key!r} does not build a model ({e})") from None
    expected = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    got = {name: tuple(t.shape) for name, t in state.items()}
    missing, unexpected = sorted(expected.keys() - got.keys()), sorted(got.keys() - expected.keys())
    wrong = [f"{n} {list(got[n])} (expected {list(expected[n])})" for n in sorted(expected.keys() & got.keys()) if got[n] != expected[n]]
    if missing or unexpected or wrong:
        parts = [f"missing {', '.join(missing[:3])}" if missing else "", f"unexpected {', '.join(unexpected[:3])}" if unexpected else "",
                 f"shape of {', '.join(wrong[:3])}" if wrong else ""]
        raise CheckpointError(f"{weights} does not fit {key!r}: " + "; ".join(p for p in parts if p))
    model.load_state_dict(state)
    return model.eval()
