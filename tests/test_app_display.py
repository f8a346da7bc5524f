"""How the app displays things (issue 16, "Display", and the load-failure message of "Models"):

- user text (node ids from an uploaded file) reaches every view exactly once escaped, and never as markup: pyvis
  gets it raw (vis-network draws labels on a canvas and sets tooltips as text), plotly gets it through one escaping
  helper; the pyvis view runs in a frame whose sandbox allows scripts only;
- adjacency heatmaps: cells centred on 0..n-1, ranges [-0.5, n - 0.5], every outline inside its own cell;
- node labels black or white by WCAG contrast with their fill;
- st.metric deltas only for signed changes;
- a model whose weights are in the manifest but do not load is shown as "cannot be loaded" with the fault and the
  file, never as "not shipped".
"""
from __future__ import annotations

import html
import itertools
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from plotly.colors import sample_colorscale
from safetensors.torch import load_file, save_file
from streamlit.testing.v1 import AppTest

from app import figures, graphs, models, pyvis_view
from backend.checkpoints import read_manifest, sha256_of

ROOT = Path(__file__).resolve().parent.parent
ENTRY = str(ROOT / "streamlit_app.py")
SHIPPED = read_manifest()
HOSTILE = ["<b>bold</b>", "a&b", 'q"uote', "<script>alert(1)</script>", "<a href='//x'>link</a>", "&amp;"]


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=120)
    at.run()
    if page != "home":
        at.switch_page(f"app_pages/{page}.py")
        at.run()
    return at


# ---- pyvis ------------------------------------------------------------------------------------------------------------


def vis_nodes(page: str) -> list[dict]:
    return json.loads(re.search(r"nodes = new vis\.DataSet\((\[.*?\])\);", page, re.DOTALL).group(1))


def test_pyvis_gets_node_ids_as_they_are_and_sets_tooltips_as_text():
    """Labels and tooltips reach vis-network unchanged (one escaping layer: the JSON escapes of Jinja's tojson, which
    the browser undoes), no id appears as markup in the page, and the custom popup that sets a tooltip with
    innerHTML (which pyvis switches on when a tooltip contains "href") is never used."""
    n = len(HOSTILE)
    page = pyvis_view.graph_html(n, [(i, i + 1) for i in range(n - 1)], labels=HOSTILE,
                                 tooltips=[f"id {x}" for x in HOSTILE])
    nodes = vis_nodes(page)
    assert [v["label"] for v in nodes] == HOSTILE
    assert [v["title"] for v in nodes] == [f"id {x}" for x in HOSTILE]
    for x in HOSTILE[:1] + HOSTILE[3:5]:
        assert x not in page
    assert "&amp;amp;" not in page and "innerHTML = nodeData" not in page
    assert pyvis_view.external_references(page) == []


def test_pyvis_render_is_pyvis_own_page_without_the_html_popup():
    """``render`` fills pyvis's template as ``Network.generate_html`` does, so nothing but the popup switch differs."""
    from pyvis.network import Network

    for physics in ({"stabilization": {"iterations": 150}}, {"enabled": False}):
        net = Network(height="300px", width="100%", cdn_resources="in_line", notebook=False)
        for i in range(120):
            net.add_node(i, label=str(i), title=f"node {i}")
        net.add_edge(0, 1)
        net.set_options(json.dumps({"physics": physics}))
        assert pyvis_view.render(net) == net.generate_html(notebook=False)


def test_the_pyvis_view_is_nested_in_a_frame_that_allows_scripts_only():
    page = pyvis_view.graph_html(2, [(0, 1)], labels=["<script>alert(1)</script>", "y"])
    outer = pyvis_view.sandboxed(page, 300)
    assert re.fullmatch(r'<iframe sandbox="allow-scripts" title="graph view" srcdoc="[^"<>]*" style="[^"]*"></iframe>',
                        outer)
    assert "allow-same-origin" not in outer
    assert html.unescape(re.search(r'srcdoc="([^"]*)"', outer).group(1)) == page


# ---- plotly -----------------------------------------------------------------------------------------------------------


def test_plain_escapes_exactly_once():
    assert figures.plain(HOSTILE) == ["&lt;b&gt;bold&lt;/b&gt;", "a&amp;b", 'q"uote',
                                      "&lt;script&gt;alert(1)&lt;/script&gt;",
                                      "&lt;a href='//x'&gt;link&lt;/a&gt;", "&amp;amp;"]
    assert [html.unescape(t) for t in figures.plain(HOSTILE)] == HOSTILE  # what plotly draws


