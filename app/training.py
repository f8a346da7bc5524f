"""Live training for the Train page: the experiments it offers (``EXPERIMENTS``: the Ising lattice and the graph
autoencoder), their knobs (bounded), their fixed evaluation sets, one job that trains the chosen variants side by side
through the one training loop (``backend.tasks.trainer.train`` with a monitor), and the trained models a session keeps.

Conventions. An ``Experiment`` holds everything that differs between experiments (defaults, bounds, the model config,
the training task, the evaluation and how the page summarises it); the rest is shared. The page runs a job in a
process of its own (``run_job_in_process``); there it trains every chosen variant at once, one thread each (torch ops release the GIL, so two variants use two cores); the job's progress is
``{variant: VariantProgress}``, replaced (never mutated) at every report so a reader's copy stays consistent. After
the first step, every ``eval_every`` steps and at the end, the model is evaluated in eval mode under
``torch.no_grad`` on its experiment's fixed evaluation set with fixed seeds. A trained model is frozen (no
gradients, eval mode) and never changed afterwards; it is never written to pretrained/ (the download is built in
memory).

Ising (L = 8): per phase, the share of exact ground states (energy equal to the exact minimum over the 16
two-periodic states) and the mean relative energy gap, with one inversion-kernel sample per Hamiltonian (seed 0); and
the coverage: over the first COVERAGE_PER_PHASE degenerate inputs of each STORY_PHASES phase (exactly two ground
states), the mean share of their ground states hit by ``COVERAGE_SAMPLES`` samples.

Graph autoencoder: trained on cycles, prisms, Möbius ladders, circulants and hypercubes of at most GRAPH_MAX_NODES
nodes (``GRAPH_FAMILIES`` of ``backend.tasks.graph_ae.data.symmetric_graphs``) except those with GRAPH_HELD_OUT_SIZES
nodes, mixed with Erdős–Rényi graphs (``symmetric_share`` of each batch is symmetric); evaluated on the held-out
sizes of the same families (every one vertex-transitive, so ``none`` can only guess one probability for all pairs)
and on GRAPH_EVAL_RANDOM fresh Erdős–Rényi graphs, with ``backend.tasks.graph_ae.evaluate.small_eval`` (one
reconstruction per graph, generator seed 0): exact reconstructions % and edge error %.
"""
from __future__ import annotations

import contextlib
import io
import json
import threading
import time
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Callable

import torch
from safetensors.torch import load as safetensors_load
from safetensors.torch import save as safetensors_bytes

from app.jobs import Job, JobManager, run_in_process
from backend.encodings import NONE, SYMPE
from backend.tasks.graph_ae.data import N_MAX, GraphSet, erdos_renyi, symmetric_graphs
from backend.tasks.graph_ae.evaluate import small_eval
from backend.tasks.graph_ae.model import VARIANTS as GRAPH_VARIANTS, GraphAE, GraphAEConfig
from backend.tasks.graph_ae.train import GraphAEData, GraphAETraining
from backend.tasks.ising.data import PHASES, energy, exact_ground, phase_of, sample_constant_hamiltonians
from backend.tasks.ising.evaluate import BOUNDARY_MARGIN, constant_outcomes, predict_spins
from backend.tasks.ising.model import VARIANTS, IsingConfig, IsingModel
from backend.tasks.ising.train import IsingTraining, IsingTrainingConfig
from backend.tasks.trainer import TrainConfig, train

CURVE_POINTS = 400  # the loss curve keeps at most this many points (every k-th step, k doubling as needed)

L = 8
DATA_SIZE = 1280  # training Hamiltonians (constant + varying): small enough to canonicalize in about a second
SHARPNESS = (3.0, 30.0, 300.0)  # as the shipped models
ANNEAL = 1.0  # initial temperature of the free-energy loss (the shipped 0.3 needs ten times more steps for stripes)
PER_PHASE = 16  # evaluation Hamiltonians per phase
COVERAGE_SAMPLES = 16
COVERAGE_PER_PHASE = 3  # degenerate inputs per STORY_PHASES phase in the coverage
STORY_PHASES = ("antiferromagnet", "stripes-horizontal", "stripes-vertical")

