"""Checks for lesson 08 (그래프 신경망 기초). Hints help without giving the answer away."""
from __future__ import annotations

import warnings

import torch

from helpers.errors import CourseBug
from helpers.exercises import Wrong, as_choice, as_function, as_instance, as_numbers, exercise, restoring
from helpers.graphs import GCNLayer, adjacency_matrix, normalized_adjacency

SMALL_EDGES = [(0, 1), (0, 2), (0, 3), (2, 3)]  # the lesson's 4-node graph (mechanism 08.M1)
SMALL_X = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 0.0]])
SMALL_W = torch.tensor([[1.0, 2.0], [-1.0, 1.0]])
RECEPTIVE_NODE = 16                             # exercise 08.2: whose 2-layer receptive field
LARGE_NODES = 3000                              # 08.1: a graph whose N x N matrix (9 M entries) the check notices
LARGE_EDGES = 15000                             # undirected; a right answer's largest tensor is about (2E + N) x F


def _random_graph(n: int, p: float, seed: int) -> torch.Tensor:
    """A symmetric 0/1 adjacency without self-loops; node n - 1 is isolated."""
    g = torch.Generator().manual_seed(seed)
    upper = (torch.rand(n, n, generator=g) < p).float().triu(1)
    a = upper + upper.T
    a[n - 1, :] = 0
    a[:, n - 1] = 0
    return a


def _test_graphs() -> list[torch.Tensor]:
    import networkx as nx  # here, not at the top: importing it takes a while, and only these checks need it

    karate = nx.karate_club_graph()
    return [adjacency_matrix(SMALL_EDGES, 4), adjacency_matrix(list(karate.edges()), karate.number_of_nodes()),
            _random_graph(12, 0.3, seed=3)]


def _gcnconv(in_features: int, out_features: int, weight: torch.Tensor):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        from torch_geometric.nn import GCNConv
    conv = GCNConv(in_features, out_features)
    with torch.no_grad():
        conv.lin.weight.copy_(weight.T)
        conv.bias.zero_()
    return conv


def _close(got: torch.Tensor, want: torch.Tensor) -> bool:
    return bool(torch.isfinite(want).all()) and torch.allclose(got, want, atol=1e-4)


def _result(got, shape: tuple[int, ...], name: str, what: str) -> torch.Tensor:
    got = as_instance(got, torch.Tensor, f"{name}의 반환값", "텐서(torch.Tensor)")
    if tuple(got.shape) != shape:
        raise Wrong(f"{name}는 모양 {shape}인 텐서({what})를 돌려줘야 합니다. 지금은 {tuple(got.shape)}입니다.")
    return got.detach().cpu().float()


def _unchanged(before: list[torch.Tensor], after: list[torch.Tensor], name: str) -> None:
    if any(not torch.equal(b, a) for b, a in zip(before, after)):
        raise Wrong(f"{name}가 받은 입력 텐서를 제자리(in-place, += 나 index_add_를 입력에 직접)에서 바꿨습니다. "
                    "그러면 레슨의 A나 h도 바뀝니다. 입력은 그대로 두고 새 텐서를 만드세요.")


