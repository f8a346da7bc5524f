"""The Point-cloud lab under AppTest: every preset's point group, invariance under the rotate-and-reflect control,
the baseline keeping the input's symmetry (forced by equivariance, whatever the weights), the live equivariance
check, URL state, presenter mode, the export, and one clear error line for each bad upload; plus the figure
builders under plotly's validation. Properties only: nothing here depends on what the trained weights output."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app import pointcloud
from app_charts import charts
from backend.checkpoints import read_manifest
from backend.pointcloud_io import PointCloudInputError

ENTRY = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
PAGE = "app_pages/pointcloud_lab.py"
SHIPPED = all(f"pointcloud/{v}" in read_manifest() for v in pointcloud.VARIANTS)
needs_models = pytest.mark.skipif(not SHIPPED, reason="the point-cloud models are not shipped")
EXPECTED = {"3-gon": ("D3h", "12"), "4-gon": ("D4h", "16"), "6-gon": ("D6h", "24"), "8-gon": ("D8h", "32"),
            "tetrahedron": ("Td", "24"), "cube": ("Oh", "48"), "octahedron": ("Oh", "48"),
            "benzene ring (carbons)": ("D6h", "24"), "benzene (carbons and hydrogens)": ("D6h", "24"),
            "carbon dioxide (linear)": ("D∞h", "∞"), "generic cloud": ("C1", "1")}


def open_lab(**query) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=120)
    at.query_params.update({k: str(v) for k, v in query.items()})
    at.run()
    at.switch_page(PAGE).run()
    return at


def group(at: AppTest) -> tuple[str, str]:
    values = {m.label: m.value for m in at.metric}
    return values["Point group"], values["Order |G_x|"]


def clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def texts(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown] + [c.value for c in at.caption]


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.radio(key="pc_source").set_value("Upload").run()
    at.file_uploader(key="pc_upload").set_value((name, data, "application/octet-stream")).run()
    return at


# ---- presets, groups, the transform -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", pointcloud.PRESETS)
def test_every_preset_renders_with_its_point_group(name):
    at = open_lab()
    at.selectbox(key="pc_preset").set_value(name).run()
    clean(at)
    assert group(at) == EXPECTED.get(name, group(at))
    assert {"pc_input_fig", "pc_frames_fig"} <= set(charts(at))  # the cloud with its frame, the sampled frames


def test_every_preset_has_an_expected_group():
    missing = set(pointcloud.PRESETS) - set(EXPECTED) - {"5-gon", "7-gon"}
    assert not missing, missing


@pytest.mark.parametrize("name", ["cube", "6-gon", "carbon dioxide (linear)", "benzene (carbons and hydrogens)"])
def test_rotating_and_reflecting_the_input_changes_neither_group_nor_canonical_cloud(name):
    at = open_lab(pc_preset=name)
    before = group(at), at.dataframe[0].value.round(6).values.tolist()
    at.slider(key="pc_alpha").set_value(35).run()
    at.slider(key="pc_beta").set_value(70).run()
    at.slider(key="pc_gamma").set_value(-120).run()
    at.checkbox(key="pc_mirror").check().run()
    clean(at)
    assert (group(at), at.dataframe[0].value.round(6).values.tolist()) == before
    assert any(t.startswith(":material/check_circle: **Before the transform:**") for t in texts(at))


def test_the_transform_is_orthogonal_and_the_mirror_reverses_orientation():
    r = pointcloud.transform(30, 60, -45, False)
    m = pointcloud.transform(30, 60, -45, True)
    assert np.allclose(r @ r.T, np.eye(3)) and math.isclose(np.linalg.det(r), 1.0)
    assert np.allclose(m @ m.T, np.eye(3)) and math.isclose(np.linalg.det(m), -1.0)


def test_the_sampled_frames_lie_in_the_inversion_kernel():
    for name in ("cube", "5-gon", "carbon dioxide (linear)"):
        cloud, types = pointcloud.moved(pointcloud.preset(name)[0], pointcloud.transform(20, 40, 60, True)), None
        summary = pointcloud.analyse(cloud, types, 1e-6)
        frames = pointcloud.kernel_frames(cloud, types, 1e-6, 16, 3)
        assert frames.shape == (16, 3, 3)
        assert np.allclose(frames @ frames.transpose(0, 2, 1), np.eye(3))
        assert pointcloud.kernel_check(cloud, summary, frames) < 1e-9


@pytest.mark.parametrize("name", pointcloud.PRESETS)
def test_the_symmetry_defect_is_zero_on_the_input_and_positive_on_every_degenerate_target(name):
    rotation = pointcloud.transform(15, 75, -40, True)
    cloud = pointcloud.moved(pointcloud.preset(name)[0], rotation)
    assert pointcloud.symmetry_defects(cloud, 1e-6, np.asarray([cloud]))[0] < 1e-12
    if name in pointcloud.FAMILIES:
        targets = pointcloud.family_targets(name, pointcloud.as_key(rotation))
        defects = pointcloud.symmetry_defects(cloud, 1e-6, np.asarray(cloud) + targets)
        assert len(targets) == 1 or min(defects) > 0.05  # a target breaks the symmetry (several targets)
        assert len(targets) > 1 or defects[0] < 1e-12  # ...and a unique target keeps it


def test_the_url_sets_the_preset_the_transform_and_k():
    at = open_lab(pc_preset="octahedron", pc_alpha=30, pc_mirror="true", pc_K=4)
    clean(at)
    assert at.selectbox(key="pc_preset").value == "octahedron"
    assert at.slider(key="pc_alpha").value == 30 and at.checkbox(key="pc_mirror").value
    assert at.slider(key="pc_K").value == 4
    assert group(at) == EXPECTED["octahedron"]


def test_presenter_mode_hides_the_long_text_and_keeps_the_panels():
    at = open_lab(presenter="true", pc_preset="cube")
    clean(at)
    assert not any(t.startswith("A symmetric shape in 3D") for t in texts(at))
    assert group(at) == EXPECTED["cube"]


# ---- the models -------------------------------------------------------------------------------------------------------


@needs_models
@pytest.mark.parametrize("name", ["3-gon", "4-gon", "tetrahedron", "cube", "benzene (carbons and hydrogens)",
                                  "carbon dioxide (linear)"])
def test_the_baseline_keeps_every_symmetry_of_the_input_and_hits_no_target(name):
    """Forced by equivariance: a deterministic equivariant map sends a G_x-fixed input to a G_x-fixed output, which is
    equally far from every degenerate target, so it is within a quarter of their separation of none of them."""
    at = open_lab(pc_preset=name, pc_alpha=25, pc_beta=50)
    clean(at)
    all_texts = texts(at)
    start = all_texts.index("**none (equivariant baseline)**")
    end = all_texts.index("**noise injection**")
    none_texts = all_texts[start:end]
    assert any(t.startswith(":material/lock: **Keeps every symmetry of the input**") for t in none_texts), none_texts
    if name in pointcloud.FAMILIES:
        assert any("**0 of 8** draws hit a target" in t for t in none_texts), none_texts
    cloud = pointcloud.moved(pointcloud.preset(name)[0], pointcloud.transform(25, 50, 0, False))
    run = pointcloud.predict(cloud, 1e-6, "none", 8, 0, pointcloud.model_status("none").sha256)
    assert max(run["defects"]) < pointcloud.KEPT_TOL


@needs_models
@pytest.mark.parametrize("g", ["random", "control"])
def test_the_live_check_passes_for_the_equivariant_variants(g):
    at = open_lab(pc_preset="3-gon", pc_alpha=40, pc_mirror="true", pc_g=g)
    clean(at)
    table = at.table[0].value
    assert list(table["variant"]) == list(pointcloud.VARIANTS)
    for variant, error, verdict in zip(table["variant"], table["max error"], table["equivariant"]):
        if variant == "fixed":
            assert verdict == "no (by design)"
        else:
            assert verdict == "yes" and float(error) < 1e-9


@needs_models
def test_the_equivariance_check_runs_on_copies_and_leaves_the_cached_models_alone():
    import torch

    from app import models

    before = {v: next(models.model("pointcloud", v).parameters()).dtype for v in pointcloud.VARIANTS}
    shas = tuple((v, pointcloud.model_status(v).sha256) for v in pointcloud.VARIANTS)
    result = pointcloud.equivariance_errors(pointcloud.preset("cube")[0], 1e-6, 7, shas,
                                            pointcloud.as_key(pointcloud.transform(10, 20, 30, True)))
    assert result["det"] < 0
    assert all(result["errors"][v] < 1e-9 for v in ("none", "noise", "sympe"))
    assert {v: next(models.model("pointcloud", v).parameters()).dtype for v in pointcloud.VARIANTS} == before
    assert set(before.values()) == {torch.float32}


TRANSPORT_PRESETS = ["4-gon", "tetrahedron", "cube", "benzene (carbons and hydrogens)", "carbon dioxide (linear)",
                     "generic cloud"]
TRANSPORT_SEEDS = [0, 5, 1234567, 2**31 + 11]


def one_by_one(outputs: np.ndarray) -> list:
    return [pointcloud.output_group(out) for out in outputs]


@needs_models
@pytest.mark.parametrize("name", TRANSPORT_PRESETS)
def test_sympe_output_groups_transported_from_draw_1_are_each_draws_own_in_float64(name):
    """y_k = f(x, s_k h_1) = s_k·y_1 (re-indexed) for s_k = h_k h_1ᵀ in G_x: in float64 each output is the rigid
    image of draw 1 to rounding, and its own analysis gives draw 1's group, which is what the transport returns."""
    import torch

    from app import models

    model = models.float64_copy("pointcloud", "sympe")
    cloud = pointcloud.moved(pointcloud.preset(name)[0], pointcloud.transform(25, 60, -30, True))
    form = pointcloud._form(cloud, None, 1e-6)
    x = torch.tensor(cloud, dtype=torch.float64).reshape(1, -1, 3).expand(8, -1, 3)
    mask = torch.ones(8, len(cloud), dtype=torch.bool)
    for seed in TRANSPORT_SEEDS:
        frames = form.sample(8, torch.Generator().manual_seed(seed)).matrix
        with torch.inference_mode():
            outputs = (x + model(x, mask, frames=frames)).numpy()
        centre, h = form.centroid.numpy(), frames.numpy()
        images = np.einsum("kij,nj->kni", h @ h[0].T, outputs[0] - centre)
        for image, out in zip(images, outputs):  # the same point set: each point of one has its twin in the other
            gaps = np.linalg.norm(image[:, None] - (out - centre)[None], axis=-1)
            assert max(gaps.min(0).max(), gaps.min(1).max()) < 1e-9
        assert pointcloud.output_groups(outputs, centre, h) == one_by_one(outputs)


