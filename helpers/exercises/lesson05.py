"""Checks for lesson 05 (softmax / log-softmax). Each raises ``Wrong(hint)``; no hint gives the answer.

The lesson may set ``torch.set_default_device``; checks build their inputs on the CPU explicitly.

>>> from helpers.exercises import check
>>> check("05.1", answer_1)
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn.functional as F

from helpers.exercises import Wrong, exercise

_EXTREME = [[1000.0, 0.0, -1000.0], [0.0, -200.0, 50.0], [1e4, -1e4, 3.0]]


def _inputs() -> list[torch.Tensor]:
    g = torch.Generator(device="cpu").manual_seed(0)
    return [torch.tensor(_EXTREME, device="cpu"), torch.randn(6, 5, generator=g, device="cpu") * 3, torch.randn(4, 5, generator=g, device="cpu") * 1e4]


@exercise("05.1")
def stable_softmax(answer: Any) -> None:
    """``answer``: ``my_softmax(x, dim=1)`` without overflow, equal to ``torch.softmax``."""
    if not callable(answer):
        raise Wrong("answer_1 에는 함수 my_softmax 자체를 넣으세요.")
    for x in _inputs():
        out = answer(x)
        if not isinstance(out, torch.Tensor) or out.shape != x.shape:
            raise Wrong("my_softmax(x)는 x와 같은 모양의 텐서를 돌려줘야 합니다.")
        if not torch.isfinite(out).all():
            raise Wrong("큰 로짓에서 nan/inf가 나옵니다. exp를 계산하기 전에 무엇을 빼면 exp가 1을 넘지 않을까요?")
        if not torch.allclose(out, torch.softmax(x, dim=1), atol=1e-6):
            raise Wrong("값이 torch.softmax와 다릅니다. 합을 구하는 축(dim)과 keepdim을 확인하세요.")
    x = _inputs()[1]
    if not torch.allclose(answer(x, dim=0), torch.softmax(x, dim=0), atol=1e-6):
        raise Wrong("dim=0을 주었을 때 결과가 다릅니다. dim 인자를 최댓값과 합 모두에 쓰세요.")


@exercise("05.2")
def temperature_entropies(answer: Any, example: torch.Tensor, temperatures: Sequence[float]) -> None:
    """``answer``: the entropy of softmax(example / T) for each T, in the order of ``temperatures``."""
    try:
        got = [float(v) for v in answer]
    except TypeError:
        raise Wrong("answer_2 에는 온도마다 엔트로피 하나씩, 숫자의 리스트를 넣으세요.") from None
    if len(got) != len(temperatures):
        raise Wrong(f"온도가 {len(temperatures)}개이니 엔트로피도 {len(temperatures)}개여야 합니다.")
    want = []
    for t in temperatures:
        p = torch.softmax(example.cpu().double() / t, dim=1)
        want.append(float(-(p * torch.log(p)).sum()))
    if any(abs(g - w) > 1e-4 for g, w in zip(got, want)):
        raise Wrong("엔트로피 값이 다릅니다. 로짓을 T로 나눈 뒤 소프트맥스를 했는지, -Σ p·log p (자연로그)를 썼는지 보세요.")


@exercise("05.3")
def cross_entropy(answer: Any) -> None:
    """``answer``: ``my_cross_entropy(logits, labels)`` equal to ``F.cross_entropy``, finite on extreme logits."""
    if not callable(answer):
        raise Wrong("answer_3 에는 함수 my_cross_entropy 자체를 넣으세요.")
    g = torch.Generator(device="cpu").manual_seed(1)
    for x in _inputs():
        labels = torch.randint(0, x.shape[1], (len(x),), generator=g, device="cpu")
        out = answer(x, labels)
        if not isinstance(out, torch.Tensor) or out.dim() != 0:
            raise Wrong("my_cross_entropy는 배치 평균 손실, 즉 스칼라 텐서 하나를 돌려줘야 합니다.")
        if not torch.isfinite(out):
            raise Wrong("극단적인 로짓에서 inf/nan이 나옵니다. 확률을 거치지 말고 로그 확률을 바로 쓰세요.")
        if not torch.allclose(out, F.cross_entropy(x, labels), atol=1e-4):
            raise Wrong("값이 F.cross_entropy와 다릅니다. 행마다 '정답 클래스'의 로그 확률만 골랐는지, 부호와 평균을 확인하세요.")