@exercise("08.M1")
def gcn_layer_by_hand(answer) -> None:
    """answer: gcn_layer(adjacency, h, weight) = ReLU(D̃^{-1/2}(A + I)D̃^{-1/2} H W), equal to GCNLayer and PyG's GCNConv."""
    gcn_layer = as_function(answer, "answer_m1", "gcn_layer")
    g = torch.Generator().manual_seed(0)
    for k, a in enumerate(_test_graphs()):
        n = a.shape[0]
        if k == 0:
            h, w = SMALL_X, SMALL_W
        else:
            h, w = torch.randn(n, 5, generator=g), torch.randn(5, 3, generator=g)
        inputs = [a.clone(), h.clone(), w.clone()]
        with restoring():
            got = gcn_layer(*inputs)
        _unchanged([a, h, w], inputs, "gcn_layer")
        got = _result(got, (n, w.shape[1]), "gcn_layer", "노드 수 × 출력 특성 수")
        layer = GCNLayer(w.shape[0], w.shape[1])
        with torch.no_grad():
            layer.weight.copy_(w)
            layer.bias.zero_()
            want = torch.relu(layer(h, normalized_adjacency(a)))
            by_pyg = torch.relu(_gcnconv(w.shape[0], w.shape[1], w)(h, a.nonzero().t()))
        if not torch.allclose(want, by_pyg, atol=1e-5):
            raise CourseBug("과정 버그: helpers.graphs.GCNLayer와 PyG GCNConv의 값이 다릅니다. 강사에게 알려 주세요.")
        if _close(got, want):
            continue
        a_tilde = a + torch.eye(n)
        a_hat = normalized_adjacency(a)
        inv_sqrt = a_tilde.sum(1).rsqrt()
        if not torch.isfinite(got).all():
            raise Wrong("결과에 nan이나 inf가 있습니다. 이웃이 없는 노드(차수 0)로 나누지 않았나요? "
                        "차수는 자기 루프를 더한 Ã = A + I에서 세어야 합니다.")
        if _close(got, a_hat @ h @ w):
            raise Wrong("음수가 남아 있습니다. 마지막에 활성화 함수(ReLU)를 적용했나요?")
        inv_a = a.sum(1).rsqrt()
        if _close(got, torch.relu((inv_a[:, None] * a_tilde * inv_a[None, :]) @ h @ w)):
            raise Wrong("차수를 자기 루프를 더하기 전의 A에서 세었습니다. 차수는 Ã = A + I의 행 합입니다.")
        if _close(got, torch.relu(normalized_adjacency(a, self_loops=False).nan_to_num() @ h @ w)):
            raise Wrong("자기 루프가 빠졌습니다. 정규화하기 전에 Ã = A + I를 만들었나요?")
        if _close(got, torch.relu((a_tilde / a_tilde.sum(1, keepdim=True)) @ h @ w)):
            raise Wrong("행 정규화 D̃^{-1}Ã를 썼습니다. GCN은 양쪽에서 D̃^{-1/2}로 나누는 대칭 정규화를 씁니다.")
        if _close(got, torch.relu((inv_sqrt[:, None] * a_tilde) @ h @ w)) or \
                _close(got, torch.relu((a_tilde * inv_sqrt[None, :]) @ h @ w)):
            raise Wrong("한쪽에서만 D̃^{-1/2}로 나눴습니다. 대칭 정규화는 왼쪽과 오른쪽에서 모두 나눕니다.")
        if _close(got, torch.relu(a_tilde @ h @ w)):
            raise Wrong("정규화가 빠졌습니다. 차수의 제곱근으로 양쪽에서 나누세요.")
        if (got < 0).any():
            raise Wrong("음수가 있습니다. 마지막에 활성화 함수(ReLU)를 적용했나요?")
        if k == 0:
            raise Wrong("4개 노드 그래프에서 값이 다릅니다. 노드 1의 결과가 손 계산 [0, 1.2071]과 같은지부터 보세요.")
        raise Wrong("작은 그래프에서는 맞는데 다른 그래프에서 다릅니다. 노드 수를 4로 고정하지 않았는지, 고립된 노드(차수 0)에서도 "
                    "자기 루프 덕분에 0으로 나누지 않는지 확인하세요.")


