"""helpers.graphs on tiny graphs: matrices, the GCN layer (== PyG's GCNConv), grid graphs, pictures."""
import math
import warnings

import pytest
import torch
import torch.nn.functional as F

from helpers.graphs import (GCNLayer, adjacency_matrix, add_self_loops, degree_matrix, draw_node_predictions,
                            grid_graph, karate_club, labelled_nodes_by_degree, normalized_adjacency, pca_2d,
                            plot_embeddings)

# 0 - 1, 0 - 2, 0 - 3, 2 - 3: a star with one extra edge (the lesson's small graph)
EDGES = [(0, 1), (0, 2), (0, 3), (2, 3)]


def test_adjacency_is_symmetric_01_and_directed_option():
    a = adjacency_matrix(EDGES, 4)
    assert torch.equal(a, a.T)
    assert a.sum() == 2 * len(EDGES) and set(a.unique().tolist()) == {0.0, 1.0}
    d = adjacency_matrix([(0, 1)], 2, directed=True)
    assert d[0, 1] == 1 and d[1, 0] == 0
    with pytest.raises(ValueError):
        adjacency_matrix([(0, 5)], 3)


def test_degree_and_self_loops():
    a = adjacency_matrix(EDGES, 4)
    assert degree_matrix(a).diagonal().tolist() == [3, 1, 2, 2]
    assert torch.equal(degree_matrix(a), torch.diag(degree_matrix(a).diagonal()))
    a_tilde = add_self_loops(a)
    assert torch.equal(a_tilde, a + torch.eye(4))
    assert torch.equal(add_self_loops(a_tilde), a_tilde), "an existing self-loop stays 1"


def test_normalized_adjacency_by_hand():
    a_hat = normalized_adjacency(adjacency_matrix(EDGES, 4))
    s8, s12 = 1 / math.sqrt(8), 1 / math.sqrt(12)     # degrees with self-loops: 4, 2, 3, 3
    expected = torch.tensor([[1 / 4, s8, s12, s12],
                             [s8, 1 / 2, 0, 0],
                             [s12, 0, 1 / 3, 1 / 3],
                             [s12, 0, 1 / 3, 1 / 3]])
    assert torch.allclose(a_hat, expected)
    eig = torch.linalg.eigvalsh(a_hat)
    assert eig.min() >= -1 - 1e-6 and math.isclose(eig.max().item(), 1.0, abs_tol=1e-5)


def test_normalized_adjacency_isolated_node_without_self_loops_is_zero_not_nan():
    a_hat = normalized_adjacency(adjacency_matrix([(0, 1)], 3), self_loops=False)
    assert torch.isfinite(a_hat).all() and a_hat[2].abs().sum() == 0


def test_gcn_layer_formula_and_pyg_equivalence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)   # torch_geometric 2.8 calls torch.jit.script on import
        gcnconv = pytest.importorskip("torch_geometric.nn").GCNConv
    torch.manual_seed(0)
    a = adjacency_matrix(EDGES, 4)
    x = torch.randn(4, 3)
    layer = GCNLayer(3, 2)
    with torch.no_grad():
        layer.bias.copy_(torch.tensor([0.5, -0.5]))
    out = layer(x, normalized_adjacency(a))
    assert torch.allclose(out, normalized_adjacency(a) @ x @ layer.weight + layer.bias)
    conv = gcnconv(3, 2)
    with torch.no_grad():
        conv.lin.weight.copy_(layer.weight.T)
        conv.bias.copy_(layer.bias)
    assert torch.allclose(conv(x, a.nonzero().t()), out, atol=1e-6)
    assert GCNLayer(3, 2, bias=False).bias is None


def test_karate_club_has_real_factions():
    club = karate_club()
    assert club.adjacency.shape == (34, 34) and club.adjacency.sum() == 2 * 78
    assert club.labels.bincount().tolist() == [17, 17]
    assert club.labels[0] == 0 and club.labels[33] == 1          # the two leaders
    picked = labelled_nodes_by_degree(club.adjacency, club.labels, per_class=1)
    assert picked.tolist() == [0, 33]


def test_labelled_nodes_rule_ties_go_to_smaller_index():
    a = adjacency_matrix([(0, 3), (1, 3), (2, 4)], 5)
    labels = torch.tensor([0, 0, 0, 1, 1])
    assert labelled_nodes_by_degree(a, labels, per_class=2).tolist() == [0, 1, 3, 4]


def test_grid_graph_counts_and_offsets():
    edge_index, offsets = grid_graph(3, 3, neighbourhood=8, self_loops=True)
    # 9 self-loops + 2 * (horizontal 6 + vertical 6 + diagonal 8) directed edges
    assert edge_index.shape == (2, 9 + 2 * 20) and offsets.shape == (49, 2)
    src, dst = edge_index
    assert torch.equal(src // 3 - dst // 3, offsets[:, 0]) and torch.equal(src % 3 - dst % 3, offsets[:, 1])
    e4, _ = grid_graph(3, 3, neighbourhood=4, self_loops=False)
    assert e4.shape[1] == 2 * 12
    with pytest.raises(ValueError):
        grid_graph(2, 2, neighbourhood=6)


def test_conv2d_equals_message_passing_over_grid_graph():
    torch.manual_seed(0)
    image, kernel = torch.randn(4, 5), torch.randn(3, 3)
    edge_index, offsets = grid_graph(4, 5)
    src, dst = edge_index
    weights = kernel[offsets[:, 0] + 1, offsets[:, 1] + 1]
    out = torch.zeros(20).index_add_(0, dst, weights * image.flatten()[src]).view(4, 5)
    assert torch.allclose(out, F.conv2d(image[None, None], kernel[None, None], padding=1)[0, 0], atol=1e-5)


def test_pca_2d_keeps_the_main_direction():
    t = torch.linspace(-1, 1, 10)
    x = torch.stack([t, 2 * t, torch.zeros(10)], dim=1)
    p = pca_2d(x)
    assert p.shape == (10, 2) and torch.allclose(p[:, 1], torch.zeros(10), atol=1e-5)
    assert torch.allclose(p[:, 0].abs(), (t * math.sqrt(5)).abs(), atol=1e-5)


def test_drawings_colour_right_green_wrong_red():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import networkx as nx

    graph = nx.path_graph(3)
    ax = draw_node_predictions(graph, torch.tensor([0, 1, 1]), torch.tensor([0, 1, 0]),
                               nx.spring_layout(graph, seed=0), labelled=[0])
    colours = [tuple(c) for coll in ax.collections[1:] for c in coll.get_facecolors()]
    green, red = matplotlib.colors.to_rgba("tab:green"), matplotlib.colors.to_rgba("tab:red")
    assert colours.count(green) == 2 and colours.count(red) == 1
    assert "2/3" in ax.get_title()
    ax2 = plot_embeddings(torch.randn(3, 2), torch.tensor([0, 1, 0]), ["a", "b"], labelled=[1])
    assert len(ax2.get_legend().get_texts()) == 2
    plt.close("all")