@needs_models
@pytest.mark.parametrize("name", TRANSPORT_PRESETS)
def test_the_app_s_sympe_groups_are_each_draws_own_analysis(name):
    """The page's path (float32 model, groups transported from draw 1) against every output analysed on its own."""
    cloud = pointcloud.moved(pointcloud.preset(name)[0], pointcloud.transform(-40, 110, 15, False))
    sha = pointcloud.model_status("sympe").sha256
    for seed in TRANSPORT_SEEDS:
        run = pointcloud.predict(cloud, 1e-6, "sympe", 16, seed, sha)
        assert run["groups"] == one_by_one(np.asarray(cloud) + run["displacements"])


@needs_models
def test_a_draw_that_is_not_the_image_of_draw_1_is_analysed_on_its_own():
    cloud = pointcloud.preset("cube")[0]
    run = pointcloud.predict(cloud, 1e-6, "sympe", 6, 3, pointcloud.model_status("sympe").sha256)
    outputs = np.asarray(cloud) + run["displacements"]
    outputs[4, 0] += 0.3  # one point of draw 5 moved: no longer s_5·y_1
    centre = np.asarray(cloud).mean(0)
    groups = pointcloud.output_groups(outputs, centre, run["frames"])
    assert groups == one_by_one(outputs) and groups[4] != groups[0]
    assert pointcloud.output_groups(outputs[[0, 4]], centre, run["frames"][[1, 4]]) == one_by_one(outputs[[0, 4]])


