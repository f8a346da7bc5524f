"""``python -m tests.fuzz`` (``make fuzz``): fuzz every graph and point-cloud reader and every CLI command.

Inputs come from the strategies of ``inputs`` (hypothesis, seeded: the same ``--seed`` gives the same
inputs) for three kinds of target:

    parse FMT            each reader of backend.graph_io, in-process, under ``outcomes.PARSE_LIMITS``
    cli COMMAND          each command through ``backend.cli.main`` in-process, stdout and stderr captured
    subprocess COMMAND   ``--subprocesses`` of the command lines as real ``python -m backend`` processes

Every input runs in a worker process under ``--time-limit`` seconds (an alarm in the worker, the timeout
of a subprocess; a worker silent for twice the limit is killed) and ``--memory-gb`` of address space
(RLIMIT_AS, inherited by subprocesses); torch runs on one thread. The run prints one row of outcomes
(``outcomes.KINDS``) per target and exits 1 when any input failed.

Each failing input is written to ``--out`` (default ``artifacts/fuzz-failures/``, emptied of earlier
results first) as a folder NNNN-TARGET holding the input files, ``argv.json`` or the graph file, ``outcome.txt``
(the outcome, its detail, stdout and stderr) and ``command.sh``, which reproduces it from the
repository root.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import select
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from backend.graph_io import FORMATS

from .inputs import COMMANDS, CliCase, FileArg, cli_cases, graph_files, point_cloud_files
from .outcomes import (
    FAILURES,
    KINDS,
    PARSE_LIMITS,
    Outcome,
    TimeLimit,
    cli_in_process,
    exception_outcome,
    parse_outcome,
    process_outcome,
    time_limit,
)

ROOT = Path(__file__).resolve().parents[2]
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
GRAPH_SUFFIX = {"edgelist": ".txt", "json": ".json", "graphml": ".graphml", "gml": ".gml", "graph6": ".g6"}


@dataclass(frozen=True)
class Job:
    """One input: a graph file for a reader (``fmt`` and ``data``) or a command line (``case``)."""

    target: str  # "parse FMT", "cli COMMAND" or "subprocess COMMAND"
    fmt: str = ""
    data: bytes = b""
    case: CliCase | None = None

    def to_json(self) -> str:
        argv = [a if isinstance(a, str) else {"name": a.name, "kind": a.kind, "data": _b64(a.data)}
                for a in (self.case.argv if self.case else ())]
        return json.dumps({"target": self.target, "fmt": self.fmt, "data": _b64(self.data), "argv": argv})

    @staticmethod
    def from_json(line: str) -> Job:
        obj = json.loads(line)
        argv = tuple(a if isinstance(a, str) else FileArg(a["name"], a["kind"], _unb64(a["data"])) for a in obj["argv"])
        case = None if obj["target"].startswith("parse") else CliCase(argv)
        return Job(obj["target"], obj["fmt"], _unb64(obj["data"]), case)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)


# ----------------------------------------------------------------------------------------------
# Generating inputs


def _examples(strategy: st.SearchStrategy[Any], count: int, run_seed: int) -> list[Any]:
    """``count`` distinct examples of ``strategy``, from hypothesis runs of 100 examples seeded from ``run_seed``."""
    found: dict[str, Any] = {}
    batch = 0
    while len(found) < count:
        @seed(run_seed * 1_000_003 + batch)
        @settings(max_examples=100, database=None, deadline=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(strategy)
        def collect(example: Any) -> None:
            found.setdefault(repr(example), example)

        collect()
        batch += 1
    return list(found.values())[:count]


POINT_CLOUD_FORMATS = ("xyz", "json")


def generate(parse_inputs: int, cli_inputs: int, subprocesses: int, run_seed: int) -> list[Job]:
    per_format = parse_inputs // (len(FORMATS) + len(POINT_CLOUD_FORMATS))
    jobs = [Job(f"parse {fmt}", fmt, data)
            for k, fmt in enumerate(FORMATS) for data in _examples(graph_files(fmt), per_format, run_seed + k)]
    jobs += [Job(f"parse points {fmt}", f"points:{fmt}", data)
             for k, fmt in enumerate(POINT_CLOUD_FORMATS) for data in _examples(point_cloud_files(fmt), per_format, run_seed + 100 + k)]
    cases = _examples(cli_cases(), cli_inputs, run_seed + len(FORMATS))
    jobs += [Job(f"cli {case.command}", case=case) for case in cases]
    by_command: dict[str, deque[CliCase]] = {c: deque() for c in COMMANDS}
    for case in _examples(cli_cases(), 20 * subprocesses, run_seed + len(FORMATS) + 1):
        if case.shell_safe and case.command in by_command:
            by_command[case.command].append(case)
    while subprocesses > 0 and any(by_command.values()):
        for command, queue in by_command.items():
            if queue and subprocesses > 0:
                jobs.append(Job(f"subprocess {command}", case=queue.popleft()))
                subprocesses -= 1
    return jobs


# ----------------------------------------------------------------------------------------------
# The worker: runs jobs from stdin, one JSON outcome per line on its own copy of stdout


def run_job(job: Job, folder: Path, limit: float) -> Outcome:
    """Run one job with its files under ``folder``, in-process jobs under ``time_limit(limit)``."""
    try:
        if job.target.startswith("parse"):
            with time_limit(limit):
                return parse_outcome(job.fmt, job.data)
        assert job.case is not None
        argv = job.case.materialise(folder)
        if job.target.startswith("subprocess"):
            try:
                proc = subprocess.run([sys.executable, "-m", "backend", *argv], cwd=ROOT, capture_output=True,
                                      timeout=limit, env={**os.environ, **ONE_THREAD})
            except subprocess.TimeoutExpired:
                return Outcome("hang", f"past {limit:g} s")
            decode = lambda b: b.decode("utf-8", "backslashreplace")  # noqa: E731
            return process_outcome(proc.returncode, decode(proc.stdout), decode(proc.stderr))
        with time_limit(limit):
            return process_outcome(*cli_in_process(argv))
    except TimeLimit:
        return Outcome("hang", f"past {limit:g} s")
    except Exception as exc:
        return exception_outcome(exc)


def _worker(limit: float, memory_bytes: int) -> int:
    import torch

    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    torch.set_num_threads(1)
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # stray writes to fd 1 cannot garble the channel
    channel.write("ready\n")
    for line in sys.stdin:
        job = Job.from_json(line)
        with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
            outcome = run_job(job, Path(tmp), limit)
        channel.write(json.dumps(outcome._asdict()) + "\n")
    return 0


# ----------------------------------------------------------------------------------------------
# The parent: hands jobs to workers, watches them, reports


class _WorkerProcess:
    def __init__(self, time_limit: float, memory_gb: float, log: Any) -> None:
        command = [sys.executable, "-m", "tests.fuzz", "--worker", "--time-limit", str(time_limit),
                   "--memory-gb", str(memory_gb)]
        self.proc = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                     text=True, env={**os.environ, **ONE_THREAD})
        ready, _, _ = select.select([self.proc.stdout], [], [], 300)
        if not ready or self.proc.stdout.readline() != "ready\n":
            raise RuntimeError(f"a fuzz worker did not start:\n{_tail(log)}")
        self.index: int | None = None
        self.deadline = 0.0

    def send(self, index: int, job: Job, watchdog: float) -> None:
        self.index, self.deadline = index, time.monotonic() + watchdog
        self.proc.stdin.write(job.to_json() + "\n")
        self.proc.stdin.flush()

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def _tail(log: Any, chars: int = 4000) -> str:
    """The end of the workers' shared stderr log."""
    log.flush()
    log.seek(0)
    return log.read()[-chars:]


