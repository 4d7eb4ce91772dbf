"""course-grade on lesson 05 (the fastest lesson): correct, partly correct, empty and adversarial submissions.

All submissions are built here from the lesson itself (instructor notebook, student edition), so the
test follows the lesson when it changes. Every adversarial one aims at folders this test creates
(canaries), never at a real folder. One grading run (the submissions in parallel, as in class); the
assertions then read its table, its feedback files and the files before and after.

Eleven submissions, each one kind of student: the harmful cells a student might run (writing and
deleting files, reading a classmate's submission, the network, 10 GiB, an infinite loop, an output
flood) share one notebook, since each must leave the rest of that notebook graded anyway; the two that
end their process (one that ignores the time limit, one that crashes) and the one that tampers with
the checks have their own.
"""
from __future__ import annotations

import ast
import copy
import csv
import hashlib
import json
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

from helpers.exercises import NOT_SOLVED, PASSED, WRONG
from helpers.grading import FAILED, grade, plan, sandbox

ROOT = Path(__file__).resolve().parent.parent
LESSON = "05"

# One test grades once and checks everything, one subtest per concern (reported by name when it fails):
# tests sharing a module fixture would land on both pytest-xdist workers and grade twice, each seeing
# the other's temporary folders (xdist 3.8's `xdist_group` marks have no effect under pytest 9).
pytestmark = pytest.mark.skipif(not sandbox.bwrap_works(),
                                reason="needs bubblewrap (sudo apt-get install bubblewrap; .ci/run installs it)")


def _lesson() -> dict:
    return json.loads(plan.lesson_path(LESSON).read_text(encoding="utf-8"))


def _code(source: str, **extra) -> dict:
    return {"cell_type": "code", "execution_count": None, "id": extra.get("id", uuid.uuid4().hex[:8]),
            "metadata": {}, "outputs": [], "source": source}


def _is_check(cell) -> bool:
    return cell["cell_type"] == "code" and bool(plan.check_ids("".join(cell["source"])))


def _student(nb: dict) -> dict:
    nb = copy.deepcopy(nb)
    nb["cells"] = [c for c in nb["cells"] if "solution" not in c.get("metadata", {}).get("tags", [])]
    return nb


def _with(nb: dict, cells: list[dict], at: int | None = None) -> dict:
    """``nb`` with ``cells`` inserted before its first code cell after the setup (``at``) or at the end."""
    nb = copy.deepcopy(nb)
    if at is None:
        nb["cells"].extend(cells)
    else:
        nb["cells"][at:at] = cells
    return nb


def _after_imports(nb: dict) -> int:
    """Index just after the lesson's second code cell (the first cell and the imports)."""
    code = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"]
    return code[1] + 1


def _answer_name(nb: dict, exercise_id: str) -> str:
    cell = next(c for c in nb["cells"] if _is_check(c) and exercise_id in plan.check_ids("".join(c["source"])))
    for node in ast.parse("".join(cell["source"])).body:
        if isinstance(node, ast.Expr) and node.value.args[0].value == exercise_id:
            return node.value.args[1].id
    raise AssertionError(exercise_id)


def _before_check(nb: dict, exercise_id: str, source: str) -> dict:
    nb = copy.deepcopy(nb)
    index = next(i for i, c in enumerate(nb["cells"])
                 if _is_check(c) and exercise_id in plan.check_ids("".join(c["source"])))
    nb["cells"].insert(index, _code(source))
    return nb


def _tampering(empty: dict, answer_2: str, installed: list[Path], at: int) -> dict:
    """Wrong answers, and every trick to make them pass: a fake ``check``, a patched ``helpers.exercises``
    and ``torch.allclose``, writes to the installed files, a printed 통과 and a forged checker line."""
    tricks = _code(
        "import builtins, helpers.exercises as E, torch as _t\n"
        "fake = lambda exercise_id, *a, **k: print(f'[{exercise_id}] 통과') or '통과'\n"
        "check = builtins.check = E.check = fake\n"
        "for key in list(E._CHECKS):\n    E._CHECKS[key] = lambda *a, **k: None\n"
        "E.Wrong = type('Never', (Exception,), {})\n"
        "_t.allclose = lambda *a, **k: True\n"
        f"for target in {[str(p) for p in installed]!r}:\n"
        "    try:\n        open(target, 'a').write('\\nPASS_EVERYTHING = True\\n')\n"
        "    except OSError as error:\n        print('BLOCKED', type(error).__name__)\n"
        "print('GRADER-DATA {\"05.1\": {\"verdict\": \"통과\"}}')")
    nb = _with(empty, [tricks], at)
    nb = _before_check(nb, "05.1", "def my_softmax(x, dim=1):\n    return torch.exp(x) / torch.exp(x).sum(dim=dim, keepdim=True)\n"
                                   "answer_1 = my_softmax\nprint('[05.1] 통과')")
    nb = _before_check(nb, "05.2", f"{answer_2} = [0.0, 1.0, 2.0, 3.0]\nprint('[05.2] 통과')")
    nb = _before_check(nb, "05.3", "def my_cross_entropy(logits, labels):\n    return torch.tensor(0.0)\n"
                                   "answer_3 = my_cross_entropy\nprint('[05.3] 통과')")
    return nb


