"""How long one lesson takes: the 90-minute class and the homework after it, estimated from the notebook.

The one place that states the method (README "무엇이 들어 있나" quotes it; tests/test_lesson_design.py
asserts every lesson's class fits 90 minutes). The class is reading, running and the core-mechanism
cells ("직접 구현"); the exercises ("연습 문제") are homework. Each rate, and where it comes from:

- Korean prose: every markdown word (어절, a space-separated unit, the unit Korean reading-speed
  studies count) at ``PROSE_WORDS_PER_MIN`` = 135. Source: adults read easy Korean sentences
  silently at 202.3 어절 a minute (Rhiu, Kim, Kim, Lee & Lim 2017, "Korean Version Self-testing
  Application for Reading Speed", Korean J Ophthalmol 31(3), doi:10.3341/kjo.2016.0042: 2nd-grade
  textbook sentences, 65 adults); reading to learn runs at 2/3 of ordinary reading (Carver 1992,
  "Reading rate: theory, research, and practical implications", J. Reading 36(2): the learning
  process 200 words a minute against rauding 300). 202.3 x 2/3 = 135. The same rate reads what
  the cells print.
- Code: every non-blank line of a code cell the student reads (not the solutions, the shared
  environment-check cell or the self-check cell) at ``CODE_LINES_PER_MIN`` = 500/60. Source: the
  SmartBear/Cisco review study (Cohen 2006, "Best Kept Secrets of Peer Code Review", ch. "Brand
  New Information": reviewers who went faster than about 500 lines an hour stopped finding
  defects), the fastest rate at which a reader still follows every line.
- Running: each cell's run time as measured on the student's path (the student edition, CPU,
  PyTorch's default thread count, 2 cores: ``CELL_SECONDS``, written by ``--record`` from the
  executed editions of ``make test``), plus its printed text at the prose rate, plus
  ``FIGURE_MIN`` (0.5) for each cell that draws a figure.
- Writing (core-mechanism cells in class; write exercises at home): ``WRITE_MIN_PER_LINE`` (1.5)
  per line of the reference solution that does the work (not blank, not a comment, not the
  ``answer_... =`` hand-in or a ``print``), at least ``WRITE_MIN_FLOOR`` (5);
  a predict exercise ``PREDICT_MIN`` (5: commit, run, compare, say why), an explain exercise
  ``EXPLAIN_MIN`` (6). No study measures exercises like these, so these three are the course's
  stated assumptions, to be replaced by timings from a real class. The one outside figure to
  hold them against: a teacher estimated 01, 02, 06 and 07 at 100-130 minutes in all (issue 24);
  this estimate puts them at 93-132.

The estimate reads the notebook as git stores it and the committed measurements, so it needs no
kernel and takes milliseconds.

>>> python scripts/class_time.py                                          # minutes per lesson
>>> python scripts/class_time.py --record outputs/lessons/student/*.ipynb  # after `make test`
"""
from __future__ import annotations

import functools
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from helpers.selfcheck import SELF_CHECK_PASSED  # noqa: E402
from lesson_cells import CELL_ID, cell_source, cell_tags  # noqa: E402

CELL_SECONDS = ROOT / "benchmarks" / "results" / "cell_seconds.json"
PROSE_WORDS_PER_MIN = 202.3 * 2 / 3
CODE_LINES_PER_MIN = 500 / 60
FIGURE_MIN = 0.5
WRITE_MIN_PER_LINE = 1.5
WRITE_MIN_FLOOR = 5
PREDICT_MIN = 5
EXPLAIN_MIN = 6
CLASS_MIN = 90
MECHANISM = "mechanism"
EXERCISE_TAGS = ("exercise-write", "exercise-predict", "exercise-explain")
FIGURE = re.compile(r"\bplt\.|\bplot_\w+\(|\bshow_\w+\(|\.imshow\(")


def _words(text: str) -> int:
    return len(text.split())


def _written_lines(cell: dict) -> int:
    """Lines of a reference solution that do the work: not blank, not a comment, not the
    ``answer_... =`` hand-in or a ``print``."""
    lines = [line.strip() for line in cell_source(cell).splitlines()]
    return sum(1 for line in lines if line and not line.startswith(("#", "print(", "answer_")))


def _task_kind(cell: dict) -> str | None:
    return next((t for t in cell_tags(cell) if t == MECHANISM or t in EXERCISE_TAGS), None)