@needs_models
@pytest.mark.parametrize("variant", ["none", "noise", "sympe"])
def test_output_groups_shared_between_poses_are_each_poses_own_analysis(variant):
    """f(R·x, R h) = R·f(x, h) with the same draws: a rotated or reflected input's outputs are those of the base
    moved by R, so their groups are shared between poses; each pose's are still its outputs' own."""
    base = pointcloud.preset("cube")[0]
    sha = pointcloud.model_status(variant).sha256
    for seed in TRANSPORT_SEEDS[:2]:
        for angles in ((0, 0, 0, False), (35, 0, 0, False), (70, 45, -20, True)):
            rotation = pointcloud.transform(*angles)
            cloud = pointcloud.moved(base, rotation)
            run = pointcloud.predict(cloud, 1e-6, variant, 16, seed, sha, (base, pointcloud.as_key(rotation)))
            assert run["groups"] == one_by_one(np.asarray(cloud) + run["displacements"])


@needs_models
def test_groups_stored_for_a_pose_are_not_reused_for_outputs_that_are_not_their_image(monkeypatch):
    """The shared groups are checked against the outputs they were found for: outputs from other draws (here another
    seed's, offered under this seed's key) are analysed on their own, every one of them."""
    base = pointcloud.preset("tetrahedron")[0]
    rotation = pointcloud.transform(30, 0, 0, False)
    cloud, pose = pointcloud.moved(base, rotation), (base, pointcloud.as_key(rotation))
    sha = pointcloud.model_status("noise").sha256
    stored = pointcloud.predict(cloud, 1e-6, "noise", 16, 41, sha, pose)
    other = np.asarray(cloud) + pointcloud.predict(cloud, 1e-6, "noise", 16, 42, sha)["displacements"]
    analysed, alone = [], pointcloud.output_group
    monkeypatch.setattr(pointcloud, "output_group", lambda out: analysed.append(out) or alone(out))
    groups = pointcloud._output_groups(cloud, 1e-6, "noise", 16, 41, sha, other, None, pose)
    monkeypatch.undo()
    assert len(analysed) == 16 and groups == one_by_one(other)
    assert stored["groups"] == one_by_one(np.asarray(cloud) + stored["displacements"])


