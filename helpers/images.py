"""Images and classes: the one rule for what is an image, what is a class, and how a file
becomes pixels, for every dataset, check and count in the course.

Every dataset in this course uses the ImageFolder layout::

    root/train/<class>/*.jpg
    root/val/<class>/*.jpg
    root/test/<class>/*.jpg

- what is an image and what is a class: ``is_image_file``, ``class_folders``, ``image_files``
  (the layout check, ``verify_images``, ``count_images`` and ``helpers.data``'s dataset all
  call them): hidden and system folders are no class, every Pillow format is an image, a
  symbolic link loop is followed once and the same file is never counted twice, and class
  names are compared after Unicode normalisation (NFC, as macOS's decomposed Hangul is not);
- how a file becomes pixels: ``load_image`` (EXIF rotation, 16-bit and float images,
  transparency on white, grayscale/CMYK to RGB);
- what a student reads when something is wrong: ``DataLayoutError`` and ``BadImageError``
  (``helpers.errors``), each naming the file or folder, what is wrong and what to do.

>>> from helpers.images import count_images, image_files, load_image
>>> count_images(dataset_dir("animals"))     # {"train": {"bird": 40, ...}, "val": ..., "test": ...}
"""
from __future__ import annotations

import os
import unicodedata
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageFile, ImageOps

from helpers.errors import BadImageError, DataLayoutError

SPLITS = ("train", "val", "test")


class IgnoredFilesWarning(UserWarning):
    """Files in a class folder that are not images; they are left out of the dataset."""


# ------------------------------------------------------- what is an image, what is a class

# Names the operating system or Jupyter leaves behind. A Jupyter file browser creates
# ``.ipynb_checkpoints`` the moment an image is opened; as a class it would shift every
# label number in ``train`` but not in ``val``/``test``.
_JUNK_NAMES = frozenset({"__macosx", "thumbs.db", "ehthumbs.db", "desktop.ini", "$recycle.bin",
                         "system volume information"})


def _pil_image_extensions() -> frozenset[str]:
    """Extensions of every format Pillow can decode here (stubs and video formats left out)."""
    Image.init()
    openable = {fmt for fmt, (factory, _) in Image.OPEN.items()
                if not (isinstance(factory, type) and issubclass(factory, ImageFile.StubImageFile))}
    openable.discard("MPEG")  # Pillow only identifies MPEG video; it cannot decode a frame
    return frozenset(ext for ext, fmt in Image.registered_extensions().items() if fmt in openable)


IMAGE_EXTENSIONS: frozenset[str] = _pil_image_extensions()
"""Lower-case extensions counted as images: every format Pillow opens (``.jpg``, ``.png``, ``.gif``, ``.webp``, ``.tif``, ...)."""

_UNSUPPORTED_PHOTO_HINTS = {
    ".heic": "iPhone HEIC 사진은 Pillow가 읽지 못합니다. JPEG로 내보내세요 (사진 앱: 내보내기 → JPEG).",
    ".heif": "HEIF 사진은 Pillow가 읽지 못합니다. JPEG로 내보내세요.",
}


def is_hidden(name: str) -> bool:
    """True for names that are never a class or an image: ``.anything``, ``__MACOSX``, ``Thumbs.db``, ``desktop.ini``."""
    return name.startswith(".") or name.lower() in _JUNK_NAMES


def is_image_file(path: str | Path) -> bool:
    """Whether a file name counts as an image: not hidden, and an extension Pillow can decode.

    Only the name is looked at (hidden *folders* are skipped by ``class_folders`` and
    ``image_files``, which never walk into them).

    >>> is_image_file("cat.JPG"), is_image_file("anim.gif"), is_image_file("scan.tiff")
    (True, True, True)
    >>> is_image_file("notes.txt"), is_image_file("._cat.jpg")     # macOS resource fork
    (False, False)
    """
    name = Path(path).name
    return not is_hidden(name) and Path(name).suffix.lower() in IMAGE_EXTENSIONS


def class_name(folder: str) -> str:
    """A class folder's name as the course compares and shows it: Unicode NFC.

    macOS writes Korean file names decomposed (NFD: ㄱ + ㅏ + ...), Windows and Linux composed
    (NFC); the two look identical on screen but differ as strings, so they are compared as NFC.
    """
    return unicodedata.normalize("NFC", folder)


