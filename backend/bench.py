"""Benchmarks of the symmetry-breaking pipeline, side by side in one run, with ratios and targets.

What is measured (wall clock with ``time.perf_counter``; every case is the median over up to ``--repeats`` runs in
this one process, and stops repeating once its runs have taken ``--budget`` seconds, so a slow case runs once):

1. ``graphs``: exact canonicalization plus one inversion-kernel sample of one graph, three ways:
   ``new`` = ``sample_inversion_kernel(n, edges, generator=g)`` (one BLISS call on a uniformly relabelled copy);
   ``sympy`` = ``canonicalize_graph(n, edges).sample(1, g, method="sympy")`` (BLISS generators, sympy's
   Schreier–Sims, a uniform rank unranked: the previous path);
   ``vf2`` = networkx's VF2 enumeration of every automorphism and a uniform pick (skipped when |Aut| > AUT_LIMIT).
   Families, at n ≈ 10, 100, 1,000 and 10,000 (the rows state the actual n): ``random`` G(n, p) with average degree
   4 (networkx, seeded), ``cycle`` C_n, ``hypercube`` Q_d with d = round(log2 n), ``complete`` K_n (up to n = 1,000:
   K_10000 would list 49,995,000 edges) and ``rook``, the rook's graph K_m □ K_m with m = round(√n), strongly regular
   with parameters (m², 2(m − 1), m − 2, 2). sympy and VF2 run under a deadline of ``--limit`` seconds per run
   (checked between Python bytecodes); a case that exceeds it is reported as skipped, and sympy is not tried at
   n ≥ 10,000.
2. ``draws``: K samples of one 100-node graph (the cycle C_100 and the rook's graph K_10 □ K_10), each run on a
   fresh ``canonicalize_graph`` form: ``form.sample(K, g, method=...)`` for ``chain`` (builds the stabilizer chain,
   then draws in a batch), ``relabel`` (K BLISS calls) and ``sympy``.
3. ``lattice``: ``canonicalize_lattice(group, h, J, odd=[True])`` on p4m × Z2 (as the app's lattice page does), then
   the stabilizer order and one sample, against ``canonicalize_lattice_exhaustive``, for a random input (±1 bonds,
   uniform field) and a constant one with two painted sites, at L = 8 … 128. The exhaustive search holds an orbit
   tensor of |G|·3L² = 48·L⁴ numbers and is skipped above EXHAUSTIVE_LIMIT of them (L ≥ 64).
4. ``overhead``: (canonicalize + sample + encode) over one forward pass of the backbone it feeds, under
   ``torch.no_grad()``, for each shipped SymPE model at its trained size and batch (inputs from the task's own data
   generators; the backbone is timed on exactly the inputs the model passes it, captured with a forward pre-hook),
   and for ``SparseMPNN`` (width and depth of the shipped graph autoencoder) on one sparse random graph, its edges
   given to the kernel as the (E, 2) array the pipeline holds.

Targets (``target`` and ``met`` columns): see TARGETS. Timings are never asserted by the tests.

Run: ``python -m backend bench`` (the CLI passes its arguments here) or ``python -m backend.bench``. Options:
``--quick`` (small sizes only, a few seconds per section), ``--json`` (print JSON instead of tables),
``--json-out FILE`` (also write the JSON), ``--repeats``, ``--budget``, ``--limit``, ``--seed``, ``--threads``.
``python -m backend.bench --render FILE.json --doc docs/performance.md`` writes the tables and a log-log plot
(``docs/performance.svg``) between the generated-section markers of the doc.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import igraph
import networkx as nx
import numpy as np
import sympy
import torch
from networkx.algorithms.isomorphism import GraphMatcher

from .canonical import (
    canonicalize_graph,
    canonicalize_lattice,
    canonicalize_lattice_exhaustive,
    sample_inversion_kernel,
    uniform_below,
)
from .deadline import deadline
from .groups import LatticeGroup, Permutation
from .nn.graph import SparseMPNN
from .tasks.graph_ae.data import GraphSet, load_split
from .tasks.graph_ae.model import load_graph_ae
from .tasks.ising.data import sample_constant_hamiltonians, sample_varying_hamiltonians
from .tasks.ising.model import load_ising
from .tasks.qm9.data import smiles_to_graph
from .tasks.qm9.evaluate import graphs_to_batch, small_eval_set
from .tasks.qm9.model import load_qm9_model, noise_graphs

__all__ = ["BenchConfig", "main", "run_benchmarks", "format_tables", "render_markdown", "render_svg", "write_doc"]

SCHEMA = 1
AUT_LIMIT = 10**5  # VF2 enumeration is skipped above this many automorphisms
SYMPY_MAX_N = 10_000  # sympy's path is not tried from this many nodes on
COMPLETE_MAX_N = 1_000  # larger complete graphs are listed as skipped
EXHAUSTIVE_LIMIT = 64_000_000  # numbers in the exhaustive lattice search's orbit tensor (L = 32: 50,331,648)
FAMILIES = ("random", "cycle", "hypercube", "complete", "rook")
DRAW_GRAPHS = ("cycle", "rook")
SPARSE_WIDTH = dict(hidden=64, num_layers=4, out_dim=32, encoding_dim=64)  # the shipped graph autoencoder's widths

# (section, selector, quantity, bound, unit): the row meets the target when row[quantity] ≤ bound
TARGETS = (
    ("graphs", {"family": "random", "target_n": 1000}, "new", 20.0, "ms"),
    ("graphs", {"family": "cycle", "target_n": 1000}, "new", 20.0, "ms"),
    ("graphs", {"family": "hypercube", "target_n": 1000}, "new", 20.0, "ms"),
    ("graphs", {"family": "random", "target_n": 10000}, "new", 300.0, "ms"),
    ("draws", {"graph": "cycle", "k": 1000}, "chain", 50.0, "ms"),
    ("lattice", {"L": 16}, "new", 5.0, "ms"),
    ("lattice", {"L": 64}, "new", 100.0, "ms"),
    ("lattice", {"L": 128}, "new", 1000.0, "ms"),
    ("overhead", {}, "encode/backbone", 0.25, "ratio"),
)


@dataclasses.dataclass
class BenchConfig:
    """What to run: the defaults are the full run, ``quick_preset()`` is ``--quick``."""

    graph_sizes: tuple[int, ...] = (10, 100, 1000, 10000)
    draws_k: int = 1000
    lattice_sizes: tuple[int, ...] = (8, 16, 32, 64, 128)
    sparse_sizes: tuple[int, ...] = (1000, 10000)
    repeats: int = 20
    budget: float = 5.0
    limit: float = 10.0
    seed: int = 0
    threads: int = 1
    quick: bool = False

    @staticmethod
    def quick_preset() -> "BenchConfig":
        return BenchConfig(graph_sizes=(10, 100), draws_k=100, lattice_sizes=(8, 16), sparse_sizes=(1000,),
                           repeats=3, budget=0.5, limit=1.0, quick=True)


# ----------------------------------------------------------------------------------------------------------------------
# Timing


class _Skip(Exception):
    """A case that cannot be measured; the message is the reason shown in the tables."""


def _deadline(seconds: float | None):
    """Raise _Skip once ``seconds`` have passed (a long call into C finishes first; see backend.deadline)."""
    return deadline(seconds, lambda: _Skip(f"one run > {seconds:g} s"))


def _skipped(reason: str) -> dict:
    return {"ms": None, "reps": 0, "status": f"skipped: {reason}"}


def _time(fn: Callable[[], object], cfg: BenchConfig, limit: float | None = None) -> dict:
    """Median wall time of ``fn`` in ms over up to ``cfg.repeats`` runs, stopping once the runs have taken
    ``cfg.budget`` seconds (at least one run). A run that raises _Skip (or exceeds ``limit`` seconds) makes the
    whole case skipped. Returns {"ms", "reps", "status"}."""
    times: list[float] = []
    while len(times) < cfg.repeats:
        t0 = time.perf_counter()
        try:
            with _deadline(limit):
                fn()
        except _Skip as reason:
            return _skipped(str(reason))
        except SystemError as error:  # the alarm fired inside a C extension (igraph), which re-raises it this way
            if not isinstance(error.__cause__ or error.__context__, _Skip):
                raise
            return _skipped(str(error.__cause__ or error.__context__))
        times.append(time.perf_counter() - t0)
        if sum(times) >= cfg.budget:
            break
    return {"ms": 1e3 * statistics.median(times), "reps": len(times), "status": "ok"}


def _ratios(row: dict, pairs: tuple[tuple[str, str], ...]) -> dict:
    """{"a/b": row[a].ms / row[b].ms} (None where either is missing)."""
    out = {}
    for a, b in pairs:
        ta, tb = row[a]["ms"], row[b]["ms"]
        out[f"{a}/{b}"] = ta / tb if ta is not None and tb else None
    return out


def _apply_targets(section: str, rows: list[dict]) -> None:
    """Set ``target`` ({"quantity", "max", "unit"}) and ``met`` (bool, None when not measured) on the rows that
    TARGETS selects, and None on the others."""
    for row in rows:
        row["target"], row["met"] = None, None
        for sec, select, quantity, bound, unit in TARGETS:
            if sec != section or any(row.get(k) != v for k, v in select.items()):
                continue
            value = row["ratios"][quantity] if "/" in quantity else row[quantity]["ms"]
            row["target"] = {"quantity": quantity, "max": bound, "unit": unit}
            row["met"] = None if value is None else value <= bound


# ----------------------------------------------------------------------------------------------------------------------
# 1-2. Graphs


def _rook_graph(m: int) -> nx.Graph:
    return nx.cartesian_product(nx.complete_graph(m), nx.complete_graph(m))


def _graph(family: str, size: int, seed: int) -> nx.Graph:
    """The family's member nearest to ``size`` nodes, relabelled 0..n-1 (sorted labels)."""
    if family == "random":
        G = nx.gnp_random_graph(size, 4.0 / (size - 1), seed=seed)
    elif family == "cycle":
        G = nx.cycle_graph(size)
    elif family == "hypercube":
        G = nx.hypercube_graph(round(math.log2(size)))
    elif family == "complete":
        G = nx.complete_graph(size)
    elif family == "rook":
        G = _rook_graph(round(math.sqrt(size)))
    else:
        raise ValueError(f"unknown family {family!r}")
    return nx.convert_node_labels_to_integers(G, ordering="sorted")


