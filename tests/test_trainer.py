"""The shared training loop: every task's trainer with options generated from its configs, shards with their own
draws, and torch.distributed (two gloo processes on the CPU take the same steps as one process with two shards,
and write once)."""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from backend.checkpoints import read_manifest
from backend.tasks.graph_ae import train as graph_ae_train
from backend.tasks.graph_ae.model import GraphAEConfig
from backend.tasks.ising import train as ising_train
from backend.tasks.ising.model import IsingConfig
from backend.tasks.pointcloud import train as pointcloud_train
from backend.tasks.pointcloud.model import PointCloudConfig
from backend.tasks.qm9 import train as qm9_train
from backend.tasks.qm9.model import QM9Config
from backend.tasks.trainer import TrainConfig

ROOT = Path(__file__).resolve().parent.parent
# `noise`: its draws change the loss. (SymPE's do not in this task: f(x, s·h) = s·f(x, h) for s in G_x and the set of
# degenerate targets is G_x-invariant, so every kernel draw gives the same min-over-targets loss.)
ARGS = ["--variant", "noise", "--steps", "4", "--batch", "8", "--hidden", "8", "--num-layers", "1", "--encoding-dim", "4",
        "--lr", "1e-2", "--seed", "3"]


def run_trainer(launcher: list[str], out: Path, *extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    return subprocess.run([*launcher, "-m", "backend.tasks.pointcloud.train", *ARGS, "--out", str(out),
                           "--log-file", str(out / "train.log"), *extra], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def weights(out: Path) -> dict[str, torch.Tensor]:
    return load_file(str(out / "pointcloud" / "noise.safetensors"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    single, double = tmp_path_factory.mktemp("single"), tmp_path_factory.mktemp("double")
    one = run_trainer([sys.executable], single, "--shards", "2")
    two = run_trainer([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"], double)
    assert one.returncode == 0, one.stderr[-2000:]
    assert two.returncode == 0, two.stderr[-2000:]
    return single, double


def test_two_processes_take_the_same_steps_as_one_process_with_two_shards(runs):
    single, double = runs
    a, b = weights(single), weights(double)
    assert a.keys() == b.keys()
    for name in a:
        assert torch.allclose(a[name], b[name], atol=1e-6, rtol=1e-5), name


def test_a_distributed_run_writes_one_checkpoint_one_record_and_one_log(runs):
    _, double = runs
    manifest = read_manifest(double / "manifest.json")
    assert list(manifest) == ["pointcloud/noise"]
    entry = manifest["pointcloud/noise"]
    assert entry["training"]["world_size"] == 2 and entry["training"]["shards"] == 2
    assert entry["command"].startswith("torchrun --standalone --nproc-per-node 2 -m backend.tasks.pointcloud.train")
    assert sorted(p.name for p in (double / "pointcloud").iterdir()) == ["noise.safetensors"]
    lines = (double / "train.log").read_text().splitlines()
    assert len([line for line in lines if '"step": 0,' in line]) == 1


def test_the_shards_draw_differently_so_their_number_matters(runs, tmp_path):
    single, _ = runs
    one_shard = run_trainer([sys.executable], tmp_path, "--shards", "1")
    assert one_shard.returncode == 0, one_shard.stderr[-2000:]
    a, b = weights(single), weights(tmp_path)
    assert any(not torch.allclose(a[n], b[n], atol=1e-6) for n in a)


def test_shards_must_divide_the_batch(tmp_path):
    bad = run_trainer([sys.executable], tmp_path, "--shards", "3")
    assert bad.returncode == 2 and "--shards (3)" in bad.stderr and "Traceback" not in bad.stderr


# ----------------------------------------------------------------------------------------------------------------------
# Every task's trainer is the shared loop, with options generated from its configs

TRAINERS = {
    "ising": (ising_train, IsingConfig, ising_train.IsingTrainingConfig, ()),
    "graph_ae": (graph_ae_train, GraphAEConfig, graph_ae_train.GraphAETrainingConfig, ()),
    "qm9": (qm9_train, QM9Config, qm9_train.QM9TrainingConfig, qm9_train.DATA_FIELDS),
    "pointcloud": (pointcloud_train, PointCloudConfig, None, ()),
}


@pytest.mark.parametrize("task", TRAINERS)
def test_every_config_field_is_an_option_of_the_trainer(task, capsys):
    module, model_config, task_config, excluded = TRAINERS[task]
    with pytest.raises(SystemExit):
        module.main(["--help"])
    text = capsys.readouterr().out
    fields = [f.name for cls in (model_config, task_config, TrainConfig) if cls for f in dataclasses.fields(cls)]
    for name in fields:
        option = "--" + name.replace("_", "-")
        assert (option in text) != (name in excluded), option


@pytest.mark.parametrize("task, args", [
    ("ising", ["--variant", "sympe", "--steps", "3", "--batch", "4", "--num-constant", "8", "--num-varying", "4", "--L", "4"]),
    ("graph_ae", ["--variant", "sympe", "--steps", "2", "--batch", "4", "--num-train", "8", "--num-val", "4", "--hidden", "8"]),
])
def test_a_task_trainer_ships_a_record_with_its_command_and_config(tmp_path, task, args):
    module = TRAINERS[task][0]
    assert module.main([*args, "--out", str(tmp_path), "--log-file", str(tmp_path / "log.jsonl")]) == 0
    entry = read_manifest(tmp_path / "manifest.json")[f"{task}/sympe"]
    assert entry["command"] == f"python -m backend.tasks.{task}.train " + " ".join(
        [*args, "--out", str(tmp_path), "--log-file", str(tmp_path / "log.jsonl")])
    assert entry["config"]["variant"] == "sympe" and entry["training"]["steps"] == int(args[args.index("--steps") + 1])
    assert (tmp_path / entry["file"]).exists() and entry["small_eval"]


class _Recorder:
    """A trainer monitor that stops after ``stop_after`` steps (None: never)."""

    def __init__(self, stop_after: int | None):
        self.stop_after, self.steps, self.losses, self.model = stop_after, [], [], None

    def on_step(self, step, loss, model):
        self.steps.append(step)
        self.losses.append(loss)
        self.model = model

    def stop_requested(self):
        return self.stop_after is not None and len(self.steps) >= self.stop_after


def _tiny_ising(tmp_path: Path, monitor) -> dict | None:
    from backend.tasks.trainer import train

    task = ising_train.IsingTraining(ising_train.IsingTrainingConfig(num_constant=16, num_varying=0))
    cfg = TrainConfig(steps=6, batch=4, lr=1e-2, seed=1, device="cpu", threads=0, ship=False, log=False,
                      out=str(tmp_path / "never"), log_file=str(tmp_path / "never.log"))
    return train(task, IsingConfig(variant="none", hidden=4, num_layers=1), cfg, [], monitor=monitor)


def test_a_monitor_sees_every_step_and_the_live_model_and_nothing_is_written(tmp_path):
    monitor = _Recorder(None)
    record = _tiny_ising(tmp_path, monitor)
    assert monitor.steps == list(range(6)) and all(torch.isfinite(torch.tensor(monitor.losses)))
    assert record is not None and "small_eval" in record and record["training"]["log"] is None
    assert not any(tmp_path.iterdir())  # log=False and ship=False: no log, no weights, no manifest


def test_a_monitor_stops_the_run_before_the_next_step(tmp_path):
    monitor = _Recorder(stop_after=2)
    assert _tiny_ising(tmp_path, monitor) is None
    assert monitor.steps == [0, 1]
