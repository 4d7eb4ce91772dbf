"""No lesson is executed more than twice per ``make test`` (issue 19), counted from the kernels.

Every kernel started during ``make test`` logs the cells it runs (``tests/kernel_log.py``,
``COURSE_KERNEL_LOG``). A lesson counts as executed once per kernel that ran any code cell found
in that lesson and in no other (so the shared first cell, the environment check, counts for
none: the browser test, which runs only that cell in JupyterLab, executes no lesson). Solution
cells (tag ``solution``) count for none either: the exercise fixtures run answers such as
``answer_1 = "b"`` in every instructor kernel, and another lesson's solution may read the same. The mutation
tests run in the instructor run's kernel and add nothing. ``make test`` runs this file last, with
``COURSE_REQUIRE_HANDOUTS=1``: then each lesson of the run must have been executed exactly twice
(instructor and student edition), which also proves the log works.
"""
from __future__ import annotations

import collections
import hashlib
import json
import os
from pathlib import Path

import nbformat
import pytest

from lesson_runs import LESSONS, selected

MAX_RUNS = 2


def _sha1(source: str) -> str:
    return hashlib.sha1(source.strip().encode()).hexdigest()


def distinctive_cells(paths: list[Path]) -> dict[str, str]:
    """sha1 of a code cell's source -> the lesson it belongs to, for cells only one lesson has
    (solution cells excluded: see the module docstring)."""
    owners: dict[str, set[str]] = collections.defaultdict(set)
    for path in paths:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code" and cell.source.strip() and "solution" not in cell.metadata.get("tags", []):
                owners[_sha1(cell.source)].add(path.name[:2])
    return {sha: next(iter(lessons)) for sha, lessons in owners.items() if len(lessons) == 1}


def executions(records: list[dict], cells: dict[str, str]) -> dict[str, int]:
    """Lesson -> how many kernels ran at least one of its distinctive cells."""
    kernels: dict[str, set[int]] = collections.defaultdict(set)
    for record in records:
        lesson = cells.get(record["sha1"])
        if lesson is not None:
            kernels[lesson].add(record["pid"])
    return {lesson: len(pids) for lesson, pids in sorted(kernels.items())}


def test_counting_kernels_not_cells():
    """Two cells of one kernel are one execution; the shared first cell counts for no lesson."""
    a, b = LESSONS[0], LESSONS[1]
    cells = distinctive_cells([a, b])
    code = [c.source for c in nbformat.read(a, as_version=4).cells if c.cell_type == "code"]
    mine = [s for s in code if _sha1(s) in cells]
    shared = [s for s in code if _sha1(s) not in cells]
    assert len(mine) >= 2 and shared, "expected distinctive cells and the shared first cell"
    records = ([{"pid": 1, "sha1": _sha1(s)} for s in mine] + [{"pid": 2, "sha1": _sha1(mine[0])}]
               + [{"pid": 3, "sha1": _sha1(shared[0])}])
    assert executions(records, cells) == {a.name[:2]: 2}
    records.append({"pid": 4, "sha1": _sha1(mine[-1])})
    assert executions(records, cells)[a.name[:2]] == 3  # a third run is seen


def test_solution_cells_count_for_no_lesson():
    """The fixtures' answers (``answer_1 = "b"``) run in every instructor kernel: no lesson owns them."""
    cells = distinctive_cells(LESSONS)
    solutions = [c.source for path in LESSONS for c in nbformat.read(path, as_version=4).cells
                 if c.cell_type == "code" and "solution" in c.metadata.get("tags", [])]
    assert solutions, "expected solution cells in the lessons"
    assert not [s for s in solutions if _sha1(s) in cells]


def test_no_lesson_executed_more_than_twice():
    log = os.environ.get("COURSE_KERNEL_LOG")
    required = os.environ.get("COURSE_REQUIRE_HANDOUTS") == "1"
    if not log or not Path(log).exists():
        if required:
            pytest.fail(f"no kernel log {log!r}: make test sets COURSE_KERNEL_LOG (tests/kernel_log.py)")
        pytest.skip("no kernel log (make test writes one)")
    records = [json.loads(line) for line in Path(log).read_text(encoding="utf-8").splitlines() if line.strip()]
    counts = executions(records, distinctive_cells(LESSONS))
    assert all(n <= MAX_RUNS for n in counts.values()), f"lessons executed more than {MAX_RUNS} times: {counts}"
    if required:
        assert counts == {p.name[:2]: MAX_RUNS for p in selected()}, \
            f"expected each lesson of this run executed exactly twice (instructor, student): {counts}"


def test_no_test_relies_on_xdist_groups():
    """`make test` spreads tests over two workers (``--dist load``). pytest-xdist 3.8's ``xdist_group``
    marks do nothing under pytest 9 (it renames ``item._nodeid``, which pytest 9 no longer reads), so
    tests that share a costly module fixture through such a group each ran it once per worker: the
    grading run took two workers for 2.5 minutes. One test with subtests runs it once anywhere."""
    here = Path(__file__).resolve().parent
    mark = "mark.xdist_" + "group"  # not spelled out, so this file does not find itself
    users = [p.name for p in sorted(here.rglob("*.py")) if mark in p.read_text(encoding="utf-8")]
    assert not users, f"{users}: {mark} has no effect here; make the shared work one test with subtests"
