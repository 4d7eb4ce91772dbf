"""Every exercise check tried with answers its author did not write (``make test``).

One data file per lesson, ``tests/exercise_fixtures/lessonNN.toml``, holds a ``[[fixture]]``
table per answer: for each exercise at least three right answers written differently from the
solution (other APIs, types, orders, forms) and at least three common mistakes, each with the hint
that mistake must get. They are data, not code: the mistakes are deliberately the right answer
with one line changed, and each ``answer`` is the exact text a student would type.

``tests/test_lessons.py`` runs them in the instructor edition's kernel, after the lesson (so the
lesson's objects are there) and after its mutation tests, cheaply: per exercise,

1. the solution's answer is kept aside;
2. each fixture's code runs (it sets the answer variable), then the lesson's own check cell:
   a right fixture must print "[NN.k] 통과"; a mistake must stop with "[NN.k] 틀림" and its hint
   text (``hint``, a substring of the hint the check wrote for that mistake);
3. the solution's answer is put back and the check must say 통과 again: a wrong try never
   poisons the next (hooks left behind, ``requires_grad``, train/eval mode, global defaults).
"""
from __future__ import annotations

import ast
import tomllib
from dataclasses import dataclass
from pathlib import Path

RIGHT = None  # the ``hint`` of a right answer


@dataclass(frozen=True)
class Fixture:
    exercise: str            # "05.2"
    answer: str              # code run in the lesson's kernel; sets the exercise's answer variable
    hint: str | None = RIGHT  # None: must pass; else a substring of the hint the check must give
    why: str = ""            # the form or the mistake it stands for


def fixture_file(lesson: str) -> Path:
    return Path(__file__).with_name(f"lesson{lesson}.toml")


def fixtures(lesson: str) -> list[Fixture]:
    """Lesson ``"NN"``'s fixtures (an empty list if the lesson has no fixture file)."""
    path = fixture_file(lesson)
    if not path.exists():
        return []
    return [Fixture(**table) for table in tomllib.loads(path.read_text(encoding="utf-8"))["fixture"]]


def check_cell(nb, exercise_id: str) -> str:
    """The source of the lesson's check cell for ``exercise_id`` (not a solution cell)."""
    found = [c.source for c in nb.cells if c.cell_type == "code" and "solution" not in c.metadata.get("tags", [])
             and any(_check_id(call) == exercise_id for call in _check_calls(c.source))]
    assert len(found) == 1, f"exercise {exercise_id}: expected one check cell, found {len(found)}"
    return found[0]


def answer_variable(source: str, exercise_id: str) -> str:
    """The name passed as the answer in ``check("NN.k", name, ...)``."""
    for call in _check_calls(source):
        if _check_id(call) == exercise_id:
            assert len(call.args) >= 2 and isinstance(call.args[1], ast.Name), \
                f"exercise {exercise_id}: the check's answer should be a variable name"
            return call.args[1].id
    raise AssertionError(f"no check call for {exercise_id}")


def _check_calls(source: str) -> list[ast.Call]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "check"]


def _check_id(call: ast.Call):
    return call.args[0].value if call.args and isinstance(call.args[0], ast.Constant) else None


def run_fixtures(client, nb, lesson: str) -> dict[str, dict[str, int]]:
    """Run lesson ``lesson``'s fixtures in ``client``'s kernel; per exercise, how many right and
    wrong fixtures gave the expected verdict (any other outcome fails, naming the fixture)."""
    from lesson_runs import run_cell, run_cell_output

    counts: dict[str, dict[str, int]] = {}
    by_exercise: dict[str, list[Fixture]] = {}
    for fixture in fixtures(lesson):
        by_exercise.setdefault(fixture.exercise, []).append(fixture)
    for exercise_id, group in by_exercise.items():
        source = check_cell(nb, exercise_id)
        variable = answer_variable(source, exercise_id)
        assert run_cell(client, nb, f"_fixture_kept = {variable}") is None
        tally = counts.setdefault(exercise_id, {"right": 0, "wrong": 0})
        for fixture in group:
            where = f"exercise {exercise_id}, fixture {fixture.why or fixture.answer[:60]!r} (tests/exercise_fixtures/{fixture_file(lesson).name})"
            text, error = run_cell_output(client, nb, fixture.answer)
            assert error is None, f"{where}: the fixture's own code failed: {error['ename']}: {error['evalue'][:400]}"
            text, error = run_cell_output(client, nb, source)
            if fixture.hint is RIGHT:
                assert error is None and f"[{exercise_id}] 통과" in text, \
                    f"{where}: a right answer was not accepted: {(error or {}).get('evalue', text)[:600]}"
                tally["right"] += 1
            else:
                assert error is not None and f"[{exercise_id}] 틀림" in error["evalue"], \
                    f"{where}: a mistake was not rejected: {text[:300]}"
                assert fixture.hint in error["evalue"], \
                    f"{where}: rejected, but not with the hint for this mistake ({fixture.hint!r}): {error['evalue'][:600]}"
                tally["wrong"] += 1
        text, error = run_cell_output(client, nb, f"{variable} = _fixture_kept\ndel _fixture_kept\n" + source)
        assert error is None and f"[{exercise_id}] 통과" in text, (
            f"exercise {exercise_id}: after the fixtures the solution's answer is no longer accepted "
            f"(a wrong try poisoned the next): {(error or {}).get('evalue', text)[:600]}")
    return counts
