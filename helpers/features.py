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
import warnings
from pathlib import Path
from typing import Mapping

import torch
from torch import nn
from torch.utils.data import ConcatDataset, DataLoader, Dataset, Subset, TensorDataset
from torchvision.datasets.vision import StandardTransform

from helpers.checkpoint import save_atomic
from helpers.data import base_datasets, dataset_classes
from helpers.errors import CourseValueError
from helpers.models import weights_digest, without_head
from helpers.paths import output_dir
from helpers.train import infer

__all__ = ["extract_features", "feature_loaders", "FeatureCacheWarning"]


class FeatureCacheWarning(UserWarning):
    """The features were computed but not cached: the cache key could not see the transform."""


def extract_features(model: nn.Module, loader: DataLoader, device: torch.device | str | None = None,
                     channels_last: bool = True, head: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Run everything but the head once over ``loader``: ``(features, labels)`` on the CPU,
    one feature row per image.

    ``helpers.train.infer`` with the head taken out (``helpers.models.without_head``): eval
    mode, ``torch.inference_mode``, and the model's mode, head and memory layout restored
    afterwards. ``device`` as in ``evaluate`` (``"cuda"``, ``torch.device(...)``; the model is
    moved there), else the model's own device.

    >>> feats, labels = extract_features(model, loaders["val"])   # feats: (n, head.in_features)
    """
    with without_head(model, head):
        features, labels = infer(model, loader, device, channels_last)
    return features.flatten(1), labels


# --- which transform, through Subset / random_split / ConcatDataset ------------------------

_RANDOM_TRANSFORMS = {"ColorJitter", "AutoAugment", "RandAugment", "TrivialAugmentWide", "AugMix",
                      "ElasticTransform", "GaussianBlur", "ScaleJitter", "GaussianNoise"}


def _leaves(transform) -> list:
    """The single steps of a (nested) ``Compose``."""
    inner = getattr(transform, "transforms", None)
    if isinstance(inner, (list, tuple)) and not type(transform).__name__.startswith("Random"):
        return [leaf for t in inner for leaf in _leaves(t)]
    return [transform]


def _is_random(transform) -> bool:
    """A torchvision augmentation (RandomResizedCrop, ColorJitter, ...) is among its steps."""
    return transform is not None and any(
        type(t).__name__.startswith("Random") or type(t).__name__ in _RANDOM_TRANSFORMS for t in _leaves(transform))


def _keyable(transform) -> bool:
    """Its text (``repr``) says everything it does: every step is a torchvision transform other
    than ``Lambda`` (a ``Lambda`` or your own function prints the same whatever it computes)."""
    return transform is None or all(
        type(t).__module__.startswith("torchvision.transforms") and type(t).__name__ != "Lambda"
        for t in _leaves(transform))


def _transform_of(dataset: Dataset):
    """The transform the images of ``dataset`` go through (the first base dataset's), or None."""
    for base in base_datasets(dataset):  # the one rule for "what is under the wrappers"
        transform = getattr(base, "transform", None)
        if transform is not None:
            return transform
    return None


def _no_eval_transform() -> CourseValueError:
    return CourseValueError(
        "feature_loaders: 평가용 변환(evaluation transform)을 찾지 못했습니다. val/test 데이터셋도 무작위 증강"
        "(RandomResizedCrop, RandomHorizontalFlip 같은 Random… 변환)을 씁니다. 하나의 데이터셋을 "
        "random_split이나 Subset으로 train/val로 나누면 val도 train의 변환을 그대로 씁니다. 그대로 두면 "
        "특성이 부를 때마다 달라지고 학습용 증강이 검증에도 섞입니다.\n"
        "해결: 평가용 변환을 직접 넘기세요, 예: feature_loaders(model, loaders, "
        "transform=preprocess.eval_transform()) (또는 transforms.Compose([Resize, CenterCrop, ToTensor, "
        "Normalize]))")


def _eval_transform(loaders: Mapping[str, DataLoader]):
    """The evaluation transform: the first non-random one of val, test, the other splits."""
    for split in ("val", "test", *loaders):
        if split in loaders and split != "train":
            transform = _transform_of(loaders[split].dataset)
            if transform is not None and not _is_random(transform):
                return transform
    if any(_is_random(_transform_of(loader.dataset)) for loader in loaders.values()):
        raise _no_eval_transform()
    return None


def _eval_view(dataset: Dataset, transform) -> Dataset:
    """The same images with the evaluation transform, through Subset / random_split /
    ConcatDataset wrappers (shallow copies; the student's datasets are untouched)."""
    if isinstance(dataset, Subset):
        return Subset(_eval_view(dataset.dataset, transform), dataset.indices)
    if isinstance(dataset, ConcatDataset):
        return ConcatDataset([_eval_view(part, transform) for part in dataset.datasets])
    if transform is None or not hasattr(dataset, "transform"):
        return dataset
    view = copy.copy(dataset)
    view.transform = transform
    if hasattr(view, "transforms") and hasattr(view, "target_transform"):  # torchvision's StandardTransform
        view.transforms = StandardTransform(transform, view.target_transform)
    return view


def _samples(dataset: Dataset) -> list | None:
    """``(path, label)`` of every item, in order, through the wrappers; None if unknown."""
    if isinstance(dataset, Subset):
        inner = _samples(dataset.dataset)
        return None if inner is None else [inner[int(i)] for i in dataset.indices]
    if isinstance(dataset, ConcatDataset):
        parts = [_samples(part) for part in dataset.datasets]
        return None if any(p is None for p in parts) else [s for p in parts for s in p]
    samples = getattr(dataset, "samples", None)
    return list(samples) if samples is not None else None


_warned_keys: set[str] = set()


def _files_key(dataset: Dataset) -> str | None:
    """Hash of the file list (path, size, mtime, label) and the transform; None if unknown (no
    file list, or a transform whose text does not say what it computes: then nothing is cached,
    with a Korean warning, rather than a stale cache being read back later)."""
    samples = _samples(dataset)
    if samples is None:
        return None
    transform = _transform_of(dataset)
    if not _keyable(transform):
        text = repr(transform)
        if text not in _warned_keys:
            _warned_keys.add(text)
            warnings.warn(
                "feature_loaders: 변환에 transforms.Lambda나 직접 만든 함수가 있어, 캐시 키가 그 내용을 볼 수 "
                "없습니다(함수를 고쳐도 키가 같아 옛 특성을 읽게 됨). 그래서 특성을 계산만 하고 디스크에 "
                "저장하지 않았습니다.\n해결: 캐시가 필요하면 torchvision 변환(Resize, CenterCrop, ToTensor, "
                "Normalize 등)만 쓰거나, cache_dir=None 으로 두세요(매번 계산).", FeatureCacheWarning, stacklevel=4)
        return None
    digest = hashlib.sha256()
    for path, label in samples:
        stat = os.stat(path)
        digest.update(f"{path}|{stat.st_size}|{stat.st_mtime_ns}|{label}\n".encode())
    digest.update(repr(transform).encode())
    return digest.hexdigest()


def _extract_splits(model: nn.Module, plans: Mapping[str, tuple[DataLoader, str | None]], cache: Path | None,
                    device: torch.device | str | None, head: str | None) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """``(features, labels)`` per split of ``plans`` (split: (loader, files key)); the head is
    found once. A split whose files key and backbone weights match a file in ``cache`` is read
    from it (a damaged file is recomputed and overwritten); the others are computed, then saved."""
    extracted = {}
    with without_head(model, head):
        # the backbone's weights alone (no head inside), hashed only when some split can be cached
        weights = weights_digest(model) if any(files for _, files in plans.values()) else None
        for split, (loader, files) in plans.items():
            key = hashlib.sha256(f"{weights}{files}".encode()).hexdigest()[:20] if weights and files else None
            path = cache / f"{split}-{key}.pt" if key is not None else None
            if path is not None and path.is_file():
                try:
                    saved = torch.load(path, map_location="cpu", weights_only=True)
                    extracted[split] = saved["features"], saved["labels"]
                    continue
                except Exception:  # damaged cache file: recompute and overwrite it
                    pass
            features, labels = infer(model, loader, device, channels_last=True)
            extracted[split] = features.flatten(1), labels
            if path is not None:
                save_atomic(dict(zip(("features", "labels"), extracted[split])), path)
    return extracted


EXTRACT_BATCH_SIZE = 8
"""Images per backbone pass while extracting: on a 2-core CPU batches of 4-8 were 2-4x faster
per image than 16-32 (activations stay in cache; ``benchmarks/run_all.py --parts settings``)."""


def feature_loaders(model: nn.Module, loaders: Mapping[str, DataLoader], batch_size: int = 64,
                    cache_dir: str | Path | bool | None = None, seed: int = 0,
                    device: torch.device | str | None = None, *,
                    transform=None,
                    head: str | None = None) -> dict[str, DataLoader]:
    """Loaders over the backbone's features, one per split of ``loaders``, for training the head.

    Every split is run once through the backbone with the **evaluation** transform (the
    training split too: see the module docstring for why that means no augmentation).
    ``cache_dir=True`` keeps the features on disk under ``output_dir("features")`` (or give
    a folder), keyed by a hash of the backbone's weights, the image files (paths, sizes,
    modification times) and the transform: change any of them and they are recomputed.
    The train loader shuffles with its own generator seeded by ``seed``; ``batch_size`` is the
    batch size of the returned loaders (the head's training), not of the extraction.

    ``transform``: the evaluation transform, when
    the loaders cannot tell it (train and val made by ``random_split``/``Subset`` of one
    augmented dataset: refused with a Korean message otherwise). Subsets, ``random_split``
    parts and ``ConcatDataset`` get it too, nested ones included. A transform whose text does
    not show what it computes (``transforms.Lambda``, your own function) is never cached (a
    ``FeatureCacheWarning`` says so). ``head`` names the head layer where ``head_path`` cannot
    find it. ``device`` as in ``evaluate``.

    >>> floaders = feature_loaders(model, loaders, cache_dir=True)
    >>> fit(head, floaders, nn.CrossEntropyLoss(), torch.optim.Adam(head.parameters(), 1e-3), epochs=30)
    """
    if cache_dir is True:
        cache_dir = output_dir("features")
    cache = Path(cache_dir) if cache_dir else None
    transform = transform if transform is not None else _eval_transform(loaders)
    plans, classes = {}, {}
    for split, loader in loaders.items():
        dataset = _eval_view(loader.dataset, transform)
        if _is_random(_transform_of(dataset)):
            raise _no_eval_transform()
        plain = DataLoader(dataset, batch_size=EXTRACT_BATCH_SIZE, shuffle=False, num_workers=loader.num_workers,
                           collate_fn=loader.collate_fn, worker_init_fn=loader.worker_init_fn)
        plans[split] = plain, _files_key(dataset) if cache is not None else None
        classes[split] = dataset_classes(loader.dataset)
    result = {}
    for split, (features, labels) in _extract_splits(model, plans, cache, device, head).items():
        dataset = TensorDataset(features, labels)
        dataset.classes = classes[split]  # fit records the class names from here
        train = split == "train"
        result[split] = DataLoader(dataset, batch_size=batch_size, shuffle=train,
                                   generator=torch.Generator().manual_seed(seed) if train else None)
    return result
