"""helpers.exercises: 통과 / 아직 풀지 않음 / 틀림, hints without the answer, no traceback in Jupyter."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from helpers import exercises
from helpers.exercises import NOT_SOLVED, PASSED, WRONG, ExerciseFailed, Wrong, check, exercise


@exercise("99.1")
def _double(answer, x=2):
    if answer != 2 * x:
        raise Wrong("두 배가 맞는지 보세요.")


@exercise("99.2")
def _length(answer):
    if len(answer) != 3:  # TypeError for an answer without a length
        raise Wrong("세 개여야 합니다.")


def test_right_answer_passes(capsys):
    assert check("99.1", 4) == PASSED
    assert capsys.readouterr().out.strip() == f"[99.1] {PASSED}"


def test_context_reaches_the_check(capsys):
    assert check("99.1", 10, x=5) == PASSED
    with pytest.raises(ExerciseFailed):
        check("99.1", 4, x=5)


def test_unsolved_reports_and_does_not_raise(capsys):
    assert check("99.1", None) == NOT_SOLVED
    out = capsys.readouterr().out
    assert out.startswith(f"[99.1] {NOT_SOLVED}") and "TODO" in out


def test_wrong_answer_raises_with_the_hint_only():
    with pytest.raises(ExerciseFailed) as info:
        check("99.1", 5)
    message = str(info.value)
    assert message == f"[99.1] {WRONG}. 힌트: 두 배가 맞는지 보세요."
    assert "4" not in message  # the hint does not give the answer away
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert info.value._render_traceback_() == [message]  # what IPython shows: the verdict alone
    assert isinstance(info.value, AssertionError)  # a failing check fails the notebook under nbval


def test_an_answer_that_breaks_the_check_is_wrong_not_a_crash():
    with pytest.raises(ExerciseFailed) as info:
        check("99.2", 7)
    assert WRONG in str(info.value) and "TypeError" in str(info.value)


def test_unknown_exercise_names_the_file():
    with pytest.raises(KeyError, match="lesson98.py"):
        check("98.1", 1)


def test_registered_ids_per_lesson():
    assert exercises.registered_ids("99") == {"99.1", "99.2"}
    assert exercises.registered_ids("98") == set()


def test_jupyter_shows_no_traceback_for_a_wrong_answer(tmp_path):
    """In a real IPython shell, a wrong answer prints one Korean line and stops the cell."""
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent('''
        from IPython.core.interactiveshell import InteractiveShell
        shell = InteractiveShell.instance(colors="nocolor")
        shell.run_cell("from helpers.exercises import check, exercise, Wrong")
        shell.run_cell("@exercise('97.1')\\ndef c(a):\\n    if a != 1: raise Wrong('다시')")
        result = shell.run_cell("check('97.1', 2)\\nprint('NOT REACHED')")
        print("SUCCESS:", result.success)
    '''), encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, encoding="utf-8", timeout=120)
    out = done.stdout + done.stderr
    assert "[97.1] 틀림. 힌트: 다시" in out and "SUCCESS: False" in out
    assert "Traceback" not in out and "NOT REACHED" not in out, out
