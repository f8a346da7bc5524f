"""Molecule generation on QM9 by discrete denoising diffusion: the third experiment.

Modules, in the roles every task has: ``data`` (QM9 from qm9pack, processed and cached, seeded splits), ``model``
(the diffusion process, the denoiser, its loss, likelihood and sampler), ``train`` (the training entry point),
``evaluate`` (the manifest metrics), ``results`` (its tables), ``cli`` (``python -m backend generate qm9``).
"""
