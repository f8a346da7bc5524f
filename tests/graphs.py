"""Small helpers shared by the graph tests."""
import networkx as nx
import torch


def dense(G: nx.Graph) -> torch.Tensor:
    """The float64 adjacency of G with nodes relabelled 0..n-1 in sorted order."""
    G = nx.convert_node_labels_to_integers(G, ordering="sorted")
    A = torch.zeros(G.number_of_nodes(), G.number_of_nodes(), dtype=torch.float64)
    for u, v in G.edges():
        A[u, v] = A[v, u] = 1.0
    return A


def carbon_ring(n: int = 6) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """An all-carbon n-ring of single bonds as a one-molecule batch: node types (1, n), edge types (1, n, n), mask."""
    X = torch.zeros(1, n, dtype=torch.long)
    E = torch.zeros(1, n, n, dtype=torch.long)
    for i in range(n):
        E[0, i, (i + 1) % n] = E[0, (i + 1) % n, i] = 1
    return X, E, torch.ones(1, n, dtype=torch.bool)


def ring_spreads(nodes: torch.Tensor, edges: torch.Tensor) -> tuple[float, float]:
    """The largest difference between any atom's output and atom 0's, and between any ring bond's and bond (0, 1)'s,
    for per-atom outputs (1, n, k) and per-pair outputs (1, n, n, k) of an n-ring."""
    n = nodes.shape[1]
    nodes, edges = nodes.detach(), edges.detach()
    bonds = torch.stack([edges[0, i, (i + 1) % n] for i in range(n)])
    return float((nodes[0] - nodes[0, :1]).abs().max()), float((bonds - bonds[:1]).abs().max())
