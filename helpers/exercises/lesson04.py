"""Checks for lesson 04 (clone / detach). Each raises ``Wrong(hint)``; no hint gives the answer.

>>> from helpers.exercises import check
>>> check("04.M1", answer_m1)
>>> check("04.1", answer_1)
"""
from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from helpers.exercises import Wrong, as_choice, as_function, as_instance, as_number, exercise

# exercise 04.3: which in-place snippet breaks backward() (x = [0.5, -1, 2], requires_grad=True)
INPLACE_SNIPPETS = {
    "a": "y = torch.exp(x)\ny.add_(1)\ny.sum().backward()",
    "b": "y = x * 3\ny.add_(1)\n(y * 2).sum().backward()",
    "c": "y = x + 1\ns = y.sum()\ny.mul_(2)\ns.backward()",
    "d": "y = torch.sigmoid(x)\ny.mul_(2)\ny.sum().backward()",
}

# exercise 04.M1: one neuron, s = w*x + b, q = sigmoid(s), L = (q - t)**2; points where the usual slips differ
NEURON_POINTS = ((0.5, 2.0, -0.3, 1.0), (-1.2, 0.7, 0.4, 0.0), (2.0, -1.5, 1.0, 1.0), (0.3, 3.0, -2.0, 0.0))


def _autograd_neuron(w: float, x: float, b: float, t: float) -> dict[str, float]:
    """dL/dq, dL/ds, dL/dw, dL/db by autograd (float64)."""
    wt, bt = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (w, b))
    s = wt * x + bt
    q = torch.sigmoid(s)
    for node in (s, q):
        node.retain_grad()
    ((q - t) ** 2).backward()
    return {"q": q.grad.item(), "s": s.grad.item(), "w": wt.grad.item(), "b": bt.grad.item()}


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(b))


@exercise("04.M1")
def neuron_backprop(answer: Any) -> None:
    """``answer``: ``neuron_backprop(w, x, b, t) -> {"q", "s", "w", "b"}`` (plain floats), equal to autograd.

    The keys are checked in the order the backward pass visits them, so the first wrong one is the
    student's first slip; for each, the usual slips are recognised by value and named."""
    backprop = as_function(answer, "answer_m1", "neuron_backprop")
    for w, x, b, t in NEURON_POINTS:
        got = backprop(w, x, b, t)
        if not isinstance(got, dict) or set(got) != {"q", "s", "w", "b"}:
            raise Wrong('딕셔너리 {"q": ..., "s": ..., "w": ..., "b": ...}를 돌려주세요 (키 네 개).')
        if any(isinstance(value, torch.Tensor) for value in got.values()):
            raise Wrong("텐서와 자동 미분을 쓰지 말고 파이썬 float(math.exp 등)로만 계산하세요. 이 연습은 backward()가 하는 일을 손으로 하는 것입니다.")
        got = {key: as_number(value, f"dL/d{key}") for key, value in got.items()}
        want = _autograd_neuron(w, x, b, t)
        s = w * x + b
        q = 1 / (1 + math.exp(-s))
        point = f"(w, x, b, t) = ({w}, {x}, {b}, {t})에서"
        if not _close(got["q"], want["q"]):
            if _close(got["q"], -want["q"]):
                raise Wrong(f"{point} dL/dq의 부호가 반대입니다. L = (q − t)²을 q로 미분하세요(t − q가 아니라).")
            if _close(got["q"], want["q"] / 2):
                raise Wrong(f"{point} dL/dq가 절반입니다. 제곱의 미분에서 나오는 계수를 빠뜨리지 않았나요?")
            raise Wrong(f"{point} dL/dq가 자동 미분과 다릅니다. 마지막 연산 L = (q − t)²의 국소 미분부터 확인하세요.")
        if not _close(got["s"], want["s"]):
            if _close(got["s"], want["q"]):
                raise Wrong(f"{point} dL/ds가 dL/dq와 같습니다. q = σ(s)의 국소 미분 dq/ds를 곱하지 않았습니다.")
            if _close(got["s"], want["q"] * s * (1 - s)):
                raise Wrong(f"{point} dL/ds가 다릅니다. σ'(s) = σ(s)(1 − σ(s))는 입력 s가 아니라 출력 q = σ(s)로 계산합니다.")
            if _close(got["s"], want["q"] * q):
                raise Wrong(f"{point} dL/ds가 다릅니다. σ의 국소 미분은 σ(s) 하나가 아니라 σ(s)(1 − σ(s))입니다.")
            raise Wrong(f"{point} dL/ds가 자동 미분과 다릅니다. dL/dq에 q = σ(s)의 국소 미분을 곱합니다.")
        if not _close(got["w"], want["w"]):
            if _close(got["w"], want["s"] * w):
                raise Wrong(f"{point} dL/dw가 다릅니다. s = w·x + b에서 ds/dw는 w가 아니라 곱해진 다른 쪽입니다.")
            raise Wrong(f"{point} dL/dw가 자동 미분과 다릅니다. dL/ds에 s = w·x + b의 국소 미분 ds/dw를 곱합니다.")
        if not _close(got["b"], want["b"]):
            raise Wrong(f"{point} dL/db가 자동 미분과 다릅니다. 덧셈 노드는 받은 기울기를 그대로(× 1) 넘깁니다.")


