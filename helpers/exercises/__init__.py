"""Exercises that check themselves: 통과 / 아직 풀지 않음 / 틀림, with a hint that keeps the answer hidden.

Each exercise in a lesson is four cells, in this order::

    task (markdown)
    student cell      answer_1 = None  # TODO: ...
    solution cell     answer_1 = ...   (tagged ``solution``; removed from the student edition)
    check cell        check("02.1", answer_1, model=model)

The expected results live here, one small function per exercise in
``helpers/exercises/lessonNN.py``, registered with ``@exercise("NN.k")``; the notebook's
check cell shows no answer. A check function raises ``Wrong("hint")`` when the answer is
not right; the hint must help without giving the answer away.

- ``answer is None``: prints "아직 풀지 않음" and returns; the rest of the lesson still runs.
- right: prints "통과".
- wrong: raises ``ExerciseFailed`` ("틀림" + the hint); IPython shows only that message,
  no traceback, and the notebook (or nbval) stops there, so a failing check fails the lesson.
  An answer of the wrong kind that makes the check itself fail (a ``TypeError`` ...) is a wrong
  answer too, reported with the error's name and message.

Why not otter-grader: its ``otter assign`` builds student notebooks from a master with its own
cell syntax, and its checks print English test reports; here the lessons in ``notebooks/`` stay
plain Jupyter notebooks that nbval and the editions run as they are, the verdicts are one Korean
line, and nothing but this file and ``lessonNN.py`` is needed (offline, no grading server).

>>> from helpers.exercises import check
>>> check("02.1", answer_1)
[02.1] 통과
"""
from __future__ import annotations

import importlib
from typing import Any, Callable

PASSED, NOT_SOLVED, WRONG = "통과", "아직 풀지 않음", "틀림"

_CHECKS: dict[str, Callable[..., None]] = {}


class Wrong(Exception):
    """Raised by a check function: the answer is not right; the message is the hint."""


class ExerciseFailed(AssertionError):
    """A wrong answer. Shown in Jupyter as the Korean verdict alone (no traceback)."""

    def _render_traceback_(self) -> list[str]:  # IPython's hook for custom error display
        return [str(self)]


class Verdict(str):
    """The verdict ``check`` returns: a plain string (``== PASSED``) that Jupyter does not echo
    as ``Out[n]`` under the line ``check`` already printed."""

    def _ipython_display_(self) -> None:
        pass


def exercise(exercise_id: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register ``fn(answer, **context)`` as the check of ``exercise_id`` (``"NN.k"``)."""
    def register(fn: Callable[..., None]) -> Callable[..., None]:
        _CHECKS[exercise_id] = fn
        return fn
    return register


def registered_ids(lesson: str) -> set[str]:
    """The exercise ids of lesson ``"NN"`` that have a check (imports ``lessonNN`` if needed)."""
    try:
        importlib.import_module(f"helpers.exercises.lesson{lesson}")
    except ModuleNotFoundError as error:
        if error.name != f"helpers.exercises.lesson{lesson}":
            raise
    return {key for key in _CHECKS if key.split(".")[0] == lesson}


def _lookup(exercise_id: str) -> Callable[..., None]:
    lesson = exercise_id.split(".")[0]
    if exercise_id not in _CHECKS:
        registered_ids(lesson)
    if exercise_id not in _CHECKS:
        raise KeyError(f"연습 문제 {exercise_id!r} 의 확인 함수가 없습니다 (helpers/exercises/lesson{lesson}.py).")
    return _CHECKS[exercise_id]


def check(exercise_id: str, answer: Any, **context: Any) -> Verdict:
    """Check a student's ``answer`` to exercise ``exercise_id``; print and return the verdict."""
    fn = _lookup(exercise_id)
    if answer is None:
        print(f"[{exercise_id}] {NOT_SOLVED}: 위의 TODO 셀을 채우고 실행한 뒤, 이 셀을 다시 실행하세요.")
        return Verdict(NOT_SOLVED)
    try:
        fn(answer, **context)
    except Wrong as hint:
        raise ExerciseFailed(f"[{exercise_id}] {WRONG}. 힌트: {hint}") from None
    except Exception as error:  # noqa: BLE001 - an answer of the wrong kind breaks the check itself
        raise ExerciseFailed(f"[{exercise_id}] {WRONG}. 답을 확인하다가 오류가 났습니다 "
                             f"({type(error).__name__}: {error}). 답의 종류와 모양을 확인하세요.") from None
    print(f"[{exercise_id}] {PASSED}")
    return Verdict(PASSED)