def run_all(jobs: list[Job], workers: int, time_limit: float, memory_gb: float, log: Any) -> list[Outcome]:
    results: list[Outcome | None] = [None] * len(jobs)
    pending = deque(enumerate(jobs))
    pool = [_WorkerProcess(time_limit, memory_gb, log) for _ in range(workers)]
    watchdog = 2 * time_limit + 10
    started, done = time.monotonic(), 0
    try:
        while pending or any(w.index is not None for w in pool):
            for w in pool:
                if w.index is None and pending:
                    w.send(*pending.popleft(), watchdog)
            busy = [w for w in pool if w.index is not None]
            wait = max(0.0, min(w.deadline for w in busy) - time.monotonic())
            ready, _, _ = select.select([w.proc.stdout for w in busy], [], [], wait)
            for k, w in enumerate(pool):
                if w.index is None:
                    continue
                if w.proc.stdout in ready and (line := w.proc.stdout.readline()):
                    outcome, lost = Outcome(**json.loads(line)), False
                elif w.proc.stdout in ready:
                    outcome, lost = Outcome("crash", f"worker died (exit {w.proc.wait()})", stderr=_tail(log)), True
                elif time.monotonic() > w.deadline:
                    outcome, lost = Outcome("hang", f"worker silent for {watchdog:g} s"), True
                else:
                    continue
                results[w.index], w.index, done = outcome, None, done + 1
                if lost:
                    w.stop()
                    pool[k] = _WorkerProcess(time_limit, memory_gb, log)
                if done % 250 == 0:
                    failed = sum(r is not None and r.kind in FAILURES for r in results)
                    print(f"  {done}/{len(jobs)} inputs, {failed} failed, {time.monotonic() - started:.0f} s",
                          file=sys.stderr, flush=True)
    finally:
        for w in pool:
            w.stop()
    return [r for r in results if r is not None]


