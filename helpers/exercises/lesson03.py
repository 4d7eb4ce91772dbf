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

from helpers.callbacks import EarlyStopping
from helpers.exercises import Wrong, as_choice, as_function, as_instance, as_number, exercise, judge_choice
from helpers.models import unfreeze_last

KERAS_GUIDE = "https://keras.io/guides/transfer_learning/"


def _trainable(model: nn.Module) -> set[str]:
    return {n for n, p in model.named_parameters() if p.requires_grad}


@exercise("03.M1")
def unfreeze_by_hand(answer: Any, model: nn.Module) -> None:
    """``answer``: ``f(model, n) -> names``; opens the same parameters as ``helpers.models.unfreeze_last``
    for n = 1, 2, 3 and opens nothing for n = 0 (``blocks[-0:]`` is the whole list)."""
    unfreeze = as_function(answer, "answer_m1", "my_unfreeze_last")
    for n in (1, 2, 3, 0):
        mine, helper = copy.deepcopy(model), copy.deepcopy(model)   # the student's function only sees copies
        names = unfreeze(mine, n)
        helper_names = unfreeze_last(helper, n)
        if _trainable(mine) != _trainable(helper):
            extra, missing = _trainable(mine) - _trainable(helper), _trainable(helper) - _trainable(mine)
            if n == 0:
                raise Wrong("n=0이면 아무 블록도 풀지 않아야 하는데 파라미터가 풀렸습니다. 리스트[-0:]은 빈 리스트가 아니라 "
                            "리스트 전체입니다: 끝에서 n개를 자를 때 n=0인 경우를 따로 생각하세요.")
            where = f"더 풀린 것 예: {sorted(extra)[:2]}" if extra else f"안 풀린 것 예: {sorted(missing)[:2]}"
            raise Wrong(f"n={n}일 때 풀린 파라미터가 unfreeze_last와 다릅니다({where}). backbone_blocks는 입력 → 출력 순서이고, "
                        "블록의 파라미터를 하나도 빠짐없이 바꿔야 합니다.")
        if list(names or []) != helper_names:
            raise Wrong(f"n={n}: 파라미터는 맞게 풀었지만 돌려준 이름 {names}가 푼 블록의 이름(입력 → 출력 순서)과 다릅니다.")


@exercise("03.M2")
def param_groups_by_hand(answer: Any, model: nn.Module, helper_groups: list[dict]) -> None:
    """``answer``: a list of parameter groups; every trainable tensor gets the helper's lr, frozen ones are absent."""
    groups = as_instance(answer, (list, tuple), "answer_m2", '{"params": [...], "lr": ...} 딕셔너리의 리스트')
    if not groups or not all(isinstance(g, dict) and "params" in g for g in groups):
        raise Wrong('answer_m2 에는 {"params": [...], "lr": ...} 딕셔너리의 리스트를 넣으세요.')
    groups = [dict(g, params=list(g["params"])) if not isinstance(g["params"], torch.Tensor) else dict(g) for g in groups]
    try:
        optimizer = torch.optim.Adam(groups, lr=123.0)     # a group without "lr" would get this default
    except (ValueError, TypeError) as error:
        raise Wrong(f"이 리스트로 옵티마이저를 만들 수 없습니다({type(error).__name__}). 같은 텐서가 두 그룹에 들어가지 않았는지 보세요.") from None
    got = {id(p): g["lr"] for g in optimizer.param_groups for p in g["params"]}
    want = {id(p): g["lr"] for g in helper_groups for p in g["params"]}
    frozen = {id(p) for p in model.parameters() if not p.requires_grad}
    if got.keys() & frozen:
        raise Wrong("고정된(requires_grad=False) 파라미터가 그룹에 들어 있습니다. 학습하지 않는 블록은 빼세요.")
    if got.keys() != want.keys():
        raise Wrong("학습 가능한 파라미터 중 그룹에 빠진 것이 있거나, 모델에 없는 텐서가 들어 있습니다. ft_demo의 블록을 모두 훑었는지 보세요.")
    if any(got[pid] == 123.0 for pid in want):
        raise Wrong('어떤 그룹에 "lr"이 없습니다. 그룹마다 자기 학습률을 주세요.')
    head_lr = max(want.values())
    head = {pid for pid, lr in want.items() if lr == head_lr}
    if len(set(got[pid] for pid in want)) == 1:
        raise Wrong("모든 그룹의 학습률이 같습니다. 헤드에서 입력 쪽으로 한 블록 갈 때마다 LR_DECAY를 한 번 더 곱합니다.")
    if any(got[pid] > min(got[h] for h in head) for pid in want.keys() - head):
        raise Wrong("헤드보다 학습률이 큰 블록이 있습니다. 입력 쪽 블록일수록 학습률이 작아야 합니다: 세는 방향(헤드 → 입력)을 보세요.")
    for pid, lr in want.items():
        if not math.isclose(got[pid], lr, rel_tol=1e-9):
            raise Wrong("학습률이 helpers와 다른 그룹이 있습니다. 헤드가 LR_FT이고, 입력 쪽으로 한 블록 갈 때마다 LR_DECAY를 한 번 더 곱합니다.")


