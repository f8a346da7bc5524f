"""Results tables, built from pretrained/manifest.json only (no number is typed by hand).

The row builders serve the app's Results page and the generated tables in README.md and docs/: every block
between ``<!-- BEGIN RESULTS: <name> -->`` and ``<!-- END RESULTS -->`` is written from the manifest by
``python -m backend.results --write`` (``make results``) and checked by ``--check`` (and by
tests/test_results_tables.py). ``python -m backend.results --list`` names every table.

How the markdown tables print numbers (``number`` and ``plus_minus``; the app shows the rows' raw values):
- a float keeps 4 significant digits (all of its integer digits when it has more), in positional notation, and
  never more decimal places than the manifest stores for it: an evaluator that stored 0.113 is not padded to
  0.1130, and 0.0007 stays 0.0007;
- a percentage that a row builder derives from a stored fraction is rounded to one decimal (0.9808 → 98.1);
- a value with a standard error is rounded to the error's second significant digit, e.g. 25.50 ± 0.22 and
  +0.031 ± 0.028;
- integers and text print as they are; true and false print as yes and no.
"""
from __future__ import annotations

import argparse
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from .checkpoints import read_manifest
from .encodings import ENCODINGS, names
from .tasks import TASKS


def ordered(entries: dict[str, dict]) -> list[tuple[str, dict]]:
    """Manifest entries keyed by variant, in the order of ``backend.encodings.ENCODINGS``."""
    rank = {v: i for i, v in enumerate(names(ENCODINGS))}
    return sorted(entries.items(), key=lambda kv: (rank.get(kv[0], 99), kv[0]))


def flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}; lists of scalars are joined."""
    out: dict[str, Any] = {}
    if isinstance(d, dict):
        for k, v in d.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(d, list):
        out[prefix] = ", ".join(map(str, d)) if all(not isinstance(x, (dict, list)) for x in d) else str(d)
    else:
        out[prefix] = d
    return out


# ----------------------------------------------------------------------------------------------------------------------
# Number formats of the generated tables (the rule is in the module docstring)


SIGNIFICANT = 4


def _stored_decimals(x: float) -> int:
    """Decimal places of the shortest repr of x (what the manifest's JSON holds): 0.113 -> 3, 5e-05 -> 5."""
    text = repr(abs(x))
    mantissa, _, exponent = text.partition("e")
    places = len(mantissa.partition(".")[2].rstrip("0")) if "." in mantissa else 0
    return max(0, places - int(exponent or 0))


def number(x: Any) -> str:
    """One cell: a float to SIGNIFICANT significant digits (at least its integer digits), positional, with no more
    decimal places than it has; integers and text as they are; booleans as yes / no; None as an empty cell."""
    if x is None:
        return ""
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        if not math.isfinite(x):
            return str(x)
        magnitude = math.floor(math.log10(abs(x))) if x else 0
        stored = _stored_decimals(x)
        places = min(max(0, SIGNIFICANT - 1 - magnitude), max(1, stored) if x == int(x) else stored)
        return f"{x:.{places}f}"
    return str(x)


def pct(fraction: float | None) -> float | None:
    """A stored fraction as a percentage with one decimal."""
    return None if fraction is None else round(100 * fraction, 1)


def plus_minus(value: float, error: float, signed: bool = False) -> str:
    """``value ± error``, both rounded to the error's second significant digit (``+`` shown when ``signed``)."""
    if not error or not math.isfinite(error):
        return f"{'+' if signed and value > 0 else ''}{number(float(value))} ± {number(float(error))}"
    places = max(0, 1 - math.floor(math.log10(abs(error))))
    return f"{value:{'+' if signed else ''}.{places}f} ± {error:.{places}f}"


def provenance_rows(entries: dict[str, dict]) -> list[dict]:
    rows = []
    for variant, e in ordered(entries):
        training = e.get("training", {})
        rows.append({
            "variant": variant,
            "training command": e.get("command", ""),
            "seed": e.get("seed"),
            "steps": training.get("steps"),
            "training time (s)": training.get("seconds"),
            "device": training.get("device"),
            "metrics command": e.get("metrics_command", "(small evaluation recorded at training time)"),
            "sha256": str(e.get("sha256", ""))[:12] + "…",
        })
    return rows


# ----------------------------------------------------------------------------------------------------------------------
# What every task's results module provides (backend/tasks/<name>/results.py)


@dataclass(frozen=True)
class Chart:
    """A grouped bar chart of one experiment for the Results page: ``series`` maps each variant to one value per
    category."""

    categories: list[str]
    series: dict[str, list[float]]
    y_title: str
    title: str
    note: str = ""


def task_results(experiment: str) -> ModuleType:
    """The results module of a task: ``summary_rows(entries)`` (the Results page and the task's block),
    ``HEADLINE`` ((label, value) pairs of the README's table, each a function of one variant's metrics),
    ``TABLES`` (the detail blocks of the docs, by name) and ``chart(entries)`` (a Chart or None)."""
    return TASKS[experiment].module("results")


def entries_of(experiment: str, manifest: dict[str, dict]) -> dict[str, dict]:
    """The manifest entries of one experiment, keyed by variant."""
    return {k.split("/", 1)[1]: v for k, v in manifest.items() if k.startswith(experiment + "/")}


def summary_columns() -> tuple[str, ...]:
    """The variants some task trains, in the order of ``backend.encodings.ENCODINGS``."""
    return tuple(e.name for e in ENCODINGS if any(e in t.encodings for t in TASKS.values()))


def headline_rows(manifest: dict[str, dict]) -> list[dict]:
    """One line per experiment and key metric, one column per variant (the README's table)."""
    rows = []
    for experiment, task in TASKS.items():
        metrics = {v: e.get("metrics") or {} for v, e in entries_of(experiment, manifest).items()}
        for label, value in task_results(experiment).HEADLINE:
            row: dict[str, Any] = {"experiment": task.title, "metric": None}
            for v in summary_columns():
                try:
                    row[v] = value(metrics[v])
                    row["metric"] = row["metric"] or label(metrics[v])
                except (KeyError, TypeError, ValueError):
                    row[v] = None
            if row["metric"]:
                rows.append(row)
    return rows


# ----------------------------------------------------------------------------------------------------------------------
# Generated markdown tables


ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = ("README.md", "docs")
_BEGIN = re.compile(r"^<!-- BEGIN RESULTS:", re.MULTILINE)  # a marker starts its line (a mention in prose does not)
_BLOCK = re.compile(r"^(<!-- BEGIN RESULTS: ([\w-]+) -->\n)(.*?)^(<!-- END RESULTS -->)", re.DOTALL | re.MULTILINE)
_COMMAND = "python -m backend.results --write"


def markdown_table(rows: list[dict]) -> str:
    """A markdown table of dict rows (columns in first-seen order; missing cells empty; numbers by ``number``)."""
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    cell = lambda v: number(v).replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(map(cell, columns)) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def _builders() -> dict[str, tuple[str, Callable[[dict[str, dict]], list[dict]]]]:
    """Every generated block but the headline: name -> (experiment, row builder)."""
    found = {}
    for experiment in sorted(TASKS):
        module = task_results(experiment)
        found[experiment] = (experiment, module.summary_rows)
        found[f"provenance-{experiment}"] = (experiment, provenance_rows)
        found.update({name: (experiment, build) for name, build in module.TABLES.items()})
    return found


def table_names() -> list[str]:
    """Every name a generated block may use."""
    return ["headline", *sorted(_builders())]


def rows(name: str, manifest: dict[str, dict]) -> list[dict]:
    """The rows of the generated table ``name`` (see ``table_names``); KeyError for an unknown name."""
    if name == "headline":
        return headline_rows(manifest)
    builders = _builders()
    if name not in builders:
        raise KeyError(f"unknown results table {name!r} (known: {', '.join(table_names())})")
    experiment, build = builders[name]
    return build(entries_of(experiment, manifest))


def table(name: str, manifest: dict[str, dict]) -> str:
    """The body of the generated block ``name``: the markdown table and the line that says where it comes from."""
    found = rows(name, manifest)
    body = markdown_table(found) if found else "(no shipped model)"
    return f"{body}\n\nGenerated from `pretrained/manifest.json` by `{_COMMAND}` (`make results`).\n"


def blocks(text: str) -> list[tuple[str, str]]:
    """(name, current body) of every generated block in ``text``; ValueError when a BEGIN marker has no END."""
    found = [(m.group(2), m.group(3)) for m in _BLOCK.finditer(text)]
    markers = len(_BEGIN.findall(text))
    if markers != len(found):
        raise ValueError(f"{markers} BEGIN RESULTS markers but {len(found)} complete blocks (each needs "
                         "'<!-- BEGIN RESULTS: <name> -->' on a line of its own and a later '<!-- END RESULTS -->' line)")
    return found


def render(text: str, manifest: dict[str, dict]) -> str:
    """``text`` with every generated block rewritten from ``manifest``."""
    blocks(text)
    return _BLOCK.sub(lambda m: m.group(1) + table(m.group(2), manifest) + m.group(4), text)


def documents(root: Path = ROOT) -> list[Path]:
    """README.md and every markdown file under docs/ that holds a generated block."""
    paths = []
    for name in DOCUMENTS:
        path = root / name
        paths += sorted(path.rglob("*.md")) if path.is_dir() else [path] if path.exists() else []
    return [p for p in paths if _BEGIN.search(p.read_text(encoding="utf-8"))]


def problems(root: Path = ROOT, manifest: dict[str, dict] | None = None) -> list[str]:
    """One line per stale, unknown or unterminated block in the documents (empty when all match the manifest)."""
    manifest = read_manifest() if manifest is None else manifest
    found = []
    for path in documents(root):
        where = path.relative_to(root)
        try:
            current = blocks(path.read_text(encoding="utf-8"))
        except ValueError as err:
            found.append(f"{where}: {err}")
            continue
        for name, body in current:
            try:
                if body != table(name, manifest):
                    found.append(f"{where}: block {name!r} differs from the manifest (run make results)")
            except KeyError as err:
                found.append(f"{where}: {err.args[0]}")
    return found


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m backend.results",
                                description="Write or check the generated results tables in README.md and docs/")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="rewrite every generated block from the manifest")
    mode.add_argument("--check", action="store_true", help="exit 1 and name every stale or unknown block")
    mode.add_argument("--list", action="store_true", help="print the names a block may use")
    mode.add_argument("--show", metavar="NAME", help="print one table")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    if args.list:
        print("\n".join(table_names()))
        return 0
    manifest = read_manifest()
    if args.show:
        try:
            print(table(args.show, manifest), end="")
        except KeyError as err:
            print(err.args[0], file=sys.stderr)
            return 2
        return 0
    found = problems(manifest=manifest)
    if args.check:
        for line in found:
            print(line, file=sys.stderr)
        return 1 if found else 0
    broken = [line for line in found if "differs from the manifest" not in line]
    if broken:  # unknown or unterminated blocks: write nothing
        for line in broken:
            print(line, file=sys.stderr)
        return 1
    for path in documents():
        text = path.read_text(encoding="utf-8")
        new = render(text, manifest)
        if new != text:
            path.write_text(new, encoding="utf-8")
            print(f"updated {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
