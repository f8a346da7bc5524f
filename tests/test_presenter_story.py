"""The presenter's story row (ui.story) under AppTest: in presenter mode the Graph, Lattice, Point-cloud and Molecule
labs, Equivariance, Theory and Results draw it (the input, the baseline's answer and SymPE's samples, or the page's
key picture) from the same computations as their sections, each figure valid for plotly; in normal mode no page
draws it. What the figures show is checked against properties computed from the figures' data (the baseline's
output symmetric, SymPE's samples not), not against the shipped weights' exact outputs. Home's first row is its
story (the browser test reads it). The browser test (tests/e2e/test_presenter.py) checks that the row lies wholly
on the first screen."""
from __future__ import annotations

import networkx as nx
import numpy as np
import plotly.graph_objects as go
import pytest

from app import lattice
from app_charts import charts, element_key, is_chart
from test_app import SHIPPED, assert_clean, open_page

STORY = {  # page: the story's figures (key suffixes), given what is shipped
    "graph_lab": ["input", "none-1", "sympe-1", "sympe-2"],
    "lattice_lab": ["input", "none-1", "sympe-1", "sympe-2", "sympe-3"],
    "pointcloud_lab": ["input", "none-1", "sympe-1", "sympe-2"],
    "molecule_lab": ["noise", "late", "molecule"],
    "equivariance": ["x", "gx", "law"],
    "theory": ["orbit", "equivariant", "sympe"],
    "results": ["headline"],
}
NEEDS = {  # page: the models its STORY needs
    "graph_lab": {"graph_ae/none", "graph_ae/sympe"},
    "lattice_lab": {"ising/none", "ising/sympe"},
    "pointcloud_lab": {"pointcloud/none", "pointcloud/sympe"},
    "equivariance": {"ising/sympe"},
}
FORWARD = "Forward noising of a known molecule (no model)"


def story(at) -> dict[str, dict]:
    """The story's figures by name (their key without the ``story_`` prefix), as plotly specs."""
    return {key.removeprefix("story_"): spec for key, spec in charts(at).items() if key.startswith("story_")}


@pytest.mark.parametrize("page", list(STORY))
def test_presenter_mode_draws_the_story_and_normal_mode_does_not(page):
    if not NEEDS.get(page, set()) <= set(SHIPPED):
        pytest.skip(f"{sorted(NEEDS[page])} are not all shipped")
    presenting = open_page(page, presenter=True)
    assert_clean(presenting)
    figures = story(presenting)
    assert sorted(figures) == sorted(STORY[page])
    for spec in figures.values():
        go.Figure(spec)  # plotly validates every property (the builders skip it for speed)
    normal = open_page(page)
    assert_clean(normal)
    assert story(normal) == {}


def chart_positions(at) -> dict[str, tuple[int, ...]]:
    """Each keyed plotly chart's position in the page (the child indices from the main block down), by key."""
    found = {}

    def walk(node, path):
        for index, child in sorted(getattr(node, "children", {}).items()):
            if is_chart(child):
                found[element_key(child)] = path + (index,)
            walk(child, path + (index,))

    walk(at.main, ())
    return found


@pytest.mark.parametrize("page", ["home", "graph_lab", "lattice_lab", "pointcloud_lab", "molecule_lab", "equivariance",
                                  "theory", "results"])
def test_the_presenter_mode_switch_moves_no_figure(page):
    """A figure drawn in both modes sits at the same position in both (the story row and hidden explanations keep
    their places): the browser matches elements by position, so a moved figure is drawn again from scratch on the
    switch instead of updated."""
    normal, presenting = chart_positions(open_page(page)), chart_positions(open_page(page, presenter=True))
    shared = set(normal) & set(presenting)
    assert shared
    assert {key: normal[key] for key in shared} == {key: presenting[key] for key in shared}


def test_the_lattice_story_shows_the_stuck_baseline_and_the_pages_samples():
    """On the constant antiferromagnet every site is alike, so the equivariant baseline answers one spin everywhere
    (a theorem, whatever its weights); SymPE's figures are the page's own samples 1-3 (section 2's cached run)."""
    if not {"ising/none", "ising/sympe"} <= set(SHIPPED):
        pytest.skip("ising/none and ising/sympe are not both shipped")
    at = open_page("lattice_lab", presenter=True, jx=-1.0, jy=-1.0, field=0.0)
    figures = story(at)
    spins = {name: np.array(spec["data"][0]["z"]) for name, spec in figures.items() if name != "input"}
    assert np.unique(spins["none-1"]).size == 1
    J, h = lattice.build_inputs(-1.0, -1.0, 0.0, 8)
    K, seed = at.session_state["K"], at.session_state["seed"]
    run = lattice.run_variant("sympe", J, h, K, seed, SHIPPED["ising/sympe"]["sha256"])
    for k in (1, 2, 3):
        assert np.array_equal(spins[f"sympe-{k}"], run.spins[k - 1])


def test_the_theory_story_shows_equal_then_differing_outputs():
    figures = story(open_page("theory", presenter=True))
    equal, broken = (np.array(figures[name]["data"][0]["y"]) for name in ("equivariant", "sympe"))
    assert np.ptp(equal) == 0 and np.ptp(broken) > 0


