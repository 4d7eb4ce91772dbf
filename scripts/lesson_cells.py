"""The first code cell of every lesson, defined once, and the command that puts it there.

The cell works with or without the course installed:

- installed: imports ``helpers`` (before torch: it sets ``OMP_WAIT_POLICY``) and prints the
  environment report (``helpers.doctor.report_environment()``: versions, backbone, Korean
  font, device, free disk, with a fix for anything off);
- not installed (Colab, a bare Jupyter, the wrong kernel): prints in Korean exactly what to
  run and stops cleanly, with no traceback, so "Run All" stops there too.

The lessons on ``main`` keep the placeholder ``COURSE_REPO_URL``; ``make student``
(``scripts/student_branch.py``) writes the address students clone (``REPO_URL`` or the ``origin``
remote) in its place on the branch ``student``, and refuses to build without one.

    .venv/bin/python scripts/lesson_cells.py show                 # print the cell
    .venv/bin/python scripts/lesson_cells.py apply notebooks/04_clone_detach.ipynb
    .venv/bin/python scripts/lesson_cells.py check notebooks/[0-9][0-9]_*.ipynb   # exit 1 if one differs
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

COURSE_REPO_URL = "<과정 저장소 주소>"
"""The placeholder for the course's git address in the Colab instructions (and the students' README);
``scripts/student_branch.py`` replaces it with the address students clone."""

MARKER = "# Environment check: the same first cell in every lesson (scripts/lesson_cells.py)"
"""The first line of the cell; ``apply`` finds and replaces the cell by it."""

FIRST_CELL = '''\
{marker}
COURSE_REPO = "{repo}"  # instructors: set COURSE_REPO_URL in scripts/lesson_cells.py
try:
    import helpers  # before torch: sets OMP_WAIT_POLICY so the CPU kernel runs fast
    from helpers.doctor import report_environment
except ModuleNotFoundError as missing:
    import sys

    class CourseNotInstalled(Exception):
        def _render_traceback_(self):  # Jupyter shows this message alone, no traceback
            return [str(self)]

    if "google.colab" in sys.modules:
        steps = (
            "Colab에서는 새 코드 셀에 아래 네 줄을 붙여 넣어 실행하고, 메뉴 [런타임] → [세션 다시 시작]을 누른 뒤\\n"
            "이 셀부터 다시 실행하세요.\\n\\n"
            f"!git clone -b student --depth 1 {{COURSE_REPO}} /content/dl-course\\n"
            "!python /content/dl-course/helpers/versions.py colab > /content/requirements-colab.txt\\n"
            "!pip install -q -r /content/requirements-colab.txt\\n"
            "!pip install -q --no-deps -e /content/dl-course\\n\\n"
            "Colab에서는 과정이 고정한 torch/torchvision 버전이 아니라 Colab에 설치된 버전을 씁니다\\n"
            "(numpy, pillow, matplotlib 등 Colab에 이미 있는 패키지도 지원 범위 안이면 그대로 둡니다)."
        )
    else:
        steps = (
            "메뉴 [Kernel] → [Change Kernel...]에서 'Python (dl-course)' 커널을 고르세요.\\n"
            "목록에 없으면 과정 폴더에서 터미널로 한 번 실행하세요 (README '시작하기'):\\n\\n"
            "    make lab"
        )
    raise CourseNotInstalled(
        f"과정 패키지가 설치되지 않은 환경입니다 (모듈 '{{missing.name}}' 없음).\\n{{steps}}"
    ) from None

report_environment()
'''


def first_cell_source(repo_url: str = COURSE_REPO_URL) -> str:
    """The source of the shared first code cell (no trailing newline, as Jupyter saves it).

    >>> first_cell_source().splitlines()[0] == MARKER
    True
    """
    return FIRST_CELL.format(marker=MARKER, repo=repo_url).rstrip("\n")


def cell_source(cell: dict) -> str:
    """A cell's text, whether the notebook stores it as one string or a list of lines."""
    source = cell["source"]
    return source if isinstance(source, str) else "".join(source)


def cell_tags(cell: dict) -> list[str]:
    """A cell's tags (``metadata.tags``), empty when it has none."""
    return cell.get("metadata", {}).get("tags", [])


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


CELL_ID = "environment-check"


def _cell(with_id: bool = True) -> dict:
    cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
            "source": _lines(first_cell_source())}
    if with_id:  # nbformat >= 4.5 notebooks give every cell an id
        cell = {"cell_type": "code", "execution_count": None, "id": CELL_ID, "metadata": {}, "outputs": [],
                "source": cell["source"]}
    return cell


def find_first_cell(cells: list[dict]) -> int | None:
    """Index of the managed cell (found by its marker line), or ``None``."""
    for index, cell in enumerate(cells):
        if cell["cell_type"] == "code" and "".join(cell["source"]).startswith(MARKER):
            return index
    return None


def apply(path: Path) -> bool:
    """Insert or refresh the first cell in one notebook; returns True if the file changed.

    Also gives every cell without an id a stable one and writes the JSON as Jupyter does.

    The cell replaces an existing managed cell where it is, or is inserted just before the
    first code cell (so it follows the title and the markdown that opens the lesson).
    """
    text = path.read_text(encoding="utf-8")
    notebook = json.loads(text)
    cells = notebook["cells"]
    with_id = (notebook.get("nbformat", 4), notebook.get("nbformat_minor", 0)) >= (4, 5)
    index = find_first_cell(cells)
    if index is not None:
        cells[index] = _cell(with_id)
    else:
        first_code = next((i for i, c in enumerate(cells) if c["cell_type"] == "code"), len(cells))
        cells.insert(max(first_code, 1), _cell(with_id))
    # The managed cell must be the first code cell: move it up if code came before it.
    index = find_first_cell(cells)
    first_code = next(i for i, c in enumerate(cells) if c["cell_type"] == "code")
    if first_code < index:
        cells.insert(first_code, cells.pop(index))
    if with_id:  # a cell without an id gets a stable one (else git's nbstripout filter adds random ones)
        taken = {c["id"] for c in cells if "id" in c}
        for number, cell in enumerate(cells):
            if "id" not in cell:
                cell_id = f"cell-{number}"
                while cell_id in taken:
                    cell_id += "x"
                cell["id"] = cell_id
                taken.add(cell_id)
    # the layout Jupyter and nbformat write (sorted keys), so saving in Jupyter changes nothing
    new = json.dumps(notebook, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    if new != text:
        path.write_text(new, encoding="utf-8")
        return True
    return False


def check(path: Path) -> str | None:
    """A message if the notebook's first code cell is not the shared cell, else ``None``."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    if not code or "".join(code[0]["source"]) != first_cell_source():
        try:
            path = path.resolve().relative_to(Path.cwd())
        except ValueError:
            pass
        return (f"{path}: 첫 코드 셀이 공통 환경 점검 셀과 다릅니다. 고치려면: "
                f".venv/bin/python scripts/lesson_cells.py apply {path}")
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("show", help="print the cell")
    for name in ("apply", "check"):
        p = sub.add_parser(name)
        p.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    if args.command == "show":
        print(first_cell_source())
        return 0
    if args.command == "apply":
        for path in args.notebooks:
            print(f"{path}: {'updated' if apply(path) else 'unchanged'}")
        return 0
    problems = [m for m in map(check, args.notebooks) if m]
    print("\n".join(problems) or "all first cells match")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