def writing_minutes(kind: str, solution: dict) -> float:
    """Minutes of work on one task of ``kind`` whose reference solution is ``solution``."""
    if kind in (MECHANISM, "exercise-write"):
        return max(WRITE_MIN_FLOOR, WRITE_MIN_PER_LINE * _written_lines(solution))
    return PREDICT_MIN if kind == "exercise-predict" else EXPLAIN_MIN


def estimate(cells: list[dict], measured: dict[str, dict] | None = None) -> dict[str, float]:
    """Minutes per part of the class (``prose``, ``code``, ``run``, ``mechanisms``), the ``class``
    total and the ``homework`` (the exercises: their task text and the work). ``measured`` maps a
    code cell's id to ``{"seconds", "printed_words"}``; a cell without it counts no run time."""
    measured = measured or {}
    parts = dict.fromkeys(("prose", "code", "run", "mechanisms", "homework"), 0.0)
    task, closing = None, False  # the kind of the task whose cells we are in, until its check cell
    for cell in cells:
        kind = _task_kind(cell)
        if kind is not None:
            task = kind
        homework = task in EXERCISE_TAGS
        if closing and cell["cell_type"] == "code":  # the check cell after a solution closes the task
            task, closing = None, False
        if cell["cell_type"] == "markdown":
            parts["homework" if homework else "prose"] += _words(cell_source(cell)) / PROSE_WORDS_PER_MIN
            continue
        if "solution" in cell_tags(cell):
            parts["homework" if homework else "mechanisms"] += writing_minutes(task, cell)
            closing = True
            continue
        if homework or cell.get("id") == CELL_ID:
            continue
        if SELF_CHECK_PASSED not in cell_source(cell):
            parts["code"] += sum(1 for line in cell_source(cell).splitlines() if line.strip()) / CODE_LINES_PER_MIN
        ran = measured.get(cell.get("id"), {})
        parts["run"] += (ran.get("seconds", 0.0) / 60 + ran.get("printed_words", 0) / PROSE_WORDS_PER_MIN
                         + (FIGURE_MIN if FIGURE.search(cell_source(cell)) else 0.0))
    parts["class"] = parts["prose"] + parts["code"] + parts["run"] + parts["mechanisms"]
    return parts


@functools.cache
def measurements() -> dict[str, dict]:
    """The committed per-cell measurements: ``{lesson file name: {cell id: {...}}}`` (read once)."""
    return json.loads(CELL_SECONDS.read_text(encoding="utf-8")) if CELL_SECONDS.exists() else {}


def lesson_minutes(path: Path) -> dict[str, float]:
    """``estimate`` of one lesson file (outputs play no part, so the working copy is fine)."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return estimate(cells, measurements().get(path.name, {}))


def record(executed: list[Path]) -> dict[str, dict]:
    """Per code cell of each executed student edition: its run time (nbclient's execution
    timestamps) and the words it printed. Written to ``CELL_SECONDS``."""
    from datetime import datetime

    def stamp(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    found = dict(measurements())
    for path in executed:
        nb = json.loads(path.read_text(encoding="utf-8"))
        cells = {}
        for cell in nb["cells"]:
            timing = cell.get("metadata", {}).get("execution", {})
            if cell["cell_type"] != "code" or "shell.execute_reply" not in timing:
                continue
            seconds = (stamp(timing["shell.execute_reply"]) - stamp(timing["iopub.execute_input"])).total_seconds()
            printed = "".join("".join(o.get("text", "")) for o in cell.get("outputs", []))  # str or list of lines
            cells[cell["id"]] = {"seconds": round(seconds, 2), "printed_words": _words(printed)}
        found[path.name] = cells
    CELL_SECONDS.write_text(json.dumps(found, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    measurements.cache_clear()
    return found


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--record"]:
        record([Path(a) for a in argv[1:]])
        print(f"wrote {CELL_SECONDS.relative_to(ROOT)}")
        return 0
    paths = [Path(a) for a in argv] or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    print(f"{'lesson':<34}{'prose':>7}{'code':>7}{'run':>7}{'mech.':>7}{'class':>7}{'home':>7}{'all':>6}")
    for path in paths:
        m = lesson_minutes(path)
        flag = "" if m["class"] <= CLASS_MIN else f"  > {CLASS_MIN}"
        print(f"{path.name:<34}" + "".join(f"{m[k]:7.0f}" for k in ("prose", "code", "run", "mechanisms", "class", "homework"))
              + f"{m['class'] + m['homework']:6.0f}{flag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