def _largest_tensor(fn, *args) -> tuple[object, int]:
    """Call ``fn(*args)``; its result and the most elements any tensor it made had (torch's dispatcher sees all)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Largest(TorchDispatchMode):
        most = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            for t in out if isinstance(out, (tuple, list)) else [out]:
                if isinstance(t, torch.Tensor) and not t.is_sparse:
                    Largest.most = max(Largest.most, t.numel())
            return out

    with Largest():
        result = fn(*args)
    return result, Largest.most


def _large_graph() -> torch.Tensor:
    """``edge_index`` (both directions) of a random graph with ``LARGE_NODES`` nodes, node 0 isolated."""
    g = torch.Generator().manual_seed(8)
    ends = torch.randint(1, LARGE_NODES, (2, LARGE_EDGES), generator=g)
    ends = ends[:, ends[0] != ends[1]]
    ends = torch.unique(ends.sort(dim=0).values, dim=1)            # each undirected edge once, i < j
    return torch.cat([ends, ends.flip(0)], dim=1)


def _propagate(edge_index: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    n = h.shape[0]
    loops = torch.arange(n)
    src, dst = torch.cat([edge_index[0], loops]), torch.cat([edge_index[1], loops])
    deg = torch.zeros(n).index_add_(0, dst, torch.ones(dst.numel()))
    return torch.zeros_like(h).index_add_(0, dst, (deg[src] * deg[dst]).rsqrt()[:, None] * h[src])


@exercise("08.1")
def edge_list_propagation(answer) -> None:
    """answer: gcn_propagate(edge_index, h) = Â h computed from the edge list (both directions, no self-loops),
    without an N x N matrix (a graph of 3,000 nodes: the check watches the size of every tensor made)."""
    gcn_propagate = as_function(answer, "answer_1", "gcn_propagate")
    g = torch.Generator().manual_seed(1)
    for a in _test_graphs():
        n = a.shape[0]
        h = torch.randn(n, 4, generator=g)
        edge_index = a.nonzero().t()
        inputs = [edge_index.clone(), h.clone()]
        with restoring():
            got = gcn_propagate(*inputs)
        _unchanged([edge_index, h], inputs, "gcn_propagate")
        got = _result(got, tuple(h.shape), "gcn_propagate(edge_index, h)", "h와 같은 모양")
        want = normalized_adjacency(a) @ h
        if _close(got, want):
            continue
        a_tilde = a + torch.eye(n)
        if not torch.isfinite(got).all():
            raise Wrong("결과에 nan이나 inf가 있습니다. 이웃이 없는 노드의 차수가 0이 되지 않게, 자기 루프 엣지를 더한 뒤에 "
                        "차수를 세었나요?")
        if _close(got, normalized_adjacency(a, self_loops=False).nan_to_num() @ h):
            raise Wrong("자기 루프 엣지가 빠졌습니다. 노드마다 i → i 엣지를 덧붙였나요? (이웃이 없는 노드도 자기 값은 받아야 합니다.)")
        inv_a = a.sum(1).rsqrt()
        if _close(got, (inv_a[:, None] * a_tilde * inv_a[None, :]) @ h):
            raise Wrong("차수를 자기 루프 엣지를 덧붙이기 전에 세었습니다. 자기 루프까지 포함해 받는 쪽 기준으로 세세요.")
        if _close(got, a_tilde @ h):
            raise Wrong("메시지에 정규화 계수 1/√(d̃_i d̃_j)를 곱하지 않았습니다.")
        if _close(got, (a_tilde / a_tilde.sum(1, keepdim=True)) @ h):
            raise Wrong("받는 노드의 차수로만 나눴습니다(이웃 평균). 보내는 노드와 받는 노드의 차수를 모두 쓰세요.")
        if _close(got, normalized_adjacency(a).sum(1, keepdim=True) * h):
            raise Wrong("메시지 H_j를 보내는 노드 j 자리에 더했습니다. 메시지는 받는 노드 i(edge_index의 1행)에 더하세요.")
        raise Wrong("값이 Â h와 다릅니다. 차수를 자기 루프까지 포함해 세었는지, 메시지를 '받는' 노드(1행)에 더했는지 확인하세요.")
    edge_index = _large_graph()
    h = torch.randn(LARGE_NODES, 4, generator=g)
    inputs = [edge_index.clone(), h.clone()]
    with restoring():
        got, most = _largest_tensor(gcn_propagate, *inputs)
    if most >= LARGE_NODES * LARGE_NODES:
        raise Wrong(f"노드 {LARGE_NODES:,}개 그래프에서 원소가 {most:,}개인 텐서(N × N 행렬)를 만들었습니다. 이 연습은 N × N 행렬 없이, "
                    "엣지마다 메시지를 만들어 index_add_로 더하는 것입니다(노드가 수백만 개면 N × N 행렬은 메모리에 들어가지 않습니다).")
    got = _result(got, tuple(h.shape), "gcn_propagate(edge_index, h)", "h와 같은 모양")
    if not _close(got, _propagate(edge_index, h)):
        raise Wrong(f"작은 그래프에서는 맞는데 노드 {LARGE_NODES:,}개 그래프에서 값이 다릅니다. 노드 수를 h.shape[0]에서 얻었는지, "
                    "이웃이 없는 노드(노드 0)도 자기 루프로 자기 값을 받는지 확인하세요.")


@exercise("08.2")
def receptive_field(answer) -> None:
    """answer: the nodes whose features can change node 16's output in a 2-layer GCN (karate club)."""
    import networkx as nx

    got = set(as_numbers(answer, "answer_2", integer=True))
    graph = nx.karate_club_graph()
    distance = nx.single_source_shortest_path_length(graph, RECEPTIVE_NODE)
    expected = {v for v, d in distance.items() if d <= 2}
    one_hop = {v for v, d in distance.items() if d <= 1}
    exactly_two = {v for v, d in distance.items() if d == 2}
    if got == expected:
        print(f"실행 결과와 같습니다: 노드 {RECEPTIVE_NODE}의 출력은 {len(expected)}개 노드 {sorted(expected)}에 기댑니다. "
              "층마다 Â를 한 번 곱하므로 2층이면 2홉(이웃의 이웃)까지, 자기 루프 덕분에 자기 자신과 1홉 이웃도 포함됩니다.")
        return
    if got - set(graph.nodes):
        raise Wrong(f"가라테 클럽의 노드 번호는 0~{graph.number_of_nodes() - 1}입니다.")
    if got in (one_hop, one_hop - {RECEPTIVE_NODE}):
        raise Wrong("한 층(1홉)만큼만 셌습니다. 층이 2개이면 Â가 두 번 곱해집니다: 이웃의 이웃은요?")
    if got in (exactly_two, exactly_two | {RECEPTIVE_NODE}):
        raise Wrong("정확히 2홉 떨어진 노드만 셌습니다. 자기 루프(Ã = A + I)가 있으면 한 층에서 '제자리에 머무는' 경로도 "
                    "있으니, 더 가까운 노드는 어떨까요?")
    if got == expected - {RECEPTIVE_NODE}:
        raise Wrong(f"노드 {RECEPTIVE_NODE} 자신이 빠졌습니다. Ã = A + I의 자기 루프를 떠올려 보세요.")
    if any(distance.get(v, 99) > 2 for v in got):
        raise Wrong("2층 GCN으로는 닿지 않는 노드가 들어 있습니다. 층 하나는 엣지를 하나만 건넙니다: 3홉 이상 떨어진 노드는요?")
    raise Wrong("빠진 노드가 있습니다. 노드 16의 이웃을 하나씩 짚고, 그 이웃들의 이웃을 모두 셌나요? "
                "(그림이 겹쳐 보이면 club.graph[16]처럼 이웃 목록을 물어봐도 됩니다.)")


