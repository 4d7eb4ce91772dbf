"""Checks for lesson 06 (feature maps and hooks). Each raises ``Wrong(hint)``; no hint gives the answer.

>>> from helpers.exercises import check
>>> check("06.1", answer_1, model=model, x=x)
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn

from helpers.exercises import Wrong, exercise
from helpers.hooks import FeatureMaps, class_activation_map, count_hooks


@exercise("06.1")
def activation_types(answer: Any, model: nn.Module, x: torch.Tensor) -> None:
    """``answer``: a tuple of activation classes; FeatureMaps with it captures every activation output."""
    if not isinstance(answer, tuple) or not answer or not all(isinstance(t, type) for t in answer):
        raise Wrong("answer_1 에는 nn.ReLU 같은 클래스들의 튜플을 넣으세요 (객체가 아니라 클래스).")
    with FeatureMaps(model, layer_types=answer) as maps:
        with torch.no_grad():
            model(x)
    if count_hooks(model):
        raise Wrong("훅이 남아 있습니다. FeatureMaps는 with 블록 안에서만 쓰세요.")
    if not maps.maps:
        raise Wrong("잡힌 층이 없습니다. 이 모델이 실제로 쓰는 활성화 함수 클래스를 model.modules()에서 찾아보세요.")
    if any(m.min() < 0 for m in maps.maps.values()):
        raise Wrong("음수가 있는 출력이 잡혔습니다. 합성곱이나 정규화 층이 아니라 활성화 함수만 넣으세요.")
    acts = [m for m in model.modules() if type(m).__name__ in {"ReLU", "ReLU6", "SiLU", "GELU", "Hardswish"}]
    if len(maps.maps) < len(acts):
        raise Wrong(f"활성화 층 {len(acts)}개 중 {len(maps.maps)}개만 잡혔습니다. 빠진 종류가 없는지 확인하세요.")


@exercise("06.2")
def second_class_cam(answer: Any, model: nn.Module, x: torch.Tensor, layer: nn.Module, top5: Sequence[int]) -> None:
    """``answer``: the Grad-CAM map (H, W) of the 2nd-ranked class."""
    if not isinstance(answer, torch.Tensor) or answer.dim() != 2:
        raise Wrong("answer_2 에는 히트맵 텐서 하나 (높이, 너비)를 넣으세요. class_activation_map은 (맵, 클래스)를 돌려줍니다.")
    want, _ = class_activation_map(model, x, layer, top5[1])
    first, _ = class_activation_map(model, x, layer, top5[0])
    if answer.shape == want.shape and torch.allclose(answer.cpu(), first.cpu(), atol=1e-5):
        raise Wrong("1위 클래스의 히트맵입니다. class_idx를 넘기지 않으면 1위가 쓰입니다.")
    if answer.shape != want.shape or not torch.allclose(answer.cpu(), want.cpu(), atol=1e-4):
        raise Wrong("히트맵이 다릅니다. 같은 입력 x, 같은 층(target_layer)에 top5_idx의 두 번째 클래스를 넘겼는지 보세요.")


@exercise("06.3")
def other_photo_top1(answer: Any, model: nn.Module, x: torch.Tensor) -> None:
    """``answer``: the ImageNet class index the model predicts first for the other photo ``x``."""
    if not isinstance(answer, int) or isinstance(answer, bool):
        raise Wrong("answer_3 에는 클래스 번호(int) 하나를 넣으세요. 텐서라면 int(...)로 바꾸세요.")
    with torch.no_grad():
        want = int(model(x).argmax(dim=1))
    if answer != want:
        raise Wrong("1위 클래스가 아닙니다. 고양이 사진(x)이 아니라 새 사진으로 만든 입력을 모델에 넣고 argmax를 구했는지 보세요.")
