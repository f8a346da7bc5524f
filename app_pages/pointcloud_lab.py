"""Point-cloud lab: symmetry breaking in 3D under O(3), every shipped variant side by side."""
import json

import numpy as np
import streamlit as st

from app import models, pointcloud, sidebar, ui
from backend.pointcloud import PointCloudError
from backend.pointcloud_io import PointCloudInputError

st.title("Point-cloud lab: breaking O(3) symmetry")
ui.explain(
    "A symmetric shape in 3D (a polygon, a tetrahedron, a cube, a benzene ring, a linear molecule) is fixed by a "
    "group of rotations and reflections. An O(3)-equivariant network (here an EGNN) can only map it to an equally "
    "symmetric output: asked to distort a square into a rectangle, it cannot choose which way. SymPE canonicalizes "
    "the cloud (a canonical frame γ), draws a frame h = s·γ with s uniform on the symmetry group, and feeds every "
    "point's coordinates in that frame to the network. Each draw picks one of the degenerate distortions; over many "
    "draws they are hit evenly."
)

# ---- input ------------------------------------------------------------------------------------------------------------
controls, view = st.columns([1, 1.6])
with controls:
    source = st.radio("Input", ["Preset", "Upload"], horizontal=True, key="pc_source", bind="query-params")
    cloud = types = None
    if source == "Preset":
        name = st.selectbox("Shape", pointcloud.PRESETS, key="pc_preset", bind="query-params")
        cloud, types = pointcloud.preset(name)
    else:
        name = None
        upload = st.file_uploader("An XYZ file or JSON {\"points\": [[x, y, z], ...], \"types\": [...]}",
                                  type=["xyz", "json"], key="pc_upload")
        if upload is not None:
            try:
                cloud, types = pointcloud.parse_upload(upload.getvalue(), upload.name)
            except PointCloudInputError as exc:
                st.error(str(exc))
        else:
            st.info(f"Upload a cloud of at most {pointcloud.UPLOAD_LIMIT} points.")
    with st.expander("Rotate and reflect the input", expanded=not ui.presenter()):
        alpha = st.slider("α (about z, degrees)", -180, 180, 0, 5, key="pc_alpha", bind="query-params")
        beta = st.slider("β (about y, degrees)", 0, 180, 0, 5, key="pc_beta", bind="query-params")
        gamma = st.slider("γ (about z, degrees)", -180, 180, 0, 5, key="pc_gamma", bind="query-params")
        mirror = st.checkbox("Mirror (z ↦ −z) first", key="pc_mirror", bind="query-params")
    K = st.slider("K (draws per variant)", 1, 16, 8, key="pc_K", bind="query-params")
    tol = st.select_slider("Tolerance of the symmetry detection (relative)", options=[1e-9, 1e-6, 1e-4, 1e-3, 1e-2],
                           value=1e-6, key="pc_tol", bind="query-params",
                           help="Distances that differ by less than tol × the cloud's radius count as equal; raise it "
                                "for coordinates rounded in a file.")
    st.button("Sample again", icon=":material/casino:", on_click=sidebar.next_seed, key="pc_resample")

if cloud is None:
    st.stop()
rotation = pointcloud.transform(alpha, beta, gamma, mirror)
cloud = pointcloud.moved(cloud, rotation)
seed = sidebar.seed()

try:
    summary = pointcloud.analyse(cloud, types, tol)
except PointCloudError as exc:
    st.error(f"This cloud cannot be analysed: {exc}")
    st.stop()

with view, ui.guard("The cloud"):
    order = "∞" if summary["order"] == float("inf") else str(summary["order"])
    ui.show_figure(pointcloud.cloud_figure(cloud, types, summary, f"{len(cloud)} points · point group {summary['name']} "
                                           f"(order {order}) · canonical frame γ"), "pointcloud-input", key="pc_input_fig")

