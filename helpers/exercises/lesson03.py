"""Checks for lesson 03 (fine-tuning). Each raises ``Wrong(hint)``; no hint gives the answer.

>>> from helpers.exercises import check
>>> check("03.1", answer_1)
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from helpers.exercises import Wrong, exercise

STRATEGY_NAMES = ("head_only", "some_conv_and_head", "top_conv_and_head", "whole_model")
CASES = {"chest x-ray": (40_000, False), "shop products": (300, True), "satellite": (800, False)}


def _rule(n_images: int, similar: bool, small_limit: int = 1_000) -> str:
    if n_images < small_limit:
        return "head_only" if similar else "some_conv_and_head"
    return "top_conv_and_head" if similar else "whole_model"


@exercise("03.1")
def strategies(answer: Any) -> None:
    """``answer``: {case: strategy name} for the three datasets of the task."""
    if not isinstance(answer, dict) or set(answer) != set(CASES):
        raise Wrong(f"answer_1 에는 키가 {sorted(CASES)} 인 딕셔너리를 넣으세요.")
    for name, (n, similar) in CASES.items():
        if answer[name] not in STRATEGY_NAMES:
            raise Wrong(f"'{name}': 전략 이름은 {STRATEGY_NAMES} 중 하나입니다.")
        if answer[name] != _rule(n, similar):
            raise Wrong(f"'{name}': 이미지 수가 1,000장 기준으로 큰지 작은지, ImageNet 사진과 비슷한지를 표에서 다시 짚어 보세요.")


@exercise("03.2")
def early_stop_epoch(answer: Any, losses: list[float], patience: int) -> None:
    """``answer``: the epoch after which EarlyStopping(patience) stops on ``losses``."""
    if not isinstance(answer, int) or isinstance(answer, bool):
        raise Wrong("answer_2 에는 에포크 번호(정수) 하나를 넣으세요. 첫 에포크가 1입니다.")
    best, wait = float("inf"), 0
    for epoch, value in enumerate(losses, start=1):
        if value < best:
            best, wait = value, 0
        else:
            wait += 1
            if wait >= patience:
                break
    if answer != epoch:
        raise Wrong("최고 기록이 나온 에포크를 찾고, 그 뒤로 '좋아지지 않은' 에포크를 patience번 세었는지 보세요. "
                    "최고 기록과 같은 값이나 이전 값보다만 나은 값은 좋아진 것이 아닙니다.")


@exercise("03.3")
def added_group(answer: Any, model: nn.Module) -> None:
    """``answer``: the optimizer with a second group holding ``model.conv_head.weight`` at lr 1e-4."""
    if not isinstance(answer, torch.optim.Optimizer):
        raise Wrong("answer_3 에는 옵티마이저 객체(ex_opt)를 넣으세요.")
    if len(answer.param_groups) != 2:
        raise Wrong(f"파라미터 그룹이 {len(answer.param_groups)}개입니다. 헤드 그룹은 그대로 두고 그룹을 하나만 더하세요.")
    new = answer.param_groups[1]
    if not any(p is model.conv_head.weight for p in new["params"]):
        raise Wrong("새 그룹에 conv_head의 가중치 텐서가 없습니다. 같은 모델(ex_model)의 파라미터를 넣었는지 보세요.")
    if abs(new["lr"] - 1e-4) > 1e-12:
        raise Wrong("새 그룹의 학습률이 과제와 다릅니다. 그룹 딕셔너리에 'lr'을 직접 주세요.")
