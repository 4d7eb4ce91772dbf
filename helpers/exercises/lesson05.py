"""Checks for lesson 05 (softmax / log-softmax). Each raises ``Wrong(hint)``; no hint gives the answer.

The lesson may set ``torch.set_default_device``; checks build their own inputs on the CPU explicitly
and never read the student's variables (an edited ``example`` or ``temperatures`` changes nothing).
The references are computed by another route than the exercises' answers (the entropy as
``LSE(z) - E_p[z]`` in float64, the log-softmax by torch itself), so this file does not spell them out.

>>> from helpers.exercises import check
>>> check("05.M1", answer_m1)
"""
from __future__ import annotations

import math
import re
from typing import Any

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from helpers.exercises import Wrong, as_function, as_number, as_numbers, exercise

_EXTREME = [[1000.0, 0.0, -1000.0], [0.0, -200.0, 50.0], [1e4, -1e4, 3.0]]
# 05.M1 tolerance: float32 rounding grows with the size of the value (|log p| reaches 2e4 on _EXTREME)
ATOL, RTOL = 1e-5, 1e-5
# 05.2: the lesson's example row and temperatures, owned here
EXAMPLE = [[2.0, 1.0, 0.1, -1.2, 3.0]]
TEMPERATURES = (0.5, 1.0, 2.0, 5.0)
# the names of torch's own log-softmax / log-sum-exp kernels (any spelling: torch., F., Tensor., special., _)
_BUILTIN = ("log_softmax", "logsumexp", "logcumsumexp")
# torch's messages for tensors on two devices (CUDA's index error, the mixing error, a tensor on an unexpected device)
_DEVICE_ERROR = re.compile(r"same device|expected device|should be either on cpu")


def _inputs() -> list[torch.Tensor]:
    g = torch.Generator(device="cpu").manual_seed(0)
    return [torch.tensor(_EXTREME, device="cpu"), torch.randn(6, 5, generator=g, device="cpu") * 3,
            torch.randn(4, 5, generator=g, device="cpu") * 1e4]


class _BuiltinUsed(Exception):
    pass


class _NoBuiltinLogSoftmax(TorchFunctionMode):
    """Inside: any torch function whose name holds log_softmax / logsumexp / logcumsumexp raises,
    however it is reached (``torch.special.logsumexp``, ``torch._log_softmax``, a Tensor method)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "") or ""
        if any(word in name for word in _BUILTIN):
            raise _BuiltinUsed(name)
        return func(*args, **(kwargs or {}))


def _call_by_hand(fn, *args, **kwargs):
    try:
        with _NoBuiltinLogSoftmax():
            return fn(*args, **kwargs)
    except _BuiltinUsed as used:
        raise Wrong(f"torch의 {used}를 불렀습니다. log_softmax, logsumexp 계열은 쓰지 말고 "
                    "amax(또는 max), exp, sum, log로 직접 계산하세요.") from None


@exercise("05.M1")
def log_softmax_by_hand(answer: Any) -> None:
    """``answer``: ``my_log_softmax(x, dim=1)`` written with the log-sum-exp trick; values and gradients equal torch's."""
    fn = as_function(answer, "answer_m1", "my_log_softmax")
    for x in _inputs():
        xg = x.clone().requires_grad_(True)
        out = _call_by_hand(fn, xg)
        if not isinstance(out, torch.Tensor) or out.shape != x.shape:
            raise Wrong("my_log_softmax(x)는 x와 같은 모양의 텐서를 돌려줘야 합니다. 최댓값과 합에 keepdim=True를 썼는지 보세요.")
        if torch.isnan(out).any():
            raise Wrong("큰 로짓에서 nan이 나옵니다. exp를 계산하기 전에 무엇을 빼면 exp가 1을 넘지 않을까요?")
        if torch.isinf(out).any():
            raise Wrong("-inf가 나옵니다. 확률을 먼저 만들고 log를 취하면 아주 작은 확률이 0이 됩니다. 로그 공간에서 바로 계산하세요.")
        ref = torch.log_softmax(x, dim=1)
        if not torch.allclose(out.detach().cpu(), ref, atol=ATOL, rtol=RTOL):
            raise Wrong("값이 torch.log_softmax와 다릅니다. 빼는 값(최댓값)을 마지막에 다시 고려했는지, 합을 구하는 축(dim)과 keepdim을 확인하세요.")
        if not out.requires_grad:
            raise Wrong("값은 맞지만 결과가 계산 그래프에서 떨어져 있습니다(기울기가 흐르지 않음). detach(), .item(), NumPy를 쓰지 않았는지 보세요.")
        weights = torch.randn(x.shape, generator=torch.Generator(device="cpu").manual_seed(2), device="cpu")
        (out * weights.to(out.device)).sum().backward()
        xr = x.clone().requires_grad_(True)
        (torch.log_softmax(xr, dim=1) * weights).sum().backward()
        if xg.grad is None or not torch.allclose(xg.grad.cpu(), xr.grad, atol=ATOL, rtol=RTOL):
            raise Wrong("값은 맞지만 기울기가 다릅니다. 중간에 detach()나 .item(), NumPy를 쓰지 않았는지 보세요.")
    x = _inputs()[1].T.contiguous()                     # (5, 6): dim=0 is not the class axis of the rows above
    out0 = _call_by_hand(fn, x, dim=0)
    if not isinstance(out0, torch.Tensor) or out0.shape != x.shape or \
            not torch.allclose(out0.detach().cpu(), torch.log_softmax(x, dim=0), atol=ATOL, rtol=RTOL):
        raise Wrong("dim=0을 주었을 때 결과가 다릅니다. dim 인자를 최댓값과 합 모두에 쓰세요(1을 고정해 두지 말고).")