@exercise("03.1")
def batchnorm_prediction(answer: Any, losses: Mapping[str, float]) -> None:
    """``answer``: "a" / "b" / "c" (same / higher / lower), compared with the two measured losses.

    A predict exercise: a wrong answer gets a question to think about, never the measured losses
    or the explanation (a second try must not pass by copying); both come after 통과."""
    choice = as_choice(answer, "abc", "answer_1")
    head, opened = list(losses.values())
    measured = "a" if abs(opened - head) < 1e-6 else "b" if opened > head else "c"
    judge_choice(choice, measured, {
        "a": "가중치가 같아도 출력이 같으려면 모든 층이 같은 방식으로 계산해야 합니다. model.train()이 어떤 층의 "
             "계산을 바꾸는지, 그 층이 고정된 블록과 풀린 블록에서 각각 어떤 모드인지 생각해 보세요.",
        "else": "예측이 측정과 다릅니다. 풀린 블록 안의 어떤 층이 학습 모드에서 다른 통계를 쓰는지, 1단계 헤드가 "
                "어떤 특성에 맞춰 학습되었는지 생각해 보세요."})
    print(f"측정: 헤드만 {head:.3f}, 블록을 푼 쪽 {opened:.3f}. 가중치는 그대로지만 모드가 다릅니다. 고정된 블록의 배치 정규화는 "
          "평가 모드로 ImageNet의 평균·분산을 쓰고, 풀린 블록의 배치 정규화는 학습 모드가 되어 지금 미니배치(MRI 16장)의 "
          "평균·분산으로 정규화합니다. 1단계 헤드는 평가 모드 특성에 맞춰 학습되었으니 손실이 커집니다. Keras 안내서 "
          f"\"Transfer learning & fine-tuning\"({KERAS_GUIDE})는 그래서 미세 조정 때 배치 정규화 층을 추론 모드"
          "(training=False)로 두라고 권합니다.")


_LOSS_LISTS = [([0.9, 0.7, 0.72, 0.65, 0.66, 0.67, 0.64, 0.70], 2), ([0.9, 0.7, 0.72, 0.65, 0.66, 0.67, 0.64], 3),
               ([1.0, 1.0, 1.0, 0.9], 2), ([0.5, 0.4, 0.3, 0.2], 1), ([0.5, 0.6, 0.5, 0.5, 0.4], 3), ([0.3], 1)]


def _course_stop(losses: list[float], patience: int) -> int | None:
    stopper = EarlyStopping(patience=patience, restore_best_weights=False)
    trainer = SimpleNamespace(stop=False, model=None, history=SimpleNamespace(stopped_early=False, epoch=[], val_loss=[]))
    for epoch, value in enumerate(losses, start=1):
        stopper.on_epoch_end(trainer, {"epoch": epoch, "val_loss": value})
        if trainer.stop:
            return stopper.stopped_epoch
    return None


def _variant(losses: list[float], patience: int, *, equal_is_record=False, wait_more=False, first=1,
             reset=True, give_best=False, end_instead_of_none=False) -> int | None:
    """The common wrong versions of the rule, to name the student's mistake."""
    best, waited, best_epoch = float("inf"), 0, None
    for epoch, value in enumerate(losses, start=first):
        if value < best or (equal_is_record and value == best):
            best, best_epoch = value, epoch
            waited = 0 if reset else waited
            continue
        waited += 1
        if waited > patience if wait_more else waited >= patience:
            return best_epoch if give_best else epoch
    return len(losses) if end_instead_of_none else None


