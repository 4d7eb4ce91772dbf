"""Graphs as tensors for lesson 08: adjacency, degree and normalised adjacency matrices,
a hand-written graph-convolution layer, Zachary's karate club, images as grid graphs, and
the two pictures of the lesson (nodes green when right / red when wrong, 2-D embeddings).

Everything works on tensors on any device; the drawing functions copy to the CPU themselves.

>>> from helpers.graphs import adjacency_matrix, normalized_adjacency
>>> a = adjacency_matrix([(0, 1), (1, 2)], num_nodes=3)
>>> normalized_adjacency(a)          # D̃^{-1/2} (A + I) D̃^{-1/2}, symmetric
tensor([[0.5000, 0.4082, 0.0000],
        [0.4082, 0.3333, 0.4082],
        [0.0000, 0.4082, 0.5000]])
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import torch
from torch import nn

from helpers.device import as_device
from helpers.errors import CourseValueError

RIGHT, WRONG = "tab:green", "tab:red"     # the course's prediction-grid colours
CLASS_COLOURS = ("tab:blue", "tab:orange", "tab:purple", "tab:brown")


# --- matrices ------------------------------------------------------------------------------


def adjacency_matrix(edges: Iterable[tuple[int, int]], num_nodes: int, *, directed: bool = False,
                     device: torch.device | str | None = None) -> torch.Tensor:
    """Step 1: the ``(num_nodes, num_nodes)`` 0/1 matrix with ``A[i, j] = 1`` for every edge ``i - j``.

    Undirected by default (both ``A[i, j]`` and ``A[j, i]`` are set).

    >>> adjacency_matrix([(0, 1), (1, 2)], num_nodes=3)
    tensor([[0., 1., 0.],
            [1., 0., 1.],
            [0., 1., 0.]])
    """
    adjacency = torch.zeros(num_nodes, num_nodes, device=device)
    for i, j in edges:
        if not (0 <= i < num_nodes and 0 <= j < num_nodes):
            raise CourseValueError(f"엣지 ({i}, {j})의 노드 번호가 0 ~ {num_nodes - 1} 범위를 벗어났습니다.")
        adjacency[i, j] = 1.0
        if not directed:
            adjacency[j, i] = 1.0
    return adjacency


def degree_matrix(adjacency: torch.Tensor) -> torch.Tensor:
    """The diagonal matrix of node degrees (row sums of the adjacency matrix).

    >>> degree_matrix(adjacency_matrix([(0, 1), (1, 2)], 3)).diagonal()
    tensor([1., 2., 1.])
    """
    return torch.diag(adjacency.sum(dim=1))


def add_self_loops(adjacency: torch.Tensor) -> torch.Tensor:
    """``A + I``: every node also sends its own features to itself (existing self-loops stay 1)."""
    eye = torch.eye(adjacency.shape[0], dtype=adjacency.dtype, device=adjacency.device)
    return torch.maximum(adjacency, eye)


def normalized_adjacency(adjacency: torch.Tensor, self_loops: bool = True) -> torch.Tensor:
    """``Â = D̃^{-1/2} Ã D̃^{-1/2}`` with ``Ã = A + I`` (Kipf & Welling's GCN propagation matrix).

    ``Â[i, j] = 1 / sqrt(d̃_i d̃_j)`` for neighbours (and ``i = j``), 0 elsewhere; symmetric, with
    eigenvalues in ``(-1, 1]``. Nodes without any edge (possible only with ``self_loops=False``)
    get an all-zero row instead of a division by zero.

    >>> normalized_adjacency(adjacency_matrix([(0, 1)], 2))
    tensor([[0.5000, 0.5000],
            [0.5000, 0.5000]])
    """
    a_tilde = add_self_loops(adjacency) if self_loops else adjacency
    degree = a_tilde.sum(dim=1)
    inv_sqrt = torch.where(degree > 0, degree.clamp_min(1e-12).rsqrt(), torch.zeros_like(degree))
    return inv_sqrt[:, None] * a_tilde * inv_sqrt[None, :]


# --- the layer -----------------------------------------------------------------------------


class GCNLayer(nn.Module):
    """One graph-convolution layer without its activation: ``Â H W + b`` in plain PyTorch.

    ``weight`` has shape ``(in_features, out_features)`` as in the formula ``H W``;
    PyTorch Geometric's ``GCNConv`` stores the same numbers transposed in ``lin.weight``.

    >>> layer = GCNLayer(2, 3)
    >>> h = torch.relu(layer(torch.ones(4, 2), normalized_adjacency(torch.zeros(4, 4))))
    >>> h.shape
    torch.Size([4, 3])
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
        bound = math.sqrt(6.0 / (in_features + out_features))     # Glorot uniform, as in GCNConv
        nn.init.uniform_(self.weight, -bound, bound)

    def forward(self, h: torch.Tensor, a_hat: torch.Tensor) -> torch.Tensor:
        out = a_hat @ (h @ self.weight)          # every node: weighted sum of its neighbours' H W
        return out + self.bias if self.bias is not None else out

    def extra_repr(self) -> str:
        return f"in_features={self.weight.shape[0]}, out_features={self.weight.shape[1]}, bias={self.bias is not None}"


# --- Zachary's karate club -----------------------------------------------------------------


@dataclass
class KarateClub:
    """Zachary's karate club (networkx): 34 members, 78 friendships, the faction each joined."""

    graph: "object"                 # networkx.Graph
    adjacency: torch.Tensor         # (34, 34) 0/1, unweighted
    labels: torch.Tensor            # (34,) 0 = Mr. Hi, 1 = Officer
    class_names: list[str]


def karate_club(device: torch.device | str | None = None) -> KarateClub:
    """Load the karate club from networkx (no download) with the real faction of every member.

    >>> club = karate_club()
    >>> club.adjacency.shape, club.class_names
    (torch.Size([34, 34]), ['Mr. Hi', 'Officer'])
    """
    import networkx as nx  # here, not at the top: only this lesson's data needs it

    device = as_device(device)  # "cuda", torch.device(...), an index: the one rule
    graph = nx.karate_club_graph()
    class_names = ["Mr. Hi", "Officer"]
    n = graph.number_of_nodes()
    adjacency = adjacency_matrix(graph.edges(), n, device=device)
    labels = torch.tensor([class_names.index(graph.nodes[i]["club"]) for i in range(n)], device=device)
    return KarateClub(graph, adjacency, labels, class_names)


def labelled_nodes_by_degree(adjacency: torch.Tensor, labels: torch.Tensor, per_class: int) -> torch.Tensor:
    """The rule for the few labelled nodes: in each class, the ``per_class`` nodes with most edges.

    Ties go to the smaller node number. Returns sorted node indices (on ``labels``' device).

    >>> a = adjacency_matrix([(0, 1), (0, 2), (3, 4)], 5)
    >>> labelled_nodes_by_degree(a, torch.tensor([0, 0, 0, 1, 1]), per_class=1)
    tensor([0, 3])
    """
    degree = adjacency.sum(dim=1).to(labels.device)
    chosen = []
    for c in labels.unique():
        members = (labels == c).nonzero().flatten()
        order = torch.argsort(-degree[members], stable=True)
        chosen.append(members[order[:per_class]])
    return torch.cat(chosen).sort().values


# --- images as grid graphs -----------------------------------------------------------------


def grid_graph(height: int, width: int, neighbourhood: int = 8,
               self_loops: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """An image as a graph: one node per pixel (``node = row * width + col``), edges to its neighbours.

    Returns ``edge_index`` of shape ``(2, E)`` (row 0 = source pixel ``j``, row 1 = target pixel
    ``i``, as in PyTorch Geometric) and ``offsets`` of shape ``(E, 2)``: the source's position
    relative to the target, ``(dy, dx)`` with ``dy, dx`` in ``{-1, 0, 1}``. ``neighbourhood`` is 8
    (the 3×3 window) or 4 (up, down, left, right); ``self_loops`` adds the offset ``(0, 0)``.

    >>> edge_index, offsets = grid_graph(2, 2, neighbourhood=4, self_loops=False)
    >>> edge_index.shape
    torch.Size([2, 8])
    """
    if neighbourhood not in (4, 8):
        raise CourseValueError(f"neighbourhood는 4 또는 8이어야 합니다 (받은 값: {neighbourhood}).")
    steps = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)
             if (dy, dx) != (0, 0) and (neighbourhood == 8 or dy == 0 or dx == 0)]
    if self_loops:
        steps.append((0, 0))
    sources, targets, offsets = [], [], []
    for row in range(height):
        for col in range(width):
            for dy, dx in steps:
                r, c = row + dy, col + dx
                if 0 <= r < height and 0 <= c < width:
                    sources.append(r * width + c)
                    targets.append(row * width + col)
                    offsets.append((dy, dx))
    return torch.tensor([sources, targets]), torch.tensor(offsets)


