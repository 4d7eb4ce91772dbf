"""Checks for lesson 08 (그래프 신경망 기초). Hints help without giving the answer away."""
from __future__ import annotations

import torch

from helpers.exercises import Wrong, exercise

SMALL_EDGES = [(0, 1), (0, 2), (0, 3), (2, 3)]  # the lesson's 4-node graph (mechanism 08.M1)
SMALL_X = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 0.0]])
SMALL_W = torch.tensor([[1.0, 2.0], [-1.0, 1.0]])
RECEPTIVE_NODE = 16                             # exercise 08.2: whose 2-layer receptive field


def _as_tensor(answer, shape: tuple[int, ...], what: str) -> torch.Tensor:
    try:
        t = torch.as_tensor(answer).detach().cpu().float()
    except (TypeError, ValueError, RuntimeError):
        raise Wrong(f"{what}은 텐서(torch.Tensor)여야 합니다.") from None
    if tuple(t.shape) != shape:
        raise Wrong(f"{what}의 모양이 {tuple(t.shape)}입니다. {shape}이어야 합니다.")
    return t


def _random_graph(n: int, p: float, seed: int) -> torch.Tensor:
    """A symmetric 0/1 adjacency without self-loops; node n - 1 is isolated."""
    g = torch.Generator().manual_seed(seed)
    upper = (torch.rand(n, n, generator=g) < p).float().triu(1)
    a = upper + upper.T
    a[n - 1, :] = 0
    a[:, n - 1] = 0
    return a


def _test_graphs() -> list[torch.Tensor]:
    import networkx as nx

    from helpers.graphs import adjacency_matrix

    karate = nx.karate_club_graph()
    return [adjacency_matrix(SMALL_EDGES, 4), adjacency_matrix(list(karate.edges()), karate.number_of_nodes()),
            _random_graph(12, 0.3, seed=3)]


def _gcnconv(in_features: int, out_features: int, weight: torch.Tensor):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        from torch_geometric.nn import GCNConv
    conv = GCNConv(in_features, out_features)
    with torch.no_grad():
        conv.lin.weight.copy_(weight.T)
        conv.bias.zero_()
    return conv


@exercise("08.M1")
def gcn_layer_by_hand(answer) -> None:
    """answer: gcn_layer(adjacency, h, weight) = ReLU(D̃^{-1/2}(A + I)D̃^{-1/2} H W), equal to GCNLayer and PyG's GCNConv."""
    from helpers.graphs import GCNLayer, normalized_adjacency

    if not callable(answer):
        raise Wrong("answer_m1 에는 함수 gcn_layer 자체를 넣으세요 (호출 결과가 아니라).")
    g = torch.Generator().manual_seed(0)
    for k, a in enumerate(_test_graphs()):
        n = a.shape[0]
        if k == 0:
            h, w = SMALL_X, SMALL_W
        else:
            h, w = torch.randn(n, 5, generator=g), torch.randn(5, 3, generator=g)
        got = answer(a.clone(), h.clone(), w.clone())
        if not isinstance(got, torch.Tensor) or tuple(got.shape) != (n, w.shape[1]):
            raise Wrong(f"gcn_layer는 모양 {(n, w.shape[1])}인 텐서(노드 수 × 출력 특성 수)를 돌려줘야 합니다.")
        got = got.detach().cpu().float()
        layer = GCNLayer(w.shape[0], w.shape[1])
        with torch.no_grad():
            layer.weight.copy_(w)
            layer.bias.zero_()
            want = torch.relu(layer(h, normalized_adjacency(a)))
            by_pyg = torch.relu(_gcnconv(w.shape[0], w.shape[1], w)(h, a.nonzero().t()))
        assert torch.allclose(want, by_pyg, atol=1e-5), "helpers.graphs and GCNConv disagree"
        if torch.allclose(got, want, atol=1e-4):
            continue
        if (got < 0).any():
            raise Wrong("음수가 있습니다. 마지막에 활성화 함수(ReLU)를 적용했나요?")
        if torch.allclose(got, torch.relu(normalized_adjacency(a, self_loops=False) @ h @ w), atol=1e-4):
            raise Wrong("자기 루프가 빠졌습니다. 정규화하기 전에 Ã = A + I를 만들었나요?")
        a_tilde = a + torch.eye(n)
        if torch.allclose(got, torch.relu((a_tilde / a_tilde.sum(1, keepdim=True)) @ h @ w), atol=1e-4):
            raise Wrong("행 정규화 D̃^{-1}Ã를 썼습니다. GCN은 양쪽에서 D̃^{-1/2}로 나누는 대칭 정규화를 씁니다.")
        if torch.allclose(got, torch.relu(a_tilde @ h @ w), atol=1e-4):
            raise Wrong("정규화가 빠졌습니다. 차수의 제곱근으로 양쪽에서 나누세요.")
        if k == 0:
            raise Wrong("4개 노드 그래프에서 값이 다릅니다. 노드 1의 결과가 손 계산 [0, 1.2071]과 같은지부터 보세요.")
        raise Wrong("작은 그래프에서는 맞는데 다른 그래프에서 다릅니다. 노드 수를 4로 고정하지 않았는지, 고립된 노드(차수 0)에서도 "
                    "자기 루프 덕분에 0으로 나누지 않는지 확인하세요.")


