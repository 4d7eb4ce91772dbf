"""The checkpoint format, in one place: save (atomic), load, validate. Nothing else.

A checkpoint is a plain dict of tensors, numbers, strings, lists and dicts, so it loads
with ``torch.load(..., weights_only=True)`` (no pickled code is ever run):

====================  =============================================================
``format_version``    ``FORMAT_VERSION``
``arch``              architecture name, e.g. ``"efficientnet_lite0"`` (or ``None``)
``class_names``       the class names, in label order (or ``None``)
``model_state``       ``model.state_dict()``
``optimizer_state``   ``optimizer.state_dict()`` (or ``None``)
``callback_states``   ``{"EarlyStopping[0]": {...}, ...}``: every callback's ``state_dict()``
``epoch``             the last finished epoch
``history``           ``History.as_dict()``
``rng``               random-number states (torch, CUDA, Python, NumPy, the train loader's)
====================  =============================================================

>>> from helpers.checkpoint import load_checkpoint
>>> ckpt = load_checkpoint(CHECKPOINT_DIR / "best.pth", model, arch=ARCH, class_names=class_names)
>>> ckpt["epoch"], ckpt["history"]["val_acc"]

A plain ``torch.save(model.state_dict(), path)`` file loads too.
"""
from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
from torch import nn

from helpers.errors import CheckpointError, CourseFileNotFoundError

FORMAT_VERSION = 2
MAX_LISTED = 3  # how many differing names an error message shows



# --- save ------------------------------------------------------------------------------------


def _temp_files(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f".{path.name}.*.tmp"))


def save_atomic(obj: Any, path: str | Path) -> Path:
    """``torch.save`` to a temporary file in the same folder, then rename it over ``path``.

    A crash, Ctrl-C or a killed kernel mid-write leaves the previous file intact, never half
    a file. Temporary files left by a save that was killed (no ``finally`` runs then) are
    removed by the next save to the same path.

    >>> save_atomic({"model_state": model.state_dict()}, output_dir("checkpoints") / "x.pth")
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in _temp_files(path):  # left behind by a save that was killed mid-write
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a checkpoint gets a normal file's mode
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def _on_cpu(value: Any) -> Any:
    """``value`` with every tensor on the CPU (dicts, lists and tuples rebuilt; a CPU tensor is
    not copied)."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        out = type(value)((k, _on_cpu(v)) for k, v in value.items()) if type(value) is not dict else \
            {k: _on_cpu(v) for k, v in value.items()}
        if getattr(value, "_metadata", None) is not None:
            out._metadata = value._metadata  # a state_dict's version numbers
        return out
    if isinstance(value, (list, tuple)):
        return type(value)(_on_cpu(v) for v in value)
    return value


def make_checkpoint(model: nn.Module, optimizer: torch.optim.Optimizer | None = None, *,
                    callback_states: Mapping[str, dict] | None = None,
                    epoch: int = 0, history: Mapping[str, list] | None = None, rng: Mapping | None = None,
                    arch: str | None = None, class_names: Sequence[str] | None = None) -> dict:
    """The checkpoint dict (see the module docstring); ``save_checkpoint`` writes it.

    Every tensor is on the CPU, whatever device the model trained on: a file written on a GPU
    (Colab) opens with a plain ``torch.load(path, weights_only=True)`` on a laptop without one.
    """
    return _on_cpu({
        "format_version": FORMAT_VERSION,
        "arch": arch,
        "class_names": list(class_names) if class_names is not None else None,
        "model_state": model.state_dict(),
        "optimizer_state": optimizer.state_dict() if optimizer is not None else None,
        "callback_states": dict(callback_states or {}),
        "epoch": int(epoch),
        "history": dict(history or {}),
        "rng": dict(rng or {}),
    })


def save_checkpoint(path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer | None = None,
                    **fields: Any) -> Path:
    """Write a checkpoint atomically; ``fields`` are ``make_checkpoint``'s keyword arguments.

    >>> save_checkpoint(CHECKPOINT_DIR / "head.pth", model, arch=ARCH, class_names=class_names)
    """
    return save_atomic(make_checkpoint(model, optimizer, **fields), path)


# --- load ------------------------------------------------------------------------------------


def _fix(path: Path) -> str:
    return f"해결: 이 파일을 지우고 다시 학습하세요 (rm '{path}'), 또는 다른 체크포인트 파일을 지정하세요."


