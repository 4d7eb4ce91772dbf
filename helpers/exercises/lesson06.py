"""Checks for lesson 06 (feature maps and hooks). Each raises ``Wrong(hint)``; no hint gives the answer.

Every check that lends the lesson's model to a student's function runs it inside
``restoring(model)``: hooks, modes and flags come back as they were, so a first try that forgot
``handle.remove()`` never poisons the next one (hooks left behind before the check, by an earlier
run of the student's own cell, are removed with a note too). References are computed by another
route than the exercises' answers (06.2: a copy of the model whose conv filters are zeroed).

>>> from helpers.exercises import check
>>> check("06.M1", answer_m1, model=model, x=x, layers={"conv_stem": model.conv_stem})
"""
from __future__ import annotations

import copy
from typing import Any, Callable, Sequence

import torch
from torch import nn

from helpers.exercises import Wrong, as_choice, as_function, as_instance, as_number, exercise, judge_choice, restoring
from helpers.hooks import FeatureMaps, class_activation_map, count_hooks

OCCLUSION_SIZE, OCCLUSION_STRIDE, OCCLUSION_GRAY = 56, 28, 128   # exercise 06.3
_ACTIVATIONS = tuple(v for v in vars(nn.modules.activation).values()
                     if isinstance(v, type) and issubclass(v, nn.Module) and v is not nn.Module)


def _clear_leftover_hooks(model: nn.Module) -> None:
    """Hooks already on the model before the check (an earlier attempt run in its own cell): removed, with a note."""
    left = count_hooks(model)
    if left:
        for module in model.modules():
            module._forward_hooks.clear()
            module._forward_pre_hooks.clear()
            module._backward_hooks.clear()
        print(f"참고: 모델에 이전 시도가 남긴 훅 {left}개가 있어서 지웠습니다(remove()를 빠뜨린 실행). 확인을 계속합니다.")


def _hooks_left(model: nn.Module) -> bool:
    return bool(count_hooks(model) or any(len(getattr(m, "_backward_pre_hooks", {})) for m in model.modules()))


def _inplace_probe() -> tuple[nn.Module, nn.Module, torch.Tensor, torch.Tensor]:
    """A conv followed by ReLU(inplace=True), as in VGG16: an output stored without clone() is overwritten."""
    g = torch.Generator(device="cpu").manual_seed(0)
    conv = nn.Conv2d(3, 4, 3)
    with torch.no_grad():
        conv.weight.copy_(torch.randn(conv.weight.shape, generator=g))
        conv.bias.zero_()
    probe = nn.Sequential(conv, nn.ReLU(inplace=True)).eval()
    x = torch.randn(1, 3, 8, 8, generator=g)
    with torch.no_grad():
        want = conv(x)
    return probe, conv, x, want


