"""A class on a real JupyterHub, end to end (``make hub``; ``.ci/run`` runs it).

A JupyterHub (the real one, with configurable-http-proxy from npm) on 127.0.0.1 serves two
students, each logging in with a password (DummyAuthenticator) and getting their own single-user
Jupyter server in their own home folder (SimpleLocalProcessSpawner: one OS user for all, so the
separation tested here is Jupyter's, not the operating system's; The Littlest JupyterHub gives each
student a system user too). The course comes as a class gets it: the ``student`` branch, built
freshly from this commit into a throw-away repository, pulled with the nbgitpuller link the README
gives. Then, for each student:

1. log in; the nbgitpuller link (``/hub/user-redirect/git-pull?...``) starts their server and pulls
   the course; lesson 05 is there, in JupyterLab's tree, and asks for the course kernel;
2. Run All through the server's own kernel API (websocket), with the kernel the lesson names: no
   error, every check says 아직 풀지 않음;
3. fill in one exercise by saving the notebook through the server (as JupyterLab's save does) and
   run it again: that check says 통과;
4. the instructor changes the course and rebuilds ``student``; the link again: the change arrives
   and the student's edit is still there;
5. the other student's files are not reachable from this student's server or with this student's token;
6. each student's lessons write into their own copy (``helpers.paths.course_folder``);
7. a kernel killed mid-run (as the out-of-memory killer does) is reported as restarting, and the
   student's saved notebook is byte for byte what it was.

Then the instructor collects lesson 05 from both home folders and runs ``course-grade``: one row per
student, with the verdicts each one earned.
"""
from __future__ import annotations

import json
import shutil
import uuid

import pytest
import requests

from hubkit import build_student_branch, contents, git, local_hub, login, open_link, run_notebook, user_headers

LESSON = "05_logsoftmax.ipynb"
STUDENTS = ["alice", "bob"]
SOLVED = "05.3"   # the exercise the first student fills in
EXERCISES = ("05.M1", "05.1", "05.2", "05.3")


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    with local_hub(tmp_path_factory.mktemp("hub"), STUDENTS) as running:
        yield running


def _run_lesson(hub: dict, name: str, headers: dict) -> tuple[dict, str]:
    """Lesson 05 as the student saved it, run top to bottom: (notebook, everything printed)."""
    nb, results = run_notebook(hub, name, headers, f"dl-course/notebooks/{LESSON}")
    cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    failed = [(i, r) for i, r in enumerate(results) if r["status"] != "ok"]
    assert not failed and len(results) == len(cells), f"{name}: lesson 05 stopped at a cell: {failed[:1]}"
    return nb, "".join(r["text"] for r in results)


def _verdict(printed: str, exercise: str) -> str:
    from helpers.exercises import NOT_SOLVED, PASSED, WRONG

    return next((v for v in (PASSED, WRONG, NOT_SOLVED) if f"[{exercise}] {v}" in printed), "출력 없음")


def _solution(exercise: str) -> tuple[str, str]:
    """(id of the student's TODO cell, the instructor's solution source) of ``exercise`` in lesson 05."""
    from classroom.grading.plan import pristine_lesson

    lesson = pristine_lesson("05")
    cells = {c.get("id"): c for c in json.loads(lesson.path.read_text(encoding="utf-8"))["cells"]}
    check = next(c for c in lesson.checks if exercise in c.ids)
    solution, todo = check.anchors[0], check.anchors[-1]  # nearest first: the solution cell, then the TODO cell
    assert "solution" in cells[solution]["metadata"].get("tags", []) and todo != solution
    return todo, "".join(cells[solution]["source"])


