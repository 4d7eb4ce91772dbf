"""One untrusted process tree: bubblewrap without privileges, only the student edition in view, limits that hold.

The command (``command``) is bubblewrap with

- a user namespace with no capabilities (``--unshare-user --cap-drop ALL``), no further user
  namespaces (``--disable-userns``), ``no_new_privs`` (bubblewrap always sets it), a new session:
  even when the grader runs as root, ``mount``, ``chroot``, ``setuid`` and ``ptrace`` fail inside;
- new PID, network (not even loopback; abstract Unix sockets are per network namespace), IPC and
  UTS namespaces; the command is PID 1 there (``--as-pid-1``: no bubblewrap init holding the
  grader's pipes, which ``/proc/1/fd`` would reach), so when it ends or is killed, the kernel kills
  everything it started; ``--die-with-parent``: killing bubblewrap ends it;
- a file system built from nothing: the system's ``/usr`` (and its ``/bin``, ``/lib`` links), a
  few files of ``/etc`` the dynamic loader and fonts need, the Python installation and venv, and
  the *student edition* of the course at the course's own path (``student_edition``: helpers,
  data, and the lessons with their ``solution`` cells removed by ``scripts/student_branch.py``'s
  rule) plus the grader modules that run inside (``GRADER_PARTS``), all read-only; the root itself
  is remounted read-only;
- writable: only ``/tmp`` and ``/dev/shm``, size-limited tmpfs (``--size``), private to this sandbox.

No host folder is writable and none is shared: the submission's plan is one read-only file, and
everything that comes back (events, answers) comes through a pipe the grader reads with bounds.

Limits (``Cgroup``): where the cgroup v1 ``memory`` and ``pids`` controllers are writable (as root
on these machines) the whole sandbox is one cgroup: memory including shared mappings and tmpfs
pages (``memory.limit_in_bytes`` and ``memory.memsw.limit_in_bytes``) and the number of tasks
(``pids.max``); when either trips, the grader kills every process in it. Fallback (no writable
cgroup, e.g. not root): per-process ``setrlimit`` only (``RLIMIT_DATA``, ``RLIMIT_FSIZE``,
``RLIMIT_CPU``, ``RLIMIT_NPROC``) plus the tmpfs sizes; that does not bound shared mappings, several
processes each under the limit, or (for root) the number of processes. Wall time is the grader's job.
"""
from __future__ import annotations

import functools
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from helpers.paths import PROJECT_ROOT

NETGUARD = PROJECT_ROOT / "classroom" / "netguard"
STUDENT_BRANCH = PROJECT_ROOT / "scripts" / "student_branch.py"
EDITION_PARTS = ("helpers", "data")   # shown read-only as they are (the branch keeps them whole); notebooks/ is rebuilt
GRADER_PARTS = ("classroom/__init__.py", "classroom/grading/__init__.py", "classroom/grading/answers.py",
                "classroom/grading/runner.py", "classroom/grading/checker.py", "classroom/netguard")  # what runs inside
ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "fonts", "localtime", "passwd", "group", "nsswitch.conf")
CGROUP_ROOT = Path("/sys/fs/cgroup")
INSIDE = Path("/tmp/work")        # the sandbox's working folder (HOME, TMPDIR, outputs), inside its /tmp


