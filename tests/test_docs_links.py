"""The documents stay true to the repository. Every relative link in README.md and docs/**/*.md resolves: the file
or folder exists, and a #fragment names a heading of the target (GitHub's anchor rules); links inside code (fenced
or inline) are not links. The README keeps its shape, and docs/cli.md lists every option of every command."""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCED = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def prose(text: str) -> str:
    return INLINE_CODE.sub("", FENCED.sub("", text))


def links(path: Path) -> list[str]:
    return LINK.findall(prose(path.read_text(encoding="utf-8")))


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: markup dropped, lower case, punctuation other than - and _ removed, spaces to -."""
    text = re.sub(r"[`*]|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"\s", "-", re.sub(r"[^\w\- ]", "", text))


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(FENCED.sub("", path.read_text(encoding="utf-8"))):
        base = anchor(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def test_the_documents_exist():
    names = {str(p.relative_to(ROOT)) for p in DOCUMENTS}
    assert {"README.md", "docs/app.md", "docs/cli.md", "docs/library.md", "docs/performance.md",
            "docs/experiments/ising.md", "docs/experiments/graph_ae.md", "docs/experiments/qm9.md",
            "docs/experiments/pointcloud.md"} <= names


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(document):
    broken = []
    for target in links(document):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto: ... are not checked here
            continue
        path_part, _, fragment = target.partition("#")
        resolved = (document.parent / unquote(path_part)).resolve() if path_part else document
        if not resolved.exists():
            broken.append(f"{target}: {resolved.relative_to(ROOT) if resolved.is_relative_to(ROOT) else resolved} does not exist")
        elif not resolved.is_relative_to(ROOT):
            broken.append(f"{target}: points outside the repository")
        elif fragment and resolved.suffix == ".md" and unquote(fragment) not in anchors(resolved):
            broken.append(f"{target}: no heading with the anchor #{fragment} in {resolved.relative_to(ROOT)}")
    assert not broken, "\n".join(broken)


def test_the_readme_is_short_and_shows_the_app():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250
    images = [t for t in links(ROOT / "README.md") if t.endswith(".png")]
    assert images and all((ROOT / t).stat().st_size < 300_000 for t in images)


def test_the_readme_gives_exactly_the_two_set_up_commands():
    """One starts the app, one runs all the tests (the one CI runs: .ci/run)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.split("\n## Start\n", 1)[1].split("\n## ", 1)[0]
    assert set(re.findall(r"`(make [a-z-]+)`", start)) == {"make run", "make test"}
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()


def test_the_anchor_rule():
    assert anchor("Graphs: canonical form and inversion kernel") == "graphs-canonical-form-and-inversion-kernel"
    assert anchor("`canon graph`") == "canon-graph"
    assert anchor("Point clouds under O(3): symmetry-lowering distortion") == "point-clouds-under-o3-symmetry-lowering-distortion"


def test_links_in_code_are_ignored(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("see [a](a.md) and `[b](b.md)`\n```\n[c](c.md)\n```\n![d](img/d.png \"title\")\n")
    assert links(page) == ["a.md", "img/d.png"]


def _commands():
    """(command words, option strings) of every leaf command of ``python -m backend``."""
    import argparse

    from backend import bench
    from backend.cli import _build_parser

    def walk(parser, words):
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            yield words, [o for a in parser._actions for o in a.option_strings if o not in ("-h", "--help")]
        for sub in subs:
            for name, child in sub.choices.items():
                yield from walk(bench._parser() if name == "bench" else child, words + [name])

    return list(walk(_build_parser(), []))


def test_the_cli_page_lists_every_option_of_every_command():
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    synopsis = FENCED.search(text).group(0).splitlines()
    missing = []
    for words, options in _commands():
        prefix = "python -m backend " + " ".join(words) + " "
        lines = [line for line in synopsis if line.startswith(prefix)]
        if not lines:
            missing.append(f"no synopsis line for {prefix.strip()!r}")
        missing += [f"{prefix.strip()} {o}" for o in options if not any(re.search(rf"{re.escape(o)}(?![\w-])", line) for line in lines)]
    assert not missing, "docs/cli.md is stale (compare with python -m backend ... --help):\n" + "\n".join(missing)
