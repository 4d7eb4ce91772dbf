"""Shared fixtures: tiny ImageFolder trees generated on the fly (no network, no bundled data)."""
from __future__ import annotations

import os

import helpers  # noqa: F401  - before torch, as every lesson does (sets OMP_WAIT_POLICY)
import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from helpers.data import Preprocess, make_loaders

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ["COURSE_OFFLINE"] = "1"  # unit tests never touch the network


def _write_image(path, colour, rng, size=40):
    """A flat colour with noise plus a bright square: easy to tell classes apart."""
    array = np.clip(np.array(colour, dtype=float) + rng.normal(0, 12, (size, size, 3)), 0, 255)
    array[10:20, 10:20] = 255
    Image.fromarray(array.astype(np.uint8)).save(path)


SMALL = Preprocess(resize=36, crop=32)
"""The tests' preprocessing: 32-pixel crops of the 40-pixel test images (fast; ImageNet's mean and std)."""
CPU = torch.device("cpu")


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
def loaders(image_tree):
    """``image_tree``'s loaders: batches of 4, the train split shuffled with seed 0."""
    return make_loaders(image_tree, SMALL, batch_size=4, seed=0)[0]


@pytest.fixture
def tiny_net():
    torch.manual_seed(0)
    return TinyNet()


# ----------------------------------------------------------------------------- make test plumbing

# Longest first, so that two workers (pytest -n 2) finish together: seconds measured under `make test`
# (fresh clone, 2-core machine, 2026-12-03), by node id. An unlisted lesson run counts 10 s, any
# other unlisted test nothing. The Makefile's --maxschedchunk 1 makes pytest-xdist hand out tests one
# or two at a time in this order (its default sends each worker a quarter of the list up front,
# which put every lesson on one worker).
_RUNS = ("tests/test_lessons.py::test_instructor_edition[", "tests/test_lessons.py::test_student_edition[",
         "tests/test_lessons.py::test_lesson_runs[")  # the last: the student branch's own lesson runs
_COST = {
    **{f"{_RUNS[0]}{n}]": s for n, s in
       {"02": 62, "03": 62, "01": 30, "07": 26, "08": 21, "06": 11, "04": 6, "05": 6}.items()},
    **{f"{_RUNS[1]}{n}]": s for n, s in
       {"02": 50, "03": 42, "01": 24, "07": 21, "08": 8, "06": 8, "04": 4, "05": 4}.items()},
    "tests/test_grading.py::test_grading_lesson_05": 57,
    "tests/test_browser.py::test_a_lesson_runs_in_jupyterlab_in_chromium": 8,
    "tests/test_stop_button.py::test_stop_button_stops_run_all_and_says_how_to_resume": 6,
}


def pytest_configure(config):
    """With ``COURSE_KERNEL_LOG`` set (make test), every kernel the tests start logs its cells
    (tests/kernel_log.py, installed as an IPython start-up file; tests/test_run_count.py reads it)."""
    import shutil
    from pathlib import Path

    log = os.environ.get("COURSE_KERNEL_LOG")
    logger = Path(__file__).with_name("kernel_log.py")  # not on the student branch (scripts/student_branch.py)
    if log and not os.environ.get("PYTEST_XDIST_WORKER") and logger.exists():
        ipython_dir = Path(log).resolve().parent / "ipython"
        startup = ipython_dir / "profile_default" / "startup"
        startup.mkdir(parents=True, exist_ok=True)
        shutil.copy(logger, startup / "00_course_kernel_log.py")
        os.environ["IPYTHONDIR"] = str(ipython_dir)


def pytest_collection_modifyitems(config, items):
    """The slowest tests first (lesson runs, grading), the unit tests fill the gaps."""
    items.sort(key=lambda item: -_COST.get(item.nodeid, 10 if item.nodeid.startswith(_RUNS) else 0))
