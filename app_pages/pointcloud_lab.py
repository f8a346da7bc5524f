"""Point-cloud lab: symmetry breaking in 3D under O(3), every shipped variant side by side."""
import re

import numpy as np
import streamlit as st

from app import models, pointcloud, sidebar, ui
from backend.encodings import encoding
from backend.options import one_line
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


def md_plain(text: str) -> str:
    """User text (an uploaded file's name inside an error) shown literally in markdown."""
    return re.sub(r"([\\`*_{}\[\]()#+!|<>~$])", r"\\\1", text)


# ---- input ------------------------------------------------------------------------------------------------------------
if ui.presenter():  # the settings fold away; the input is drawn in the story row
    controls, view = ui.controls("Shape, transform and draws"), None
else:
    controls, view = st.columns([1, 1.6])
with controls:
    source = st.radio("Input", ["Preset", "Upload"], horizontal=True, key="pc_source", bind="query-params")
    base = types = name = None
    if source == "Preset":
        name = st.selectbox("Shape", pointcloud.PRESETS, key="pc_preset", bind="query-params")
        base, types = pointcloud.preset(name)
    else:
        upload = st.file_uploader('An XYZ file, or JSON {"points": [[x, y, z], ...], "types": [...]}',
                                  type=["xyz", "json"], key="pc_upload", max_upload_size=pointcloud.UPLOAD_MB)
        if upload is not None:
            try:
                base, types = pointcloud.parse_upload(upload.getvalue(), upload.name)
            except PointCloudInputError as exc:
                st.error(md_plain(one_line(exc, 300)), icon=":material/error:")
        else:
            st.info(f"Upload a cloud of 1 to {pointcloud.UPLOAD_LIMIT} points.")
    with st.expander("Rotate and reflect the input", expanded=not ui.presenter()):
        alpha = st.slider("α (about z, degrees)", -180, 180, 0, 5, key="pc_alpha", bind="query-params")
        beta = st.slider("β (about y, degrees)", 0, 180, 0, 5, key="pc_beta", bind="query-params")
        gamma = st.slider("γ (about z, degrees)", -180, 180, 0, 5, key="pc_gamma", bind="query-params")
        mirror = st.checkbox("Mirror (z ↦ −z) first", key="pc_mirror", bind="query-params")
    K = st.slider("K (draws per variant)", 1, 16, 8, key="pc_K", bind="query-params")
    with st.expander("Advanced"):
        tol = st.select_slider("Tolerance of the symmetry detection (relative)", options=[1e-9, 1e-6, 1e-4, 1e-3, 1e-2],
                               value=1e-6, key="pc_tol", bind="query-params",
                               help="Distances that differ by less than tol × the cloud's radius count as equal; "
                                    "raise it for coordinates rounded in a file.")
with controls if view is not None else st.container():
    st.button("Sample again", icon=":material/casino:", on_click=sidebar.next_seed, key="pc_resample")
if view is not None:
    st.empty()  # the presenter's button row's place: figures keep their positions across the switch (ui.explain)

rotation = pointcloud.transform(alpha, beta, gamma, mirror)
identity = bool(np.allclose(rotation, np.eye(3)))
seed = sidebar.seed()

summary = None
if base is not None:
    cloud = pointcloud.moved(base, rotation)
    pose = (base, pointcloud.as_key(rotation))
    try:
        summary = pointcloud.analyse(cloud, types, tol)
    except PointCloudError as exc:
        st.error(f"This cloud cannot be analysed: {md_plain(one_line(exc, 300))}", icon=":material/error:")