def test_two_students_pull_run_edit_update_and_hand_in(hub, tmp_path):
    from helpers.exercises import NOT_SOLVED, PASSED

    todo_id, solution = _solution(SOLVED)
    tokens = {}
    for name in STUDENTS:
        session = login(hub, name)
        open_link(hub, session, name, LESSON)
        headers = tokens[name] = user_headers(hub, name)
        nb, printed = _run_lesson(hub, name, headers)
        assert nb["metadata"]["kernelspec"]["name"] == "dl-course"
        assert {i: _verdict(printed, i) for i in EXERCISES} == dict.fromkeys(EXERCISES, NOT_SOLVED), printed[-3000:]
        if name == STUDENTS[0]:  # the first student fills one exercise in and saves, as JupyterLab saves
            todo = next(c for c in nb["cells"] if c.get("id") == todo_id)
            todo["source"] = solution  # the student writes the function where the TODO was
            path = f"dl-course/notebooks/{LESSON}"
            saved = requests.put(f"{hub['url']}/user/{name}/api/contents/{path}", headers=headers, timeout=30,
                                 json={"type": "notebook", "format": "json", "content": nb})
            assert saved.ok, saved.text
            _, printed = _run_lesson(hub, name, headers)
            assert _verdict(printed, SOLVED) == PASSED, printed[-3000:]

    # the instructor changes the course and rebuilds `student`; the students open the link again
    course = hub["course"]
    changed = next((course / "notebooks").glob("04_*.ipynb"))  # a lesson neither student edited
    marker = f"수업 공지 {uuid.uuid4().hex[:8]}"
    nb = json.loads(changed.read_text(encoding="utf-8"))
    nb["cells"][0]["source"] = "".join(nb["cells"][0]["source"]) + f"\n\n{marker}\n"
    changed.write_text(json.dumps(nb, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    git(course, "commit", "-qam", "a change during the term")
    build_student_branch(course)
    for name in STUDENTS:
        open_link(hub, login(hub, name), name, LESSON)
        pulled = hub["homes"] / name / "dl-course" / "notebooks" / changed.name
        assert marker in pulled.read_text(encoding="utf-8"), f"{name}: the update did not arrive"
    first = json.loads((hub["homes"] / STUDENTS[0] / "dl-course" / "notebooks" / LESSON).read_text(encoding="utf-8"))
    assert any("".join(c["source"]) == solution for c in first["cells"]), "the student's edit did not survive the pull"

    # one student cannot reach the other's files: not through their own server, not with their own token
    a, b = STUDENTS
    assert contents(hub, a, tokens[a], f"../{b}/dl-course/notebooks/{LESSON}").status_code in (403, 404)
    assert contents(hub, b, tokens[a], f"dl-course/notebooks/{LESSON}").status_code == 403

    # each student's lessons write into their own copy, not into the one install all servers share
    for name in STUDENTS:
        _, results = run_notebook(hub, name, tokens[name], f"dl-course/notebooks/{LESSON}", timeout=120,
                                  cells=["from helpers.paths import output_dir\nprint(output_dir())"])
        assert results[0]["text"].strip() == str(hub["homes"] / name / "dl-course" / "outputs"), results

    # a kernel that dies mid-lesson (killed, or over its memory limit) loses the run, never the saved notebook
    saved_file = hub["homes"] / b / "dl-course" / "notebooks" / LESSON
    before = saved_file.read_bytes()
    _, results = run_notebook(hub, b, tokens[b], f"dl-course/notebooks/{LESSON}", timeout=120,
                              cells=["x = 1", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "x = 2"])
    assert [r["status"] for r in results] == ["ok", "dead"], results
    assert saved_file.read_bytes() == before

    # hand-in: the instructor collects lesson 05 from every home folder and grades it
    from classroom.grading import grade, sandbox

    if not sandbox.bwrap_works():
        pytest.fail("course-grade needs bubblewrap (sudo apt-get install bubblewrap; .ci/run installs it)")
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    for name in STUDENTS:
        shutil.copy(hub["homes"] / name / "dl-course" / "notebooks" / LESSON, submissions / f"{name}.ipynb")
    results = grade.grade_folder("05", submissions, tmp_path / "grades", grade.Options(), jobs=2)
    table = {r.student: {i: v for i, (v, _) in r.verdicts.items()} for r in results}
    expected = {a: {i: PASSED if i == SOLVED else NOT_SOLVED for i in EXERCISES}, b: dict.fromkeys(EXERCISES, NOT_SOLVED)}
    assert table == expected, table
