"""Every lesson runs from top to bottom on this computer, as "Run All" runs it (students' copy).

Each lesson in ``notebooks/`` is executed in a fresh "Python (dl-course)" kernel on the CPU,
without changing the notebook file; what it writes goes to a temporary folder, not to your
``outputs/``. A lesson passes when every cell runs, its self-check prints "자기 점검 통과", and
every exercise check prints its verdict: "아직 풀지 않음" where the answer is still ``None``,
"통과" where you answered (a wrong answer stops the lesson with "틀림" and a hint).
``make test LESSONS=05`` runs one lesson (``LESSONS="04 05"``: some).

(On the instructor's repository this file is ``scripts/templates/student/tests/test_lessons.py``;
``scripts/student_branch.py`` puts it on the branch ``student``.)
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
from helpers.exercises import NOT_SOLVED, PASSED
from helpers.selfcheck import SELF_CHECK_PASSED
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
WANTED = set(os.environ.get("COURSE_LESSONS", "").split())
LESSONS = [p for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")) if not WANTED or p.name[:2] in WANTED]
CHECK_CALL = re.compile(r"""\bcheck\(\s*["'](\d\d\.M?\d+)["']\s*,\s*(\w+)""")  # check("05.1", answer_1, ...)


def expected_verdicts(code: str) -> dict[str, str]:
    """Exercise id -> the verdict its check should print: 아직 풀지 않음 while the last value given to
    the answer is ``None`` (as the lesson hands it out), else 통과."""
    expected = {}
    for exercise_id, answer in CHECK_CALL.findall(code):
        values = re.findall(rf"^{answer}\s*=\s*(\S+)", code, re.M)
        expected[exercise_id] = NOT_SOLVED if values and values[-1] == "None" else PASSED
    return expected


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name[:2])
def test_lesson_runs(path, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path))  # your own checkpoints and logs stay as they are
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=900, kernel_name="dl-course",
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except CellExecutionError as error:
        pytest.fail(f"{path.name}: 실행하다 멈췄습니다. 노트북에서 이 셀을 확인하세요:\n{error}", pytrace=False)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    printed = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert SELF_CHECK_PASSED in printed, f"{path.name}: 자기 점검 셀이 '{SELF_CHECK_PASSED}'를 출력하지 않았습니다."
    expected = expected_verdicts(code)
    shown = {i: v for i, v in expected.items() if f"[{i}] {v}" in printed}
    assert expected and shown == expected, (
        f"{path.name}: 연습 문제 확인 결과가 예상과 다릅니다. 예상 {expected}, 출력된 것 {shown}")
