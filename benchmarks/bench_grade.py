"""How long ``course-grade`` takes for a class: N submissions of one lesson, graded in parallel.

    .venv/bin/python benchmarks/bench_grade.py                 # 40 submissions of lesson 05, jobs = cores
    .venv/bin/python benchmarks/bench_grade.py --count 10 --lesson 05 --jobs 2

The submissions are built from the lesson itself, a third each: the instructor notebook (all
correct), the student edition (nothing solved) and the student edition with one exercise solved.
Prints the wall time, the time per submission and the load average before and after (the figure
means little on a busy machine), and writes them to ``outputs/bench/grade.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from classroom.grading import grade, plan, sandbox
from helpers.exercises import PASSED
from helpers.paths import output_dir


def build_submissions(lesson: str, count: int, folder: Path) -> None:
    nb = json.loads(plan.lesson_path(lesson).read_text(encoding="utf-8"))
    solution = [c for c in nb["cells"] if "solution" in c.get("metadata", {}).get("tags", [])]
    student = {**nb, "cells": [c for c in nb["cells"] if c not in solution]}
    one = {**nb, "cells": [c for c in nb["cells"] if c not in solution[1:]]}  # the first exercise solved
    kinds = [nb, student, one]
    for i in range(count):
        (folder / f"2026{i:03d}_학생{i}.ipynb").write_text(json.dumps(kinds[i % 3], ensure_ascii=False), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lesson", default="05")
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-grade-") as tmp:
        subs, out = Path(tmp) / "submissions", Path(tmp) / "out"
        subs.mkdir()
        build_submissions(args.lesson, args.count, subs)
        load_before = os.getloadavg()
        started = time.monotonic()
        results = grade.grade_folder(args.lesson, subs, out, grade.Options(), args.jobs)
        seconds = time.monotonic() - started
        load_after = os.getloadavg()
    passed = sum(v == PASSED for r in results for v, _ in r.verdicts.values())
    figures = {"lesson": args.lesson, "submissions": len(results), "jobs": args.jobs, "cores": os.cpu_count(),
               "cgroups": sandbox.cgroups_work(), "seconds": round(seconds, 1),
               "seconds_per_submission": round(seconds / max(1, len(results)), 2),
               "mean_submission_seconds": round(sum(r.seconds for r in results) / max(1, len(results)), 2),
               "verdicts_passed": passed, "load_before": [round(x, 2) for x in load_before],
               "load_after": [round(x, 2) for x in load_after]}
    (output_dir("bench") / "grade.json").write_text(json.dumps(figures, indent=1), encoding="utf-8")
    print(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
