"""The lessons as tests see them, and the one place where tests execute them.

``make test`` executes each lesson twice, here, from ``tests/test_lessons.py``:

- **instructor**: the lesson with its solutions, on the stand-in GPU (``tests/fakegpu``) under
  the network guard (``classroom/netguard``). It proves the GPU path (every tensor where it belongs,
  the backward pass on the device), the self-check, every exercise check ("통과"); the mutation
  tests of ``tests/mutations.py`` then run in the same kernel. Its executed notebook is the
  instructor edition (the stand-in computes with the CPU's kernels: the CPU's numbers, bit for bit).
- **student**: the solution cells removed, on the CPU with PyTorch's default thread count (as a
  student's kernel has it), under the network guard: the plain CPU path a student runs, every exercise check says "아직 풀지 않음" and the rest of the lesson still runs.
  Its executed notebook is the student edition.

Both are checked cell by cell as ``pytest --nbval-lax`` checks (``handouts.execute``): outputs
are not compared, any error fails and names the lesson and the cell. The executed notebooks go
to ``outputs/lessons/<edition>/`` where ``scripts/handouts.py`` renders them. ``COURSE_LESSONS``
("05" or "04 05") limits the lessons (``make test LESSONS=05``).
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
TRAINS = re.compile(r"\bfit\(|\.backward\(|torch\.optim\.")  # a lesson that trains a network
FAKEGPU = ROOT / "tests" / "fakegpu"
NETGUARD = ROOT / "classroom" / "netguard"
RUNS = ROOT / "outputs" / "runs"  # what each run writes (checkpoints, logs): outputs/runs/<edition>/NN/


def selected() -> list[Path]:
    """The lessons this test run covers: all, or those named in ``COURSE_LESSONS`` ("05", "04 05")."""
    wanted = {n.zfill(2) for n in re.split(r"[\s,]+", os.environ.get("COURSE_LESSONS", "").strip()) if n}
    if not wanted:
        return LESSONS
    paths = [p for p in LESSONS if p.name[:2] in wanted]
    missing = wanted - {p.name[:2] for p in paths}
    assert not missing, f"COURSE_LESSONS names lessons that do not exist: {sorted(missing)}"
    return paths


def load_handouts():
    """``scripts/handouts.py`` as a module (one copy per process: its dataclasses are looked up by name)."""
    if "handouts" not in sys.modules:
        spec = importlib.util.spec_from_file_location("handouts", ROOT / "scripts" / "handouts.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["handouts"] = module
        spec.loader.exec_module(module)
    return sys.modules["handouts"]


def lesson_code(path: Path) -> str:
    """All code cells of a lesson, as git stores them."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def stand_in_env(log: Path | None = None, net_log: Path | None = None) -> dict:
    """The environment of a process with the stand-in GPU (and, with ``net_log``, the network
    guard too: the lessons' GPU path must make no network attempt either)."""
    paths = [str(FAKEGPU)] + ([str(NETGUARD)] if net_log else [])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths + [os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
               MPLBACKEND="Agg")
    if log is not None:
        env["COURSE_FAKEGPU_LOG"] = str(log)
    if net_log is not None:
        env["COURSE_NETGUARD_LOG"] = str(net_log)
    return env


def kernel_env(key: str, run_dir: Path) -> dict:
    """The kernel's environment for an edition: the instructor's on the stand-in GPU, both under
    the network guard, each writing only under ``run_dir``."""
    logs = {"fakegpu": run_dir / "fakegpu.jsonl", "netguard": run_dir / "netguard.log"}
    if key == "instructor":
        env = stand_in_env(logs["fakegpu"], logs["netguard"])
    else:
        env = dict(os.environ, MPLBACKEND="Agg", COURSE_NETGUARD_LOG=str(logs["netguard"]),
                   PYTHONPATH=os.pathsep.join([str(NETGUARD), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
        env.pop("COURSE_FAKEGPU_LOG", None)
        # The student's kernel: PyTorch's default thread count, as `make lab`, Binder and Colab give it
        # (the test run's one-thread setting would hide claims that change with the order of float sums).
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env.pop(name, None)
    env["COURSE_OUTPUT_DIR"] = str(run_dir)  # this run's checkpoints and logs
    return env


def run_edition(path: Path, key: str, executed: Path, after=None) -> tuple[object, dict]:
    """Execute one edition of lesson ``path`` (see the module docstring); ``after(client, nb)``
    runs in the same kernel once every cell has run. Writes the executed notebook to
    ``executed/<key>/<name>.ipynb`` and returns it with what ran: ``{"seconds", "fakegpu": [the
    stand-in's records], "netguard": blocked attempts}``. Raises ``handouts.CellFailed`` naming
    the lesson and the cell."""
    handouts = load_handouts()
    target = executed / key / path.name
    target.unlink(missing_ok=True)  # never leave a stale edition behind a failing run
    run_dir = RUNS / key / path.name[:2]
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    nb = handouts.edition_notebook(nbformat.read(path, as_version=4), key)
    name = f"{path.relative_to(ROOT)} ({key} edition{', stand-in GPU' if key == 'instructor' else ', CPU'})"
    seconds, cpu, rss = handouts.execute(nb, env=kernel_env(key, run_dir), name=name,
                                         after=None if after is None else (lambda client: after(client, nb)))
    log, net_log = run_dir / "fakegpu.jsonl", run_dir / "netguard.log"
    ran = {"seconds": seconds,
           "fakegpu": [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()] if log.exists() else [],
           "netguard": net_log.read_text(encoding="utf-8").strip() if net_log.exists() else ""}
    nb.metadata["course_run"] = {"edition": key, "device": handouts.STAND_IN if key == "instructor" else "cpu",
                                 "seconds": round(seconds, 1), "cpu_seconds": cpu, "peak_rss_mib": rss}
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    nbformat.write(nb, partial)
    partial.replace(target)
    return nb, ran


def run_cell(client, nb, source: str):
    """Run ``source`` in ``client``'s kernel as a throw-away cell (not kept in ``nb``); the error
    output (a dict with ``ename``, ``evalue``) or None."""
    return run_cell_output(client, nb, source)[1]


def run_cell_output(client, nb, source: str) -> tuple[str, dict | None]:
    """``run_cell``, also returning what the cell printed (stdout and displayed text)."""
    from nbclient.exceptions import CellExecutionError

    cell = nbformat.v4.new_code_cell(source)
    nb.cells.append(cell)
    error = None
    try:
        client.execute_cell(cell, len(nb.cells) - 1, store_history=False)
    except CellExecutionError as failed:
        error = {"ename": failed.ename, "evalue": str(failed.evalue)}
    finally:
        nb.cells.pop()
    text = "".join(o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in cell.get("outputs", []))
    return text, error