def summary(jobs: list[Job], results: list[Outcome]) -> str:
    counts: dict[str, Counter[str]] = {}
    for job, outcome in zip(jobs, results):
        counts.setdefault(job.target, Counter())[outcome.kind] += 1
    total = sum(counts.values(), Counter())
    width = max(map(len, counts)) + 2
    rows = [f"{'target':<{width}}{'inputs':>7}" + "".join(f"{k:>11}" for k in KINDS)]
    for target, c in [*counts.items(), ("total", total)]:
        rows.append(f"{target:<{width}}{sum(c.values()):>7}" + "".join(f"{c[k]:>11}" for k in KINDS))
    return "\n".join(rows)


def write_failure(folder: Path, job: Job, outcome: Outcome) -> None:
    folder.mkdir(parents=True)
    python = shlex.quote(sys.executable)
    if job.case is None:
        path = folder / f"input{GRAPH_SUFFIX[job.fmt]}"
        path.write_bytes(job.data)
        code = (f"from backend.graph_io import load_graph; "
                f"print(load_graph({str(path)!r}, {job.fmt!r}, max_bytes=10**9, **{PARSE_LIMITS!r}))")
        command = f"{python} -c {shlex.quote(code)}"
    else:
        argv = job.case.materialise(folder)
        (folder / "argv.json").write_text(json.dumps(argv))
        if job.target.startswith("subprocess"):
            command = f"{python} -m backend {shlex.join(argv)}"
        else:
            argv_file = str(folder / "argv.json")
            code = f"import json, sys; from backend.cli import main; sys.exit(main(json.load(open({argv_file!r}))))"
            command = f"{python} -c {shlex.quote(code)}"
    (folder / "command.sh").write_text(f"cd {shlex.quote(str(ROOT))}\n{command}\n")
    (folder / "outcome.txt").write_text(
        f"{job.target}: {outcome.kind}\n\n{outcome.detail}\n\n"
        f"--- stdout\n{outcome.stdout}\n--- stderr\n{outcome.stderr}\n",
        errors="backslashreplace",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--parse-inputs", type=int, default=1000, help="graph files, spread over the formats")
    parser.add_argument("--cli-inputs", type=int, default=1200, help="command lines run in-process")
    parser.add_argument("--subprocesses", type=int, default=40, help="command lines run as real processes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--time-limit", type=float, default=20.0, help="seconds per input")
    parser.add_argument("--memory-gb", type=float, default=3.0, help="address space per worker")
    parser.add_argument("--out", type=Path, default=ROOT / "artifacts" / "fuzz-failures")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return _worker(args.time_limit, int(args.memory_gb * 2**30))

    started = time.monotonic()
    jobs = generate(args.parse_inputs, args.cli_inputs, args.subprocesses, args.seed)
    print(f"{len(jobs)} inputs generated in {time.monotonic() - started:.0f} s; running them on {args.workers} "
          f"workers ({args.time_limit:g} s and {args.memory_gb:g} GB each)", file=sys.stderr, flush=True)
    with tempfile.TemporaryFile("w+") as log:
        results = run_all(jobs, args.workers, args.time_limit, args.memory_gb, log)
    print(summary(jobs, results))
    failures = [(k, job, outcome) for k, (job, outcome) in enumerate(zip(jobs, results)) if outcome.kind in FAILURES]
    for old in args.out.glob("[0-9][0-9][0-9][0-9]-*") if args.out.is_dir() else ():
        shutil.rmtree(old)
    for k, job, outcome in failures:
        write_failure(args.out / f"{k:04d}-{job.target.replace(' ', '-')}", job, outcome)
    print(f"{len(failures)} failing inputs" + (f", written to {args.out}" if failures else "")
          + f"; {time.monotonic() - started:.0f} s in all")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
