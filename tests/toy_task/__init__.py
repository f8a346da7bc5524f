"""A fifth experiment in miniature, built only from the task shape (``backend.tasks.task``): choose one node of a
cycle. Every node of a cycle is equivalent, so the equivariant baseline spreads its choice evenly, while SymPE can
pick one. ``tests/test_tasks.py`` registers it with one line and checks that the CLI, the trainer, the loader and
the app's model loader all find it."""
