"""Every lesson teaches the way issue 16 asks: the student writes the core mechanism once, the
exercises are a mix that tests understanding, no solution is a copy of an earlier cell, the
lesson corrects the lecture notes in one place, and it fits one 90-minute class.

Static and fast: each lesson is read as git stores it (``as_git_stores``), nothing is run.
One test per rule and lesson, so each lesson's status is visible on its own.

The four-cell groups (task markdown, student cell, solution tagged ``solution``, check cell) are
found from the solution cells; a group's kind is its check id: ``NN.Mk`` is a core mechanism
("직접 구현"), ``NN.k`` an exercise. The task's markdown cells (between the previous group and
the student cell) carry the tags: ``mechanism``, or exactly one of ``exercise-write`` /
``exercise-predict`` / ``exercise-explain``.
"""
from __future__ import annotations

import io
import re
import sys
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from test_notebooks_structure import CHECK_CALL, NOTEBOOKS, as_git_stores

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import class_time  # noqa: E402  (scripts/class_time.py: the one statement of the estimate)
from lesson_cells import cell_source, cell_tags  # noqa: E402

KINDS = class_time.EXERCISE_TAGS
MECHANISM = class_time.MECHANISM
MIN_WRITE_LINES = 5
NOTES_HEADING = "## 노트 바로잡기"
CITES_NOTES = re.compile(r"강의 노트|노트\s*\(?0\d\d|노트의")
SOURCE_WORDS = re.compile(r"출처|https?://|et al|문서|docs|소스|논문|source", re.I)
ANSWER_LINE = re.compile(r"^answer_m?\d+ (\[ .* \] )?=")              # answer_1 = ..., answer_m1 = ...
TRIVIAL = re.compile(r"^(import |from |print \(|assert |del |pass$|\.\.\.$|plt \. show \( \)$|gc \. collect \( \)$)")


# ----------------------------------------------------------------------------- lines of code

def logical_lines(code: str) -> list[str]:
    """The code's logical lines (a statement continued over several lines is one), comments
    removed, tokens joined by one space (``a = b`` and ``a=b`` are the same line)."""
    code = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("%", "!")))
    lines: list[list[str]] = []
    current: list[str] = []
    skip = (tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING, tokenize.ENDMARKER)
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type in skip:
                continue
            if tok.type == tokenize.NEWLINE:
                lines.append(current)
                current = []
            else:
                current.append(tok.string)
        lines.append(current)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        lines = [re.findall(r"\w+|\S", line.split("#")[0]) for line in code.splitlines()]
    return [" ".join(tokens) for tokens in lines if tokens]


def nontrivial(line: str) -> bool:
    """A normalised line that is real code: not an import, a print, an assert, ``answer_k = ...``."""
    return bool(line) and not TRIVIAL.match(line) and not ANSWER_LINE.match(line)


def markdown_code(text: str) -> list[str]:
    """Code a markdown cell shows: fenced blocks line by line, and inline `spans`."""
    found: list[str] = []
    for block in re.findall(r"```[^\n]*\n(.*?)```", text, flags=re.S):
        found += logical_lines(block)
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    for span in re.findall(r"`([^`\n]+)`", text):
        found += logical_lines(span)
    return found


# ----------------------------------------------------------------------------- four-cell groups

@dataclass
class Group:
    check_id: str                      # "02.1" or "02.M1"
    solution: int                      # index of the solution cell
    task_tags: set[str] = field(default_factory=set)

    @property
    def is_mechanism(self) -> bool:
        return ".M" in self.check_id


def groups(cells: list[dict]) -> list[Group]:
    found: list[Group] = []
    previous_end = 0
    for i, cell in enumerate(cells):
        if "solution" not in cell_tags(cell):
            continue
        check = cells[i + 1] if i + 1 < len(cells) else None
        calls = CHECK_CALL.findall(cell_source(check)) if check and check["cell_type"] == "code" else []
        check_id = f"{calls[0][0]}.{calls[0][1]}" if calls else "?"
        tags = {t for c in cells[previous_end:max(previous_end, i - 1)]
                if c["cell_type"] == "markdown" for t in cell_tags(c)}
        found.append(Group(check_id, i, tags))
        previous_end = i + 2
    return found


