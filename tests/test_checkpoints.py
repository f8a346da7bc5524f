"""Checkpoints are safetensors files verified against the manifest's sha256 before they are read."""
import json

import pytest
import torch

from backend.checkpoints import CheckpointError, load_model, load_state_dict, save_checkpoint, sha256_of


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


def _tiny(root, model=None, key="demo/tiny"):
    return save_checkpoint(model or torch.nn.Linear(3, 2), key, {"config": {"in": 3, "out": 2}, "seed": 1}, root)


def _rehash(root, key="demo/tiny"):
    """Make the manifest agree with whatever the weights file now holds (a fault that passes the hash)."""
    manifest = json.loads((root / "manifest.json").read_text())
    manifest[key]["sha256"] = sha256_of(root / manifest[key]["file"])
    (root / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    "change, says",
    [
        (lambda text: text[: len(text) // 2], "not a readable JSON manifest"),
        (lambda text: "[]", "must be a JSON object"),
        (lambda text: text.replace('"sha256"', '"sha"'), "has no 'sha256'"),
        (lambda text: text.replace('"file"', '"path"'), "has no 'file'"),
        (lambda text: text.replace('"seed": 1', '"seed": "one"'), "'seed' must be of JSON type int"),
        (lambda text: text.replace('"seed": 1', '"seed": true'), "'seed' must be of JSON type int"),
        (lambda text: text.replace('"demo/tiny.safetensors"', '"../../etc/passwd.safetensors"'), "inside the folder"),
    ],
)
def test_every_manifest_fault_is_one_line_naming_the_file(tmp_path, change, says):
    _tiny(tmp_path)
    path = tmp_path / "manifest.json"
    path.write_text(change(path.read_text()))
    with pytest.raises(CheckpointError) as info:
        load_state_dict("demo/tiny", tmp_path)
    message = str(info.value)
    assert says in message and str(path) in message and "\n" not in message


def test_weights_that_pass_the_hash_but_are_broken_or_do_not_fit(tmp_path):
    build = lambda config: torch.nn.Linear(config["in"], config["out"])  # noqa: E731
    _tiny(tmp_path)
    assert isinstance(load_model("demo/tiny", build, tmp_path), torch.nn.Linear)

    _tiny(tmp_path, torch.nn.Linear(5, 2))  # another model's weights under this entry's config
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["demo/tiny"]["config"] = {"in": 3, "out": 2}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match=r"does not fit 'demo/tiny': shape of weight \[2, 5\] \(expected \[2, 3\]\)"):
        load_model("demo/tiny", build, tmp_path)
    with pytest.raises(CheckpointError, match="missing 0.bias, 0.weight; unexpected bias, weight"):
        load_model("demo/tiny", lambda config: torch.nn.Sequential(torch.nn.Linear(3, 2)), tmp_path)

    nan = torch.nn.Linear(3, 2)
    with torch.no_grad():
        nan.weight[0, 0] = float("nan")
    _tiny(tmp_path, nan)
    with pytest.raises(CheckpointError, match="'weight' holds NaN or infinite values"):
        load_model("demo/tiny", build, tmp_path)

    _tiny(tmp_path)
    path = tmp_path / "demo/tiny.safetensors"
    path.write_bytes(b"\xff" * 8 + path.read_bytes()[8:])  # a corrupted header length
    _rehash(tmp_path)
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        load_model("demo/tiny", build, tmp_path)

    _tiny(tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["demo/tiny"]["config"] = {"in": 3}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match="does not build a model"):
        load_model("demo/tiny", lambda config: torch.nn.Linear(**config), tmp_path)
