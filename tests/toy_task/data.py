"""Cycles of 3 to 6 nodes (adjacency, mask), padded to N_MAX."""
import networkx as nx
import torch

N_MAX = 6
SIZES = (3, 4, 5, 6)


def cycles() -> tuple[torch.Tensor, torch.Tensor]:
    adj = torch.zeros(len(SIZES), N_MAX, N_MAX)
    for i, n in enumerate(SIZES):
        adj[i, :n, :n] = torch.tensor(nx.to_numpy_array(nx.cycle_graph(n)))
    return adj, torch.arange(N_MAX)[None] < torch.tensor(SIZES)[:, None]