@needs_models
@pytest.mark.parametrize("variant", ["none", "fixed"])
def test_a_deterministic_variant_s_cached_output_is_the_same_for_every_seed(variant):
    """``none`` and ``fixed`` draw nothing, so f(x) in the equivariance check does not depend on the seed."""
    import torch

    from app import models

    cloud = pointcloud.moved(pointcloud.preset("3-gon")[0], pointcloud.transform(40, 0, 0, True))
    model = models.float64_copy("pointcloud", variant)
    x = torch.tensor(cloud, dtype=torch.float64).reshape(1, -1, 3)
    cached = pointcloud._deterministic_output(cloud, variant, pointcloud.model_status(variant).sha256)
    for seed in (0, 9):
        with torch.inference_mode():
            y = model(x, torch.ones(1, len(cloud), dtype=torch.bool), generator=torch.Generator().manual_seed(seed))
        assert y.numpy().tobytes() == cached.tobytes()


def test_the_page_says_not_shipped_when_the_manifest_lacks_the_models(tmp_path, monkeypatch):
    import app.models

    monkeypatch.setattr(app.models, "MANIFEST", tmp_path / "missing.json")
    at = open_lab()
    clean(at)
    assert any("not shipped" in w.value for w in at.warning)
    assert any(all(f"`pointcloud/{v}`" in t for v in pointcloud.VARIANTS) for t in texts(at))
    assert group(at) == EXPECTED["3-gon"]  # the group, the frame and the kernel need no model
    assert at.get("download_button")


@needs_models
def test_a_model_that_fails_to_load_is_named_with_its_fault_not_called_unshipped(tmp_path, monkeypatch):
    import app.models
    import backend.tasks.pointcloud.model as pointcloud_model
    from backend.checkpoints import CheckpointError

    manifest = read_manifest()
    manifest.pop("pointcloud/noise")
    manifest["pointcloud/fixed"] = {**manifest["pointcloud/fixed"], "sha256": "0" * 64}  # a fresh cache key
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    monkeypatch.setattr(app.models, "MANIFEST", path)
    real = pointcloud_model.load_pointcloud_model

    def load(variant, *args, **kwargs):
        if variant == "fixed":
            raise CheckpointError("pointcloud/fixed.safetensors: sha256 mismatch")
        return real(variant, *args, **kwargs)

    monkeypatch.setattr(pointcloud_model, "load_pointcloud_model", load)
    at = open_lab(pc_preset="cube")
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == ["`pointcloud/fixed` cannot be loaded: pointcloud/fixed.safetensors: sha256 mismatch"]
    assert [w.value for w in at.warning] == ["`pointcloud/noise` is not shipped yet."]
    assert pointcloud.model_status("fixed").state == "failed"


# ---- uploads ----------------------------------------------------------------------------------------------------------

TOO_MANY = ("%d\n\n" % (pointcloud.UPLOAD_LIMIT + 1) + "".join(f"C {i} 0 0\n" for i in range(pointcloud.UPLOAD_LIMIT + 1)))
BAD_UPLOADS = [
    ("nan.xyz", b"2\n\nC 0 0 0\nC 1 0 nan\n", "finite"),
    ("inf.json", b'{"points": [[0, 0, 0], [1, 0, 1e999]]}', "finite"),
    ("four.xyz", b"1\n\nC 0 0 0 5\n", "columns"),
    ("three.xyz", b"1\n\nC 0 0\n", "columns"),
    ("four.json", b'{"points": [[0, 0, 0, 1]]}', "[x, y, z]"),
    ("big.xyz", TOO_MANY.encode(), str(pointcloud.UPLOAD_LIMIT)),
    ("empty.json", b'{"points": []}', "no points"),
    ("key.json", b'{"points": [[0, 0, 1]], "colour": 2}', "unknown key"),
    ("same.xyz", b"2\n\nC 0 0 0\nC 0 0 0\n", "coincide"),
]


