"""The Train page under AppTest (the experiment switch, controls, queue, stop, failure, a finished job's models in the
Lattice lab and in the Graph lab) and the live evaluations' properties (app.training)."""
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
from app.jobs import run_in_process
from backend.tasks.graph_ae.model import GraphAE, GraphAEConfig, sympe_elements
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


def rebuild(blob: bytes, experiment: str = "ising"):
    """A model from a downloaded file alone: the config from the safetensors metadata, then the weights."""
    header = json.loads(blob[8 : 8 + int.from_bytes(blob[:8], "little")])
    meta = header["__metadata__"]
    assert meta["experiment"] == experiment and json.loads(meta["training"])["steps"] == 50
    make = {"ising": lambda c: IsingModel(IsingConfig(**c)), "graph_ae": lambda c: GraphAE(GraphAEConfig(**c))}
    model = make[experiment](json.loads(meta["config"]))
    model.load_state_dict(load_safetensors(blob))
    return model.eval()


def test_defaults_render_and_invalid_choices_disable_start(fresh_manager):
    at = open_train()
    assert not at.exception and not at.error
    assert button(at, "train_start").disabled is False
    assert "No training yet" in texts(at, "info")
    at.multiselect(key="train_ising_variants").set_value([]).run()
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
        at.multiselect(key="train_ising_variants").set_value(["none"]).run()
        button(at, "train_start").click().run()
        assert "Waiting for a free slot: 1 of 1 training jobs" in texts(at, "warning")
        assert "number 1 in the queue" in texts(at, "warning")
        assert button(at, "train_start").disabled is True
        button(at, "train_stop").click().run()
        assert "Stopped" in texts(at, "info") and button(at, "train_start").disabled is False
    finally:
        release.set()


def test_a_crashed_job_is_one_line_and_the_page_recovers(fresh_manager, monkeypatch):
    """The job's process segfaults (a child of the page's own job, through app.jobs.run_in_process)."""
    from test_jobs import segfault

    monkeypatch.setattr(training, "run_job_in_process", lambda manager, knobs, job: run_in_process(manager, job, segfault))
    at = open_train()
    button(at, "train_start").click().run()
    poll(at, lambda at: at.error)
    assert [e.value for e in at.error] == ["Training failed: `the training process crashed (SIGSEGV)`"]
    assert not at.exception and button(at, "train_start").disabled is False


def test_a_short_training_shows_progress_then_its_models_in_the_lattice_lab(fresh_manager):
    at = open_train()
    at.slider(key="train_ising_steps").set_value(50).run()
    button(at, "train_start").click().run()
    assert not at.exception
    poll(at, lambda at: "Done." in texts(at, "success"))
    assert not at.exception and not at.error
    bars = [p.value for p in at.get("progress")]
    assert len(bars) == 2 and all(b == 100 or b == 1.0 for b in bars)
    frame = next(t for t in at.dataframe)
    assert list(frame.value["variant"]) == ["none (equivariant baseline)", "SymPE"]
    trained = at.session_state[train_view.TRAINED_KEY]["ising"]
    assert sorted(t.variant for t in trained.values()) == ["none", "sympe"]
    assert all(label.startswith("yours: ") for label in trained)
    mine = next(t for t in trained.values() if t.variant == "sympe")
    rebuilt = rebuild(mine.safetensors())
    J, h = training.eval_set().J[:4].float(), training.eval_set().h[:4].float()
    elements = mine.model.canonicalize(J, h).gamma
    assert torch.equal(rebuilt(J, h, elements=elements).logits, mine.model(J, h, elements=elements).logits)
    assert_your_models_shown(at, "lattice_lab")


def assert_your_models_shown(at, page: str) -> None:
    """The lab page shows the session's trained none and sympe models, without an exception or an error box."""
    at.switch_page(f"app_pages/{page}.py")
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


# ---- the graph autoencoder --------------------------------------------------------------------------------------------
GRAPH = training.EXPERIMENTS["graph_ae"]


def test_switching_the_experiment_shows_its_own_knobs_and_the_noise_scale_only_with_noise(fresh_manager):
    at = open_train()
    assert not any(s.key.endswith("noise_scale") for s in at.slider)
    at.radio(key="train_experiment").set_value("graph_ae").run()
    assert not at.exception and not at.error
    assert at.slider(key="train_graph_ae_steps").value == GRAPH.defaults.steps
    assert at.slider(key="train_graph_ae_width").value == GRAPH.defaults.width
    assert at.multiselect(key="train_graph_ae_variants").value == list(GRAPH.defaults.variants)
    assert not any(s.key.endswith("noise_scale") for s in at.slider)
    at.multiselect(key="train_graph_ae_variants").set_value(["none", "noise"]).run()
    assert at.slider(key="train_graph_ae_noise_scale").value == 1.0
    assert button(at, "train_start").disabled is False
    at.multiselect(key="train_graph_ae_variants").set_value([]).run()
    assert button(at, "train_start").disabled is True and "choose at least one variant" in texts(at, "warning")


@pytest.mark.parametrize("change, problem", [
    (dict(steps=5000), "steps must lie in [50, 2000]"), (dict(width=4), "width must lie"),
    (dict(symmetric_share=0.0), "symmetric_share must lie"), (dict(noise_scale=0.0), "noise_scale must lie"),
    (dict(variants=("sympe-edges",)), "unknown variant"), (dict(experiment="qm9"), "unknown experiment"),
])
def test_graph_knobs_are_validated_against_their_own_bounds(change, problem):
    assert any(problem in p for p in training.validate(replace(GRAPH.defaults, **change)))
    assert training.validate(GRAPH.defaults) == []


