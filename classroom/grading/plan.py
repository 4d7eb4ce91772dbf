"""What runs for one submission: its own cells, with the lesson's pristine check cells put back.

A *check cell* is a code cell that only calls ``check("NN.x", ...)`` (and may import ``check``):
found by reading the code, so lessons can change freely. In the lesson a check cell may also begin
with code that measures what the check compares with (a predict exercise measures only after the
prediction): that *setup* runs as the lesson wrote it, then the calls. In a submission check cells,
and cells with a lesson check cell's id, are removed wherever they are (moved, duplicated, edited);
the lesson's own check cells are inserted instead:

1. where the submission had its check cell for that exercise, if that is after the answer cell
   (the cell before the check cell in the lesson: the solution cell if the submission kept it,
   else the student's TODO cell; found by the cell ids Jupyter keeps);
2. else right after the answer cell; else where the submission had a check cell for it;
3. else at the end of the notebook.

>>> lesson = pristine_lesson("05")
>>> [c.ids for c in lesson.checks]
[['05.M1'], ['05.1'], ['05.2'], ['05.3']]
"""
from __future__ import annotations

import ast
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from helpers.paths import PROJECT_ROOT

EXERCISE_ID = re.compile(r"\d\d\.[A-Za-z0-9]+")
SOLUTION_TAG = "solution"


class SubmissionError(Exception):
    """The submission cannot be graded at all (the message, in Korean, says why)."""


def notebooks_dir() -> Path:
    return PROJECT_ROOT / "notebooks"


def lesson_path(lesson: str) -> Path:
    found = sorted(notebooks_dir().glob(f"{lesson}_*.ipynb"))
    if not found:
        raise SystemExit(f"레슨 {lesson}을 찾을 수 없습니다 ({notebooks_dir()}/{lesson}_*.ipynb).")
    return found[0]


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _tags(cell: dict) -> list:
    tags = cell.get("metadata", {}).get("tags", []) if isinstance(cell.get("metadata"), dict) else []
    return tags if isinstance(tags, list) else []


def _check_id(node) -> str | None:
    """The id of ``check("NN.x", ...)`` if ``node`` is such a statement."""
    if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name) and node.value.func.id == "check"
            and node.value.args and isinstance(node.value.args[0], ast.Constant)
            and isinstance(node.value.args[0].value, str) and EXERCISE_ID.fullmatch(node.value.args[0].value)):
        return node.value.args[0].value
    return None


def _is_check_import(node) -> bool:
    return isinstance(node, ast.ImportFrom) and node.module == "helpers.exercises"


def split_check_cell(source: str) -> tuple[str, str, list[str]]:
    """``(setup, calls, ids)`` of a lesson's check cell: the code before its trailing ``check`` calls,
    those calls, and their ids (``("", "", [])`` if the cell does not end with check calls, or calls
    ``check`` anywhere else)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return "", "", []
    start = len(tree.body)
    while start > 0 and (_check_id(tree.body[start - 1]) or _is_check_import(tree.body[start - 1])):
        start -= 1
    ids = [i for i in map(_check_id, tree.body[start:]) if i]
    setup = tree.body[:start]
    calls_check = any(isinstance(n, ast.Name) and n.id == "check" and isinstance(n.ctx, ast.Load)
                      for node in setup for n in ast.walk(node))
    if not ids or calls_check:
        return "", "", []
    lines = source.splitlines(keepends=True)
    cut = tree.body[start].lineno - 1 if setup else 0
    return "".join(lines[:cut]), "".join(lines[cut:]), ids


def check_ids(source: str) -> list[str]:
    """The exercise ids a check cell checks, in order (``[]`` if the cell is not a check cell: it
    must hold nothing but ``check`` calls and the import of ``check``)."""
    setup, _, ids = split_check_cell(source)
    return [] if setup.strip() else ids


@dataclass
class CheckCell:
    ids: list[str]
    source: str         # the check calls
    setup: str          # the lesson's code before them in the same cell ("" if none)
    cell_id: str | None
    anchors: list[str]  # ids of the code cells before it, nearest first, up to the first non-solution one


@dataclass
class Lesson:
    number: str
    path: Path
    checks: list[CheckCell]
    markdown: set[str]

    @property
    def ids(self) -> list[str]:
        return [i for c in self.checks for i in c.ids]


def _markdown(cells: list[dict]) -> set[str]:
    return {_source(c).strip() for c in cells if c.get("cell_type") == "markdown" and _source(c).strip()}


def read_lesson(path: Path) -> Lesson:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    checks = []
    for index, cell in enumerate(cells):
        setup, calls, ids = split_check_cell(_source(cell)) if cell["cell_type"] == "code" else ("", "", [])
        if not ids:
            continue
        anchors = []
        for before in reversed(cells[:index]):
            if before["cell_type"] != "code":
                continue
            if before.get("id"):
                anchors.append(before["id"])
            if SOLUTION_TAG not in _tags(before):
                break
        checks.append(CheckCell(ids, calls, setup, cell.get("id"), anchors))
    return Lesson(path.name[:2], path, checks, _markdown(cells))


def pristine_lesson(lesson: str) -> Lesson:
    return read_lesson(lesson_path(lesson))


def _match(submission_markdown: set[str], lesson_markdown: set[str]) -> float:
    return len(submission_markdown & lesson_markdown) / max(1, len(lesson_markdown))


@dataclass
class Step:
    kind: str            # "code" (the submission's cell) or "check" (the lesson's pristine check cell)
    source: str
    cell: int | None     # the cell's number in the submission (1-based), None for inserted checks
    ids: list[str] = field(default_factory=list)


@dataclass
class Plan:
    lesson: str
    steps: list[Step]
    notes: list[str]

    def to_json(self) -> str:
        return json.dumps({"lesson": self.lesson, "steps": [asdict(s) for s in self.steps], "notes": self.notes},
                          ensure_ascii=False)


def read_submission(data: bytes) -> list[dict]:
    """The submission's cells; ``SubmissionError`` if it is not a notebook."""
    try:
        notebook = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SubmissionError(f"노트북 파일을 읽을 수 없습니다 (JSON 오류: {error})") from None
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
        raise SubmissionError("노트북 형식이 아닙니다 ('cells' 목록이 없습니다)")
    return cells