def _edge_list(G: nx.Graph) -> list[tuple[int, int]]:
    return [(int(u), int(v)) for u, v in G.edges()]


def _vf2_sample(G: nx.Graph, generator: torch.Generator) -> tuple[list[int], int]:
    """Enumerate Aut(G) with VF2 and pick one automorphism uniformly: (its image list, |Aut(G)| as counted)."""
    try:
        autos = list(GraphMatcher(G, G).isomorphisms_iter())
    except RecursionError:
        raise _Skip("VF2 exceeds Python's recursion limit") from None
    chosen = autos[uniform_below(len(autos), generator)]
    return [chosen[i] for i in range(G.number_of_nodes())], len(autos)


def _aut_text(aut: int) -> str:
    digits = str(aut)
    return digits if len(digits) <= 7 else f"{digits[0]}.{digits[1:3]}e{len(digits) - 1}"


def _bench_graph(family: str, size: int, cfg: BenchConfig) -> dict:
    if family == "complete" and size > COMPLETE_MAX_N:
        edges = size * (size - 1) // 2
        row = {"family": family, "target_n": size, "n": size, "edges": edges, "aut": None}
        reason = f"K_{size} lists {edges:,} edges"
        row.update(new=_skipped(reason), sympy=_skipped(reason), vf2=_skipped(reason))
        row["ratios"] = _ratios(row, (("sympy", "new"), ("vf2", "new")))
        return row
    G = _graph(family, size, cfg.seed)
    n, edges = G.number_of_nodes(), _edge_list(G)
    aut = canonicalize_graph(n, edges).automorphism_group_order
    row = {"family": family, "target_n": size, "n": n, "edges": len(edges), "aut": str(aut)}

    gen = torch.Generator().manual_seed(cfg.seed)
    row["new"] = _time(lambda: sample_inversion_kernel(n, edges, generator=gen), cfg)
    if n >= SYMPY_MAX_N:
        row["sympy"] = _skipped(f"not tried at n ≥ {SYMPY_MAX_N:,}")
    else:
        gen = torch.Generator().manual_seed(cfg.seed)
        row["sympy"] = _time(lambda: canonicalize_graph(n, edges).sample(1, gen, method="sympy"), cfg, cfg.limit)
    if aut > AUT_LIMIT:
        row["vf2"] = _skipped(f"|Aut| > {AUT_LIMIT:.0e}".replace("e+0", "e"))
    else:
        gen = torch.Generator().manual_seed(cfg.seed)
        counts: list[int] = []
        row["vf2"] = _time(lambda: counts.append(_vf2_sample(G, gen)[1]), cfg, cfg.limit)
        if counts and counts[-1] != aut:
            row["vf2"]["status"] = f"mismatch: VF2 found {counts[-1]} automorphisms"
    row["ratios"] = _ratios(row, (("sympy", "new"), ("vf2", "new")))
    return row


