"""Ising ground states on the periodic L×L lattice: the second experiment.

Modules, in the roles every task has: ``data`` (Hamiltonians, exact references, phases, samplers), ``model``
(config and network), ``train`` (the training entry point), ``evaluate`` (the manifest metrics), ``results`` (its tables), ``cli``
(``python -m backend predict ising``).
"""
