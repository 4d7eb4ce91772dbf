"""Checks for lesson 01 (workflow / VGG16). Each raises ``Wrong(hint)``; no hint gives the answer.

>>> from helpers.exercises import check
>>> check("01.M1", answer_m1)   # the head swap; "01.M2": one training step
"""
from __future__ import annotations

import copy
from typing import Any, Sequence

import torch
from torch import nn
from torchvision import models

from helpers.exercises import Wrong, as_choice, as_function, as_number, exercise, judge_choice
from helpers.models import replace_head, set_parameter_requires_grad, trainable_parameter_names
from helpers.train import run_phase


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

    Run side by side with ``helpers.train.run_phase`` (what ``fit`` calls once per phase; it takes
    this step for every batch) on a small model, one fixed batch, SGD with momentum: the parameters
    must match after every step, and the loss on the fixed batch must go down."""
    answer = as_function(answer, "answer_m2", "train_step")
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
        snapshot = copy.deepcopy(student) if step == 1 else None
        got = answer(student, inputs, labels, criterion, opt_student)
        run_phase(reference, [(inputs, labels)], criterion, torch.device("cpu"), optimizer=opt_reference)
        if step == 1:
            if all(torch.equal(b, p) for b, p in zip(before, student.parameters())):
                if all(p.grad is None or not p.grad.any() for p in student.parameters()):
                    raise Wrong("한 걸음 뒤에도 파라미터가 그대로이고 .grad가 비어 있습니다. step()을 부를 때 기울기가 있었나요? "
                                "backward()를 불렀는지, 그 뒤에 기울기를 지우지 않았는지 다섯 가지 일의 순서를 보세요.")
                raise Wrong("한 걸음 뒤에도 파라미터가 그대로입니다. 기울기는 구했는데, 파라미터를 실제로 바꾸는 것은 누구인가요?")
            got_value = as_number(got, "train_step이 돌려준 손실", tensor=False)
            with torch.no_grad():
                on_softmax = criterion(torch.softmax(snapshot(inputs), dim=1), labels).item()
                after_update = criterion(student(inputs), labels).item()
            if abs(got_value - want_loss) > 1e-5 and abs(got_value - on_softmax) < 1e-5:
                raise Wrong("손실을 softmax를 거친 확률로 계산했습니다. nn.CrossEntropyLoss는 안에서 softmax의 로그를 계산하므로 "
                            "모델이 낸 로짓을 그대로 넘기세요(6절).")
            if abs(got_value - want_loss) > 1e-5 and abs(got_value - after_update) < 1e-5:
                raise Wrong("돌려준 손실이 갱신한 뒤의 손실입니다. 이 걸음의 순전파에서 계산한 (갱신 전) 손실을 돌려주세요.")
            if abs(got_value - want_loss) > 1e-5:
                raise Wrong("돌려준 손실이 이 걸음의 (갱신 전) 손실과 다릅니다. 순전파 → 손실 → 역전파 → 갱신 순서로, "
                            "순전파에서 계산한 그 손실을 돌려주는지 보세요.")
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
    answer = as_function(answer, "answer_m1", "swap_head")
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
    print(f"replace_head와 같은 구조, 같은 학습 파라미터 {sorted(got)}")


@exercise("01.1")
def forgotten_zero_grad(answer: Any) -> None:
    """``answer``: "a", "b" or "c", predicted before running: without ``zero_grad``, how does the
    second SGD step on the same batch compare with the first (a: the same size, b: about twice
    as large, c: zero)? Measured here; the measurement is shown only after a right prediction."""
    choice = as_choice(answer, "abc", "answer_1")
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
    judge_choice(choice, expected, {
        "c": "zero_grad를 부르지 않아도 backward()는 기울기를 계산하고 step()은 .grad를 써서 파라미터를 바꿉니다. "
             "두 번째 step() 때 .grad에는 무엇이 들어 있을까요?",
        "else": "두 번째 걸음 때 .grad에 들어 있는 것을 생각해 보세요. PyTorch 문서의 torch.Tensor.backward 설명에서 "
                "backward()가 이미 있는 .grad를 어떻게 다루는지 찾아보세요."})
    print(f"측정: 두 번째 걸음의 크기가 첫 걸음의 {ratio:.2f}배였습니다.")
    print("설명: backward()는 새 기울기를 .grad에 **더합니다**(누적). zero_grad 없이 두 번째 걸음을 가면 첫 걸음의 기울기와 "
          "두 번째 기울기의 합으로 갱신하므로, 같은 배치에서는 거의 두 배로 움직입니다(파라미터가 조금 움직여 두 번째 기울기가 "
          "첫 기울기와 아주 같지는 않아 정확히 2배는 아님). 그래서 걸음마다 먼저 zero_grad()를 부릅니다.")


def _top_p_reference(probs: torch.Tensor, p: float) -> list[int]:
    """Indices of the fewest most probable classes whose probabilities add up to at least ``p``."""
    order = probs.argsort(descending=True).tolist()
    total, chosen = 0.0, []
    for i in order:
        chosen.append(i)
        total += probs[i].item()
        if total >= p:
            break
    return chosen


def _in_index_order(probs: torch.Tensor, p: float) -> list[int]:
    """The mistake of accumulating in class-number order (no sorting)."""
    total, chosen = 0.0, []
    for i in range(len(probs)):
        chosen.append(i)
        total += probs[i].item()
        if total >= p:
            break
    return chosen


def _check_top_p(call, logits: torch.Tensor, categories: list[str], p: float) -> list[str]:
    """Call the student's function once and diagnose the result; the right names, or ``Wrong``."""
    probs = torch.softmax(logits.reshape(-1).double(), dim=0)
    got = call(logits.clone(), list(categories), p)
    try:
        pairs = [(name, value) for name, value in got]
    except (TypeError, ValueError):
        raise Wrong("(클래스 이름, 확률) 쌍의 리스트를 돌려주세요. 예: [('tabby', 0.37), ...]") from None
    if not pairs:
        raise Wrong("빈 리스트가 나왔습니다. 확률이 가장 큰 클래스부터 하나씩 넣고 합을 늘려 가세요.")
    index = {name: i for i, name in enumerate(categories)}
    if any(name not in index for name, _ in pairs):
        raise Wrong("돌려준 이름이 categories에 없습니다. 번호를 이름으로 바꿀 때 categories[번호]를 쓰세요.")
    for name, value in pairs:
        want = probs[index[name]].item()
        if torch.is_tensor(value) or not isinstance(value, float):
            raise Wrong(f"확률을 {type(value).__name__}(으)로 돌려주었습니다. 파이썬 float로 돌려주세요(.item() 또는 .tolist()).")
        if abs(value - logits.reshape(-1)[index[name]].item()) < 1e-6 and abs(value - want) > 1e-6:
            raise Wrong("확률 자리에 로짓이 들어 있습니다. softmax를 거친 확률(합이 1)로 누적하세요.")
        if abs(value - want) > 1e-5:
            raise Wrong("확률 값이 softmax 확률과 다릅니다. 로짓 전체에 softmax를 한 번 적용했는지, 차원(dim)을 보세요.")
    names = [name for name, _ in pairs]
    right = [categories[i] for i in _top_p_reference(probs, p)]
    ranked = [categories[i] for i in probs.argsort(descending=True).tolist()]
    m = len(right)
    if names == right:
        return names
    if set(names) == set(right):
        raise Wrong("고른 클래스는 맞지만 순서가 다릅니다. 확률이 큰 것부터 돌려주세요.")
    if names == [categories[i] for i in _in_index_order(probs, p)]:
        raise Wrong("클래스 번호 순서대로 더했습니다. 확률이 큰 순서로 정렬한 뒤에 더하세요(sort 또는 argsort, descending).")
    if len(names) == 5 and names == ranked[:5]:
        raise Wrong("늘 5개를 돌려줍니다. 개수는 정해져 있지 않고, 확률의 합이 p에 이를 때 정해집니다.")
    if names == ranked[:m - 1]:
        raise Wrong("하나 모자랍니다: 합이 아직 p보다 작은 채 멈췄습니다. 합이 처음으로 p 이상이 되게 하는 클래스까지 넣으세요.")
    if names == ranked[:m + 1]:
        raise Wrong("하나 더 넣었습니다. 합이 p 이상이 된 그 클래스에서 멈추세요.")
    raise Wrong("고른 클래스가 다릅니다. 확률이 큰 것부터 더해 가다가 합이 처음으로 p 이상이 되면 멈추세요.")


