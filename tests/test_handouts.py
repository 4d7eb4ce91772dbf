"""The classroom editions (scripts/handouts.py).

Fast tests of the pieces run everywhere. ``test_built_*`` read the folder ``make handouts``
built (``handouts/``); they skip when it is missing, unless ``COURSE_REQUIRE_HANDOUTS=1``
(``make test`` builds every edition and then sets it).
"""
from __future__ import annotations

import html
import json
import os
import re
import tempfile
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from lesson_runs import load_handouts, selected

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(os.environ.get("COURSE_HANDOUTS_DIR", ROOT / "handouts"))
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
# Anything fetched from another host. A link to the student's own machine (TensorBoard on
# http://localhost:6006 in lesson 03) loads nothing from the internet and is allowed.
_REMOTE = r"(?:https?:)?//(?!localhost[:/]|127\.0\.0\.1[:/])"
CDN = re.compile(r"cdnjs\.|jsdelivr\.|unpkg\.com|googleapis\.com|cloudflare\.com|mathjax\.org"
                 rf"|(?:src|href)\s*=\s*[\"']?{_REMOTE}|@import\s+url\(\s*[\"']?{_REMOTE}")
HANGUL = re.compile(r"[\uac00-\ud7a3]")

handouts = load_handouts()


def _nb(cells):
    return nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "dl-course", "display_name": "Python (dl-course)"}})


# ----------------------------------------------------------------------------- pieces

def test_student_edition_drops_solution_cells_and_outputs():
    solution = nbformat.v4.new_code_cell("answer_1 = 42  # secret", metadata={"tags": ["solution"]})
    student = nbformat.v4.new_code_cell("answer_1 = None  # TODO")
    student.outputs = [nbformat.v4.new_output("stream", text="x")]
    nb = _nb([nbformat.v4.new_markdown_cell("# 99. t"), student, solution, nbformat.v4.new_code_cell('check("99.1", answer_1)')])
    edition = handouts.student_edition(nb)
    sources = [c.source for c in edition.cells]
    assert "answer_1 = 42  # secret" not in sources and len(sources) == 3
    assert all(not c.get("outputs") for c in edition.cells if c.cell_type == "code")
    assert len(nb.cells) == 4  # the master is untouched


def test_learning_goals_are_the_bullets_of_the_goals_cell():
    nb = _nb([nbformat.v4.new_markdown_cell("# 99. 제목"),
              nbformat.v4.new_markdown_cell("## 학습 목표\n\n- 첫째 `x`를\n  이어서 쓴다.\n- 둘째\n\n다른 글")])
    assert handouts.learning_goals(nb) == ["첫째 `x`를 이어서 쓴다.", "둘째"]
    assert handouts.title_of(nb) == "99. 제목"
    for lesson in LESSONS:  # every lesson has goals for the home page
        assert handouts.learning_goals(nbformat.read(lesson, as_version=4)), lesson.name


def test_scrub_removes_the_build_machine_and_missing_symbols():
    home = os.path.expanduser("~")
    temp = tempfile.gettempdir()
    text = f"{ROOT}/data/animals {home}/.cache/torch /home/alice/x {temp}/tmpab12/f.png 자기 점검 통과 ✅"
    clean = handouts.scrub_text(text)
    assert str(ROOT) not in clean and "/home/alice" not in clean and f"{temp}/" not in clean
    assert f"{handouts.ROOT_MARKER}/data/animals" in clean and "~/.cache/torch" in clean
    assert clean.endswith("자기 점검 통과 ✔")


def test_verdicts_are_read_from_check_outputs():
    check = nbformat.v4.new_code_cell('check("99.1", answer_1)')
    check.outputs = [nbformat.v4.new_output("stream", text="[99.1] 아직 풀지 않음: ...\n")]
    other = nbformat.v4.new_code_cell('check("99.2", answer_2)')
    other.outputs = [nbformat.v4.new_output("stream", text="[99.2] 통과\n")]
    assert handouts.verdicts(_nb([check, other])) == {"99.1": "아직 풀지 않음", "99.2": "통과"}


def test_home_page_links_are_relative_and_offline():
    edition = handouts.Edition(html="student/99_t.html", pdf="student/99_t.pdf", seconds=12.0,
                               cpu_seconds=10.0, peak_rss_mib=700.0)
    lesson = handouts.Lesson(number="99", name="99_t", title="99. 제목 <b>", goals=["`x` 쓰기"],
                             editions={"student": edition, "instructor": edition}, student_notebook="student/99_t.ipynb")
    page = handouts.index_page([lesson], "2026-01-01")
    assert "99. 제목 &lt;b&gt;" in page and "<code>x</code> 쓰기" in page
    assert 'href="student/99_t.html"' in page and 'href="student/99_t.pdf"' in page and "12초" in page
    assert not CDN.search(page) and "<script" not in page


