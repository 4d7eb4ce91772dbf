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

**One parser for every answer.** A check never compares the raw answer: it first passes it
through one of the ``as_*`` functions below (``tests/test_exercises.py`` fails on a check that
does not), so every exercise accepts the same harmless forms and refuses the same non-answers:

- ``as_choice``: ``"b"``, ``"B"``, ``" (b) "``, ``"b)"`` are all choice ``"b"``;
- ``as_number`` / ``as_numbers``: Python, NumPy and 0-d tensor numbers (a tensor refused where
  the prompt asks for a plain number), never NaN or inf, a list whose items are counted, not its
  ``len()``;
- ``as_text``: Unicode-normalised (NFC) and stripped;
- ``as_function``: a callable, called on the check's own inputs; an error inside it is reported
  as the student's own, with the line of the student's code that raised it;
- ``as_instance``: an object of a given type (a model, an optimizer, a tensor).

A check that lends the lesson's objects to a student's function runs it inside
``restoring(...)``: hooks, ``requires_grad``, train/eval mode and torch's global defaults come
back as they were, and the check says so when it had to clean up, so a wrong try never poisons
the next one.

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
import linecache
import math
import numbers
import re
import sys
import traceback
import unicodedata
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from helpers.errors import ExerciseFailed, UnknownExercise

PASSED, NOT_SOLVED, WRONG = "통과", "아직 풀지 않음", "틀림"

_CHECKS: dict[str, Callable[..., None]] = {}
_predictions: dict[str, list[str]] = {}  # exercise id -> the choices ``judge_choice`` saw in this kernel, in order
_checking: list[str] = []  # the exercise ``check`` is running now


class Wrong(Exception):
    """Raised by a check function: the answer is not right; the message is the hint."""


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
        raise UnknownExercise(f"연습 문제 {exercise_id!r} 의 확인 함수가 없습니다 (helpers/exercises/lesson{lesson}.py).")
    return _CHECKS[exercise_id]


def check(exercise_id: str, answer: Any, **context: Any) -> Verdict:
    """Check a student's ``answer`` to exercise ``exercise_id``; print and return the verdict."""
    fn = _lookup(exercise_id)
    if answer is None:
        print(f"[{exercise_id}] {NOT_SOLVED}: 위의 TODO 셀을 채우고 실행한 뒤, 이 셀을 다시 실행하세요.")
        return Verdict(NOT_SOLVED)
    _checking.append(exercise_id)
    try:
        fn(answer, **context)
    except Wrong as hint:
        raise ExerciseFailed(f"[{exercise_id}] {WRONG}. 힌트: {hint}") from None
    except Exception as error:  # noqa: BLE001 - an answer of the wrong kind breaks the check itself
        raise ExerciseFailed(f"[{exercise_id}] {WRONG}. 답을 확인하다가 오류가 났습니다 "
                             f"({type(error).__name__}: {error}). 답의 종류와 모양을 확인하세요.") from None
    finally:
        _checking.pop()
    print(f"[{exercise_id}] {PASSED}")
    tried = _predictions.get(exercise_id, [])
    if tried and tried[0] != tried[-1]:
        print(f"[{exercise_id}] 처음 예측은 \"{tried[0]}\"였습니다. 그 예측이 놓친 것을 위 설명과 비교해 한 문장으로 적어 두세요.")
    return Verdict(PASSED)


# ----------------------------------------------------------------------------- answers
_CHOICE_NOISE = re.compile(r"""[\s()\[\]{}'".,:;]+""")
_HELPERS_DIR = str(Path(__file__).resolve().parent.parent)


def as_text(answer: Any, what: str = "답") -> str:
    """``answer`` as text: Unicode-normalised (NFC, so macOS's decomposed Hangul equals the rest), stripped."""
    if not isinstance(answer, str):
        raise Wrong(f"{what}에는 문자열(따옴표로 감싼 글)을 넣으세요. 지금은 {type(answer).__name__}입니다.")
    return unicodedata.normalize("NFC", answer).strip()


