"""Grading submitted notebooks safely: ``course-grade`` (``make grade LESSON=05 SUBMISSIONS=dir``).

- ``classroom.grading.plan``     the pristine lesson's check cells and the run plan of one submission
- ``classroom.grading.sandbox``  bubblewrap without privileges, the student edition only, cgroup limits
- ``classroom.grading.runner``   runs inside the first sandbox: the submission's cells; answers out as JSON
- ``classroom.grading.answers``  the JSON form of an answer (data only; functions as source text)
- ``classroom.grading.checker``  runs inside a second, fresh sandbox: the course's own checks on them
- ``classroom.grading.grade``    one submission end to end, all of them in parallel, the CLI
- ``classroom.grading.report``   the CSV, the sortable HTML table and the feedback files

Design (README, 강사용, "From handing out to the grade table"): the submission's own check cells are
never trusted; the lesson's pristine check cells are put back, and there they only send the answer,
as JSON, over a pipe the grader reads with bounds. The grader writes those answers into a folder a
second sandbox reads, where ``checker`` runs ``helpers.exercises.check``; only the checker's own
lines are verdicts. Nothing a submission prints or sends is read as a verdict, and nothing that
crosses to the grader is code.
"""
from helpers.exercises import NOT_SOLVED, PASSED, WRONG

FAILED = "실행 실패"
VERDICTS = (PASSED, WRONG, NOT_SOLVED, FAILED)