def test_execute_checks_cell_by_cell_as_nbval_does():
    """Outputs are not compared; any error fails and names the lesson and the cell; nbval's
    NBVAL_SKIP and NBVAL_RAISES_EXCEPTION markers are honoured; the cells after a failure do not run."""
    code = nbformat.v4.new_code_cell
    nb = _nb([code("x = 1"), code("# NBVAL_SKIP\nraise SystemExit('a skipped cell ran')"),
              code("# NBVAL_RAISES_EXCEPTION\n1 / 0"), code("print(x)"), code("assert x == 2, 'x is not 2'"),
              code("print('after the failure')")])
    with pytest.raises(handouts.CellFailed) as failed:
        handouts.execute(nb, name="notebooks/99_t.ipynb", timeout=120)
    assert str(failed.value).startswith('notebooks/99_t.ipynb: cell 4 (code cell 4: "assert x == 2')
    assert "AssertionError: x is not 2" in str(failed.value)
    assert not nb.cells[1].get("outputs") and nb.cells[3].outputs[0]["text"] == "1\n"
    assert not nb.cells[5].get("outputs")


def test_instructor_banner_says_when_the_stand_in_ran_it():
    assert "fakegpu" in handouts.stand_in_note({"device": "fakegpu"}) and "비트 단위로 같" in handouts.stand_in_note(
        {"device": "fakegpu"})
    assert handouts.stand_in_note({"device": "cpu"}) == ""


# ----------------------------------------------------------------------------- built editions

def _manifest():
    path = OUT / "manifest.json"
    if not path.exists():
        if os.environ.get("COURSE_REQUIRE_HANDOUTS") == "1":
            pytest.fail(f"{path} is missing: build the editions first (make handouts)")
        pytest.skip("handouts not built (make handouts, or make test)")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if os.environ.get("COURSE_LESSONS", "").strip():  # make test LESSONS=05: that lesson's editions only
        names = {p.stem for p in selected()}
        manifest["lessons"] = [lesson for lesson in manifest["lessons"] if lesson["name"] in names]
    return manifest


@pytest.fixture(scope="module")
def manifest():
    return _manifest()


def _built(manifest):
    return [(lesson, key) for lesson in manifest["lessons"] for key in handouts.EDITIONS]


def _text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def test_built_every_lesson_both_editions_and_home_page(manifest):
    built = {lesson["name"] for lesson in manifest["lessons"]}
    if os.environ.get("COURSE_REQUIRE_HANDOUTS") == "1":
        assert built == {p.stem for p in selected()}
    home = (OUT / "index.html").read_text(encoding="utf-8")
    for lesson in manifest["lessons"]:
        assert lesson["goals"], lesson["name"]
        for key in handouts.EDITIONS:
            edition = lesson["editions"][key]
            assert (OUT / edition["html"]).stat().st_size > 10_000
            assert (OUT / edition["pdf"]).read_bytes()[:5] == b"%PDF-"
            assert f'href="{edition["html"]}"' in home and f'href="{edition["pdf"]}"' in home
        assert (OUT / lesson["student_notebook"]).exists()


def test_built_student_editions_hold_no_solution(manifest):
    for lesson in manifest["lessons"]:
        master = nbformat.read(ROOT / "notebooks" / f"{lesson['name']}.ipynb", as_version=4)
        kept = "\n".join(c.source for c in master.cells if not handouts.is_solution(c))
        solution_lines = {line.strip() for c in master.cells if handouts.is_solution(c)
                          for line in c.source.splitlines()}
        # lines that only a solution has (long enough to be distinctive)
        secret = [line for line in solution_lines if len(line) >= 16 and not line.startswith("#") and line not in kept]
        assert secret, f"{lesson['name']}: no distinctive solution line to look for"
        notebook = nbformat.read(OUT / lesson["student_notebook"], as_version=4)
        assert not any(handouts.is_solution(c) for c in notebook.cells)
        page = _text((OUT / lesson["editions"]["student"]["html"]).read_text(encoding="utf-8"))
        stored = "\n".join(c.source for c in notebook.cells)
        for line in secret:
            assert line not in page and line not in stored, f"{lesson['name']}: solution code in the student edition: {line}"
        instructor = _text((OUT / lesson["editions"]["instructor"]["html"]).read_text(encoding="utf-8"))
        assert any(line in instructor for line in secret)  # the search itself can find solution code


