"""Every lesson on the GPU student's path, on this CPU, with the stand-in GPU of ``tests/fakegpu``.

CI has no GPU. ``tests/fakegpu`` registers a second device through PyTorch's own extension point
for accelerators; ``helpers.get_device()`` picks it exactly as it picks ``cuda`` on an NVIDIA
machine, so the lessons run unchanged, with their models and batches on that device. Like a
GPU, it refuses operations that mix its tensors with CPU tensors ("Expected all tensors to be
on the same device") and ``.numpy()`` of its tensors; unlike a GPU, it computes with the CPU's
kernels, so every number equals the CPU run's and each self-check decides on the same numbers.

1. ``checks.py`` (one process with the stand-in) checks the stand-in itself: each mix-up a GPU
   rejects is rejected, copies copy, training gives the CPU's numbers bit for bit, and the
   helpers keep their device promises (Grad-CAM, prediction grids, fit + resume).
2. Each lesson runs top to bottom in the course kernel with the stand-in, and must end with its
   self-check passing; a lesson that trains a network must have run its backward pass on the
   device (the stand-in counts the operations it ran and writes them to ``COURSE_FAKEGPU_LOG``),
   and, under the network guard as in ``make test``, it must not have tried to reach the network.

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
from pathlib import Path

import nbformat
import pytest

from lesson_runs import LESSONS, ROOT, SELF_CHECK, TRAINS, execute, lesson_code

FAKEGPU = ROOT / "tests" / "fakegpu"


def stand_in_env(log: Path | None = None, net_log: Path | None = None) -> dict:
    """The environment of a process with the stand-in GPU (and, with ``net_log``, the network
    guard too: the lessons' GPU path must make no network attempt either)."""
    paths = [str(FAKEGPU)] + ([str(ROOT / "tests" / "netguard")] if net_log else [])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths + [os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
               MPLBACKEND="Agg")
    if log is not None:
        env["COURSE_FAKEGPU_LOG"] = str(log)
    if net_log is not None:
        env["COURSE_NETGUARD_LOG"] = str(net_log)
    return env


def run_checks(env: dict) -> dict:
    """``checks.py`` in a process with ``env``: ``{check name: "ok" or the traceback}``."""
    out = subprocess.run([sys.executable, str(FAKEGPU / "checks.py")], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def checks() -> dict:
    return run_checks(stand_in_env())


def check_names() -> list[str]:
    return re.findall(r"^@check\ndef (\w+)", (FAKEGPU / "checks.py").read_text(encoding="utf-8"), re.M)


@pytest.mark.parametrize("name", check_names())
def test_stand_in(checks, name):
    assert checks.get(name) == "ok", checks.get(name, "check did not run")


def test_without_the_stand_in_the_checks_fail():
    """The checks look at the device: in a plain process (CPU) they must not pass."""
    results = run_checks({k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert results["get_device_picks_the_stand_in"] != "ok"
    assert results["a_cpu_batch_into_a_device_model_raises"] != "ok"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name[:2])
def test_lesson_runs_on_the_stand_in_gpu(path, tmp_path, monkeypatch):
    log, net_log = tmp_path / "fakegpu.jsonl", tmp_path / "netguard.log"
    for key, value in stand_in_env(log, net_log).items():
        monkeypatch.setenv(key, value)
    nb = nbformat.read(path, as_version=4)
    errors = [(nb.cells[i].source.splitlines()[0][:80], o["ename"], o["evalue"][:500])
              for i, o in execute(nb, tmp_path / "outputs", monkeypatch)]
    assert not errors, f"{path.name} on the stand-in GPU: {errors}"
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                      if o.get("output_type") == "stream")
    assert SELF_CHECK in printed, f"{path.name}: the self-check did not pass"
    assert not net_log.exists() or not net_log.read_text(encoding="utf-8").strip(), \
        f"{path.name} tried to reach the network: {net_log.read_text(encoding='utf-8')[:500]}"

    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    kernel = max(records, key=lambda r: r["ops"])                 # the kernel (other processes: tools)
    assert kernel["ops"] > 0, f"{path.name}: nothing ran on the device"
    if TRAINS.search(lesson_code(path)):
        backward = {op: n for op, n in kernel["by_op"].items() if "backward" in op}
        assert backward, f"{path.name} trains a network, but no backward pass ran on the device: {kernel['by_op']}"
