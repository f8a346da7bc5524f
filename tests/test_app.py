"""The Streamlit app under streamlit.testing.v1.AppTest: every page renders without an exception, and its main
widgets drive the elements they should. Plus the app's pure helpers (parsing, pyvis, lattice and molecule logic)."""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from app import figures, graphs, lattice, models, molecules, pyvis_view
from backend.canonical import decimal_string
from backend.checkpoints import read_manifest
from backend.graph_io import GraphInputError
from backend.tasks import TASKS

ROOT = Path(__file__).resolve().parent.parent
ENTRY = str(ROOT / "streamlit_app.py")
PAGES = ["home", "graph_lab", "lattice_lab", "molecule_lab", "pointcloud_lab", "equivariance", "train", "results", "theory"]
SHIPPED = read_manifest()
needs_ising_sympe = pytest.mark.skipif("ising/sympe" not in SHIPPED, reason="ising/sympe is not shipped")


def open_page(page: str, **state) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=120)
    for k, v in state.items():
        at.session_state[k] = v
    at.run()  # the entry page first, as a browser would, then the page under test
    if page != "home":
        at.switch_page(f"app_pages/{page}.py")
        at.run()
    return at


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def metric(at: AppTest, label: str) -> str:
    for m in at.metric:
        if m.label == label:
            return m.value
    raise AssertionError(f"no metric {label!r} in {[m.label for m in at.metric]}")


def markdown_text(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def edge_list_bytes(edges) -> bytes:
    return "\n".join(f"{u} {v}" for u, v in edges).encode()


def cycle_edges(n: int) -> list[tuple[int, int]]:
    return [(i, (i + 1) % n) for i in range(n)]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_exception(page):
    at = open_page(page)
    assert_clean(at)
    assert at.title, "every page has a title"
    assert at.session_state["seed"] == 0


@pytest.mark.parametrize("page", PAGES)
def test_pages_say_so_when_no_model_is_shipped(page, tmp_path, monkeypatch):
    import app.models

    monkeypatch.setattr(app.models, "MANIFEST", tmp_path / "missing.json")
    at = open_page(page)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    if page in ("home", "lattice_lab", "equivariance", "graph_lab", "molecule_lab", "pointcloud_lab"):
        shown = " ".join(w.value for w in at.warning) + " ".join(i.value for i in at.info)
        assert "not shipped" in shown


@pytest.mark.parametrize("page", PAGES)
def test_a_truncated_manifest_is_one_clear_error_on_every_page(page, tmp_path, monkeypatch):
    import app.models

    broken = tmp_path / "manifest.json"
    broken.write_text(app.models.MANIFEST.read_text()[:200])
    monkeypatch.setattr(app.models, "MANIFEST", broken)
    at = open_page(page)
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.sidebar.error]
    assert len(errors) == 1 and str(broken) in errors[0] and "not a readable JSON manifest" in errors[0]
    page_text = " ".join(e.value for e in at.main.error) + " ".join(w.value for w in at.main.warning)
    assert "not shipped" not in page_text  # a load that fails is not a model that was never shipped
    if page in ("home", "lattice_lab", "graph_lab", "molecule_lab", "pointcloud_lab"):
        assert "cannot be loaded" in page_text and str(broken) in page_text


def test_presenter_mode_hides_long_text():
    normal = open_page("theory")
    presenting = open_page("theory", presenter=True)
    assert_clean(presenting)
    assert len(presenting.markdown) < len(normal.markdown)


@needs_ising_sympe
def test_home_resample_changes_the_seed_and_the_samples():
    at = open_page("home")
    assert_clean(at)
    assert metric(at, "symmetries of the input") == "512 of 1024"  # the default example: stripes
    at.button(key="home_resample").click().run()
    assert_clean(at)
    assert at.session_state["seed"] == 1
    assert "Ground states hit" in markdown_text(at)


def test_graph_lab_presets_drive_the_automorphism_group():
    at = open_page("graph_lab")
    assert_clean(at)
    assert metric(at, "|Aut(G)|") == "12"  # the default 6-cycle
    for name, order in [("Petersen graph", "120"), ("Hypercube Q_d", "48"), ("Star K_{1,n}", "120")]:
        at.selectbox(key="graph").set_value(name).run()
        assert_clean(at)
        assert metric(at, "|Aut(G)|") == order
    at.slider(key="gK").set_value(3).run()
    assert_clean(at)
    assert "Drawn automorphism s" in markdown_text(at)
    assert "verified" in markdown_text(at)


def test_graph_lab_typed_edge_list_and_its_errors():
    at = open_page("graph_lab")
    at.radio(key="source").set_value("Type").run()
    at.text_area(key="edges").set_value("a b\nb c\nc a\nc d").run()
    assert_clean(at)
    assert metric(at, "nodes") == "4" and metric(at, "|Aut(G)|") == "2"
    at.text_area(key="edges").set_value("a b c d e").run()
    assert not at.exception
    assert any("Cannot use this graph" in e.value for e in at.error)
    big = "\n".join(f"{i} {i + 1}" for i in range(40))
    at.text_area(key="edges").set_value(big).run()
    assert any("at most 30" in e.value or "30" in e.value for e in at.error)


def test_graph_lab_random_graphs_follow_their_own_seed():
    """The random graph is a function of (generator, n, p, graph seed): "Resample h" draws new samples of the same
    graph, and only the graph seed draws another graph."""
    at = open_page("graph_lab")
    at.radio(key="source").set_value("Random").run()
    at.slider(key="rn").set_value(20).run()
    assert_clean(at)
    kind = at.selectbox(key="rkind").value

    def expected_edges(graph_seed: int) -> str:
        return str(len(graphs.random_graph(kind, 20, 0.3, graph_seed).edges))

    assert metric(at, "nodes") == "20" and metric(at, "edges") == expected_edges(0)
    seed_before = at.session_state["seed"]
    at.button(key="resample_graph").click().run()
    assert_clean(at)
    assert at.session_state["seed"] != seed_before and metric(at, "edges") == expected_edges(0)
    at.number_input(key="rseed").set_value(7).run()
    assert_clean(at)
    assert metric(at, "edges") == expected_edges(7)


def upload(at: AppTest, name: str, data: bytes, timeout: float = 120) -> AppTest:
    at.radio(key="source").set_value("Upload").run()
    at.file_uploader(key="upload").set_value((name, data, "text/plain"))
    at.run(timeout=timeout)
    return at


