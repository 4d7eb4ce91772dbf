"""Checks for lesson 08 (그래프 신경망 기초). Hints help without giving the answer away."""
from __future__ import annotations

import torch

from helpers.exercises import Wrong, exercise

PATH_EDGES = [(0, 1), (1, 2), (2, 3), (3, 4)]   # exercise 08.1: the path 0 - 1 - 2 - 3 - 4
RECEPTIVE_NODE = 16                             # exercise 08.2: whose 2-layer receptive field


def _as_tensor(answer, shape: tuple[int, ...], what: str) -> torch.Tensor:
    try:
        t = torch.as_tensor(answer).detach().cpu().float()
    except (TypeError, ValueError, RuntimeError):
        raise Wrong(f"{what}은 텐서(torch.Tensor)여야 합니다.") from None
    if tuple(t.shape) != shape:
        raise Wrong(f"{what}의 모양이 {tuple(t.shape)}입니다. {shape}이어야 합니다.")
    return t


@exercise("08.1")
def normalized_path_adjacency(answer) -> None:
    """answer: Â = D̃^{-1/2}(A + I)D̃^{-1/2} of the 5-node path graph, a (5, 5) tensor."""
    from helpers.graphs import adjacency_matrix, normalized_adjacency

    a = adjacency_matrix(PATH_EDGES, 5)
    expected = normalized_adjacency(a)
    got = _as_tensor(answer, (5, 5), "Â")
    if torch.allclose(got, expected, atol=1e-4):
        return
    if torch.allclose(got.diagonal(), torch.zeros(5)):
        raise Wrong("대각 성분이 모두 0입니다. 자기 루프(self-loop)를 더한 Ã = A + I로 계산했나요?")
    if (got != 0).ne(expected != 0).any():
        raise Wrong("0이 아닌 자리가 그래프의 엣지(와 자기 루프)와 맞지 않습니다. 인접 행렬부터 다시 확인하세요.")
    if torch.allclose(got.sum(dim=1), torch.ones(5), atol=1e-4):
        raise Wrong("행의 합이 모두 1입니다. 그것은 D̃^{-1}Ã (행 정규화)입니다. 대칭 정규화는 양쪽에 D̃^{-1/2}를 곱합니다.")
    if not torch.allclose(got, got.T, atol=1e-4):
        raise Wrong("대칭 행렬이 아닙니다. D̃^{-1/2}를 왼쪽과 오른쪽에 모두 곱했나요?")
    raise Wrong("0이 아닌 자리는 맞지만 값이 다릅니다. 차수는 자기 루프를 더한 뒤(Ã의 행 합)로 세었나요? "
                "끝 노드 하나의 대각 성분을 손으로 계산해 비교해 보세요.")


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
