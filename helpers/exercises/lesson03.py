"""Checks for lesson 03 (fine-tuning). Each raises ``Wrong(hint)``; no hint gives the answer.

The core mechanisms ("03.M1" unfreezing, "03.M2" layer-wise parameter groups) are checked by
behaviour on copies of the lesson's model and compared with ``helpers.models``.

>>> from helpers.exercises import check
>>> check("03.M1", answer_m1, model=fe_demo)
"""
from __future__ import annotations

import copy
import math
from types import SimpleNamespace
from typing import Any, Mapping

import torch
from torch import nn

from helpers.exercises import Wrong, exercise


def _trainable(model: nn.Module) -> set[str]:
    return {n for n, p in model.named_parameters() if p.requires_grad}


@exercise("03.M1")
def unfreeze_by_hand(answer: Any, model: nn.Module) -> None:
    """``answer``: ``f(model, n) -> names``; opens the same parameters as ``helpers.models.unfreeze_last``."""
    from helpers.models import unfreeze_last

    if not callable(answer):
        raise Wrong("answer_m1 에는 함수(my_unfreeze_last)를 넣으세요: answer_m1 = my_unfreeze_last")
    for n in (1, 2, 3):
        mine, helper = copy.deepcopy(model), copy.deepcopy(model)
        names = answer(mine, n)
        helper_names = unfreeze_last(helper, n)
        if _trainable(mine) != _trainable(helper):
            extra, missing = _trainable(mine) - _trainable(helper), _trainable(helper) - _trainable(mine)
            where = f"더 풀린 것 예: {sorted(extra)[:2]}" if extra else f"안 풀린 것 예: {sorted(missing)[:2]}"
            raise Wrong(f"n={n}일 때 풀린 파라미터가 unfreeze_last와 다릅니다({where}). backbone_blocks는 입력 → 출력 순서이고, "
                        "블록의 파라미터를 하나도 빠짐없이 바꿔야 합니다.")
        if list(names or []) != helper_names:
            raise Wrong(f"n={n}: 파라미터는 맞게 풀었지만 돌려준 이름 {names}가 푼 블록의 이름(입력 → 출력 순서)과 다릅니다.")


@exercise("03.M2")
def param_groups_by_hand(answer: Any, model: nn.Module, helper_groups: list[dict]) -> None:
    """``answer``: a list of parameter groups; every trainable tensor gets the helper's lr, frozen ones are absent."""
    if not isinstance(answer, (list, tuple)) or not all(isinstance(g, dict) and "params" in g for g in answer):
        raise Wrong('answer_m2 에는 {"params": [...], "lr": ...} 딕셔너리의 리스트를 넣으세요.')
    try:
        optimizer = torch.optim.Adam(list(answer), lr=123.0)     # a group without "lr" would get this default
    except (ValueError, TypeError) as error:
        raise Wrong(f"이 리스트로 옵티마이저를 만들 수 없습니다({type(error).__name__}). 같은 텐서가 두 그룹에 들어가지 않았는지 보세요.") from None
    got = {id(p): g["lr"] for g in optimizer.param_groups for p in g["params"]}
    want = {id(p): g["lr"] for g in helper_groups for p in g["params"]}
    frozen = {id(p) for p in model.parameters() if not p.requires_grad}
    if got.keys() & frozen:
        raise Wrong("고정된(requires_grad=False) 파라미터가 그룹에 들어 있습니다. 학습하지 않는 블록은 빼세요.")
    if got.keys() != want.keys():
        raise Wrong("학습 가능한 파라미터 중 그룹에 빠진 것이 있거나, 모델에 없는 텐서가 들어 있습니다. ft_demo의 블록을 모두 훑었는지 보세요.")
    for pid, lr in want.items():
        if got[pid] == 123.0:
            raise Wrong('어떤 그룹에 "lr"이 없습니다. 그룹마다 자기 학습률을 주세요.')
        if not math.isclose(got[pid], lr, rel_tol=1e-9):
            raise Wrong("학습률이 helpers와 다른 그룹이 있습니다. 헤드가 LR_FT이고, 입력 쪽으로 한 블록 갈 때마다 LR_DECAY를 한 번 더 곱합니다.")


