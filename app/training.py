"""Live training for the Train page: the knobs (bounded), the fixed evaluation set, one job that trains the chosen
Ising variants side by side through the one training loop (``backend.tasks.trainer.train`` with a monitor), and
the trained models a session keeps.

Conventions. A job trains every chosen variant at once, one thread each (torch ops release the GIL, so two variants
use two cores); the job's progress is ``{variant: VariantProgress}``, replaced (never mutated) at every report so a
reader's copy stays consistent. Every ``eval_every`` steps, and at the end, the model is evaluated in eval mode under
``torch.no_grad`` on ``EvalSet``: per phase, the share of exact ground states (energy equal to the exact minimum over
the 16 two-periodic states) and the mean relative energy gap, with one inversion-kernel sample per Hamiltonian (seed
0); and the coverage: over the first COVERAGE_PER_PHASE degenerate inputs of each STORY_PHASES phase (exactly two
ground states), the mean share of their ground states hit by ``COVERAGE_SAMPLES`` samples. A trained model is frozen (no gradients, eval mode) and
never changed afterwards; it is never written to pretrained/ (the download is built in memory).
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field, replace
from functools import lru_cache

import torch
from safetensors.torch import save as safetensors_bytes

from app.jobs import Job, JobManager
from backend.encodings import NONE, SYMPE
from backend.tasks.ising.data import PHASES, energy, exact_ground, phase_of, sample_constant_hamiltonians
from backend.tasks.ising.evaluate import BOUNDARY_MARGIN, constant_outcomes, predict_spins
from backend.tasks.ising.model import VARIANTS, IsingConfig, IsingModel
from backend.tasks.ising.train import IsingTraining, IsingTrainingConfig
from backend.tasks.trainer import TrainConfig, train

L = 8
DATA_SIZE = 1280  # training Hamiltonians (constant + varying): small enough to canonicalize in about a second
SHARPNESS = (3.0, 30.0, 300.0)  # as the shipped models
ANNEAL = 1.0  # initial temperature of the free-energy loss (the shipped 0.3 needs ten times more steps for stripes)
PER_PHASE = 16  # evaluation Hamiltonians per phase
COVERAGE_SAMPLES = 16
COVERAGE_PER_PHASE = 3  # degenerate inputs per STORY_PHASES phase in the coverage
CURVE_POINTS = 400  # the loss curve keeps at most this many points (every k-th step, k doubling as needed)
STORY_PHASES = ("antiferromagnet", "stripes-horizontal", "stripes-vertical")


@dataclass(frozen=True)
class Knobs:
    """The Train page's settings. ``symmetric_share``: the share of constant (fully symmetric) Hamiltonians among
    the DATA_SIZE training inputs, the rest spatially varying. ``width``: hidden channels of the p4m CNN."""

    variants: tuple[str, ...] = (NONE.name, SYMPE.name)
    steps: int = 1500
    lr: float = 3e-3
    width: int = 8
    encoding_dim: int = 8
    symmetric_share: float = 0.8
    seed: int = 0
    batch: int = 32


BOUNDS = {  # knob: (low, high, step)
    "steps": (50, 3000, 50),
    "lr": (1e-4, 1e-2, 1e-4),
    "width": (4, 16, 2),
    "encoding_dim": (2, 16, 1),
    "symmetric_share": (0.5, 1.0, 0.05),
    "seed": (0, 9999, 1),
}


def validate(knobs: Knobs) -> list[str]:
    """Every reason the knobs cannot be used (empty when they can)."""
    problems = []
    if not knobs.variants:
        problems.append("choose at least one variant")
    unknown = [v for v in knobs.variants if v not in VARIANTS]
    if unknown:
        problems.append(f"unknown variant {unknown[0]!r}")
    if len(set(knobs.variants)) != len(knobs.variants):
        problems.append("each variant once")
    for name, (lo, hi, _) in BOUNDS.items():
        value = getattr(knobs, name)
        if not isinstance(value, (int, float)) or value != value or not lo <= value <= hi:
            problems.append(f"{name} must lie in [{lo}, {hi}]")
    return problems


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


@dataclass(frozen=True)
class VariantProgress:
    variant: str
    steps: int
    step: int = 0  # steps done
    seconds: float = 0.0
    curve: tuple[tuple[int, float], ...] = ()  # (step, loss)
    evals: tuple[tuple[int, dict], ...] = ()  # (steps done, evaluate())
    state: str = "preparing"  # preparing, training, done, stopped


@dataclass(frozen=True)
class TrainedModel:
    """A model trained in this session (frozen). ``label`` names it in the labs ("yours: sympe (job 3)")."""

    label: str
    variant: str
    model: IsingModel = field(compare=False)
    knobs: Knobs
    evaluation: dict
    experiment: str = "ising"

    def safetensors(self) -> bytes:
        """The weights with the config, knobs and evaluation in the metadata (strings, as safetensors requires)."""
        tensors = {k: v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()}
        meta = {"experiment": self.experiment, "variant": self.variant, "config": json.dumps(self.model.config.to_dict()),
                "training": json.dumps(self.knobs.__dict__), "evaluation": json.dumps(self.evaluation)}
        return safetensors_bytes(tensors, metadata=meta)


class _Monitor:
    """Feeds one variant's progress to the job (``backend.tasks.trainer.Monitor``)."""

    def __init__(self, manager: JobManager, job: Job, variant: str, steps: int, eval_every: int):
        self.manager, self.job, self.variant, self.eval_every = manager, job, variant, eval_every
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
            evals = evals + ((done, evaluate(model)),)
        self.publish(step=done, curve=curve, evals=evals, state="training")

    def stop_requested(self) -> bool:
        return self.job.stop_requested()