@exercise("04.1")
def detached_gradients(answer: Any) -> None:
    """``answer``: {"a": grad or None, "b": ..., "c": ...} for ``out = (a*b).detach()*c + b**2``.

    A predict exercise: the hint says how many of the three values are wrong, never which one
    (otherwise a, b and c could be fixed one at a time by trial)."""
    prediction = as_instance(answer, dict, "answer_1", '키가 "a", "b", "c"인 딕셔너리')
    if set(prediction) != {"a", "b", "c"}:
        raise Wrong('answer_1에는 키가 "a", "b", "c"인 딕셔너리를 넣으세요 (값은 None 또는 숫자).')
    values = {k: None if v is None else as_number(v, f'answer_1["{k}"]') for k, v in prediction.items()}
    a, b, c = (torch.tensor(v, requires_grad=True) for v in (4.0, 3.0, 5.0))
    out = (a * b).detach() * c + b ** 2
    out.backward()
    wrong = 0
    for name, t in (("a", a), ("b", b), ("c", c)):
        got, want = values[name], (None if t.grad is None else t.grad.item())
        if (want is None) != (got is None) or (want is not None and abs(got - want) > 1e-6):
            wrong += 1
    if wrong:
        raise Wrong(f"세 값 중 {wrong}개가 실행 결과와 다릅니다. 변수마다 out까지 끊기지 않은 길이 있는지(없으면 None), "
                    "detach()된 값은 상수로 보고 남은 길의 국소 미분을 곱해 보세요.")
    print(f"실행 결과: a.grad = {a.grad}, b.grad = {b.grad.item():g}, c.grad = {c.grad.item():g} (예측과 같음). "
          "a는 detach()로 끊긴 길로만 out에 닿으므로 기울기가 없고, b는 b**2 길만 남아 2b, c는 상수 h = ab에 곱해지므로 h입니다.")


@exercise("04.2")
def ema_copy(answer: Any) -> None:
    """``answer``: ``(make_ema, update_ema)``; the EMA copy is independent, outside the graph, and correct."""
    pair = as_instance(answer, (tuple, list), "answer_2", "함수 두 개의 튜플 (make_ema, update_ema)")
    if len(pair) != 2:
        raise Wrong("answer_2에는 함수 두 개의 튜플 (make_ema, update_ema)를 넣으세요.")
    make_ema, update_ema = as_function(pair[0], "answer_2[0]", "make_ema"), as_function(pair[1], "answer_2[1]", "update_ema")
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
        if not isinstance(ema[name], torch.Tensor):
            raise Wrong(f"ema[{name!r}]가 텐서가 아닙니다({type(ema[name]).__name__}). 파라미터마다 텐서 사본을 넣으세요.")
        if ema[name].untyped_storage().data_ptr() == p.untyped_storage().data_ptr():
            raise Wrong("EMA 텐서가 모델 파라미터와 같은 메모리를 씁니다. 옵티마이저가 파라미터를 고치면 사본도 같이 바뀝니다.")
        if ema[name].requires_grad or ema[name].grad_fn is not None:
            raise Wrong("make_ema가 만든 텐서가 계산 그래프에 들어 있습니다 (requires_grad 또는 grad_fn). 복사하기 전에 그래프에서 떼어 내세요.")
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
            raise Wrong("갱신한 EMA 텐서가 계산 그래프에 들어 있습니다 (requires_grad 또는 grad_fn). 갱신을 자동 미분이 "
                        "기록하지 않게 하세요.")
        if not torch.allclose(t.double(), reference[name], atol=1e-5):
            if torch.allclose(t, p.detach()):
                raise Wrong("EMA가 현재 가중치와 똑같습니다. 평균이 아니라 현재 값을 그대로 넣고 있지 않은지 보세요.")
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
    """``answer``: the set of snippet letters whose ``backward()`` raises (predicted before running).

    A predict exercise: a wrong set gets the question to ask, not the rule or the result."""
    letters = as_instance(answer, (set, frozenset, list, tuple), "answer_3", '글자의 집합(예: {"b"} 또는 set())')
    got = {as_choice(v, "".join(INPLACE_SNIPPETS), "answer_3의 원소") for v in letters}
    raised = {letter for letter, snippet in INPLACE_SNIPPETS.items() if _raises(snippet)}
    if got != raised:
        raise Wrong("예측이 실행 결과와 다릅니다. 조각마다 '제자리에서 고친 텐서를, 이 그래프의 어느 연산이 자기 국소 미분을 "
                    "계산하려고 저장해 두었을까?'를 물어보세요.")
    print(f"실행 결과: {sorted(raised)}에서 오류. exp의 미분은 exp(x) = y, sigmoid의 미분은 y(1 - y)라서(직접 구현에서 σ'을 출력 q로 쓴 것처럼) 자기 출력 y를 저장합니다. "
          "3x와 x + 1, sum의 미분은 상수라서 y를 고쳐도 역전파에 영향이 없습니다.")