def _bench_draws(family: str, cfg: BenchConfig) -> dict:
    G = _graph(family, 100, cfg.seed)
    n, edges = G.number_of_nodes(), _edge_list(G)
    k = cfg.draws_k
    row = {"graph": family, "n": n, "aut": str(canonicalize_graph(n, edges).automorphism_group_order), "k": k}
    for method in ("chain", "relabel", "sympy"):
        gen = torch.Generator().manual_seed(cfg.seed)
        row[method] = _time(lambda: canonicalize_graph(n, edges).sample(k, gen, method=method), cfg)
    row["ratios"] = _ratios(row, (("relabel", "chain"), ("sympy", "chain")))
    return row


# ----------------------------------------------------------------------------------------------------------------------
# 3. Lattices


def _lattice_input(kind: str, L: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(h (1, 1, L, L), J (1, 2, L, L)) in float64. ``random``: J = ±1, h ~ U[-1, 1]. ``painted``: J = 1 and h = 0.5
    everywhere except h = -1.5 at the sites (0, 0) and (L/2, L/4)."""
    if kind == "random":
        gen = torch.Generator().manual_seed(seed)
        J = torch.where(torch.rand(2, L, L, generator=gen, dtype=torch.float64) < 0.5, -1.0, 1.0)
        h = torch.rand(L, L, generator=gen, dtype=torch.float64) * 2 - 1
    elif kind == "painted":
        J = torch.ones(2, L, L, dtype=torch.float64)
        h = torch.full((L, L), 0.5, dtype=torch.float64)
        h[0, 0] = h[L // 2, L // 4] = -1.5
    else:
        raise ValueError(f"unknown lattice input {kind!r}")
    return h[None, None], J[None]


def _bench_lattice(kind: str, L: int, cfg: BenchConfig) -> dict:
    group = LatticeGroup(L, spin_flip=True)
    h, J = _lattice_input(kind, L, cfg.seed)
    row = {"input": kind, "L": L, "group_order": group.order}

    def run(canonicalize):
        def once():
            form = canonicalize(group, h, J, odd=[True])
            return form.stabilizer_order, form.sample(gen)
        return once

    gen = torch.Generator().manual_seed(cfg.seed)
    row["stabilizer_order"] = int(run(canonicalize_lattice)()[0][0])
    row["new"] = _time(run(canonicalize_lattice), cfg)
    numbers = group.order * 3 * L * L
    if numbers > EXHAUSTIVE_LIMIT:
        gib = 8 * numbers / 2**30
        row["exhaustive"] = _skipped(f"orbit tensor of 48·L⁴ = {numbers:,} numbers ({gib:.1f} GiB in float64)")
    else:
        row["exhaustive"] = _time(run(canonicalize_lattice_exhaustive), cfg)
    row["ratios"] = _ratios(row, (("exhaustive", "new"),))
    return row


# ----------------------------------------------------------------------------------------------------------------------
# 4. Overhead of the encoding against the backbone


def _captured(backbone: torch.nn.Module, run: Callable[[], object]) -> Callable[[], object]:
    """Run ``run()`` once and return a call of ``backbone`` on exactly the arguments it received during that run."""
    seen: dict = {}

    def hook(module, args, kwargs):
        seen.update(args=args, kwargs=kwargs)

    handle = backbone.register_forward_pre_hook(hook, with_kwargs=True)
    try:
        run()
    finally:
        handle.remove()
    return lambda: backbone(*seen["args"], **seen["kwargs"])


def _overhead_row(model: str, backbone: str, batch: int, size: str, encode: Callable[[], object],
                  forward: Callable[[], object], cfg: BenchConfig) -> dict:
    row = {"model": model, "backbone_module": backbone, "batch": batch, "size": size,
           "encode": _time(encode, cfg), "backbone": _time(forward, cfg)}
    row["ratios"] = _ratios(row, (("encode", "backbone"),))
    return row


def _overhead_ising(cfg: BenchConfig) -> dict:
    model = load_ising("sympe")
    L, batch = model.config.L, 64
    gen = torch.Generator().manual_seed(cfg.seed)
    Jc, hc = sample_constant_hamiltonians(batch // 2, L, gen)
    Jv, hv, _ = sample_varying_hamiltonians(batch - batch // 2, L, gen)
    J, h = torch.cat([Jc, Jv]).float(), torch.cat([hc, hv]).float()
    forward = _captured(model.core, lambda: model(J, h, generator=gen))
    encode = lambda: model.encoder(h.unsqueeze(1), J, odd=[True], generator=gen)  # noqa: E731
    return _overhead_row("ising/sympe", "P4MCNN", batch, f"L = {L}", encode, forward, cfg)


def _overhead_graph_ae(cfg: BenchConfig) -> dict:
    model = load_graph_ae("sympe")
    gen = torch.Generator().manual_seed(cfg.seed)
    parts = [load_split(name, "train", 13, canonical=False) for name in ("community-small", "erdos-renyi")]
    symmetric = load_split("symmetric", "train")
    parts.append(symmetric.subset(torch.randperm(len(symmetric), generator=gen)[:6]))  # the mix 0.4 / 0.4 / 0.2
    graphs = GraphSet.concat("bench", parts)
    adj, mask = graphs.batch(range(len(graphs)))
    forward = _captured(model.encoder, lambda: model(adj, mask, generator=gen))
    encode = lambda: model.encoding(adj, mask, generator=gen)  # noqa: E731
    return _overhead_row("graph_ae/sympe", "EGNN", len(graphs), f"n ≤ {adj.shape[-1]}", encode, forward, cfg)


def _overhead_qm9(cfg: BenchConfig) -> dict:
    model = load_qm9_model("sympe")
    batch = 128
    X0, E0, mask = graphs_to_batch([smiles_to_graph(s) for s in small_eval_set()[:batch]])
    gen = torch.Generator().manual_seed(cfg.seed)
    t = torch.randint(1, model.config.T + 1, (batch,), generator=gen)
    Xt, Et = noise_graphs(X0, E0, mask, model.alpha_bar[t], model.node_marginal, model.edge_marginal, gen)
    adj = (Et > 0).float()
    forward = _captured(model.net, lambda: model(Xt, Et, mask, t, generator=gen))
    encode = lambda: model.encoding(adj, mask, elements=model.inversion_kernel(Xt, Et, mask, gen))  # noqa: E731
    return _overhead_row("qm9/sympe", "GraphTransformer", batch, f"n ≤ {mask.shape[-1]}", encode, forward, cfg)


def _overhead_sparse(n: int, cfg: BenchConfig) -> dict:
    G = _graph("random", n, cfg.seed)
    edges = np.asarray(_edge_list(G), dtype=np.int64).reshape(-1, 2)  # (E, 2), as a sparse pipeline holds them
    edge_index = torch.from_numpy(edges).T
    edge_index = torch.cat([edge_index, edge_index.flip(0)], 1)
    d = SPARSE_WIDTH["encoding_dim"]
    torch.manual_seed(cfg.seed)
    table = torch.randn(n, d)
    model = SparseMPNN(1 + d, SPARSE_WIDTH["hidden"], SPARSE_WIDTH["out_dim"], SPARSE_WIDTH["num_layers"]).eval()
    gen = torch.Generator().manual_seed(cfg.seed)

    def encode():
        h = Permutation(sample_inversion_kernel(n, edges, generator=gen)[None])
        return torch.cat([torch.ones(n, 1), h.act_nodes(table[None])[0]], -1)  # node h[k] gets row k of the table

    x = encode()
    return _overhead_row("SparseMPNN (random G(n, 4/(n-1)))", "SparseMPNN", 1, f"n = {n:,}, E = {len(edges):,}",
                         encode, lambda: model(x, edge_index), cfg)


# ----------------------------------------------------------------------------------------------------------------------
# Driver


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _header(cfg: BenchConfig) -> dict:
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "platform": platform.platform(),
        "processor": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_available": affinity,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "networkx": nx.__version__,
        "igraph": igraph.__version__,
        "sympy": sympy.__version__,
        "quick": cfg.quick,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _warm_up() -> None:
    """Imports, lazy initialisation of igraph and sympy, the first torch kernels."""
    edges = [(i, (i + 1) % 6) for i in range(6)]
    gen = torch.Generator().manual_seed(0)
    sample_inversion_kernel(6, edges, generator=gen)
    for method in ("chain", "sympy"):
        canonicalize_graph(6, edges).sample(2, gen, method=method)
    h, J = _lattice_input("painted", 4, 0)
    canonicalize_lattice(LatticeGroup(4, spin_flip=True), h, J, odd=[True]).sample(gen)


def run_benchmarks(cfg: BenchConfig) -> dict:
    torch.set_num_threads(max(1, cfg.threads))
    _warm_up()
    with torch.no_grad():
        sections = {
            "graphs": [_bench_graph(f, s, cfg) for f in FAMILIES for s in cfg.graph_sizes],
            "draws": [_bench_draws(f, cfg) for f in DRAW_GRAPHS],
            "lattice": [_bench_lattice(kind, L, cfg) for kind in ("random", "painted") for L in cfg.lattice_sizes],
            "overhead": [_overhead_ising(cfg), _overhead_graph_ae(cfg), _overhead_qm9(cfg)]
                        + [_overhead_sparse(n, cfg) for n in cfg.sparse_sizes],
        }
    for name, rows in sections.items():
        _apply_targets(name, rows)
    config = dataclasses.asdict(cfg) | {"aut_limit": AUT_LIMIT, "sympy_max_n": SYMPY_MAX_N,
                                         "complete_max_n": COMPLETE_MAX_N, "exhaustive_limit": EXHAUSTIVE_LIMIT,
                                         "sparse_width": SPARSE_WIDTH}
    return {"schema": SCHEMA, "header": _header(cfg), "config": config, **sections}


# ----------------------------------------------------------------------------------------------------------------------
# Tables (shared by the terminal output and the markdown renderer)


def _ms(entry: dict) -> str:
    if entry["ms"] is None:
        return entry["status"]
    text = f"{entry['ms']:.3g}" if entry["ms"] < 100 else f"{entry['ms']:.0f}"
    return text if entry["status"] == "ok" else f"{text} ({entry['status']})"


def _ratio(value: float | None, unit: str = "×") -> str:
    if value is None:
        return "–"
    return (f"{value:.3g}" if value < 100 else f"{value:,.0f}") + unit


def _target(row: dict) -> tuple[str, str]:
    t = row["target"]
    if t is None:
        return "", ""
    bound = f"≤ {t['max']:g} ms" if t["unit"] == "ms" else f"≤ {t['max']:g}"
    return f"{t['quantity']} {bound}", {True: "yes", False: "no", None: "–"}[row["met"]]


def _tables(result: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, headers, rows) of every section, as text cells."""
    k = result["config"]["draws_k"]
    graphs = [[r["family"], f"{r['n']:,}", f"{r['edges']:,}", "–" if r["aut"] is None else _aut_text(int(r["aut"])),
               _ms(r["new"]), _ms(r["sympy"]), _ratio(r["ratios"]["sympy/new"]), _ms(r["vf2"]),
               _ratio(r["ratios"]["vf2/new"]), *_target(r)] for r in result["graphs"]]
    draws = [[r["graph"], str(r["n"]), _aut_text(int(r["aut"])), _ms(r["chain"]), _ms(r["relabel"]),
              _ratio(r["ratios"]["relabel/chain"]), _ms(r["sympy"]), _ratio(r["ratios"]["sympy/chain"]), *_target(r)]
             for r in result["draws"]]
    lattice = [[r["input"], str(r["L"]), f"{r['group_order']:,}", str(r["stabilizer_order"]), _ms(r["new"]),
                _ms(r["exhaustive"]), _ratio(r["ratios"]["exhaustive/new"]), *_target(r)] for r in result["lattice"]]
    overhead = [[r["model"], r["backbone_module"], str(r["batch"]), r["size"], _ms(r["encode"]), _ms(r["backbone"]),
                 _ratio(r["ratios"]["encode/backbone"], ""), *_target(r)] for r in result["overhead"]]
    tail = ["target", "met"]
    return [
        ("1. Graphs: canonicalization + one inversion-kernel sample (ms)",
         ["family", "n", "edges", "|Aut|", "new", "sympy", "sympy/new", "VF2", "VF2/new", *tail], graphs),
        (f"2. K = {k} samples of one 100-node graph, fresh form each run (ms)",
         ["graph", "n", "|Aut|", "chain", "relabel", "relabel/chain", "sympy", "sympy/chain", *tail], draws),
        ("3. Lattices, p4m × Z2: canonicalization + stabilizer + one sample (ms)",
         ["input", "L", "|G|", "|G_x|", "new", "exhaustive", "exhaustive/new", *tail], lattice),
        ("4. Overhead: (canonicalize + sample + encode) / backbone forward, torch.no_grad (ms)",
         ["model", "backbone", "batch", "size", "encode", "backbone", "ratio", *tail], overhead),
    ]


def _header_lines(result: dict) -> list[str]:
    h, c = result["header"], result["config"]
    return [
        f"{h['platform']} | {h['processor']} | {h['cpu_count']} CPUs ({h['cpus_available']} available) | "
        f"torch threads {h['torch_threads']} | python {h['python']} | torch {h['torch']} | networkx {h['networkx']} | "
        f"igraph {h['igraph']} | sympy {h['sympy']} | {h['date']}",
        f"{'--quick run' if h['quick'] else 'full run'}: median over up to {c['repeats']} runs per case, a case stops "
        f"repeating after {c['budget']:g} s; sympy and VF2 runs are stopped after {c['limit']:g} s",
    ]


def format_tables(result: dict) -> str:
    """The terminal view: aligned plain-text tables."""
    out = _header_lines(result)
    for title, headers, rows in _tables(result):
        widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

        def line(cells):
            return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

        out += ["", title, line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)]
    return "\n".join(out)


