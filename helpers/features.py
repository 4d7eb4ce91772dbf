"""Cached features for a frozen backbone: run it once, train the head many times.

In feature extraction (특성 추출) only the head learns; the frozen backbone computes the
same numbers for the same image every epoch. So compute them once per split, keep
them (in memory, optionally on disk), and train the head on those tensors: an epoch
then costs a few matrix multiplications instead of a forward pass through the network.

>>> from helpers.features import feature_loaders
>>> head = replace_head(model, len(class_names))         # the same module object as in model
>>> set_parameter_requires_grad(model); head.requires_grad_(True)
>>> floaders = feature_loaders(model, loaders)            # the backbone runs once per split
>>> history = fit(head, floaders, nn.CrossEntropyLoss(), torch.optim.Adam(head.parameters()), epochs=20)
>>> evaluate(model, loaders["test"])                      # the full model has the trained head

``head`` lives inside ``model`` (``model.fc`` / ``model.classifier`` is that very object), so
training it on cached features trains the full model's head; nothing needs copying back.

The trade-off: **no data augmentation**. Every split, the training split too, goes
through the evaluation transform, because a cached feature is the feature of one
fixed view of the image. With augmentation, random crops and flips differ every
epoch and each would need a new backbone pass, which is exactly the cost caching
removes. Cached features are right when the backbone is frozen, the data set is
small and you want to iterate quickly (compare heads, learning rates, epochs). They
are wrong when you fine-tune (the backbone changes, so its features do) or when the
data set is small enough that augmentation is what keeps the head from overfitting
and you can afford the extra time: then train with ``fit(model, loaders, ...)``.
"""
from __future__ import annotations

import copy
import hashlib
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from helpers.device import device_of
from helpers.memory import release_memory

__all__ = ["extract_features", "feature_loaders", "FeatureDataset", "head_path", "without_head"]


def head_path(model: nn.Module) -> str:
    """Dotted name of the model's classification head (``fc``, ``classifier``, ``classifier.6``)."""
    from helpers.models import _head_path  # the one rule for "where is the head"

    return _head_path(model)


def _get(model: nn.Module, path: str) -> nn.Module:
    return model.get_submodule(path)


def _set(model: nn.Module, path: str, module: nn.Module) -> None:
    parent_name, _, child = path.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    if child.isdigit():
        parent[int(child)] = module
    else:
        setattr(parent, child, module)


@contextmanager
def without_head(model: nn.Module) -> Iterator[nn.Module]:
    """Within the block the head is ``nn.Identity``: ``model(x)`` returns the head's input.

    Yields the head; it is put back afterwards, also after an error.
    """
    path = head_path(model)
    head = _get(model, path)
    _set(model, path, nn.Identity())
    try:
        yield head
    finally:
        _set(model, path, head)


@contextmanager
def _channels_last(model: nn.Module, active: bool) -> Iterator[None]:
    """Convolutions in NHWC layout for the block (measured: about 1.5-2x faster on CPU for
    EfficientNet-Lite0, ``benchmarks/run_all.py --parts settings``); layout restored after."""
    if not active:
        yield
        return
    model.to(memory_format=torch.channels_last)
    try:
        yield
    finally:
        model.to(memory_format=torch.contiguous_format)