GRAPH_FAMILIES = ("cycle", "prism", "moebius-ladder", "circulant", "hypercube")
GRAPH_MAX_NODES = 12
GRAPH_HELD_OUT_SIZES = (8, 11)
GRAPH_RANDOM = (512, 400)  # Erdős–Rényi training graphs (n ~ U{6..12}, p = 0.3) and their seed
GRAPH_EVAL_RANDOM = (32, 401)  # Erdős–Rényi evaluation graphs and their seed
GRAPH_LAYERS = 3


@dataclass(frozen=True)
class Knobs:
    """The Train page's settings (the defaults are the Ising lattice's; each ``Experiment`` has its own).
    ``width``: hidden channels of the network. ``symmetric_share``: Ising, the share of constant (fully symmetric)
    Hamiltonians among the DATA_SIZE training inputs, the rest spatially varying; graphs, the share of each batch
    drawn from the symmetric families, the rest Erdős–Rényi. ``noise_scale``: σ of the ``noise`` variant's
    N(0, σ²) features (the other variants ignore it)."""

    variants: tuple[str, ...] = (NONE.name, SYMPE.name)
    steps: int = 2000
    lr: float = 3e-3
    width: int = 8
    encoding_dim: int = 8
    symmetric_share: float = 0.8
    seed: int = 0
    batch: int = 32
    experiment: str = "ising"
    noise_scale: float = 1.0


BOUNDS = {  # the Ising lattice's knobs: (low, high, step)
    "steps": (50, 3000, 50),
    "lr": (1e-4, 1e-2, 1e-4),
    "width": (4, 16, 2),
    "encoding_dim": (2, 16, 1),
    "symmetric_share": (0.5, 1.0, 0.05),
    "seed": (0, 9999, 1),
    "noise_scale": (0.1, 3.0, 0.1),
}


def validate(knobs: Knobs) -> list[str]:
    """Every reason the knobs cannot be used (empty when they can), against their experiment's variants and bounds."""
    exp = EXPERIMENTS.get(knobs.experiment)
    if exp is None:
        return [f"unknown experiment {knobs.experiment!r}"]
    problems = []
    if not knobs.variants:
        problems.append("choose at least one variant")
    unknown = [v for v in knobs.variants if v not in exp.variants]
    if unknown:
        problems.append(f"unknown variant {unknown[0]!r}")
    if len(set(knobs.variants)) != len(knobs.variants):
        problems.append("each variant once")
    for name, (lo, hi, _) in exp.bounds.items():
        value = getattr(knobs, name)
        if not isinstance(value, (int, float)) or value != value or not lo <= value <= hi:
            problems.append(f"{name} must lie in [{lo}, {hi}]")
    return problems


# ----------------------------------------------------------------------------------------------------------------------
# Ising lattice


@dataclass(frozen=True)
class EvalSet:
    """PER_PHASE constant Hamiltonians of every phase, each at least BOUNDARY_MARGIN per site from a competing
    2-periodic state (seed 777, not the training seed range's law for varying inputs). J (N, 2, L, L), h (N, L, L)."""

    J: torch.Tensor
    h: torch.Tensor
    phases: tuple[str, ...]
    degenerate: tuple[int, ...]  # indices with exactly two ground states


@lru_cache(maxsize=1)
def eval_set() -> EvalSet:
    J, h = sample_constant_hamiltonians(4000, L, torch.Generator().manual_seed(777))
    ground = exact_ground(J, h)
    levels = energy(J[:, None], h[:, None], ground.states)  # (N, 16)
    margin = torch.where(ground.is_ground, torch.inf, levels).min(-1).values - ground.energy
    keep: dict[str, list[int]] = {p: [] for p in PHASES}
    for b in range(len(J)):
        phase = phase_of(float(J[b, 0, 0, 0]), float(J[b, 1, 0, 0]), float(h[b, 0, 0]))
        if float(margin[b]) / L**2 >= BOUNDARY_MARGIN and len(keep[phase]) < PER_PHASE:
            keep[phase].append(b)
    idx = [b for p in PHASES for b in keep[p]]
    phases = tuple(p for p in PHASES for _ in keep[p])
    degenerate = tuple(i for i, b in enumerate(idx) if int(ground.is_ground[b].sum()) == 2)
    return EvalSet(J[idx], h[idx], phases, degenerate)


