"""Property-based fuzzing of the graph readers and the command-line interface.

``inputs``    hypothesis strategies for hostile graph files, couplings files and command lines
``outcomes``  running one input and judging the result against the contracts (ok, error or a failure)
``__main__``  ``python -m tests.fuzz`` (``make fuzz``): thousands of inputs in time- and memory-limited
              workers, a summary table, the failing inputs written out for reproduction

``tests/test_fuzz.py`` runs a fast subset of the same strategies under pytest. Modules here import
each other relatively, so the package works both as ``tests.fuzz`` and as pytest's ``fuzz``.
"""
