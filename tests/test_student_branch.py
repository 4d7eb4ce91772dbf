"""The student route: the branch ``student`` (scripts/student_branch.py) and every link that serves it.

Each test builds the branch in a temporary clone of this repository whose lessons are the working
tree's, so what is checked is what ``make student`` would publish now. No network: the "remote" of
the nbgitpuller test is a ``file://`` repository in a temporary folder.
"""
from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted(ROOT.glob("notebooks/[0-9][0-9]_*.ipynb"))


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


student_branch = _load("student_branch")
lesson_cells = _load("lesson_cells")

pytestmark = pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(),
                                reason="needs git and a git clone of the course")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def _commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=강사", "-c", "user.email=teacher@example.org", "commit", "-q", "--allow-empty", "-m", message)


@pytest.fixture
def course(tmp_path) -> Path:
    """A clone of the course (no filters configured) whose lessons and README are the working tree's."""
    repo = tmp_path / "course"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{ROOT}", str(repo)], check=True)
    for path in LESSONS + [ROOT / "README.md"]:
        shutil.copy2(path, repo / path.relative_to(ROOT))
    _commit_all(repo, "working tree")
    return repo


def _cells(text: str) -> list[dict]:
    return json.loads(text)["cells"]


def _solution_sources(repo: Path, rev: str = "HEAD") -> list[str]:
    sources = []
    for path in git(repo, "ls-tree", "-r", "--name-only", rev, "notebooks").split():
        if student_branch.LESSON.match(path):
            for cell in _cells(git(repo, "show", f"{rev}:{path}")):
                if "solution" in cell.get("metadata", {}).get("tags", []):
                    sources.append("".join(cell["source"]))
    return sources


def _assert_no_solutions(repo: Path, solutions: list[str]) -> None:
    """Every commit of ``student``: no solution-tagged cell, no solution's code in any notebook."""
    assert solutions, "the lessons have solution cells to hide"
    for commit in git(repo, "rev-list", "student").split():
        notebooks = [p for p in git(repo, "ls-tree", "-r", "--name-only", commit).split() if p.endswith(".ipynb")]
        assert len([p for p in notebooks if student_branch.LESSON.match(p)]) == len(LESSONS)
        for path in notebooks:
            cells = _cells(git(repo, "show", f"{commit}:{path}"))
            assert not [c for c in cells if "solution" in c.get("metadata", {}).get("tags", [])], path
            code = "\n".join("".join(c["source"]) for c in cells)
            leaked = [s for s in solutions if s.strip() and s.strip() in code]
            assert not leaked, f"{path} @ {commit[:8]} holds solution code: {leaked[0][:80]!r}"


def test_student_branch_has_no_solution_and_everything_else_identical(course):
    solutions = _solution_sources(course)
    commit, made = student_branch.build(course)
    assert made and git(course, "rev-parse", "student").strip() == commit
    _assert_no_solutions(course, solutions)
    # everything but the lessons is the same file (same blob)
    def tree(rev):
        return {line.split("\t")[1]: line.split()[2] for line in git(course, "ls-tree", "-r", rev).splitlines()}
    main, student = tree("HEAD"), tree("student")
    assert main.keys() == student.keys()
    differ = {p for p in main if main[p] != student[p]}
    assert differ == {str(p.relative_to(ROOT)) for p in LESSONS if _solution_sources_in(p)}
    # the lessons keep every other cell, in order, with their ids
    for path in differ:
        before = [c for c in _cells(git(course, "show", f"HEAD:{path}"))
                  if "solution" not in c.get("metadata", {}).get("tags", [])]
        after = _cells(git(course, "show", f"student:{path}"))
        assert [(c.get("id"), c["source"]) for c in before] == [(c.get("id"), c["source"]) for c in after]
    # no instructor commit in the student's history (a clone of the branch holds no solution)
    assert subprocess.run(["git", "-C", str(course), "merge-base", "HEAD", "student"],
                          capture_output=True).returncode == 1
    # deterministic and idempotent: rebuilding the same source changes nothing
    assert student_branch.build(course) == (commit, False)
    git(course, "branch", "-f", "again", "student")
    git(course, "update-ref", "-d", "refs/heads/student")
    assert student_branch.build(course)[0] == commit  # same commit id from scratch


def _solution_sources_in(path: Path) -> bool:
    return any("solution" in c.get("metadata", {}).get("tags", []) for c in _cells(path.read_text(encoding="utf-8")))


