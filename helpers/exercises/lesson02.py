"""Checks for lesson 02 (transfer learning). Each raises ``Wrong(hint)``; no hint gives the answer.

>>> from helpers.exercises import check
>>> check("02.M1", answer_m1, model=model, loader=probe_loader)
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn
from torch.utils.data import DataLoader

from helpers.exercises import Wrong, as_choice, as_function, as_number, as_numbers, exercise, judge_choice, restoring
from helpers.features import extract_features
from helpers.models import head_path, load_pretrained, without_head
from helpers.train import predict


def _first_feature(model: nn.Module, batch: torch.Tensor) -> torch.Tensor:
    """The head's input for the first image of ``batch`` (whatever mode ``model`` is in)."""
    with torch.no_grad(), without_head(model):
        return model(batch).flatten(1)[0].cpu()


@exercise("02.1")
def train_mode_features(answer: Any, model: nn.Module, images: torch.Tensor) -> None:
    """``answer``: "a", "b" or "c", the prediction made before running: what happens to one
    photo's features when the frozen backbone runs in train mode instead of eval mode.

    The check measures it on a copy of ``model`` (train mode would rewrite BatchNorm's running
    statistics of the real one): the first photo with three others, then with three different
    others, in train mode, and once in eval mode. A wrong prediction gets a pointer to the
    documentation, not the measurement (a second try must not pass by copying it); the
    measurement and the reason are printed after 통과.
    """
    answer = as_choice(answer, "abc", "answer_1")
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
    judge_choice(answer, expected, {
        "a": "고정(requires_grad = False)은 가중치가 바뀌지 않게 할 뿐, 층이 계산하는 방식은 그대로입니다. "
             "학습 모드와 평가 모드에서 다르게 계산하는 층이 이 백본에 있습니다. PyTorch 문서 nn.BatchNorm2d에서 "
             "training일 때 무엇으로 정규화하는지 읽고 다시 예측해 보세요.",
        "else": "학습 모드에서 다르게 계산하는 층(PyTorch 문서 nn.BatchNorm2d)이 정규화에 쓰는 평균·분산이 "
                "어디에서 오는지 읽고, 사진 A와 함께 들어온 나머지 사진이 그 값에 끼치는 영향을 생각해 다시 예측해 보세요."})
    gap_eval = (f_a - f_eval).norm().item() / max(f_eval.norm().item(), 1e-12)
    gap_batch = (f_a - f_b).norm().item() / max(f_a.norm().item(), 1e-12)
    print(f"측정: 같은 사진의 특성이 평가 모드와 {gap_eval:.1%}, 다른 배치(다른 사진 3장과 함께)에서 {gap_batch:.1%} 달라졌습니다.")
    print("설명: 학습 모드의 BatchNorm은 **지금 배치**의 평균·분산으로 정규화하므로, 한 사진의 특성이 함께 들어온 "
          "다른 사진에 따라 달라집니다(Dropout이 있으면 실행마다 무작위로도 달라짐). 그래서 특성을 한 번 뽑아 "
          "저장할 때는 평가 모드(eval)여야 같은 사진에서 언제나 같은 특성이 나옵니다.")