@pytest.mark.parametrize("name, data, words", BAD_UPLOADS, ids=[b[0] for b in BAD_UPLOADS])
def test_a_bad_upload_is_exactly_one_error_line_naming_the_fault(name, data, words):
    at = upload(open_lab(), name, data)
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert len(errors) == 1, errors
    assert words in errors[0].replace("\\", "") and "\n" not in errors[0]
    assert not at.metric  # nothing is drawn for a cloud that was refused


def test_a_good_upload_is_analysed_and_its_types_are_escaped_in_the_figures():
    data = json.dumps({"points": [[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0]],
                       "types": ["<b>X</b>", "<b>X</b>", "N", "N"]}).encode()
    at = upload(open_lab(), "square.json", data)
    clean(at)
    assert group(at) == ("D2h", "8")  # the types break the square's D4h
    traces = charts(at)["pc_input_fig"]["data"]
    shown = [t["name"] for t in traces] + [x for t in traces for x in t.get("text", [])]
    assert "&lt;b&gt;X&lt;/b&gt;" in shown and not any("<b>" in x for x in shown)


def test_a_single_point_has_all_of_o3_and_no_model_run():
    at = upload(open_lab(), "one.xyz", b"1\n\nC 0 0 0\n")
    clean(at)
    assert group(at) == ("O(3)", "∞")


def test_parse_upload_messages_are_one_line_and_name_the_file():
    for name, data, words in BAD_UPLOADS[:-1]:
        with pytest.raises(PointCloudInputError) as err:
            pointcloud.parse_upload(data, name)
        assert words in str(err.value) and name in str(err.value) and "\n" not in str(err.value)


# ---- export and figures -----------------------------------------------------------------------------------------------


def test_the_export_holds_the_input_group_frames_and_every_variant():
    cloud, types = pointcloud.preset("benzene (carbons and hydrogens)")
    summary = pointcloud.analyse(cloud, types, 1e-6)
    frames = pointcloud.kernel_frames(cloud, types, 1e-6, 3, 0)
    statuses = pointcloud.model_statuses()
    results = {v: pointcloud.predict(cloud, 1e-6, v, 3, 0, s.sha256) for v, s in statuses.items() if s.state == "ok"}
    data = json.loads(pointcloud.export_json({"K": 3}, cloud, types, summary, frames, statuses, results, None))
    assert data["point_group"] == {"name": "D6h", "kind": "finite", "order": 24, "rotations": 12, "improper": 12,
                                   "inversion": True}
    assert data["types"] == list(types) and len(data["points"]) == 12 and np.asarray(data["sampled_frames"]).shape == (3, 3, 3)
    assert set(data["outputs"]) == set(pointcloud.VARIANTS)
    for variant, out in data["outputs"].items():
        if out["status"] == "ok":
            assert np.asarray(out["displacements"]).shape == (3, 12, 3)
    linear = pointcloud.preset("carbon dioxide (linear)")[0]
    data = json.loads(pointcloud.export_json({}, linear, None, pointcloud.analyse(linear, None, 1e-6),
                                             pointcloud.kernel_frames(linear, None, 1e-6, 2, 0), statuses, {}, None))
    assert data["point_group"]["order"] is None and data["point_group"]["name"] == "D∞h"


def test_the_figure_builders_pass_plotly_validation():
    import plotly.graph_objects as go

    for name in ("cube", "benzene (carbons and hydrogens)", "carbon dioxide (linear)"):
        cloud, types = pointcloud.preset(name)
        summary = pointcloud.analyse(cloud, types, 1e-6)
        frames = pointcloud.kernel_frames(cloud, types, 1e-6, 16, 0)
        n = len(cloud)
        for fig in (pointcloud.cloud_figure(cloud, types, summary, "t"), pointcloud.frames_figure(cloud, summary, frames),
                    pointcloud.output_figure(cloud, np.full((n, 3), 0.1), "draw 1", np.full((n, 3), -0.1))):
            go.Figure(data=fig.spec["data"], layout=fig.spec["layout"])