def make_plan(data: bytes, lesson: Lesson, others: dict[str, Lesson]) -> Plan:
    """The run plan of one submission (its raw bytes) for ``lesson``; ``others``: every lesson, to name a mix-up."""
    cells = read_submission(data)
    mine = _markdown(cells)
    score = _match(mine, lesson.markdown)
    if score < 0.3:
        best = max(others.values(), key=lambda other: _match(mine, other.markdown), default=None)
        if best is not None and best.number != lesson.number and _match(mine, best.markdown) >= 0.5:
            raise SubmissionError(f"다른 레슨({best.number})의 노트북입니다. 레슨 {lesson.number}의 노트북을 내야 합니다")
        raise SubmissionError(f"레슨 {lesson.number}의 노트북으로 보이지 않습니다 (레슨의 설명 셀이 대부분 없습니다)")
    notes: list[str] = []
    steps: list[Step] = []
    where_checked: dict[str, list[int]] = {}  # exercise id -> indexes in steps where the submission checked it
    position: dict[str, int] = {}        # cell id -> index in steps (after that cell)
    seen_check_cells = 0
    for number, cell in enumerate(cells, start=1):
        if cell.get("cell_type") != "code":
            continue
        source = _source(cell)
        ids = check_ids(source)
        if ids or (cell.get("id") and cell.get("id") in {c.cell_id for c in lesson.checks}):
            seen_check_cells += 1
            for i in ids:
                where_checked.setdefault(i, []).append(len(steps))
            continue  # never trusted: the lesson's own check cell goes in instead
        steps.append(Step("code", source, number))
        if isinstance(cell.get("id"), str):
            position[cell["id"]] = len(steps)
    inserts: list[tuple[int, int, Step]] = []
    for order, check in enumerate(lesson.checks):
        found = [position[a] for a in check.anchors if a in position]
        own = sorted(p for i in check.ids for p in where_checked.get(i, []))
        if found:  # where the student checked it, if that is after the answer cell, else right after it
            at = next((p for p in own if p >= max(found)), max(found))
        elif own:
            at = own[0]
            notes.append(f"{', '.join(check.ids)}: 답 셀을 찾지 못해 제출물의 확인 셀 자리에서 확인했습니다")
        else:
            at = len(steps)
            notes.append(f"{', '.join(check.ids)}: 답 셀과 확인 셀을 찾지 못해 노트북 끝에서 확인했습니다")
        cell = [Step("code", check.setup, None)] if check.setup.strip() else []
        inserts.append((at, order, cell + [Step("check", check.source, None, list(check.ids))]))
    for at, _, cell in sorted(inserts, key=lambda t: (t[0], t[1]), reverse=True):
        steps[at:at] = cell
    if seen_check_cells != len(lesson.checks):
        notes.append(f"확인 셀이 {len(lesson.checks)}개가 아니라 {seen_check_cells}개였습니다 "
                     "(지워지거나 복사된 확인 셀은 레슨의 원래 확인 셀로 바꿔 채점했습니다)")
    return Plan(lesson.number, steps, notes)
