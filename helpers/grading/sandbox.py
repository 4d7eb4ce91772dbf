"""One untrusted process: bubblewrap's read-only view of the machine, resource limits, no network.

With bubblewrap (Debian ``bubblewrap``; checked to work at start-up) the process sees:

- the whole file system read-only (``--ro-bind / /``); its own folder is the only writable place
  (plus a private, empty ``/tmp``);
- the grader's input and output folders and the instructor's home replaced by empty folders
  (other students' notebooks, the grade table, ``~/.ssh`` are not there); the course and the
  Python installation stay visible, read-only;
- no network at all (``--unshare-net``: not even loopback), its own process ids (``--unshare-pid``:
  when the grader kills it, everything it started dies too), no capabilities, a new session.

Without bubblewrap the same process runs with the same limits and network guard but sees and can
write everything the instructor's account can (the CLI says so loudly; README: what is lost).

Limits in both cases (``setrlimit`` before exec): data memory (``RLIMIT_DATA``: heap and anonymous
maps), file size (``RLIMIT_FSIZE``), CPU seconds; wall time is the grader's job.
"""
from __future__ import annotations

import functools
import os
import resource
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from helpers.paths import PROJECT_ROOT

NETGUARD = PROJECT_ROOT / "tests" / "netguard"


@dataclass
class Limits:
    memory_bytes: int = 4 << 30
    file_bytes: int = 512 << 20
    cpu_seconds: int = 900

    def apply(self) -> None:  # runs in the child between fork and exec
        resource.setrlimit(resource.RLIMIT_DATA, (self.memory_bytes, self.memory_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (self.file_bytes, self.file_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (self.cpu_seconds, self.cpu_seconds + 5))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


@functools.lru_cache(maxsize=None)
def bwrap_works() -> bool:
    """True if bubblewrap is installed and can make a sandbox on this machine."""
    exe = shutil.which("bwrap")
    if not exe:
        return False
    result = subprocess.run([exe, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
                             "--unshare-net", "--unshare-pid", "--die-with-parent", "true"],
                            capture_output=True, timeout=30)
    return result.returncode == 0


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False


def command(argv: list[str], workdir: Path, *, hide: list[Path], readable: list[Path] = (),
            use_bwrap: bool = True) -> list[str]:
    """``argv`` wrapped in bubblewrap: ``workdir`` writable, ``hide`` empty, ``readable`` read-only."""
    if not use_bwrap:
        return argv
    args = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    home = Path(os.path.expanduser("~")).resolve()
    hidden = [Path(p).resolve() for p in hide] + ([home] if home != Path("/") else [])
    hidden = sorted({p for p in hidden if p.exists()}, key=lambda p: len(p.parts))
    for folder in hidden:
        args += ["--tmpfs", str(folder)]
    # what must stay visible although it lies in a hidden folder or in /tmp (a course cloned or a venv
    # made under /tmp, as CI may do): the course, Python itself
    keep = {PROJECT_ROOT.resolve(), Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(),
            Path(sys.executable).resolve().parent.parent}
    rebound = [path for path in sorted(keep, key=lambda p: len(p.parts))
               if path.exists() and any(_inside(path, h) for h in hidden + [Path("/tmp")])]
    for path in rebound:
        args += ["--ro-bind", str(path), str(path)]
    for folder in hidden:  # a hidden folder inside a re-shown one (submissions kept in the course folder)
        if any(_inside(folder, path) and folder != path for path in rebound):
            args += ["--tmpfs", str(folder)]
    for path in readable:  # e.g. the answers the runner saved, for the checker
        args += ["--ro-bind", str(path), str(path)]
    args += ["--bind", str(workdir), str(workdir), "--chdir", str(workdir),
             "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--new-session",
             "--die-with-parent", "--"]
    return args + argv


def environment(workdir: Path) -> dict[str, str]:
    """A small environment: its own HOME, outputs and temp folder, the network guard, one thread."""
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(workdir / "home"),
        "TMPDIR": str(workdir / "tmp"),
        "COURSE_OUTPUT_DIR": str(workdir / "outputs"),
        "COURSE_OFFLINE": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(workdir / "home" / ".matplotlib"),
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OMP_WAIT_POLICY": "PASSIVE",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "LANG": "C.UTF-8",
        "COURSE_NETGUARD_LOG": str(workdir / "netguard.log"),
    }
    if NETGUARD.is_dir():
        env["PYTHONPATH"] = str(NETGUARD)
    for name in ("home", "tmp", "outputs"):
        (workdir / name).mkdir(parents=True, exist_ok=True)
    return env