@exercise("02.M1")
def extract_once(answer: Any, model: nn.Module, loader: DataLoader) -> None:
    """``answer``: the student's ``extract_once(model, loader) -> (features, labels)``: the frozen
    backbone run once over ``loader`` without its head. Compared with
    ``helpers.features.extract_features`` on a copy of ``model`` that is in train mode and
    whose parameters require gradients (so eval mode and no-grad are checked by behaviour)."""
    student = as_function(answer, "answer_m1", "extract_once")
    want_features, want_labels = extract_features(model, loader, channels_last=False)
    probe = copy.deepcopy(model)
    probe.train()
    for p in probe.parameters():
        p.requires_grad_(True)
    with restoring(model):           # the lesson's model is only read; a global default the try changed comes back
        result = student(probe, loader)
    if not isinstance(result, tuple) or len(result) != 2:
        raise Wrong("(특성, 라벨) 두 텐서를 튜플로 돌려주세요: return features, labels")
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
    if not isinstance(labels, torch.Tensor) or labels.shape != want_labels.shape \
            or not torch.equal(labels.cpu(), want_labels):
        raise Wrong("라벨이 사진과 같은 순서의 텐서 하나로 모이지 않았습니다. 로더가 준 순서 그대로 모아 torch.cat으로 이으세요.")
    if features.device.type != "cpu":
        raise Wrong(f"특성이 {features.device}에 있습니다. 저장해 둘 특성은 CPU로 옮기세요(.cpu()).")
    if not torch.allclose(features.detach().float(), want_features, atol=1e-4, rtol=1e-3):
        raise Wrong("특성 값이 helpers의 extract_features와 다릅니다. 모델이 어떤 모드에서 실행되었나요? "
                    "BatchNorm과 Dropout은 학습 모드와 평가 모드에서 다르게 동작합니다.")
    print(f"helpers.features.extract_features와 같은 특성 {tuple(features.shape)} (허용 오차 1e-4).")


# Seven items, three classes, built so that the wrong methods give other photos than the right one:
# true-class probability ascending -> [1, 4, 2]; largest probability ascending -> [5, 2, 0];
# true-class probability descending -> [3, 6, 5]; one off -> [4, 2, 0]; class-1 probability -> [4, 3, 5].
_BUILT_PROBS = torch.tensor([[0.50, 0.30, 0.20], [0.10, 0.85, 0.05], [0.40, 0.35, 0.25], [0.70, 0.20, 0.10],
                             [0.05, 0.15, 0.80], [0.34, 0.33, 0.33], [0.20, 0.60, 0.20]])
_BUILT_LABELS = torch.tensor([1, 0, 2, 0, 1, 0, 1])


def _lowest(values: torch.Tensor, k: int, descending: bool = False) -> list[int]:
    return values.argsort(descending=descending)[:k].tolist()


@exercise("02.2")
def least_confident(answer: Any, model: nn.Module, loader: DataLoader) -> None:
    """``answer``: the student's ``lowest_true_prob(probs, labels, k)`` -> the indices of the ``k``
    photos whose **true** class got the lowest probability, lowest first.

    Run on the lesson's test photos and on seven items the check builds, where sorting by the
    largest probability, the wrong direction, an off-by-one slice or one class's column each give
    other photos (on the lesson's two-class data the largest-probability sort can pick the same
    photos, so the lesson's data alone would let it pass)."""

    student = as_function(answer, "answer_2", "lowest_true_prob")
    k = 3
    got_built = as_numbers(student(_BUILT_PROBS.clone(), _BUILT_LABELS.clone(), k),
                           "lowest_true_prob의 결과", length=k, integer=True)
    true_prob = _BUILT_PROBS[torch.arange(len(_BUILT_LABELS)), _BUILT_LABELS]
    right = _lowest(true_prob, k)
    if got_built != right:
        if sorted(got_built) == sorted(right):
            raise Wrong("사진은 맞지만 순서가 다릅니다: 정답 클래스의 확률이 가장 낮은 것부터 나열하세요.")
        if got_built == _lowest(true_prob, k, descending=True):
            raise Wrong("확률이 가장 높은 사진부터 골랐습니다. 확신이 가장 적은 사진, 곧 작은 값부터 고르세요(argsort의 기본 방향).")
        if got_built == _lowest(_BUILT_PROBS.max(dim=1).values, k):
            raise Wrong("'가장 큰 확률'(모델이 고른 클래스의 확률)로 정렬했습니다. 정답 클래스의 확률, "
                        "곧 probs의 각 행에서 labels가 가리키는 칸으로 정렬하세요. (이 레슨의 두 클래스 데이터에서는 "
                        "우연히 같은 사진이 나올 수 있어, 확인 셀이 만든 세 클래스 데이터로도 잽니다.)")
        if got_built == true_prob.argsort()[1:k + 1].tolist():
            raise Wrong("가장 낮은 사진 하나를 빠뜨렸습니다. 자르기 [1:4]가 아니라 처음부터 k개입니다.")
        if got_built == _lowest(_BUILT_PROBS[:, 1], k):
            raise Wrong("한 클래스(1번 열)의 확률로 정렬했습니다. 사진마다 자기 정답 클래스의 칸을 고르세요(labels로 인덱싱).")
        raise Wrong("확인 셀이 만든 세 클래스 데이터(사진 7장)에서 다른 사진이 나왔습니다. 각 행에서 정답 클래스(labels)의 "
                    "확률을 골라, 작은 것부터 k개의 번호를 돌려주는지 확인하세요.")
    _, labels, probs = predict(model, loader)
    got = as_numbers(student(probs.clone(), labels.clone(), k), "lowest_true_prob의 결과", length=k, integer=True)
    lesson_prob = probs[torch.arange(len(labels)), labels]
    if got != _lowest(lesson_prob, k):
        raise Wrong("만든 데이터에서는 맞았지만 이 레슨의 테스트 사진에서는 다른 번호가 나왔습니다. "
                    "probs와 labels를 predict가 준 그대로(같은 순서로) 쓰는지 확인하세요.")
    for i in got:
        path = Path(loader.dataset.samples[i][0])
        print(f"{path.parent.name}/{path.name}: 정답 클래스의 확률 {lesson_prob[i]:.3f}")