@exercise("06.M1")
def capture_output(answer: Any, model: nn.Module, x: torch.Tensor, layers: dict[str, nn.Module]) -> None:
    """``answer``: ``capture_output(model, layer, x)`` -> the layer's output; equals FeatureMaps; no hook left, even after an error."""
    fn = as_function(answer, "answer_m1", "capture_output")
    _clear_leftover_hooks(model)
    with restoring(model):
        for name, layer in layers.items():
            got = fn(model, layer, x)
            if _hooks_left(model):
                raise Wrong("함수가 끝난 뒤에도 훅이 모델에 남아 있습니다. register_forward_hook이 돌려준 핸들로 remove()를 부르세요.")
            with FeatureMaps(model, names=[name]) as maps, torch.no_grad():
                model(x)
            want = maps.maps[name]
            if not isinstance(got, torch.Tensor) or got.shape != want.shape:
                raise Wrong(f"{name}: 층의 출력 텐서(모양 {tuple(want.shape)})를 돌려주세요. 훅이 받는 세 인자 중 무엇이 출력인가요?")
            if got.requires_grad or got.grad_fn is not None:
                raise Wrong("돌려준 텐서가 계산 그래프에 붙어 있습니다. 저장할 때 그래프에서 떼어 내세요.")
            if not torch.allclose(got, want, atol=1e-5):
                raise Wrong(f"{name}: 값이 FeatureMaps와 다릅니다. 입력이 아니라 출력을, 같은 x로 잡았는지 보세요.")
        bad = torch.zeros(1, 1, *x.shape[-2:], device=x.device)   # wrong number of channels: forward raises
        layer = next(iter(layers.values()))
        try:
            fn(model, layer, bad)
        except Wrong:
            pass                                                   # the forward error, reported through as_function
        if _hooks_left(model):
            raise Wrong("순전파가 오류로 끝나면 훅이 남습니다. 훅 제거를 try ... finally 의 finally 쪽에 두세요.")
    probe, conv, px, want = _inplace_probe()
    got = fn(probe, conv, px)
    if not isinstance(got, torch.Tensor) or got.shape != want.shape:
        raise Wrong("합성곱 + ReLU(inplace=True) 모델에서 층의 출력 텐서를 돌려주지 않았습니다.")
    if not torch.allclose(got, want, atol=1e-5):
        raise Wrong("합성곱 바로 뒤에 ReLU(inplace=True)가 있는 모델(VGG16처럼)에서는 값이 틀립니다: 저장한 출력을 ReLU가 "
                    "제자리에서 덮어썼습니다. detach()는 메모리를 공유합니다. 자기 메모리를 가진 복사본으로 저장하세요.")


@exercise("06.M2")
def grad_cam(answer: Any, model: nn.Module, x: torch.Tensor, layer: nn.Module, classes: Sequence[int]) -> None:
    """``answer``: ``grad_cam(model, x, layer, class_idx)`` -> (H, W) map in [0, 1], equal to ``class_activation_map``."""
    fn = as_function(answer, "answer_m2", "grad_cam")
    _clear_leftover_hooks(model)
    for class_idx in classes:
        with restoring(model):
            got = fn(model, x, layer, class_idx)
            if _hooks_left(model):
                raise Wrong("함수가 끝난 뒤에도 훅이 남아 있습니다. finally에서 핸들의 remove()를 부르세요.")
        want, _ = class_activation_map(model, x, layer, class_idx)
        if not isinstance(got, torch.Tensor) or got.dim() != 2 or tuple(got.shape) != tuple(want.shape):
            raise Wrong(f"모양이 {tuple(want.shape)}인 히트맵 텐서 하나를 돌려주세요 (입력 크기로 키운 뒤).")
        got = got.detach().cpu().float()
        if got.min() < -1e-6 or got.max() > 1 + 1e-6 or abs(got.max().item() - 1) > 1e-4:
            raise Wrong("값의 범위가 [0, 1]이 아닙니다. 업샘플한 뒤 최솟값을 빼고 최댓값으로 나누세요.")
        if torch.allclose(got, want, atol=1e-4):
            continue
        if torch.allclose(got, 1 - want, atol=1e-4) or torch.corrcoef(torch.stack([got.flatten(), want.flatten()]))[0, 1] < 0:
            raise Wrong("히트맵이 거의 반대로 나옵니다. 기울기의 부호와, 점수를 '올리는' 쪽만 남기는 ReLU의 위치를 확인하세요.")
        raise Wrong(f"클래스 {class_idx}의 히트맵이 헬퍼와 다릅니다. 채널 가중치가 채널별 기울기의 '평균'(기울기의 부호 그대로)인지, "
                    "가중합 뒤에 ReLU를 적용했는지, bilinear 업샘플(align_corners=False)을 썼는지 보세요.")