@dataclass
class Limits:
    memory_bytes: int = 4 << 30      # the whole sandbox (cgroup); also each process's RLIMIT_DATA
    tmp_bytes: int = 256 << 20       # /tmp and /dev/shm, each
    file_bytes: int = 128 << 20
    cpu_seconds: int = 900
    processes: int = 64              # tasks (threads count) in the whole sandbox

    def apply(self) -> None:  # runs in the child between fork and exec
        resource.setrlimit(resource.RLIMIT_DATA, (self.memory_bytes, self.memory_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (self.file_bytes, self.file_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (self.cpu_seconds, self.cpu_seconds + 5))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if os.getuid() != 0:  # not enforced for root; the pids cgroup is the limit there
            resource.setrlimit(resource.RLIMIT_NPROC, (self.processes, self.processes))


class Cgroup:
    """One sandbox's cgroup v1 ``memory`` and ``pids`` groups; ``Cgroup.make`` gives ``None`` where not writable."""

    def __init__(self, limits: Limits):
        name = f"course-grade-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.dirs = [CGROUP_ROOT / "memory" / name, CGROUP_ROOT / "pids" / name]
        for folder in self.dirs:
            folder.mkdir()
        memory, pids = self.dirs
        (memory / "memory.limit_in_bytes").write_text(str(limits.memory_bytes))
        if (memory / "memory.memsw.limit_in_bytes").exists():
            (memory / "memory.memsw.limit_in_bytes").write_text(str(limits.memory_bytes))
        (pids / "pids.max").write_text(str(limits.processes))

    @classmethod
    def make(cls, limits: Limits) -> "Cgroup | None":
        if not cgroups_work():
            return None
        try:
            return cls(limits)
        except OSError:
            return None

    def join(self) -> None:  # runs in the child between fork and exec: all it starts stays inside
        for folder in self.dirs:
            with open(folder / "cgroup.procs", "w") as fh:
                fh.write(str(os.getpid()))

    def tripped(self) -> str | None:
        """Which limit the sandbox ran into, if any (read by the grader, never by the sandbox)."""
        memory, pids = self.dirs
        try:
            oom = dict(line.split() for line in (memory / "memory.oom_control").read_text().splitlines())
            if int(oom.get("oom_kill", 0)) > 0:
                return "memory"
            events = pids / "pids.events"
            if events.exists() and int(events.read_text().split()[1]) > 0:
                return "processes"
        except (OSError, ValueError, IndexError):
            pass
        return None

    def kill_all(self) -> None:
        for _ in range(100):
            alive = set()
            for folder in self.dirs:
                try:
                    alive |= {int(p) for p in (folder / "cgroup.procs").read_text().split()}
                except (OSError, ValueError):
                    pass
            if not alive:
                return
            for pid in alive:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)

    def remove(self) -> None:
        self.kill_all()
        for folder in self.dirs:
            for _ in range(200):  # a process that was just killed may take seconds to free its memory
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    self.kill_all()
                    time.sleep(0.05)


@functools.lru_cache(maxsize=None)
def cgroups_work() -> bool:
    return all(os.access(CGROUP_ROOT / c, os.W_OK) for c in ("memory", "pids"))


@functools.lru_cache(maxsize=None)
def bwrap_works() -> bool:
    """True if bubblewrap is installed and can make an unprivileged sandbox on this machine."""
    if not shutil.which("bwrap"):
        return False
    try:
        result = subprocess.run(_base(256 << 20) + ["--", "true"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def student_edition(folder: Path) -> Path:
    """The lessons as students get them, in ``folder/notebooks`` (scripts/student_branch.py's rule)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("student_branch", STUDENT_BRANCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    notebooks = folder / "notebooks"
    notebooks.mkdir(parents=True)
    for path in sorted((PROJECT_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        (notebooks / path.name).write_text(module.student_notebook(path.read_text(encoding="utf-8")), encoding="utf-8")
    return notebooks


def _base(tmp_bytes: int) -> list[str]:
    args = ["bwrap", "--unshare-user", "--cap-drop", "ALL", "--disable-userns", "--new-session",
            "--unshare-pid", "--as-pid-1", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--die-with-parent",
            "--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for name in ETC:
        if (Path("/etc") / name).exists():
            args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    return args + ["--proc", "/proc", "--dev", "/dev", "--size", str(tmp_bytes), "--tmpfs", "/dev/shm",
                   "--size", str(tmp_bytes), "--tmpfs", "/tmp"]


def command(argv: list[str], limits: Limits, notebooks: Path, files: dict[Path, Path] | None = None) -> list[str]:
    """``argv`` in the sandbox; ``notebooks``: the student edition's lessons; ``files``: host path -> path inside."""
    args = _base(limits.tmp_bytes)
    python = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), Path(sys.executable).resolve().parent.parent}
    for path in sorted(p for p in python if not str(p).startswith("/usr")):
        args += ["--ro-bind", str(path), str(path)]
    for part in EDITION_PARTS + GRADER_PARTS:
        args += ["--ro-bind", str(PROJECT_ROOT / part), str(PROJECT_ROOT / part)]
    args += ["--ro-bind", str(notebooks), str(PROJECT_ROOT / "notebooks")]
    for source, target in (files or {}).items():
        args += ["--ro-bind", str(source), str(target)]
    args += ["--dir", str(INSIDE), "--dir", str(INSIDE / "home"), "--dir", str(INSIDE / "outputs"),
             "--remount-ro", "/", "--chdir", str(INSIDE), "--"]
    return args + argv


def environment() -> dict[str, str]:
    """A small environment: its own HOME, outputs and temp folder inside the sandbox, the network guard, one thread."""
    return {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(INSIDE / "home"),
        "TMPDIR": str(INSIDE),
        "COURSE_OUTPUT_DIR": str(INSIDE / "outputs"),
        "COURSE_OFFLINE": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(INSIDE / "home"),
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OMP_WAIT_POLICY": "PASSIVE",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "LANG": "C.UTF-8",
        "PYTHONPATH": f"{PROJECT_ROOT}:{NETGUARD}",
    }