def test_graph_lab_takes_a_2000_node_upload_and_hides_what_would_be_unreadable():
    """The 2,000-cycle: |Aut| = 4,000 (the dihedral group), the n × n heatmaps and the gallery drawings are replaced
    by their explanation and a table of verified automorphisms, and the 20-node autoencoder says why it does not run."""
    at = upload(open_page("graph_lab"), "ring.txt", edge_list_bytes(cycle_edges(2000)), timeout=60)
    assert_clean(at)
    assert metric(at, "nodes") == "2000" and metric(at, "|Aut(G)|") == "4,000"
    infos = " ".join(i.value for i in at.info)
    assert "more than 60" in infos and "heatmap (2,000 × 2,000) is hidden above 60 nodes" in infos
    assert "encoding h·v heatmap (2,000 × 8) is hidden" in infos
    keys = {c.proto.id for c in at.get("plotly_chart")}
    assert not any("fig_canon_adj" in k or "fig_enc_mat" in k or "fig_gallery" in k for k in keys)
    gallery = at.dataframe[-1].value
    assert len(gallery) == at.slider(key="gK").value and set(gallery["automorphism"]) == {"✓ verified"}
    if models.graph_ae_limit() is not None:
        assert any(f"at most {models.graph_ae_limit()} nodes; this one has 2000" in w.value for w in at.warning)
    at.button(key="resample_graph").click().run(timeout=60)
    assert_clean(at)


@pytest.mark.parametrize("data, limit", [
    (edge_list_bytes(cycle_edges(2001)), "more than 2000 nodes"),
    (edge_list_bytes([(u, v) for u in range(200) for v in range(u + 1, 200)]), "more than 10000 edges"),
    (b"0 1\n" * 300_000, "the app accepts up to 1,000,000"),
])
def test_graph_lab_refuses_an_oversize_upload_with_one_clear_error(data, limit):
    at = upload(open_page("graph_lab"), "big.txt", data, timeout=60)
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == 1 and "Cannot use this graph" in at.error[0].value and limit in at.error[0].value


@needs_ising_sympe
def test_lattice_lab_sliders_presets_and_painting():
    at = open_page("lattice_lab")
    assert_clean(at)
    assert metric(at, "|G_x| (symmetries of the input)") == "1024"
    at.select_slider(key="L").set_value(4).run()
    assert_clean(at)
    assert metric(at, "|G| = 16·L² (p4m × spin flip)") == "256"
    at.selectbox(key="preset").set_value("Stripes (rows alternate)").run()
    assert_clean(at)
    assert at.slider(key="jx").value == 1.0 and at.slider(key="jy").value == -1.0
    assert "Phase of the constant part: **stripes-horizontal**" in markdown_text(at)
    at.slider(key="K").set_value(12).run()
    assert_clean(at)
    assert any("K = 12" in s.value for s in at.subheader)
    # painting one site leaves only the symmetries that fix it (the point group around it, no spin flip)
    at.session_state["paint"] = {("h", 1, 1): 2.0}
    at.run()
    assert_clean(at)
    assert metric(at, "Painted sites and bonds") == "1"
    assert int(metric(at, "|G_x| (symmetries of the input)")) < 256


def page_verdict(at: AppTest, label: str) -> str:
    """The verdict line the Lattice lab shows under a variant's sample 1: the variants' headers are a row of columns of
    their own, and the row after it holds each variant's output in the same order."""
    columns = list(at.columns)
    headers = [i for i, c in enumerate(columns) if [m.value for m in c.markdown] == [f"**{label}**"]]
    assert len(headers) == 1, label
    row = len(TASKS["ising"].variants)
    return next(m.value for m in columns[headers[0] + row].markdown if m.value.startswith(":material/"))


@needs_ising_sympe
def test_lattice_lab_antiferromagnet_shows_the_exact_reference_and_the_backends_verdict():
    """The default input, the constant antiferromagnet at h = 0: the exact reference is the Néel energy, -2 per
    site (every bond satisfied), and each variant's verdict is the one its backend energies give, whatever the
    weights."""
    at = open_page("lattice_lab")
    assert_clean(at)
    text = markdown_text(at)
    assert "Reference ground energy per site: **-2.0000**" in text
    assert "h for sample 1" in text
    L, K, seed = at.select_slider(key="L").value, at.slider(key="K").value, at.session_state["seed"]
    J, h = lattice.build_inputs(-1.0, -1.0, 0.0, L)
    ref = lattice.reference(J, h)
    assert ref.exact and ref.energy == -2 * L * L
    for variant in models.shipped_variants("ising"):
        run = lattice.run_variant(variant, J, h, K, seed, models.manifest()[f"ising/{variant}"]["sha256"])
        assert page_verdict(at, models.label(variant)) == expected_verdict(run.energies[0], ref)


class PatternModel(torch.nn.Module):
    """A constructed Ising model for testing the page's mechanism: it outputs the spin pattern s = sign(e·v) for a
    fixed ±1 field v, moved by the sampled element e when there is one (e·v with the field odd under the spin flip,
    so the model is jointly equivariant), v itself otherwise. v = checkerboard: every draw is a Néel state; v = all
    up: a constant field, as a baseline must give on a constant input."""

    def __init__(self, pattern: np.ndarray):
        super().__init__()
        self.encoder = torch.nn.Module()
        field = torch.as_tensor(pattern, dtype=torch.float32)[None]
        self.encoder.field = torch.nn.Parameter(field, requires_grad=False)

    def forward(self, J, h, generator=None, elements=None):
        from backend.tasks.ising.model import IsingOutput

        v = self.encoder.field.expand(len(J), 1, *self.encoder.field.shape[-2:])
        return IsingOutput((v if elements is None else elements.act_sites(v, odd=True))[:, 0], elements)


def constructed_ising_models(monkeypatch) -> dict:
    """Replace the shipped Ising models by two constructed ones (the other variants are then not shipped):
    ``sympe`` the checkerboard PatternModel, ``none`` the all-up one. Returns their patterns as functions of L."""
    import app.models

    real = {k: v for k, v in app.models.manifest().items() if not k.startswith("ising/")}
    fake = {f"ising/{v}": {"config": {"variant": v}, "sha256": f"constructed-{v}-pattern", "command": "test"}
            for v in ("none", "sympe")}
    patterns = {"none": lambda L: np.ones((L, L)),
                "sympe": lambda L: (-1.0) ** np.add.outer(np.arange(L), np.arange(L))}
    monkeypatch.setattr(app.models, "manifest", lambda: {**real, **fake})
    monkeypatch.setattr(app.models, "ising_model", lambda variant, L=8: PatternModel(patterns[variant](L)))
    monkeypatch.setattr(lattice, "inference_model", lambda variant, L: PatternModel(patterns[variant](L)))
    return patterns


def energy_metrics(at: AppTest) -> list:
    return [m for m in at.metric if m.label == "energy per site"]


def chart(at: AppTest, key: str) -> dict:
    return json.loads(next(c.proto.spec for c in at.get("plotly_chart") if key in c.proto.id))


def hits_shown(at: AppTest, name: str) -> dict:
    """The Lattice lab's hit counts of one variant (or trained model), read off its panel of the coverage figure."""
    (bars,) = [t for t in chart(at, "coverage")["data"] if t["name"] == name]
    return dict(zip(bars["x"], bars["y"]))


