"""Neural-network building blocks of the SymPE Lab backend."""
from .graph import (
    EGNN,
    MPNN,
    EGNNConfig,
    GraphTransformer,
    GraphTransformerConfig,
    MPNNConfig,
    masked_softmax,
    pair_mask,
)

__all__ = [
    "MPNN",
    "MPNNConfig",
    "EGNN",
    "EGNNConfig",
    "GraphTransformer",
    "GraphTransformerConfig",
    "masked_softmax",
    "pair_mask",
]
