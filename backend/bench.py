"""Micro-benchmarks of the graph symmetry-breaking pipeline.

What is measured (wall clock with ``time.perf_counter``, median over ``--repeats`` runs, all in one process):

1. Canonicalization + one inversion-kernel sample: ``canonicalize_graph(n, edges)`` followed by
   ``form.sample(1, generator)``, which includes computing |Aut(G)| (sympy's Schreier–Sims on the BLISS
   generators) and unranking a uniform automorphism. Three families at about 10, 100 and 1000 nodes:
   ``random`` (networkx G(n, p) with average degree about 4, seeded), ``cycle`` (C_n) and ``hypercube``
   (the nearest hypercubes Q3, Q7, Q10 with 8, 128 and 1024 nodes; the table states the actual n).
   A fresh form is built on every run, so nothing is cached between runs.
2. The naive alternative with plain networkx: enumerate every automorphism with
   ``GraphMatcher(G, G).isomorphisms_iter()`` and pick one uniformly. Skipped when |Aut(G)| > 10^5, and
   reported as infeasible when a single run exceeds the per-run time limit (5 s; enumeration is stopped
   there). The ratio networkx / ours is printed, and the number of automorphisms networkx found is checked
   against |Aut(G)|.
3. SymPE encodings of K = 1000 copies of C_12 (|Aut| = 24) with ``GraphEncoder('sympe', 12, 8)``:
   one batched call ``encoder(adj, mask, generator=g)`` on the padded (K, 12, 12) batch versus a Python
   loop of K calls with batch size 1; and the encoding step alone with pre-sampled elements
   (``elements=...``) batched versus looped. Canonicalization is per graph in both variants, so the first
   pair mostly measures it; the second isolates the tensor work. Runs under ``torch.no_grad()``.

To keep the default run short (about a minute on two shared cores) every case also has a time budget
(``--budget``, 10 s): after at least 3 runs, a case stops repeating once it has spent the budget; the
number of runs actually used is reported in the ``reps`` columns.

Run it with ``python -m backend bench`` (the CLI calls ``backend.bench.main``) or ``python -m backend.bench``.
Options: ``--repeats R`` (default 20), ``--quick`` (smoke run: 10- and 100-node graphs, K = 100, 3 repeats,
short budgets), ``--json`` (print JSON instead of the table), ``--device`` (where the encoder runs; the
canonicalization is always on the CPU), ``--seed``.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from typing import Callable

import networkx as nx
import torch
from networkx.algorithms.isomorphism import GraphMatcher

from .canonical import canonicalize_graph, uniform_below
from .groups import Permutation
from .sympe import GraphEncoder

__all__ = ["main", "run_benchmarks", "format_table"]

AUT_LIMIT = 10**5  # the naive enumeration is skipped above this many automorphisms
SIZES = (10, 100, 1000)
HYPERCUBE_DIM = {10: 3, 100: 7, 1000: 10}  # nearest hypercubes: Q3 (8), Q7 (128), Q10 (1024)
FAMILIES = ("random", "cycle", "hypercube")


class _OverBudget(Exception):
    pass


# ----------------------------------------------------------------------------------------------------------------------
# Timing


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time(fn: Callable[[], object], repeats: int, budget_s: float, device: torch.device, min_reps: int = 3) -> dict:
    """Median wall time of ``fn`` in ms over up to ``repeats`` runs, stopping early (after ``min_reps``) once the
    case has spent ``budget_s`` seconds."""
    times: list[float] = []
    spent = 0.0
    while len(times) < repeats:
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        dt = time.perf_counter() - t0
        times.append(dt)
        spent += dt
        if spent >= budget_s and len(times) >= min(min_reps, repeats):
            break
    return {"ms": 1e3 * statistics.median(times), "reps": len(times)}


# ----------------------------------------------------------------------------------------------------------------------
# Graphs


def _make_graph(family: str, size: int, seed: int) -> nx.Graph:
    if family == "random":
        G = nx.gnp_random_graph(size, 4.0 / (size - 1), seed=seed)
    elif family == "cycle":
        G = nx.cycle_graph(size)
    elif family == "hypercube":
        G = nx.hypercube_graph(HYPERCUBE_DIM[size])
    else:
        raise ValueError(f"unknown family {family!r}")
    return nx.convert_node_labels_to_integers(G, ordering="sorted")


def _ours(n: int, edges: list[tuple[int, int]], generator: torch.Generator) -> torch.Tensor:
    form = canonicalize_graph(n, edges)
    return form.sample(1, generator)


def _networkx_sample(G: nx.Graph, generator: torch.Generator, deadline: float) -> tuple[list[int], int]:
    """Enumerate Aut(G) with VF2 and return one automorphism chosen uniformly (as an image list) and |Aut(G)|."""
    autos = []
    for iso in GraphMatcher(G, G).isomorphisms_iter():
        autos.append(iso)
        if time.perf_counter() > deadline:
            raise _OverBudget
    chosen = autos[uniform_below(len(autos), generator)]
    return [chosen[i] for i in range(G.number_of_nodes())], len(autos)


def _bench_canonicalization(family: str, size: int, cfg: argparse.Namespace, device: torch.device) -> dict:
    G = _make_graph(family, size, cfg.seed)
    n, edges = G.number_of_nodes(), [(int(u), int(v)) for u, v in G.edges()]
    aut = canonicalize_graph(n, edges).automorphism_group_order
    row = {"family": family, "target_n": size, "n": n, "edges": len(edges), "aut": aut}

    gen = torch.Generator().manual_seed(cfg.seed)
    ours = _time(lambda: _ours(n, edges, gen), cfg.repeats, cfg.budget, device)
    row.update(ours_ms=ours["ms"], ours_reps=ours["reps"])

    row.update(nx_ms=None, nx_reps=0, nx_status="ok", nx_found=None, ratio=None)
    if aut > AUT_LIMIT:
        row["nx_status"] = "skipped: |Aut| too large"
        return row
    gen = torch.Generator().manual_seed(cfg.seed)
    times: list[float] = []
    spent = 0.0
    while len(times) < cfg.repeats:
        t0 = time.perf_counter()
        try:
            _, found = _networkx_sample(G, gen, t0 + cfg.nx_limit)
        except _OverBudget:
            row["nx_status"] = f"skipped: > time budget ({cfg.nx_limit:g} s)"
            return row
        dt = time.perf_counter() - t0
        times.append(dt)
        spent += dt
        if spent >= cfg.budget and len(times) >= min(3, cfg.repeats):
            break
    row["nx_found"] = found
    if found != aut:
        row["nx_status"] = f"MISMATCH: networkx found {row['nx_found']} automorphisms"
    row.update(nx_ms=1e3 * statistics.median(times), nx_reps=len(times))
    row["ratio"] = row["nx_ms"] / row["ours_ms"]
    return row


# ----------------------------------------------------------------------------------------------------------------------
# Batched SymPE encodings


def _bench_encoding(cfg: argparse.Namespace, device: torch.device) -> list[dict]:
    K, n = cfg.k, 12
    torch.manual_seed(cfg.seed)
    encoder = GraphEncoder("sympe", n, 8).to(device)
    A = torch.tensor(nx.to_numpy_array(nx.cycle_graph(n)), dtype=torch.float32)
    adj = A.expand(K, n, n).contiguous().to(device)
    mask = torch.ones(K, n, dtype=torch.bool, device=device)
    singles = [(adj[i : i + 1], mask[i : i + 1]) for i in range(K)]

    rows = []
    with torch.no_grad():
        gen = torch.Generator().manual_seed(cfg.seed)
        batched = _time(lambda: encoder(adj, mask, generator=gen), cfg.repeats, cfg.budget, device)

        def loop():
            for a, m in singles:
                encoder(a, m, generator=gen)

        gen = torch.Generator().manual_seed(cfg.seed)
        looped = _time(loop, cfg.repeats, cfg.budget, device)
        rows.append({"step": f"sample + encode (K={K})", "batched": batched, "loop": looped})

        elements = encoder(adj, mask, generator=torch.Generator().manual_seed(cfg.seed)).elements
        single_elements = [Permutation(elements.perm[i : i + 1]) for i in range(K)]
        batched = _time(lambda: encoder(adj, mask, elements=elements), cfg.repeats, cfg.budget, device)

        def loop_elements():
            for (a, m), el in zip(singles, single_elements):
                encoder(a, m, elements=el)

        looped = _time(loop_elements, cfg.repeats, cfg.budget, device)
        rows.append({"step": f"encode only, pre-sampled (K={K})", "batched": batched, "loop": looped})
    for row in rows:
        row["ratio"] = row["loop"]["ms"] / row["batched"]["ms"]
    return rows


# ----------------------------------------------------------------------------------------------------------------------
# Driver and output


def _header(device: torch.device) -> dict:
    return {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "device": str(device) if device.type != "cuda" else f"{device} ({torch.cuda.get_device_name(device)})",
        "python": platform.python_version(),
        "networkx": nx.__version__,
        "platform": platform.platform(),
    }


def run_benchmarks(cfg: argparse.Namespace) -> dict:
    device = torch.device(cfg.device)
    # warm-up: imports, igraph/sympy lazy initialisation, first torch kernels
    _ours(10, [(i, (i + 1) % 10) for i in range(10)], torch.Generator().manual_seed(0))
    with torch.no_grad():
        GraphEncoder("sympe", 4, 2).to(device)(torch.ones(1, 4, 4, device=device), torch.ones(1, 4, dtype=torch.bool, device=device))
    sizes = SIZES[:2] if cfg.quick else SIZES
    canon = [_bench_canonicalization(f, s, cfg, device) for f in FAMILIES for s in sizes]
    enc = _bench_encoding(cfg, device)
    return {
        "header": _header(device),
        "config": {"repeats": cfg.repeats, "budget_s": cfg.budget, "nx_limit_s": cfg.nx_limit, "k": cfg.k,
                   "quick": cfg.quick, "seed": cfg.seed, "aut_limit": AUT_LIMIT},
        "canonicalization": canon,
        "encoding": enc,
    }


def _fmt_int(x: int) -> str:
    return str(x) if x < 10**7 else f"{x:.3e}"


def _table(headers: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return [line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def format_table(result: dict) -> str:
    h, c = result["header"], result["config"]
    out = [
        f"SymPE Lab benchmark | torch {h['torch']} | CPU threads {h['threads']} | device {h['device']} | "
        f"python {h['python']} | networkx {h['networkx']}",
        f"median over up to {c['repeats']} repeats (a case stops repeating after {c['budget_s']:g} s, at least 3 runs); "
        f"times with time.perf_counter",
        "",
        "1-2. canonicalize_graph + form.sample(1) (incl. |Aut| computation) vs networkx VF2 enumeration + uniform pick",
    ]
    rows = []
    for r in result["canonicalization"]:
        nx_cell = f"{r['nx_ms']:.3f}" if r["nx_ms"] is not None else r["nx_status"]
        if r["nx_ms"] is not None and r["nx_status"] != "ok":
            nx_cell += f" ({r['nx_status']})"
        rows.append([
            r["family"], str(r["target_n"]), str(r["n"]), str(r["edges"]), _fmt_int(r["aut"]),
            f"{r['ours_ms']:.3f}", str(r["ours_reps"]), nx_cell, str(r["nx_reps"]) if r["nx_reps"] else "-",
            f"{r['ratio']:.1f}x" if r["ratio"] is not None else "-",
        ])
    out += _table(["family", "target", "n", "edges", "|Aut|", "ours ms", "reps", "networkx ms", "reps", "nx/ours"],
                  rows, right={1, 2, 3, 4, 5, 6, 8, 9})
    out += ["", f"3. SymPE encodings of C_12, GraphEncoder('sympe', 12, 8), torch.no_grad(): one batched call vs "
                f"a loop of K calls with batch size 1"]
    rows = []
    for r in result["encoding"]:
        k = c["k"]
        rows.append([
            r["step"], f"{r['batched']['ms']:.3f}", f"{1e3 * r['batched']['ms'] / k:.2f}", str(r["batched"]["reps"]),
            f"{r['loop']['ms']:.3f}", f"{1e3 * r['loop']['ms'] / k:.2f}", str(r["loop"]["reps"]), f"{r['ratio']:.1f}x",
        ])
    out += _table(["step", "batched ms", "us/graph", "reps", "loop ms", "us/graph", "reps", "loop/batched"],
                  rows, right=set(range(1, 8)))
    return "\n".join(out)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m backend.bench", description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=20, help="runs per case; the median is reported (default 20)")
    p.add_argument("--quick", action="store_true", help="fast smoke run: 10- and 100-node graphs, K=100, 3 repeats")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    p.add_argument("--budget", type=float, default=None, help="seconds per case before it stops repeating (default 10, quick 1)")
    p.add_argument("--nx-limit", type=float, default=None, help="seconds allowed for one networkx enumeration (default 5, quick 1)")
    p.add_argument("--device", default="cpu", help="device of the encoder in part 3 (default cpu)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: the tensors are tiny, and on a busy 2-core machine two threads spin-wait)")
    return p


def main(argv: list[str] | None = None) -> int:
    cfg = _parser().parse_args(argv)
    if cfg.repeats < 1:
        print("--repeats must be at least 1", file=sys.stderr)
        return 2
    if cfg.quick:
        cfg.repeats = min(cfg.repeats, 3)
    cfg.budget = cfg.budget if cfg.budget is not None else (1.0 if cfg.quick else 10.0)
    cfg.nx_limit = cfg.nx_limit if cfg.nx_limit is not None else (1.0 if cfg.quick else 5.0)
    cfg.k = 100 if cfg.quick else 1000
    torch.set_num_threads(max(1, cfg.threads))
    result = run_benchmarks(cfg)
    if cfg.json:
        print(json.dumps(result, indent=2))
    else:
        print(format_table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
