"""Graph autoencoder (the paper's first experiment at laptop scale): the first experiment.

Modules, in the roles every task has: ``data`` (the three graph sets and their seeded splits), ``model`` (config
and network), ``metrics`` (reconstruction counts and their aggregates), ``train`` (the training entry point),
``evaluate`` (the manifest metrics), ``results`` (its tables), ``cli`` (``python -m backend predict graph-ae``).
"""