# ---- the group and the kernel ------------------------------------------------------------------------------------------
group, frames_col = st.columns([1, 1.6])
with group, ui.guard("The point group"):
    st.subheader("Point group")
    st.metric("Schoenflies symbol", summary["name"])
    st.metric("Order |G_x|", order)
    if summary["kind"] == "finite":
        st.markdown(f"- {summary['rotations']} rotations (det +1), {summary['improper']} reflections and "
                    f"rotoreflections (det −1)\n- inversion −I: {'yes' if summary['inversion'] else 'no'}")
    elif summary["kind"] == "axial":
        st.markdown("A collinear cloud: every rotation about its axis and every mirror containing it fix it"
                    + (", and so does reversing the axis." if summary["name"] == "D∞h" else "."))
    else:
        st.markdown("At most one point: all of O(3) fixes it.")
    st.caption("The group and the canonical cloud do not change when you rotate or reflect the input above.")
    with st.expander("Canonical cloud γᵀ(x − x̄)", expanded=False):
        st.dataframe(np.round(summary["canonical"], 4), width="stretch")
with frames_col, ui.guard("The sampled frames"):
    frames = pointcloud.kernel_frames(cloud, types, tol, K, seed)
    ui.show_figure(pointcloud.frames_figure(cloud, summary, frames), "pointcloud-frames", key="pc_frames_fig")

# ---- outputs of every variant ------------------------------------------------------------------------------------------
st.subheader("What each variant outputs")
variants = pointcloud.shipped_variants()
if not variants:
    ui.not_shipped("The point-cloud distortion models", "pointcloud/<variant>")
else:
    if types is not None and len(set(types)) > 1:
        st.caption("The shipped models ignore point types; the group above respects them.")
    family = name if name in pointcloud.FAMILIES else None
    results = {}
    for col, variant in zip(st.columns(len(variants)), variants):
        with col, ui.guard(f"The {variant} output"):
            sha = models.manifest()[f"pointcloud/{variant}"]["sha256"]
            run = pointcloud.predict(cloud, tol, variant, K, seed, sha)
            results[variant] = run
            st.markdown(f"**{models.VARIANT_LABELS[variant]}**")
            group_name, group_order = run["groups"][0]
            ui.show_figure(pointcloud.output_figure(cloud, run["displacements"][0], f"draw 1: output group {group_name}"),
                           f"pointcloud-{variant}", key=f"pc_out_{variant}")
            st.caption(f"Point groups of the {K} outputs (to {pointcloud.OUTPUT_TOL:.0%} of the radius): "
                       + ", ".join(sorted({g for g, _ in run["groups"]})))
            if family:
                hit, index, m = pointcloud.nearest_targets(family, cloud, run["displacements"])
                counts = np.bincount(index[hit], minlength=m)
                st.caption(f"{int(hit.sum())} of {K} draws hit one of the {m} degenerate targets; hits per target: "
                           + " ".join(str(c) for c in counts))
            if variant == "none":
                st.caption("Equivariant: the output keeps every symmetry of the input, so it cannot pick a target.")

    with st.expander("Equivariance in distribution, checked live", expanded=not ui.presenter()):
        with ui.guard("The equivariance check"):
            shas = models.versions("pointcloud")
            errors = pointcloud.equivariance_errors(cloud, tol, seed, shas)
            st.markdown("For a random g ∈ O(3) (reflections included) and a kernel frame h: "
                        "max |f(g·x, g·h) − g·f(x, h)|, in float64.")
            st.table({"variant": list(errors), "max error": [f"{e:.1e}" for e in errors.values()],
                      "equivariant": ["no (by design)" if v == "fixed" else ("yes" if e < 1e-9 else "NO") for v, e in errors.items()]})

    export = {"points": [list(p) for p in cloud], "types": None if types is None else list(types), "tolerance": tol,
              "point_group": {"name": summary["name"], "order": None if summary["order"] == float("inf") else summary["order"]},
              "frame": summary["frame"].tolist(), "seed": seed, "sampled_frames": frames.tolist(),
              "outputs": {v: {"displacements": r["displacements"].tolist(), "groups": [g for g, _ in r["groups"]]}
                          for v, r in results.items()}}
    st.download_button("Download input, group and outputs (JSON)", json.dumps(export), "sympe-pointcloud.json",
                       "application/json", key="pc_export")
