"""Checks for lesson 06 (feature maps and hooks). Each raises ``Wrong(hint)``; no hint gives the answer.

>>> from helpers.exercises import check
>>> check("06.M1", answer_m1, model=model, x=x, layers={"conv_stem": model.conv_stem})
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import torch
from torch import nn

from helpers.exercises import Wrong, exercise
from helpers.hooks import FeatureMaps, class_activation_map, count_hooks

OCCLUSION_SIZE, OCCLUSION_STRIDE, OCCLUSION_GRAY = 56, 28, 128   # exercise 06.3


@exercise("06.M1")
def capture_output(answer: Any, model: nn.Module, x: torch.Tensor, layers: dict[str, nn.Module]) -> None:
    """``answer``: ``capture_output(model, layer, x)`` -> the layer's output; equals FeatureMaps; no hook left, even after an error."""
    if not callable(answer):
        raise Wrong("answer_m1 에는 함수 capture_output 자체를 넣으세요 (호출 결과가 아니라).")
    for name, layer in layers.items():
        got = answer(model, layer, x)
        if count_hooks(model):
            raise Wrong("함수가 끝난 뒤에도 훅이 모델에 남아 있습니다. register_forward_hook이 돌려준 핸들로 remove()를 부르세요.")
        with FeatureMaps(model, names=[name]) as maps:
            with torch.no_grad():
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
        answer(model, layer, bad)
    except Exception:  # noqa: BLE001 - the forward error is expected to reach the caller
        pass
    left = count_hooks(model)
    if left:
        for module in model.modules():   # clean up so the rest of the lesson is not affected
            module._forward_hooks.clear()
        raise Wrong("순전파가 오류로 끝나면 훅이 남습니다. 훅 제거를 try ... finally 의 finally 쪽에 두세요.")


@exercise("06.M2")
def grad_cam(answer: Any, model: nn.Module, x: torch.Tensor, layer: nn.Module, classes: Sequence[int]) -> None:
    """``answer``: ``grad_cam(model, x, layer, class_idx)`` -> (H, W) map in [0, 1], equal to ``class_activation_map``."""
    if not callable(answer):
        raise Wrong("answer_m2 에는 함수 grad_cam 자체를 넣으세요.")
    for class_idx in classes:
        got = answer(model, x, layer, class_idx)
        if count_hooks(model) or any(len(m._backward_hooks) for m in model.modules()):
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
        raise Wrong(f"클래스 {class_idx}의 히트맵이 헬퍼와 다릅니다. 채널 가중치가 채널별 기울기의 '평균'인지, "
                    "가중합 뒤에 ReLU를 적용했는지, bilinear 업샘플(align_corners=False)을 썼는지 보세요.")


@exercise("06.1")
def activation_types(answer: Any, model: nn.Module, x: torch.Tensor) -> None:
    """``answer``: a tuple of activation classes; FeatureMaps with it captures every activation output."""
    if not isinstance(answer, tuple) or not answer or not all(isinstance(t, type) for t in answer):
        raise Wrong("answer_1 에는 클래스들의 튜플을 넣으세요 (객체가 아니라 클래스, 예: (SomeLayer,)).")
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


def _score_without(model: nn.Module, x: torch.Tensor, layer: nn.Module, channels: list[int], class_idx: int) -> float:
    def hook(module, inputs, output):
        output = output.clone()
        output[:, channels] = 0
        return output
    handle = layer.register_forward_hook(hook)
    try:
        with torch.no_grad():
            return model(x)[0, class_idx].item()
    finally:
        handle.remove()


@exercise("06.2")
def channel_ablation(answer: Any, model: nn.Module, x: torch.Tensor, layer: nn.Module, class_idx: int) -> None:
    """``answer``: ``score_without(model, x, layer, channels, class_idx)`` -> the class score with those channels zeroed."""
    if not callable(answer):
        raise Wrong("answer_2 에는 함수 score_without 자체를 넣으세요.")
    with torch.no_grad():
        full = model(x)[0, class_idx].item()
    n_channels = layer.out_channels if hasattr(layer, "out_channels") else 8
    cases = [list(range(0, n_channels, 2)), [1, 5, 7], []]
    for channels in cases:
        got = answer(model, x, layer, channels, class_idx)
        if count_hooks(model):
            for module in model.modules():
                module._forward_hooks.clear()
            raise Wrong("함수가 끝난 뒤에도 훅이 남아 있습니다. finally에서 remove()를 부르세요.")
        try:
            got = float(got)
        except (TypeError, ValueError):
            raise Wrong("클래스 점수 하나(float)를 돌려주세요. 텐서라면 .item()으로 꺼내세요.") from None
        want = _score_without(model, x, layer, channels, class_idx)
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


@exercise("06.3")
def occlusion_prediction(answer: Any, model: nn.Module, image, to_input: Callable, cam: torch.Tensor, class_idx: int) -> None:
    """``answer``: "a", "b" or "c", the predicted effect of graying the hottest Grad-CAM square."""
    choice = str(answer).strip().lower().strip("()")
    if choice not in {"a", "b", "c"}:
        raise Wrong('answer_3 에는 "a", "b", "c" 중 하나를 넣으세요.')
    before, after = _occlusion(model, image, to_input, cam, class_idx)
    truth = "c" if after > before else ("a" if after < 0.1 else ("b" if after >= 0.5 else None))
    if truth is None:
        raise Wrong(f"이 모델과 사진에서는 확률이 {after:.2f}로 세 보기 어디에도 들지 않습니다. 다른 모델(ARCH)을 쓰고 있나요?")
    if choice != truth:
        raise Wrong("예측이 실행 결과와 다릅니다. Grad-CAM은 점수가 '어디에 기대는가'를 거칠게 보여 줄 뿐, 그곳이 없으면 답이 "
                    "바뀐다는 뜻은 아닙니다. 한 조각을 가린 뒤에도 사진에 무엇이 남는지 생각해 보세요.")
    print(f"실행 결과: 확률 {before:.2f} → {after:.2f}. 가장 뜨거운 {OCCLUSION_SIZE}×{OCCLUSION_SIZE} 조각을 가려도 "
          "모델은 남은 증거(다른 눈, 귀, 털 무늬)로 같은 답을 냅니다. 히트맵이 뜨거운 곳은 '기대는 곳'이지 '없으면 안 되는 곳'이 아닙니다. "
          "설명이 맞는지는 이렇게 가려 보는(occlusion) 실험으로 따로 확인합니다.")