@exercise("08.1")
def edge_list_propagation(answer) -> None:
    """answer: gcn_propagate(edge_index, h) = Â h computed from the edge list (both directions, no self-loops)."""
    from helpers.graphs import normalized_adjacency

    if not callable(answer):
        raise Wrong("answer_1 에는 함수 gcn_propagate 자체를 넣으세요.")
    g = torch.Generator().manual_seed(1)
    for a in _test_graphs():
        n = a.shape[0]
        h = torch.randn(n, 4, generator=g)
        edge_index = a.nonzero().t()
        got = answer(edge_index.clone(), h.clone())
        if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(h.shape):
            raise Wrong("gcn_propagate(edge_index, h)는 h와 같은 모양의 텐서를 돌려줘야 합니다.")
        got = got.detach().cpu().float()
        want = normalized_adjacency(a) @ h
        if torch.allclose(got, want, atol=1e-4):
            continue
        if torch.allclose(got, normalized_adjacency(a, self_loops=False).nan_to_num() @ h, atol=1e-4) or got[n - 1].abs().sum() == 0 and n == 12:
            raise Wrong("자기 루프 엣지가 빠졌습니다. 노드마다 i → i 엣지를 덧붙였나요? (이웃이 없는 노드도 자기 값은 받아야 합니다.)")
        a_tilde = a + torch.eye(n)
        if torch.allclose(got, a_tilde @ h, atol=1e-4):
            raise Wrong("메시지에 정규화 계수 1/√(d̃_i d̃_j)를 곱하지 않았습니다.")
        if torch.allclose(got, (a_tilde / a_tilde.sum(1, keepdim=True)) @ h, atol=1e-4):
            raise Wrong("받는 노드의 차수로만 나눴습니다(이웃 평균). 보내는 노드와 받는 노드의 차수를 모두 쓰세요.")
        raise Wrong("값이 Â h와 다릅니다. 차수를 자기 루프까지 포함해 세었는지, 메시지를 '받는' 노드(1행)에 더했는지 확인하세요.")


@exercise("08.2")
def receptive_field(answer) -> None:
    """answer: the nodes whose features can change node 16's output in a 2-layer GCN (karate club)."""
    import networkx as nx

    graph = nx.karate_club_graph()
    expected = set(nx.single_source_shortest_path_length(graph, RECEPTIVE_NODE, cutoff=2))
    one_hop = set(nx.single_source_shortest_path_length(graph, RECEPTIVE_NODE, cutoff=1))
    try:
        got = {int(v) for v in (answer.tolist() if hasattr(answer, "tolist") else answer)}
    except (TypeError, ValueError):
        raise Wrong("노드 번호들의 집합(set)이나 리스트로 답하세요. 예: {1, 2, 3}") from None
    if got == expected:
        print(f"실행 결과와 같습니다: 노드 {RECEPTIVE_NODE}의 출력은 {len(expected)}개 노드에 기댑니다. 층마다 Â를 한 번 곱하므로 "
              "2층이면 2홉(이웃의 이웃)까지, 자기 루프 덕분에 자기 자신과 1홉 이웃도 포함됩니다.")
        return
    if RECEPTIVE_NODE not in got:
        raise Wrong(f"노드 {RECEPTIVE_NODE} 자신이 빠졌습니다. Ã = A + I의 자기 루프를 떠올려 보세요.")
    if got == one_hop:
        raise Wrong("한 층(1홉)의 이웃만 셌습니다. 층이 2개이면 Â가 두 번 곱해집니다.")
    if got - expected:
        raise Wrong(f"{len(got - expected)}개의 노드는 2층 GCN으로는 닿지 않습니다. Â @ Â의 해당 행을 보세요.")
    raise Wrong(f"{len(expected - got)}개의 노드가 빠졌습니다. 이웃의 이웃까지 모두 셌나요?")


@exercise("08.3")
def grid_kernel(answer) -> None:
    """answer: the 3x3 kernel K with conv2d(X, K, padding=1) == (A + I) X on the 4-neighbour grid graph."""
    expected = torch.tensor([[0.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 0.0]])
    got = _as_tensor(answer, (3, 3), "커널")
    if torch.allclose(got, expected):
        return
    if got[1, 1] == 0:
        raise Wrong("가운데 값이 0입니다. Ã = A + I에서 I는 무엇을 더하나요?")
    if got[[0, 0, 2, 2], [0, 2, 0, 2]].abs().sum() > 0:
        raise Wrong("4-이웃 격자 그래프에서 대각선 방향 픽셀은 이웃이 아닙니다.")
    raise Wrong("(A + I)X에는 학습 가중치도 정규화도 없습니다. A + I의 0이 아닌 성분이 어떤 값인지 떠올려 보세요.")