def test_lattice_lab_shows_exactly_the_energy_gap_verdict_and_hits_of_a_constructed_model(monkeypatch):
    """The page's mechanism, independent of any trained weights: with constructed models whose spins are known, the
    page must show their sample, their energy per site, the gap to the reference and the verdict computed by hand,
    and count their hits. On the antiferromagnet (J = -1, h = 0; E = -Σ J s s' - Σ h s) the checkerboard is a
    ground state (-2 per site) and the all-up state costs +2 per site (+200%); on the ferromagnet (J = +1) the
    roles swap, so a page that did not compute its verdicts could not pass both."""
    patterns = constructed_ising_models(monkeypatch)
    at = open_page("lattice_lab")
    assert_clean(at)
    L, K = at.select_slider(key="L").value, at.slider(key="K").value
    for jx_jy, ground, above in (((-1.0, -1.0), "sympe", "none"), ((1.0, 1.0), "none", "sympe")):
        at.slider(key="jx").set_value(jx_jy[0]).run()
        at.slider(key="jy").set_value(jx_jy[1]).run()
        at.slider(key="field").set_value(0.0).run()
        assert_clean(at)
        assert "Reference ground energy per site: **-2.0000** (exact" in markdown_text(at)
        shown = {m.value: m.delta for m in energy_metrics(at)}
        assert shown == {"-2.0000": "+0.00% vs reference", "2.0000": "+200.00% vs reference"}
        assert page_verdict(at, models.label(ground)) == ":material/check_circle: a ground state"
        assert page_verdict(at, models.label(above)) == ":material/cancel: above the reference"
        for variant in ("none", "sympe"):
            spins = np.array(chart(at, f"spins_{variant}")["data"][0]["z"])
            assert np.array_equal(spins, patterns[variant](L)) or np.array_equal(spins, -patterns[variant](L))
            hits = hits_shown(at, variant)
            assert sum(hits.values()) == K and hits["not a ground state"] == (0 if variant == ground else K)
        if ground == "sympe":  # e·v = z·(-1)^(t_row + t_col)·v for the checkerboard v: the draws pick the Néel state
            J, h = lattice.build_inputs(*jx_jy, 0.0, L)
            sha = models.manifest()["ising/sympe"]["sha256"]
            run = lattice.run_variant("sympe", J, h, K, at.session_state["seed"], sha)
            same = sum(e["sign"] * (-1) ** sum(e["shift"]) == 1 for e in run.elements)
            assert hits_shown(at, "sympe") == {
                "↑↓/↓↑": same, "↓↑/↑↓": K - same, "not a ground state": 0}


def expected_verdict(energy: float, ref) -> str:
    """The verdict the page must show for a sample energy against the reference (the page's rule)."""
    gap = (energy - ref.energy) / max(abs(ref.energy), 1e-12)
    ok = abs(gap) <= 1e-9 if ref.exact else gap <= 1e-9
    return ":material/check_circle: a ground state" if ok and ref.exact else (
        ":material/check_circle: matches the reference" if ok else ":material/cancel: above the reference")


@needs_ising_sympe
def test_lattice_lab_nearby_search_never_worsens_a_sample_and_cannot_help_the_baseline():
    """0.05 per site from the stripes/polarized boundary. Mechanism, whatever the weights: the search keeps the same
    group elements and takes the lowest energy among the model's own state and its nearby answers, so it is never
    worse than the plain sample; the ground state there is striped, and the unbroken baseline can only output a
    constant spin field, so it stays above the reference with or without the search. The page shows the verdict the
    backend computes."""
    J, h = lattice.build_inputs(0.85, -1.0, -1.95, 8)
    sha = {v: models.manifest()[f"ising/{v}"]["sha256"] for v in ("sympe", "none")}
    ref = lattice.reference(J, h)
    assert ref.exact and all(len(set(g.ravel().tolist())) == 2 for g in ref.ground_states)  # striped ground states
    plain = lattice.run_variant("sympe", J, h, 4, 0, sha["sympe"])
    searched = lattice.run_variant("sympe", J, h, 4, 0, sha["sympe"], 4)
    assert (searched.energies <= plain.energies + 1e-9).all()
    assert plain.elements == searched.elements
    none = lattice.run_variant("none", J, h, 4, 0, sha["none"], 4)
    assert all(len(set(np.asarray(s).ravel().tolist())) == 1 for s in none.spins)  # constant: forced by equivariance
    assert (none.energies > ref.energy + 1e-9).all()
    at = open_page("lattice_lab")
    at.slider(key="jx").set_value(0.85).run()
    at.slider(key="jy").set_value(-1.0).run()
    at.slider(key="field").set_value(-1.95).run()
    at.slider(key="search").set_value(4).run()
    assert_clean(at)
    K, seed = at.slider(key="K").value, at.session_state["seed"]
    shown = lattice.run_variant("sympe", J, h, K, seed, sha["sympe"], 4)
    assert page_verdict(at, "SymPE") == expected_verdict(shown.energies[0], ref)
    assert page_verdict(at, models.label("none")) == ":material/cancel: above the reference"


@needs_ising_sympe
def test_lattice_lab_flags_an_exact_phase_boundary_and_offers_the_search():
    """J_y = 0 exactly between the antiferromagnet and vertical stripes: 4 two-periodic states tie, the page says
    so and offers the search; the button turns it on, the verdicts follow the backend's energies before and after,
    and the search never makes sample 1 worse."""
    at = open_page("lattice_lab")
    at.slider(key="jy").set_value(0.0).run()
    at.slider(key="field").set_value(0.1).run()
    assert_clean(at)
    assert any("On a phase boundary:** 4 of the 2-periodic states tie" in i.value for i in at.info)
    J, h = lattice.build_inputs(at.slider(key="jx").value, 0.0, 0.1, 8)
    ref, sha = lattice.reference(J, h), models.manifest()["ising/sympe"]["sha256"]
    K, seed = at.slider(key="K").value, at.session_state["seed"]
    plain = lattice.run_variant("sympe", J, h, K, seed, sha)
    assert page_verdict(at, "SymPE") == expected_verdict(plain.energies[0], ref)
    at.button(key="search_on").click().run()
    assert_clean(at)
    assert at.slider(key="search").value == 4
    searched = lattice.run_variant("sympe", J, h, K, seed, sha, 4)
    assert searched.energies[0] <= plain.energies[0] + 1e-9
    assert page_verdict(at, "SymPE") == expected_verdict(searched.energies[0], ref)
    assert not [b for b in at.button if b.key == "search_on"]
    at.slider(key="jy").set_value(-1.0).run()  # back inside the antiferromagnet: no boundary note
    assert not any("On a phase boundary" in i.value for i in at.info)


