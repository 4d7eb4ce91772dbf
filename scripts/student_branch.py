"""Build the student version of the course as the git branch ``student`` (no solution cells).

Every route that puts lessons in front of students (the nbgitpuller link, Binder, the Colab
first cell) serves the branch ``student``, never ``main``. The branch holds what the lessons and
``helpers`` need and what its own ``make test`` runs, nothing an instructor or maintainer needs:

- the files that ``BRANCH_FILES`` keeps (the one rule; everything else of the source commit, such
  as the design tests, grading, its fixtures, build scripts, handouts tooling, mutation tests,
  benchmarks and CI, stays on ``main``), byte for byte, except:
- every lesson ``notebooks/NN_*.ipynb`` has its ``solution``-tagged cells removed (the same rule
  as the student handouts: ``scripts/handouts.py``, ``is_solution``) and no outputs;
- the files under ``scripts/templates/student/`` are put at the same path (``README.md``: the
  students' own README; ``tests/test_lessons.py``: the lesson runs of the branch's ``make test``);
- the placeholder ``<과정 저장소 주소>`` (``scripts/lesson_cells.py``) in those files and in every
  lesson's first cell becomes the course's address (``--repo-url``, ``REPO_URL`` or the ``origin``
  remote). Without an address nothing is built.

How it is built (git plumbing only: the current checkout, index and working tree are untouched):

- the files of the source commit that the branch keeps are read into a temporary index, the
  student notebooks and the templates are written as new blobs over them, and the tree is written;
- the new commit's parent is the previous ``student`` commit (none the first time), so the
  branch only moves forward and nbgitpuller's ``git fetch`` + ``git merge`` work in every
  student's clone. It never has ``main``'s commits as ancestors: a clone of ``student`` holds
  no solution anywhere in its history;
- deterministic: author, committer and date come from the source commit, so the same source
  on the same previous ``student`` commit gives the same commit id; when the tree is
  unchanged no commit is made.

Rebuild after every lesson change (commit first: uncommitted edits are not included), then
publish the branch to the repository students clone, for example ``git push origin student``::

    make student                                   # = .venv/bin/python scripts/student_branch.py
    make student REPO_URL=https://github.com/<org>/<repo>.git
    .venv/bin/python scripts/student_branch.py --source v2 --branch student --repo . --repo-url URL
"""
from __future__ import annotations

import argparse
import fnmatch
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BRANCH = "student"
LESSON = re.compile(r"^notebooks/\d\d_[^/]*\.ipynb$")
TEMPLATES = "scripts/templates/student/"
"""Files put on the branch at the same path (over the source's file, if any)."""

BRANCH_FILES = (
    # set-up and the routes that serve the branch (make lab, conda, Binder / hub, Colab)
    "Makefile", "requirements.txt", "pyproject.toml", "environment.yml", "apt.txt", "postBuild",
    ".gitattributes", ".gitignore",
    # what the lessons need
    "notebooks/*", "data/*", "helpers/*", "!helpers/grading/*",
    # what the branch's `make test` runs: the lessons (tests/test_lessons.py, from TEMPLATES) and the
    # helpers' unit tests that need nothing else and hold no exercise answer
    "tests/conftest.py", "tests/test_callbacks.py", "tests/test_checkpoint.py", "tests/test_data.py",
    "tests/test_download.py", "tests/test_features.py", "tests/test_graphs.py", "tests/test_history.py",
    "tests/test_hooks.py", "tests/test_images.py", "tests/test_korean_errors.py", "tests/test_metrics.py",
    "tests/test_models.py", "tests/test_paths.py", "tests/test_plots.py", "tests/test_startup.py",
    "tests/test_stop_button.py", "tests/test_train.py",
)
"""What the branch keeps of the source commit: the one rule (fnmatch patterns, ``*`` spans folders;
``!pattern`` drops what an earlier pattern kept; the last pattern that matches decides)."""


def on_branch(path: str) -> bool:
    """Whether the student branch keeps ``path`` (a file of the source commit), by ``BRANCH_FILES``."""
    keep = False
    for pattern in BRANCH_FILES:
        if fnmatch.fnmatchcase(path, pattern.lstrip("!")):
            keep = not pattern.startswith("!")
    return keep

_spec = importlib.util.spec_from_file_location("handouts", Path(__file__).resolve().parent / "handouts.py")
_handouts = sys.modules.setdefault("handouts", importlib.util.module_from_spec(_spec))
if not hasattr(_handouts, "is_solution"):
    _spec.loader.exec_module(_handouts)
is_solution = _handouts.is_solution

_spec = importlib.util.spec_from_file_location("lesson_cells", Path(__file__).resolve().parent / "lesson_cells.py")
lesson_cells = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lesson_cells)
PLACEHOLDER = lesson_cells.COURSE_REPO_URL


def git(repo: Path, *args: str, env: dict | None = None, input: bytes | None = None) -> str:
    result = subprocess.run(["git", "-C", str(repo), *args], input=input, capture_output=True,
                            env={**os.environ, **(env or {})}, check=False)
    if result.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} 실패:\n{result.stderr.decode(errors='replace')}")
    return result.stdout.decode()