def _made_logits(n: int) -> torch.Tensor:
    """Logits (1, n) whose softmax puts 0.28, 0.20, 0.15, 0.11, 0.08, 0.06, 0.04, 0.03 on eight scattered
    classes and 0.05 evenly on the rest: top-p gives 3 classes at p = 0.6 and 7 at p = 0.9."""
    top = torch.tensor([0.28, 0.20, 0.15, 0.11, 0.08, 0.06, 0.04, 0.03], dtype=torch.float64)
    probs = torch.full((n,), 0.05 / (n - len(top)), dtype=torch.float64)
    places = torch.randperm(n, generator=torch.Generator().manual_seed(1))[:len(top)]
    probs[places] = top
    return (probs.log() + 2.0).float().reshape(1, n)     # + 2: logits are not log-probabilities


@exercise("01.2")
def top_p_function(answer: Any, categories: Sequence[str], logits_photo: torch.Tensor | None = None) -> None:
    """``answer``: the student's ``topp_classes(logits, categories, p=0.9)``: the fewest most probable
    classes whose probabilities add up to at least ``p``, as ``[(name, probability), ...]``.

    Tried on logits the check builds (eight scattered classes with known probabilities, so that
    sorting, stopping one short or one late, a fixed top-5 and logits-for-probabilities all give
    different answers), as (1, N) and as (N,), with and without ``p``."""
    answer = as_function(answer, "answer_2", "topp_classes")
    categories = list(categories)
    logits = _made_logits(len(categories))
    _check_top_p(answer, logits, categories, 0.6)
    right = _check_top_p(answer, logits, categories, 0.9)
    try:
        flat = [name for name, _ in answer(logits.reshape(-1).clone(), list(categories), 0.9)]
    except Exception:  # noqa: BLE001 - the student's own error on a (N,) input
        flat = None
    if flat != right:
        raise Wrong("(1, 1000) 모양의 로짓에서는 맞는데 (1000,) 모양에서는 답이 다릅니다(또는 오류). 두 모양을 모두 받게 "
                    "하세요: reshape(-1)을 떠올려 보세요.")
    default = [name for name, _ in answer(logits.clone(), list(categories))]
    if default != right:
        raise Wrong("p를 주지 않고 부르면 p=0.9여야 합니다. 함수의 기본값을 보세요.")
    if logits_photo is not None:
        photo = answer(logits_photo.clone(), categories, 0.9)
        print(f"1.6의 사진, p=0.9: {len(photo)}개 클래스 {[name for name, _ in photo]} (합 {sum(v for _, v in photo):.3f})")