@needs_ising_sympe
def test_lattice_lab_at_L64():
    """L = 64, K = 16. G = p4m × Z2 has 16·L² elements (L² translations, 8 point elements, the spin flip). The
    constant antiferromagnet with h = 0 is fixed by all of them; a field h ≠ 0 loses the flip (it negates h): 8·L²;
    J_x ≠ J_y then also loses the point elements that swap the two bond directions (the 90° rotations and the
    diagonal mirrors): 4·L²; one painted site keeps only the 8 point elements about that site."""
    L = 64
    at = open_page("lattice_lab", L=L, K=16, search=4)
    assert_clean(at)
    assert metric(at, "|G| = 16·L² (p4m × spin flip)") == str(16 * L * L)
    assert metric(at, "|G_x| (symmetries of the input)") == str(16 * L * L)
    assert "Reference ground energy per site: **-2.0000** (exact" in markdown_text(at)
    assert lattice.SEARCH_OFF_NOTE in [c.value for c in at.caption] and at.slider(key="search").disabled
    at.button(key="resample_lattice").click().run()
    assert_clean(at)
    at.slider(key="field").set_value(0.5).run()
    assert_clean(at)
    assert metric(at, "|G_x| (symmetries of the input)") == str(8 * L * L)
    at.slider(key="jx").set_value(1.0).run()
    assert_clean(at)
    assert metric(at, "|G_x| (symmetries of the input)") == str(4 * L * L)
    at.slider(key="jx").set_value(-1.0).run()
    at.slider(key="field").set_value(0.0).run()
    at.session_state["paint"] = {("h", 1, 1): 2.0}
    at.run()
    assert_clean(at)
    assert metric(at, "|G_x| (symmetries of the input)") == "8"
    assert "upper bound" in markdown_text(at)


def test_lattice_reference_of_a_painted_L64_input_reaches_its_ground_state():
    """The antiferromagnet with h = 2 on one site: the Néel state with +1 there has both the lowest bond energy
    (-2 per site) and the lowest field energy, so the ground energy is -2·L² - 2. The bounded reference must reach
    it, within its work budget, and say that it is an upper bound."""
    L = 64
    J, h = lattice.build_inputs(-1.0, -1.0, 0.0, L, (("h", 1, 1, 2.0),))
    ref = lattice.reference(J, h)
    assert not ref.exact and ref.method.startswith("upper bound") and f"{lattice.sa_runs(L)} simulated" in ref.method
    assert ref.energy == -2 * L * L - 2
    assert lattice.sa_runs(16) == lattice.SA_RUNS and lattice.sa_runs(L) * L * L <= max(lattice.SA_SITE_RUNS, 2 * L * L)


@needs_ising_sympe
@pytest.mark.parametrize("jx, jy, hval, L, paint", [
    (-1.0, -1.0, 0.0, 8, ()), (1.0, -1.0, 0.0, 8, ()), (0.85, -1.0, -1.95, 8, ()),
    (1.0, 1.0, 0.5, 12, (("jx", 2, 3, -1.0),)), (-1.0, -1.0, 0.0, 16, (("h", 1, 1, 2.0),)),
])
def test_sympe_samples_by_the_stabilizer_equal_one_forward_pass_each(jx, jy, hval, L, paint):
    """run_variant gets the K sympe samples from one pass at γ and the stabilizer action (joint equivariance); K
    forward passes with the same draws must give the same spins."""
    import torch

    J, h = lattice.build_inputs(jx, jy, hval, L, paint)
    run = lattice.run_variant("sympe", J, h, 12, 5, models.manifest()["ising/sympe"]["sha256"])
    model = models.ising_model("sympe", L)
    Jt, ht = torch.as_tensor(J, dtype=torch.float32)[None], torch.as_tensor(h, dtype=torch.float32)[None]
    form = lattice.canonical(J, h)
    drawn = form.sample(torch.Generator().manual_seed(5), num_samples=12)[0]
    assert drawn.to_dicts() == run.elements
    with torch.inference_mode():
        logits = model(Jt.expand(12, 2, L, L), ht.expand(12, L, L), elements=drawn).logits
    assert np.array_equal(torch.where(logits >= 0, 1.0, -1.0).double().numpy(), run.spins)
    passes = lattice.run_variant("sympe", J, h, 12, 5, models.manifest()["ising/sympe"]["sha256"], per_sample_passes=True)
    assert passes.elements == run.elements and np.array_equal(passes.spins, run.spins)


FORWARD = "Forward noising of a known molecule (no model)"
needs_qm9 = pytest.mark.skipif("qm9/sympe" not in SHIPPED or "qm9/none" not in SHIPPED, reason="qm9 is not shipped")


def test_molecule_lab_player_steps():
    at = open_page("molecule_lab", mol_source=FORWARD)
    assert_clean(at)
    if not any(k.startswith("qm9/") for k in SHIPPED):
        assert any("not shipped" in w.value for w in at.warning)
    assert metric(at, "|Aut| of the noisy coloured graph") == "720"  # fully masked benzene: 6!
    at.button(key="mol_last").click().run()
    assert_clean(at)
    assert metric(at, "|Aut| of the noisy coloured graph") == "6"  # kekulé benzene: bond orders leave 6 automorphisms
    at.button(key="mol_prev").click().run()
    assert at.session_state["mol_frame"] == at.select_slider(key="mol_T").value - 1


@needs_qm9
def test_molecule_lab_animates_a_trained_model_and_compares_variants():
    at = open_page("molecule_lab")
    assert_clean(at)
    assert at.radio(key="mol_source").value.startswith("Trained")
    assert at.selectbox(key="mol_variant").value == "sympe"
    assert int(metric(at, "|Aut| of the noisy coloured graph").replace(",", "")) >= 1
    at.button(key="mol_last").click().run()
    assert_clean(at)
    assert at.session_state["mol_frame"] == SHIPPED["qm9/sympe"]["config"]["T"]  # saved: every step from T to 0
    assert "Generated molecule: `" in markdown_text(at) or "not a valid molecule" in markdown_text(at)
    at.button(key="mol_resample").click().run()  # saved mode: the next saved trajectory, same seed
    assert_clean(at)
    assert at.select_slider(key="mol_saved").value == 1 and at.session_state["seed"] == 0
    assert at.session_state["mol_frame"] == 0
    at.radio(key="mol_mode").set_value("live").run()
    assert_clean(at)
    at.select_slider(key="mol_steps").set_value(10).run()
    assert_clean(at)
    assert "of the 11 states have a nontrivial automorphism group" in " ".join(c.value for c in at.caption)
    at.button(key="mol_resample").click().run()  # live mode: a fresh draw from the next seed
    assert_clean(at)
    assert at.session_state["seed"] == 1
    at.button(key="mol_compare").click().run()
    assert_clean(at)
    rows = at.dataframe[0].value.to_dict("records")
    assert {r["variant"] for r in rows} == {k.split("/")[1] for k in SHIPPED if k.startswith("qm9/")}
    assert all(0 <= r["valid %"] <= 100 for r in rows)


@needs_ising_sympe
def test_equivariance_page_live_checker():
    at = open_page("equivariance")
    assert_clean(at)
    rows = at.dataframe[0].value.to_dict("records")
    sympe = next(r for r in rows if r["variant"] == "sympe")
    assert sympe["verdict"] == "✓ equivariant"
    assert float(sympe["max |error|"]) < 1e-9
    at.toggle(key="eq_flip").set_value(True).run()
    assert_clean(at)
    assert "spin flip" in markdown_text(at)
    at.radio(key="eq_mode").set_value("Graph").run()
    assert_clean(at)
    rows = at.dataframe[0].value.to_dict("records")
    assert rows[0]["verdict"] == "✓ equivariant"


