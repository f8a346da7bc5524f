"""The kinds of symmetry-breaking encoding, as objects: what each one feeds the network and what that implies.

An encoding is described by three facts; everything else about it is derived from them:

- ``features``: what is concatenated to the backbone's input: nothing, i.i.d. N(0, 1) noise (fresh at every
  call), or rows of a learned table v (a field on the lattice, one row per canonical position on a graph, a
  learned map of the coordinates in a frame for point clouds);
- ``canonicalizes``: whether v is placed by an element h drawn from the inversion kernel of the input (SymPE:
  e = h·v), which needs the input's canonical form; otherwise v is placed by the identity;
- ``pair_features``: whether every pair also receives (e_i ⊙ e_j, (e_i − e_j)²) (graphs only).

Derived, for an equivariant backbone f and a group G acting on inputs x:

- ``random``: a forward pass draws randomness (noise, or h);
- ``equivariance``: "exact" (no features: f(g·x) = g·f(x), so the output keeps every symmetry of x), "in
  distribution" (noise, whose law is invariant, and SymPE, where f(g·x, g·h) = g·f(x, h) and g·h has the law of
  the kernel at g·x: the law of f(g·x) is the image under g of the law of f(x)), or "none" (a table placed by the
  identity breaks symmetry but ties the output to the node order or the lattice origin);
- ``breaks_symmetry``: whether the output can have fewer symmetries than the input (every kind but ``none``).

The kinds are the module's constants (NONE, NOISE, SYMPE, SYMPE_EDGES, FIXED) and ``ENCODINGS`` lists them once; a
task says which it trains (``backend.tasks.Task.encodings``). Look one up by name with ``encoding(name)``; code
decides behaviour from these attributes, never from a name.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = ["Features", "Encoding", "NONE", "NOISE", "SYMPE", "SYMPE_EDGES", "FIXED", "ENCODINGS", "encoding", "names"]


class Features(Enum):
    """What an encoding concatenates to the backbone's input."""

    NOTHING = "nothing"
    NOISE = "i.i.d. N(0, 1) noise"
    TABLE = "a learned table v"


@dataclass(frozen=True)
class Encoding:
    """One kind of encoding (see the module docstring). ``name`` is its key in configs, manifests and the CLI;
    ``label`` is how the app and the docs name it."""

    name: str
    label: str
    features: Features
    canonicalizes: bool = False
    pair_features: bool = False

    def __post_init__(self):
        if self.canonicalizes and self.features is not Features.TABLE:
            raise ValueError("only a learned table can be placed by an inversion-kernel draw")
        if self.pair_features and not self.canonicalizes:
            raise ValueError("pair features are built from the SymPE node encoding")

    @property
    def random(self) -> bool:
        return self.features is Features.NOISE or self.canonicalizes

    def passes(self, k: int) -> int:
        """Forward passes that K draws need: K for a random encoding, one for a deterministic one (its K draws are
        one output repeated)."""
        return k if self.random else 1

    def seed_read(self, seed: int) -> int:
        """What of ``seed`` the outputs depend on: the seed for a random encoding, 0 for a deterministic one (so a
        cache keyed on it serves every seed)."""
        return seed if self.random else 0

    @property
    def equivariance(self) -> str:
        if self.features is Features.NOTHING:
            return "exact"
        return "in distribution" if self.random else "none"

    @property
    def equivariant(self) -> bool:
        return self.equivariance != "none"

    @property
    def breaks_symmetry(self) -> bool:
        return self.features is not Features.NOTHING

    @property
    def has_table(self) -> bool:
        return self.features is Features.TABLE

    def __str__(self) -> str:
        return self.name


NONE = Encoding("none", "none (equivariant baseline)", Features.NOTHING)
NOISE = Encoding("noise", "noise injection", Features.NOISE)
SYMPE = Encoding("sympe", "SymPE", Features.TABLE, canonicalizes=True)
SYMPE_EDGES = Encoding("sympe-edges", "SymPE (nodes and edges)", Features.TABLE, canonicalizes=True, pair_features=True)
FIXED = Encoding("fixed", "fixed table (not equivariant)", Features.TABLE)

ENCODINGS: tuple[Encoding, ...] = (NONE, NOISE, SYMPE, SYMPE_EDGES, FIXED)
_BY_NAME = {e.name: e for e in ENCODINGS}


def encoding(name: str | Encoding, allowed: tuple[Encoding, ...] = ENCODINGS) -> Encoding:
    """The encoding called ``name`` among ``allowed``; a ValueError naming the choices otherwise."""
    found = name if isinstance(name, Encoding) else _BY_NAME.get(name)
    if found is None or found not in allowed:
        raise ValueError(f"unknown encoding {name!r}; choose from {', '.join(names(allowed))}")
    return found


def names(encodings: tuple[Encoding, ...] = ENCODINGS) -> tuple[str, ...]:
    return tuple(e.name for e in encodings)
