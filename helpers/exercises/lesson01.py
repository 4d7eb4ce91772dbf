"""Checks for lesson 01 (workflow / VGG16). Each raises ``Wrong(hint)``; no hint gives the answer.

>>> from helpers.exercises import check
>>> check("01.M1", answer_m1)   # the head swap; "01.M2": one training step
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import torch
from torch import nn

from helpers.exercises import Wrong, exercise


def _toy_problem() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """A small classifier and one fixed batch, the same on every call (its own generator)."""
    generator = torch.Generator().manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * 0.5)
    inputs = torch.randn(16, 4, generator=generator)
    labels = torch.randint(0, 3, (16,), generator=generator)
    return model, inputs, labels


def _same_parameters(a: nn.Module, b: nn.Module) -> bool:
    return all(torch.allclose(p, q, atol=1e-6) for p, q in zip(a.parameters(), b.parameters()))


@exercise("01.M2")
def training_step(answer: Any) -> None:
    """``answer``: the student's ``train_step(model, inputs, labels, criterion, optimizer) -> float``.

    Run side by side with ``helpers.train.run_phase`` (what ``fit`` runs for every batch) on a
    small model, one fixed batch, SGD with momentum: the parameters must match after every
    step, and the loss on the fixed batch must go down."""
    import copy

    from helpers.train import run_phase

    if not callable(answer):
        raise Wrong("answer_m2 에는 함수 train_step 자체를 넣으세요(호출 결과가 아니라).")
    student, inputs, labels = _toy_problem()
    reference = copy.deepcopy(student)
    criterion = nn.CrossEntropyLoss()
    opt_student = torch.optim.SGD(student.parameters(), lr=0.1, momentum=0.9)
    opt_reference = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    first_loss = None
    for step in range(1, 21):
        with torch.no_grad():
            want_loss = criterion(reference(inputs), labels).item()
        before = [p.detach().clone() for p in student.parameters()]
        got = answer(student, inputs, labels, criterion, opt_student)
        run_phase(reference, [(inputs, labels)], criterion, torch.device("cpu"), optimizer=opt_reference)
        if step == 1:
            if all(torch.equal(b, p) for b, p in zip(before, student.parameters())):
                raise Wrong("한 걸음 뒤에도 파라미터가 그대로입니다. 기울기를 구한 뒤, 파라미터를 실제로 바꾸는 것은 누구인가요?")
            try:
                got_value = float(got)
            except (TypeError, ValueError):
                raise Wrong("손실 값을 숫자(float)로 돌려주세요. 텐서에서 숫자 하나를 꺼내는 메서드가 있습니다.") from None
            if abs(got_value - want_loss) > 1e-5:
                raise Wrong("돌려준 손실이 이 걸음의 (갱신 전) 손실과 다릅니다. 순전파 → 손실 → 역전파 → 갱신 순서인지 보세요.")
            first_loss = got_value
        if not _same_parameters(student, reference):
            if step == 1:
                raise Wrong("첫 걸음 뒤의 파라미터가 참고 구현과 다릅니다. 손실을 로짓(모델 출력)과 정답으로 계산했는지, "
                            "그 손실로 역전파했는지 보세요.")
            raise Wrong(f"첫 걸음은 맞지만 {step}번째 걸음부터 참고 구현과 달라집니다. 매 걸음이 시작될 때 옵티마이저에게 "
                        "먼저 시켜야 하는 일이 있습니다.")
    with torch.no_grad():
        last_loss = criterion(student(inputs), labels).item()
    if not last_loss < first_loss:
        raise Wrong("같은 배치로 20걸음을 갔는데 손실이 줄지 않았습니다.")
    print(f"helpers.train.run_phase와 20걸음 모두 같은 파라미터; 같은 배치의 손실 {first_loss:.3f} -> {last_loss:.3f}")


@exercise("01.M1")
def head_swap(answer: Any) -> None:
    """``answer``: the student's ``swap_head(vgg, num_classes) -> nn.Linear``: freeze VGG16 and
    replace ``classifier[6]``. Compared with ``set_parameter_requires_grad`` + ``replace_head``
    on a second VGG16 (meta device: shapes only, nothing downloaded)."""
    from torchvision import models

    from helpers.models import replace_head, set_parameter_requires_grad, trainable_parameter_names

    if not callable(answer):
        raise Wrong("answer_m1 에는 함수 swap_head 자체를 넣으세요(호출 결과가 아니라).")
    with torch.device("meta"):
        student, reference = models.vgg16(weights=None), models.vgg16(weights=None)
    old = student.classifier[6]
    returned = answer(student, 3)
    set_parameter_requires_grad(reference)
    replace_head(reference, 3)
    if len(student.classifier) != len(reference.classifier):
        raise Wrong(f"classifier의 층 수가 {len(student.classifier)}개가 되었습니다. 층을 더하지 말고 마지막 층을 바꾸세요.")
    new = student.classifier[6]
    if new is old or not isinstance(new, nn.Linear):
        raise Wrong("classifier[6]이 그대로입니다. 새 nn.Linear를 그 자리에 넣으세요.")
    if (new.in_features, new.out_features) != (4096, 3):
        raise Wrong(f"새 층이 {new.in_features} → {new.out_features}입니다. 입력은 앞 층이 내는 크기, 출력은 클래스 수입니다.")
    if returned is not new:
        raise Wrong("함수는 새로 넣은 출력층(nn.Linear)을 돌려주어야 합니다.")
    got = trainable_parameter_names(student)
    want = trainable_parameter_names(reference)
    if set(got) - set(want):
        raise Wrong(f"새 출력층 말고도 학습되는 파라미터가 {len(set(got) - set(want))}개 있습니다. 몸통을 먼저 고정했나요?")
    if set(got) != set(want):
        raise Wrong("새 출력층이 학습되지 않습니다. 새 층을 만든 뒤에 고정했나요? 순서를 보세요.")
    shapes = {k: tuple(v.shape) for k, v in student.state_dict().items()}
    if shapes != {k: tuple(v.shape) for k, v in reference.state_dict().items()}:
        raise Wrong("파라미터의 이름이나 모양이 replace_head의 결과와 다릅니다.")
    print(f"replace_head와 같은 구조, 같은 학습 파라미터 {sorted(got)}")


@exercise("01.1")
def forgotten_zero_grad(answer: Any) -> None:
    """``answer``: "a", "b" or "c", predicted before running: without ``zero_grad``, how does the
    second SGD step on the same batch compare with the first (a: the same size, b: about twice
    as large, c: zero)? The check measures it and explains."""
    choice = str(answer).strip().lower().strip("()")
    if choice not in {"a", "b", "c"}:
        raise Wrong('answer_1 에는 "a", "b", "c" 중 하나를 문자열로 넣으세요.')
    model, inputs, labels = _toy_problem()
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    sizes = []
    for _ in range(2):                       # two steps, no zero_grad in between
        before = [p.detach().clone() for p in model.parameters()]
        criterion(model(inputs), labels).backward()
        optimizer.step()
        sizes.append(sum((p.detach() - b).pow(2).sum() for p, b in zip(model.parameters(), before)).sqrt().item())
    ratio = sizes[1] / sizes[0]
    expected = "c" if ratio < 0.1 else ("b" if ratio > 1.5 else "a")
    measured = f"측정: 두 번째 걸음의 크기가 첫 걸음의 {ratio:.2f}배였습니다."
    if choice != expected:
        raise Wrong(measured + " loss.backward()는 .grad에 기울기를 '써넣나요', '더하나요'? PyTorch 문서의 "
                    "Tensor.backward 설명(gradients are accumulated)을 찾아보세요.")
    print(measured)
    print("설명: backward()는 새 기울기를 .grad에 **더합니다**(누적). zero_grad 없이 두 번째 걸음을 가면 첫 걸음의 기울기와 "
          "두 번째 기울기의 합으로 갱신하므로, 같은 배치에서는 거의 두 배로 움직입니다. 그래서 걸음마다 먼저 zero_grad()를 부릅니다.")


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
def vgg16_at_256(answer: Any) -> None:
    """``answer``: "a", "b" or "c", predicted before running: VGG16 on a 256 x 256 input without
    the centre crop (a: an error at the first Linear layer, b: it runs, avgpool turns the
    8 x 8 maps into 7 x 7, c: it runs and avgpool changes nothing). Measured on the meta device."""
    from torchvision import models

    choice = str(answer).strip().lower().strip("()")
    if choice not in {"a", "b", "c"}:
        raise Wrong('answer_3 에는 "a", "b", "c" 중 하나를 문자열로 넣으세요.')
    with torch.device("meta"):
        vgg16 = models.vgg16(weights=None).eval()
        x = torch.empty(1, 3, 256, 256)
        try:
            conv_out = vgg16.features(x)
            pooled = vgg16.avgpool(conv_out)
            logits = vgg16.classifier(torch.flatten(pooled, 1))
            ran = True
        except RuntimeError:
            ran = False
    if not ran:
        expected = "a"
    else:
        expected = "c" if tuple(conv_out.shape) == tuple(pooled.shape) else "b"
    measured = (f"측정: 합성곱 부분의 출력 {tuple(conv_out.shape)} → avgpool {tuple(pooled.shape)} → 로짓 {tuple(logits.shape)}."
                if ran else "측정: 실행 중 오류가 났습니다.")
    if choice != expected:
        raise Wrong(measured + " 256을 2로 다섯 번 나누면 얼마인가요? 그리고 AdaptiveAvgPool2d((7, 7))은 어떤 크기의 입력이든 "
                    "무엇으로 만드나요(torch 문서 nn.AdaptiveAvgPool2d)?")
    print(measured)
    print("설명: 풀링 다섯 번으로 256 → 8이 되어 특성 맵이 8×8입니다. AdaptiveAvgPool2d((7, 7))는 입력 크기와 상관없이 출력을 7×7로 맞추므로 "
          "(여기서는 8×8을 7×7로 평균 내어 값이 바뀜) 첫 완전연결층이 늘 25,088개를 받습니다. 224 px에서만 이 층이 아무것도 바꾸지 않습니다.")
