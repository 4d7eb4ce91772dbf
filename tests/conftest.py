"""Shared fixtures: tiny ImageFolder trees generated on the fly (no network, no bundled data)."""
from __future__ import annotations

import os

import helpers  # noqa: F401  - before torch, as every lesson does (sets OMP_WAIT_POLICY)
import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ["COURSE_OFFLINE"] = "1"  # unit tests never touch the network


def _write_image(path, colour, rng, size=40):
    """A flat colour with noise plus a bright square: easy to tell classes apart."""
    array = np.clip(np.array(colour, dtype=float) + rng.normal(0, 12, (size, size, 3)), 0, 255)
    array[10:20, 10:20] = 255
    Image.fromarray(array.astype(np.uint8)).save(path)


@pytest.fixture
def image_tree(tmp_path):
    """root/{train,val,test}/{red,blue}/*.png with 6/3/3 images per class."""
    rng = np.random.default_rng(0)
    root = tmp_path / "toy"
    counts = {"train": 6, "val": 3, "test": 3}
    for split, n in counts.items():
        for name, colour in (("blue", (30, 60, 200)), ("red", (200, 40, 30))):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(n):
                _write_image(folder / f"{name}_{i}.png", colour, rng)
    return root


class TinyNet(nn.Module):
    """A very small CNN with BatchNorm, for fast training tests."""

    def __init__(self, num_classes: int = 2):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                                      nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(4, num_classes)

    def forward(self, x):
        return self.fc(self.features(x))


@pytest.fixture
def tiny_net():
    torch.manual_seed(0)
    return TinyNet()