def test_results_page_shows_manifest_numbers_and_commands():
    at = open_page("results")
    assert_clean(at)
    shown = json.dumps([d.value.to_dict("records") for d in at.dataframe], default=str)
    for key, entry in SHIPPED.items():
        assert entry["command"] in shown, key


def test_ising_summary_rows_carry_the_manifest_search_numbers():
    from backend import results as R

    entries = {k.split("/")[1]: v for k, v in SHIPPED.items() if k.startswith("ising/") and "metrics" in v}
    if "sympe" not in entries:
        pytest.skip("Ising metrics are not shipped")
    rows = {r["variant"]: r for r in R.task_results("ising").summary_rows(entries)}
    m = entries["sympe"]["metrics"]
    assert rows["sympe"]["worst phase %"] == round(100 * min(r["exact_rate"] for r in m["constant"]["per_phase"].values()), 1)
    if "search" in m:
        key = f"exact % with search (P = {m['search']['proposals']})"
        assert rows["sympe"][key] == round(100 * m["search"]["constant"]["exact_rate"], 1)
        assert rows["none"]["worst phase % with search"] == 0.0  # the unbroken baseline stays unbroken


def test_qm9_rows_carry_the_paired_difference_and_the_mixture_gain():
    from backend import results as R

    entries = {k.split("/")[1]: v for k, v in SHIPPED.items() if k.startswith("qm9/") and "metrics" in v}
    if "sympe" not in entries or "none" not in entries:
        pytest.skip("QM9 metrics are not shipped")
    rows = {r["variant"]: r for r in R.task_results("qm9").summary_rows(entries)}
    m = entries["sympe"]["metrics"]
    assert rows["none"]["NLL − none, paired"] == ""
    assert rows["sympe"]["NLL − none, paired"] == f"{m['test_nll_minus_none']:+.3f} ± {m['test_nll_minus_none_sem']:.3f}"
    assert rows["sympe"]["mixture gain (nats / molecule)"] == m["test_mixture_gain"] >= 0


def test_theory_page_live_examples():
    at = open_page("theory")
    assert_clean(at)
    assert metric(at, "|Aut| of the 4×4 torus graph") == "384"
    assert metric(at, "p4m elements fixing a constant field") == "128"
    at.slider(key="th_n").set_value(9).run()
    assert_clean(at)
    assert any("Spread across nodes" in c.value for c in at.caption)


# ----------------------------------------------------------------------------------------------------------------------
# Pure helpers


def test_pyvis_view_is_offline_and_escapes_labels_once():
    """The ids reach vis-network's data exactly as given (it draws labels on a canvas and sets tooltips as text),
    and the page's markup never contains them unescaped."""
    ids = ["a&b", "<script>alert(1)</script>", 'c"d']
    page = pyvis_view.graph_html(3, [(0, 1), (1, 2)], labels=ids)
    assert pyvis_view.external_references(page) == []
    assert "<script>alert(1)</script>" not in page
    nodes = json.loads(re.search(r"nodes = new vis\.DataSet\((\[.*?\])\);", page, re.DOTALL).group(1))
    assert [n["label"] for n in nodes] == ids and [n["title"] for n in nodes] == ids
    assert "vis.DataSet" in page  # vis-network is inlined
    assert '"physics": {"stabilization"' in page
    fixed = pyvis_view.graph_html(3, [(0, 1)], labels=["a", "b", "c"], positions=np.eye(3, 2), show_labels=False)
    assert '"physics": {"enabled": false}' in fixed and '"x": ' in fixed and '"label": "a"' not in fixed


def test_node_labels_contrast_with_their_fill():
    """WCAG contrast: white text on the dark end of Viridis and on black, black on the light end and on white; the
    choice always has the larger contrast ratio."""
    def luminance(rgb):
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (x / 255 for x in rgb))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    for rgb in [(0, 0, 0), (255, 255, 255), (68, 1, 84), (253, 231, 37), (33, 145, 140), (99, 110, 250), (239, 85, 59)]:
        fill = "#%02x%02x%02x" % rgb
        lum = luminance(rgb)
        black, white = (lum + 0.05) / 0.05, 1.05 / (lum + 0.05)
        assert figures.label_color(fill) == ("white" if white > black else "black")
        assert figures.label_color("rgb(%d, %d, %d)" % rgb) == figures.label_color(fill)
    pos = np.array([[0.0, 0.0], [1.0, 0.0]])
    colors = figures.graph_figure(pos, [(0, 1)], values=[0.0, 1.0]).to_dict()["data"][-1]["textfont"]["color"]
    assert colors == ["white", "black"]  # Viridis: dark purple at the low end, yellow at the high end


def test_node_ids_reach_plotly_as_text_not_markup():
    pos = np.array([[0.0, 0.0], [1.0, 0.0]])
    fig = figures.graph_figure(pos, [(0, 1)], labels=["<b>a</b>", "x&y"], hover=["<a href='//evil'>n</a>", "ok"])
    nodes = fig.to_dict()["data"][-1]
    assert nodes["text"] == ["&lt;b&gt;a&lt;/b&gt;", "x&amp;y"]
    assert nodes["hovertext"][0] == "&lt;a href='//evil'&gt;n&lt;/a&gt;"


def test_the_pyvis_view_runs_in_a_frame_that_allows_scripts_only():
    page = pyvis_view.graph_html(2, [(0, 1)], labels=["<b>x</b>", "y"])
    outer = pyvis_view.sandboxed(page, 300)
    assert re.fullmatch(r'<iframe sandbox="allow-scripts" title="graph view" srcdoc="[^"<>]*" style="[^"]*"></iframe>', outer)
    assert html.unescape(re.search(r'srcdoc="([^"]*)"', outer).group(1)) == page


def test_large_graph_layout_keeps_a_cycle_round():
    """Pivot MDS above STRESS_MAX_NODES: the 2,000-cycle comes out as a ring (every node about equally far from the
    centre) with all positions distinct; the leaves of a star, which pivot MDS puts on one point, are spread apart;
    a disconnected graph gets finite positions."""
    pos = graphs.layout(2000, tuple(sorted((min(u, v), max(u, v)) for u, v in cycle_edges(2000))))
    radius = np.linalg.norm(pos - pos.mean(0), axis=1)
    assert radius.std() / radius.mean() < 0.1 and len(np.unique(pos.round(6), axis=0)) == 2000
    star = graphs.layout(500, tuple((0, i) for i in range(1, 500)))
    assert len(np.unique(star.round(6), axis=0)) == 500
    split = graphs.layout(300, tuple((i, i + 1) for i in range(149)) + tuple((i, i + 1) for i in range(150, 299)))
    assert np.isfinite(split).all() and np.abs(split).max() == pytest.approx(1.0)