@exercise("01.3")
def vgg16_at_256(answer: Any) -> None:
    """``answer``: "a", "b" or "c", predicted before running: VGG16 on a 256 x 256 input without
    the centre crop (a: an error at the first Linear layer, b: it runs, avgpool turns the
    8 x 8 maps into 7 x 7, c: it runs and avgpool changes nothing). Measured on the meta device;
    the measurement is shown only after a right prediction."""
    choice = as_choice(answer, "abc", "answer_3")
    with torch.device("meta"):
        vgg16 = models.vgg16(weights=None).eval()
        try:
            conv_out = vgg16.features(torch.empty(1, 3, 256, 256))
            pooled = vgg16.avgpool(conv_out)
            logits = vgg16.classifier(torch.flatten(pooled, 1))
            ran = True
        except RuntimeError:
            ran = False
        same = {px: tuple(vgg16.features(torch.empty(1, 3, px, px)).shape[-2:]) == (7, 7) for px in range(200, 270)}
    expected = "a" if not ran else ("c" if tuple(conv_out.shape) == tuple(pooled.shape) else "b")
    judge_choice(choice, expected, {
        "a": "1절의 print(vgg16)에서 첫 완전연결층 바로 앞에 무엇이 있는지 찾고, 그 층의 문서(torch.nn.AdaptiveAvgPool2d)에서 "
             "출력 크기가 무엇으로 정해지는지 읽어 보세요.",
        "else": "256 px 입력이 합성곱 부분을 지나면 특성 맵이 몇 × 몇이 될지, 1.2의 블록별 출력 모양처럼 MaxPool2d(2, 2) 다섯 번을 "
                "따라 계산해 보세요."})
    seven = [px for px, ok in same.items() if ok]
    print(f"측정: 합성곱 부분의 출력 {tuple(conv_out.shape)} → avgpool {tuple(pooled.shape)} → 로짓 {tuple(logits.shape)}.")
    print("설명: 풀링 다섯 번으로 256 → 8이 되어 특성 맵이 8×8입니다. AdaptiveAvgPool2d((7, 7))는 입력 크기와 상관없이 출력을 7×7로 "
          "맞추므로(여기서는 8×8을 7×7로 평균 내어 값이 바뀜) 첫 완전연결층이 늘 25,088개를 받습니다. MaxPool2d는 나머지를 버리므로 "
          f"합성곱 출력이 이미 7×7인 {min(seven)}~{max(seven)} px 입력에서만 이 층이 아무것도 바꾸지 않습니다.")
