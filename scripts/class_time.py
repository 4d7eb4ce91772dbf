"""How long one lesson takes in class: reading, running and exercises, estimated from the notebook.

The one place that states the method (README "무엇이 들어 있나" quotes it; tests/test_lesson_design.py
asserts every lesson fits a 90-minute class):

- Korean prose: every markdown character that is not white space, read at ``PROSE_CHARS_PER_MIN``
  (400 characters a minute: careful reading of new technical text, slower than the 500-600 of
  everyday silent reading);
- code: every non-blank line of a code cell the student reads (not the solution cells, not the
  shared environment-check cell, not the self-check cell, which is run, not studied), read at
  ``CODE_LINES_PER_MIN`` (12 lines a minute: reading code once, aloud, while running it);
- running: ``RUN_MIN_PER_CELL`` (0.25 minutes, 15 s) per code cell to run it and look at its output;
- exercises: ``EXERCISE_MIN`` minutes per exercise by kind (write 10, predict 5, explain 6, untagged 8)
  and ``MECHANISM_MIN`` (10) per core-mechanism cell ("직접 구현").

The estimate reads the notebook as git stores it, so it needs no kernel and takes milliseconds.

>>> python scripts/class_time.py            # minutes per lesson
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROSE_CHARS_PER_MIN = 400
CODE_LINES_PER_MIN = 12
RUN_MIN_PER_CELL = 0.25
EXERCISE_MIN = {"exercise-write": 10, "exercise-predict": 5, "exercise-explain": 6, None: 8}
MECHANISM_MIN = 10
CLASS_MIN = 90
ENV_CELL_ID = "environment-check"
SELF_CHECK = "자기 점검 통과"
CHECK_ID = re.compile(r"""\bcheck\(\s*["']\d\d\.(M?)\d+["']""")


def _src(cell: dict) -> str:
    source = cell["source"]
    return source if isinstance(source, str) else "".join(source)


def _tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def estimate(cells: list[dict]) -> dict[str, float]:
    """Minutes per part (``prose``, ``code``, ``run``, ``exercises``) and their ``total``."""
    prose = sum(len(re.sub(r"\s", "", _src(c))) for c in cells if c["cell_type"] == "markdown")
    shown = [c for c in cells if c["cell_type"] == "code" and "solution" not in _tags(c)
             and c.get("id") != ENV_CELL_ID]
    code_lines = sum(1 for c in shown if SELF_CHECK not in _src(c) for line in _src(c).splitlines() if line.strip())
    exercises = 0.0
    for i, cell in enumerate(cells):
        if "solution" not in _tags(cell) or i + 1 >= len(cells):
            continue
        match = CHECK_ID.search(_src(cells[i + 1]))
        if match and match.group(1) == "M":
            exercises += MECHANISM_MIN
            continue
        kinds = {t for c in cells[max(0, i - 4):i] for t in _tags(c) if t in EXERCISE_MIN}
        exercises += EXERCISE_MIN[kinds.pop() if len(kinds) == 1 else None]
    parts = {"prose": prose / PROSE_CHARS_PER_MIN, "code": code_lines / CODE_LINES_PER_MIN,
             "run": len(shown) * RUN_MIN_PER_CELL, "exercises": exercises}
    parts["total"] = sum(parts.values())
    return parts


def lesson_minutes(path: Path) -> dict[str, float]:
    """``estimate`` of one lesson file (outputs play no part, so the working copy is fine)."""
    return estimate(json.loads(path.read_text(encoding="utf-8"))["cells"])


def main(argv: list[str] | None = None) -> int:
    paths = [Path(a) for a in (argv or [])] or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    print(f"{'lesson':<34}{'prose':>7}{'code':>7}{'run':>7}{'ex.':>7}{'total':>8}")
    for path in paths:
        m = lesson_minutes(path)
        flag = "" if m["total"] <= CLASS_MIN else f"  > {CLASS_MIN}"
        print(f"{path.name:<34}{m['prose']:7.0f}{m['code']:7.0f}{m['run']:7.0f}{m['exercises']:7.0f}{m['total']:8.0f}{flag}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