def test_a_short_graph_training_appears_in_the_graph_lab_and_downloads(fresh_manager):
    at = open_train()
    at.radio(key="train_experiment").set_value("graph_ae").run()
    at.slider(key="train_graph_ae_steps").set_value(50).run()
    button(at, "train_start").click().run()
    poll(at, lambda at: "Done." in texts(at, "success"))
    assert not at.exception and not at.error and "Graph lab" in texts(at, "success")
    frame = next(t for t in at.dataframe)
    assert list(frame.value["variant"]) == ["none (equivariant baseline)", "SymPE"]
    assert set(at.session_state[train_view.TRAINED_KEY]) == {"graph_ae"}
    trained = at.session_state[train_view.TRAINED_KEY]["graph_ae"]
    assert sorted(t.variant for t in trained.values()) == ["none", "sympe"]
    mine = next(t for t in trained.values() if t.variant == "sympe")
    assert not mine.model.training and not any(p.requires_grad for p in mine.model.parameters())
    rebuilt = rebuild(mine.safetensors(), "graph_ae")
    graphs = training.graph_eval_sets()["symmetric"]
    adj, mask = graphs.batch(range(4))
    elements = sympe_elements(graphs.forms[:4], adj.shape[-1], torch.Generator().manual_seed(0))
    assert torch.equal(rebuilt(adj, mask, elements=elements).logits, mine.model(adj, mask, elements=elements).logits)

    assert_your_models_shown(at, "graph_lab")
    assert sum("wrong pairs" == m.label for m in at.metric) >= 2  # the user's two reconstructions at least
    at.switch_page("app_pages/lattice_lab.py")
    at.run()
    assert not at.exception and "yours: sympe" not in " ".join(m.value for m in at.markdown)  # graph models stay out


def test_the_noise_scale_knob_reaches_the_trained_model(fresh_manager):
    at = open_train()
    at.radio(key="train_experiment").set_value("graph_ae").run()
    at.multiselect(key="train_graph_ae_variants").set_value(["noise"]).run()
    at.slider(key="train_graph_ae_noise_scale").set_value(0.5).run()
    at.slider(key="train_graph_ae_steps").set_value(50).run()
    button(at, "train_start").click().run()
    poll(at, lambda at: "Done." in texts(at, "success"))
    (mine,) = at.session_state[train_view.TRAINED_KEY]["graph_ae"].values()
    assert mine.variant == "noise" and mine.model.config.noise_scale == 0.5 and mine.knobs.noise_scale == 0.5
    assert mine.model.encoding.noise_scale == 0.5


def test_an_equivariant_autoencoder_never_reconstructs_a_held_out_graph_exactly():
    """Whatever its weights: every held-out symmetric graph is vertex-transitive and neither empty nor complete, so
    `none` gives every pair one probability and is wrong somewhere (a property, so it holds untrained)."""
    torch.manual_seed(0)
    model = GraphAE(training.graph_model_config(GRAPH.defaults, "none"))
    e = training.graph_evaluate(model)
    assert e["symmetric"]["exact"] == 0.0 and e["symmetric"]["edge_error"] > 0
    assert model.training  # graph_evaluate restores the mode


def test_the_graph_evaluation_set_is_fixed_held_out_and_vertex_transitive():
    sets = training.graph_eval_sets()
    sym = sets["symmetric"]
    sizes = {int(n) for n in sym.num_nodes}
    assert sizes == set(training.GRAPH_HELD_OUT_SIZES) and set(sym.families) <= set(training.GRAPH_FAMILIES)
    assert all(len(form.orbits) == 1 for form in sym.forms)  # vertex-transitive
    train_sizes = {int(n) for n in training._graph_family_sets()[0].num_nodes}
    assert not sizes & train_sizes
    num, seed = training.GRAPH_EVAL_RANDOM
    again = training.erdos_renyi(num, torch.Generator().manual_seed(seed), 6, training.GRAPH_MAX_NODES, 0.3)
    assert torch.equal(again.adj, sets["random"].adj)


def test_the_noise_scale_scales_the_noise_features_and_defaults_to_the_shipped_unit_scale():
    assert GraphAEConfig().noise_scale == 1.0 and IsingConfig().noise_scale == 1.0
    adj, mask = training.graph_eval_sets()["symmetric"].batch(range(2))
    features = {}
    for scale in (1.0, 0.25):
        torch.manual_seed(0)
        model = GraphAE(training.graph_model_config(replace(GRAPH.defaults, noise_scale=scale), "noise"))
        features[scale] = model.encoding(adj, mask, generator=torch.Generator().manual_seed(3)).nodes
    assert torch.allclose(features[0.25], 0.25 * features[1.0])


def test_the_benchmark_script_runs_the_graph_experiment(capsys):
    from script_loader import load_script

    assert load_script("train_page_benchmark").main(["--experiment", "graph_ae", "--steps", "50", "--variants", "none"]) == 0
    out = capsys.readouterr().out
    assert "wall time" in out and "| none | 0% |" in out  # none: never exact on the held-out symmetric graphs
