"""Symmetry-lowering distortion of point clouds under O(3): the fourth experiment.

Given a symmetric shape (a regular polygon, a tetrahedron, an octahedron or a cube, at a random size, orientation
and point order), output a displacement field that turns it into one of its degenerate lower-symmetry shapes: the
orbit, under the shape's own symmetry group, of one distortion mode (a polygon stretched along one axis, a
tetrahedron flattened along one of its three S4 axes, an octahedron or a cube elongated along one of its three
four-fold axes). The loss accepts any of the degenerate targets. An O(3)-equivariant network without symmetry
breaking can only output a displacement field with all of the input's symmetries (the targets' average); SymPE
feeds it the input's coordinates in a frame h drawn from the inversion kernel.

Modules, in the roles every task has: ``data`` (families, targets, seeded splits), ``model`` (config and network),
``metrics`` (hits, distances, coverage), ``train`` (the training entry point), ``evaluate`` (the manifest metrics), ``results`` (its tables), ``cli`` (``python -m backend predict point-cloud``).
"""
