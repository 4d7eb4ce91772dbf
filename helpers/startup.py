"""What ``import helpers`` changes in the process: the only three side effects, each measured, each switchable.

Every lesson's first cell imports ``helpers`` before ``torch``. That import does exactly three
things to the process, all here (``helpers/__init__.py`` calls ``apply()``), none of which
changes a value you set yourself:

1. ``OMP_WAIT_POLICY=PASSIVE``, only when the variable is unset. PyTorch's OpenMP threads
   otherwise spin at every barrier; beside a browser or a second notebook on a 2-core laptop
   one training step took 34 s instead of 1.8 s (``benchmarks/run_all.py --parts
   contention``). It must be set before torch loads, hence here. Off: set the variable
   yourself (``OMP_WAIT_POLICY=ACTIVE``); your value is kept. If torch was imported before
   helpers, a Korean warning says the policy could not be applied.
2. Triton marked as absent (``sys.modules["triton"] = None``) so that ``import torchvision``
   does not load it through ``torch._dynamo``: measured 877 -> 802 MiB resident after
   ``import torch, torchvision`` on this machine's CPU build (Triton compiles GPU kernels only,
   so it is dead weight where no GPU can use it). Only when **all** of these hold: Linux;
   ``torch`` and ``triton`` not imported yet; no NVIDIA driver (``/proc/driver/nvidia/version``);
   no AMD GPU device (``/dev/kfd``); the installed torch is not a ROCm (``torch.version.hip``)
   or Intel XPU (``torch.version.xpu``) build, both of which use Triton; and
   ``COURSE_KEEP_TRITON`` is not set. Off: ``COURSE_KEEP_TRITON=1``.
3. In Jupyter/IPython, ``malloc_trim`` after every cell (``helpers.memory.watch_cells``):
   glibc keeps freed pages, so without it a lesson's resident memory is the sum of its
   sections rather than the largest one (lessons must fit a 1.5 GiB classroom pod). Off:
   ``COURSE_RELEASE_MEMORY=0`` (``fit``/``evaluate``/``predict`` still trim when they finish).

>>> import helpers.startup as s; s.triton_stub_wanted(s.Machine.here())   # what this machine gets
"""
from __future__ import annotations

import os
import re
import sys
import warnings
from dataclasses import dataclass

from helpers.memory import watch_cells

OFF_VALUES = {"0", "false", "no", "off"}


def _on(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", *OFF_VALUES)


def _off(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in OFF_VALUES


def torch_build() -> dict[str, str | None]:
    """``{"version", "cuda", "hip", "xpu"}`` of the installed torch, read from ``torch/version.py``
    without importing torch (importing it is what the Triton decision must come before)."""
    raw: dict[str, str] = {}
    # sys.path searched by hand: importlib.util.find_spec("torch") would run the import system's
    # finders, and a finder that acts on torch's import (tests/fakegpu) must see only the real one
    for entry in sys.path:
        try:
            with open(os.path.join(entry or ".", "torch", "version.py"), encoding="utf-8") as fh:
                text = fh.read()
        except OSError:
            continue
        for name in ("__version__", "cuda", "hip", "rocm", "xpu"):  # `hip: Optional[str] = '6.2.4'`
            match = re.search(rf"^{name}\s*(?::[^=\n]*)?=\s*['\"]([^'\"]+)['\"]", text, re.M)
            if match:
                raw[name] = match.group(1)
        break
    version = raw.get("__version__")
    hip = raw.get("hip") or raw.get("rocm") or ("rocm" if version and "+rocm" in version else None)
    xpu = raw.get("xpu") or ("xpu" if version and "+xpu" in version else None)
    return {"version": version, "cuda": raw.get("cuda"), "hip": hip, "xpu": xpu}


@dataclass(frozen=True)
class Machine:
    """What the Triton decision looks at (a plain record, so tests can describe any machine)."""

    platform: str
    torch_imported: bool
    triton_imported: bool
    nvidia_driver: bool
    amd_gpu: bool
    hip: str | None
    xpu: str | None
    keep_triton: bool

    @classmethod
    def here(cls) -> "Machine":
        build = torch_build()
        return cls(platform=sys.platform, torch_imported="torch" in sys.modules,
                   triton_imported="triton" in sys.modules,
                   nvidia_driver=os.path.exists("/proc/driver/nvidia/version"),
                   amd_gpu=os.path.exists("/dev/kfd"), hip=build["hip"], xpu=build["xpu"],
                   keep_triton=_on("COURSE_KEEP_TRITON"))


def triton_stub_wanted(machine: Machine) -> bool:
    """Mark Triton absent only where nothing could use it (see the module docstring, item 2)."""
    return (machine.platform.startswith("linux") and not machine.torch_imported
            and not machine.triton_imported and not machine.nvidia_driver and not machine.amd_gpu
            and not machine.hip and not machine.xpu and not machine.keep_triton)


def set_omp_policy() -> None:
    """Item 1: ``OMP_WAIT_POLICY=PASSIVE`` unless set; a warning if torch already loaded OpenMP."""
    if "torch" in sys.modules and "OMP_WAIT_POLICY" not in os.environ:
        warnings.warn(
            "torch가 helpers보다 먼저 import되어 OpenMP 대기 정책(OMP_WAIT_POLICY=PASSIVE)을 적용하지 "
            "못했습니다. 다른 프로그램이 CPU를 쓰면 학습이 몇 배 느려질 수 있습니다.\n"
            "해결: 커널을 다시 시작하고(Kernel → Restart Kernel) 첫 셀에서 helpers를 torch보다 먼저 import하세요.",
            stacklevel=3)  # the line in helpers/__init__.py, as before
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def release_memory_after_cells() -> bool:
    """Item 3: the per-cell ``malloc_trim`` in Jupyter, unless ``COURSE_RELEASE_MEMORY=0``."""
    if _off("COURSE_RELEASE_MEMORY"):
        return False
    return watch_cells()


def apply() -> None:
    """All three, in order (called once by ``import helpers``)."""
    set_omp_policy()
    if triton_stub_wanted(Machine.here()):
        sys.modules.setdefault("triton", None)
    release_memory_after_cells()