def as_choice(answer: Any, options: str, what: str = "답") -> str:
    """One of ``options`` (e.g. ``"abc"``), whatever its case, spaces, quotes or parentheses."""
    letters = ", ".join(f'"{o}"' for o in options)
    if not isinstance(answer, str):
        raise Wrong(f"{what}에는 {letters} 중 하나를 문자열로 넣으세요.")
    choice = _CHOICE_NOISE.sub("", unicodedata.normalize("NFKC", answer)).lower()
    if len(choice) != 1 or choice not in options.lower():
        raise Wrong(f"{what}에는 {letters} 중 하나만 넣으세요.")
    return choice


def judge_choice(choice: str, measured: str, questions: Mapping[str, str]) -> None:
    """A predict exercise's verdict: a ``choice`` other than the ``measured`` one gets the question kept
    for that choice (``questions[choice]``, else ``questions["else"]``), something to think about and
    never the measured value, so a second try cannot pass by copying it. The first choice made in
    this kernel is kept: once the prediction is right, ``check`` names it, so the student
    compares what they committed to with what happened."""
    if _checking:
        _predictions.setdefault(_checking[-1], []).append(choice)
    if choice != measured:
        raise Wrong(questions[choice] if choice in questions else questions["else"])


def as_number(answer: Any, what: str = "답", *, integer: bool = False, tensor: bool = True) -> float | int:
    """A finite number from Python, NumPy or (if ``tensor``) a one-element tensor.

    ``integer=True`` asks for a whole number (``12``, ``np.int64(12)`` and ``12.0`` are all 12).
    ``tensor=False`` refuses a tensor where the prompt asks for a plain number (``.item()``).
    """
    kind = "정수" if integer else "숫자"
    value = answer
    if _is_tensor(value):
        if not tensor:
            raise Wrong(f"{what}에는 텐서가 아니라 파이썬 {kind}를 넣으세요. 텐서에서 숫자를 꺼내는 메서드가 있습니다(.item()).")
        if value.numel() != 1:
            raise Wrong(f"{what}에는 {kind} 하나를 넣으세요. 지금은 원소가 {value.numel()}개인 텐서입니다.")
        value = value.item()
    elif hasattr(value, "item") and getattr(value, "shape", None) == ():   # a NumPy scalar or 0-d array
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise Wrong(f"{what}에는 {kind} 하나를 넣으세요. 지금은 {type(answer).__name__}입니다.")
    value = float(value)
    if not math.isfinite(value):
        raise Wrong(f"{what}이(가) {value}입니다. 계산 어딘가에서 nan이나 inf가 나왔습니다. 0으로 나누거나 log(0)을 하지 않았는지 보세요.")
    if integer:
        if value != int(value):
            raise Wrong(f"{what}에는 정수를 넣으세요. 지금은 {value}입니다.")
        return int(value)
    return value


def as_numbers(answer: Any, what: str = "답", *, length: int | None = None, integer: bool = False,
               tensor: bool = True) -> list:
    """A non-empty list of finite numbers (``as_number`` for each item) from a list, tuple, array or 1-d tensor.

    The items are counted as they are read, so an object whose ``len()`` says otherwise cannot pass;
    ``length`` is the count the prompt asks for.
    """
    if isinstance(answer, (str, bytes, dict)) or not hasattr(answer, "__iter__"):
        raise Wrong(f"{what}에는 숫자의 리스트를 넣으세요. 지금은 {type(answer).__name__}입니다.")
    if _is_tensor(answer) and answer.dim() != 1:
        raise Wrong(f"{what}에는 1차원 숫자 목록을 넣으세요. 지금은 모양 {tuple(answer.shape)}인 텐서입니다.")
    items = []
    for item in answer:
        items.append(as_number(item, f"{what}의 {len(items) + 1}번째 값", integer=integer, tensor=tensor))
        if length is not None and len(items) > length:
            break
    if not items:
        raise Wrong(f"{what}이(가) 비어 있습니다. 값을 하나씩 append 했는지 보세요.")
    if length is not None and len(items) != length:
        raise Wrong(f"{what}에는 값이 {length}개 있어야 합니다. 지금은 {'그보다 많습니다' if len(items) > length else f'{len(items)}개입니다'}.")
    return items


