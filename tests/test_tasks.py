"""Every experiment has the same shape (backend.tasks.task), and a new one is its package plus one registry line."""
import inspect
import json
from pathlib import Path

import pytest

from backend import cli
from backend.encodings import Encoding
from backend.tasks import TASKS, Task, task
from backend.tasks.trainer import Trainable

TOY = Task("toy", "Choose a node", verb="predict", loader="model:load_toy", package="tests.toy_task")


@pytest.mark.parametrize("name", [*TASKS, "toy"])
def test_every_task_package_plays_the_same_roles(name):
    t = TOY if name == "toy" else TASKS[name]
    assert t.encodings and all(isinstance(e, Encoding) for e in t.encodings)
    trainables = [c for _, c in inspect.getmembers(t.module("train"), inspect.isclass)
                  if issubclass(c, Trainable) and c is not Trainable]
    assert [(c.name, tuple(c.variants)) for c in trainables] == [(t.name, t.variants)]
    assert trainables[0].module == t.module("train").__name__
    for role, names in {"train": ["main"], "evaluate": ["main", "evaluate", "small_eval", "markdown_table"],
                        "cli": ["add_parser", "run"]}.items():
        for attr in names:
            assert callable(getattr(t.module(role), attr)), (name, role, attr)
    module, loader = t.loader.split(":")
    assert callable(getattr(t.module(module), loader))


def test_unknown_names_are_refused_with_the_choices():
    with pytest.raises(ValueError, match="choose from ising, graph_ae, qm9, pointcloud"):
        task("ising ")
    with pytest.raises(ValueError, match="choose from none, noise, sympe, sympe-edges"):
        TASKS["qm9"].load("fixed")


def test_a_new_task_is_found_by_the_trainer_the_loader_the_cli_and_the_app(tmp_path, monkeypatch, capsys):
    """The toy task (tests/toy_task) touches nothing outside its package but the registry."""
    monkeypatch.setitem(TASKS, "toy", TOY)
    train = TOY.module("train")
    for variant in TOY.variants:
        assert train.main(["--variant", variant, "--steps", "20", "--batch", "4", "--out", str(tmp_path),
                           "--log-file", str(tmp_path / f"{variant}.log")]) == 0
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert sorted(manifest) == ["toy/none", "toy/sympe"]
    assert manifest["toy/sympe"]["command"].startswith("python -m tests.toy_task.train --variant sympe")

    none, sympe = (TOY.load(v, tmp_path) for v in TOY.variants)
    assert none.config.encoding.equivariance == "exact" and sympe.config.encoding.canonicalizes
    mean_uniform = sum(1 / n for n in TOY.module("data").SIZES) / len(TOY.module("data").SIZES)
    assert TOY.module("evaluate").small_eval(none)["top_probability"] == pytest.approx(mean_uniform, abs=1e-4)

    monkeypatch.setattr(TOY.module("model"), "PRETRAINED", tmp_path)
    capsys.readouterr()
    assert cli.main(["predict", "toy", "--variant", "none"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["probabilities"] == [pytest.approx(1 / 6, abs=1e-4)] * 6  # the baseline cannot choose

    import app.models

    monkeypatch.setattr(app.models, "ROOT", tmp_path)
    monkeypatch.setattr(app.models, "MANIFEST", tmp_path / "manifest.json")
    assert app.models.shipped_variants("toy") == ["none", "sympe"]
    assert app.models.model("toy", "sympe").config.variant == "sympe"

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "streamlit_app.py"), default_timeout=120)
    at.run()
    at.switch_page("app_pages/results.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert TOY.title in [h.value for h in at.header]
    toy_table = next(d.value for d in at.dataframe if "probability on the chosen node" in d.value.columns)
    assert list(toy_table["variant"]) == ["none", "sympe"]
