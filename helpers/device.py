"""The device a lesson runs on, and the device a model is on: one definition each, light to
import (only torch).

>>> from helpers.device import get_device     # also importable from helpers.train
>>> device = get_device(); model.to(device)
"""
from __future__ import annotations

import inspect

import torch

from helpers.errors import DeviceError


def get_device() -> torch.device:
    """The accelerator PyTorch finds (an NVIDIA GPU: ``cuda``; Apple: ``mps``; Intel: ``xpu``;
    any other registered backend), else the CPU.

    >>> device = get_device(); model.to(device)
    """
    accelerator = getattr(torch, "accelerator", None)
    if accelerator is not None and hasattr(accelerator, "current_accelerator"):
        if "check_available" in inspect.signature(accelerator.current_accelerator).parameters:
            found = accelerator.current_accelerator(check_available=True)
        else:  # torch 2.6-2.7: no check_available, and current_accelerator() raises when none is there
            found = accelerator.current_accelerator() if accelerator.is_available() else None
        return torch.device(found.type) if found is not None else torch.device("cpu")
    if torch.cuda.is_available():  # PyTorch before 2.6
        return torch.device("cuda")
    if mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def mps_available() -> bool:
    """Apple's GPU (MPS) is there and usable."""
    mps = getattr(torch.backends, "mps", None)
    return mps is not None and mps.is_available()


def device_of(model: torch.nn.Module) -> torch.device:
    """Where ``model`` lives: the device of its first parameter (or buffer); the CPU if it has none."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")



def as_device(device: "torch.device | str | int | None") -> "torch.device | None":
    """The one rule for a ``device`` argument, used by every helper that takes one.

    ``None`` stays ``None`` (the caller decides: usually the model's own device); a
    ``torch.device`` is returned as is; a string (``"cpu"``, ``"cuda"``, ``"cuda:0"``,
    ``"mps"``) becomes ``torch.device(string)``; an int is an index on the machine's
    accelerator (``0`` → ``cuda:0`` on an NVIDIA machine), as ``model.to(0)`` means.

    >>> as_device("cuda:0"), as_device(torch.device("cpu")), as_device(None)
    """
    if device is None or isinstance(device, torch.device):
        return device
    if isinstance(device, bool) or not isinstance(device, (str, int)):
        raise DeviceError(
            f"device={device!r}: 장치는 문자열(\"cpu\", \"cuda\", \"cuda:0\", \"mps\"), torch.device 또는 "
            f"정수 번호로 주세요 ({type(device).__name__}는 장치가 아닙니다).\n"
            "해결: device = get_device() 로 고른 값을 넘기세요 (from helpers.device import get_device).")
    if isinstance(device, int):
        accelerator = get_device()
        kind = accelerator.type if accelerator.type != "cpu" else "cuda"
        return torch.device(kind, device)
    try:
        return torch.device(device.strip())
    except RuntimeError:
        raise DeviceError(
            f"device={device!r}: 이런 이름의 장치는 없습니다.\n"
            "해결: \"cpu\", \"cuda\", \"cuda:0\", \"mps\" 중 하나를 쓰거나, device = get_device() 로 고른 값을 "
            "넘기세요.") from None


def run_on(model: torch.nn.Module, device: "torch.device | str | int | None") -> torch.device:
    """The device to run ``model`` on: ``device`` (any form ``as_device`` takes; the model is
    moved there) or, when ``device`` is ``None``, the model's own device. ``fit``,
    ``evaluate`` and ``infer`` (so ``predict`` and ``extract_features``) all start with it."""
    device = as_device(device)
    if device is None:
        return device_of(model)
    model.to(device)
    return device