_INIT_LOCK = threading.Lock()


class _SeededIsingTraining(IsingTraining):
    """IsingTraining whose initial weights come from ``seed`` under a lock: the trainer seeds torch's global
    generator, which every training thread of the process shares (variants side by side, other sessions' jobs), so
    without the lock a run's initial weights would depend on its neighbours."""

    def __init__(self, options: IsingTrainingConfig, seed: int):
        super().__init__(options)
        self.seed = seed

    def build(self, model_config: IsingConfig, data) -> IsingModel:
        with _INIT_LOCK:
            torch.manual_seed(self.seed)
            return super().build(model_config, data)


def model_config(knobs: Knobs, variant: str) -> IsingConfig:
    return IsingConfig(L=L, variant=variant, hidden=knobs.width, encoding_dim=knobs.encoding_dim, sharpness=SHARPNESS)


def train_variant(knobs: Knobs, variant: str, monitor) -> IsingModel | None:
    """Train one variant with the one training loop (nothing shipped, no log); None when the monitor stopped it."""
    constant = round(DATA_SIZE * knobs.symmetric_share)
    task = _SeededIsingTraining(IsingTrainingConfig(num_constant=constant, num_varying=DATA_SIZE - constant,
                                                     anneal=ANNEAL), knobs.seed)
    cfg = TrainConfig(steps=knobs.steps, batch=knobs.batch, lr=knobs.lr, seed=knobs.seed, device="cpu", threads=0,
                      ship=False, log=False)
    record = train(task, model_config(knobs, variant), cfg, [], monitor=monitor)
    return None if record is None else monitor.model


def run_job(manager: JobManager, knobs: Knobs, job: Job) -> dict[str, tuple[IsingModel, dict]]:
    """The work of one Train-page job: every chosen variant in its own thread. Returns {variant: (model, last
    evaluation)} of the finished variants (all of them unless stopped); re-raises the first variant's failure."""
    problems = validate(knobs)
    if problems:
        raise ValueError("; ".join(problems))
    eval_set()  # built once, before the threads race for it
    eval_every = max(50, knobs.steps // 8)
    monitors = {v: _Monitor(manager, job, v, knobs.steps, eval_every) for v in knobs.variants}
    for m in monitors.values():
        m.publish()
    results: dict = {}
    errors: list[BaseException] = []

    def one(variant: str) -> None:
        try:
            model = train_variant(knobs, variant, monitors[variant])
        except BaseException as exc:  # noqa: BLE001 - handed to the job's thread below
            errors.append(exc)
            job.request_stop()  # the other variants stop too: the job has failed
            return
        if model is not None:
            for p in model.parameters():
                p.requires_grad_(False)
            model.eval()
            results[variant] = (model, monitors[variant].progress.evals[-1][1])
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