# --- pictures ------------------------------------------------------------------------------


def pca_2d(x: torch.Tensor) -> torch.Tensor:
    """Project the rows of ``x`` onto their first two principal components (CPU tensor ``(n, 2)``)."""
    x = x.detach().cpu().double()
    centred = x - x.mean(dim=0, keepdim=True)
    _, _, v = torch.linalg.svd(centred, full_matrices=False)
    return (centred @ v[:2].T).float()


def draw_node_predictions(graph, preds: torch.Tensor, labels: torch.Tensor, pos: dict,
                          labelled: Sequence[int] | torch.Tensor = (), ax=None, title: str | None = None):
    """Draw ``graph`` with every node green when ``preds`` matches ``labels`` and red when not.

    Labelled (training) nodes are drawn as squares with a thick black edge; node numbers are shown.
    Returns the matplotlib axes.
    """
    import matplotlib.pyplot as plt
    import networkx as nx

    preds, labels = preds.detach().cpu(), labels.detach().cpu()
    labelled = {int(i) for i in torch.as_tensor(labelled).cpu().tolist()}
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 5.5))
    nx.draw_networkx_edges(graph, pos, ax=ax, alpha=0.3)
    for shape, nodes in (("o", [n for n in graph.nodes if n not in labelled]),
                         ("s", [n for n in graph.nodes if n in labelled])):
        colours = [RIGHT if preds[n] == labels[n] else WRONG for n in nodes]
        nx.draw_networkx_nodes(graph, pos, nodelist=nodes, node_color=colours, node_shape=shape, ax=ax,
                               node_size=320, edgecolors="black", linewidths=2.5 if shape == "s" else 0.5)
    nx.draw_networkx_labels(graph, pos, ax=ax, font_size=8, font_color="white")
    correct = int((preds == labels).sum())
    ax.set_title(title or f"초록 = 맞음, 빨강 = 틀림 ({correct}/{len(labels)}), 네모 = 레이블 있는 노드")
    ax.axis("off")
    return ax


