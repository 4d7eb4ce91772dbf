"""Hooks: capture feature maps (forward hooks) and gradients, and build a class-activation map.

>>> from helpers.hooks import FeatureMaps, class_activation_map
>>> with FeatureMaps(model) as fmaps:          # every Conv2d by default
...     model(x)
>>> fmaps.maps["features.0"].shape             # (1, 64, 224, 224)
>>> len(model._forward_hooks)                  # hooks are gone after the with-block
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from helpers.device import device_of
from helpers.errors import CourseKeyError, CourseValueError


class FeatureMaps:
    """Context manager that records the output of chosen layers on every forward pass.

    ``layer_types`` picks layers by type (default: every ``nn.Conv2d``); ``names`` picks
    them by ``named_modules`` name instead. Hooks are removed on exit, even after an error.
    """

    def __init__(self, model: nn.Module, layer_types: tuple[type, ...] = (nn.Conv2d,),
                 names: Iterable[str] | None = None):
        self.model = model
        wanted = set(names) if names is not None else None
        self.layers = OrderedDict(
            (name, module) for name, module in model.named_modules()
            if (name in wanted if wanted is not None else isinstance(module, layer_types))
        )
        if wanted is not None and len(self.layers) != len(wanted):
            missing = sorted(wanted - set(self.layers))
            raise CourseKeyError(f"FeatureMaps: 모델에 {missing} 라는 층(모듈)이 없습니다.\n"
                                 "해결: 있는 이름을 쓰세요. 이름 목록: [n for n, _ in model.named_modules()] "
                                 "(예: \"features.0\", \"layer4\")")
        self.maps: OrderedDict[str, torch.Tensor] = OrderedDict()
        self._handles: list = []

    def _hook(self, name: str):
        def hook(module: nn.Module, inputs, output):
            # detach(): out of the graph; clone(): own memory, because a following
            # ReLU(inplace=True) (as in VGG) would otherwise overwrite the stored values
            self.maps[name] = output.detach().clone()
        return hook

    def __enter__(self) -> "FeatureMaps":
        self._handles = [m.register_forward_hook(self._hook(n)) for n, m in self.layers.items()]
        return self

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def __exit__(self, *exc) -> None:
        self.remove()


def count_hooks(model: nn.Module) -> int:
    """Number of forward, forward-pre and backward hooks still registered in ``model`` (0 after cleanup)."""
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
               for m in model.modules())


def class_activation_map(model: nn.Module, x: torch.Tensor, layer: nn.Module,
                         class_idx: int | None = None) -> tuple[torch.Tensor, int]:
    """Grad-CAM heat map for one image ``x`` (shape ``(1, C, H, W)`` or ``(C, H, W)``), values in [0, 1].

    A forward hook on ``layer`` keeps its feature maps A_k and a tensor (gradient) hook
    on that output catches dL/dA_k during ``backward``. Channel weights are the mean
    gradient, the map is ``relu(sum_k w_k A_k)``, upsampled to the input size.
    ``x`` is moved to the model's device; the map comes back on the CPU, ready to plot.
    Returns ``(heatmap HxW, class index used)``; the model's mode is restored.

    >>> cam, idx = class_activation_map(model, x, model.layer4)
    >>> plt.imshow(cam, cmap="jet", alpha=0.5)
    """
    store: dict[str, torch.Tensor] = {}

    def forward_hook(module, inputs, output):
        store["activation"] = output
        output.register_hook(lambda grad: store.__setitem__("gradient", grad))
        # Hand a copy downstream: an in-place activation after ``layer`` (VGG's
        # ReLU(inplace=True)) then changes the copy, not the tensor whose values and
        # gradient we keep.
        return output.clone()

    if x.dim() == 3:
        x = x.unsqueeze(0)
    was_training = model.training
    model.eval()
    handle = layer.register_forward_hook(forward_hook)
    try:
        # a leaf that needs a gradient, so the graph exists even with a frozen model
        x = x.detach().to(device_of(model)).clone().requires_grad_(True)
        with torch.enable_grad():  # works inside a caller's torch.no_grad() too
            scores = model(x)
            if "activation" not in store:
                raise CourseValueError(f"layer({type(layer).__name__})가 model의 순전파(forward)에서 한 번도 불리지 "
                                 "않았습니다: 이 모델 안의 층이 아닙니다.\n해결: 이 모델의 층을 넘기세요, "
                                 "예: model.layer4 (ResNet) 또는 model.features[28] (VGG16).")
            if class_idx is None:
                class_idx = int(scores.argmax(1)[0])
            model.zero_grad()
            scores[0, class_idx].backward()
    finally:
        handle.remove()
        model.train(was_training)
    activation, gradient = store["activation"].detach()[0], store["gradient"][0]
    weights = gradient.mean(dim=(1, 2))                       # one weight per channel
    cam = F.relu((weights[:, None, None] * activation).sum(0))
    cam = F.interpolate(cam[None, None], size=x.shape[-2:], mode="bilinear", align_corners=False)[0, 0]
    cam = cam - cam.min()
    return (cam / cam.max().clamp_min(1e-8)).cpu(), class_idx