def test_text_helpers_for_large_graphs():
    import math

    assert graphs.count_text(4000) == "4,000" and graphs.count_text(10**16 - 1) == "≈ 1.00 × 10^16"
    assert graphs.count_text(math.factorial(1999)) == "≈ 1.66 × 10^5,732"
    big = math.factorial(1999)
    digits = decimal_string(big)
    assert len(digits) == 5733 and int(digits[:4000]) == big // 10 ** 1733  # int() of ≤ 4,300 digits is allowed
    ring = np.roll(np.arange(2000), 1)
    text = graphs.cycle_notation(ring, 80)
    assert len(text) < 130 and text.endswith("… (1 cycle moving 2000 nodes)")
    assert graphs.cycle_notation(np.array([1, 0, 3, 2, 5, 4]), 12) == "(0 1) (2 3) … (3 cycles moving 6 nodes)"
    assert graphs.cycle_notation(np.array([1, 0, 3, 2])) == "(0 1) (2 3)"
    assert graphs.orbits_text(((0, 1), tuple(range(2, 100)))) == "{0, 1}; {2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, … (98 nodes)}"


def test_upload_validation_messages():
    with pytest.raises(GraphInputError, match="unknown file extension"):
        graphs.parse_upload("graph.docx", b"0 1")
    with pytest.raises(GraphInputError, match="too large.*1,000,000"):
        graphs.parse_upload("graph.txt", b"0 1\n" * 300_000)
    with pytest.raises(GraphInputError):
        graphs.parse_upload("graph.json", b"{not json")
    with pytest.raises(GraphInputError, match="more than 2000 nodes"):
        graphs.parse_upload("graph.txt", edge_list_bytes(cycle_edges(2001)))
    dense = [(u, v) for u in range(200) for v in range(u + 1, 200)]  # 19,900 edges on 200 nodes
    with pytest.raises(GraphInputError, match="more than 10000 edges"):
        graphs.parse_upload("graph.txt", edge_list_bytes(dense))
    assert graphs.parse_upload("ring.txt", edge_list_bytes(cycle_edges(2000))).n == graphs.UPLOAD_MAX_NODES
    g = graphs.parse_upload("ring.g6", b"EhEG")  # graph6 of a 6-cycle
    assert g.n == 6 and len(g.edges) == 6


def test_edge_toggle_and_automorphism_helpers():
    ring = graphs.preset_graph("Cycle C_n", 6)
    path = graphs.toggle_edges(ring, frozenset({(0, 5)}))
    assert len(path.edges) == 5
    assert graphs.toggle_edges(path, frozenset({(5, 0)})).edges == ring.edges
    data = graphs.analyze(6, tuple(ring.edges))
    samples = graphs.kernel_samples(6, tuple(ring.edges), 8, 0)
    for h in samples:
        s = graphs.automorphism_of_sample(data.order, h)
        assert graphs.is_automorphism(s, tuple(ring.edges))
    assert graphs.cycle_notation(np.array([1, 2, 0, 3])) == "(0 1 2)"
    assert graphs.cycle_notation(np.arange(4)) == "identity"


def test_cyclic_form_is_sympys():
    from sympy.combinatorics import Permutation as SympyPermutation

    rng = np.random.default_rng(0)
    for n in (1, 2, 5, 12, 40):
        for _ in range(20):
            perm = rng.permutation(n)
            assert graphs.cyclic_form(perm) == SympyPermutation(perm.tolist()).cyclic_form


def test_lattice_helpers():
    J, h = lattice.build_inputs(-1.0, -1.0, 0.0, 4, (("h", 0, 0, 2.0), ("jy", 1, 2, 0.5)))
    assert h[0, 0] == 2.0 and J[1, 1, 2] == 0.5 and not lattice.is_constant(J, h)
    J, h = lattice.build_inputs(-1.0, -1.0, 0.0, 4)
    ref = lattice.reference(J, h)
    assert ref.exact and ref.energy == pytest.approx(-32.0) and len(ref.ground_cells) == 2


def test_lattice_lab_computing_first_leaves_a_failure_to_its_section(monkeypatch):
    """ui.precompute fills the caches before the figures are drawn; a computation that fails there must
    still be reported by its own section's guard, and the rest of the page drawn."""
    def broken(J, h):
        raise RuntimeError("no reference today")

    monkeypatch.setattr(lattice, "reference", broken)
    at = open_page("lattice_lab")
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("The reference energy could not be shown") and "today" in errors[0]
    assert metric(at, "|G_x| (symmetries of the input)") == str(16 * 8 * 8)


@pytest.mark.parametrize("jx, jy, hval, L, paint", [
    (-1.0, -1.0, 0.0, 4, ()), (1.0, -0.5, 0.0, 4, ()), (-1.0, -1.0, 0.3, 6, ()),
    (-1.0, -1.0, 0.0, 4, (("h", 1, 2, 2.0),)), (-1.0, -1.0, 0.0, 4, (("h", 0, 0, 1.5), ("jx", 0, 0, 2.0))),
])
def test_lattice_stabilizer_table_counts_the_stabilizer_by_point_element_and_sign(jx, jy, hval, L, paint):
    """Each row of the table, the order, the translations and the summary's kinds are read off the stabilizer mask
    one point element and sign at a time (the definition), against the canonical form's mask."""
    J, h = lattice.build_inputs(jx, jy, hval, L, paint)
    stab, form = lattice.stabilizer(J, h), lattice.canonical(J, h)
    elems, mask = form.group.elements(), form.stabilizer_mask[0]

    def count(point=None, sign=None) -> int:
        sel = mask.clone()
        if point is not None:
            sel &= elems.point == point
        if sign is not None:
            sel &= elems.sign == sign
        return int(sel.sum())

    assert stab.order == count() and stab.translations == count(0, 1) and stab.group_order == 16 * L * L
    for k, row in enumerate(stab.table):
        assert row == {"point-group element": lattice.POINT_NAMES[k],
                       "translations with spins kept": f"{count(k, 1)} / {L * L}",
                       "translations with the spin flip": f"{count(k, -1)} / {L * L}"}
    assert ("rotations (" in stab.summary) == any(count(k) for k in (1, 2, 3))
    assert ("kinds of reflection" in stab.summary) == any(count(k) for k in (4, 5, 6, 7))
    assert ("the spin flip" in stab.summary) == bool(count(sign=-1))


def test_molecule_depiction_is_rdkit_svg_or_none():
    svg = molecules.depiction_svg("c1ccccc1")
    assert svg is not None and "<svg" in svg and svg.count("<path") >= 6
    assert molecules.depiction_svg("not a smiles") is None


def test_molecule_trajectory_ends_fully_masked():
    steps = molecules.trajectory("Benzene", "absorbing", 10, 0)
    assert steps[0].aut_order == 6  # kekulé benzene: rotations by 120° and three reflections
    assert steps[-1].aut_order == 720 and set(steps[-1].atoms) == {molecules.MASK}