def as_instance(answer: Any, kind: type | tuple[type, ...], what: str = "답", name: str | None = None) -> Any:
    """``answer`` itself, if it is a ``kind`` (a model, an optimizer, a tensor, a list ...)."""
    if not isinstance(answer, kind):
        wanted = name or (kind.__name__ if isinstance(kind, type) else " 또는 ".join(k.__name__ for k in kind))
        raise Wrong(f"{what}에는 {wanted}을(를) 넣으세요. 지금은 {type(answer).__name__}입니다.")
    return answer


def as_function(answer: Any, what: str = "답", name: str = "함수") -> Callable[..., Any]:
    """``answer`` as a function the check calls on its own inputs. An error raised inside the
    student's code becomes a ``Wrong`` that names the error and the student's line that raised it."""
    if not callable(answer) or isinstance(answer, type):
        raise Wrong(f"{what}에는 {name} 자체를 넣으세요(호출한 결과가 아니라 괄호 없이 이름만: {what} = {name}).")

    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return answer(*args, **kwargs)
        except Wrong:
            raise
        except Exception as error:  # noqa: BLE001 - the student's own error, reported as theirs
            raise Wrong(f"{name}이(가) 오류를 냈습니다: {type(error).__name__}: {error}{_student_line(error)}. "
                        "그 줄에서 텐서의 모양, 장치, 인자의 순서를 확인하세요.") from None
    return call


def _student_line(error: BaseException) -> str:
    """`` (셀의 N번째 줄: code)`` for the innermost frame of ``error`` outside helpers/ and installed packages."""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        name = frame.filename or ""
        if name.startswith(_HELPERS_DIR) or "site-packages" in name or name.startswith(sys.prefix) \
                or "/tests/fakegpu/" in name:  # the course's own code and the test's stand-in GPU: not the student's
            continue
        line = (frame.line or linecache.getline(name, frame.lineno or 0)).strip()
        return f" (당신의 코드 {frame.lineno}번째 줄: {line})" if line else f" (당신의 코드 {frame.lineno}번째 줄)"
    return ""


def _is_tensor(value: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


@contextmanager
def restoring(*modules: Any) -> Iterator[list[str]]:
    """Inside: a student's code may change ``modules`` (hooks, ``requires_grad``, train/eval mode) and
    torch's global defaults (grad mode, default dtype). After: all of it as it was. Yields a list
    the check can read; it holds what had to be put back (and a line saying so is printed)."""
    import torch

    def snapshot():
        state = {"grad mode": torch.is_grad_enabled(), "default dtype": torch.get_default_dtype()}
        for i, module in enumerate(modules):
            for name, sub in module.named_modules():
                state[(i, name, "training")] = sub.training
                for attr in ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks"):
                    state[(i, name, attr)] = dict(getattr(sub, attr, {}))
            for name, param in module.named_parameters():
                state[(i, name, "requires_grad")] = param.requires_grad
        return state

    before = snapshot()
    changed: list[str] = []
    try:
        yield changed
    finally:
        after = snapshot()
        torch.set_grad_enabled(before["grad mode"])
        torch.set_default_dtype(before["default dtype"])
        for i, module in enumerate(modules):
            subs = dict(module.named_modules())
            params = dict(module.named_parameters())
            for key, value in before.items():
                if isinstance(key, tuple) and key[0] == i:
                    _, name, attr = key
                    if attr == "training" and name in subs:
                        subs[name].training = value
                    elif attr == "requires_grad" and name in params:
                        params[name].requires_grad_(value)
                    elif attr.startswith("_") and name in subs:
                        hooks = getattr(subs[name], attr)
                        hooks.clear()
                        hooks.update(value)
        labels = {"training": "train/eval 모드", "requires_grad": "requires_grad", "grad mode": "torch.is_grad_enabled()",
                  "default dtype": "torch.get_default_dtype()"}
        for key in before:
            if before[key] != after.get(key):
                attr = key if isinstance(key, str) else key[2]
                what = labels.get(attr, "훅(hook)")
                if what not in changed:
                    changed.append(what)
        if changed:
            print("참고: 확인하면서 당신의 코드가 바꿔 둔 상태를 원래대로 되돌렸습니다 (" + ", ".join(changed) + "). "
                  "셀을 고쳐 다시 실행하면 됩니다.")
