"""One vocabulary across the lessons (issue 11): the glossary in notebooks/glossary.md, applied.

Checks the Korean prose (markdown cells) of every lesson notebooks/NN_*.ipynb:

- no forbidden variant (머리 for head, 전결합 층, 얼리다/얼린, spacing variants of 완전연결층, ...);
- particles attach to Latin words, numbers and code: "ImageNet의", "ResNet18은", "`fc`를", not "ImageNet 의";
- every glossary term a lesson uses carries its English term in parentheses at its first use in that lesson.

Code cells are not checked (code and comments are English). Run: pytest tests/test_vocabulary.py -q
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GLOSSARY = ROOT / "notebooks" / "glossary.md"
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

# pattern -> (what to write instead). Each pattern was checked against the lessons for false positives:
# "머리" is allowed only as the body part (머리카락, 머리말); "얼" + 리/려/린/어 있 never starts 얼굴 or 얼마.
FORBIDDEN = {
    r"머리(?!카락|말)": "헤드(head)",
    r"전결합": "완전연결층(fully connected layer)",
    r"완전\s+연결\s*층|완전연결\s+층": "완전연결층 (붙여 씀)",
    r"얼리[다고는기면지며]|얼려|얼린|얼렸|얼어\s*있": "고정하다 / 고정된(frozen)",
    r"합성곱층": "합성곱 층 (띄어 씀)",
    r"손실함수": "손실 함수 (띄어 씀)",
}

# A particle separated by a space from a Latin letter, digit, closing parenthesis, code span or
# inline math ($x$ 를), or from bold text that ends in a letter or digit (**미세 조정** 은). Bold that
# ends in punctuation keeps its space: in CommonMark "**소프트맥스(softmax)**와" does not close the
# bold (the closing ** must then be followed by a space or punctuation).
PARTICLES = "은|는|이|가|을|를|의|에|와|과|로|으로|에서|도|에는|에서는|만|까지|부터|처럼|보다|입니다|인"
DETACHED_PARTICLE = re.compile(rf"(?:[A-Za-z0-9)`$]|(?<=[A-Za-z0-9가-힣])\*\*) ({PARTICLES})(?=[\s.,)!?:;]|$)",
                               re.MULTILINE)

# Glossary words that are also everyday Korean; their first use is not checked automatically.
NOT_FIRST_USE_CHECKED = {
    "배치": "also means 'arrangement' (뇌실의 배치)",
    "고정": "everyday word (고정된 값)",
    "추론": "everyday word (추론하다)",
    "정규화": "checked through 배치 정규화 and Normalize by hand",
}
HANGUL_BEFORE = r"(?<![가-힣])"


def glossary_rows() -> list[list[str]]:
    """The glossary table's rows: [Korean term, English alternatives, meaning, first lesson]."""
    rows = []
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and re.fullmatch(r"\d\d", cells[3]):
            rows.append(cells)
    return rows


def glossary() -> list[tuple[str, list[str]]]:
    """(Korean term, [English alternatives]) for every row of the glossary table."""
    return [(cells[0], [e.strip() for e in cells[1].split(",")]) for cells in glossary_rows()]


