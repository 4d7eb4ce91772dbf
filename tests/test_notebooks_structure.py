"""Every lesson notebook has the shape the course promises (the editions build then runs each one).

The checks read each lesson **as git stores it**: the working copy passed through the
repository's nbstripout filter (``.gitattributes``; ``make setup`` defines it). So a student who
runs a lesson and presses Ctrl+S has not broken anything: the outputs never reach git, and the
tests agree. Whether the committed files are free of outputs is checked on what HEAD holds.
"""
from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from lesson_cells import cell_source, cell_tags  # noqa: E402  (scripts/lesson_cells.py: one reading of a cell)
from helpers.selfcheck import SELF_CHECK_PASSED  # noqa: E402
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CHECK_CALL = re.compile(r"""\bcheck\(\s*["'](\d\d)\.(M?\d+)["']\s*,\s*(\w+)""")  # NN.k or NN.Mk
STUDENT_ANSWER = re.compile(r"^(answer_\w+)\s*=\s*None\b", re.M)


def as_git_stores(text: str) -> dict:
    """The notebook JSON as the nbstripout filter hands it to git (outputs and counts stripped)."""
    from nbstripout import strip_output
    import nbformat

    nb = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
    return strip_output(nb, keep_output=False, keep_count=False, keep_id=True)


def _git(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, encoding="utf-8")


def _in_git() -> bool:
    return shutil.which("git") is not None and _git("rev-parse", "--git-dir").returncode == 0