def user_text_figures(text: str) -> dict[str, dict]:
    """Every figure builder that can receive user text, given ``text`` wherever it takes some."""
    pos = graphs.circular_positions(3)
    return {
        "graph labels and hover": figures.graph_figure(pos, [(0, 1)], groups=[0, 0, 1], labels=[text, "b", "c"],
                                                       hover=[f"id {text}", "b", "c"]),
        "graph values": figures.graph_figure(pos, [(0, 1)], values=[0, 1, 2], labels=[text, "b", "c"]),
        "adjacency ticks": figures.adjacency_figure(np.eye(3), labels=[text, "b", "c"]),
        "matrix axes": figures.matrix_heatmap(np.ones((3, 2)), y=[text, "b", "c"], x=[text, "d"]),
        "bar categories": figures.bar_figure([text, "b"], [1, 2]),
        "grouped bars": figures.grouped_bar_figure([text, "b"], {text: [1, 2]}),
        "bar row": figures.bar_row_figure([dict(name=text, title=text, labels=[text, "b"], values=[1, 2])]),
        "molecule": figures.molecule_figure(pos, ["C", "N", "O"], [(0, 1, "single")], labels=[text, "N", "O"]),
    }


@pytest.mark.parametrize("text", HOSTILE)
def test_user_text_reaches_every_figure_escaped_once(text):
    escaped = html.escape(text, quote=False)
    for name, fig in user_text_figures(text).items():
        spec = fig.to_dict()
        strings = [s for s in _strings(spec["data"]) + _strings({k: v for k, v in spec["layout"].items()
                                                                   if k != "template"}) if text in html.unescape(s)]
        assert strings, name
        for s in strings:
            assert escaped in s and html.unescape(s).count(text) == s.count(escaped), (name, s)
            if escaped != text:
                assert text not in s.replace(escaped, ""), (name, s)  # never raw markup


def _strings(obj) -> list[str]:
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in _strings(v)]
    if isinstance(obj, (list, tuple)):
        return [s for v in obj for s in _strings(v)]
    return []


# ---- adjacency heatmaps -----------------------------------------------------------------------------------------------


def outlines(trace: dict) -> list[tuple[list[float], list[float]]]:
    """The closed polygons of a line trace (None-separated)."""
    polys, xs, ys = [], [], []
    for x, y in zip(trace["x"], trace["y"]):
        if x is None:
            polys.append((xs, ys))
            xs, ys = [], []
        else:
            xs.append(x)
            ys.append(y)
    return polys + ([(xs, ys)] if xs else [])


@pytest.mark.parametrize("n", [1, 2, 6, 13, 20])
@pytest.mark.parametrize("kind", ["constant", "random"])
def test_adjacency_cells_and_outlines_line_up(n, kind):
    """The `none` decoder's output is about constant (every pair in an orbit alike): there every off-diagonal pair of
    a cycle's complement is wrong. Cells on 0..n-1, both ranges [-0.5, n - 0.5] (n cells, no extra row or
    column), and each outline a square centred on its wrong cell and lying inside it."""
    rng = np.random.default_rng(n)
    A = np.full((n, n), 0.41) if kind == "constant" else rng.random((n, n))
    reference = np.zeros((n, n))
    for i in range(n):
        reference[i, (i + 1) % n] = reference[(i + 1) % n, i] = 1.0 if n > 1 else 0.0
    spec = figures.adjacency_figure(A, reference=reference, height=300).to_dict()
    heat, layout = spec["data"][0], spec["layout"]
    assert heat["x"] == heat["y"] == list(range(n))
    assert len(heat["z"]) == n and all(len(row) == n for row in heat["z"])
    assert layout["xaxis"]["range"] == [-0.5, n - 0.5] and layout["yaxis"]["range"] == [n - 0.5, -0.5]
    assert layout["xaxis"]["autorange"] is False and layout["yaxis"]["autorange"] is False
    assert layout["xaxis"]["tickvals"] == layout["yaxis"]["tickvals"] == list(range(n))
    assert layout["yaxis"]["scaleanchor"] == "x"  # square cells
    wrong = {(int(i), int(j)) for i, j in np.argwhere((A >= 0.5) != (reference >= 0.5))}
    lines = [t for t in spec["data"][1:] if t.get("mode") == "lines"]
    if not wrong:
        assert not lines
        return
    assert len(spec["data"]) == 2 and len(lines) == 1
    assert "marker" not in lines[0]  # nothing sized in pixels
    centres = set()
    for xs, ys in outlines(lines[0]):
        assert len(xs) == 5 and xs[0] == xs[-1] and ys[0] == ys[-1]  # a closed square
        cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
        assert cx == pytest.approx(round(cx), abs=1e-12) and cy == pytest.approx(round(cy), abs=1e-12)
        assert max(xs) - min(xs) == pytest.approx(2 * figures.OUTLINE)
        assert max(ys) - min(ys) == pytest.approx(2 * figures.OUTLINE)
        assert cx - 0.5 < min(xs) and max(xs) < cx + 0.5 and cy - 0.5 < min(ys) and max(ys) < cy + 0.5
        centres.add((round(cy), round(cx)))  # (row i, column j)
    assert centres == wrong


