"""Each exercise's solution as the grader sees it: crossed as data, checked there, 통과 (``make test``).

``course-grade`` never hands a student's objects to the checks. Its runner encodes each check's
answer and named values (``classroom.grading.runner.answer_records``: models, loaders, tensors and
functions as data, big tensors as blobs); its checker rebuilds them in another process and checks
them (``checker.run_check``). ``tests/test_lessons.py`` runs this in the instructor edition's kernel
after the lesson, so every lesson's real objects make that crossing (decoded on the code route, which
also rebuilds answers that hold a function): an exercise whose solution passes in the notebook but
would not pass through the grader fails the test and is named.
"""
from __future__ import annotations

import json

from lesson_runs import run_cell_output

CODE = r'''
def _course_crossing(sources):
    import json, pathlib, shutil, signal, tempfile
    from classroom.grading import checker
    from classroom.grading.answers import decode
    from classroom.grading.runner import answer_records

    blobs = pathlib.Path(tempfile.mkdtemp())
    previous = signal.signal(signal.SIGALRM, checker._alarm)
    verdicts = {}
    try:
        for source in sources:
            for exercise_id, text, error in answer_records(source, get_ipython().user_ns,
                                                           lambda name, raw: (blobs / name).write_bytes(raw)):
                verdicts[exercise_id] = {"verdict": "not crossed", "detail": error} if text is None else \
                    checker.run_check(exercise_id, decode(text, code=True, blobs=blobs), 120)
    finally:
        signal.signal(signal.SIGALRM, previous)
        shutil.rmtree(blobs)
    print("CROSSED " + json.dumps(verdicts, ensure_ascii=False))


_course_crossing(SOURCES)
del _course_crossing
'''


def run_crossing(client, nb) -> dict[str, dict]:
    """``{exercise id: the checker's result}`` for every check cell of ``nb``, run in ``client``'s kernel."""
    from classroom.grading.plan import split_check_cell

    sources = [split_check_cell(c.source)[1] for c in nb.cells if c.cell_type == "code"]  # the calls only:
    sources = [s for s in sources if s]                                                  # the lesson ran the rest
    printed, error = run_cell_output(client, nb, CODE.replace("SOURCES", repr(sources)))
    assert error is None, f"the crossing cell failed: {error}"
    line = [x for x in printed.splitlines() if x.startswith("CROSSED ")]
    assert line, f"the crossing cell printed no result:\n{printed[-2000:]}"
    return json.loads(line[-1][len("CROSSED "):])
