"""Checks for lesson 04 (clone / detach). Each raises ``Wrong(hint)``; no hint gives the answer.

>>> from helpers.exercises import check
>>> check("04.M1", answer_m1)
>>> check("04.1", answer_1)
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from helpers.exercises import Wrong, exercise

# exercise 04.3: which in-place snippet breaks backward() (x = [0.5, -1, 2], requires_grad=True)
INPLACE_SNIPPETS = {
    "a": "y = torch.exp(x)\ny.add_(1)\ny.sum().backward()",
    "b": "y = x * 3\ny.add_(1)\n(y * 2).sum().backward()",
    "c": "y = x + 1\ns = y.sum()\ny.mul_(2)\ns.backward()",
    "d": "y = torch.sigmoid(x)\ny.mul_(2)\ny.sum().backward()",
}


def _autograd_chain(xv: float, yv: float) -> dict[str, float]:
    """dz/dv, dz/du, dz/dx, dz/dy of z = (x*y + y)**2, by autograd (float64)."""
    x = torch.tensor(xv, dtype=torch.float64, requires_grad=True)
    y = torch.tensor(yv, dtype=torch.float64, requires_grad=True)
    u = x * y
    v = u + y
    for t in (u, v):
        t.retain_grad()
    (v ** 2).backward()
    return {"v": v.grad.item(), "u": u.grad.item(), "x": x.grad.item(), "y": y.grad.item()}


@exercise("04.M1")
def backprop_by_hand(answer: Any) -> None:
    """``answer``: ``backprop_by_hand(x, y) -> {"v", "u", "x", "y"}`` for z = (x*y + y)**2, equal to autograd."""
    if not callable(answer):
        raise Wrong("answer_m1 에는 함수 backprop_by_hand 자체를 넣으세요 (호출 결과가 아니라).")
    for xv, yv in ((1.5, 2.0), (-0.7, 0.4), (2.0, -3.0), (0.0, 1.25)):
        got = answer(xv, yv)
        if not isinstance(got, dict) or set(got) != {"v", "u", "x", "y"}:
            raise Wrong('딕셔너리 {"v": ..., "u": ..., "x": ..., "y": ...} 를 돌려주세요.')
        if any(isinstance(value, torch.Tensor) and value.requires_grad for value in got.values()):
            raise Wrong("자동 미분을 쓰지 말고 파이썬 숫자로만 계산하세요.")
        want = _autograd_chain(xv, yv)
        for key, hint in (("v", "z = v² 의 국소 미분부터 확인하세요."),
                          ("u", "v = u + y 에서 dv/du는 얼마인가요? 그 값을 dz/dv에 곱합니다."),
                          ("x", "u = x·y 에서 du/dx를 dz/du에 곱했나요?"),
                          ("y", "y는 두 곳(u와 v)에 쓰였습니다. 두 경로에서 온 기울기를 모두 모았나요?")):
            if abs(float(got[key]) - want[key]) > 1e-6 * max(1.0, abs(want[key])):
                raise Wrong(f"({xv}, {yv})에서 dz/d{key}가 자동 미분과 다릅니다. {hint}")


@exercise("04.1")
def detached_gradients(answer: Any) -> None:
    """``answer``: {"a": grad or None, "b": ..., "c": ...} for ``out = (a*b).detach()*c + b**2``."""
    if not isinstance(answer, dict) or set(answer) != {"a", "b", "c"}:
        raise Wrong('answer_1 에는 키가 "a", "b", "c" 인 딕셔너리를 넣으세요 (값은 None 또는 숫자).')
    a, b, c = (torch.tensor(v, requires_grad=True) for v in (4.0, 3.0, 5.0))
    out = (a * b).detach() * c + b ** 2
    out.backward()
    for name, t in (("a", a), ("b", b), ("c", c)):
        got, want = answer[name], (None if t.grad is None else t.grad.item())
        if (want is None) != (got is None):
            raise Wrong(f"{name}: 기울기가 '있다/없다'가 틀렸습니다. {name}에서 out까지 끊기지 않은 길이 있는지 따라가 보세요.")
        if want is not None and abs(float(got) - want) > 1e-6:
            raise Wrong(f"{name}: 값이 다릅니다. detach()된 값은 상수로 보고, 남은 길의 국소 미분을 곱해 보세요.")
    print(f"실행 결과: a.grad = {a.grad}, b.grad = {b.grad.item():g}, c.grad = {c.grad.item():g} (예측과 같음). "
          "a는 detach()로 끊긴 길로만 out에 닿으므로 기울기가 없고, b는 b**2 길만 남아 2b, c는 상수 h = ab에 곱해지므로 h입니다.")


@exercise("04.2")
def ema_copy(answer: Any) -> None:
    """``answer``: ``(make_ema, update_ema)``; the EMA copy is independent, outside the graph, and correct."""
    if not (isinstance(answer, tuple) and len(answer) == 2 and all(callable(f) for f in answer)):
        raise Wrong("answer_2 에는 함수 두 개의 튜플 (make_ema, update_ema)를 넣으세요.")
    make_ema, update_ema = answer
    g = torch.Generator().manual_seed(0)
    model = nn.Linear(3, 2)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    x, y = torch.randn(16, 3, generator=g), torch.randn(16, 2, generator=g)
    opt = torch.optim.SGD(model.parameters(), lr=0.2)
    decay = 0.8
    ema = make_ema(model)
    names = [n for n, _ in model.named_parameters()]
    if not isinstance(ema, dict) or not set(names) <= set(ema):
        raise Wrong(f"make_ema(model)는 파라미터 이름 {names}을 키로 하는 딕셔너리를 돌려줘야 합니다.")
    for name, p in model.named_parameters():
        if ema[name].untyped_storage().data_ptr() == p.untyped_storage().data_ptr():
            raise Wrong("EMA 텐서가 모델 파라미터와 같은 메모리를 씁니다. 옵티마이저가 파라미터를 고치면 사본도 같이 바뀝니다.")
    reference = {n: p.detach().clone().double() for n, p in model.named_parameters()}
    for _ in range(4):
        loss = F.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        update_ema(ema, model, decay)
        for n, p in model.named_parameters():
            reference[n] = decay * reference[n] + (1 - decay) * p.detach().double()
    for name, p in model.named_parameters():
        t = ema[name]
        if t.requires_grad or t.grad_fn is not None:
            raise Wrong("EMA 텐서가 계산 그래프에 들어 있습니다 (requires_grad 또는 grad_fn). 만들 때와 갱신할 때 "
                        "자동 미분이 기록하지 않게 하세요.")
        if not torch.allclose(t.double(), reference[name], atol=1e-5):
            if torch.allclose(t, p.detach()):
                raise Wrong("EMA가 현재 가중치와 똑같습니다. 사본이 모델과 메모리를 공유하거나, 평균이 아니라 현재 값을 "
                            "그대로 넣고 있지 않은지 보세요.")
            raise Wrong("EMA 값이 다릅니다. 스텝마다 한 번, decay는 이전 EMA 쪽에, (1 - decay)는 현재 가중치 쪽에 곱했는지 보세요.")
    print("EMA 사본: 메모리는 따로, 그래프 밖, 값은 스텝마다 decay·이전 + (1 - decay)·현재.")


def _raises(snippet: str) -> bool:
    try:
        exec(snippet, {"torch": torch, "x": torch.tensor([0.5, -1.0, 2.0], requires_grad=True)})
    except RuntimeError:
        return True
    return False


@exercise("04.3")
def inplace_prediction(answer: Any) -> None:
    """``answer``: the set of snippet letters whose ``backward()`` raises (predicted before running)."""
    try:
        got = {str(v).strip().lower() for v in answer}
    except TypeError:
        raise Wrong('answer_3 에는 글자의 집합을 넣으세요. 예: {"b"} 또는 set()') from None
    if not got <= set(INPLACE_SNIPPETS):
        raise Wrong(f"고를 수 있는 글자는 {sorted(INPLACE_SNIPPETS)}뿐입니다.")
    raised = {letter for letter, snippet in INPLACE_SNIPPETS.items() if _raises(snippet)}
    if got != raised:
        raise Wrong("예측이 실행 결과와 다릅니다. 제자리 연산은 그 텐서가 역전파를 위해 저장된 경우에만 문제가 됩니다. "
                    "조각마다 '이 연산의 미분을 계산하려면 어떤 값이 필요한가?'를 물어보세요. 미분이 상수인 연산은 아무것도 저장하지 않습니다.")
    print(f"실행 결과: {sorted(raised)}에서 오류. exp의 미분은 exp(x) = y, sigmoid의 미분은 y(1 - y)라서 자기 출력 y를 저장합니다. "
          "3x와 x + 1, sum의 미분은 상수라서 y를 고쳐도 역전파에 영향이 없습니다.")
