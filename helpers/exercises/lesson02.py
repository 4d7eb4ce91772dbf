"""Checks for lesson 02 (transfer learning). Each raises ``Wrong(hint)``; no hint gives the answer.

>>> from helpers.exercises import check
>>> check("02.M1", answer_m1, model=model, loader=probe_loader)
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn
from torch.utils.data import DataLoader

from helpers.exercises import Wrong, exercise


def _first_feature(model: nn.Module, batch: torch.Tensor) -> torch.Tensor:
    """The head's input for the first image of ``batch`` (whatever mode ``model`` is in)."""
    from helpers.features import without_head

    with torch.no_grad(), without_head(model):
        return model(batch).flatten(1)[0].cpu()


@exercise("02.1")
def train_mode_features(answer: Any, model: nn.Module, images: torch.Tensor) -> None:
    """``answer``: "a", "b" or "c", the prediction made before running: what happens to one
    photo's features when the frozen backbone runs in train mode instead of eval mode.

    The check measures it on a copy of ``model`` (train mode would rewrite BatchNorm's running
    statistics of the real one): the first photo alone with three others, then with three
    different others, in train mode, and once in eval mode.
    """
    import copy

    choice = str(answer).strip().lower().strip("()")
    if choice not in {"a", "b", "c"}:
        raise Wrong('answer_1 에는 "a", "b", "c" 중 하나를 문자열로 넣으세요.')
    probe = copy.deepcopy(model)
    device = next(probe.parameters()).device
    batch_a = images[[0, 1, 2, 3]].to(device)
    batch_b = images[[0, 4, 5, 6]].to(device)
    probe.eval()
    f_eval = _first_feature(probe, batch_a)
    probe.train()
    f_a, f_b = _first_feature(probe, batch_a), _first_feature(probe, batch_b)
    same_as_eval = torch.allclose(f_a, f_eval, atol=1e-5)
    same_in_both = torch.allclose(f_a, f_b, atol=1e-5)
    expected = "a" if same_as_eval and same_in_both else ("b" if same_in_both else "c")
    gap_eval = (f_a - f_eval).norm().item() / max(f_eval.norm().item(), 1e-12)
    gap_batch = (f_a - f_b).norm().item() / max(f_a.norm().item(), 1e-12)
    measured = (f"측정: 같은 사진의 특성이 평가 모드와 {gap_eval:.1%}, "
                f"다른 배치(다른 사진 3장과 함께)에서 {gap_batch:.1%} 달라졌습니다.")
    if choice != expected:
        raise Wrong(measured + " 학습 모드(train)에서 BatchNorm은 정규화에 어떤 평균·분산을 쓰나요? "
                    "(지금 배치의 통계인가, 학습 때 모아 둔 running 통계인가?) Dropout은 학습 모드에서 무엇을 하나요?")
    print(measured)
    print("설명: 학습 모드의 BatchNorm은 **지금 배치**의 평균·분산으로 정규화하므로, 한 사진의 특성이 함께 들어온 "
          "다른 사진에 따라 달라집니다(Dropout이 있으면 실행마다 무작위로도 달라짐). 그래서 특성을 한 번 뽑아 "
          "저장할 때는 평가 모드(eval)여야 같은 사진에서 언제나 같은 특성이 나옵니다.")


@exercise("02.M1")
def extract_once(answer: Any, model: nn.Module, loader: DataLoader) -> None:
    """``answer``: the student's ``extract_once(model, loader) -> (features, labels)``: the frozen
    backbone run once over ``loader`` without its head. Compared with
    ``helpers.features.extract_features`` on a copy of ``model`` that is in train mode and
    whose parameters require gradients (so eval mode and no-grad are checked by behaviour)."""
    import copy

    from helpers.features import extract_features, head_path

    if not callable(answer):
        raise Wrong("answer_m1 에는 함수 extract_once 자체를 넣으세요(호출 결과가 아니라).")
    want_features, want_labels = extract_features(model, loader, channels_last=False)
    probe = copy.deepcopy(model)
    probe.train()
    for p in probe.parameters():
        p.requires_grad_(True)
    result = answer(probe, loader)
    if not isinstance(result, tuple) or len(result) != 2:
        raise Wrong("(특성, 라벨) 두 텐서를 튜플로 돌려주세요.")
    features, labels = result
    try:
        head_path(probe)
    except ValueError:
        raise Wrong("함수가 끝난 뒤에도 모델에 원래 헤드가 있어야 합니다. 헤드를 잠시 바꿨다면 되돌려 놓으세요(try/finally).") from None
    if not isinstance(features, torch.Tensor) or features.dim() != 2 or len(features) != len(want_features):
        raise Wrong(f"특성은 사진 한 장에 한 줄인 (사진 수, 특성 수) 모양의 텐서여야 합니다. 로더의 사진은 {len(want_features)}장입니다.")
    if features.requires_grad or features.grad_fn is not None:
        raise Wrong("특성에 계산 그래프가 붙어 있습니다. 특성을 저장만 할 때는 기울기를 기록할 필요가 없습니다: 어떤 블록 안에서 실행해야 할까요?")
    if features.shape[1] != want_features.shape[1]:
        raise Wrong(f"특성의 길이가 {features.shape[1]}입니다. 헤드를 통과하기 전, 곧 헤드의 입력(in_features)이어야 합니다.")
    if not torch.equal(torch.as_tensor(labels).cpu(), want_labels):
        raise Wrong("라벨이 사진과 같은 순서로 모이지 않았습니다. 로더가 준 순서 그대로 모으세요.")
    if not torch.allclose(features.detach().float().cpu(), want_features, atol=1e-4, rtol=1e-3):
        raise Wrong("특성 값이 helpers의 extract_features와 다릅니다. 모델이 어떤 모드에서 실행되었나요? "
                    "BatchNorm과 Dropout은 학습 모드와 평가 모드에서 다르게 동작합니다.")
    print(f"helpers.features.extract_features와 같은 특성 {tuple(features.shape)} (허용 오차 1e-4).")


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
