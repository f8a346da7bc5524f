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
