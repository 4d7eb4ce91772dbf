"""Data: the bundled datasets, transforms, loaders and ``denormalize``.

Every dataset in this course uses the ImageFolder layout::

    root/train/<class>/*.jpg
    root/val/<class>/*.jpg
    root/test/<class>/*.jpg

>>> from helpers.data import make_loaders, dataset_dir
>>> loaders, class_names = make_loaders(dataset_dir("animals"), preprocess)
>>> images, labels = next(iter(loaders["train"]))
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from helpers import DATA_DIR

SPLITS = ("train", "val", "test")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")


class DataLayoutError(ValueError):
    """The data folder does not have the ``train/val/test/<class>/image`` layout."""


class BadImageError(OSError):
    """An image file exists but cannot be decoded."""


@dataclass(frozen=True)
class Preprocess:
    """How a backbone expects its input: resize, crop, interpolation and normalisation.

    ``helpers.models.load_pretrained`` returns one of these with the model, so the
    data pipeline always matches the weights (ImageNet mean/std for torchvision
    models, 0.5/0.5 for EfficientNet-Lite0).
    """

    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    resize: int = 256
    crop: int = 224
    interpolation: str = "bilinear"

    @property
    def _interp(self) -> transforms.InterpolationMode:
        return transforms.InterpolationMode(self.interpolation)

    def eval_transform(self) -> transforms.Compose:
        """Deterministic transform for validation, test and inference."""
        return transforms.Compose([
            transforms.Resize(self.resize, interpolation=self._interp),
            transforms.CenterCrop(self.crop),
            transforms.ToTensor(),
            transforms.Normalize(self.mean, self.std),
        ])

    def train_transform(self, scale: tuple[float, float] = (0.6, 1.0)) -> transforms.Compose:
        """Random augmentation, for the training split only.

        ``scale`` is RandomResizedCrop's area range; torchvision's default (0.08, 1)
        is tuned for ImageNet-size training and cuts away most of a small photo.
        """
        return transforms.Compose([
            transforms.Resize(self.resize, interpolation=self._interp),
            transforms.RandomResizedCrop(self.crop, scale=scale, interpolation=self._interp),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize(self.mean, self.std),
        ])

    @cached_property
    def _eval(self) -> transforms.Compose:
        return self.eval_transform()

    def __call__(self, image: Image.Image) -> torch.Tensor:
        """Eval preprocessing of one PIL image (the Compose is built once per Preprocess)."""
        return self._eval(image)


IMAGENET = Preprocess()


def dataset_dir(name: str) -> Path:
    """Path of a bundled dataset (``"animals"`` or ``"mri"``) under ``data/``."""
    path = DATA_DIR / name
    if not path.is_dir():
        available = sorted(p.name for p in DATA_DIR.iterdir() if (p / "train").is_dir()) if DATA_DIR.is_dir() else []
        raise DataLayoutError(
            f"{path}: no such dataset folder. Bundled datasets: {available}. "
            "Fix: use one of those names, or pass your own folder path to make_loaders()."
        )
    return path


def load_image(path: str | Path) -> Image.Image:
    """Open an image as RGB, or raise ``BadImageError`` naming the file and the fix."""
    try:
        with Image.open(path) as im:
            return im.convert("RGB")  # convert() forces the full decode here, not later
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise BadImageError(
            f"{path}: cannot read this image ({exc}). "
            "Fix: delete this file or replace it with a valid JPEG/PNG, then run the cell again."
        ) from exc


def check_layout(root: str | Path, splits: Sequence[str] = SPLITS) -> list[str]:
    """Check ``root/<split>/<class>/<images>`` and return the class names.

    Raises ``DataLayoutError`` naming the folder that is wrong and how to fix it.
    """
    root = Path(root)
    fix = (f"Fix: arrange the images as {root}/<split>/<class>/<image>.jpg "
           f"for split in {list(splits)} (see data/README.md).")
    if not root.is_dir():
        raise DataLayoutError(f"{root}: folder not found. {fix}")
    class_names: list[str] | None = None
    for split in splits:
        split_dir = root / split
        if not split_dir.is_dir():
            raise DataLayoutError(f"{split_dir}: missing split folder. {fix}")
        stray = sorted(p.name for p in split_dir.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
        if stray:
            raise DataLayoutError(
                f"{split_dir}: images directly in the split folder ({stray[:3]} ...); "
                f"they must sit in one sub-folder per class. {fix}")
        names = sorted(p.name for p in split_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
        if len(names) < 2:
            raise DataLayoutError(f"{split_dir}: found {len(names)} class folder(s) {names}; need at least 2. {fix}")
        for name in names:
            if not any(f.suffix.lower() in IMAGE_EXTENSIONS for f in (split_dir / name).iterdir()):
                raise DataLayoutError(f"{split_dir / name}: class folder has no images. {fix}")
        if class_names is None:
            class_names = names
        elif names != class_names:
            raise DataLayoutError(
                f"{split_dir}: classes {names} differ from {root / splits[0]}: {class_names}. "
                "Fix: every split needs the same class folders.")
    return class_names or []


def verify_images(root: str | Path) -> int:
    """Decode every image under ``root`` once; raise ``BadImageError`` listing each bad file.

    Returns the number of images checked. Run before a long training so a broken
    file fails in seconds, not in epoch 7.
    """
    bad: list[str] = []
    files = [p for p in sorted(Path(root).rglob("*")) if p.suffix.lower() in IMAGE_EXTENSIONS]
    for path in files:
        try:
            load_image(path)
        except BadImageError as exc:
            bad.append(str(exc))
    if bad:
        raise BadImageError(f"{len(bad)} unreadable image(s):\n" + "\n".join(bad))
    return len(files)


class ImageFolderDataset(datasets.ImageFolder):
    """``torchvision.datasets.ImageFolder`` whose loader names the file that fails to decode."""

    def __init__(self, root: str | Path, transform: Callable | None = None):
        super().__init__(str(root), transform=transform, loader=load_image)


def make_datasets(root: str | Path, preprocess: Preprocess = IMAGENET, augment: bool = True,
                  verify: bool = True) -> dict[str, ImageFolderDataset]:
    """One dataset per split; augmentation on ``train`` only (val/test stay as they are)."""
    check_layout(root)
    if verify:
        verify_images(root)
    root = Path(root)
    return {
        split: ImageFolderDataset(
            root / split,
            preprocess.train_transform() if (split == "train" and augment) else preprocess.eval_transform(),
        )
        for split in SPLITS
    }


def make_loaders(root: str | Path, preprocess: Preprocess = IMAGENET, batch_size: int = 16,
                 augment: bool = True, seed: int = 0, num_workers: int = 0,
                 verify: bool = True) -> tuple[dict[str, DataLoader], list[str]]:
    """DataLoaders for ``train`` (shuffled, augmented), ``val`` and ``test``, and the class names.

    The train loader shuffles with its own seeded ``torch.Generator`` so a run is
    repeatable and a resumed run continues the same order (``helpers.train`` saves it).
    ``num_workers=0`` by default: on a 2-core laptop worker processes cost more than
    they save for these small images, and it works the same on Windows and macOS.
    """
    sets = make_datasets(root, preprocess, augment=augment, verify=verify)
    generator = torch.Generator().manual_seed(seed)
    loaders = {
        split: DataLoader(ds, batch_size=batch_size, shuffle=(split == "train"), num_workers=num_workers,
                          generator=generator if split == "train" else None)
        for split, ds in sets.items()
    }
    return loaders, sets["train"].classes


def count_images(root: str | Path) -> dict[str, dict[str, int]]:
    """``{split: {class: n_images}}`` for an ImageFolder tree."""
    root = Path(root)
    return {
        split: {c.name: sum(1 for f in c.iterdir() if f.suffix.lower() in IMAGE_EXTENSIONS)
                for c in sorted((root / split).iterdir()) if c.is_dir()}
        for split in SPLITS if (root / split).is_dir()
    }


def denormalize(image: torch.Tensor, mean: Sequence[float] = IMAGENET.mean,
                std: Sequence[float] = IMAGENET.std) -> np.ndarray:
    """Undo ``Normalize`` for display: CHW tensor -> HWC array clipped to [0, 1].

    >>> plt.imshow(denormalize(images[0], preprocess.mean, preprocess.std))
    """
    array = image.detach().cpu().numpy().transpose(1, 2, 0)  # CHW -> HWC, what imshow wants
    array = array * np.asarray(std) + np.asarray(mean)
    return np.clip(array, 0, 1)  # rounding can leave values just outside [0, 1]
