"""Checks for lesson 01 (workflow / VGG16). Each raises ``Wrong(hint)``; no hint gives the answer.

>>> from helpers.exercises import check
>>> check("01.1", {"conv": ..., "linear": ..., "leaves": ..., "params": ...})
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from torch import nn

from helpers.exercises import Wrong, exercise


def _vgg19_counts() -> dict[str, int]:
    from torchvision import models

    with torch.device("meta"):  # shapes only: no memory for 143 M numbers
        vgg19 = models.vgg19(weights=None)
    leaves = [m for m in vgg19.modules() if len(list(m.children())) == 0]
    kinds = Counter(type(m).__name__ for m in leaves)
    return {"conv": kinds["Conv2d"], "linear": kinds["Linear"], "leaves": len(leaves),
            "params": sum(p.numel() for p in vgg19.parameters())}


@exercise("01.1")
def vgg19_layers(answer: Any) -> None:
    """``answer``: dict with the VGG19 counts ``conv``, ``linear``, ``leaves``, ``params``."""
    if not isinstance(answer, dict):
        raise Wrong('answer_1에는 {"conv": ..., "linear": ..., "leaves": ..., "params": ...} 모양의 딕셔너리를 넣으세요.')
    missing = {"conv", "linear", "leaves", "params"} - set(answer)
    if missing:
        raise Wrong(f"빠진 키가 있습니다: {sorted(missing)}")
    expected = _vgg19_counts()
    if (answer["conv"], answer["linear"]) != (expected["conv"], expected["linear"]):
        raise Wrong("Conv2d와 Linear의 개수를 다시 세어 보세요. isinstance나 type(m).__name__ 으로 종류별로 세면 됩니다.")
    if answer["leaves"] != expected["leaves"]:
        raise Wrong("말단 모듈은 자식이 없는 모듈입니다(Sequential 같은 상자는 빼고, ReLU·MaxPool·Dropout·AdaptiveAvgPool은 포함).")
    if answer["params"] != expected["params"]:
        raise Wrong("파라미터 수는 모든 파라미터 텐서의 numel()을 더한 값입니다(가중치와 편향 모두).")


@exercise("01.2")
def topk_function(answer: Any, categories: Sequence[str]) -> None:
    """``answer``: the student's ``topk_classes(logits, categories, k=5)`` function."""
    if not callable(answer):
        raise Wrong("answer_2 에는 함수 topk_classes 자체를 넣으세요(호출 결과가 아니라).")
    generator = torch.Generator().manual_seed(1)
    logits = torch.randn(1, len(categories), generator=generator) * 3
    probs = torch.softmax(logits[0], dim=0)
    want = [(categories[i], p) for p, i in zip(*probs.topk(4))]
    got = list(answer(logits, list(categories), k=4))
    if len(got) != 4:
        raise Wrong("k개의 (이름, 확률) 쌍을 돌려줘야 합니다.")
    names = [name for name, _ in got]
    values = [float(p) for _, p in got]
    if names != [n for n, _ in want]:
        if set(names) == {n for n, _ in want}:
            raise Wrong("이름은 맞지만 순서가 다릅니다: 확률이 큰 것부터 돌려주세요.")
        raise Wrong("고른 클래스가 다릅니다. 로짓 전체에서 가장 큰 k개를 골랐는지, 번호를 이름으로 바꿀 때 categories를 썼는지 보세요.")
    if any(abs(v - float(p)) > 1e-5 for v, (_, p) in zip(values, want)):
        raise Wrong("확률 값이 다릅니다. 로짓이 아니라 softmax를 거친 확률을 돌려주세요(합이 1).")
    flat = [name for name, _ in answer(logits[0], list(categories), k=2)]
    if flat != names[:2]:
        raise Wrong("(1000,) 모양의 로짓에도 (1, 1000)과 같은 답을 내야 합니다. reshape(-1)을 떠올려 보세요.")


@exercise("01.3")
def dataset_with_path(answer: Any, class_names: Sequence[str]) -> None:
    """``answer``: a dataset whose items are ``(image tensor, label, path str)``."""
    if not isinstance(answer, torch.utils.data.Dataset):
        raise Wrong("answer_3 에는 AnimalsDatasetWithPath로 만든 데이터셋(인스턴스)을 넣으세요.")
    if len(answer) == 0:
        raise Wrong("데이터셋이 비어 있습니다.")
    for index in (0, len(answer) - 1):
        item = answer[index]
        if not isinstance(item, tuple) or len(item) != 3:
            raise Wrong("__getitem__ 이 (이미지, 라벨, 경로) 세 개를 돌려주어야 합니다.")
        image, label, path = item
        if not isinstance(path, str):
            raise Wrong("경로는 str로 돌려주세요. DataLoader가 Path는 모으지 못할 수 있습니다.")
        if not isinstance(image, torch.Tensor) or image.ndim != 3:
            raise Wrong("첫 번째 항목은 전처리된 (채널, 높이, 너비) 이미지 텐서여야 합니다.")
        if Path(path).parent.name != class_names[int(label)]:
            raise Wrong("경로와 라벨이 서로 다른 샘플을 가리킵니다. 같은 index의 파일을 돌려주세요.")