def plot_embeddings(points: torch.Tensor, labels: torch.Tensor, class_names: Sequence[str],
                    labelled: Sequence[int] | torch.Tensor = (), ax=None, title: str | None = None):
    """Scatter 2-D node embeddings coloured by true class; labelled nodes as black-edged squares."""
    import matplotlib.pyplot as plt

    points, labels = points.detach().cpu(), labels.detach().cpu()
    is_labelled = torch.zeros(len(labels), dtype=torch.bool)
    is_labelled[torch.as_tensor(labelled, dtype=torch.long).cpu()] = True
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4.5))
    for c, name in enumerate(class_names):
        for mask, marker, edge in ((~is_labelled, "o", "none"), (is_labelled, "s", "black")):
            sel = (labels == c) & mask
            ax.scatter(points[sel, 0], points[sel, 1], c=CLASS_COLOURS[c % len(CLASS_COLOURS)], marker=marker,
                       s=70 if marker == "s" else 40, edgecolors=edge, linewidths=1.5,
                       label=name if marker == "o" else None)
    for i, (x, y) in enumerate(points.tolist()):
        ax.annotate(str(i), (x, y), fontsize=7, alpha=0.6, xytext=(3, 3), textcoords="offset points")
    ax.legend(title="실제 파벌")
    if title:
        ax.set_title(title)
    return ax
