"""Every lesson on the GPU student's path, on this CPU, with the stand-in GPU of ``tests/fakegpu``.

CI has no GPU. ``tests/fakegpu`` registers a second device through PyTorch's own extension point
for accelerators; ``helpers.get_device()`` picks it exactly as it picks ``cuda`` on an NVIDIA
machine, so the lessons run unchanged, with their models and batches on that device. Like a
GPU, it refuses operations that mix its tensors with CPU tensors ("Expected all tensors to be
on the same device") and ``.numpy()`` of its tensors; unlike a GPU, it computes with the CPU's
kernels, so every number equals the CPU run's and each self-check decides on the same numbers.

``checks.py`` (one process with the stand-in) checks the stand-in itself: each mix-up a GPU
rejects is rejected, copies copy, training gives the CPU's numbers bit for bit, and the helpers
keep their device promises (Grad-CAM, prediction grids, fit + resume). The lessons themselves run
on it once each in ``tests/test_lessons.py`` (the instructor editions): every self-check passes,
a lesson that trains a network ran its backward pass on the device (the stand-in counts the
operations it ran and writes them to ``COURSE_FAKEGPU_LOG``), and none tried to reach the network.

It found two GPU-only bugs the CPU runs could not: lesson 04 expected ``RuntimeError`` from
``.numpy()`` where a GPU raises ``TypeError`` first, and (in the stand-in) a model moved after
its optimizer was built must keep its Parameter objects.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from lesson_runs import FAKEGPU, ROOT, stand_in_env


def run_checks(env: dict) -> dict:
    """``checks.py`` in a process with ``env``: ``{check name: "ok" or the traceback}``."""
    out = subprocess.run([sys.executable, str(FAKEGPU / "checks.py")], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def check_names() -> list[str]:
    return re.findall(r"^@check\ndef (\w+)", (FAKEGPU / "checks.py").read_text(encoding="utf-8"), re.M)


# One test, one run of checks.py, a subtest per check (reported by name when it fails). Not a module
# fixture shared by parametrized tests: under pytest-xdist those land on both workers and each runs
# checks.py (xdist 3.8's `xdist_group` marks have no effect under pytest 9, which ignores `_nodeid`).
def test_stand_in(subtests):
    names = check_names()
    assert len(names) >= 10, names
    checks = run_checks(stand_in_env())
    for name in names:
        with subtests.test(name):
            assert checks.get(name) == "ok", checks.get(name, "check did not run")


def test_without_the_stand_in_the_checks_fail():
    """The checks look at the device: in a plain process (CPU) they must not pass."""
    results = run_checks({k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert results["get_device_picks_the_stand_in"] != "ok"
    assert results["a_cpu_batch_into_a_device_model_raises"] != "ok"
