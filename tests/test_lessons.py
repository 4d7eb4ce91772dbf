"""Every lesson, executed once per edition (``tests/lesson_runs.py`` says how and why).

``test_instructor_edition[NN]`` runs lesson NN with its solutions on the stand-in GPU under the
network guard, cell by cell as nbval does, and then asserts: the self-check passed, every exercise
check says "통과", something ran on the device and, if the lesson trains a network, its backward
pass did (the stand-in's ``COURSE_FAKEGPU_LOG``), no network attempt; then the mutation tests of
``tests/mutations.py`` and the exercise fixtures of ``tests/exercise_fixtures/`` run in the same kernel,
after each solution has crossed to the grader's checker as ``course-grade`` sends it (``tests/crossing.py``).

``test_student_edition[NN]`` runs lesson NN without its solution cells on the CPU under the network
guard: every cell runs, every exercise check says "아직 풀지 않음", no network attempt.

The executed notebooks are the editions ``scripts/handouts.py`` renders (``outputs/lessons/``).
About 8 minutes of CPU for the sixteen runs; ``make test`` spreads them over both cores.
"""
from __future__ import annotations

import nbformat
import pytest

from helpers.selfcheck import SELF_CHECK_PASSED
from lesson_runs import ROOT, TRAINS, lesson_code, load_handouts, run_edition, selected
from crossing import run_crossing
from exercise_fixtures import fixtures, run_fixtures
from mutations import MUTATIONS, check_claims, run_mutations

EXECUTED = load_handouts().EXECUTED


def _printed(nb) -> str:
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                   if o.get("output_type") == "stream")


def _lesson_id(path):
    return path.name[:2]


@pytest.mark.parametrize("path", selected(), ids=_lesson_id)
def test_instructor_edition(path):
    lesson = path.name[:2]
    check_claims(nbformat.read(path, as_version=4), lesson)  # before the run: a missing claim fails fast
    proved: list[str] = []
    tried: dict = {}
    crossed: dict = {}

    def after(client, nb):
        crossed.update(run_crossing(client, nb))  # first: the lesson's state as the student's run leaves it
        proved.extend(run_mutations(client, nb, lesson))
        tried.update(run_fixtures(client, nb, lesson))

    nb, ran = run_edition(path, "instructor", EXECUTED, after=after)
    assert SELF_CHECK_PASSED in _printed(nb), f"{path.name}: the self-check did not pass"
    verdicts = load_handouts().verdicts(nb)
    assert verdicts and set(verdicts.values()) == {"통과"}, f"{path.name}: exercise checks with the solutions: {verdicts}"
    assert not ran["netguard"], f"{path.name} tried to reach the network: {ran['netguard'][:500]}"
    assert ran["fakegpu"], f"{path.name}: the stand-in wrote no record (COURSE_FAKEGPU_LOG)"
    kernel = max(ran["fakegpu"], key=lambda r: r["ops"])  # the kernel (other processes: tools)
    assert kernel["ops"] > 0, f"{path.name}: nothing ran on the device"
    if TRAINS.search(lesson_code(path)):
        backward = {op: n for op, n in kernel["by_op"].items() if "backward" in op}
        assert backward, f"{path.name} trains a network, but no backward pass ran on the device: {kernel['by_op']}"
    assert len(proved) == len(MUTATIONS.get(lesson, [])), proved
    assert crossed and all(r["verdict"] == "통과" for r in crossed.values()), \
        f"{path.name}: the solutions as course-grade checks them (tests/crossing.py): {crossed}"
    assert set(crossed) == set(verdicts), f"{path.name}: checks the grader finds {sorted(crossed)}, the lesson's {sorted(verdicts)}"
    assert sum(t["right"] + t["wrong"] for t in tried.values()) == len(fixtures(lesson)), tried


@pytest.mark.parametrize("path", selected(), ids=_lesson_id)
def test_student_edition(path):
    nb, ran = run_edition(path, "student", EXECUTED)
    verdicts = load_handouts().verdicts(nb)
    assert verdicts and set(verdicts.values()) == {"아직 풀지 않음"}, \
        f"{path.name}: exercise checks without the solutions: {verdicts}"
    assert SELF_CHECK_PASSED in _printed(nb), f"{path.name}: the self-check did not pass without the solutions"
    assert not ran["netguard"], f"{path.name} tried to reach the network: {ran['netguard'][:500]}"


def test_mutations_name_lessons_and_claims_that_exist():
    """Fast (no lesson runs): every lesson in tests/mutations.py exists and its self-check still states the claims."""
    numbers = {p.name[:2]: p for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))}
    for lesson in MUTATIONS:
        assert lesson in numbers, f"tests/mutations.py names lesson {lesson}, which does not exist"
        check_claims(nbformat.read(numbers[lesson], as_version=4), lesson)


def test_mutation_runner_on_a_tiny_lesson(monkeypatch):
    """The mechanism itself, in a real kernel: a mutation that breaks the claim is proved, one that
    breaks nothing is reported, and a claim missing from the self-check fails before any run."""
    from mutations import Mutation

    code = nbformat.v4.new_code_cell
    nb = nbformat.v4.new_notebook(cells=[
        code("items = [1, 2]"),
        code(f'from helpers.selfcheck import self_check\nwith self_check():\n    assert len(items) == 2, "exactly two items"\n'
             f'    print("{SELF_CHECK_PASSED}")')])
    monkeypatch.setitem(MUTATIONS, "99", [
        Mutation("exactly two items", "a third item", "items.append(3)", "items.pop()"),
        Mutation("exactly two items", "nothing changed", "pass", "pass")])
    outcome: dict = {}

    def after(client):
        try:
            run_mutations(client, nb, "99")
        except AssertionError as error:
            outcome["error"] = str(error)

    load_handouts().execute(nb, name="99", after=after, timeout=120)
    assert "self-check passed although nothing changed" in outcome.get("error", ""), outcome
    assert len(nb.cells) == 2  # the throw-away cells are not kept
    monkeypatch.setitem(MUTATIONS, "99", [Mutation("a claim the lesson dropped", "x", "pass", "pass")])
    with pytest.raises(AssertionError, match="no longer in the self-check cell"):
        check_claims(nb, "99")