def student_notebook(text: str) -> str:
    """The lesson JSON without ``solution`` cells and outputs, written the way Jupyter writes it."""
    notebook = json.loads(text)
    notebook["cells"] = [c for c in notebook["cells"] if not is_solution(c)]
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    notebook.get("metadata", {}).pop("widgets", None)
    return json.dumps(notebook, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def course_address(repo: Path, repo_url: str | None = None) -> str:
    """The address students clone: ``repo_url``, else the ``origin`` remote (``git@host:path`` as
    ``https://host/path``). Refuses, with the command that fixes it, when there is none."""
    url = (repo_url or "").strip()
    if not url:
        url = subprocess.run(["git", "-C", str(repo), "remote", "get-url", "origin"],
                             capture_output=True, text=True).stdout.strip()
        url = re.sub(r"^[\w.-]+@([^:/]+):(?!//)", r"https://\1/", url)  # git@github.com:org/repo.git
    if not re.fullmatch(r"https?://[^\s\"'\\<>‹›]+", url):
        shown = f" ('{url}')" if url else ""
        raise SystemExit(
            f"학생용 가지를 만들지 않았습니다: 학생이 내려받을 과정 저장소 주소{shown}가 없거나 https 주소가 아닙니다.\n"
            f"레슨 첫 셀과 학생용 README의 '{PLACEHOLDER}' 자리에 들어갈 주소를 알려 주세요:\n"
            "    make student REPO_URL=https://github.com/<기관>/<저장소>.git\n"
            "(또는 git remote add origin https://github.com/<기관>/<저장소>.git 후 make student)")
    return url


def build(repo: Path = ROOT, source: str = "HEAD", branch: str = BRANCH,
          repo_url: str | None = None) -> tuple[str, bool]:
    """Build ``branch`` from ``source`` in ``repo``; returns (commit id, whether a commit was made).

    ``repo_url``: the course address students clone (default: ``course_address``)."""
    repo = Path(repo)
    url = course_address(repo, repo_url)
    source_commit = git(repo, "rev-parse", "--verify", f"{source}^{{commit}}").strip()
    previous = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "-q", f"refs/heads/{branch}"],
                              capture_output=True, text=True).stdout.strip() or None
    if previous and subprocess.run(["git", "-C", str(repo), "merge-base", previous, source_commit],
                                   capture_output=True).returncode == 0:
        raise SystemExit(f"'{branch}' 가지가 강사용 커밋과 역사를 공유합니다 (그 역사에 풀이가 있습니다). "
                         f"지우고 다시 만드세요: git branch -D {branch} && make student")

    def blob(text: str) -> str:
        return git(repo, "hash-object", "-w", "--stdin", "--no-filters", input=text.encode()).strip()

    entries: dict[str, str] = {}  # path -> "mode blob"
    for line in git(repo, "ls-tree", "-r", "-z", source_commit).split("\0"):
        if not line:
            continue
        meta, path = line.split("\t", 1)
        mode, kind, sha = meta.split()
        if kind != "blob":
            continue
        if path.startswith(TEMPLATES):
            text = git(repo, "cat-file", "blob", sha).replace(PLACEHOLDER, url)
            entries[path[len(TEMPLATES):]] = f"{mode} {blob(text)}"
        elif LESSON.match(path):
            text = student_notebook(git(repo, "cat-file", "blob", sha)).replace(PLACEHOLDER, url)
            entries.setdefault(path, f"{mode} {blob(text)}")
        elif on_branch(path):
            entries.setdefault(path, f"{mode} {sha}")
    with tempfile.TemporaryDirectory(prefix="student-index-") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        git(repo, "update-index", "--add", "--index-info", env=env,
            input="".join(f"{entry}\t{path}\n" for path, entry in sorted(entries.items())).encode())
        tree = git(repo, "write-tree", env=env).strip()
    if previous and git(repo, "rev-parse", f"{previous}^{{tree}}").strip() == tree:
        return previous, False
    fields = git(repo, "show", "-s", "--format=%an%x00%ae%x00%aD%x00%cn%x00%ce%x00%cD%x00%h%x00%s", source_commit)
    an, ae, ad, cn, ce, cd, short, subject = fields.rstrip("\n").split("\0")
    message = f"학생용: {subject}\n\nsolution 셀을 뺀 레슨 (scripts/student_branch.py, 원본 {short})\n"
    commit_env = {"GIT_AUTHOR_NAME": an, "GIT_AUTHOR_EMAIL": ae, "GIT_AUTHOR_DATE": ad,
                  "GIT_COMMITTER_NAME": cn, "GIT_COMMITTER_EMAIL": ce, "GIT_COMMITTER_DATE": cd}
    parents = ["-p", previous] if previous else []
    commit = git(repo, "commit-tree", tree, *parents, "-m", message, env=commit_env).strip()
    update = ["update-ref", f"refs/heads/{branch}", commit] + ([previous] if previous else ["0" * 40])
    git(repo, *update)
    return commit, True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=ROOT, help="the course's git repository (default: this one)")
    parser.add_argument("--source", default="HEAD", help="the instructor commit to build from (default: HEAD)")
    parser.add_argument("--branch", default=BRANCH, help=f"the branch to write (default: {BRANCH})")
    parser.add_argument("--repo-url", default=os.environ.get("REPO_URL"),
                        help="the address students clone (default: $REPO_URL, else the 'origin' remote)")
    args = parser.parse_args(argv)
    # contents, through the nbstripout filter: a lesson only run and saved is not a change
    dirty = subprocess.run(["git", "-C", str(args.repo), "diff", "HEAD", "--name-only", "--", "notebooks"],
                           capture_output=True, text=True).stdout.strip()
    if dirty and args.source == "HEAD":
        print("주의: notebooks/ 에 커밋하지 않은 변경이 있습니다. 학생용 가지에는 커밋된 내용만 들어갑니다.",
              file=sys.stderr)
    commit, made = build(args.repo, args.source, args.branch, args.repo_url)
    if made:
        print(f"'{args.branch}' 가지를 새로 만들었습니다: {commit[:12]}. 학생에게 보내려면: git push origin {args.branch}")
    else:
        print(f"'{args.branch}' 가지는 이미 최신입니다: {commit[:12]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