def extract_features(model: nn.Module, loader: DataLoader, device: torch.device | None = None,
                     channels_last: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Run everything but the head once over ``loader``: ``(features, labels)`` on the CPU.

    Eval mode (BatchNorm uses its running statistics, Dropout is off) and
    ``torch.inference_mode`` (no autograd bookkeeping); the model's mode, head and memory
    layout are restored afterwards.

    >>> feats, labels = extract_features(model, loaders["val"])   # feats: (n, head.in_features)
    """
    device = device or device_of(model)
    was_training = model.training
    model.eval()
    nhwc = channels_last and device.type in ("cpu", "cuda")
    features, labels = [], []
    try:
        with without_head(model), _channels_last(model, nhwc), torch.inference_mode():
            for inputs, targets in loader:
                inputs = inputs.to(device)
                if nhwc and inputs.dim() == 4:
                    inputs = inputs.contiguous(memory_format=torch.channels_last)
                features.append(model(inputs).flatten(1).cpu())
                labels.append(torch.as_tensor(targets).cpu())
    finally:
        model.train(was_training)
        release_memory()
    if not features:
        raise ValueError("extract_features: the loader is empty")
    return torch.cat(features), torch.cat(labels)


class FeatureDataset(TensorDataset):
    """``TensorDataset(features, labels)`` that keeps the class names (``fit`` records them)."""

    def __init__(self, features: torch.Tensor, labels: torch.Tensor, classes: Sequence[str] | None = None):
        super().__init__(features, labels)
        self.classes = list(classes) if classes is not None else None


def _eval_transform(loaders: Mapping[str, DataLoader]):
    for split in ("val", "test", *loaders):
        if split in loaders and split != "train":
            transform = getattr(loaders[split].dataset, "transform", None)
            if transform is not None:
                return transform
    return None


def _eval_view(dataset: Dataset, transform) -> Dataset:
    """The same files with the evaluation transform (a shallow copy; the original is untouched)."""
    if transform is None or not hasattr(dataset, "transform"):
        return dataset
    view = copy.copy(dataset)
    view.transform = transform
    if hasattr(view, "transforms") and hasattr(view, "target_transform"):  # torchvision's StandardTransform
        from torchvision.datasets.vision import StandardTransform

        view.transforms = StandardTransform(transform, view.target_transform)
    return view


def _cache_key(model: nn.Module, dataset: Dataset, skip: str) -> str | None:
    """Hash of backbone weights + file list (path, size, mtime) + transform; None if unknown."""
    samples = getattr(dataset, "samples", None)
    if samples is None:
        return None
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        if name == skip or name.startswith(skip + "."):
            continue  # the head is not part of the features
        digest.update(f"{name}{tuple(tensor.shape)}{tensor.dtype}".encode())
        digest.update(tensor.detach().cpu().reshape(-1).contiguous().view(torch.uint8).numpy().tobytes())
    for path, label in samples:
        stat = os.stat(path)
        digest.update(f"{path}|{stat.st_size}|{stat.st_mtime_ns}|{label}\n".encode())
    digest.update(repr(getattr(dataset, "transform", None)).encode())
    return digest.hexdigest()[:20]


def _cached_extract(model: nn.Module, loader: DataLoader, dataset: Dataset, split: str,
                    cache_dir: Path | None, device: torch.device | None) -> tuple[torch.Tensor, torch.Tensor]:
    key = _cache_key(model, dataset, head_path(model)) if cache_dir is not None else None
    path = cache_dir / f"{split}-{key}.pt" if key is not None else None
    if path is not None and path.is_file():
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
            return saved["features"], saved["labels"]
        except Exception:  # damaged cache file: recompute and overwrite it
            pass
    features, labels = extract_features(model, loader, device)
    if path is not None:
        from helpers.checkpoint import save_atomic

        save_atomic({"features": features, "labels": labels}, path)
    return features, labels


EXTRACT_BATCH_SIZE = 8
"""Images per backbone pass while extracting: on a 2-core CPU batches of 4-8 were 2-4x faster
per image than 16-32 (activations stay in cache; ``benchmarks/run_all.py --parts settings``)."""


def feature_loaders(model: nn.Module, loaders: Mapping[str, DataLoader], batch_size: int = 64,
                    cache_dir: str | Path | bool | None = None, seed: int = 0,
                    device: torch.device | None = None, *,
                    cache: str | Path | bool | None = None) -> dict[str, DataLoader]:
    """Loaders over the backbone's features, one per split of ``loaders``, for training the head.

    Every split is run once through the backbone with the **evaluation** transform (the
    training split too: see the module docstring for why that means no augmentation).
    ``cache_dir=True`` keeps the features on disk under ``output_dir("features")`` (or give
    a folder), keyed by a hash of the backbone's weights, the image files (paths, sizes,
    modification times) and the transform: change any of them and they are recomputed.
    The train loader shuffles with its own generator seeded by ``seed``; ``batch_size`` is the
    batch size of the returned loaders (the head's training), not of the extraction.

    ``cache`` is another name for ``cache_dir``.

    >>> floaders = feature_loaders(model, loaders, cache_dir=True)
    >>> fit(head, floaders, nn.CrossEntropyLoss(), torch.optim.Adam(head.parameters(), 1e-3), epochs=30)
    """
    cache_dir = cache_dir if cache_dir is not None else cache
    if cache_dir is True:
        from helpers.paths import output_dir

        cache_dir = output_dir("features")
    cache = Path(cache_dir) if cache_dir else None
    transform = _eval_transform(loaders)
    result = {}
    for split, loader in loaders.items():
        dataset = _eval_view(loader.dataset, transform)
        plain = DataLoader(dataset, batch_size=EXTRACT_BATCH_SIZE, shuffle=False, num_workers=loader.num_workers)
        features, labels = _cached_extract(model, plain, dataset, split, cache, device)
        train = split == "train"
        result[split] = DataLoader(
            FeatureDataset(features, labels, getattr(loader.dataset, "classes", None)),
            batch_size=batch_size, shuffle=train,
            generator=torch.Generator().manual_seed(seed) if train else None)
    return result