def test_rebuild_after_a_lesson_changes_stays_in_sync(course):
    first, _ = student_branch.build(course)
    lesson = course / "notebooks" / "05_logsoftmax.ipynb"
    notebook = json.loads(lesson.read_text(encoding="utf-8"))
    notebook["cells"][0]["source"] = ["# 05. 바뀐 제목\n"]
    notebook["cells"].append({"cell_type": "code", "execution_count": None, "id": "new-solution",
                              "metadata": {"tags": ["solution"]}, "outputs": [], "source": ["SECRET_ANSWER = 42"]})
    lesson.write_text(json.dumps(notebook, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    _commit_all(course, "lesson 05 changed")
    second, made = student_branch.build(course)
    assert made and git(course, "rev-parse", f"{second}^").strip() == first  # on top of the previous one
    text = git(course, "show", "student:notebooks/05_logsoftmax.ipynb")
    assert "바뀐 제목" in text and "SECRET_ANSWER" not in text
    _assert_no_solutions(course, _solution_sources(course))


def test_every_route_serves_the_student_branch(course):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    pulls = re.findall(r"https://\S*/git-pull\?[^\s`)]+", readme)
    assert pulls, "README gives an nbgitpuller link"
    for link in pulls:
        assert parse_qs(urlparse(link).query)["branch"] == [student_branch.BRANCH], link
        assert "notebooks" in unquote(parse_qs(urlparse(link).query)["urlpath"][0])
    binders = re.findall(r"https://mybinder\.org/v2/gh/[^\s`)]+", readme)
    assert binders, "README gives a Binder link"
    for link in binders:
        assert urlparse(link).path.split("/")[5] == student_branch.BRANCH, link
    # Colab: the first cell of every lesson, as the student branch serves it, clones that branch
    clone = re.compile(r"git clone (?:--depth 1 )?-b (\S+) (?:--depth 1 )?")
    assert clone.search(lesson_cells.first_cell_source()).group(1) == student_branch.BRANCH
    student_branch.build(course)
    for path in LESSONS:
        cells = _cells(git(course, "show", f"student:{path.relative_to(ROOT)}"))
        first = "".join(next(c for c in cells if c["cell_type"] == "code")["source"])
        found = clone.search(first)
        assert found and found.group(1) == student_branch.BRANCH, (
            f"{path.name}: the Colab cell does not clone '{student_branch.BRANCH}'; "
            "run .venv/bin/python scripts/lesson_cells.py apply notebooks/[0-9][0-9]_*.ipynb")


def test_nbgitpuller_pull_keeps_the_students_edit(course, tmp_path, monkeypatch):
    """A real nbgitpuller pull (file:// remote): the instructor's update arrives, the student's edit stays."""
    pull_module = pytest.importorskip("nbgitpuller.pull")
    monkeypatch.setenv("NBGITPULLER_DEPTH", "1")  # what a hub does by default: a shallow clone
    student_branch.build(course)
    home = tmp_path / "home" / "course"
    url = f"file://{course}"

    def pull():
        for _ in pull_module.GitPuller(url, str(home), branch=student_branch.BRANCH).pull():
            pass

    pull()
    lesson = home / "notebooks" / "05_logsoftmax.ipynb"
    notebook = json.loads(lesson.read_text(encoding="utf-8"))
    todo = next(c for c in notebook["cells"] if "answer_1 = None" in "".join(c["source"]))
    todo["source"] = ["def my_softmax(x, dim=1):\n", "    return x  # the student's own attempt\n", "answer_1 = my_softmax"]
    lesson.write_text(json.dumps(notebook, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    (home / "notebooks" / "my_notes.md").write_text("학생 메모\n", encoding="utf-8")  # an untracked file

    # the instructor changes the title of 05 and a cell of 04, commits and rebuilds the branch
    source = course / "notebooks" / "05_logsoftmax.ipynb"
    changed = json.loads(source.read_text(encoding="utf-8"))
    changed["cells"][0]["source"] = ["# 05. 로그 소프트맥스 (고친 판)\n"] + changed["cells"][0]["source"][1:]
    source.write_text(json.dumps(changed, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    other = next(p for p in (course / "notebooks").glob("04_*.ipynb"))
    changed4 = json.loads(other.read_text(encoding="utf-8"))
    changed4["cells"][0]["source"] = ["# 04. 새 제목\n"]
    other.write_text(json.dumps(changed4, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    _commit_all(course, "fix titles")
    student_branch.build(course)

    pull()
    after = json.loads(lesson.read_text(encoding="utf-8"))
    sources = ["".join(c["source"]) for c in after["cells"]]
    assert "    return x  # the student's own attempt\n" in "".join(sources)  # the student's edit survives
    assert sources[0].startswith("# 05. 로그 소프트맥스 (고친 판)")  # the update arrived in the same file
    assert _cells((home / "notebooks" / other.name).read_text(encoding="utf-8"))[0]["source"] == ["# 04. 새 제목\n"]
    assert (home / "notebooks" / "my_notes.md").read_text(encoding="utf-8") == "학생 메모\n"
    assert not [c for c in after["cells"] if "solution" in c.get("metadata", {}).get("tags", [])]
    assert git(home, "rev-parse", "HEAD") != git(home, "rev-parse", "origin/student")  # merged, student's commit on top