def every_builders_figure() -> list:
    """One figure from each builder of app/figures.py (the options that add traces or layout switched on)."""
    pos = graphs.circular_positions(6)
    edges = [(i, (i + 1) % 6) for i in range(6)]
    J, h = lattice.build_inputs(-1.0, -1.0, 0.5, 4, (("h", 0, 0, 2.0),))
    grid, phases = lattice.phase_grid(0.0, 5)
    return [
        figures.graph_figure(pos, edges, groups=[0, 0, 1, 1, 2, 2], hover=list("abcdef"), selected=[1],
                             edge_styles=["normal", "missing", "extra"] * 2),
        figures.graph_figure(pos, edges, values=np.arange(6.0), labels=list("abcdef")),
        figures.graph_figure(graphs.circular_positions(200), cycle_edges(200), groups=[0] * 200, show_labels=False),
        figures.adjacency_figure(np.eye(6), reference=np.zeros((6, 6))),
        figures.matrix_heatmap(np.random.default_rng(0).normal(size=(6, 3)), x=list("abc"), y=list("uvwxyz")),
        figures.lattice_input_figure(J, h, marked=[("h", 0, 0)]),
        figures.lattice_input_figure(*lattice.build_inputs(-1.0, 1.0, 0.0, figures.WEBGL_FROM_L), marked=[("jx", 1, 2)]),
        figures.spins_figure(np.ones((4, 4)), show_scale=True),
        figures.spins_figure(np.ones((32, 32))),
        figures.spins_row_figure([np.ones((4, 4)), -np.ones((4, 4)), np.zeros((4, 4))], title="three"),
        figures.graph_grid_figure(pos, edges, [[0, 1, 2, 3, 4, 5], [5, 4, 3, 2, 1, 0]], titles=["a", "b"], per_row=4),
        figures.field_figure(np.zeros((4, 4))),
        figures.phase_diagram_figure(grid, phases, (0.0, 0.0), h=0.0),
        figures.bar_figure(["a", "b"], [1, 2], reference=1.5, colors=["#000", "#111"]),
        figures.bar_row_figure([dict(name="a", title="a title long enough to wrap", labels=["x", "y"], values=[1, 2],
                                     colors=["#000", "#111"], reference=1.5), dict(name="b", labels=["x"], values=[3])],
                               y_title="samples"),
        figures.grouped_bar_figure(["a", "b"], {"x": [1, 2], "y": [2, 1]}),
        figures.curves_figure({"none": ([0, 1, 2], [1.0, 0.5, 0.2]), "sympe": ([1], [3.0])}, x_title="step",
                              y_title="loss", y_range=(0, 3)),
        figures.curves_figure({"long": (list(range(30)), [0.0] * 30)}),
        figures.molecule_figure(pos, list("CCNCO?"), [(0, 1, "single"), (1, 2, "double"), (2, 3, "triple"), (3, 4, "?")]),
    ]


