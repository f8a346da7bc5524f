"""Neural-network building blocks of the SymPE Lab backend."""
from .graph import (
    EGNN,
    MPNN,
    DisjointUnion,
    EGNNConfig,
    GraphTransformer,
    GraphTransformerConfig,
    MPNNConfig,
    SparseMPNN,
    masked_softmax,
    pair_mask,
    to_disjoint_union,
)

__all__ = [
    "MPNN",
    "MPNNConfig",
    "SparseMPNN",
    "DisjointUnion",
    "to_disjoint_union",
    "EGNN",
    "EGNNConfig",
    "GraphTransformer",
    "GraphTransformerConfig",
    "masked_softmax",
    "pair_mask",
]
