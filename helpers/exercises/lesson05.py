"""Checks for lesson 05 (softmax / log-softmax). Each raises ``Wrong(hint)``; no hint gives the answer.

The lesson may set ``torch.set_default_device``; checks build their inputs on the CPU explicitly.

>>> from helpers.exercises import check
>>> check("05.M1", answer_m1)
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Sequence

import torch
import torch.nn.functional as F

from helpers.exercises import Wrong, exercise

_EXTREME = [[1000.0, 0.0, -1000.0], [0.0, -200.0, 50.0], [1e4, -1e4, 3.0]]


def _inputs() -> list[torch.Tensor]:
    g = torch.Generator(device="cpu").manual_seed(0)
    return [torch.tensor(_EXTREME, device="cpu"), torch.randn(6, 5, generator=g, device="cpu") * 3, torch.randn(4, 5, generator=g, device="cpu") * 1e4]


@contextmanager
def _no_builtin_log_softmax():
    """Inside: torch's own log_softmax / logsumexp raise, so a check sees whether the student wrote the trick."""
    def refuse(*args, **kwargs):
        raise _BuiltinUsed
    targets = [(torch, "log_softmax"), (torch, "logsumexp"), (F, "log_softmax"),
               (torch.Tensor, "log_softmax"), (torch.Tensor, "logsumexp"), (torch.special, "log_softmax")]
    saved = [(obj, name, getattr(obj, name)) for obj, name in targets]
    try:
        for obj, name in targets:
            setattr(obj, name, refuse)
        yield
    finally:
        for obj, name, original in saved:
            setattr(obj, name, original)


class _BuiltinUsed(Exception):
    pass


@exercise("05.M1")
def log_softmax_by_hand(answer: Any) -> None:
    """``answer``: ``my_log_softmax(x, dim=1)`` written with the log-sum-exp trick; values and gradients equal torch's."""
    if not callable(answer):
        raise Wrong("answer_m1 에는 함수 my_log_softmax 자체를 넣으세요.")
    for x in _inputs():
        xg = x.clone().requires_grad_(True)
        try:
            with _no_builtin_log_softmax():
                out = answer(xg)
        except _BuiltinUsed:
            raise Wrong("torch.log_softmax / F.log_softmax / torch.logsumexp 를 부르지 말고 amax, exp, sum, log로 직접 계산하세요.") from None
        if not isinstance(out, torch.Tensor) or out.shape != x.shape:
            raise Wrong("my_log_softmax(x)는 x와 같은 모양의 텐서를 돌려줘야 합니다.")
        if torch.isnan(out).any():
            raise Wrong("큰 로짓에서 nan이 나옵니다. exp를 계산하기 전에 무엇을 빼면 exp가 1을 넘지 않을까요?")
        if torch.isinf(out).any():
            raise Wrong("-inf가 나옵니다. 확률을 먼저 만들고 log를 취하면 아주 작은 확률이 0이 됩니다. 로그 공간에서 바로 계산하세요.")
        ref = torch.log_softmax(x, dim=1)
        if not torch.allclose(out.detach(), ref, atol=1e-5):
            raise Wrong("값이 torch.log_softmax와 다릅니다. 빼는 값(최댓값)을 마지막에 다시 고려했는지, 합을 구하는 축(dim)과 keepdim을 확인하세요.")
        weights = torch.randn(x.shape, generator=torch.Generator(device="cpu").manual_seed(2), device="cpu")
        (out * weights).sum().backward()
        xr = x.clone().requires_grad_(True)
        (torch.log_softmax(xr, dim=1) * weights).sum().backward()
        if xg.grad is None or not torch.allclose(xg.grad, xr.grad, atol=1e-5):
            raise Wrong("값은 맞지만 기울기가 다릅니다. 중간에 detach()나 .item(), NumPy를 쓰지 않았는지 보세요.")
    x = _inputs()[1]
    with _no_builtin_log_softmax():
        out0 = answer(x, dim=0)
    if not torch.allclose(out0, torch.log_softmax(x, dim=0), atol=1e-5):
        raise Wrong("dim=0을 주었을 때 결과가 다릅니다. dim 인자를 최댓값과 합 모두에 쓰세요.")


@exercise("05.1")
def float16_overflow(answer: Any) -> None:
    """``answer``: the first integer n with exp(n) = inf in float16, predicted before running."""
    if isinstance(answer, bool) or not isinstance(answer, (int, float)) or float(answer) != int(answer):
        raise Wrong("answer_1 에는 정수 하나를 넣으세요.")
    n = torch.arange(0, 40, dtype=torch.float16, device="cpu")
    first_inf = int(n[torch.isinf(torch.exp(n))][0])
    if int(answer) != first_inf:
        raise Wrong("예측이 실행 결과와 다릅니다. e^n 이 float16의 최댓값을 넘는 첫 정수를 찾으려면 그 최댓값에 자연로그를 취해 보세요.")
    print(f"실행 결과: float16에서 exp({first_inf - 1}) = {float(torch.exp(n[first_inf - 1])):.0f}는 표현되고 exp({first_inf})는 inf입니다. "
          f"로짓이 {first_inf}만 되어도 순진한 소프트맥스는 nan이 됩니다. 그래서 자동 혼합 정밀도(autocast)는 "
          "exp, softmax, log_softmax, 손실 함수를 float32로 계산합니다.")


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
def smoothed_cross_entropy(answer: Any) -> None:
    """``answer``: ``smoothed_cross_entropy(logits, labels, eps)`` equal to ``F.cross_entropy(..., label_smoothing=eps)``."""
    if not callable(answer):
        raise Wrong("answer_3 에는 함수 smoothed_cross_entropy 자체를 넣으세요.")
    g = torch.Generator(device="cpu").manual_seed(1)
    for x in _inputs():
        labels = torch.randint(0, x.shape[1], (len(x),), generator=g, device="cpu")
        for eps in (0.0, 0.1, 0.3):
            out = answer(x, labels, eps)
            if not isinstance(out, torch.Tensor) or out.dim() != 0:
                raise Wrong("배치 평균 손실, 즉 스칼라 텐서 하나를 돌려주세요.")
            if not torch.isfinite(out):
                raise Wrong("극단적인 로짓에서 inf/nan이 나옵니다. 확률을 거치지 말고 로그 확률을 바로 쓰세요.")
            ref = F.cross_entropy(x, labels, label_smoothing=eps)
            if not torch.allclose(out, ref, rtol=1e-4, atol=1e-4):
                if eps == 0.0:
                    raise Wrong("eps = 0 (스무딩 없음)에서도 다릅니다. 행마다 정답 클래스의 로그 확률에 음수를 붙여 평균했는지부터 보세요.")
                raise Wrong(f"eps = {eps}에서 다릅니다. 목표 분포 q가 모든 클래스(정답 포함)에 eps / C, 정답에 1 - eps를 더 얹었는지, "
                            "그리고 q의 합이 1인지 확인하세요.")
