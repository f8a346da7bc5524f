"""Command-line interface: ``python -m backend <command> ...``.

Commands (JSON on stdout; any bad input gives one line on stderr and exit code 2):

    canon graph PATH [--format F] [--samples K] [--seed S] [--max-nodes N]
    predict ising --jx X --jy Y --h H [--L 8] [--variant sympe] [--samples K] [--seed S] [--couplings FILE]
    predict graph-ae --graph PATH [--format F] [--variant sympe] [--samples K] [--seed S]
    predict point-cloud --points FILE [--format F] [--variant sympe] [--samples K] [--seed S] [--tol T]
    sample qm9 [--variant sympe] [--num N] [--steps T] [--seed S] [--trajectory]
    bench [--quick] [--repeats R] [--json]
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Callable

import torch

from .canonical import canonicalize_graph
from .graph_io import GraphInputError, load_graph
from .options import UsageError, bounded, one_line
from .tasks import TASKS

__all__ = ["main"]

MAX_NODES = 20_000  # the largest graph `canon graph` accepts (--max-nodes)
MAX_SAMPLE_ENTRIES = 10_000_000  # samples × nodes printed by `canon graph`


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors, and negative numbers in any float notation (``--jx -1e-05``) read as values:
    argparse's own test for a negative number accepts only plain decimals."""

    NEGATIVE_NUMBER = re.compile(r"^-(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$|^-(?:inf|nan)$", re.IGNORECASE)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = self.NEGATIVE_NUMBER

    def error(self, message: str):  # one line, exit code 2, no usage dump
        raise UsageError(f"{self.prog}: {message}")


def _canon_graph(args) -> dict:
    try:
        graph = load_graph(args.path, args.format, max_nodes=args.max_nodes)
    except GraphInputError as e:
        raise UsageError(str(e)) from None
    if args.samples * graph.n > MAX_SAMPLE_ENTRIES:
        raise UsageError(f"--samples × nodes must be at most {MAX_SAMPLE_ENTRIES:,} (this graph has {graph.n} nodes: "
                         f"at most {MAX_SAMPLE_ENTRIES // graph.n} samples)")
    form = canonicalize_graph(graph.n, graph.edges, graph.node_colors, graph.edge_colors)
    generator = torch.Generator().manual_seed(args.seed)
    samples = form.sample(args.samples, generator).tolist() if args.samples else []
    return {
        "n": graph.n,
        "nodes": graph.nodes,
        **form.to_dict(),
        "samples": samples,
        "seed": args.seed,
    }


def _build_parser() -> _Parser:
    parser = _Parser(prog="python -m backend", description="SymPE Lab backend")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    canon = sub.add_parser("canon", help="canonical form, automorphism group and inversion-kernel samples")
    canon_sub = canon.add_subparsers(dest="kind", required=True, parser_class=_Parser)
    graph = canon_sub.add_parser("graph", help="a graph file")
    graph.add_argument("path")
    graph.add_argument("--format", choices=["edgelist", "json", "graphml", "gml", "graph6"], default=None)
    graph.add_argument("--samples", type=bounded("samples", 0, 100_000), default=0)
    graph.add_argument("--seed", type=bounded("seed", 0, 2**63 - 1), default=0)
    graph.add_argument("--max-nodes", type=bounded("max-nodes", 1, MAX_NODES), default=2000)
    graph.set_defaults(handler=_canon_graph)

    verbs = {"predict": "run a pretrained model", "sample": "generate with a pretrained generative model"}
    groups = {verb: sub.add_parser(verb, help=text).add_subparsers(dest="task", required=True, parser_class=_Parser)
              for verb, text in verbs.items()}
    for task in TASKS.values():
        task.module("cli").add_parser(groups[task.verb])

    sub.add_parser("bench", help="benchmarks (prints ratios measured in one run); see python -m backend bench --help")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:
        from .bench import main as bench_main

        return bench_main(argv[1:])
    try:
        parser = _build_parser()
        args = parser.parse_args(argv)
        handler: Callable = args.handler
        result = handler(args)
    except UsageError as e:
        print(f"error: {one_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    try:
        json.dump(result, sys.stdout)
        sys.stdout.write("\n")
        sys.stdout.flush()
    except BrokenPipeError:  # the reader went away (e.g. `| head`): not an error of ours
        sys.stdout = None
    return 0
