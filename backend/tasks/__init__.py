"""The experiments, each a package of the same shape (``backend.tasks.task``), and their registry."""
from __future__ import annotations

from .task import Task

__all__ = ["Task", "TASKS", "task"]

TASKS: dict[str, Task] = {t.name: t for t in (
    Task("ising", "Ising ground states", verb="predict", loader="model:load_ising"),
    Task("graph_ae", "Graph autoencoder", verb="predict", loader="model:load_graph_ae"),
    Task("qm9", "QM9 generation", verb="sample", loader="model:load_qm9_model"),
    Task("pointcloud", "Point-cloud distortion", verb="predict", loader="model:load_pointcloud_model"),
)}


def task(name: str) -> Task:
    """The task called ``name``; a ValueError naming the tasks otherwise."""
    if name not in TASKS:
        raise ValueError(f"unknown experiment {name!r}; choose from {', '.join(TASKS)}")
    return TASKS[name]
