"""Checks for lesson 02 (transfer learning). Each raises ``Wrong(hint)``; no hint gives the answer.

>>> from helpers.exercises import check
>>> check("02.1", answer_1)
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn
from torch.utils.data import DataLoader

from helpers.exercises import Wrong, exercise


@exercise("02.1")
def resnet18_five_classes(answer: Any) -> None:
    """``answer``: trainable parameters of a frozen ResNet18 with a new 5-class ``fc``."""
    from torchvision import models

    if not isinstance(answer, int) or isinstance(answer, bool):
        raise Wrong("answer_1 에는 정수 하나(학습되는 파라미터 수)를 넣으세요.")
    with torch.device("meta"):  # shapes only, no memory
        net = models.resnet18(weights=None)
        for p in net.parameters():
            p.requires_grad = False
        net.fc = nn.Linear(net.fc.in_features, 5)
    expected = sum(p.numel() for p in net.parameters() if p.requires_grad)
    if answer == sum(p.numel() for p in net.parameters()):
        raise Wrong("모델 전체의 파라미터를 세었습니다. requires_grad=True 인 것만 세어 보세요.")
    if answer != expected:
        raise Wrong("새 fc 층의 가중치(weight)와 편향(bias)을 모두 세었는지, in_features를 확인했는지 보세요.")


@exercise("02.2")
def least_confident(answer: Any, model: nn.Module, loader: DataLoader) -> None:
    """``answer``: the 3 test file paths with the lowest probability of their true class, lowest first."""
    from helpers.train import predict

    if not isinstance(answer, (list, tuple)) or len(answer) != 3:
        raise Wrong("answer_2 에는 파일 경로 3개의 리스트를 넣으세요.")
    _, labels, probs = predict(model, loader)
    true_prob = probs[torch.arange(len(labels)), labels]
    order = true_prob.argsort()[:3].tolist()
    expected = [Path(loader.dataset.samples[i][0]).name for i in order]
    got = [Path(str(p)).name for p in answer]
    if sorted(got) == sorted(expected) and got != expected:
        raise Wrong("사진은 맞지만 순서가 다릅니다: 정답 확률이 가장 낮은 것부터 나열하세요.")
    if got != expected:
        raise Wrong("'가장 큰 확률'이 아니라 '정답 클래스의 확률'로 정렬했는지, 작은 것부터 골랐는지 확인하세요.")


@exercise("02.3")
def zero_shot(answer: Any, arch: str, images: torch.Tensor, labels: torch.Tensor,
              class_names: Sequence[str], bird_ids: set[int]) -> None:
    """``answer``: zero-shot accuracy of the untouched ImageNet model on ``images``."""
    from helpers.models import load_pretrained

    if not isinstance(answer, float) or not 0.0 <= answer <= 1.0:
        raise Wrong("answer_3 에는 0과 1 사이의 정확도(float) 하나를 넣으세요. .item()을 잊지 않았나요?")
    imagenet_model = load_pretrained(arch, verbose=False).model.eval()
    with torch.no_grad():  # 16 photos at a time keeps the memory peak low
        top1 = torch.cat([imagenet_model(x).argmax(1) for x in images.cpu().split(16)])
    birds, mammals = class_names.index("birds"), class_names.index("mammals")
    mapped = torch.tensor([birds if int(i) in bird_ids else mammals for i in top1])
    expected = mapped.eq(labels.cpu()).float().mean().item()
    if abs(answer - expected) > 1e-6:
        raise Wrong("새 헤드를 붙이지 않은 원래 1000-클래스 모델의 top-1을 썼는지, 새 번호를 모두 birds로 바꿨는지 확인하세요.")