@exercise("02.3")
def zero_shot(answer: Any, arch: str, images: torch.Tensor, labels: torch.Tensor,
              class_names: Sequence[str], bird_ids: set[int], mammal_ids: set[int],
              device: torch.device | str = "cpu", batch_size: int = 8) -> None:
    """``answer``: zero-shot accuracy of the untouched ImageNet model on ``images``: a bird class
    counts as ``birds``, a mammal class as ``mammals``, any other class as wrong. Recomputed on
    the lesson's ``device`` with its batch size, as the solution does. The loaded model is in
    train mode: a wrong answer's hint names eval() among the likely causes (in train mode
    BatchNorm uses each batch's statistics, and the accuracy drops far below the right one)."""

    answer = as_number(answer, "answer_3", tensor=False)
    if not 0.0 <= answer <= 1.0:
        raise Wrong(f"answer_3이 {answer:g}입니다. 정확도는 0과 1 사이의 비율입니다(맞힌 수나 백분율이 아니라).")
    imagenet_model = load_pretrained(arch, verbose=False).model.to(device).eval()
    with torch.no_grad():
        top1 = torch.cat([imagenet_model(x.to(device)).argmax(1).cpu() for x in images.split(batch_size)])
    del imagenet_model
    birds, mammals = class_names.index("birds"), class_names.index("mammals")
    labels = labels.cpu()
    mapped = torch.tensor([birds if int(i) in bird_ids else mammals if int(i) in mammal_ids else -1 for i in top1])
    expected = mapped.eq(labels).float().mean().item()
    if abs(answer - expected) < 1e-6:
        others = int((mapped == -1).sum())
        print(f"새도 포유류도 아닌 클래스를 고른 사진: {others}장 (틀림으로 셈)")
        return
    lenient = torch.where(mapped == -1, torch.tensor(mammals), mapped).eq(labels).float().mean().item()
    if abs(answer - lenient) < 1e-6:
        raise Wrong("새가 아닌 클래스를 모두 mammals로 바꿨습니다. 그러면 '곰 인형'이나 '모피 코트'도 포유류 답이 되어, "
                    "많은 쪽(mammals)으로 찍는 쪽으로 기웁니다. 포유류 클래스(MAMMAL_IDS)만 mammals로, 나머지는 틀림으로 세세요.")
    raise Wrong("확인할 것: 새 헤드를 붙이지 않은 원래 1000-클래스 모델의 top-1을 썼는지; 그 모델을 평가 모드(eval())로 "
                "실행했는지(load_pretrained가 준 모델은 학습 모드라, 그대로면 배치 정규화가 함께 들어온 사진들의 평균·분산으로 "
                "정규화합니다: 문제 1); BIRD_IDS는 birds로, MAMMAL_IDS는 mammals로 바꾸고 둘 다 아니면 틀림으로 셌는지.")