def prose(notebook: Path) -> list[tuple[int, str]]:
    """(cell index, text) of each markdown cell, without fenced code blocks."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    out = []
    for i, cell in enumerate(cells):
        if cell["cell_type"] == "markdown":
            text = "".join(cell["source"])
            out.append((i, re.sub(r"```.*?```", "", text, flags=re.DOTALL)))
    return out


def without_code(text: str) -> str:
    """Inline code and LaTeX blanked out (same length, so positions still line up)."""
    text = re.sub(r"`[^`\n]*`", lambda m: " " * len(m.group()), text)
    return re.sub(r"\$[^$\n]*\$", lambda m: " " * len(m.group()), text)


def _norm(s: str) -> str:
    return re.sub(r"[\s\-_*]", "", s).lower()


def first_use(term: str, text: str, korean: list[str]) -> re.Match | None:
    """Where ``term`` is first used in ``text``, with longer glossary terms that contain it blanked
    out first (로그 소프트맥스 hides 소프트맥스)."""
    for longer in korean:
        if len(longer) > len(term) and term in longer:
            text = text.replace(longer, "#" * len(longer))
    return re.search(HANGUL_BEFORE + re.escape(term), text)


def first_use_problems(notebook: Path) -> list[str]:
    terms = glossary()
    korean = sorted((k for k, _ in terms), key=len, reverse=True)
    english = dict(terms)
    problems = []
    text = "\n".join(without_code(t) for _, t in prose(notebook))
    for term in korean:
        if term in NOT_FIRST_USE_CHECKED:
            continue
        m = first_use(term, text, korean)
        if m is None:
            continue
        after = text[m.end():m.end() + 80]
        paren = re.match(r"\**\s*\(([^)]*)\)", after)
        if paren is None or not any(_norm(e) in _norm(paren.group(1)) for e in english[term]):
            line = text[max(0, m.start() - 30):m.end() + 30].replace("\n", " ")
            problems.append(f"{notebook.name}: first use of {term!r} needs ({english[term][0]}): ...{line}...")
    return problems


def test_glossary_is_a_table_of_unique_terms():
    terms = glossary()
    assert len(terms) >= 50, "the glossary table should list the course's terms"
    names = [k for k, _ in terms]
    assert len(names) == len(set(names)), "each Korean term once"
    for k, en in terms:
        assert all(e and re.search(r"[A-Za-z]", e) for e in en), f"{k}: English term missing"


def test_the_glossary_names_the_lesson_where_each_term_first_appears():
    korean = sorted((k for k, _ in glossary()), key=len, reverse=True)
    texts = {nb.name[:2]: "\n".join(without_code(t) for _, t in prose(nb)) for nb in LESSONS}
    wrong = []
    for term, _, _, first in glossary_rows():
        found = next((n for n in sorted(texts) if first_use(term, texts[n], korean)), None)
        if found != first:
            wrong.append(f"{term}: 표에는 {first}, 처음 쓰는 레슨은 {found or '없음'}")
    assert not wrong, "notebooks/glossary.md의 '처음' 칸을 고치세요:\n" + "\n".join(wrong)


def test_forbidden_pattern_finds_what_it_should():
    # the checks themselves can fail: each pattern matches the variant and not the allowed word
    samples = {r"머리(?!카락|말)": ("새 머리만 학습", "머리카락"), r"얼리[다고는기면지며]|얼려|얼린|얼렸|얼어\s*있": ("얼려 두고", "얼굴")}
    for pattern, (bad, good) in samples.items():
        assert re.search(pattern, bad) and not re.search(pattern, good)
    assert DETACHED_PARTICLE.search("ImageNet 의 클래스") and not DETACHED_PARTICLE.search("ImageNet의 클래스")
    assert DETACHED_PARTICLE.search("`fc` 를 바꿉니다") and not DETACHED_PARTICLE.search("3 이상")
    assert DETACHED_PARTICLE.search("$x$ 를 곱합니다") and not DETACHED_PARTICLE.search("$x$를 곱합니다")
    assert DETACHED_PARTICLE.search("**미세 조정** 은 다릅니다") and DETACHED_PARTICLE.search("합이 1 인 확률")
    assert not DETACHED_PARTICLE.search("**소프트맥스(softmax)** 와")  # the space keeps the bold closing


@pytest.mark.parametrize("notebook", LESSONS, ids=lambda p: p.name)
def test_no_forbidden_variants(notebook):
    hits = []
    for i, text in prose(notebook):
        for pattern, fix in FORBIDDEN.items():
            for m in re.finditer(pattern, text):
                hits.append(f"cell {i}: {text[max(0, m.start() - 20):m.end() + 20]!r} -> {fix}")
    assert not hits, f"{notebook.name}: 용어집(notebooks/glossary.md)과 다른 말:\n" + "\n".join(hits)


@pytest.mark.parametrize("notebook", LESSONS, ids=lambda p: p.name)
def test_particles_attach(notebook):
    hits = []
    for i, text in prose(notebook):
        for m in DETACHED_PARTICLE.finditer(text):
            hits.append(f"cell {i}: {text[max(0, m.start() - 25):m.end() + 5]!r}")
    assert not hits, f"{notebook.name}: 조사는 붙여 씁니다 (ImageNet의, `fc`를):\n" + "\n".join(hits)


@pytest.mark.parametrize("notebook", LESSONS, ids=lambda p: p.name)
def test_english_term_at_first_use(notebook):
    problems = first_use_problems(notebook)
    assert not problems, "\n".join(problems)
