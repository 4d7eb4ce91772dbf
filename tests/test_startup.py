"""``import helpers`` changes the process in three documented ways only, and never against the user or another GPU vendor."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from helpers import startup

ROOT = Path(__file__).resolve().parent.parent

PROBE = ("import json, os, sys; import helpers; "
         "print(json.dumps({'triton': 'stub' if 'triton' in sys.modules and sys.modules['triton'] is None "
         "else 'free', 'omp': os.environ.get('OMP_WAIT_POLICY')}))")


def probe(env_changes: dict, pythonpath: list[str] = (), code: str = PROBE) -> dict:
    """What a fresh process looks like right after ``import helpers``."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "COURSE_KEEP_TRITON")}
    env.update(env_changes)
    env["PYTHONPATH"] = os.pathsep.join([*pythonpath, str(ROOT)])
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


CPU_LINUX = startup.Machine(platform="linux", torch_imported=False, triton_imported=False, nvidia_driver=False,
                            amd_gpu=False, hip=None, xpu=None, keep_triton=False)


@pytest.mark.parametrize("change,wanted", [
    ({}, True),                                  # a CPU-only Linux machine: Triton is dead weight there
    ({"nvidia_driver": True}, False),
    ({"amd_gpu": True}, False),
    ({"hip": "6.2.41133"}, False),               # a ROCm build of torch uses Triton
    ({"xpu": "20250101"}, False),                # so does an Intel XPU build
    ({"torch_imported": True}, False),           # too late, and the user's torch is left alone
    ({"triton_imported": True}, False),          # the user imported it on purpose
    ({"keep_triton": True}, False),              # COURSE_KEEP_TRITON=1
    ({"platform": "darwin"}, False),
], ids=["cpu-linux", "nvidia", "amd-device", "rocm-build", "xpu-build", "torch-first", "triton-first",
        "opt-out", "mac"])
def test_triton_is_marked_absent_only_where_nothing_could_use_it(change, wanted):
    assert startup.triton_stub_wanted(replace(CPU_LINUX, **change)) is wanted


def test_a_rocm_or_xpu_build_is_recognised_without_importing_torch(tmp_path):
    """A fake torch whose version.py says ROCm (then XPU): ``import helpers`` leaves Triton alone."""
    for line in ("hip: Optional[str] = '6.2.41133'", "xpu: Optional[str] = '20250101'"):
        fake = tmp_path / line[:3] / "torch"
        fake.mkdir(parents=True)
        (fake / "__init__.py").write_text("raise ImportError('not a real torch')\n")
        (fake / "version.py").write_text(f"from typing import Optional\n__version__ = '2.6.0'\n{line}\n")
        result = probe({}, [str(fake.parent)])
        if sys.platform.startswith("linux") and not os.path.exists("/proc/driver/nvidia/version"):
            assert result["triton"] == "free", line
    build = probe({}, [str(tmp_path / "hip")], code="import json, helpers.startup as s; print(json.dumps(s.torch_build()))")
    assert build["hip"] == "6.2.41133" and build["xpu"] is None


@pytest.mark.skipif(not sys.platform.startswith("linux") or os.path.exists("/proc/driver/nvidia/version"),
                    reason="the stub applies only on Linux without an NVIDIA driver")
def test_the_stub_applies_here_and_switches_off():
    assert probe({})["triton"] == "stub"
    assert probe({"COURSE_KEEP_TRITON": "1"})["triton"] == "free"


def test_a_users_omp_wait_policy_is_kept():
    assert probe({})["omp"] == "PASSIVE"
    assert probe({"OMP_WAIT_POLICY": "ACTIVE"})["omp"] == "ACTIVE"


class FakeShell:
    """Just enough of IPython's shell for ``watch_cells``."""

    def __init__(self):
        from types import SimpleNamespace

        self.registered = []
        self.events = SimpleNamespace(callbacks={"post_run_cell": self.registered},
                                      register=lambda event, fn: self.registered.append(fn))


def test_the_per_cell_memory_hook_switches_off(monkeypatch):
    import types

    shell = FakeShell()
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    monkeypatch.setenv("COURSE_RELEASE_MEMORY", "0")
    assert startup.release_memory_after_cells() is False and shell.registered == []
    monkeypatch.delenv("COURSE_RELEASE_MEMORY")
    assert startup.release_memory_after_cells() is True and len(shell.registered) == 1
    startup.release_memory_after_cells()
    assert len(shell.registered) == 1  # once, however often helpers is imported


def test_side_effects_are_documented_in_one_place():
    """Every switch named in helpers.startup's docstring is read by its code, and the package says where."""
    import inspect

    import helpers

    doc, code = startup.__doc__, inspect.getsource(startup)
    for name in ("OMP_WAIT_POLICY", "COURSE_KEEP_TRITON", "COURSE_RELEASE_MEMORY"):
        assert name in doc and code.count(name) >= 2, name
    assert "helpers.startup" in helpers.__doc__
    init = (ROOT / "helpers" / "__init__.py").read_text(encoding="utf-8")
    assert "sys.modules" not in init and "os.environ" not in init and "_os" not in init  # nothing else changes the process