_MISTAKES = [
    (dict(equal_is_record=True), "최고 기록과 같은 값을 기록을 깬 것으로 셉니다. '나아졌다'는 지금까지의 최솟값보다 작을 때뿐입니다."),
    (dict(wait_more=True), "한 에포크 늦게 멈춥니다. patience번 연속으로 기록을 못 깨면 그 에포크에서 멈춥니다(기다린 횟수가 "
                           "patience에 '도달'할 때). PyTorch의 ReduceLROnPlateau는 patience를 '넘을' 때 움직이니 헷갈리기 쉽습니다."),
    (dict(first=0), "에포크 번호가 하나씩 작습니다. 에포크는 1부터 셉니다(enumerate(..., start=1))."),
    (dict(reset=False), "기록을 깬 뒤에도 기다린 횟수가 이어집니다. 새 최고 기록이 나오면 기다린 횟수를 0으로 되돌리세요."),
    (dict(give_best=True), "멈춘 에포크가 아니라 최고 기록의 에포크를 돌려줍니다. 멈추는 에포크(최고 + patience)를 돌려주세요."),
    (dict(end_instead_of_none=True), "끝까지 멈추지 않았을 때 마지막 에포크 번호를 돌려줍니다. 그때는 None을 돌려주세요."),
]


@exercise("03.2")
def early_stop_rule(answer: Any) -> None:
    """``answer``: ``stop_epoch(losses, patience)``; stops where the course's ``EarlyStopping`` stops.

    On a mismatch the answers on all loss lists are compared with the usual wrong versions of the rule
    (equal counts as a record, off by one, 0-based epochs, no reset, best epoch returned, no None), so
    the hint names the student's mistake."""
    stop_epoch = as_function(answer, "answer_2", "stop_epoch")
    got = [stop_epoch(list(losses), patience) for losses, patience in _LOSS_LISTS]
    want = [_course_stop(losses, patience) for losses, patience in _LOSS_LISTS]
    if got == want:
        return
    for kwargs, hint in _MISTAKES:
        if got == [_variant(list(losses), patience, **kwargs) for losses, patience in _LOSS_LISTS]:
            raise Wrong(hint)
    (losses, patience), g, w = next(((lp, g, w) for lp, g, w in zip(_LOSS_LISTS, got, want) if g != w))
    if w is None:
        raise Wrong(f"patience={patience}, 손실 {losses}: EarlyStopping은 끝까지 멈추지 않는데 {g}를 돌려줍니다. "
                    "멈추지 않으면 None을 돌려주세요.")
    raise Wrong(f"patience={patience}, 손실 {losses}: 멈추는 에포크가 EarlyStopping과 다릅니다({g}). "
                "첫 에포크 번호가 1인지, 최고 기록과 같은 값은 기록이 아닌지, 기록을 깨면 기다린 횟수를 0으로 되돌리는지 보세요.")


PLATEAU_LOSSES = [1.0, 1.0, 1.0, 1.0, 1.0]


def _first_cut(losses: list[float], patience: int) -> int | None:
    """The epoch after which PyTorch's ReduceLROnPlateau first lowers the lr (run, not computed by hand)."""
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=patience)
    for epoch, value in enumerate(losses, start=1):
        plateau.step(value)
        if opt.param_groups[0]["lr"] < 1.0:
            return epoch
    return None


@exercise("03.3")
def plateau_prediction(answer: Any) -> None:
    """``answer``: the epoch after which ``ReduceLROnPlateau(patience=1)`` first cuts the lr when the
    validation loss stays flat (1.0 every epoch). A predict exercise: no value in the hints."""
    epoch = as_number(answer, "answer_3", integer=True, tensor=False)
    want = _first_cut(PLATEAU_LOSSES, patience=1)
    keras = 2   # Keras: wait >= patience, the wait counted from the first flat epoch after the best
    if epoch != want:
        if epoch == keras:
            raise Wrong("Keras의 ReduceLROnPlateau라면 맞는 답입니다. PyTorch는 나아지지 않은 에포크 수를 patience와 어떻게 "
                        "비교하는지(이르면인지, 넘으면인지) 6절 표 아래를 다시 보세요.")
        if epoch < keras:
            raise Wrong("첫 에포크의 1.0은 그때까지의 최고 기록입니다. 기록이 나온 에포크는 '나아지지 않은 에포크'로 세지 않습니다.")
        raise Wrong("너무 늦습니다. 나아지지 않은 에포크를 하나씩 세면서, 몇 번째에서 patience = 1을 넘는지 보세요.")
    print(f"실행 결과: 에포크 {want} 뒤에 처음 깎입니다(PyTorch: 나아지지 않은 에포크 수 > patience). 같은 손실에서 Keras의 "
          f"patience=1은 에포크 {keras} 뒤에 깎습니다(wait >= patience). Keras의 patience=p는 PyTorch의 patience=p-1입니다.")
