"""helpers.exercises: 통과 / 아직 풀지 않음 / 틀림, hints without the answer, no traceback in Jupyter."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from helpers import exercises
from helpers.exercises import as_choice, as_function, as_instance, as_number, as_numbers, as_text, check, exercise, judge_choice, NOT_SOLVED, PASSED, restoring, WRONG, Wrong
from helpers.errors import ExerciseFailed


@exercise("99.1")
def _double(answer, x=2):
    if as_number(answer) != 2 * x:
        raise Wrong("두 배가 맞는지 보세요.")


@exercise("99.2")
def _length(answer):
    if len(as_instance(answer, object)) != 3:  # TypeError for an answer without a length
        raise Wrong("세 개여야 합니다.")


@exercise("99.3")
def _predict_b(answer):
    judge_choice(as_choice(answer, "abc"), "b", {"a": "a를 고른 까닭을 다시 보세요.", "else": "다시 생각해 보세요."})


@exercise("99.4")
def _predict_c_every_choice_its_question(answer):
    judge_choice(as_choice(answer, "abc"), "c", {"a": "a의 질문", "b": "b의 질문", "c": "c의 질문"})


def test_a_prediction_gets_the_question_of_its_choice():
    with pytest.raises(ExerciseFailed, match="a의 질문"):
        check("99.4", "a")
    with pytest.raises(ExerciseFailed, match="b의 질문"):
        check("99.4", "b")


def test_a_prediction_is_committed_first_and_named_after_the_right_one(capsys, monkeypatch):
    """A predict exercise keeps the first choice made in this kernel: after a wrong first try, the
    pass names it, so the student explains the difference; a right first try prints nothing more."""
    monkeypatch.setattr(exercises, "_predictions", {})
    assert check("99.3", "b") == PASSED
    assert capsys.readouterr().out.strip() == f"[99.3] {PASSED}"
    monkeypatch.setattr(exercises, "_predictions", {})
    with pytest.raises(ExerciseFailed) as info:
        check("99.3", " (A) ")
    assert "a를 고른 까닭" in str(info.value) and "b" not in str(info.value).split("힌트:")[1]
    with pytest.raises(ExerciseFailed):
        check("99.3", "c")
    assert check("99.3", "B") == PASSED
    out = capsys.readouterr().out
    assert f"[99.3] {PASSED}" in out and '처음 예측은 "a"였습니다' in out


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
    assert exercises.registered_ids("99") == {"99.1", "99.2", "99.3", "99.4"}
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


# ----------------------------------------------------------------------------- the one answer parser

def test_choices_in_every_harmless_form():
    for form in ("b", "B", " b ", "(b)", "b)", "'b'", "[B]", "b."):
        assert as_choice(form, "abc") == "b", form
    for bad in ("d", "ab", "", 2, None, ["b"]):
        with pytest.raises(Wrong):
            as_choice(bad, "abc")


def test_numbers_from_python_numpy_and_tensors():
    import numpy as np
    import torch

    for form in (12, 12.0, np.int64(12), np.float32(12), np.array(12), torch.tensor(12), torch.tensor([12.0])):
        assert as_number(form, integer=True) == 12 and type(as_number(form, integer=True)) is int, form
    assert as_number(np.float64(0.25)) == 0.25 and type(as_number(np.float64(0.25))) is float
    with pytest.raises(Wrong, match="item"):
        as_number(torch.tensor(0.5), tensor=False)          # the prompt asks for a plain float
    for bad in (float("nan"), float("inf"), np.float32("nan"), True, "3", [3], torch.ones(2), 12.5):
        with pytest.raises(Wrong):
            as_number(bad, integer=isinstance(bad, float) and bad == 12.5)


def test_number_lists_are_counted_not_trusted():
    import numpy as np
    import torch

    assert as_numbers([1, 2.5], length=2) == [1.0, 2.5]
    assert as_numbers(np.array([1.0, 2.0]), length=2) == [1.0, 2.0]
    assert as_numbers(torch.tensor([1.0, 2.0])) == [1.0, 2.0]

    class Liar(list):
        def __len__(self):
            return 4
    with pytest.raises(Wrong):
        as_numbers(Liar([1.0, 2.0]), length=4)
    for bad in ([], [1.0, float("nan")], "12", {1: 2}, torch.ones(2, 2), [1.0, 2.0, 3.0]):
        with pytest.raises(Wrong):
            as_numbers(bad, length=2)


def test_text_is_unicode_normalised():
    import unicodedata

    word = "검증"
    assert as_text(unicodedata.normalize("NFD", word) + "  ") == word
    with pytest.raises(Wrong):
        as_text(3)


def test_a_students_error_is_reported_as_theirs_with_their_line(tmp_path):
    cell = str(tmp_path / "ipykernel_1" / "cell.py")  # where Jupyter keeps a cell's code
    namespace: dict = {}
    exec(compile("def f(x):\n    y = x + 1\n    return y.shape\n", cell, "exec"), namespace)
    import linecache
    linecache.cache[cell] = (0, None, ["def f(x):\n", "    y = x + 1\n", "    return y.shape\n"], cell)
    with pytest.raises(Wrong) as info:
        as_function(namespace["f"], "answer_m1", "f")(1)
    assert "AttributeError" in str(info.value) and "3번째 줄: return y.shape" in str(info.value), str(info.value)
    with pytest.raises(Wrong, match="괄호 없이"):
        as_function(3, "answer_m1", "f")


def test_restoring_puts_hooks_modes_and_flags_back(capsys):
    import torch
    from torch import nn

    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout())
    model.eval()
    with restoring(model) as changed:
        model[0].register_forward_hook(lambda *a: None)
        model.train()
        model[0].weight.requires_grad_(False)
        torch.set_grad_enabled(False)
    assert torch.is_grad_enabled() and not model.training and not model[1].training
    assert model[0].weight.requires_grad and not model[0]._forward_hooks
    assert set(changed) == {"훅(hook)", "train/eval 모드", "requires_grad", "torch.is_grad_enabled()"}, changed
    assert "원래대로" in capsys.readouterr().out
    with restoring(model) as changed:
        pass
    assert changed == [] and capsys.readouterr().out == ""


# ----------------------------------------------------------------------------- every check uses the parser

def _check_functions():
    """(lesson file, function) for every ``@exercise`` check in helpers/exercises/lessonNN.py."""
    import ast
    from pathlib import Path

    folder = Path(exercises.__file__).parent
    for path in sorted(folder.glob("lesson[0-9][0-9].py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and any(
                    isinstance(d, ast.Call) and getattr(d.func, "id", None) == "exercise" for d in node.decorator_list):
                yield path.name, node


def _raw_uses(fn) -> list[int]:
    """Lines where a check reads its answer without passing it through an ``as_*`` parser first."""
    import ast

    param = fn.args.args[0].arg
    parsed_from = min((n.lineno for n in ast.walk(fn) if isinstance(n, ast.Assign)
                       and any(isinstance(t, ast.Name) and t.id == param for t in n.targets)
                       and isinstance(n.value, ast.Call) and getattr(n.value.func, "id", "").startswith("as_")),
                      default=None)
    inside_parser = {id(a) for n in ast.walk(fn) if isinstance(n, ast.Call) and getattr(n.func, "id", "").startswith("as_")
                     for a in n.args}
    return [n.lineno for n in ast.walk(fn) if isinstance(n, ast.Name) and n.id == param and isinstance(n.ctx, ast.Load)
            and id(n) not in inside_parser and (parsed_from is None or n.lineno <= parsed_from)]


def test_every_check_reads_its_answer_through_the_parser():
    """A choice or a number compared in its raw form (``answer == "a"``, ``float(answer)``) accepts one
    spelling and rejects the rest: every check passes its answer through an ``as_*`` parser first."""
    raw = {f"{name}:{fn.name}": _raw_uses(fn) for name, fn in _check_functions()}
    raw = {k: v for k, v in raw.items() if v}
    assert not raw, f"checks that read the raw answer (lines): {raw}; use helpers.exercises.as_*"


def test_the_parser_rule_catches_a_raw_comparison():
    import ast

    fn = ast.parse("def c(answer):\n    if answer != 'a':\n        pass\n").body[0]
    assert _raw_uses(fn) == [2]
    fn = ast.parse("def c(answer):\n    answer = as_choice(answer, 'abc')\n    if answer != 'a':\n        pass\n").body[0]
    assert _raw_uses(fn) == []


def test_every_exercise_has_three_right_and_three_wrong_fixtures():
    """tests/exercise_fixtures/lessonNN.toml: at least three right answers and three mistakes per exercise."""
    from pathlib import Path

    from exercise_fixtures import fixtures

    for path in sorted((Path(exercises.__file__).parent).glob("lesson[0-9][0-9].py")):
        lesson = path.stem[-2:]
        ids = exercises.registered_ids(lesson)
        found = fixtures(lesson)
        unknown = {f.exercise for f in found} - ids
        assert not unknown, f"lesson {lesson}: fixtures for exercises that do not exist: {unknown}"
        for exercise_id in sorted(ids):
            right = sum(f.exercise == exercise_id and f.hint is None for f in found)
            wrong = sum(f.exercise == exercise_id and f.hint is not None for f in found)
            assert right >= 3 and wrong >= 3, f"{exercise_id}: {right} right and {wrong} wrong fixtures (at least 3 each)"
