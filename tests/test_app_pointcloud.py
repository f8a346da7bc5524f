"""The Point-cloud lab under AppTest: every preset's point group, invariance under the rotate-and-reflect control,
the baseline keeping the input's symmetry, the live equivariance check, and clear errors for bad uploads."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app import pointcloud
from backend.checkpoints import read_manifest
from backend.pointcloud_io import PointCloudInputError

ENTRY = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
SHIPPED = all(f"pointcloud/{v}" in read_manifest() for v in ("none", "sympe"))
EXPECTED = {"3-gon": ("D3h", "12"), "6-gon": ("D6h", "24"), "tetrahedron": ("Td", "24"), "cube": ("Oh", "48"),
            "octahedron": ("Oh", "48"), "benzene ring (carbons)": ("D6h", "24"), "carbon dioxide (linear)": ("D∞h", "∞"),
            "generic cloud": ("C1", "1")}


def open_lab(**query) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=120)
    at.query_params.update({k: str(v) for k, v in query.items()})
    at.run()
    at.switch_page("app_pages/pointcloud_lab.py").run()
    return at


def metrics(at: AppTest) -> tuple[str, str]:
    values = {m.label: m.value for m in at.metric}
    return values["Schoenflies symbol"], values["Order |G_x|"]


def clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


@pytest.mark.parametrize("name", pointcloud.PRESETS)
def test_every_preset_renders_with_its_point_group(name):
    at = open_lab()
    at.selectbox(key="pc_preset").set_value(name).run()
    clean(at)
    if name in EXPECTED:
        assert metrics(at) == EXPECTED[name]


@pytest.mark.parametrize("name", ["cube", "6-gon", "carbon dioxide (linear)"])
def test_rotating_and_reflecting_the_input_changes_neither_group_nor_canonical_cloud(name):
    at = open_lab()
    at.selectbox(key="pc_preset").set_value(name).run()
    before = metrics(at), at.dataframe[0].value.round(6).values.tolist()
    at.slider(key="pc_alpha").set_value(35).run()
    at.slider(key="pc_beta").set_value(70).run()
    at.checkbox(key="pc_mirror").check().run()
    clean(at)
    assert (metrics(at), at.dataframe[0].value.round(6).values.tolist()) == before


@pytest.mark.skipif(not SHIPPED, reason="the point-cloud models are not shipped")
def test_the_baseline_output_keeps_the_input_group_and_the_check_passes_for_equivariant_variants():
    """Forced by equivariance whatever the weights: `none` maps the triangle to a D3h cloud, and f(g·x, g·h) =
    g·f(x, h) holds to rounding for every variant except `fixed`."""
    at = open_lab(pc_preset="3-gon")
    clean(at)
    captions = [c.value for c in at.caption]
    none_caption = next(c for c in captions if c.startswith("Point groups of the"))
    assert none_caption.endswith(": D3h")
    table = at.table[0].value
    for variant, error, verdict in zip(table["variant"], table["max error"], table["equivariant"]):
        assert verdict == ("no (by design)" if variant == "fixed" else "yes")
        assert (float(error) > 1e-6) == (variant == "fixed")


def test_the_page_says_so_when_no_model_is_shipped(tmp_path, monkeypatch):
    import app.models

    monkeypatch.setattr(app.models, "MANIFEST", tmp_path / "missing.json")
    at = open_lab()
    clean(at)
    assert any("not shipped" in w.value for w in at.warning)
    assert metrics(at) == EXPECTED["3-gon"]  # the group needs no model


@pytest.mark.parametrize("data, name, words", [
    (b"2\n\nC 0 0 0\nC 1 0 nan\n", "bad.xyz", "finite"),
    (b"1\n\nC 0 0 0 5\n", "bad.xyz", "columns"),
    (b'{"points": [[0, 0, 1]], "colour": 2}', "bad.json", "unknown key"),
    (("%d\n\n" % (pointcloud.UPLOAD_LIMIT + 1) + "".join(f"C {i} 0 0\n" for i in range(pointcloud.UPLOAD_LIMIT + 1))).encode(),
     "big.xyz", str(pointcloud.UPLOAD_LIMIT)),
])
def test_bad_uploads_are_one_line_errors(data, name, words):
    with pytest.raises(PointCloudInputError) as err:
        pointcloud.parse_upload(data, name)
    assert words in str(err.value) and name in str(err.value) and "\n" not in str(err.value)


def test_the_transform_is_orthogonal_and_the_mirror_reverses_orientation():
    import numpy as np

    r = pointcloud.transform(30, 60, -45, False)
    m = pointcloud.transform(30, 60, -45, True)
    assert np.allclose(r @ r.T, np.eye(3)) and math.isclose(np.linalg.det(r), 1.0)
    assert np.allclose(m @ m.T, np.eye(3)) and math.isclose(np.linalg.det(m), -1.0)