@exercise("03.1")
def batchnorm_prediction(answer: Any, losses: Mapping[str, float]) -> None:
    """``answer``: "a" / "b" / "c" (same / higher / lower), compared with the two measured losses."""
    if answer not in ("a", "b", "c"):
        raise Wrong('answer_1 에는 "a", "b", "c" 중 하나를 넣으세요.')
    head, opened = list(losses.values())
    measured = "a" if abs(opened - head) < 1e-6 else "b" if opened > head else "c"
    why = ("가중치는 그대로지만 모드가 다릅니다. 고정된 블록의 배치 정규화는 평가 모드로 ImageNet의 평균·분산을 쓰고, "
           "풀린 블록의 배치 정규화는 학습 모드가 되어 지금 미니배치(MRI 16장)의 평균·분산으로 정규화합니다. "
           "헤드가 받는 특성이 달라지니 손실도 달라집니다. 그래서 미세 조정 첫 에포크의 손실이 흔들리고, "
           "데이터가 아주 적으면 풀린 블록의 배치 정규화도 평가 모드로 두기도 합니다.")
    if answer != measured:
        raise Wrong(f"측정: 헤드만 {head:.3f}, 블록을 푼 쪽 {opened:.3f}. {why}")
    print(f"측정: 헤드만 {head:.3f}, 블록을 푼 쪽 {opened:.3f}. {why}")


_LOSS_LISTS = [([0.9, 0.7, 0.72, 0.65, 0.66, 0.67, 0.64, 0.70], 2), ([0.9, 0.7, 0.72, 0.65, 0.66, 0.67, 0.64], 3),
               ([1.0, 1.0, 1.0, 0.9], 2), ([0.5, 0.4, 0.3, 0.2], 1), ([0.5, 0.6, 0.5, 0.5, 0.4], 3), ([0.3], 1)]


def _course_stop(losses: list[float], patience: int) -> int | None:
    from helpers.callbacks import EarlyStopping

    stopper = EarlyStopping(patience=patience, restore_best_weights=False)
    trainer = SimpleNamespace(stop=False, model=None, history=SimpleNamespace(stopped_early=False, epoch=[], val_loss=[]))
    for epoch, value in enumerate(losses, start=1):
        stopper.on_epoch_end(trainer, {"epoch": epoch, "val_loss": value})
        if trainer.stop:
            return stopper.stopped_epoch
    return None


@exercise("03.2")
def early_stop_rule(answer: Any) -> None:
    """``answer``: ``stop_epoch(losses, patience)``; stops where the course's ``EarlyStopping`` stops."""
    if not callable(answer):
        raise Wrong("answer_2 에는 함수(stop_epoch)를 넣으세요: answer_2 = stop_epoch")
    for losses, patience in _LOSS_LISTS:
        got, want = answer(list(losses), patience), _course_stop(losses, patience)
        if got != want:
            if want is None:
                raise Wrong(f"patience={patience}, 손실 {losses}: EarlyStopping은 끝까지 멈추지 않는데 {got}를 돌려줍니다. "
                            "멈추지 않으면 None을 돌려주세요.")
            raise Wrong(f"patience={patience}, 손실 {losses}: 멈추는 에포크가 EarlyStopping과 다릅니다({got}). "
                        "첫 에포크 번호가 1인지, 최고 기록과 같은 값은 기록이 아닌지, 기록을 깨면 기다린 횟수를 0으로 되돌리는지 보세요.")


@exercise("03.3")
def added_group(answer: Any, model: nn.Module, before: nn.Module) -> None:
    """``answer``: the optimizer with a second group holding ``model.conv_head.weight`` at lr 1e-4, after one step."""
    if not isinstance(answer, torch.optim.Optimizer):
        raise Wrong("answer_3 에는 옵티마이저 객체(ex_opt)를 넣으세요.")
    if len(answer.param_groups) != 2:
        raise Wrong(f"파라미터 그룹이 {len(answer.param_groups)}개입니다. 헤드 그룹은 그대로 두고 그룹을 하나만 더하세요.")
    new = answer.param_groups[1]
    if not any(p is model.conv_head.weight for p in new["params"]):
        raise Wrong("새 그룹에 conv_head의 가중치 텐서가 없습니다. 같은 모델(ex_model)의 파라미터를 넣었는지 보세요.")
    if abs(new["lr"] - 1e-4) > 1e-12:
        raise Wrong("새 그룹의 학습률이 과제와 다릅니다. 그룹 딕셔너리에 'lr'을 직접 주세요.")
    moved = (model.conv_head.weight.detach() - before.conv_head.weight.detach().to(model.conv_head.weight.device)).abs().max().item()
    if moved == 0:
        raise Wrong("conv_head의 가중치가 아직 그대로입니다. 손실을 계산해 backward()와 step()을 한 번 하세요.")
    if moved > 1.5e-4:
        raise Wrong(f"가중치가 {moved:.1e}만큼 움직였습니다. Adam의 첫 step은 원소마다 대략 학습률(1e-4)만큼만 움직입니다: "
                    "step을 여러 번 했거나 다른 학습률로 움직인 것 같습니다.")