def test_built_checks_pass_with_solutions_and_are_unsolved_without(manifest):
    for lesson in manifest["lessons"]:
        instructor, student = (lesson["editions"][k]["checks"] for k in handouts.EDITIONS)
        assert instructor and set(instructor) == set(student), lesson["name"]
        assert set(instructor.values()) == {"통과"}, (lesson["name"], instructor)
        assert set(student.values()) == {"아직 풀지 않음"}, (lesson["name"], student)
        page = (OUT / lesson["editions"]["student"]["html"]).read_text(encoding="utf-8")
        for exercise_id in student:
            assert f"[{exercise_id}] 아직 풀지 않음" in page


def test_built_no_cdn_no_script_no_machine_paths(manifest):
    home = os.path.expanduser("~")
    for path in [OUT / "index.html", *(OUT / e["html"] for lesson, _ in _built(manifest)
                                       for e in [lesson["editions"][_]])]:
        page = re.sub(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=]+", "", path.read_text(encoding="utf-8"))
        assert not CDN.search(page), (path.name, CDN.search(page).group(0))
        assert "<script" not in page, path.name  # formulas were typeset at build time
        for private in {str(ROOT), os.path.realpath(ROOT), home, "/home/", tempfile.gettempdir() + "/"}:
            assert private not in page, (path.name, private)


def test_built_formulas_are_typeset(manifest):
    for lesson, key in _built(manifest):
        master = nbformat.read(ROOT / "notebooks" / f"{lesson['name']}.ipynb", as_version=4)
        has_math = any(c.cell_type == "markdown" and re.search(r"\$[^$\n]+\$", c.source) for c in master.cells)
        page = (OUT / lesson["editions"][key]["html"]).read_text(encoding="utf-8")
        if has_math:
            assert 'mjx-container class="MathJax" jax="SVG"' in page, lesson["name"]
            assert "<svg" in page


def _poppler(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} missing (apt-get install poppler-utils; .ci/run installs it)")
    return path


def test_built_pdfs_hold_korean_text_and_embed_a_korean_font(manifest):
    pdffonts, pdftotext = _poppler("pdffonts"), _poppler("pdftotext")
    for lesson, key in _built(manifest):
        pdf = OUT / lesson["editions"][key]["pdf"]
        text = subprocess.run([pdftotext, "-l", "3", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert len(HANGUL.findall(text)) > 100, pdf.name
        fonts = subprocess.run([pdffonts, str(pdf)], capture_output=True, text=True, check=True).stdout
        korean = [line for line in fonts.splitlines() if "Nanum" in line]
        assert korean and all(line.split()[-5] == "yes" for line in korean), fonts  # the "emb" column
        assert "✅" not in text and "□" not in text


def test_built_every_printed_symbol_has_a_glyph(manifest):
    """Every character of the editions is in a font the pages name (Nanum, DejaVu): no boxes."""
    from fontTools.ttLib import TTFont

    fonts = [Path(p) for p in ("/usr/share/fonts/truetype/nanum/NanumGothic.ttf",
                               "/usr/share/fonts/truetype/nanum/NanumGothicCoding.ttf",
                               "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                               "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")]
    if not all(f.exists() for f in fonts):
        pytest.skip("fonts-nanum / fonts-dejavu-core not installed")
    covered: set[int] = set()
    for font in fonts:
        covered |= set(TTFont(font, lazy=True).getBestCmap())
    for lesson, key in _built(manifest):
        page = (OUT / lesson["editions"][key]["html"]).read_text(encoding="utf-8")
        page = re.sub(r"<style.*?</style>|<svg.*?</svg>|<mjx-assistive-mml.*?</mjx-assistive-mml>|data:[^\"')]+", "",
                      page, flags=re.S)
        missing = {ch for ch in _text(page) if ord(ch) > 0x7E and ord(ch) not in covered and not ch.isspace()}
        missing -= {"\u200b", "\ufeff"}
        assert not missing, (lesson["name"], key, sorted(missing))


def test_built_student_pdf_page_rasterises_with_korean_and_formulas(manifest, tmp_path):
    pdftoppm, pdftotext = _poppler("pdftoppm"), _poppler("pdftotext")
    lesson = manifest["lessons"][0]
    pdf = OUT / lesson["editions"]["student"]["pdf"]
    subprocess.run([pdftoppm, "-f", "1", "-l", "1", "-r", "60", "-png", str(pdf), str(tmp_path / "page")], check=True)
    png = next(tmp_path.glob("page*.png"))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5_000
    text = subprocess.run([pdftotext, str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert HANGUL.search(text)
    assert not re.search(r"\$[^$\n]{1,40}\$", text), "raw $...$ left in the PDF: formulas not typeset"