def render_markdown(result: dict, svg_name: str | None = None) -> str:
    """The generated section of docs/performance.md: header, tables, and the plot (when ``svg_name`` is given).
    A function of ``result`` alone."""
    def cells(texts):
        return "| " + " | ".join(t.replace("|", "\\|") for t in texts) + " |"

    out = [f"- {text}" for text in _header_lines(result)]
    for title, headers, rows in _tables(result):
        out += ["", f"**{title}**", "", cells(headers), "|" + "---|" * len(headers), *(cells(row) for row in rows)]
    if svg_name:
        out += ["", f"![Time against size, log-log: graphs (new solid, sympy dashed) and lattices (new solid, "
                    f"exhaustive dashed)]({svg_name})"]
    return "\n".join(out)


# ----------------------------------------------------------------------------------------------------------------------
# Plot: a small self-contained log-log SVG writer

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")


def _series(result: dict) -> list[tuple[str, str, list[tuple[str, str, list[tuple[float, float]]]]]]:
    """(panel title, x label, [(legend, dash, [(x, ms)])]) for the two panels."""
    graphs, lattice = [], []
    for f in FAMILIES:
        rows = [r for r in result["graphs"] if r["family"] == f]
        for method, dash in (("new", ""), ("sympy", "5,4")):
            points = [(r["n"], r[method]["ms"]) for r in rows if r[method]["ms"] is not None]
            graphs.append((f"{f} {method}", dash, points))
    for kind in ("random", "painted"):
        rows = [r for r in result["lattice"] if r["input"] == kind]
        for method, dash in (("new", ""), ("exhaustive", "5,4")):
            points = [(r["L"], r[method]["ms"]) for r in rows if r[method]["ms"] is not None]
            lattice.append((f"{kind} {method}", dash, points))
    return [("Graphs: canonicalization + one sample", "nodes n", graphs),
            ("Lattices p4m × Z2: canonicalize + stabilizer + sample", "side L", lattice)]