@torch.no_grad()
def evaluate(model: IsingModel) -> dict:
    """``{"exact": {phase: share}, "gap": {phase: mean relative gap}, "coverage": share}`` on ``eval_set()``."""
    data = eval_set()
    was_training = model.training
    model.eval()
    try:
        out = constant_outcomes(model, data.J, data.h, torch.Generator().manual_seed(0))
        exact, gap = {}, {}
        for phase in PHASES:
            idx = torch.tensor([p == phase for p in data.phases])
            if idx.any():
                exact[phase] = float(out.exact[idx].double().mean())
                gap[phase] = float(out.rel_gap[idx].mean())
        story = [i for phase in STORY_PHASES for i in [i for i in data.degenerate if data.phases[i] == phase][:COVERAGE_PER_PHASE]]
        coverage = [_coverage(model, data.J[i], data.h[i]) for i in story]
    finally:
        model.train(was_training)
    return {"exact": exact, "gap": gap, "coverage": sum(coverage) / len(coverage) if coverage else None}


def _coverage(model: IsingModel, J: torch.Tensor, h: torch.Tensor) -> float:
    ground = exact_ground(J[None], h[None])
    K = COVERAGE_SAMPLES
    s = predict_spins(model, J[None].expand(K, *J.shape), h[None].expand(K, *h.shape), torch.Generator().manual_seed(1))
    hit = (s[:, None] == ground.states[0][None]).flatten(-2).all(-1).any(0)  # (16,)
    return float((hit & ground.is_ground[0]).sum()) / float(ground.is_ground[0].sum())


_INIT_LOCK = threading.Lock()


class _Seeded:
    """A Trainable mix-in whose initial weights come from ``self.seed`` under a lock: the trainer seeds torch's global
    generator, which every training thread of the process shares (variants side by side, other sessions' jobs), so
    without the lock a run's initial weights would depend on its neighbours. The record is empty (nothing is shipped;
    the page evaluates the model itself)."""

    seed: int

    def build(self, model_config, data):
        with _INIT_LOCK:
            torch.manual_seed(self.seed)
            return super().build(model_config, data)

    def record(self, model, data) -> dict:
        return {"small_eval": None}


def _train(task, config, knobs: Knobs, monitor) -> torch.nn.Module | None:
    """One variant through the one training loop (nothing shipped, no log); None when the monitor stopped it."""
    cfg = TrainConfig(steps=knobs.steps, batch=knobs.batch, lr=knobs.lr, seed=knobs.seed, device="cpu", threads=0,
                      ship=False, log=False)
    with contextlib.redirect_stdout(io.StringIO()):  # the trainer prints the CLI's headline; nothing to show here
        record = train(task, config, cfg, [], monitor=monitor)
    return None if record is None else monitor.model


class _SeededIsingTraining(_Seeded, IsingTraining):
    def __init__(self, options: IsingTrainingConfig, seed: int):
        IsingTraining.__init__(self, options)
        self.seed = seed


def model_config(knobs: Knobs, variant: str) -> IsingConfig:
    return IsingConfig(L=L, variant=variant, hidden=knobs.width, encoding_dim=knobs.encoding_dim, sharpness=SHARPNESS,
                       noise_scale=knobs.noise_scale)


def train_variant(knobs: Knobs, variant: str, monitor) -> IsingModel | None:
    """Train one Ising variant with the one training loop (nothing shipped, no log); None when the monitor stopped it."""
    constant = round(DATA_SIZE * knobs.symmetric_share)
    task = _SeededIsingTraining(IsingTrainingConfig(num_constant=constant, num_varying=DATA_SIZE - constant,
                                                     anneal=ANNEAL), knobs.seed)
    return _train(task, model_config(knobs, variant), knobs, monitor)


# ----------------------------------------------------------------------------------------------------------------------
# Graph autoencoder


