"""Checks for lesson 04 (clone / detach). Each raises ``Wrong(hint)``; no hint gives the answer.

>>> from helpers.exercises import check
>>> check("04.1", answer_1)
"""
from __future__ import annotations

from typing import Any, Callable

import torch

from helpers.exercises import Wrong, exercise


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


@exercise("04.2")
def best_snapshot(answer: Any, train_keep_best: Callable) -> None:
    """``answer``: a ``snapshot(model) -> dict`` whose restore gives the best validation loss."""
    if not callable(answer):
        raise Wrong("answer_2 에는 함수 snapshot(model) 자체를 넣으세요 (호출 결과가 아니라).")
    val_history, restored = train_keep_best(answer)
    if abs(restored - min(val_history)) > 1e-6:
        raise Wrong("되돌린 모델의 검증 손실이 최저값과 다릅니다. 저장해 둔 텐서가 학습이 계속되는 동안 "
                    "함께 바뀌고 있지 않은지 (메모리를 공유하는지) 확인하세요.")


@exercise("04.3")
def chain_rule(answer: Any) -> None:
    """``answer``: ``grads_by_hand(x, y) -> (df/dx, df/dy)`` for f = sin(xy) + x**2."""
    if not callable(answer):
        raise Wrong("answer_3 에는 함수 grads_by_hand 자체를 넣으세요.")
    for xv, yv in ((0.5, -1.0), (1.5, 2.0), (-2.0, 0.3), (0.0, 1.7)):
        xt = torch.tensor(xv, dtype=torch.float64, requires_grad=True)
        yt = torch.tensor(yv, dtype=torch.float64, requires_grad=True)
        gx, gy = torch.autograd.grad(torch.sin(xt * yt) + xt ** 2, (xt, yt))
        try:
            hx, hy = (float(v) for v in answer(xv, yv))
        except (TypeError, ValueError):
            raise Wrong("grads_by_hand(x, y)는 숫자 두 개 (df/dx, df/dy)를 돌려줘야 합니다.") from None
        if abs(hx - gx.item()) > 1e-6:
            raise Wrong(f"({xv}, {yv})에서 df/dx가 자동 미분과 다릅니다. 바깥 함수 sin의 미분에 안쪽 xy의 미분을 곱했는지, "
                        "x**2 항을 빠뜨리지 않았는지 보세요.")
        if abs(hy - gy.item()) > 1e-6:
            raise Wrong(f"({xv}, {yv})에서 df/dy가 자동 미분과 다릅니다. y에 대해 미분할 때 x는 상수입니다.")