def _snapshot(*folders: Path, files: tuple[Path, ...] = ()) -> dict[str, str]:
    state = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if "__pycache__" in path.parts:
                continue
            state[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
        state[str(folder)] = "exists" if folder.exists() else "missing"
    for path in files:
        state[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("grading")
    lesson = _lesson()
    empty = _student(lesson)
    ids = grade.exercise_ids(plan.pristine_lesson(LESSON))
    secret = f"SECRET-{uuid.uuid4().hex}"

    canary_tmp = tmp / "canary"                       # in /tmp: the sandbox's /tmp is its own
    canary_disk = ROOT / "outputs" / f"grading-canary-{uuid.uuid4().hex[:8]}"  # on disk, read-only to it
    for canary in (canary_tmp, canary_disk):
        canary.mkdir(parents=True)
        (canary / "keep.txt").write_text("do not touch\n")
    subs = tmp / "submissions"
    subs.mkdir()
    victim = _with(lesson, [{"cell_type": "markdown", "id": "secret", "metadata": {}, "source": secret}])
    answer_2 = _answer_name(lesson, "05.2")
    lesson05_file = ROOT / "helpers" / "exercises" / "lesson05.py"
    torch_init = Path(__import__("torch").__file__)
    at = _after_imports(lesson)
    submissions = {
        "2024001_정답": victim,
        "2024002_일부": _before_check(_before_check(lesson, "05.2", f"{answer_2} = ['틀린 답']"),
                                     "05.3", "answer_3 = None"),
        "2024003_빈칸": empty,
        "2024004_JSON": None,
        "2024005_다른레슨": json.loads(next(ROOT.glob("notebooks/08_*.ipynb")).read_text(encoding="utf-8")),
        "2024006_확인셀삭제": {**lesson, "cells": [c for c in lesson["cells"] if not _is_check(c)]},
        # every check cell twice, both copies moved to the end in reverse order
        "2024007_확인셀이동복제": {**lesson, "cells": [c for c in lesson["cells"] if not _is_check(c)]
                                  + [x for c in [c for c in lesson["cells"] if _is_check(c)][::-1]
                                     for x in (c, {**c, "id": uuid.uuid4().hex[:8]})]},
        # harmful cells right after the imports; each must cost that cell only, the rest is graded
        "2024008_해로운셀": _with(lesson, [
            _code("import shutil, pathlib\n"
                  f"for canary in [{str(canary_tmp)!r}, {str(canary_disk)!r}]:\n"
                  "    for attempt in (lambda: (pathlib.Path(canary) / 'pwned.txt').write_text('x'),\n"
                  "                    lambda: (pathlib.Path(canary) / 'keep.txt').unlink(),\n"
                  "                    lambda: shutil.rmtree(canary)):\n"
                  "        try:\n            attempt()\n            print('FILE DONE', canary)\n"
                  "        except Exception as error:\n            print('FILE BLOCKED', type(error).__name__)"),
            _code("import pathlib\n"
                  f"for path in [{str(subs / '2024001_정답.ipynb')!r}, {str(subs)!r}]:\n"
                  "    try:\n        p = pathlib.Path(path)\n"
                  "        print('PEEK READ', p.read_text() if p.is_file() else list(p.iterdir()))\n"
                  "    except Exception as error:\n        print('PEEK BLOCKED', type(error).__name__)"),
            _code("import socket, urllib.request\n"
                  "for attempt in (lambda: socket.create_connection(('93.184.215.14', 80), timeout=3),\n"
                  "                lambda: urllib.request.urlopen('http://example.org', timeout=3)):\n"
                  "    try:\n        attempt()\n        print('NET CONNECTED')\n"
                  "    except BaseException as error:\n        print('NET BLOCKED', type(error).__name__)"),
            _code("import torch\nbig = torch.ones(10 * 2**30, dtype=torch.uint8)"),
            _code("while True:\n    pass"),
            _code("for _ in range(50):\n    print('x' * 100_000)"),
        ], at),
        # swallows the time limit's interrupt: the sandbox is killed (sleeping, not spinning: no CPU wasted)
        "2024010_안멈춤": _with(lesson, [_code("import signal, time\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
                                             "while True:\n    try:\n        time.sleep(0.2)\n"
                                             "    except BaseException:\n        pass")], at),
        "2024016_크래시": _with(lesson, [_code("import os\nos._exit(3)")], at),
        "2024017_조작": _tampering(empty, answer_2, [lesson05_file, torch_init], at),
    }
    for name, nb in submissions.items():
        path = subs / f"{name}.ipynb"
        if nb is None:
            path.write_text('{"cells": [ {"cell_type": "code", "source": "oops"', encoding="utf-8")
        else:
            path.write_text(json.dumps(nb, ensure_ascii=False, indent=1), encoding="utf-8")
    (subs / "notes.txt").write_text("not a notebook\n")

    # what the submissions aim at and what the grader reads (other course files are read-only the same way)
    watched = (canary_tmp, canary_disk, subs, ROOT / "tests" / "netguard")
    watched_files = (torch_init, lesson05_file, ROOT / "helpers" / "exercises" / "__init__.py",
                     plan.lesson_path(LESSON), ROOT / "pyproject.toml")
    before = _snapshot(*watched, files=watched_files)
    temp_before = set(os.listdir(tempfile.gettempdir()))
    made: list[str] = []  # the grader's own temporary folders (another process may make its own meanwhile)
    mkdtemp = tempfile.mkdtemp

    def recording_mkdtemp(*args, **kwargs):
        path = mkdtemp(*args, **kwargs)
        made.append(path)
        return path
    out = tmp / "out"
    # 15 s a cell: lesson 05's slowest cell (the imports) takes 2.5 s on a quiet 2-core machine
    options = grade.Options(cell_timeout=15, timeout=300, check_timeout=30,
                            limits=sandbox.Limits(memory_bytes=3 << 30, cpu_seconds=300))
    tempfile.mkdtemp = recording_mkdtemp
    try:
        results = grade.grade_folder(LESSON, subs, out, options, jobs=len(os.sched_getaffinity(0)))
        after = _snapshot(*watched, files=watched_files)
        temp_after = set(os.listdir(tempfile.gettempdir()))
    finally:
        tempfile.mkdtemp = mkdtemp
        shutil.rmtree(canary_disk, ignore_errors=True)
    left = [p for p in made if os.path.exists(p)]
    yield {"results": {r.student: r for r in results}, "ids": ids, "out": out, "before": before, "after": after,
           "secret": secret, "temp_new": {n for n in temp_after - temp_before if n.startswith("course-grade-")},
           "temp_left": left, "temp_made": made,
           "subs": subs}


def _verdicts(graded, student) -> dict[str, str]:
    return {i: v for i, (v, _) in graded["results"][student].verdicts.items()}


def _correct_partial_and_empty(graded):
    ids = graded["ids"]
    assert {"05.1", "05.2", "05.3"} <= set(ids)
    assert _verdicts(graded, "2024001_정답") == dict.fromkeys(ids, PASSED)
    assert _verdicts(graded, "2024003_빈칸") == dict.fromkeys(ids, NOT_SOLVED)
    partial = _verdicts(graded, "2024002_일부")
    assert partial == {**dict.fromkeys(ids, PASSED), "05.2": WRONG, "05.3": NOT_SOLVED}


def _table_html_and_feedback(graded):
    out, ids = graded["out"], graded["ids"]
    with (out / "grades.csv").open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(graded["results"]) == 11  # notes.txt is not a submission
    row = next(r for r in rows if r["학생"] == "2024002_일부")
    assert row["05.2"] == WRONG and row["05.3"] == NOT_SOLVED and row["통과 수"] == str(len(ids) - 2)
    assert next(r for r in rows if r["학생"] == "2024004_JSON")["05.1"].startswith(f"{FAILED} (")
    page = (out / "grades.html").read_text(encoding="utf-8")
    assert "<script>" in page and "http" not in page.split("<body>")[1]  # sortable, offline: no CDN
    assert 'lang="ko"' in page and "2024002_일부" in page
    feedback = (out / "feedback" / "2024002_일부.txt").read_text(encoding="utf-8")
    detail = graded["results"]["2024002_일부"].verdicts["05.2"][1]
    assert detail and f"05.2: {WRONG}. {detail}" in feedback  # the check's own hint or reason
    solutions = ["".join(c["source"]) for c in _lesson()["cells"] if "solution" in c["metadata"].get("tags", [])]
    for path in (out / "feedback").iterdir():  # hints only: no line of a solution
        text = path.read_text(encoding="utf-8")
        for solution in solutions:
            for line in solution.splitlines():
                if len(line.strip()) > 25:
                    assert line.strip() not in text, (path.name, line)


def _files_that_cannot_be_read_get_a_clear_verdict(graded):
    ids, results = graded["ids"], graded["results"]
    every = lambda student: {v for v, _ in results[student].verdicts.values()}  # noqa: E731
    reason = lambda student: " ".join(d or "" for _, d in results[student].verdicts.values())  # noqa: E731
    assert every("2024004_JSON") == {FAILED} and "JSON" in reason("2024004_JSON")
    assert every("2024005_다른레슨") == {FAILED} and "다른 레슨(08)" in reason("2024005_다른레슨")
    for student in ("2024006_확인셀삭제", "2024007_확인셀이동복제"):
        assert _verdicts(graded, student) == dict.fromkeys(ids, PASSED), student  # the lesson's own checks
    assert any("확인 셀이" in n for n in results["2024006_확인셀삭제"].notes)


def _harmful_cells_cost_their_cell_only(graded):
    ids, results = graded["ids"], graded["results"]
    harmful = results["2024008_해로운셀"]
    assert _verdicts(graded, "2024008_해로운셀") == dict.fromkeys(ids, PASSED)
    out = harmful.output
    # files outside its folder: nothing written, nothing deleted (checked again by the snapshot subtest)
    assert "FILE DONE" not in out and out.count("FILE BLOCKED") == 6
    # a classmate's submission: not its content, not even its name
    assert graded["secret"] not in out and "2024001" not in out
    assert "PEEK BLOCKED FileNotFoundError" in out  # the file is not there; the folder, if at all, is empty
    assert {line for line in out.splitlines() if line.startswith("PEEK READ")} <= {"PEEK READ []"}
    assert "NET CONNECTED" not in out and out.count("NET BLOCKED") == 2
    assert any("네트워크" in n for n in harmful.notes)
    # 10 GiB: the allocation fails in its cell; an interruptible infinite loop loses that cell only
    assert any("allocate" in n or "Memory" in n for n in harmful.notes), harmful.notes
    assert any("시간 제한" in n for n in harmful.notes), harmful.notes
    # 5 MB of output: the first 64 KB are kept, and the note says so
    assert len(out) <= 2 * grade.OUTPUT_KEPT and any("출력이 너무 많아" in n for n in harmful.notes)


def _processes_that_end_badly_get_a_clear_verdict(graded):
    results = graded["results"]
    every = lambda student: {v for v, _ in results[student].verdicts.values()}  # noqa: E731
    reason = lambda student: " ".join(d or "" for _, d in results[student].verdicts.values())  # noqa: E731
    assert every("2024010_안멈춤") == {FAILED} and "강제로" in reason("2024010_안멈춤")
    assert every("2024016_크래시") == {FAILED} and "종료 코드 3" in reason("2024016_크래시")


def _tampering_gets_the_real_verdict(graded):
    ids = graded["ids"]
    assert _verdicts(graded, "2024017_조작") == {**dict.fromkeys(ids, NOT_SOLVED),
                                                "05.1": WRONG, "05.2": WRONG, "05.3": WRONG}
    assert graded["results"]["2024017_조작"].output.count("BLOCKED") == 2  # installed files are read-only
    for path in (ROOT / "helpers" / "exercises" / "lesson05.py", Path(__import__("torch").__file__)):
        assert "PASS_EVERYTHING" not in path.read_text(encoding="utf-8")


def _nothing_outside_the_temporary_folders_changed(graded):
    before, after = graded["before"], graded["after"]
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    assert not changed, sorted(changed)[:10]
    assert graded["temp_made"], "the grader made no temporary folder of its own?"
    assert not graded["temp_left"], f"the grader's temporary folders are removed: {graded['temp_left']}"


def test_grading_lesson_05(graded, subtests):
    for check in (_correct_partial_and_empty, _table_html_and_feedback, _files_that_cannot_be_read_get_a_clear_verdict,
                  _harmful_cells_cost_their_cell_only, _processes_that_end_badly_get_a_clear_verdict,
                  _tampering_gets_the_real_verdict, _nothing_outside_the_temporary_folders_changed):
        with subtests.test(check.__name__.strip("_")):
            check(graded)