@lru_cache(maxsize=1)
def _graph_family_sets() -> tuple[GraphSet, GraphSet]:
    """(training, held-out) members of GRAPH_FAMILIES with at most GRAPH_MAX_NODES nodes, canonicalized."""
    graphs = symmetric_graphs()
    keep = [b for b in range(len(graphs))
            if graphs.families[b] in GRAPH_FAMILIES and int(graphs.num_nodes[b]) <= GRAPH_MAX_NODES]
    held = [b for b in keep if int(graphs.num_nodes[b]) in GRAPH_HELD_OUT_SIZES]
    return graphs.subset([b for b in keep if b not in held]), graphs.subset(held)


@lru_cache(maxsize=1)
def _graph_random_train() -> GraphSet:
    num, seed = GRAPH_RANDOM
    return erdos_renyi(num, torch.Generator().manual_seed(seed), 6, GRAPH_MAX_NODES, 0.3).canonicalize()


@lru_cache(maxsize=1)
def graph_eval_sets() -> dict[str, GraphSet]:
    """The graph page's fixed evaluation set: ``{"symmetric": the families' held-out sizes, "random": Erdős–Rényi}``."""
    num, seed = GRAPH_EVAL_RANDOM
    return {"symmetric": _graph_family_sets()[1],
            "random": erdos_renyi(num, torch.Generator().manual_seed(seed), 6, GRAPH_MAX_NODES, 0.3).canonicalize()}


def graph_evaluate(model: GraphAE) -> dict:
    """``{"symmetric" | "random": {"exact": share, "edge_error": share}}`` on ``graph_eval_sets()`` (shares in [0, 1])."""
    was_training = model.training
    model.eval()
    try:
        figures = small_eval(model, graph_eval_sets())
    finally:
        model.train(was_training)
    return {name: {"exact": m["exact_pct"] / 100, "edge_error": m["edge_error_pct"] / 100} for name, m in figures.items()}