@exercise("06.1")
def activation_range(answer: Any, model: nn.Module, x: torch.Tensor, types: Any = None) -> None:
    """``answer``: the explanation ("a", "b" or "c") of the activations' range; ``types``: the student's tuple
    of activation classes, which must capture exactly the model's activation modules."""
    choice = as_choice(answer, "abc", "answer_1")
    if types is None:
        raise Wrong("act_types가 아직 None입니다. 이 모델이 쓰는 활성화 함수 클래스(들)의 튜플을 act_types에 넣고 그 출력을 먼저 잡아 보세요.")
    if isinstance(types, type):
        types = (types,)
    types = as_instance(types, (tuple, list), "act_types", "클래스들의 튜플")
    if not types or not all(isinstance(t, type) for t in types):
        raise Wrong("act_types에는 클래스들의 튜플을 넣으세요 (객체가 아니라 클래스, 예: (SomeLayer,)).")
    acts = [n for n, m in model.named_modules() if isinstance(m, _ACTIVATIONS)]
    _clear_leftover_hooks(model)
    with restoring(model), FeatureMaps(model, layer_types=tuple(types)) as maps, torch.no_grad():
        model(x)
    if not maps.maps:
        raise Wrong("act_types로 잡힌 층이 없습니다. 이 모델이 실제로 쓰는 활성화 함수 클래스를 model.modules()에서 찾아보세요.")
    extra = sorted({type(model.get_submodule(n)).__name__ for n in maps.maps if n not in acts})
    if extra:
        raise Wrong(f"act_types가 활성화 함수가 아닌 층({', '.join(extra)})도 잡습니다. 활성화 함수 클래스만 넣으세요.")
    if len(maps.maps) < len(acts):
        raise Wrong(f"활성화 층 {len(acts)}개 중 {len(maps.maps)}개만 잡혔습니다. 빠진 종류가 없는지 확인하세요.")
    judge_choice(choice, "a", {"else": "그 설명은 출력한 숫자와 맞지 않습니다. 최솟값, 최댓값, 정확히 0인 비율을 만든 것이 "
                                       "어느 층의 식인지 다시 보세요."})
    print("맞습니다: ReLU6(v) = min(max(v, 0), 6)이라 음수 입력은 모두 정확히 0, 6을 넘는 값은 6이 됩니다. 0의 비율은 활성화 직전에 음수였던 값의 비율입니다.")


def _zeroed_copy(model: nn.Module, layer: nn.Module, channels: list[int]) -> nn.Module:
    """A copy of ``model`` whose conv ``layer`` has the filters (and biases) of ``channels`` zeroed:
    its output channels are exactly 0, by another route than a hook."""
    name = next(n for n, m in model.named_modules() if m is layer)
    twin = copy.deepcopy(model)
    conv = twin.get_submodule(name)
    with torch.no_grad():
        conv.weight[channels] = 0
        if conv.bias is not None:
            conv.bias[channels] = 0
    return twin


@exercise("06.2")
def channel_ablation(answer: Any, model: nn.Module, x: torch.Tensor, layer: nn.Module, class_idx: int) -> None:
    """``answer``: ``score_without(model, x, layer, channels, class_idx)`` -> the class score (float) with those channels zeroed."""
    fn = as_function(answer, "answer_2", "score_without")
    _clear_leftover_hooks(model)
    with torch.no_grad():
        full = model(x)[0, class_idx].item()
    n_channels = layer.out_channels
    cases = [list(range(0, n_channels, 2)), [1, 5, 7], []]
    for channels in cases:
        with restoring(model):
            got = fn(model, x, layer, channels, class_idx)
            if _hooks_left(model):
                raise Wrong("함수가 끝난 뒤에도 훅이 남아 있습니다. finally에서 remove()를 부르세요.")
        got = as_number(got, "score_without의 반환값", tensor=False)
        with torch.no_grad():
            want = _zeroed_copy(model, layer, channels)(x)[0, class_idx].item()
        if abs(got - want) > 1e-3 * max(1.0, abs(want)):
            if channels and abs(got - full) < 1e-4:
                raise Wrong("점수가 채널을 끄기 전과 같습니다. 훅이 바꾼 텐서를 '돌려주어야' 그 값이 층의 출력을 대신합니다.")
            raise Wrong("점수가 다릅니다. channels에 속한 채널만 (배치의 모든 샘플에서, 공간 전체를) 0으로 바꿨는지 보세요.")
    with torch.no_grad():
        after = model(x)[0, class_idx].item()
    if abs(after - full) > 1e-4:
        raise Wrong("함수를 부른 뒤 모델의 출력이 달라졌습니다. 가중치나 모델을 고치지 말고 훅으로 출력만 바꾸세요.")