def _power_of_ten(e: int) -> str:
    return f"{10.0**e:,.{max(0, -e)}f}" if -3 <= e <= 4 else f"1e{e}"


def _decades(values: list[float]) -> tuple[int, int]:
    lo, hi = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
    return lo, max(hi, lo + 1)


def render_svg(result: dict) -> str:
    """A log-log plot of time (ms) against size, one panel per section, as SVG text (a function of ``result``)."""
    panel_w, panel_h, left, top, bottom, right = 460, 300, 60, 40, 50, 30
    legend_h = 16 * 6
    width, height = 2 * (left + panel_w + right), top + panel_h + bottom + legend_h
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           f'font-family="sans-serif" font-size="11">', f'<rect width="{width}" height="{height}" fill="white"/>']
    for p, (title, xlabel, series) in enumerate(_series(result)):
        x0 = p * (left + panel_w + right) + left
        xs = [x for _, _, pts in series for x, _ in pts]
        ys = [y for _, _, pts in series for _, y in pts]
        if not xs:
            continue
        (xlo, xhi), (ylo, yhi) = _decades(xs), _decades(ys)

        def X(v):
            return x0 + panel_w * (math.log10(v) - xlo) / (xhi - xlo)

        def Y(v):
            return top + panel_h * (1 - (math.log10(v) - ylo) / (yhi - ylo))

        out.append(f'<text x="{x0 + panel_w / 2:.1f}" y="{top - 16}" text-anchor="middle" font-size="13">{title}</text>')
        out.append(f'<rect x="{x0}" y="{top}" width="{panel_w}" height="{panel_h}" fill="none" stroke="#444"/>')
        for e in range(xlo, xhi + 1):
            out.append(f'<line x1="{X(10**e):.1f}" y1="{top}" x2="{X(10**e):.1f}" y2="{top + panel_h}" stroke="#ddd"/>')
            out.append(f'<text x="{X(10**e):.1f}" y="{top + panel_h + 15}" text-anchor="middle">'
                       f'{_power_of_ten(e)}</text>')
        for e in range(ylo, yhi + 1):
            out.append(f'<line x1="{x0}" y1="{Y(10**e):.1f}" x2="{x0 + panel_w}" y2="{Y(10**e):.1f}" stroke="#ddd"/>')
            out.append(f'<text x="{x0 - 5}" y="{Y(10**e) + 4:.1f}" text-anchor="end">{_power_of_ten(e)}</text>')
        out.append(f'<text x="{x0 + panel_w / 2:.1f}" y="{top + panel_h + 32}" text-anchor="middle">{xlabel}</text>')
        out.append(f'<text x="{x0 - 45}" y="{top + panel_h / 2:.1f}" text-anchor="middle" '
                   f'transform="rotate(-90 {x0 - 45} {top + panel_h / 2:.1f})">time (ms)</text>')
        for s, (label, dash, points) in enumerate(series):
            colour = COLOURS[(s // 2) % len(COLOURS)]
            style = f'stroke="{colour}" stroke-width="1.6" fill="none"' + (f' stroke-dasharray="{dash}"' if dash else "")
            if len(points) > 1:
                path = " ".join(f"{X(x):.1f},{Y(y):.1f}" for x, y in points)
                out.append(f'<polyline points="{path}" {style}/>')
            out += [f'<circle cx="{X(x):.1f}" cy="{Y(y):.1f}" r="2.5" fill="{colour}"/>' for x, y in points]
            lx = x0 + (s % 2) * panel_w / 2
            ly = top + panel_h + bottom + 12 + 16 * (s // 2)
            out.append(f'<line x1="{lx:.1f}" y1="{ly - 4}" x2="{lx + 24:.1f}" y2="{ly - 4}" {style}/>')
            out.append(f'<text x="{lx + 30:.1f}" y="{ly}">{label}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------------------------------------------------
# The generated section of the doc

BEGIN = "<!-- BEGIN GENERATED: python -m backend.bench --render (do not edit by hand) -->"
END = "<!-- END GENERATED -->"


def write_doc(json_path: Path, doc_path: Path) -> None:
    """Write ``render_markdown`` of the JSON between BEGIN and END in ``doc_path`` (appending the markers when the
    doc has none, creating the doc when missing) and the plot next to it (same name, .svg)."""
    result = json.loads(json_path.read_text())
    svg_path = doc_path.with_suffix(".svg")
    command = f"python -m backend.bench --render {json_path.as_posix()} --doc {doc_path.as_posix()}"
    section = "\n".join([BEGIN, "", f"Generated by `{command}` from the JSON that "
                         f"`python -m backend bench{' --quick' if result['header']['quick'] else ''} "
                         f"--json-out {json_path.as_posix()}` wrote (`make bench` runs both).", "",
                         render_markdown(result, svg_path.name), "", END])
    text = doc_path.read_text() if doc_path.exists() else "# Performance\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    doc_path.parent.mkdir(parents=True, exist_ok=True)
    doc_path.write_text(text)
    svg_path.write_text(render_svg(result))


# ----------------------------------------------------------------------------------------------------------------------
# Command line


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m backend bench", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes only (graphs ≤ 100 nodes, L ≤ 16, K = 100)")
    p.add_argument("--json", action="store_true", help="print JSON instead of the tables")
    p.add_argument("--json-out", type=Path, default=None, metavar="FILE", help="also write the JSON to this file")
    p.add_argument("--repeats", type=int, default=None,
                   help="runs per case, the median is reported (default 20, quick 3)")
    p.add_argument("--budget", type=float, default=None,
                   help="seconds per case before it stops repeating (default 5, quick 0.5)")
    p.add_argument("--limit", type=float, default=None,
                   help="seconds allowed for one sympy or VF2 run (default 10, quick 1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: canonicalization is single-threaded, and on a busy machine "
                        "several threads spin-wait)")
    p.add_argument("--render", type=Path, default=None, metavar="FILE.json",
                   help="render this JSON into --doc (and its .svg) instead of benchmarking")
    p.add_argument("--doc", type=Path, default=Path("docs/performance.md"), metavar="FILE.md",
                   help="the doc --render writes (default docs/performance.md)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.render is not None:
        write_doc(args.render, args.doc)
        return 0
    cfg = BenchConfig.quick_preset() if args.quick else BenchConfig()
    for name in ("repeats", "budget", "limit"):
        if getattr(args, name) is not None:
            setattr(cfg, name, getattr(args, name))
    cfg.seed, cfg.threads = args.seed, args.threads
    if cfg.repeats < 1:
        print("--repeats must be at least 1", file=sys.stderr)
        return 2
    result = run_benchmarks(cfg)
    if args.json_out is not None:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1) if args.json else format_tables(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