# ---- label colours ----------------------------------------------------------------------------------------------------


def contrast(a: float, b: float) -> float:
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


def test_relative_luminance_is_the_wcag_formula():
    assert figures.relative_luminance("#000000") == 0 and figures.relative_luminance("#ffffff") == pytest.approx(1)
    assert figures.relative_luminance("#fff") == figures.relative_luminance("rgb(255, 255, 255)")
    assert figures.relative_luminance("#808080") == pytest.approx(0.2158605)  # (128/255 → 0.2158605 linear)
    assert figures.relative_luminance("rgba(255, 0, 0, 0.5)") == pytest.approx(0.2126)
    assert figures.LABEL_SWITCH == pytest.approx(0.1791, abs=1e-4)


VIRIDIS_ENDS = sample_colorscale("Viridis", [0.0, 1.0])


@pytest.mark.parametrize("fill", ["#000000", "#ffffff", "#440154", "#fde725", *VIRIDIS_ENDS, *figures.PALETTE,
                                  *figures.ATOM_COLORS.values(), "#9ecae1", "#cccccc"])
def test_label_colour_has_the_larger_contrast(fill):
    lum = figures.relative_luminance(fill)
    black, white = contrast(lum, 0.0), contrast(lum, 1.0)
    assert figures.label_color(fill) == ("white" if white > black else "black")


def test_label_colours_at_the_ends_of_the_scales_in_use():
    """Viridis (canonical positions, encodings): white on its dark purple end, black on its yellow end; the darkest
    orbit colours and nitrogen's blue get white; light fills get black."""
    assert [figures.label_color(c) for c in VIRIDIS_ENDS] == ["white", "black"]
    assert figures.label_color("#440154") == "white" and figures.label_color("#fde725") == "black"
    assert figures.label_color(figures.ATOM_COLORS["N"]) == "white"
    assert figures.label_color(figures.ATOM_COLORS["?"]) == "black"
    assert figures.label_color("#000") == "white" and figures.label_color("#fff") == "black"


def test_graph_and_molecule_labels_follow_their_fill():
    pos = graphs.circular_positions(5)
    values = [0.0, 1.0, 2.0, 3.0, 4.0]
    nodes = figures.graph_figure(pos, [(0, 1)], values=values).to_dict()["data"][-1]
    fills = sample_colorscale("Viridis", [v / 4 for v in values])
    assert nodes["textfont"]["color"] == [figures.label_color(f) for f in fills]
    assert nodes["textfont"]["color"][0] == "white" and nodes["textfont"]["color"][-1] == "black"
    groups = list(range(5))
    nodes = figures.graph_figure(pos, [(0, 1)], groups=groups).to_dict()["data"][-1]
    assert nodes["textfont"]["color"] == [figures.label_color(figures.PALETTE[g]) for g in groups]
    atoms = ["C", "N", "O", "F", "?"]
    mol = figures.molecule_figure(pos, atoms, []).to_dict()["data"][-1]
    assert mol["textfont"]["color"] == [figures.label_color(figures.ATOM_COLORS[a]) for a in atoms]


# ---- metric deltas ----------------------------------------------------------------------------------------------------

SIGNED = re.compile(r"^[+\-−]\d")