@pytest.mark.parametrize("K, per_row", [(1, 4), (3, 3), (6, 4), (16, 4), (7, 3)])
def test_graph_grid_draws_each_numbering_in_its_own_cell(K, per_row):
    """Drawing k of ``graph_grid_figure`` is the graph on axes k + 1 with node i coloured and labelled by
    numbering k's entry i; the cells' domains lie in the figure, are pairwise disjoint and are laid out row by row."""
    n = 7
    pos = graphs.circular_positions(n)
    edges = [(i, (i + 1) % n) for i in range(n)]
    rng = np.random.default_rng(K)
    numberings = [rng.permutation(n) for _ in range(K)]
    spec = figures.graph_grid_figure(pos, edges, numberings, titles=[f"s{k}" for k in range(K)],
                                     per_row=per_row).to_dict()
    nodes = [t for t in spec["data"] if t["name"] == "nodes"]
    assert len(nodes) == K
    boxes = []
    for k, (trace, numbering) in enumerate(zip(nodes, numberings)):
        suffix = "" if k == 0 else str(k + 1)
        assert (trace["xaxis"], trace["yaxis"]) == (f"x{suffix}", f"y{suffix}")
        assert trace["marker"]["color"] == numbering.tolist() and trace["text"] == [str(p) for p in numbering]
        assert (trace["marker"]["cmin"], trace["marker"]["cmax"]) == (0, n - 1)
        edge_trace = next(t for t in spec["data"] if t["name"] == "normal" and t["xaxis"] == f"x{suffix}")
        assert len(edge_trace["x"]) == 3 * len(edges)
        x0, x1 = spec["layout"][f"xaxis{suffix}"]["domain"]
        y0, y1 = spec["layout"][f"yaxis{suffix}"]["domain"]
        assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
        row, col = divmod(k, per_row)
        assert col == int(x0 * per_row) and row == int((1 - y1) * -(-K // per_row))
        boxes.append((x0, x1, y0, y1))
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert a[1] <= b[0] or b[1] <= a[0] or a[3] <= b[2] or b[3] <= a[2]
    assert [a["text"] for a in spec["layout"]["annotations"]] == [f"s{k}" for k in range(K)]


@pytest.mark.parametrize("L", [4, figures.WEBGL_FROM_L - 2, figures.WEBGL_FROM_L, 64])
def test_the_painter_has_one_marker_per_site_and_bond_and_outlines_only_what_is_marked_from_webgl_on(L):
    """Every site and bond is a selectable marker whose customdata names it and whose colour is its value, in SVG
    below WEBGL_FROM_L and in WebGL from there on (sites first there); in WebGL only the marked cells are outlined."""
    rng = np.random.default_rng(L)
    J, h = rng.normal(size=(2, L, L)), rng.normal(size=(L, L))
    marked = [("h", 0, 1), ("jy", L - 1, 2)]
    data = [t for t in figures.lattice_input_figure(J, h, marked=marked).to_dict()["data"] if "customdata" in t]
    webgl = L >= figures.WEBGL_FROM_L
    assert {t["type"] for t in data} == {"scattergl" if webgl else "scatter"}
    assert data[0 if webgl else -1]["customdata"][0][0] == "h"
    values = {"h": h, "jx": J[0], "jy": J[1]}
    for trace in data:
        kinds = {c[0] for c in trace["customdata"]}
        assert len(kinds) == 1 and len(trace["customdata"]) == L * L
        (kind,) = kinds
        assert [trace["marker"]["color"][k] for k in range(L * L)] == [values[kind][i, j] for _, i, j in trace["customdata"]]
        widths = trace["marker"]["line"]["width"]
        outlined = {(kind, i, j) for (_, i, j), w in zip(trace["customdata"], widths) if w > 0}
        expected = {m for m in marked if m[0] == kind}
        assert outlined == expected if webgl else outlined >= expected


@pytest.mark.parametrize("L", [4, figures.CELLS_IN_DATA_UNITS_UP_TO_L])
def test_small_lattices_draw_cells_in_lattice_units_so_they_cannot_overlap_at_any_width(L):
    """Up to CELLS_IN_DATA_UNITS_UP_TO_L every site and bond is a filled outline around its (transparent) marker,
    sized in lattice spacings, so no two cells overlap whatever the plot's size in pixels; its fill is the colour
    plotly.js gives the value on the diverging scale (its ends and its grey middle), and only the marked cells have
    the thick outline. Outlines take no hover, so hover, clicks and selections stay with the markers."""
    J, h = np.zeros((2, L, L)), np.zeros((L, L))
    J[0, 0, 0], J[1, 0, 0], h[1, 1] = -2.0, 2.0, 1.0
    marked = {("h", 1, 1), ("jy", 0, 0)}
    data = figures.lattice_input_figure(J, h, marked=sorted(marked)).to_dict()["data"]
    markers, outlines = [t for t in data if "customdata" in t], [t for t in data if "customdata" not in t]
    assert len(markers) == 3 and all(t["marker"]["opacity"] == 0 for t in markers)
    assert all(t["hoverinfo"] == "skip" and t["fill"] == "toself" for t in outlines)
    cells = []  # (centre x, centre y, half width, fill, outline width)
    for t in outlines:
        xs, ys = np.array(t["x"], dtype=float), np.array(t["y"], dtype=float)
        for part in np.split(np.arange(len(xs)), np.flatnonzero(np.isnan(xs)) + 1):
            px, py = xs[part][~np.isnan(xs[part])], ys[part][~np.isnan(ys[part])]
            if len(px):
                cells.append(((px.max() + px.min()) / 2, (py.max() + py.min()) / 2, (px.max() - px.min()) / 2,
                              t["fillcolor"].replace(" ", ""), t["line"]["width"]))
    centres = {(kind, i, j): (x, y) for t in markers for x, y, (kind, i, j) in zip(t["x"], t["y"], t["customdata"])}
    drawn = {(round(x, 9), round(y, 9)): (r, fill, width) for x, y, r, fill, width in cells}
    assert len(cells) == 3 * L * L and sorted(drawn) == sorted((round(x, 9), round(y, 9)) for x, y in centres.values())
    for a, (xa, ya, ra, _, _) in enumerate(cells):
        for xb, yb, rb, _, _ in cells[a + 1:]:
            assert max(abs(xa - xb), abs(ya - yb)) > ra + rb
    at = {cell: drawn[(round(x, 9), round(y, 9))] for cell, (x, y) in centres.items()}
    assert (at[("jx", 0, 0)][1], at[("jy", 0, 0)][1], at[("h", 0, 0)][1]) == ("rgb(5,10,172)", "rgb(178,10,28)",
                                                                              "rgb(190,190,190)")
    assert {cell for cell, (_, _, width) in at.items() if width == 3} == marked
    n = figures.CELLS_IN_DATA_UNITS_UP_TO_L + 2
    larger = figures.lattice_input_figure(np.zeros((2, n, n)), np.zeros((n, n))).to_dict()["data"]
    assert all("customdata" in t for t in larger)


def test_bar_labels_that_read_as_numbers_stay_categories_in_order():
    """The Theory page's orderings ("0 1 2 3") and node numbers must not land on a numeric axis."""
    labels = ["0 1 2 3", "1 0 3 2", "12", "3"]
    figs = [figures.bar_figure(labels, [1, 2, 3, 4], reference=2.5),
            figures.grouped_bar_figure(labels, {"a": [1, 2, 3, 4]}),
            figures.bar_row_figure([dict(name="a", labels=labels, values=[1, 2, 3, 4])])]
    for fig in figs:
        spec = fig.to_dict()
        assert spec["layout"]["xaxis"]["type"] == "category"
        assert spec["data"][0]["x"] == labels


def test_every_figure_builder_passes_plotly_validation(monkeypatch):
    """The builders skip plotly's validation for speed; here plotly checks every property once."""
    import plotly.graph_objects as go

    monkeypatch.setattr(figures, "VALIDATE", True)
    for fig in every_builders_figure():
        go.Figure(fig.to_dict())  # raises on any invalid property


def test_graph_lab_and_equivariance_page_work_with_any_autoencoder_weights(monkeypatch):
    """With untrained models of the real class in place of the shipped ones, the decoded panels render and the
    equivariance page still proves the sympe autoencoder equivariant (it holds for every weight)."""
    import torch

    import app.models
    from backend.tasks.graph_ae.model import GraphAE, GraphAEConfig

    real = app.models.manifest()
    fake = {f"graph_ae/{v}": {"config": {"n_max": 20, "variant": v}, "sha256": f"untrained-{v}", "command": "test"}
            for v in ("none", "noise", "sympe")}
    made = {}

    real_model = app.models.model

    def model(experiment, variant):
        if experiment != "graph_ae":
            return real_model(experiment, variant)
        if variant not in made:
            with torch.random.fork_rng():
                torch.manual_seed(0)
                made[variant] = GraphAE(GraphAEConfig(variant=variant, n_max=20)).eval()
        return made[variant]

    monkeypatch.setattr(app.models, "manifest", lambda: {**real, **fake})
    monkeypatch.setattr(app.models, "model", model)
    at = open_page("graph_lab")
    assert_clean(at)
    assert sum(m.label == "wrong pairs" for m in at.metric) == 3
    column = "decoded_k vs t·decoded_1 (max diff)"
    gallery = next(d.value for d in at.dataframe if column in d.value.columns)
    assert len(gallery) == at.slider(key="gK").value
    assert all(float(x) < 1e-4 for x in gallery[column])  # joint equivariance holds for every weight
    at.selectbox(key="graph").set_value("Petersen graph").run()
    assert_clean(at)
    at.switch_page("app_pages/equivariance.py").run()
    at.radio(key="eq_mode").set_value("Graph").run()
    assert_clean(at)
    rows = at.dataframe[0].value.to_dict("records")
    assert next(r for r in rows if r["function"] == "autoencoder sympe")["verdict"] == "✓ equivariant"


def test_node_clicks_toggle_edges_once_per_selection_and_reset_with_the_graph():
    state: dict = {}
    path = graphs.parse_typed("0 1\n1 2\n2 3")

    def click(node):
        return {"selection": {"points": [{"customdata": node}]}}

    assert graphs.apply_node_clicks(path, state, None).edges == [(0, 1), (1, 2), (2, 3)]
    graphs.apply_node_clicks(path, state, click(0))
    assert state["pending"] == 0
    closed = graphs.apply_node_clicks(path, state, click(3))
    assert (0, 3) in closed.edges and state["pending"] is None
    assert graphs.apply_node_clicks(path, state, click(3)).edges == closed.edges  # the same selection on a rerun
    graphs.apply_node_clicks(path, state, click(1))
    graphs.apply_node_clicks(path, state, click(1))  # a rerun: still pending
    assert state["pending"] == 1
    graphs.apply_node_clicks(path, state, {"selection": {"points": []}})  # plotly deselects on a second click ...
    assert graphs.apply_node_clicks(path, state, click(1)).edges == closed.edges and state["pending"] is None  # ... cancel
    graphs.apply_node_clicks(path, state, click(2))
    assert (1, 2) not in graphs.apply_node_clicks(path, state, click(1)).edges  # an existing edge is removed
    other = graphs.parse_typed("0 1")
    assert graphs.apply_node_clicks(other, state, click(1)).edges == [(0, 1)] and state["pending"] == 1