if summary is not None:
    with st.spinner("Running the models…", show_time=True):
        ui.precompute(pointcloud.page_computations(cloud, types, tol, K, seed, pose))
    order = pointcloud.order_text(summary["order"])
    ui.story(lambda: pointcloud.story_figures(cloud, types, summary, tol, K, seed, pose))
    if view is not None:
        with view, ui.guard("The cloud"):
            ui.show_figure(pointcloud.cloud_figure(cloud, types, summary,
                                                   f"{len(cloud)} points · {summary['name']} · canonical frame γ"),
                           "pointcloud-input", key="pc_input_fig")

    frames = np.zeros((0, 3, 3))
    # ---- the group and the kernel --------------------------------------------------------------------------------------
    group_col, frames_col = st.columns([1, 1.6])
    with group_col, ui.guard("The point group"):
        st.subheader("The input's symmetry")
        m1, m2 = st.columns(2)
        m1.metric("Point group", summary["name"], help="Schoenflies symbol")
        m2.metric("Order |G_x|", order)
        kinds = {"finite": "finite", "axial": "continuous (collinear points)", "full": "all of O(3)"}
        st.markdown(f"**Kind:** {kinds[summary['kind']]}\n\n" + pointcloud.group_listing(summary))
        if identity:
            st.markdown("Rotate or reflect the input above: the group and the canonical cloud stay the same.")
        else:
            ref = pointcloud.analyse(base, types, tol)
            gap = float(np.abs(ref["canonical"] - summary["canonical"]).max())
            same = ref["name"] == summary["name"] and ref["order"] == summary["order"] and gap < 1e-6
            st.markdown(f"{':material/check_circle:' if same else ':material/cancel:'} **Before the transform:** "
                        f"{ref['name']}, order {pointcloud.order_text(ref['order'])}; the canonical clouds differ by "
                        f"at most {gap:.1e}.")
        with st.expander("Canonical cloud γᵀ(x − x̄)", expanded=False):
            st.dataframe(np.round(summary["canonical"], 4), width="stretch")
    with frames_col, ui.guard("The sampled frames"):
        frames = pointcloud.kernel_frames(cloud, types, tol, K, seed)
        ui.show_figure(pointcloud.frames_figure(cloud, summary, frames), "pointcloud-frames", key="pc_frames_fig")
        if summary["order"] == 1:
            spread = "s = identity (G_x is trivial), so every draw is γ itself"
        elif summary["kind"] == "finite":
            spread = f"s uniform on the {order} elements of G_x"
        else:
            spread = "s Haar-distributed on the continuous group G_x"
        distinct = pointcloud.distinct_frames(frames)
        st.markdown(f"h = s·γ with {spread}: these {K} draws give **{distinct}** distinct frame{'s' * (distinct != 1)}. "
                    "Every hᵀ(x − x̄) is the canonical cloud up to re-indexing (max deviation "
                    f"{pointcloud.kernel_check(cloud, summary, frames):.1e}).")

    # ---- outputs of every variant --------------------------------------------------------------------------------------
    st.subheader("What each variant outputs")
    statuses = pointcloud.model_statuses()
    results: dict = {}
    family = name if name in pointcloud.FAMILIES else None
    if all(s.state == "not shipped" for s in statuses.values()):
        ui.not_shipped("The point-cloud distortion model", "pointcloud/<variant>")
        missing = ", ".join(f"`{s.key}`" for s in statuses.values())
        st.markdown(f"{'Unavailable' if models.manifest_problem() else 'Not shipped'}: {missing}. The point group, the "
                    "canonical frame and the kernel draws above need no model.")
    elif len(cloud) < 2:
        st.info("The models displace points relative to each other: they need at least two points.")
    else:
        if types is not None and len(set(types)) > 1:
            st.caption("The shipped models ignore point types; the group above respects them.")
        lo, hi = pointcloud.TRAINED_RADII
        if not 0.5 * lo <= summary["radius"] <= 2 * hi:
            st.info(f"The models were trained on shapes of radius {lo}–{hi}; this cloud's is {summary['radius']:.3g}, "
                    "so the outputs may be poor. The symmetry argument holds at any size.", icon=":material/info:")
        legend = "Each panel shows draw 1: the input in grey, the output in red, each point's displacement as a line."
        if family:
            m = len(pointcloud.family_targets(family, pointcloud.as_key(rotation)))
            legend += (f" The {family} has {m} degenerate target distortions (the orbit of one distortion under its "
                       "group); open green circles: the target nearest to draw 1.")
        ui.explain(legend)
        untyped = summary if types is None else pointcloud.analyse(cloud, None, tol)  # the group the models see
        for col, variant in zip(st.columns(len(pointcloud.VARIANTS)), pointcloud.VARIANTS):
            status = statuses[variant]
            with col:
                st.markdown(f"**{models.label(variant)}**")
                if status.state == "not shipped":
                    st.warning(f"`{status.key}` is not shipped yet.", icon=":material/block:")
                    continue
                if status.state == "failed":
                    st.error(f"`{status.key}` cannot be loaded: {md_plain(status.detail)}", icon=":material/error:")
                    continue
                with ui.guard(f"The {variant} output"):
                    run = dict(pointcloud.predict(cloud, tol, variant, K, seed, status.sha256, pose))
                    target = None
                    if family:
                        hit, index, m = pointcloud.target_hits(family, cloud, pointcloud.as_key(rotation),
                                                               run["displacements"])
                        target = pointcloud.family_targets(family, pointcloud.as_key(rotation))[index[0]]
                        run["hits"] = {"hit": hit.tolist(), "nearest_target": index.tolist(), "targets": m}
                    results[variant] = run
                    group_name, group_order = run["groups"][0]
                    ui.show_figure(pointcloud.output_figure(cloud, run["displacements"][0], target=target),
                                   f"pointcloud-{variant}", key=f"pc_out_{variant}")
                    st.markdown(f"Output shape (draw 1): **{group_name}**, order {pointcloud.order_text(group_order)}"
                                if group_order else f"Output shape (draw 1): {group_name}")
                    kept = sum(d < pointcloud.KEPT_TOL for d in run["defects"])
                    if untyped["order"] == 1:
                        st.markdown("Nothing to break: the input has no symmetry.")
                    elif kept == K:
                        st.markdown(f":material/lock: **Keeps every symmetry of the input** ({untyped['name']}) in "
                                    f"all {K} draws (defect ≤ {max(run['defects']):.0e}): "
                                    + ("stuck at the symmetric answer." if not encoding(variant).breaks_symmetry else "no choice made."))
                    else:
                        st.markdown(f":material/call_split: **Breaks the input's symmetry** in {K - kept} of {K} draws "
                                    f"(defect up to {max(run['defects']):.2f})")
                    if family:
                        first = (f":material/check_circle: draw 1 hits target {index[0] + 1} of {m}" if hit[0]
                                 else f":material/cancel: draw 1 misses (nearest: target {index[0] + 1} of {m})")
                        counts = np.bincount(index[hit], minlength=m)
                        st.markdown(f"{first}; **{int(hit.sum())} of {K}** draws hit a target.")
                        st.caption("Hits per target: " + " ".join(str(c) for c in counts))
                    if len(run["groups"]) == K:
                        st.caption(f"Point groups of the {K} output shapes (to {pointcloud.OUTPUT_TOL:.0%} of the "
                                   "radius): " + ", ".join(sorted({g for g, _ in run["groups"]})))
        ui.explain("The symmetry defect of an output y is the largest distance from g·y to y over g in G_x (acting "
                   "about the input's centre), relative to the radius. An equivariant deterministic map must give 0 on "
                   "a symmetric input: that is why `none` cannot pick a target, whatever its weights. The output "
                   f"shape's own group (about its own centre, to {pointcloud.OUTPUT_TOL:.0%} of the radius) can be "
                   "larger, e.g. when a draw only shifts the whole cloud.")

    # ---- equivariance in distribution ----------------------------------------------------------------------------------
    equivariance = None
    if results and len(cloud) >= 2:
        with st.expander("Equivariance in distribution, checked live", expanded=not ui.presenter()):
            with ui.guard("The equivariance check"):
                choice = st.radio("g: a random element of O(3) (from the seed), or the rotate-and-reflect control's",
                                  ["random", "control"], horizontal=True, key="pc_g", bind="query-params")
                shas = tuple((v, s.sha256) for v, s in statuses.items() if s.state == "ok")
                if choice == "control":
                    x, g = base, pointcloud.as_key(rotation)
                    if identity:
                        st.info("The control is at the identity, so this check is trivial: set an angle or the mirror.")
                else:
                    x, g = cloud, None
                equivariance = pointcloud.equivariance_errors(x, tol, seed, shas, g)
                kind = "a rotation" if equivariance["det"] > 0 else "a reflection (det −1)"
                st.markdown(f"g is {kind}; h is a kernel frame of x. Shown: max |f(g·x, g·h) − g·f(x, h)| over all "
                            "points and coordinates, in float64. Since g·h is a kernel frame of g·x whenever h is one "
                            "of x, equal outputs for every h mean the output's law moves with g.")
                errors = equivariance["errors"]
                st.table({"variant": list(errors), "max error": [f"{e:.1e}" for e in errors.values()],
                          "equivariant": ["no (by design)" if not encoding(v).equivariant else ("yes" if e < 1e-9 else "NO")
                                          for v, e in errors.items()]})

    params = {"source": source, "preset": name, "transform": {"alpha": alpha, "beta": beta, "gamma": gamma,
                                                               "mirror": bool(mirror), "matrix": rotation.tolist()},
              "K": K, "tolerance": tol, "seed": seed}
    st.download_button("Download input, group and outputs (JSON)",
                       lambda: pointcloud.export_json(params, cloud, types, summary, frames, statuses, results, equivariance),
                       file_name="sympe-pointcloud.json", mime="application/json", on_click="ignore", key="pc_export")
