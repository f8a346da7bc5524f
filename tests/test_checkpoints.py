"""Checkpoints are safetensors files verified against the manifest's sha256 before they are read."""
import json

import pytest
import torch

from backend.checkpoints import CheckpointError, load_state_dict, save_checkpoint, sha256_of


def test_round_trip_and_manifest_record(tmp_path):
    model = torch.nn.Linear(3, 2)
    entry = save_checkpoint(model, "demo/tiny", {"config": {"in": 3}, "seed": 1}, tmp_path)
    assert entry["file"] == "demo/tiny.safetensors" and entry["sha256"] == sha256_of(tmp_path / entry["file"])
    state, record = load_state_dict("demo/tiny", tmp_path)
    assert record["seed"] == 1
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert set(manifest) == {"demo/tiny"}


def test_tampered_weights_are_refused(tmp_path):
    save_checkpoint(torch.nn.Linear(3, 2), "demo/tiny", {}, tmp_path)
    path = tmp_path / "demo/tiny.safetensors"
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="sha256"):
        load_state_dict("demo/tiny", tmp_path)


def test_missing_entries_and_files_are_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match="no pretrained model"):
        load_state_dict("nothing/here", tmp_path)
    save_checkpoint(torch.nn.Linear(3, 2), "demo/tiny", {}, tmp_path)
    (tmp_path / "demo/tiny.safetensors").unlink()
    with pytest.raises(CheckpointError, match="missing"):
        load_state_dict("demo/tiny", tmp_path)