@exercise("05.1")
def float16_overflow(answer: Any) -> None:
    """``answer``: the first integer n with exp(n) = inf in float16, predicted before running."""
    predicted = as_number(answer, "answer_1", integer=True, tensor=False)
    n = torch.arange(0, 40, dtype=torch.float16, device="cpu")
    overflow = torch.isinf(torch.exp(n))
    first_inf = int(overflow.nonzero()[0, 0])
    if predicted != first_inf:
        raise Wrong("예측이 실행 결과와 다릅니다. 3절에서 float32가 넘치기 시작한 지점(89)과 float32의 최댓값이 "
                    "어떤 관계였는지 다시 보고, 같은 관계를 float16에 적용해 보세요.")
    print(f"실행 결과: float16에서 exp({first_inf - 1}) = {float(torch.exp(n[first_inf - 1])):.0f}는 표현되고 "
          f"exp({first_inf})는 inf입니다(ln 65504 = {math.log(torch.finfo(torch.float16).max):.2f}). "
          f"로짓이 {first_inf}만 되어도 float16의 순진한 소프트맥스는 nan이 됩니다.")


def _entropy_reference(temperature: float) -> float:
    """H(softmax(z)) = LSE(z) - sum_i p_i z_i, z = example / T, in float64 (another route than -sum p log p)."""
    z = torch.tensor(EXAMPLE, dtype=torch.float64, device="cpu")[0] / temperature
    m = max(z.tolist())
    lse = m + math.log(sum(math.exp(v - m) for v in z.tolist()))
    return lse - sum(math.exp(v - lse) * v for v in z.tolist())


@exercise("05.2")
def temperature_entropies(answer: Any, **_ignored: Any) -> None:
    """``answer``: the entropy of softmax(example / T) for T = 0.5, 1, 2, 5, in that order.

    The example row and the temperatures are the check's own (``EXAMPLE``, ``TEMPERATURES``); any
    ``example=`` / ``temperatures=`` passed in by an older check cell are ignored."""
    got = as_numbers(answer, "answer_2", length=len(TEMPERATURES))
    want = [_entropy_reference(t) for t in TEMPERATURES]

    def close(a, b):
        return all(abs(x - y) <= 1e-4 for x, y in zip(a, b))

    if close(got, want):
        return
    if close(got, want[::-1]):
        raise Wrong("값은 맞는데 순서가 거꾸로입니다. temperatures의 순서(0.5, 1, 2, 5) 그대로 하나씩 넣으세요.")
    for base in (2.0, 10.0):
        if close(got, [w / math.log(base) for w in want]):
            raise Wrong(f"밑이 {base:g}인 로그를 썼습니다. 엔트로피는 자연로그(torch.log)로 계산하세요.")
    if all(abs(g) <= 1e-6 for g in got):
        raise Wrong("엔트로피가 모두 0입니다. 소프트맥스를 클래스 축(dim=1)으로 했는지 보세요(dim=0이면 원소 하나짜리 분포).")
    if close(got, [_entropy_reference(1 / t) for t in TEMPERATURES]):
        raise Wrong("온도가 반대로 작용합니다. 로짓에 T를 곱하지 말고 T로 나누세요.")
    if all(g < 0 for g in got):
        raise Wrong("엔트로피가 음수입니다. -Σ p·log p의 앞에 붙는 음수 부호를 확인하세요.")
    raise Wrong("엔트로피 값이 다릅니다. 로짓을 T로 나눈 뒤 소프트맥스를 했는지, -Σ p·log p (자연로그)를 썼는지 보세요.")


@exercise("05.3")
def smoothed_cross_entropy(answer: Any) -> None:
    """``answer``: ``smoothed_cross_entropy(logits, labels, eps)`` equal to ``F.cross_entropy(..., label_smoothing=eps)``."""
    fn = as_function(answer, "answer_3", "smoothed_cross_entropy")
    g = torch.Generator(device="cpu").manual_seed(1)
    for x in _inputs():
        labels = torch.randint(0, x.shape[1], (len(x),), generator=g, device="cpu")
        for eps in (0.0, 0.1, 0.3):
            try:
                out = fn(x, labels, eps)
            except Wrong as error:
                if _DEVICE_ERROR.search(str(error)):
                    raise Wrong("함수 안에서 만든 텐서가 입력 logits와 다른 장치에 있습니다. 확인 셀은 CPU 텐서를 넘기는데, "
                                "설정 셀의 torch.set_default_device 때문에 torch.arange, torch.zeros 같은 새 텐서는 GPU에 생깁니다. "
                                f"새로 만드는 텐서에 device=logits.device를 주세요. ({error})") from None
                raise
            if not isinstance(out, torch.Tensor) or out.dim() != 0:
                raise Wrong("배치 평균 손실, 즉 스칼라 텐서 하나를 돌려주세요.")
            if not torch.isfinite(out):
                raise Wrong("극단적인 로짓에서 inf/nan이 나옵니다. 확률을 거치지 말고 로그 확률을 바로 쓰세요.")
            ref = F.cross_entropy(x, labels, label_smoothing=eps)
            if not torch.allclose(out.detach().cpu(), ref, rtol=1e-4, atol=1e-4):
                if eps == 0.0:
                    raise Wrong("eps = 0 (스무딩 없음)에서도 다릅니다. 행마다 정답 클래스의 로그 확률에 음수를 붙여 평균했는지부터 보세요.")
                raise Wrong(f"eps = {eps}에서 다릅니다. 목표 분포 q가 모든 클래스(정답 포함)에 eps / C, 정답에 1 - eps를 더 얹었는지, "
                            "그리고 q의 합이 1인지 확인하세요.")
