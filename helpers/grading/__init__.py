"""Grading submitted notebooks safely: ``course-grade`` (``make grade LESSON=05 SUBMISSIONS=dir``).

For the instructor, not the students (the lessons never import it). Modules:

- ``helpers.grading.plan``     the pristine lesson's check cells and the run plan of one submission
- ``helpers.grading.sandbox``  one process in bubblewrap (or the weaker fallback) with limits
- ``helpers.grading.runner``   runs inside the sandbox: the submission's cells, then captures answers
- ``helpers.grading.checker``  runs inside a second, fresh sandbox: the course's own checks on them
- ``helpers.grading.grade``    one submission end to end, all of them in parallel, the CLI
- ``helpers.grading.report``   the CSV, the sortable HTML table and the feedback files

Design (README, 강사용, "Grading"): the submission's own check cells are never trusted. The grader
re-inserts the lesson's pristine check cells at their places; there they do not call ``check`` but
save the answer to a file. A separate fresh interpreter, started by the grader, runs the checks of
``helpers.exercises`` on those files: an answer that is plain data (numbers, lists, tensors) is
loaded with ``torch.load(weights_only=True)``, so no student code runs there at all; an answer
that is code (a function, a model) has to run to be checked, and that happens after the data
verdicts are already reported, in a process of that submission alone. Nothing a submission
prints is read as a verdict.
"""
from helpers.exercises import NOT_SOLVED, PASSED, WRONG

FAILED = "실행 실패"
VERDICTS = (PASSED, WRONG, NOT_SOLVED, FAILED)