@pytest.mark.parametrize("page", ["home", "graph_lab", "molecule_lab"])
def test_metric_deltas_are_signed_changes_only(page):
    """st.metric draws an arrow and a colour for its delta: only a signed difference may go there ("of 15",
    "exact" or a reference value belong to the value, a caption or the help)."""
    at = open_page(page)
    assert not at.exception, [e.value for e in at.exception]
    assert at.metric, "the page shows metrics"
    for m in at.metric:
        assert m.delta is None or m.delta == "" or SIGNED.match(str(m.delta)), (m.label, m.delta)


# ---- models that fail to load -----------------------------------------------------------------------------------------


def pretrained_copy(tmp_path: Path, monkeypatch, keys: list[str]) -> tuple[Path, dict]:
    """A pretrained folder in tmp_path holding the weights of ``keys``, with the app pointed at it; the caller
    breaks what it wants in the returned manifest and the files, then calls ``write_manifest``."""
    manifest = {k: dict(SHIPPED[k]) for k in keys}
    for entry in manifest.values():
        (tmp_path / entry["file"]).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(models.PRETRAINED / entry["file"], tmp_path / entry["file"])
    monkeypatch.setattr(models, "ROOT", tmp_path)
    monkeypatch.setattr(models, "MANIFEST", tmp_path / "manifest.json")
    return tmp_path, manifest


_writes = itertools.count(1)


def write_manifest(root: Path, manifest: dict | str) -> None:
    """Write the manifest with a modification time of its own: the app re-reads the manifest when its mtime changes,
    and two writes within one clock tick of the file system would otherwise share one."""
    path = root / "manifest.json"
    path.write_text(manifest if isinstance(manifest, str) else json.dumps(manifest))
    stamp = path.stat().st_mtime_ns + next(_writes) * 1_000_000_000
    os.utime(path, ns=(stamp, stamp))


def break_hash(root: Path, entry: dict) -> Path:
    """One flipped byte: the file no longer has the sha256 the manifest records."""
    path = root / entry["file"]
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def put_nan(root: Path, entry: dict) -> Path:
    """A NaN in the first floating tensor, with the manifest's sha256 updated (so only the values are wrong)."""
    path = root / entry["file"]
    state = load_file(str(path))
    name = next(k for k, v in state.items() if v.is_floating_point())
    state[name] = state[name].clone()
    state[name].view(-1)[0] = float("nan")
    save_file(state, str(path))
    entry["sha256"] = sha256_of(path)
    return path


needs_graph_ae = pytest.mark.skipif(not all(f"graph_ae/{v}" in SHIPPED for v in ("none", "noise", "sympe")),
                                    reason="graph_ae is not shipped")
needs_ising = pytest.mark.skipif(not all(f"ising/{v}" in SHIPPED for v in ("none", "sympe")),
                                 reason="ising is not shipped")


@needs_graph_ae
def test_graph_lab_names_the_file_and_the_fault_of_weights_that_do_not_load(tmp_path, monkeypatch):
    root, manifest = pretrained_copy(tmp_path, monkeypatch, ["graph_ae/none", "graph_ae/sympe"])
    none_file = break_hash(root, manifest["graph_ae/none"])
    sympe_file = put_nan(root, manifest["graph_ae/sympe"])
    write_manifest(root, manifest)  # graph_ae/noise: genuinely not shipped

    at = open_page("graph_lab")
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.main.error]
    warnings = [w.value for w in at.main.warning]
    assert len(errors) == 2, errors
    none_error, sympe_error = errors
    assert none_error.startswith("`graph_ae/none` cannot be loaded: ")
    assert f"sha256 of {none_file} is " in none_error and manifest["graph_ae/none"]["sha256"] in none_error
    assert sympe_error.startswith("`graph_ae/sympe` cannot be loaded: ")
    assert str(sympe_file) in sympe_error and "NaN" in sympe_error
    assert not any("not shipped" in e or "could not be shown" in e for e in errors)
    assert [w for w in warnings if "not shipped" in w] == [
        "`graph_ae/noise` is not shipped: pretrained/manifest.json has no `graph_ae/noise` entry. "
        "docs/experiments/ gives the command that trains it; the page uses it as soon as it is there."]
    assert not [m for m in at.metric if m.label == "wrong pairs"]  # no panel pretends to have decoded anything
    assert any("fixed random table" in c.value for c in at.caption)  # the encoding falls back without the table