def class_folders(split_dir: str | Path) -> list[str]:
    """The class folders of a split as they are on disk, hidden ones left out, in class order.

    The index of a class is its position in this list, in every split; the order is that of
    ``class_name`` (NFC), so a split copied from a Mac numbers its classes like the others.
    Two folders whose names differ only in Unicode normalisation are one class written twice:
    ``DataLayoutError``.
    """
    names = sorted((entry.name for entry in os.scandir(split_dir) if entry.is_dir() and not is_hidden(entry.name)),
                   key=class_name)
    for a, b in zip(names, names[1:]):
        if class_name(a) == class_name(b):
            raise DataLayoutError(
                f"{Path(split_dir)}: 클래스 폴더 '{class_name(a)}'가 두 번 있습니다. 화면에는 같은 이름으로 보이지만 "
                "유니코드 정규화(NFC/NFD)만 다릅니다: 보통 macOS에서 복사한 폴더는 NFD, 다른 운영체제는 NFC로 "
                "이름을 씁니다.\n해결: 두 폴더의 이미지를 한 폴더로 옮기고 빈 폴더를 지우세요.")
    return names


def _walk_class(class_dir: Path) -> tuple[list[Path], list[Path], list[Path]]:
    """``(images, ignored non-image files, repeats)`` under ``class_dir``, sub-folders included.

    Linked folders are followed once: a folder seen before (two links to one folder) or a link back
    up to the class folder or above it (a loop) is not walked, and a file reached twice is counted once;
    ``repeats`` lists what was skipped. Order: folder by folder, files sorted by name (the order
    torchvision's ImageFolder uses).
    """
    images: list[Path] = []
    ignored: list[Path] = []
    repeats: list[Path] = []
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[str] = set()
    top = Path(os.path.realpath(class_dir))
    for folder, dirnames, filenames in os.walk(class_dir, followlinks=True):
        here = os.stat(folder)
        real = Path(os.path.realpath(folder))
        if (here.st_dev, here.st_ino) in seen_dirs or (folder != str(class_dir) and top.is_relative_to(real)):
            repeats.append(Path(folder))  # seen before, or a link back up to the class folder or above it
            dirnames[:] = []
            continue
        seen_dirs.add((here.st_dev, here.st_ino))
        dirnames[:] = sorted(d for d in dirnames if not is_hidden(d))  # never walk into hidden folders
        for name in filenames:
            if is_hidden(name):
                continue
            path = Path(folder) / name
            real = os.path.realpath(path)
            if real in seen_files:
                repeats.append(path)
                continue
            seen_files.add(real)
            (images if is_image_file(path) else ignored).append(path)
    key = lambda p: (str(p.parent), p.name)  # noqa: E731
    return sorted(images, key=key), sorted(ignored, key=key), repeats


def image_files(class_dir: str | Path) -> list[Path]:
    """Every image under ``class_dir`` (sub-folders included, hidden names skipped, each file once), in dataset order."""
    return _walk_class(Path(class_dir))[0]


def _warn_ignored(root: Path, ignored: list[Path]) -> None:
    if not ignored:
        return
    shown = "\n".join(f"  {p}" + (f"  ← {_UNSUPPORTED_PHOTO_HINTS[p.suffix.lower()]}"
                                   if p.suffix.lower() in _UNSUPPORTED_PHOTO_HINTS else "")
                      for p in ignored[:10])
    more = f"\n  ... 외 {len(ignored) - 10}개" if len(ignored) > 10 else ""
    warnings.warn(
        f"{root}: 이미지가 아닌 파일 {len(ignored)}개는 데이터셋에서 빠집니다:\n{shown}{more}\n"
        "학습에 쓰려면 JPEG/PNG로 바꾸고, 필요 없으면 지우거나 데이터 폴더 밖으로 옮기세요.",
        IgnoredFilesWarning, stacklevel=3)


# ----------------------------------------------------------------------- pixels: load_image

MAX_IMAGE_PIXELS = 89_478_485
"""Larger images are refused (Pillow's decompression-bomb limit, about 9500 × 9500)."""

_HIGH_BIT_MODES = ("I", "F")  # 32-bit integer / float, and every "I;16..." 16-bit mode


def _bad_image(path: Path | str, what: str, fix: str) -> BadImageError:
    return BadImageError(f"{path}: {what}\n해결: {fix}")


def _to_8bit(im: Image.Image) -> Image.Image:
    """A 16-bit, 32-bit integer or float image scaled to 8 bits by its own range (min → 0, max → 255).

    Clipping instead (what ``convert("L")`` does) turns a 16-bit photo almost white.
    A flat image (one value) has no range: 16-bit values are scaled by 65535, others clipped to 0–255.
    """
    array = np.asarray(im, dtype=np.float64)
    finite = np.isfinite(array)
    if not finite.any():
        array = np.zeros_like(array)
        finite = np.ones_like(finite)
    lo, hi = array[finite].min(), array[finite].max()
    array = np.where(np.isnan(array), lo, np.clip(array, lo, hi))  # NaN -> min, ±inf -> ends
    if hi > lo:
        array = (array - lo) * (255.0 / (hi - lo))
    elif im.mode.startswith("I;16"):
        array = array * (255.0 / 65535.0)
    else:
        array = np.clip(array, 0, 255)
    return Image.fromarray(np.rint(array).astype(np.uint8), mode="L")


