"""Data: the bundled datasets, transforms (``Preprocess``), datasets and loaders, ``denormalize``.

Every dataset in this course uses the ImageFolder layout (``root/<split>/<class>/<image>``);
what an image and a class are, and how a file becomes pixels, is ``helpers.images``, which
every dataset, check and count here calls.

>>> from helpers.data import make_loaders, dataset_dir
>>> loaders, class_names = make_loaders(dataset_dir("animals"), preprocess)
>>> images, labels = next(iter(loaders["train"]))
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image
from torch.utils.data import ConcatDataset, DataLoader, Subset
from torchvision import datasets, transforms

from helpers.errors import CourseTypeError, DataLayoutError
from helpers.images import SPLITS, check_layout, class_folders, class_name, image_files, is_image_file, layout_fix, \
    load_image, verify_images
from helpers.paths import data_dir


# ------------------------------------------------------------------------- preprocessing

@dataclass(frozen=True)
class Preprocess:
    """How a backbone expects its input: resize, crop, interpolation and normalisation.

    ``helpers.models.load_pretrained`` returns one of these with the model, so the
    data pipeline always matches the weights (ImageNet mean/std for torchvision
    models, 0.5/0.5 for EfficientNet-Lite0). Pass the whole object on:
    ``make_loaders(root, preprocess)``, ``denormalize(image, preprocess)``.
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
"""torchvision's ImageNet preprocessing (what ``load_pretrained("resnet18")`` returns)."""


def require_preprocess(preprocess: object, where: str) -> Preprocess:
    """Check that ``preprocess`` is a ``Preprocess`` (not a ``mean`` tuple or tensor); return it.

    A Korean ``CourseTypeError`` says how to call ``where`` instead.
    """
    # Duck-typed so a Preprocess from a reloaded module (autoreload) still passes; a tensor
    # has .mean too, but as a method.
    if not (hasattr(preprocess, "std") and hasattr(preprocess, "mean") and not callable(preprocess.mean)):
        raise CourseTypeError(
            f"{where}()는 mean, std 대신 Preprocess 하나를 받습니다 (받은 값: {preprocess!r}).\n"
            f"해결: load_pretrained()가 돌려준 preprocess를 그대로 넘기세요, 예: "
            f"{where}(..., preprocess) — preprocess.mean, preprocess.std로 나누지 마세요.")
    return preprocess  # type: ignore[return-value]


def denormalize(image: torch.Tensor, preprocess: Preprocess) -> np.ndarray:
    """Undo ``Normalize`` for display: CHW tensor (any device) -> HWC array clipped to [0, 1].

    >>> plt.imshow(denormalize(images[0], preprocess))
    """
    preprocess = require_preprocess(preprocess, "denormalize")
    array = image.detach().cpu().float().numpy().transpose(1, 2, 0)  # CHW -> HWC, what imshow wants
    array = array * np.asarray(preprocess.std) + np.asarray(preprocess.mean)
    return np.clip(array, 0, 1)  # rounding can leave values just outside [0, 1]


# ------------------------------------------------------------------------ bundled data

def base_datasets(dataset) -> list:
    """The datasets under ``Subset`` / ``random_split`` / ``ConcatDataset`` wrappers (nested too)."""
    if isinstance(dataset, Subset):
        return base_datasets(dataset.dataset)
    if isinstance(dataset, ConcatDataset):
        return [d for part in dataset.datasets for d in base_datasets(part)]
    return [dataset]


def dataset_classes(dataset) -> list[str] | None:
    """The class names of ``dataset`` (``.classes``), also through ``Subset`` / ``random_split``
    wrappers, which have none of their own; None when it has none.

    >>> train, val = random_split(ImageFolder(root), [0.8, 0.2]); dataset_classes(train)
    """
    found = getattr(dataset, "classes", None)
    if found is None:
        for base in base_datasets(dataset):
            found = getattr(base, "classes", None)
            if found is not None:
                break
    return list(found) if found is not None else None


def dataset_dir(name: str) -> Path:
    """Path of a bundled dataset (``"animals"`` or ``"mri"``) in the data folder (``$COURSE_DATA_DIR``)."""
    path = data_dir(name)
    if not path.is_dir():
        root = path.parent
        available = sorted(p.name for p in root.iterdir() if (p / "train").is_dir() or (p / "test").is_dir())
        raise DataLayoutError(
            f"{path}: 이런 이름의 데이터셋 폴더가 없습니다. 들어 있는 데이터셋: {available}.\n"
            f"해결: 그중 하나의 이름을 쓰거나 (dataset_dir(\"{available[0] if available else 'animals'}\")), "
            "자신의 폴더라면 Path(\"/내/폴더\")를 make_loaders()에 바로 넘기세요.")
    return path


def sample_image_path(name: str) -> Path:
    """Path of a sample photo in ``data/samples`` (``"chelsea"`` -> ``.../samples/chelsea.jpg``).

    >>> image = load_image(sample_image_path("chelsea"))
    """
    folder = data_dir("samples")
    path = folder / (name if Path(name).suffix else f"{name}.jpg")
    if not path.is_file():
        available = sorted(p.stem for p in folder.iterdir() if is_image_file(p)) if folder.is_dir() else []
        raise DataLayoutError(
            f"{path}: 예시 사진이 없습니다. 들어 있는 사진: {available}.\n"
            "해결: 그중 하나의 이름을 쓰세요, 예: sample_image_path(\"chelsea\").")
    return path


# ----------------------------------------------------------------------------- datasets

class ImageFolderDataset(datasets.ImageFolder):
    """``torchvision.datasets.ImageFolder`` that follows the course's rules.

    Classes come from ``class_folders`` and images from ``image_files`` (the same rules
    as ``check_layout``: hidden folders are no class, every Pillow format is an image),
    and files are read with ``load_image``, whose errors name the file.
    """

    def __init__(self, root: str | Path, transform: Callable | None = None):
        super().__init__(str(root), transform=transform, loader=load_image, is_valid_file=is_image_file)

    def find_classes(self, directory: str | Path) -> tuple[list[str], dict[str, int]]:
        folders = class_folders(directory)
        if not folders:
            raise DataLayoutError(f"{directory}: 클래스 폴더가 없습니다.\n{layout_fix(Path(directory).parent, SPLITS)}")
        # classes: the names as shown and compared (NFC); class_to_idx: the folders as on disk
        return [class_name(f) for f in folders], {folder: i for i, folder in enumerate(folders)}

    @staticmethod
    def make_dataset(directory: str | Path, class_to_idx: dict[str, int], extensions=None,
                     is_valid_file=None, allow_empty: bool = False) -> list[tuple[str, int]]:
        samples = []
        for name, index in sorted(class_to_idx.items(), key=lambda item: item[1]):
            files = image_files(Path(directory) / name)
            if not files and not allow_empty:
                raise DataLayoutError(f"{Path(directory) / name}: 클래스 폴더에 이미지가 없습니다.\n"
                                      "해결: 이 클래스의 이미지를 넣거나, 모든 split에서 이 폴더를 지우세요.")
            samples += [(str(path), index) for path in files]
        return samples


def make_datasets(root: str | Path, preprocess: Preprocess = IMAGENET, augment: bool = True,
                  verify: bool = True) -> dict[str, ImageFolderDataset]:
    """One dataset per split; augmentation on ``train`` only (val/test stay as they are).

    Checks the layout first (same classes in every split) and, with ``verify``, decodes
    every image once so a broken file stops here with its name, not during training.
    """
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