def drawn_graph(spec: dict) -> tuple[list, set[tuple[int, int]], list]:
    """A ``figures.graph_figure`` read back: node colours, the drawn edges (i < j) of the "normal" and "extra"
    traces (what the graph has; "missing" edges are not in it) and the "missing" ones, found by their endpoints'
    coordinates."""
    nodes = next(t for t in spec["data"] if t["name"] == "nodes")
    at = {(x, y): i for i, (x, y) in enumerate(zip(nodes["x"], nodes["y"]))}
    traced = {"normal": set(), "extra": set(), "missing": set()}
    for t in spec["data"]:
        if t["name"] in traced:
            for k in range(0, len(t["x"]), 3):  # segments u, v, gap
                u, v = at[t["x"][k], t["y"][k]], at[t["x"][k + 1], t["y"][k + 1]]
                traced[t["name"]].add((min(u, v), max(u, v)))
    return nodes["marker"]["color"], traced["normal"] | traced["extra"], sorted(traced["missing"])


def automorphisms(n: int, edges) -> list[dict]:
    G = nx.Graph()
    G.add_nodes_from(range(n))
    G.add_edges_from(edges)
    return list(nx.algorithms.isomorphism.GraphMatcher(G, G).isomorphisms_iter())


@pytest.mark.parametrize("graph", ["Cycle C_n", "Ring with substituents"])
def test_the_graph_story_shows_a_symmetric_baseline_and_asymmetric_samples(graph):
    if not NEEDS["graph_lab"] <= set(SHIPPED):
        pytest.skip("graph_ae/none and graph_ae/sympe are not both shipped")
    figures = story(open_page("graph_lab", presenter=True, graph=graph))
    orbit_colours, edges, _ = drawn_graph(figures["input"])
    n = len(orbit_colours)
    auts = automorphisms(n, edges)
    assert len(auts) > 1
    colours, decoded, _ = drawn_graph(figures["none-1"])
    assert colours == orbit_colours
    for s in auts:  # the baseline's decoded graph has every symmetry of the input
        assert {tuple(sorted((s[u], s[v]))) for u, v in decoded} == decoded
    positions = []
    for k in (1, 2):
        values, _, _ = drawn_graph(figures[f"sympe-{k}"])
        assert sorted(values) == list(range(n))  # every node told apart: no symmetry left
        positions.append(values)
    assert positions[0] != positions[1]
    for s in auts:  # the two samples differ by an automorphism of the input
        if all(positions[1][s[i]] == positions[0][i] for i in range(n)):
            break
    else:
        pytest.fail("the two samples are not related by an automorphism")


def test_the_molecule_story_goes_from_symmetric_noise_to_the_molecule():
    from app import molecules as M

    at = open_page("molecule_lab", presenter=True, mol_source=FORWARD, seed=0)
    assert_clean(at)
    figures = story(at)
    name, process, T = at.session_state["mol"], at.session_state["mol_process"], at.session_state["mol_T"]
    steps = M.trajectory(name, process, T, 0)
    noise, late, molecule = M.story_steps(steps)
    assert (noise.t, molecule.t) == (T, 0) and T > late.t > 0
    assert late.aut_order > molecule.aut_order
    assert noise.aut_order > 1
    for key, step in zip(("noise", "late", "molecule"), (noise, late, molecule)):
        atoms = next(t for t in figures[key]["data"] if t["name"] == "atoms")
        assert atoms["text"] == list(step.atoms)
    assert next(t for t in figures["molecule"]["data"] if t["name"] == "atoms")["text"] == list(M.MOLECULES[name][0])


def test_the_equivariance_story_shows_the_same_law_moved_by_g():
    from app import equivariance as eq

    at = open_page("equivariance", presenter=True, eq_mode="Graph")
    assert_clean(at)
    figures = story(at)
    assert sorted(figures) == ["gx", "law", "x"]
    law = {t["name"]: np.array(t["y"]) for t in figures["law"]["data"]}
    x, gx, back = (law[k] for k in
                   ("x: node at position 0", "g·x: node at position 0", "stabilized: g⁻¹ of that node"))
    assert x.sum() == gx.sum() == back.sum() > 0
    orbit = set(np.flatnonzero(x))  # position 0 holds one orbit of x's nodes, whichever h is drawn
    assert set(np.flatnonzero(back)) == orbit
    colours, _, _ = drawn_graph(figures["x"])
    assert len({colours[i] for i in orbit}) == 1
    g = eq.relabelling(len(x), int(at.session_state["eq_g"]))
    assert set(np.flatnonzero(gx)) == {int(g[i]) for i in orbit}  # g·x's samples name the nodes g moved them to


def test_the_graph_story_without_the_autoencoder_shows_the_input_and_kernel_samples():
    at = open_page("graph_lab", presenter=True, source="Random", rn=30)  # more nodes than the autoencoder takes
    assert_clean(at)
    figures = story(at)
    assert sorted(figures) == ["input", "sympe-1", "sympe-2"]
    samples = [drawn_graph(figures[f"sympe-{k}"])[0] for k in (1, 2)]
    assert all(sorted(values) == list(range(30)) for values in samples)