def _to_rgb(im: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGB: high bit depth by range, transparency onto white, the rest by ``convert``."""
    if im.mode.startswith(_HIGH_BIT_MODES):
        return _to_8bit(im).convert("RGB")
    if im.mode in ("RGBA", "LA", "La", "RGBa", "PA") or "transparency" in im.info:
        # Transparent pixels keep whatever colour the file stores (often black); a photo
        # on a white page is what the person who made it saw.
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return im.convert("RGB")  # RGB, L, 1, P, CMYK, YCbCr, LAB, HSV


def load_image(path: str | Path) -> Image.Image:
    """Open an image file as 8-bit RGB: the one rule for pixels in this course.

    - EXIF orientation applied (phone photos come out upright);
    - 16-bit, 32-bit integer and float images scaled to 8 bits by their range;
    - transparency (RGBA, LA, palette with a transparent colour) composited onto white;
    - grayscale and CMYK converted to RGB.

    Anything else that goes wrong raises ``BadImageError`` naming the file and the fix.

    >>> load_image(sample_image_path("chelsea")).size
    (451, 300)
    """
    path = Path(path)
    try:
        with warnings.catch_warnings():
            # Pillow only warns between 1x and 2x its limit and then decodes anyway; the size
            # check below refuses both cases with a message instead.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                if im.width * im.height > MAX_IMAGE_PIXELS:
                    raise Image.DecompressionBombError(f"{im.width}x{im.height}")
                im = ImageOps.exif_transpose(im)  # also forces the full decode, here and not later
                return _to_rgb(im)
    except FileNotFoundError as exc:
        raise _bad_image(path, "파일이 없습니다.",
                         f"경로를 확인하세요 (ls \"{path.parent}\"). 파일을 옮겼다면 데이터 폴더를 다시 만드세요.") from exc
    except Image.DecompressionBombError as exc:
        raise _bad_image(path, f"이미지가 너무 큽니다 ({exc}; 한도 {MAX_IMAGE_PIXELS:,} 화소). "
                         "압축 폭탄(decompression bomb)일 수 있어 열지 않았습니다.",
                         "이미지 편집기로 가로·세로를 줄여 다시 저장하거나 이 파일을 지우세요.") from exc
    except Exception as exc:  # noqa: BLE001 - any decoder failure is "this file is broken" to a student
        detail = str(exc).replace(str(path), path.name)  # the path already starts the message
        raise _bad_image(path, f"이미지 파일을 읽을 수 없습니다 ({type(exc).__name__}: {detail}). "
                         "파일이 깨졌거나, 이미지가 아닌 파일에 이미지 확장자가 붙어 있습니다.",
                         f"이 파일을 지우거나 (rm \"{path}\") 올바른 JPEG/PNG 파일로 바꾼 뒤 셀을 다시 실행하세요.") from exc



# --------------------------------------------------------------------------- the layout

def layout_fix(root: Path, splits: Sequence[str]) -> str:
    return (f"해결: 이미지를 {root}/<split>/<클래스>/<이미지 파일> 구조로 두세요 "
            f"(split은 {', '.join(splits)}; data/README.md 참고).")


def check_layout(root: str | Path, splits: Sequence[str] = SPLITS) -> list[str]:
    """Check ``root/<split>/<class>/<images>`` and return the class names.

    Every split must have the same classes (so a class has the same index everywhere),
    at least 2 of them, and an image in each. Hidden folders (``.ipynb_checkpoints``,
    ``__MACOSX``) are not classes; non-image files are left out with one warning.
    Raises ``DataLayoutError`` naming the folder that is wrong and how to fix it.
    """
    root = Path(root)
    fix = layout_fix(root, splits)
    if not root.is_dir():
        raise DataLayoutError(f"{root}: 데이터 폴더가 없습니다.\n{fix}")
    found: dict[str, list[str]] = {}
    ignored: list[Path] = []
    repeats: list[Path] = []
    seen_in: dict[str, tuple[str, str, Path]] = {}  # real path of an image -> (split, class folder, path)
    for split in splits:
        split_dir = root / split
        if not split_dir.is_dir():
            raise DataLayoutError(
                f"{split_dir}: split 폴더가 없습니다 (missing split folder).\n"
                f"해결: mkdir \"{split_dir}\" 후 클래스별 하위 폴더에 이미지를 넣으세요 "
                f"({root}/<split>/<클래스>/<이미지 파일>, data/README.md 참고).")
        loose = sorted(p.name for p in split_dir.iterdir() if p.is_file() and is_image_file(p))
        if loose:
            raise DataLayoutError(
                f"{split_dir}: 이미지가 클래스 폴더 없이 split 폴더에 바로 있습니다 ({', '.join(loose[:3])} ...).\n"
                f"해결: 클래스마다 하위 폴더를 만들어 옮기세요, 예: mkdir \"{split_dir}/<클래스>\" 후 "
                f"mv \"{split_dir}/{loose[0]}\" \"{split_dir}/<클래스>/\".")
        ignored += [p for p in split_dir.iterdir() if p.is_file() and not is_hidden(p.name)]
        names = class_folders(split_dir)
        if len(names) < 2:
            raise DataLayoutError(
                f"{split_dir}: 클래스 폴더가 {len(names)}개 {names}뿐입니다. 분류하려면 2개 이상 필요합니다.\n{fix}")
        for name in names:
            images, others, repeated = _walk_class(split_dir / name)
            ignored += others
            repeats += repeated
            for image in images:  # one file (through links) in two class folders: two labels, or a leak
                first_seen = seen_in.setdefault(os.path.realpath(image), (split, name, image))
                if first_seen[:2] != (split, name):
                    raise DataLayoutError(
                        f"{image}: 링크로 연결된 같은 파일이 {first_seen[2]}에도 있습니다. 한 사진이 두 클래스에 있으면 "
                        "정답이 둘이 되고, 두 split에 있으면 테스트 정확도가 부풀려집니다(데이터 누수).\n"
                        "해결: 이 사진을 한 split의 한 클래스 폴더에만 두세요.")
            if not images:
                what = f" (이미지가 아닌 파일만 있음: {', '.join(p.name for p in others[:3])})" if others else ""
                raise DataLayoutError(
                    f"{split_dir / name}: 클래스 폴더에 이미지가 없습니다{what}.\n"
                    f"해결: 이 클래스의 이미지(JPEG/PNG 등)를 넣거나, 모든 split에서 이 폴더를 지우세요.")
        found[split] = [class_name(n) for n in names]
    first = splits[0]
    for split in splits[1:]:
        if found[split] != found[first]:
            only_first = sorted(set(found[first]) - set(found[split]))
            only_here = sorted(set(found[split]) - set(found[first]))
            raise DataLayoutError(
                f"{root / first}, {root / split}: 두 split의 클래스 폴더가 다릅니다 "
                f"({first}에만: {only_first}, {split}에만: {only_here}). "
                "클래스 번호가 split마다 달라져 정확도가 엉터리가 됩니다.\n"
                "해결: 모든 split에 같은 이름의 클래스 폴더를 두세요 (이름을 맞추거나 빠진 폴더를 만드세요).")
    _warn_ignored(root, ignored)
    if repeats:
        shown = "\n".join(f"  {p}" for p in repeats[:10]) + (f"\n  ... 외 {len(repeats) - 10}개" if len(repeats) > 10 else "")
        warnings.warn(f"{root}: 심볼릭 링크로 이미 읽은 폴더나 파일에 다시 닿은 곳 {len(repeats)}개는 한 번만 셉니다"
                      f" (링크가 자기 위쪽 폴더를 가리키면 끝없이 돌게 됩니다):\n{shown}\n"
                      "해결: 필요 없는 링크를 지우세요(ls -l 로 확인).", IgnoredFilesWarning, stacklevel=2)
    return found[first]


def verify_images(root: str | Path) -> int:
    """Decode every image under ``root`` once; raise ``BadImageError`` listing each bad file.

    Returns the number of images checked. Run before a long training so a broken
    file fails in seconds, not in epoch 7.
    """
    root = Path(root)
    files = image_files(root)
    bad: list[str] = []
    for path in files:
        try:
            load_image(path)
        except BadImageError as exc:
            bad.append(f"  {str(exc).splitlines()[0]}")
    if bad:
        raise BadImageError(
            f"{root}: 읽을 수 없는 이미지 {len(bad)}개 (학습 전에 고쳐야 합니다):\n" + "\n".join(bad) +
            "\n해결: 위 파일을 지우거나 올바른 JPEG/PNG로 바꾼 뒤 셀을 다시 실행하세요.")
    return len(files)


def count_images(root: str | Path) -> dict[str, dict[str, int]]:
    """``{split: {class: n_images}}`` for an ImageFolder tree (the same images the dataset loads)."""
    root = Path(root)
    return {
        split: {class_name(name): len(image_files(root / split / name)) for name in class_folders(root / split)}
        for split in SPLITS if (root / split).is_dir()
    }
