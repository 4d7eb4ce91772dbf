"""Build the student version of the course as the git branch ``student`` (no solution cells).

Every route that puts lessons in front of students (the nbgitpuller link, Binder, the Colab
first cell) serves the branch ``student``, never ``main``. The branch holds the same files as
the source commit (default ``HEAD``) except that every lesson ``notebooks/NN_*.ipynb`` has its
``solution``-tagged cells removed (the same rule as the student handouts: ``scripts/handouts.py``,
``is_solution``) and no outputs. Nothing else differs, byte for byte.

How it is built (git plumbing only: the current checkout, index and working tree are untouched):

- the source commit's tree is read into a temporary index, the student notebooks are written
  as new blobs over the lesson blobs, and the tree is written;
- the new commit's parent is the previous ``student`` commit (none the first time), so the
  branch only moves forward and nbgitpuller's ``git fetch`` + ``git merge`` work in every
  student's clone. It never has ``main``'s commits as ancestors: a clone of ``student`` holds
  no solution anywhere in its history;
- deterministic: author, committer and date come from the source commit, so the same source
  on the same previous ``student`` commit gives the same commit id; when the tree is
  unchanged no commit is made.

Rebuild after every lesson change (commit first: uncommitted edits are not included), then
publish the branch, for example ``git push origin student``::

    make student                                   # = .venv/bin/python scripts/student_branch.py
    .venv/bin/python scripts/student_branch.py --source v2 --branch student --repo .
"""
from __future__ import annotations

import argparse
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

_spec = importlib.util.spec_from_file_location("handouts", Path(__file__).resolve().parent / "handouts.py")
_handouts = sys.modules.setdefault("handouts", importlib.util.module_from_spec(_spec))
if not hasattr(_handouts, "is_solution"):
    _spec.loader.exec_module(_handouts)
is_solution = _handouts.is_solution


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


def build(repo: Path = ROOT, source: str = "HEAD", branch: str = BRANCH) -> tuple[str, bool]:
    """Build ``branch`` from ``source`` in ``repo``; returns (commit id, whether a commit was made)."""
    repo = Path(repo)
    source_commit = git(repo, "rev-parse", "--verify", f"{source}^{{commit}}").strip()
    previous = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "-q", f"refs/heads/{branch}"],
                              capture_output=True, text=True).stdout.strip() or None
    if previous and subprocess.run(["git", "-C", str(repo), "merge-base", previous, source_commit],
                                   capture_output=True).returncode == 0:
        raise SystemExit(f"'{branch}' 가지가 강사용 커밋과 역사를 공유합니다 (그 역사에 풀이가 있습니다). "
                         f"지우고 다시 만드세요: git branch -D {branch} && make student")
    with tempfile.TemporaryDirectory(prefix="student-index-") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        git(repo, "read-tree", source_commit, env=env)
        for line in git(repo, "ls-tree", "-r", "-z", source_commit).split("\0"):
            if not line:
                continue
            meta, path = line.split("\t", 1)
            mode, kind, blob = meta.split()
            if kind != "blob" or not LESSON.match(path):
                continue
            text = git(repo, "cat-file", "blob", blob)
            new_blob = git(repo, "hash-object", "-w", "--stdin", "--no-filters",
                           input=student_notebook(text).encode()).strip()
            git(repo, "update-index", "--cacheinfo", f"{mode},{new_blob},{path}", env=env)
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
    args = parser.parse_args(argv)
    dirty = subprocess.run(["git", "-C", str(args.repo), "status", "--porcelain", "--", "notebooks"],
                           capture_output=True, text=True).stdout.strip()
    if dirty and args.source == "HEAD":
        print("주의: notebooks/ 에 커밋하지 않은 변경이 있습니다. 학생용 가지에는 커밋된 내용만 들어갑니다.",
              file=sys.stderr)
    commit, made = build(args.repo, args.source, args.branch)
    if made:
        print(f"'{args.branch}' 가지를 새로 만들었습니다: {commit[:12]}. 학생에게 보내려면: git push origin {args.branch}")
    else:
        print(f"'{args.branch}' 가지는 이미 최신입니다: {commit[:12]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
