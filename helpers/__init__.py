"""Small helpers for the course notebooks.

One module per concern, named for what it holds:

- ``helpers.paths``     where data, outputs and weights live (environment variables)
- ``helpers.data``      what an image and a class are, loaders, transforms, ``denormalize``
- ``helpers.models``    the packaged backbone (offline), torchvision weights, freezing, heads
- ``helpers.history``   ``History``: what ``fit`` records
- ``helpers.checkpoint`` the checkpoint format: save (atomic), load, validate
- ``helpers.callbacks`` ModelCheckpoint, EarlyStopping, LRScheduler, CSVLogger, TensorBoardLogger
- ``helpers.train``     ``fit`` / ``evaluate`` / ``predict`` and the run state
- ``helpers.features``  cached features for a frozen backbone
- ``helpers.plots``     prediction grid, curves, image batches, Korean font
- ``helpers.hooks``     feature-map and gradient capture with forward hooks
- ``helpers.download``  optional online datasets and weights, verified by SHA-256
- ``helpers.exercises`` self-checking exercises (통과 / 아직 풀지 않음 / 틀림)
- ``helpers.doctor``    the environment check every lesson starts with
- ``helpers.memory``    freed memory handed back to the OS (after each cell in Jupyter)
"""
import os as _os
import sys as _sys

# PyTorch's OpenMP threads spin at every barrier by default; beside a browser or a second
# notebook that makes training several times slower on a 2-core laptop. The policy is read
# when torch loads OpenMP, so it is set here, before any helpers module imports torch: every
# lesson imports helpers first, so it holds however the kernel was started
# (benchmarks/run_all.py --parts contention measures it).
if "torch" in _sys.modules and "OMP_WAIT_POLICY" not in _os.environ:
    import warnings as _warnings

    _warnings.warn(
        "torch가 helpers보다 먼저 import되어 OpenMP 대기 정책(OMP_WAIT_POLICY=PASSIVE)을 적용하지 "
        "못했습니다. 다른 프로그램이 CPU를 쓰면 학습이 몇 배 느려질 수 있습니다.\n"
        "해결: 커널을 다시 시작하고(Kernel → Restart Kernel) 첫 셀에서 helpers를 torch보다 먼저 import하세요.",
        stacklevel=2)
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# Triton compiles GPU kernels and nothing else; torchvision's import pulls it in through
# torch._dynamo all the same, which costs every lesson ~100 MiB of resident memory on a machine
# that has no NVIDIA driver and so can never use it (measured: import torch + torchvision
# 835 -> 735 MiB). There, and only there, it is marked as absent before torch loads; torch then
# treats Triton as not installed, exactly as on a machine without it.
if (_sys.platform.startswith("linux") and "torch" not in _sys.modules
        and not _os.path.exists("/proc/driver/nvidia/version")):
    _sys.modules.setdefault("triton", None)

from helpers.memory import watch_cells  # noqa: E402
from helpers.paths import PROJECT_ROOT, data_dir  # noqa: E402

# In Jupyter, freed memory goes back to the OS after every cell, so a lesson's peak is what one
# section needs, not the sum of all of them (lessons must fit a 1.5 GiB classroom pod).
watch_cells()


def __getattr__(name: str):
    if name == "DATA_DIR":  # old name; follows COURSE_DATA_DIR like helpers.paths.data_dir()
        return data_dir()
    raise AttributeError(f"module 'helpers' has no attribute {name!r}")


__all__ = ["PROJECT_ROOT", "DATA_DIR", "data_dir"]