def repeated_share(cells: list[dict], solution: int) -> tuple[float, list[str]]:
    """Share of the solution's non-trivial lines that already stand in an earlier cell the
    student sees (earlier solution cells are not in the student edition), and those lines."""
    seen: set[str] = set()
    for cell in cells[:solution]:
        if "solution" in cell_tags(cell):
            continue
        if cell["cell_type"] == "code":
            seen.update(logical_lines(cell_source(cell)))
        else:
            seen.update(markdown_code(cell_source(cell)))
    lines = [line for line in logical_lines(cell_source(cells[solution])) if nontrivial(line)]
    if not lines:
        return 0.0, []
    repeated = [line for line in lines if line in seen]
    return len(repeated) / len(lines), repeated


# ----------------------------------------------------------------------------- the tests

@pytest.fixture(scope="module")
def stored():
    return {p.name: as_git_stores(p.read_text(encoding="utf-8"))["cells"] for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_the_student_writes_a_core_mechanism(path, stored):
    from helpers import exercises

    lesson = path.name[:2]
    mechanisms = [g for g in groups(stored[path.name]) if g.is_mechanism]
    assert mechanisms, (f"{path.name}: no core-mechanism cell (a four-cell group checked as "
                        f'check("{lesson}.M1", answer_m1, ...))')
    registered = exercises.registered_ids(lesson)
    for g in mechanisms:
        assert MECHANISM in g.task_tags, f"{g.check_id}: its task markdown cell is not tagged `{MECHANISM}`"
        assert g.check_id in registered, f"{g.check_id}: no @exercise({g.check_id!r}) in helpers/exercises/lesson{lesson}.py"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_exercises_are_a_mix_that_teaches(path, stored):
    cells = stored[path.name]
    found = [g for g in groups(cells) if not g.is_mechanism]
    assert len(found) >= 3, f"{path.name}: {len(found)} exercises, at least 3"
    kinds = {}
    for g in found:
        tagged = g.task_tags & set(KINDS)
        assert len(tagged) == 1, f"{g.check_id}: tag its task with exactly one of {KINDS}, found {sorted(tagged)}"
        kinds[g.check_id] = tagged.pop()
    assert "exercise-predict" in kinds.values(), f"{path.name}: no exercise-predict (predict, then run)"
    writes = {g.check_id: sum(map(nontrivial, logical_lines(cell_source(cells[g.solution]))))
              for g in found if kinds[g.check_id] == "exercise-write"}
    assert any(n >= MIN_WRITE_LINES for n in writes.values()), (
        f"{path.name}: no exercise-write whose solution has >= {MIN_WRITE_LINES} lines of real code "
        f"(imports, prints, asserts and answer_k = ... do not count): {writes}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_no_solution_repeats_an_earlier_cell(path, stored):
    cells = stored[path.name]
    problems = []
    for g in groups(cells):
        share, repeated = repeated_share(cells, g.solution)
        if share >= 0.5:
            problems.append(f"{g.check_id}: {share:.0%} of the solution's lines stand in earlier cells: {repeated[:4]}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_lessons_that_cite_the_notes_correct_them_in_one_place(path, stored):
    cells = stored[path.name]
    markdown = [cell_source(c) for c in cells if c["cell_type"] == "markdown"]
    if not any(CITES_NOTES.search(m) for m in markdown):
        pytest.skip("the lesson does not cite the lecture notes")
    sections = [m for m in markdown if re.search(rf"^{NOTES_HEADING}\s*$", m, flags=re.M)]
    assert len(sections) == 1, f"{path.name}: cites the notes, so it needs exactly one `{NOTES_HEADING}` section"
    body = sections[0].split(NOTES_HEADING, 1)[1].split("\n## ", 1)[0]
    bullets = re.findall(r"^- (.+(?:\n(?!- ).+)*)", body, flags=re.M)
    assert bullets, f"{path.name}: `{NOTES_HEADING}` lists no correction (one `- ` bullet each)"
    unsourced = [b[:60] for b in bullets if not SOURCE_WORDS.search(b)]
    assert not unsourced, f"{path.name}: corrections without a source (출처): {unsourced}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_the_lesson_fits_one_class(path, stored):
    minutes = class_time.estimate(stored[path.name], class_time.measurements().get(path.name, {}))
    parts = ", ".join(f"{k} {v:.0f}" for k, v in minutes.items())
    assert minutes["class"] <= class_time.CLASS_MIN, f"{path.name}: about {minutes['class']:.0f} min in class ({parts})"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_every_cell_the_student_runs_has_its_measured_time(path, stored):
    measured = class_time.measurements().get(path.name, {})
    shown = [c.get("id") for c in stored[path.name] if c["cell_type"] == "code" and "solution" not in cell_tags(c)]
    missing = [cell_id for cell_id in shown if cell_id not in measured]
    assert not missing, (f"{path.name}: no measured run time for cells {missing}; after `make test`, run "
                         f"`.venv/bin/python scripts/class_time.py --record outputs/lessons/student/*.ipynb`")


# ----------------------------------------------------------------------------- the rules can fail

def _md(text, tags=()):
    return {"cell_type": "markdown", "metadata": {"tags": list(tags)}, "source": text}


def _code(text, tags=()):
    return {"cell_type": "code", "metadata": {"tags": list(tags)}, "source": text, "outputs": []}


def test_the_design_rules_can_fail():
    earlier = _code("x = torch.zeros(3)\ny = x + 1\nz = y * 2\nw = z.sum()\n")
    copied = _code("import torch\nx = torch.zeros(3)  # the same\ny = x+1\nz = y * 2\nanswer_1 = w\nprint(w)\nv = w - 1\n",
                   ["solution"])
    cells = [earlier, _md("### 연습 1.", ["exercise-write"]), _code("answer_1 = None  # TODO"), copied,
             _code('check("99.1", answer_1)')]
    share, repeated = repeated_share(cells, 3)
    assert share == 0.75 and len(repeated) == 3          # x, y, z repeated; v is new; import/print/answer not counted
    found = groups(cells)
    assert [(g.check_id, g.task_tags) for g in found] == [("99.1", {"exercise-write"})]
    cells[0] = _code("a = 1\n")
    assert repeated_share(cells, 3)[0] == 0.0
    mechanism = [_md("직접 구현", [MECHANISM]), _code("answer_m1 = None"), _code("answer_m1 = f", ["solution"]),
                 _code('check("99.M1", answer_m1)')]
    assert groups(mechanism)[0].is_mechanism and groups(mechanism)[0].task_tags == {MECHANISM}
    assert markdown_code("use `x = y + 1` here\n```python\na = b\n```") == ["a = b", "x = y + 1"]
    assert logical_lines("f(1,\n  2)  # c\nimport os") == ["f ( 1 , 2 )", "import os"]


def test_the_class_time_estimate_counts_what_it_says():
    words = round(2 * class_time.PROSE_WORDS_PER_MIN)
    prose = _md(" ".join(["단어"] * words))                            # about 2 min of reading
    code = _code("\n".join(f"x{i} = {i}" for i in range(25)))       # 3 min of code, run 30 s
    plot = _code("plt.plot(x)")                                       # one line, one figure, prints 2 min of words
    mechanism = [_md("직접 구현", [MECHANISM]), _code("answer_m1 = None"),
                 _code("def f(x):\n    # why\n    y = x + 1\n    return y\n\nanswer_m1 = f\nprint(f(1))", ["solution"]),
                 _code('check("99.M1", answer_m1)')]
    exercise = [_md(" ".join(["과제"] * words), ["exercise-write"]), _code("answer_1 = None"),
                _code("\n".join(f"y{i} = {i}" for i in range(6)), ["solution"]), _code('check("99.1", answer_1)')]
    predict = [_md("과제", ["exercise-predict"]), _code("answer_2 = None"), _code('answer_2 = "b"', ["solution"]),
               _code('check("99.2", answer_2)')]
    code["id"], plot["id"], mechanism[3]["id"] = "c", "p", "m"
    measured = {"c": {"seconds": 30.0, "printed_words": 0}, "p": {"seconds": 0.0, "printed_words": words},
                "m": {"seconds": 6.0, "printed_words": 0}}
    minutes = class_time.estimate([prose, code, plot] + mechanism + exercise + predict, measured)
    per_word = 1 / class_time.PROSE_WORDS_PER_MIN
    assert minutes["prose"] == pytest.approx((words + 2) * per_word)           # and the 직접 구현 heading
    assert minutes["code"] == pytest.approx((25 + 1 + 1 + 1) / class_time.CODE_LINES_PER_MIN)  # + student + check
    assert minutes["run"] == pytest.approx(0.5 + words * per_word + class_time.FIGURE_MIN + 0.1)
    assert minutes["mechanisms"] == class_time.WRITE_MIN_FLOOR       # 3 working lines x 1.5 < the floor
    assert minutes["homework"] == pytest.approx((words + 1) * per_word + 6 * class_time.WRITE_MIN_PER_LINE
                                                + class_time.PREDICT_MIN)
    assert minutes["class"] == pytest.approx(sum(minutes[k] for k in ("prose", "code", "run", "mechanisms")))
