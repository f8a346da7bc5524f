"""The Train page under AppTest (controls, queue, stop, failure, a finished job's models in the Lattice lab) and the
live evaluation's properties (app.training)."""
from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import load as load_safetensors
from streamlit.testing.v1 import AppTest

from app import train_view, training
from backend.tasks.ising.model import IsingConfig, IsingModel

ENTRY = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")


@pytest.fixture
def fresh_manager(monkeypatch):
    """A server job manager of its own for each test (limit 1), emptied afterwards."""
    monkeypatch.setenv("SYMPE_TRAIN_JOBS", "1")
    train_view.manager.clear()
    yield train_view.manager()
    jobs = train_view.manager()
    jobs.reap(lambda owner: False)
    train_view.manager.clear()


def open_train(**state) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=120)
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    at.switch_page("app_pages/train.py")
    at.run()
    return at


def button(at: AppTest, key: str):
    return next(b for b in at.button if b.key == key)


def texts(at: AppTest, kind: str) -> str:
    return " ".join(e.value for e in getattr(at, kind))


def poll(at: AppTest, predicate, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        at.run()
        if predicate(at):
            return
        if time.monotonic() > deadline:
            raise AssertionError("timed out: " + texts(at, "markdown")[-300:])
        time.sleep(0.3)


def rebuild(blob: bytes) -> IsingModel:
    """A model from a downloaded file alone: the config from the safetensors metadata, then the weights."""
    header = json.loads(blob[8 : 8 + int.from_bytes(blob[:8], "little")])
    meta = header["__metadata__"]
    assert meta["experiment"] == "ising" and json.loads(meta["training"])["steps"] == 50
    model = IsingModel(IsingConfig(**json.loads(meta["config"])))
    model.load_state_dict(load_safetensors(blob))
    return model.eval()


def test_defaults_render_and_invalid_choices_disable_start(fresh_manager):
    at = open_train()
    assert not at.exception and not at.error
    assert button(at, "train_start").disabled is False
    assert "No training yet" in texts(at, "info")
    at.multiselect(key="train_variants").set_value([]).run()
    assert button(at, "train_start").disabled is True
    assert "choose at least one variant" in texts(at, "warning")


@pytest.mark.parametrize("change, problem", [
    (dict(steps=10), "steps must lie in [50, 3000]"), (dict(lr=1.0), "lr must lie"), (dict(width=64), "width must lie"),
    (dict(seed=-1), "seed must lie"), (dict(symmetric_share=float("nan")), "symmetric_share must lie"),
    (dict(variants=("none", "none")), "each variant once"), (dict(variants=("sympe-edges",)), "unknown variant"),
])
def test_knobs_are_validated(change, problem):
    assert any(problem in p for p in training.validate(replace(training.Knobs(), **change)))
    assert training.validate(training.Knobs()) == []


def test_a_second_session_waits_in_the_queue_and_stop_leaves_it(fresh_manager):
    release = threading.Event()
    fresh_manager.submit("another session", lambda job: release.wait(60))
    try:
        at = open_train()
        at.multiselect(key="train_variants").set_value(["none"]).run()
        button(at, "train_start").click().run()
        assert "Waiting for a free slot: 1 of 1 training jobs" in texts(at, "warning")
        assert "number 1 in the queue" in texts(at, "warning")
        assert button(at, "train_start").disabled is True
        button(at, "train_stop").click().run()
        assert "Stopped" in texts(at, "info") and button(at, "train_start").disabled is False
    finally:
        release.set()


def test_a_crashed_job_is_one_line_and_the_page_recovers(fresh_manager, monkeypatch):
    def crash(manager, knobs, job):
        raise MemoryError("the training ran out of memory")

    monkeypatch.setattr(training, "run_job", crash)
    at = open_train()
    button(at, "train_start").click().run()
    poll(at, lambda at: at.error)
    assert [e.value for e in at.error] == ["Training failed: `MemoryError: the training ran out of memory`"]
    assert not at.exception and button(at, "train_start").disabled is False


def test_a_short_training_shows_progress_then_its_models_in_the_lattice_lab(fresh_manager):
    at = open_train()
    at.slider(key="train_steps").set_value(50).run()
    button(at, "train_start").click().run()
    assert not at.exception
    poll(at, lambda at: "Done." in texts(at, "success"))
    assert not at.exception and not at.error
    bars = [p.value for p in at.get("progress")]
    assert len(bars) == 2 and all(b == 100 or b == 1.0 for b in bars)
    frame = next(t for t in at.dataframe)
    assert list(frame.value["variant"]) == ["none (equivariant baseline)", "SymPE"]
    trained = at.session_state[train_view.TRAINED_KEY]
    assert sorted(t.variant for t in trained.values()) == ["none", "sympe"]
    assert all(label.startswith("yours: ") for label in trained)
    mine = next(t for t in trained.values() if t.variant == "sympe")
    rebuilt = rebuild(mine.safetensors())
    J, h = training.eval_set().J[:4].float(), training.eval_set().h[:4].float()
    elements = mine.model.canonicalize(J, h).gamma
    assert torch.equal(rebuilt(J, h, elements=elements).logits, mine.model(J, h, elements=elements).logits)
    at.switch_page("app_pages/lattice_lab.py")
    at.run()
    assert not at.exception and not at.error
    shown = " ".join(m.value for m in at.markdown)
    assert "Your models" in shown and "yours: sympe" in shown and "yours: none" in shown


def test_an_equivariant_model_never_reaches_a_ground_state_on_the_symmetric_phases():
    """Whatever its weights: on a constant antiferromagnet or stripes the p4m-equivariant `none` outputs a constant
    field, which is not a ground state there (a property, so it holds for a random initialisation)."""
    torch.manual_seed(0)
    model = IsingModel(training.model_config(training.Knobs(), "none"))
    e = training.evaluate(model)
    assert all(e["exact"][p] == 0.0 for p in training.STORY_PHASES) and e["coverage"] == 0.0
    assert model.training  # evaluate restores the mode


def test_the_evaluation_set_is_fixed_balanced_and_away_from_the_boundaries():
    data = training.eval_set()
    assert len(data.J) == training.PER_PHASE * 5
    assert all(data.phases.count(p) == training.PER_PHASE for p in set(data.phases))
    assert all(data.phases[i] != "field-polarized" for i in data.degenerate)


def test_the_benchmark_script_trains_the_page_job_and_prints_its_table(capsys):
    from script_loader import load_script

    assert load_script("train_page_benchmark").main(["--steps", "50", "--variants", "none"]) == 0
    out = capsys.readouterr().out
    assert "wall time" in out and "| none | " in out and "| 0% |" in out  # none: no coverage, by equivariance


def test_a_variant_trains_to_the_same_weights_alone_and_beside_another():
    """The page's runs are reproducible from the seed although the variants' threads share torch's global generator."""
    knobs = replace(training.Knobs(), steps=50)

    class Keep:
        model = None

        def on_step(self, step, loss, model):
            self.model = model

        def stop_requested(self):
            return False

    def weights(variant: str) -> dict:
        return {k: v.clone() for k, v in training.train_variant(knobs, variant, Keep()).state_dict().items()}

    alone = weights("sympe")
    results = {}
    threads = [threading.Thread(target=lambda v=v: results.__setitem__(v, weights(v))) for v in ("noise", "sympe")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert alone.keys() == results["sympe"].keys()
    assert all(torch.equal(alone[k], results["sympe"][k]) for k in alone)
