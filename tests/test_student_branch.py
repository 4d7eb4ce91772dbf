"""The student route: the branch ``student`` (scripts/student_branch.py) and every link that serves it.

Each test builds the branch in a temporary clone of this repository whose lessons, README, scripts,
tests and Makefile are the working tree's, so what is checked is what ``make student`` would publish
now. No network: the "remote" of the nbgitpuller test is a ``file://`` repository in a temporary
folder. The branch's own commands (set-up, ``make test``) run in ``.ci/run`` on a fresh clone of it.
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
URL = "https://example.org/dl-course.git"  # the address students clone, as an instructor gives it


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
    """A clone of the course (no filters configured) whose lessons, README, scripts, tests and Makefile
    are the working tree's (untracked files under those folders included)."""
    repo = tmp_path / "course"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{ROOT}", str(repo)], check=True)
    for path in LESSONS + [ROOT / "README.md", ROOT / "Makefile"]:
        shutil.copy2(path, repo / path.relative_to(ROOT))
    for folder in ("scripts", "tests", "helpers"):
        shutil.copytree(ROOT / folder, repo / folder, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
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


def _tree(repo: Path, rev: str) -> dict[str, str]:
    return {line.split("\t")[1]: line.split()[2] for line in git(repo, "ls-tree", "-r", rev).splitlines()}


def test_student_branch_has_no_solution_and_only_what_students_need(course):
    solutions = _solution_sources(course)
    commit, made = student_branch.build(course, repo_url=URL)
    assert made and git(course, "rev-parse", "student").strip() == commit
    _assert_no_solutions(course, solutions)
    main, student = _tree(course, "HEAD"), _tree(course, "student")
    templates = {p[len(student_branch.TEMPLATES):] for p in main if p.startswith(student_branch.TEMPLATES)}
    assert {"README.md", "tests/test_lessons.py"} <= templates
    # the one rule: what BRANCH_FILES keeps, plus the templates; nothing else
    assert student.keys() == {p for p in main if student_branch.on_branch(p)} | templates
    for instructor_only in ("scripts/student_branch.py", "scripts/handouts.py", ".ci/run", "tests/test_grading.py",
                            "tests/test_lesson_design.py", "tests/mutations.py", "benchmarks/run_all.py"):
        assert instructor_only in main and instructor_only not in student, instructor_only
    assert not [p for p in student if p.startswith(("helpers/grading/", "classroom/", "tests/exercise_fixtures/",
                                                    "tests/netguard/", "tests/fakegpu/"))]
    # kept files are the same blobs, but the lessons (solutions out, the address in) and the templates
    differ = {p for p in student if p in main and main[p] != student[p]}
    assert differ - templates == {str(p.relative_to(ROOT)) for p in LESSONS}
    # the address students clone, in every lesson's first cell and in the README; no placeholder left
    for path in [str(p.relative_to(ROOT)) for p in LESSONS] + ["README.md"]:
        text = git(course, "show", f"student:{path}")
        assert URL in text and student_branch.PLACEHOLDER not in text, path
    # the lessons keep every other cell, in order, with their ids (the address filled in)
    for path in differ - templates:
        before = [c for c in _cells(git(course, "show", f"HEAD:{path}"))
                  if "solution" not in c.get("metadata", {}).get("tags", [])]
        after = _cells(git(course, "show", f"student:{path}"))
        assert [(c.get("id"), "".join(c["source"]).replace(student_branch.PLACEHOLDER, URL)) for c in before] == \
            [(c.get("id"), "".join(c["source"])) for c in after]
    # no instructor commit in the student's history (a clone of the branch holds no solution)
    assert subprocess.run(["git", "-C", str(course), "merge-base", "HEAD", "student"],
                          capture_output=True).returncode == 1
    # deterministic and idempotent: rebuilding the same source changes nothing
    assert student_branch.build(course, repo_url=URL) == (commit, False)
    git(course, "branch", "-f", "again", "student")
    git(course, "update-ref", "-d", "refs/heads/student")
    assert student_branch.build(course, repo_url=URL)[0] == commit  # same commit id from scratch


def _solution_sources_in(path: Path) -> bool:
    return any("solution" in c.get("metadata", {}).get("tags", []) for c in _cells(path.read_text(encoding="utf-8")))


def test_rebuild_after_a_lesson_changes_stays_in_sync(course):
    first, _ = student_branch.build(course, repo_url=URL)
    lesson = course / "notebooks" / "05_logsoftmax.ipynb"
    notebook = json.loads(lesson.read_text(encoding="utf-8"))
    notebook["cells"][0]["source"] = ["# 05. 바뀐 제목\n"]
    notebook["cells"].append({"cell_type": "code", "execution_count": None, "id": "new-solution",
                              "metadata": {"tags": ["solution"]}, "outputs": [], "source": ["SECRET_ANSWER = 42"]})
    lesson.write_text(json.dumps(notebook, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    _commit_all(course, "lesson 05 changed")
    second, made = student_branch.build(course, repo_url=URL)
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
    student_branch.build(course, repo_url=URL)
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
    student_branch.build(course, repo_url=URL)
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
    student_branch.build(course, repo_url=URL)

    pull()
    after = json.loads(lesson.read_text(encoding="utf-8"))
    sources = ["".join(c["source"]) for c in after["cells"]]
    assert "    return x  # the student's own attempt\n" in "".join(sources)  # the student's edit survives
    assert sources[0].startswith("# 05. 로그 소프트맥스 (고친 판)")  # the update arrived in the same file
    assert _cells((home / "notebooks" / other.name).read_text(encoding="utf-8"))[0]["source"] == ["# 04. 새 제목\n"]
    assert (home / "notebooks" / "my_notes.md").read_text(encoding="utf-8") == "학생 메모\n"
    assert not [c for c in after["cells"] if "solution" in c.get("metadata", {}).get("tags", [])]
    assert git(home, "rev-parse", "HEAD") != git(home, "rev-parse", "origin/student")  # merged, student's commit on top


def test_no_branch_without_the_address_students_clone(course):
    """``make student`` takes the address from REPO_URL or the ``origin`` remote and refuses a placeholder,
    a local path or nothing, naming the command that fixes it; an ssh remote becomes its https address."""
    for url in (None, student_branch.PLACEHOLDER, "/srv/course.git"):
        if url is None:
            git(course, "remote", "remove", "origin")
        with pytest.raises(SystemExit, match="make student REPO_URL="):
            student_branch.build(course, repo_url=url)
    assert subprocess.run(["git", "-C", str(course), "rev-parse", "--verify", "-q", "student"]).returncode != 0
    git(course, "remote", "add", "origin", "git@github.com:teacher/dl-course.git")
    student_branch.build(course)
    assert "https://github.com/teacher/dl-course.git" in git(course, "show", "student:README.md")


def test_the_branch_has_what_its_readme_names(course, tmp_path):
    """The students' README names only commands and files that exist on the branch, and the branch's
    tests import nothing that was left out (collected there; .ci/run runs them)."""
    student_branch.build(course, repo_url=URL)
    clone = tmp_path / "dl-course"
    subprocess.run(["git", "clone", "-q", "-b", "student", str(course), str(clone)], check=True)
    readme = (clone / "README.md").read_text(encoding="utf-8")
    assert re.search(r"[가-힣]", readme) and len(readme) < 8000
    targets = set(re.findall(r"^([\w-]+):", (clone / "Makefile").read_text(encoding="utf-8"), re.M))
    for command in set(re.findall(r"(?:^|`)make ([a-z-]+)", readme, re.M)):
        assert command in targets, f"README names 'make {command}', which the branch's Makefile lacks"
    plan = subprocess.run(["make", "-n", "-C", str(clone), "test", "PY=python"], capture_output=True, text=True)
    assert plan.returncode == 0 and "scripts/" not in plan.stdout, plan.stdout + plan.stderr
    collected = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:xdist", "tests"],
                               cwd=clone, capture_output=True, text=True)
    assert collected.returncode == 0, collected.stdout[-3000:] + collected.stderr[-3000:]
    assert "tests/test_lessons.py::test_lesson_runs[05]" in collected.stdout