def lesson_problems(name: str, nb: dict) -> list[str]:
    """What is wrong with a lesson's shape (empty list: nothing). ``name`` is ``NN_title.ipynb``."""
    problems: list[str] = []
    cells = nb["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    markdown = "\n".join(cell_source(c) for c in cells if c["cell_type"] == "markdown")
    if any(c.get("outputs") or c.get("execution_count") for c in code):
        problems.append("outputs must not be committed")
    if not cell_source(cells[0]).startswith(f"# {name[:2]}."):
        problems.append("first cell is the '# NN. title' heading")
    for heading in ("학습 목표", "자기 점검", "연습 문제", "정리"):
        if heading not in markdown:
            problems.append(f"missing section {heading}")
    self_check = [c for c in code if SELF_CHECK_PASSED in cell_source(c)]
    if not (len(self_check) == 1 and cell_source(self_check[0]).count("assert ") >= 5):
        problems.append("one self-check cell ('자기 점검 통과') with at least 5 asserts")
    text = "\n".join(cell_source(c) for c in cells)
    for match in re.finditer(r"pretrained\s*=\s*True|\.next\(\)|(?<![\w.~])/(tmp|work|root|home)/\S*", text):
        problems.append(f"{match.group(0)!r}: no pretrained=True, no iterator .next method call, no absolute paths in a lesson")
    for match in re.finditer(r"torch\.load\(([^)]*)\)", text):
        if "weights_only=True" not in match.group(1):
            problems.append(f"{match.group(0)} without weights_only=True")
    if nb.get("metadata", {}).get("kernelspec", {}).get("name") != "dl-course":
        problems.append("metadata.kernelspec.name must be 'dl-course'")
    problems += exercise_problems(name, cells)
    return problems


def exercise_problems(name: str, cells: list[dict]) -> list[str]:
    """Each exercise is four cells: task (markdown), student cell (``answer_k = None``), solution
    (tagged ``solution``), check cell (``check("NN.k", answer_k, ...)``); ids NN.1, NN.2, ... in order.
    A core-mechanism cell ("직접 구현") has the same four cells with ids NN.M1, NN.M2, ...
    (``answer_m1 = None``), numbered on their own. How many of each a lesson needs is
    tests/test_lesson_design.py's concern."""
    lesson = name[:2]
    problems: list[str] = []
    solutions = [i for i, c in enumerate(cells) if "solution" in cell_tags(c)]
    if not solutions:
        problems.append("at least one exercise with a solution cell (found none)")
    previous_check = -1
    numbers = {"": 0, "M": 0}
    for i in solutions:
        student = cells[i - 1] if i >= 1 else None
        check = cells[i + 1] if i + 1 < len(cells) else None
        calls = CHECK_CALL.findall(cell_source(check)) if check and check["cell_type"] == "code" else []
        kind = "M" if calls and calls[0][1].startswith("M") else ""
        numbers[kind] += 1
        number = f"{kind}{numbers[kind]}"
        where = f"{'mechanism' if kind else 'exercise'} {lesson}.{number} (cell {i})"
        if cells[i]["cell_type"] != "code":
            problems.append(f"{where}: the solution cell must be a code cell")
        if student is None or student["cell_type"] != "code" or "solution" in cell_tags(student):
            problems.append(f"{where}: a student code cell must come right before the solution")
            continue
        answers = STUDENT_ANSWER.findall(cell_source(student))
        if not answers:
            problems.append(f"{where}: the student cell sets `answer_{number.lower()} = None  # TODO ...`")
        if not calls:
            problems.append(f'{where}: a check cell `check("{lesson}.{number}", answer_{number.lower()}, ...)` '
                            "must come right after the solution")
        else:
            lesson_id, k, variable = calls[0]
            if (lesson_id, k) != (lesson, number):
                problems.append(f'{where}: the check cell checks "{lesson_id}.{k}", expected "{lesson}.{number}"')
            if answers and variable not in answers:
                problems.append(f"{where}: the check cell passes {variable}, the student cell sets {answers}")
        if not any(c["cell_type"] == "markdown" for c in cells[previous_check + 1:i - 1]):
            problems.append(f"{where}: a markdown task must come before the student cell")
        previous_check = i + 1
    return problems


@pytest.fixture(scope="module")
def stored():
    return {p.name: as_git_stores(p.read_text(encoding="utf-8")) for p in NOTEBOOKS}


def test_there_are_lessons_and_readme_lists_them():
    assert len(NOTEBOOKS) >= 6
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        assert path.name in readme, f"README does not list {path.name}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_lesson_structure(path, stored):
    problems = lesson_problems(path.name, stored[path.name])
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_exercise_has_a_registered_check(path, stored):
    from helpers import exercises

    lesson = path.name[:2]
    ids = {f"{a}.{b}" for cell in stored[path.name]["cells"] for a, b, _ in CHECK_CALL.findall(cell_source(cell))}
    assert ids, "no check cell"
    importlib.import_module(f"helpers.exercises.lesson{lesson}")
    missing = sorted(ids - exercises.registered_ids(lesson))
    assert not missing, f"helpers/exercises/lesson{lesson}.py registers no check for {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_cell_has_an_id(path):
    # Without ids the nbstripout filter invents random ones at every `git add` (a diff that never
    # goes away). Fix: .venv/bin/python scripts/lesson_cells.py apply notebooks/NN_*.ipynb
    nb = json.loads(path.read_text(encoding="utf-8"))
    if (nb["nbformat"], nb["nbformat_minor"]) >= (4, 5):
        assert all("id" in c for c in nb["cells"]), f"cells without an id in {path.name}"


def test_the_shape_checks_can_fail():
    cells = [{"cell_type": "markdown", "metadata": {}, "source": "# 99. t\n## 학습 목표 자기 점검 연습 문제 정리"},
             {"cell_type": "markdown", "metadata": {}, "source": "task"},
             {"cell_type": "code", "metadata": {}, "source": "answer_1 = None  # TODO", "outputs": []},
             {"cell_type": "code", "metadata": {"tags": ["solution"]}, "source": "answer_1 = 3", "outputs": []},
             {"cell_type": "code", "metadata": {}, "source": 'check("99.1", answer_1)', "outputs": []},
             {"cell_type": "code", "metadata": {}, "source": "assert 1\nassert 2\nassert 3\nassert 4\nassert 5\n"
              "print('자기 점검 통과')", "outputs": []}]
    good = {"cells": cells, "metadata": {"kernelspec": {"name": "dl-course"}}}
    assert lesson_problems("99_t.ipynb", good) == []
    wrong_id = json.loads(json.dumps(good))
    wrong_id["cells"][4]["source"] = 'check("99.2", answer_1)'
    assert any('expected "99.1"' in p for p in lesson_problems("99_t.ipynb", wrong_id))
    no_student = json.loads(json.dumps(good))
    no_student["cells"][2]["source"] = "x = 1"
    assert any("answer_1 = None" in p for p in lesson_problems("99_t.ipynb", no_student))
    with_outputs = json.loads(json.dumps(good))
    with_outputs["cells"][2]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "hi"}]
    assert "outputs must not be committed" in lesson_problems("99_t.ipynb", with_outputs)
    mechanism = [{"cell_type": "markdown", "metadata": {}, "source": "직접 구현"},
                 {"cell_type": "code", "metadata": {}, "source": "answer_m1 = None  # TODO", "outputs": []},
                 {"cell_type": "code", "metadata": {"tags": ["solution"]}, "source": "answer_m1 = f", "outputs": []},
                 {"cell_type": "code", "metadata": {}, "source": 'check("99.M1", answer_m1)', "outputs": []}]
    with_mechanism = json.loads(json.dumps(good))
    with_mechanism["cells"][1:1] = mechanism                     # a mechanism before exercise 99.1: numbered apart
    assert lesson_problems("99_t.ipynb", with_mechanism) == []
    with_mechanism["cells"][4]["source"] = 'check("99.M2", answer_m1)'
    assert any('expected "99.M1"' in p for p in lesson_problems("99_t.ipynb", with_mechanism))


# ----------------------------------------------------------------------------- git and saved lessons

@pytest.mark.skipif(not _in_git(), reason="not a git clone")
def test_committed_lessons_hold_no_outputs():
    tracked = _git("ls-files", "notebooks").stdout.split()
    committed = [p for p in tracked if re.match(r"notebooks/\d\d_.*\.ipynb$", p)]
    for path in committed:
        shown = _git("show", f"HEAD:{path}")
        if shown.returncode:  # added to the index, not committed yet
            continue
        cells = json.loads(shown.stdout)["cells"]
        assert not any(c.get("outputs") or c.get("execution_count") for c in cells), f"HEAD:{path} has outputs"


@pytest.mark.skipif(not _in_git(), reason="not a git clone")
def test_outputs_cannot_enter_git_here():
    attribute = _git("check-attr", "filter", "--", "notebooks/01_workflow_vgg16.ipynb").stdout
    assert attribute.strip().endswith("nbstripout"), ".gitattributes must name the nbstripout filter for *.ipynb"
    clean = _git("config", "--get", "filter.nbstripout.clean").stdout
    assert "nbstripout" in clean, (
        "이 저장소에 nbstripout 필터가 설정되지 않았습니다. `make setup` 을 실행하거나 다음을 실행하세요: "
        "make git-filter")
