"""The device a lesson runs on: one definition, light to import (only torch).

>>> from helpers.device import get_device     # also importable from helpers.train
>>> device = get_device(); model.to(device)
"""
from __future__ import annotations

import torch


def get_device() -> torch.device:
    """CUDA if there is an NVIDIA GPU, else Apple's MPS, else the CPU.

    >>> device = get_device(); model.to(device)
    """
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")