@exercise("08.3")
def grid_kernel(answer) -> None:
    """answer: (K, why): the 3x3 kernel K with conv2d(X, K, padding=1) == (A + I) X on the 4-neighbour grid
    graph, and the letter of the explanation why the border pixels agree too ("b": zero padding = no edge)."""
    pair = as_instance(answer, (tuple, list), "answer_3", "(커널, 기호) 쌍")
    if len(pair) != 2:
        raise Wrong(f"answer_3에는 (커널, 기호) 두 개를 넣으세요. 지금은 {len(pair)}개입니다.")
    why = as_choice(pair[1], "abc", "answer_3의 두 번째 값(설명의 기호)")
    try:
        got = torch.as_tensor(pair[0]).detach().cpu().float()
    except (TypeError, ValueError, RuntimeError):
        raise Wrong("answer_3의 첫 번째 값(커널)은 모양 (3, 3)인 텐서여야 합니다.") from None
    if tuple(got.shape) != (3, 3):
        raise Wrong(f"커널의 모양이 {tuple(got.shape)}입니다. (3, 3)이어야 합니다.")
    expected = torch.tensor([[0.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 0.0]])
    if not torch.allclose(got, expected):
        if got[1, 1] == 0:
            raise Wrong("가운데 값이 0입니다. Ã = A + I에서 I는 무엇을 더하나요?")
        if got[[0, 0, 2, 2], [0, 2, 0, 2]].abs().sum() > 0:
            raise Wrong("4-이웃 격자 그래프에서 대각선 방향 픽셀은 이웃이 아닙니다.")
        raise Wrong("(A + I)X에는 학습 가중치도 정규화도 없습니다. A + I의 0이 아닌 성분이 어떤 값인지 떠올려 보세요.")
    if why == "a":
        raise Wrong("커널은 맞습니다. 설명: (A + I)X에는 차수로 나누는 정규화가 없습니다. 가장자리에서 무엇이 '없는 이웃'을 대신하나요?")
    if why == "c":
        raise Wrong("커널은 맞습니다. 설명: padding=1이면 conv2d의 출력도 5×5, 가장자리 픽셀도 계산됩니다. "
                    "그때 창이 이미지 밖으로 나간 칸에는 무엇이 들어가나요?")
    print("가장자리 픽셀의 창이 이미지 밖으로 나간 칸은 padding=1이 0으로 채우므로 커널 값 × 0 = 0을 더하고, "
          "그래프에서는 그 자리에 이웃(엣지)이 없어 아무것도 더하지 않습니다. 둘 다 '그 이웃의 기여 = 0'입니다.")