def _occlusion(model: nn.Module, image, to_input: Callable, cam: torch.Tensor, class_idx: int) -> tuple[float, float]:
    """(probability before, probability after graying the hottest square) for ``class_idx``."""
    size, stride = OCCLUSION_SIZE, OCCLUSION_STRIDE
    heat = cam.detach().cpu()
    best, corner = -1.0, (0, 0)
    for r in range(0, heat.shape[0] - size + 1, stride):
        for c in range(0, heat.shape[1] - size + 1, stride):
            mean = heat[r:r + size, c:c + size].mean().item()
            if mean > best:
                best, corner = mean, (r, c)
    covered = image.copy()
    r, c = corner
    covered[r:r + size, c:c + size] = OCCLUSION_GRAY
    with torch.no_grad():
        before = model(to_input(image)).softmax(1)[0, class_idx].item()
        after = model(to_input(covered)).softmax(1)[0, class_idx].item()
    return before, after


_SQUARE = f"가장 뜨거운 {OCCLUSION_SIZE}×{OCCLUSION_SIZE} 조각"
_OCCLUSION_READING = {   # what the measured outcome says, one reading per option (shown after a right prediction)
    "a": f"확률이 0.1 아래로 떨어졌습니다: 이 사진에서는 {_SQUARE} 없이는 모델이 이 클래스를 거의 고르지 않습니다. "
         "이번에는 히트맵이 가리킨 곳이 답에 꼭 필요했지만, 히트맵만 보고는 그것을 알 수 없습니다.",
    "b": f"확률이 0.5 아래로 떨어졌지만 0.1 이상 남았습니다: {_SQUARE}이 이 점수에 적지 않게 기여했고, 사진의 나머지에도 이 클래스의 증거가 남아 있습니다. "
         "히트맵만 보고는 그 크기를 알 수 없습니다.",
    "c": f"확률이 떨어졌지만 0.5 이상 남아 여전히 1위입니다: {_SQUARE}을 가려도 모델은 사진의 나머지로 같은 답을 냅니다. "
         "히트맵이 가장 뜨거운 곳도 '없으면 안 되는 곳'은 아니었습니다. 히트맵은 점수가 어디에 기대는지를 보여 줄 뿐입니다.",
    "d": f"확률이 그대로이거나 올랐습니다: 이 클래스 점수에 {_SQUARE}이 필요하지 않았습니다. "
         "히트맵이 가장 뜨거운 곳도 '없으면 안 되는 곳'은 아니었습니다. 히트맵은 점수가 어디에 기대는지를 보여 줄 뿐입니다.",
}


def occlusion_outcome(before: float, after: float) -> str:
    """The option that the measured probabilities fall in (the options cover every outcome)."""
    if after >= before:
        return "d"
    return "a" if after < 0.1 else ("b" if after < 0.5 else "c")


@exercise("06.3")
def occlusion_prediction(answer: Any, model: nn.Module, image, to_input: Callable, cam: torch.Tensor, class_idx: int) -> None:
    """``answer``: "a" … "d", the predicted effect of graying the hottest Grad-CAM square."""
    choice = as_choice(answer, "abcd", "answer_3")
    before, after = _occlusion(model, image, to_input, cam, class_idx)
    judge_choice(choice, occlusion_outcome(before, after),
                 {"else": "예측이 실행 결과와 다릅니다. 11절의 히트맵 설명을 다시 읽고 한 번 더 예측해 보세요."})
    print(f"실행 결과: 확률 {before:.2f} → {after:.2f}. {_OCCLUSION_READING[choice]} "
          "설명이 맞는지는 이렇게 가려 보는(occlusion) 실험으로 따로 확인합니다(Zeiler & Fergus, ECCV 2014, 4.2절).")