def graph_model_config(knobs: Knobs, variant: str) -> GraphAEConfig:
    return GraphAEConfig(variant=variant, n_max=N_MAX, hidden=knobs.width, num_layers=GRAPH_LAYERS,
                         embed_dim=max(2, knobs.width // 2), encoding_dim=knobs.encoding_dim, noise_scale=knobs.noise_scale)


class _PageGraphTraining(_Seeded, GraphAETraining):
    """GraphAETraining (its loss and batch sampling) on the page's small training set."""

    def __init__(self, symmetric_share: float, seed: int):
        self.share, self.seed = symmetric_share, seed

    def training_data(self, model_config: GraphAEConfig, seed: int) -> GraphAEData:
        sets = [_graph_family_sets()[0], _graph_random_train()]
        weights = torch.cat([torch.full((len(s),), w / len(s), dtype=torch.float64)
                             for s, w in zip(sets, (self.share, 1 - self.share))])
        return GraphAEData(sets, GraphSet.concat("train", sets), weights, {})


def graph_train_variant(knobs: Knobs, variant: str, monitor) -> GraphAE | None:
    """Train one graph-autoencoder variant (see ``train_variant``)."""
    return _train(_PageGraphTraining(knobs.symmetric_share, knobs.seed), graph_model_config(knobs, variant), knobs,
                  monitor)


def _prepare_graphs() -> None:
    _graph_family_sets(), _graph_random_train(), graph_eval_sets()


# ----------------------------------------------------------------------------------------------------------------------
# The experiments


@dataclass(frozen=True)
class Experiment:
    """What the Train page needs to know about one experiment. ``score`` maps an evaluation to the share plotted
    live (``score_title``); ``row`` to the cells of its table row; ``prepare`` builds the training and evaluation
    sets once, before the variants' threads race for them; ``lab`` is the page (path, name) that shows the
    session's trained models."""

    name: str  # as in backend.tasks.TASKS
    title: str
    variants: tuple[str, ...]
    defaults: Knobs
    bounds: dict[str, tuple[float, float, float]]
    model_config: Callable[[Knobs, str], Any]
    build: Callable[[Any], torch.nn.Module]  # a model from its config
    train_variant: Callable[[Knobs, str, Any], torch.nn.Module | None]
    evaluate: Callable[[torch.nn.Module], dict]
    prepare: Callable[[], Any]
    score: Callable[[dict], float]
    score_title: str
    row: Callable[[dict], dict]
    loss_title: str
    width_help: str
    share_help: str
    lab: tuple[str, str]


def _ising_score(evaluation: dict) -> float:
    exact = evaluation["exact"]
    values = [exact[p] for p in STORY_PHASES if p in exact]
    return sum(values) / len(values) if values else 0.0


SHOWN_PHASES = {"ferromagnet": "ferro", "antiferromagnet": "antiferro", "stripes-horizontal": "stripes (h)",
                "stripes-vertical": "stripes (v)", "field-polarized": "field-polarized"}


def _ising_row(e: dict) -> dict:
    row = {f"exact: {short}": f"{e['exact'][phase]:.0%}" for phase, short in SHOWN_PHASES.items() if phase in e["exact"]}
    row["mean gap"] = f"{sum(e['gap'].values()) / max(1, len(e['gap'])):.1%}"
    row["coverage"] = "–" if e["coverage"] is None else f"{e['coverage']:.0%}"
    return row


def _graph_row(e: dict) -> dict:
    return {f"{name}: {what}": f"{e[name][key]:.0%}" if key == "exact" else f"{e[name][key]:.1%}"
            for name in ("symmetric", "random") for key, what in (("exact", "exact"), ("edge_error", "edge error"))}


EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in (
    Experiment("ising", "Ising lattice (L = 8)", VARIANTS, Knobs(), BOUNDS, model_config, IsingModel, train_variant, evaluate,
               eval_set, _ising_score, "Exact ground states: antiferromagnets and stripes", _ising_row,
               "Training loss (mean-field free energy per site)", "Hidden channels of the p4m CNN.",
               "Constant Hamiltonians (fixed by the whole lattice group) among the training inputs; the rest vary in "
               "space.", ("app_pages/lattice_lab.py", "Lattice lab")),
    Experiment("graph_ae", "Graph autoencoder (cycles, prisms, circulants)", GRAPH_VARIANTS,
               Knobs(steps=1500, lr=3e-3, width=32, encoding_dim=16, symmetric_share=0.5, experiment="graph_ae"),
               {**BOUNDS, "steps": (50, 2000, 50), "width": (8, 64, 8), "encoding_dim": (2, 32, 2),
                "symmetric_share": (0.1, 1.0, 0.05)},
               graph_model_config, GraphAE, graph_train_variant, graph_evaluate, _prepare_graphs,
               lambda e: e["symmetric"]["exact"], "Exact reconstructions: held-out symmetric graphs", _graph_row,
               "Training loss (BCE per node pair)", "Hidden width of the EGNN encoder and decoder.",
               "Share of each batch drawn from the symmetric families (cycles, prisms, Möbius ladders, circulants, "
               "hypercubes); the rest are Erdős–Rényi graphs.", ("app_pages/graph_lab.py", "Graph lab")),
)}


# ----------------------------------------------------------------------------------------------------------------------
# The job


@dataclass(frozen=True)
class VariantProgress:
    variant: str
    steps: int
    step: int = 0  # steps done
    seconds: float = 0.0
    curve: tuple[tuple[int, float], ...] = ()  # (step, loss)
    evals: tuple[tuple[int, dict], ...] = ()  # (steps done, the experiment's evaluate())
    state: str = "preparing"  # preparing, training, done, stopped


@dataclass(frozen=True)
class TrainedModel:
    """A model trained in this session (frozen). ``label`` names it in the labs ("yours: sympe (job 3)")."""

    label: str
    variant: str
    model: torch.nn.Module = field(compare=False)
    knobs: Knobs
    evaluation: dict

    def safetensors(self) -> bytes:
        """The weights with the config, knobs and evaluation in the metadata (strings, as safetensors requires)."""
        tensors = {k: v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()}
        meta = {"experiment": self.knobs.experiment, "variant": self.variant, "config": json.dumps(self.model.config.to_dict()),
                "training": json.dumps(self.knobs.__dict__), "evaluation": json.dumps(self.evaluation)}
        return safetensors_bytes(tensors, metadata=meta)


class _Monitor:
    """Feeds one variant's progress to the job (``backend.tasks.trainer.Monitor``)."""

    def __init__(self, manager: JobManager, job: Job, variant: str, steps: int, eval_every: int,
                 evaluate: Callable[[torch.nn.Module], dict]):
        self.manager, self.job, self.variant, self.eval_every, self.evaluate = manager, job, variant, eval_every, evaluate
        self.progress = VariantProgress(variant, steps)
        self.stride, self.start, self.model = 1, time.perf_counter(), None

    def publish(self, **changes) -> None:
        self.progress = replace(self.progress, seconds=round(time.perf_counter() - self.start, 1), **changes)
        self.manager.report(self.job, **{self.variant: self.progress})

    def on_step(self, step: int, loss: float, model: torch.nn.Module) -> None:
        self.model = model
        curve = self.progress.curve
        if step % self.stride == 0:
            curve = curve + ((step, loss),)
            if len(curve) > CURVE_POINTS:
                self.stride *= 2
                curve = tuple(p for p in curve if p[0] % self.stride == 0)
        done = step + 1
        evals = self.progress.evals
        if done == 1 or done % self.eval_every == 0 or done == self.progress.steps:
            evals = evals + ((done, self.evaluate(model)),)
        self.publish(step=done, curve=curve, evals=evals, state="training")

    def stop_requested(self) -> bool:
        return self.job.stop_requested()


def run_job(manager: JobManager, knobs: Knobs, job: Job) -> dict[str, tuple[torch.nn.Module, dict]]:
    """The work of one Train-page job: every chosen variant in its own thread. Returns {variant: (model, last
    evaluation)} of the finished variants (all of them unless stopped); re-raises the first variant's failure."""
    problems = validate(knobs)
    if problems:
        raise ValueError("; ".join(problems))
    exp = EXPERIMENTS[knobs.experiment]
    exp.prepare()
    eval_every = max(50, knobs.steps // 8)
    monitors = {v: _Monitor(manager, job, v, knobs.steps, eval_every, exp.evaluate) for v in knobs.variants}
    for m in monitors.values():
        m.publish()
    results: dict = {}
    errors: list[BaseException] = []

    def one(variant: str) -> None:
        try:
            model = exp.train_variant(knobs, variant, monitors[variant])
        except BaseException as exc:  # noqa: BLE001 - handed to the job's thread below
            errors.append(exc)
            job.request_stop()  # the other variants stop too: the job has failed
            return
        if model is not None:
            results[variant] = (_freeze(model), monitors[variant].progress.evals[-1][1])
            monitors[variant].publish(state="done")
        else:
            monitors[variant].publish(state="stopped")

    threads = [threading.Thread(target=one, args=(v,), name=f"sympe-train-{v}", daemon=True) for v in knobs.variants]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def _freeze(model: torch.nn.Module) -> torch.nn.Module:
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()


def run_job_in_process(manager: JobManager, knobs: Knobs, job: Job) -> dict[str, tuple[torch.nn.Module, dict]]:
    """``run_job`` in a process of its own (``app.jobs.run_in_process``: a crash or a memory overrun fails this job
    alone); the finished models come back as safetensors bytes and are rebuilt here from their experiment's config."""
    exp = EXPERIMENTS[knobs.experiment]
    done = run_in_process(manager, job, _process_job, knobs)
    results = {}
    for variant, (blob, evaluation) in done.items():
        model = exp.build(exp.model_config(knobs, variant))
        model.load_state_dict(safetensors_load(blob))
        results[variant] = (_freeze(model), evaluation)
    return results


def _process_job(reporter, job, knobs: Knobs) -> dict[str, tuple[bytes, dict]]:
    """The child's side of ``run_job_in_process`` (one torch thread per variant's thread)."""
    torch.set_num_threads(1)
    return {variant: (safetensors_bytes({k: v.contiguous() for k, v in model.state_dict().items()}), evaluation)
            for variant, (model, evaluation) in run_job(reporter, knobs, job).items()}
