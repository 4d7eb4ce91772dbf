"""The device a lesson runs on, and the device a model is on: one definition each, light to
import (only torch).

>>> from helpers.device import get_device     # also importable from helpers.train
>>> device = get_device(); model.to(device)
"""
from __future__ import annotations

import torch


def get_device() -> torch.device:
    """The accelerator PyTorch finds (an NVIDIA GPU: ``cuda``; Apple: ``mps``; Intel: ``xpu``;
    any other registered backend), else the CPU.

    >>> device = get_device(); model.to(device)
    """
    accelerator = getattr(torch, "accelerator", None)
    if accelerator is not None and hasattr(accelerator, "current_accelerator"):
        found = accelerator.current_accelerator(check_available=True)
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