@needs_ising
def test_home_says_a_model_of_the_wrong_shape_cannot_be_loaded(tmp_path, monkeypatch):
    """ising/none's entry pointing at a file of another model: the error names it and the misfit tensors."""
    root, manifest = pretrained_copy(tmp_path, monkeypatch, ["ising/none", "ising/sympe"])
    wrong = root / manifest["ising/none"]["file"]
    shutil.copyfile(models.PRETRAINED / SHIPPED["ising/sympe"]["file"], wrong)  # sympe's file has its field v too
    manifest["ising/none"]["sha256"] = sha256_of(wrong)
    write_manifest(root, manifest)

    at = open_page("home")
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.main.error]
    assert len(errors) == 1 and errors[0].startswith("The baseline Ising model cannot be loaded: ")
    assert f"{wrong} does not fit 'ising/none'" in errors[0]
    assert "not shipped" not in " ".join(errors + [w.value for w in at.main.warning])
    assert "Ground states hit" in "\n".join(m.value for m in at.markdown)  # the sympe panel still works


def test_status_of_each_kind_of_fault(tmp_path, monkeypatch):
    """Missing file, altered file, NaN, a config that does not build, a broken manifest: each is "failed" with one
    line naming the file; a key that is not in the manifest is "not shipped"."""
    keys = [k for k in ("ising/none", "ising/noise", "ising/sympe", "ising/fixed") if k in SHIPPED]
    if len(keys) < 4:
        pytest.skip("needs the four Ising models")
    root, manifest = pretrained_copy(tmp_path, monkeypatch, keys)
    (root / manifest["ising/none"]["file"]).unlink()
    altered = break_hash(root, manifest["ising/noise"])
    nan = put_nan(root, manifest["ising/sympe"])
    manifest["ising/fixed"]["config"] = {**manifest["ising/fixed"]["config"], "no_such_option": 1}
    write_manifest(root, manifest)

    status = {v: models.status("ising", v) for v in ("none", "noise", "sympe", "fixed", "other")}
    assert {v: s.state for v, s in status.items()} == {"none": "failed", "noise": "failed", "sympe": "failed",
                                                       "fixed": "failed", "other": "not shipped"}
    assert f"{root / 'ising/none.safetensors'}" in status["none"].detail and "missing" in status["none"].detail
    assert f"sha256 of {altered}" in status["noise"].detail
    assert str(nan) in status["sympe"].detail and "NaN" in status["sympe"].detail
    assert str(root / "manifest.json") in status["fixed"].detail and "does not build" in status["fixed"].detail
    assert models.shipped_variants("ising") == []
    with pytest.raises(Exception, match="NaN"):
        models.ising_model("sympe")

    write_manifest(root, "{ not json")
    broken = models.status("ising", "noise")
    assert broken.state == "failed" and str(root / "manifest.json") in broken.detail


def test_repaired_weights_load_without_a_restart(tmp_path, monkeypatch):
    if "ising/none" not in SHIPPED:
        pytest.skip("needs ising/none")
    root, manifest = pretrained_copy(tmp_path, monkeypatch, ["ising/none"])
    write_manifest(root, manifest)
    break_hash(root, manifest["ising/none"])
    assert models.status("ising", "none").state == "failed"
    shutil.copyfile(models.PRETRAINED / manifest["ising/none"]["file"], root / manifest["ising/none"]["file"])
    assert models.status("ising", "none").ok and isinstance(models.ising_model("none"), torch.nn.Module)


def test_results_page_says_a_broken_manifest_cannot_be_read(tmp_path, monkeypatch):
    broken = tmp_path / "manifest.json"
    broken.write_text("{ not json")
    monkeypatch.setattr(models, "MANIFEST", broken)
    at = open_page("results")
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.main.error]
    assert len(errors) == 1 and errors[0].startswith("The results cannot be read: ") and str(broken) in errors[0]
    shown = " ".join(x.value for x in list(at.main.warning) + list(at.main.info))
    assert "not shipped" not in shown.lower() and "missing or empty" not in shown


def test_literal_shows_text_as_it_is():
    from app import ui

    assert ui.literal("a_b *c* <b>") == "`a_b *c* <b>`"
    assert ui.literal("x `y` z") == "``x `y` z``"
    assert ui.literal("`q`") == "`` `q` ``"