def read_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """The checkpoint dict of ``path`` (``weights_only=True``), without restoring anything.

    A plain state_dict file comes back as ``{"model_state": ..., "format_version": 0}``.
    Raises ``FileNotFoundError`` or ``CheckpointError`` with a short Korean message naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise CourseFileNotFoundError(
            f"{path}: 체크포인트 파일이 없습니다.\n"
            "해결: 경로를 확인하거나, 먼저 ModelCheckpoint 콜백으로 학습해 이 파일을 만드세요.")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights only" in str(exc).lower() or "weights_only" in str(exc):
            raise CheckpointError(
                f"{path}: 이 파일에는 텐서와 숫자 말고 파이썬 객체(실행될 수 있는 코드)가 들어 있어, "
                "안전을 위해 읽지 않았습니다.\n"
                "믿을 수 있는 곳에서 온 체크포인트만 쓰세요. " + _fix(path)) from None
        raise CheckpointError(f"{path}: 체크포인트 파일이 손상되었거나 잘렸습니다 "
                              f"({type(exc).__name__}).\n" + _fix(path)) from None
    except Exception as exc:  # truncated zip, not a torch file at all, empty file, ...
        raise CheckpointError(f"{path}: 체크포인트 파일이 손상되었거나 잘렸습니다 "
                              f"({type(exc).__name__}). 저장 도중 중단되었을 수 있습니다.\n" + _fix(path)) from None
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f"{path}: 체크포인트가 아닙니다 (dict 대신 {type(checkpoint).__name__}).\n" + _fix(path))
    if "model_state" not in checkpoint:  # a bare state_dict: torch.save(model.state_dict(), path)
        checkpoint = {"model_state": checkpoint, "format_version": 0}
    if checkpoint.get("format_version") is None:
        raise CheckpointError(f"{path}: 강의 체크포인트 형식이 아닙니다 (format_version 없음).\n" + _fix(path))
    if checkpoint["format_version"] > FORMAT_VERSION:
        raise CheckpointError(f"{path}: 더 새로운 형식(버전 {checkpoint['format_version']})의 체크포인트입니다; "
                              f"이 helpers는 버전 {FORMAT_VERSION}까지 읽습니다.\n"
                              "해결: 저장소를 최신으로 받으세요 (git pull).")
    return checkpoint


def _listed(names: Sequence[str]) -> str:
    shown = ", ".join(list(names)[:MAX_LISTED])
    return shown + (f" 외 {len(names) - MAX_LISTED}개" if len(names) > MAX_LISTED else "")


def _state_differences(expected: Mapping[str, torch.Tensor], found: Mapping[str, torch.Tensor]) -> list[str]:
    """At most three short lines describing how two state dicts differ (empty if they fit)."""
    missing = [k for k in expected if k not in found]
    unexpected = [k for k in found if k not in expected]
    shapes = [f"{k} 기대 {tuple(expected[k].shape)}, 파일 {tuple(found[k].shape)}"
              for k in expected if k in found and hasattr(found[k], "shape")
              and tuple(expected[k].shape) != tuple(found[k].shape)]
    lines = []
    if shapes:
        lines.append(f"  모양이 다른 텐서 {len(shapes)}개: {_listed(shapes)}")
    if missing:
        lines.append(f"  파일에 없는 텐서 {len(missing)}개: {_listed(missing)}")
    if unexpected:
        lines.append(f"  모델에 없는 텐서 {len(unexpected)}개: {_listed(unexpected)}")
    return lines


def check_compatible(checkpoint: Mapping, path: str | Path, model: nn.Module | None = None,
                     arch: str | None = None, class_names: Sequence[str] | None = None) -> None:
    """Raise ``CheckpointError`` (a few lines: file, expected vs found) if ``checkpoint`` does not fit.

    Checks what the file records (architecture, class names) against what is asked for, and
    the model's tensor names and shapes against the file's.
    """
    lines = []
    found_arch = checkpoint.get("arch")
    if arch is not None and found_arch is not None and arch != found_arch:
        lines.append(f"  아키텍처: 기대 {arch}, 파일 {found_arch}")
    found_classes = checkpoint.get("class_names")
    if class_names is not None and found_classes is not None and list(class_names) != list(found_classes):
        lines.append(f"  클래스: 기대 {len(class_names)}개 {_listed([str(c) for c in class_names])}, "
                     f"파일 {len(found_classes)}개 {_listed([str(c) for c in found_classes])}")
    if model is not None and not lines:
        lines += _state_differences(model.state_dict(), checkpoint["model_state"])
    if lines:
        raise CheckpointError(
            f"{path}: 이 체크포인트는 지금 모델과 맞지 않습니다.\n" + "\n".join(lines) + "\n"
            "해결: 같은 ARCH와 같은 클래스로 학습한 체크포인트를 지정하거나, "
            f"이 파일을 지우고 다시 학습하세요 (rm '{path}').")


def load_checkpoint(path: str | Path, model: nn.Module | None = None,
                    optimizer: torch.optim.Optimizer | None = None, *,
                    arch: str | None = None, class_names: Sequence[str] | None = None,
                    map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint (``weights_only=True``), check it fits, restore what it is given.

    ``model`` and ``optimizer`` get their states back (callbacks, learning-rate schedules
    included, get theirs from ``fit(..., resume_from=path)``). ``arch`` / ``class_names``, when given,
    must match what the file records; a mismatch, a damaged file or one holding pickled code
    raises ``CheckpointError`` with a short Korean message naming the file. Returns the dict.

    >>> ckpt = load_checkpoint(CHECKPOINT_DIR / "best.pth", model, arch=ARCH, class_names=class_names)
    """
    checkpoint = read_checkpoint(path, map_location=map_location)
    check_compatible(checkpoint, path, model, arch, class_names)
    if model is not None:
        model.load_state_dict(checkpoint["model_state"])
    if optimizer is not None and checkpoint.get("optimizer_state") is not None:
        try:
            optimizer.load_state_dict(checkpoint["optimizer_state"])
        except (ValueError, KeyError) as exc:
            raise CheckpointError(f"{path}: 옵티마이저 상태가 지금 옵티마이저와 맞지 않습니다 ({exc}).\n"
                                  "해결: 같은 방식(같은 파라미터 그룹)으로 만든 옵티마이저를 넘기세요.") from None
    return checkpoint
