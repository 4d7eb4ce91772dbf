"""Build the classroom editions of every lesson and the course home page, offline.

For every lesson ``notebooks/NN_*.ipynb``:

- **instructor edition**: the lesson with its solutions, executed (every exercise check must pass);
- **student edition**: the ``solution``-tagged cells removed, then executed (every check reports
  "아직 풀지 않음" and the rest of the lesson still runs), plus the notebook students work in;

each as HTML and PDF, and ``handouts/index.html``: the lesson list with learning goals, run time
and links to both editions. Everything lands in the git-ignored ``handouts/`` folder::

    handouts/index.html
    handouts/instructor/NN_name.html  .pdf
    handouts/student/NN_name.html     .pdf   .ipynb (no outputs, to hand out)
    handouts/manifest.json            what was built, times, exercise verdicts (read by tests)

This script renders; it does not execute. The executions are the tests' (``tests/test_lessons.py``,
one per edition and lesson, checked cell by cell as nbval does, with ``execute`` below): the
instructor edition is the lesson's run on the stand-in GPU (``tests/fakegpu``; same numbers as the
CPU, bit for bit; its banner says so), the student edition a run on the CPU. They leave the executed
notebooks in ``outputs/lessons/``; a notebook older than its lesson is refused.

Nothing is fetched from the internet: lessons run on the "dl-course" kernel with ``notebooks/``
as the working directory; formulas are typeset by a local MathJax 3 copy (PyPI
``django-static-mathjax``) in headless Chromium and saved as SVG, so the HTML needs no script
and no CDN; Korean text uses the system's Nanum fonts (Debian ``fonts-nanum``), which Chromium
embeds into the PDF. Outputs are scrubbed of the build machine's paths (course folder → ``<과정 폴더>``,
home → ``~``) and of symbols the fonts lack (✅ → ✔).

    make handouts                      # runs tests/test_lessons.py, then this script
    make handouts LESSONS="04 05"      # just these (fast, while writing)
"""
from __future__ import annotations

import argparse
import copy
import html
import json
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
TEMPLATES = Path(__file__).resolve().parent / "templates"
KERNEL = "dl-course"
CHROMIUM = os.environ.get("COURSE_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage"]
"""The flags every headless Chromium of the course starts with (also used by tests/test_browser.py)."""

ROOT_MARKER = "<과정 폴더>"
# Symbols lessons print that Korean fonts lack, replaced by ones DejaVu Sans has.
SYMBOLS = {"✅": "✔", "✔️": "✔", "❌": "✘", "⚠️": "⚠", "🎉": "★", "👉": "→"}
SOLUTION_TAG = "solution"
CHECK_CALL = re.compile(r"""\bcheck\(\s*["'](\d\d\.M?\d+)["']""")
EDITIONS = ("instructor", "student")
EDITION_NAMES = {"instructor": "강사용", "student": "학생용"}


@dataclass
class Edition:
    """One built edition of one lesson (what manifest.json records)."""

    html: str
    pdf: str
    seconds: float
    cpu_seconds: float | None
    peak_rss_mib: float | None
    checks: dict[str, str] = field(default_factory=dict)  # exercise id -> verdict printed


@dataclass
class Lesson:
    number: str
    name: str
    title: str
    goals: list[str]
    editions: dict[str, Edition] = field(default_factory=dict)
    student_notebook: str = ""


# ----------------------------------------------------------------------------- notebooks

def lesson_paths(numbers: list[str] | None = None) -> list[Path]:
    """The lesson notebooks ``notebooks/NN_*.ipynb``, optionally only lessons ``numbers``."""
    paths = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
    if numbers:
        wanted = {n.zfill(2) for n in numbers}
        paths = [p for p in paths if p.name[:2] in wanted]
        missing = wanted - {p.name[:2] for p in paths}
        if missing:
            raise SystemExit(f"레슨을 찾을 수 없습니다: {', '.join(sorted(missing))} (notebooks/NN_*.ipynb)")
    return paths


def is_solution(cell) -> bool:
    return SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])


def clean(nb):
    """A copy without outputs, execution counts or widget state."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def student_edition(nb):
    """The lesson with every ``solution``-tagged cell removed (and no outputs)."""
    nb = clean(nb)
    nb.cells = [c for c in nb.cells if not is_solution(c)]
    return nb


def title_of(nb) -> str:
    first = "".join(nb.cells[0].source).splitlines()[0] if nb.cells else ""
    return first.lstrip("#").strip()


def learning_goals(nb) -> list[str]:
    """The bullet points of the lesson's ``## 학습 목표`` cell (markdown, continuation lines joined)."""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and re.search(r"^#+\s*학습 목표", cell.source, re.M):
            goals: list[str] = []
            for line in cell.source.splitlines():
                if re.match(r"^\s*[-*]\s+", line):
                    goals.append(re.sub(r"^\s*[-*]\s+", "", line).strip())
                elif goals and line[:1].isspace() and line.strip():  # an indented continuation line
                    goals[-1] += " " + line.strip()
                elif goals and line.strip():
                    break
            return goals
    return []


# ----------------------------------------------------------------------------- scrubbing

def scrub_text(text: str) -> str:
    """Remove what belongs to the build machine: the course folder, the home folder, emoji the fonts lack."""
    for root in {str(ROOT), os.path.realpath(ROOT)}:
        text = text.replace(root, ROOT_MARKER)
    home = os.path.expanduser("~")
    if home not in ("/", ""):
        text = re.sub(re.escape(home) + r"(?=[/\\\s'\"]|$)", "~", text)
    text = re.sub(r"/home/[^/\s'\"]+", "~", text)
    for temp in {tempfile.gettempdir(), os.path.realpath(tempfile.gettempdir())}:  # $TMPDIR-aware
        text = re.sub(r"(?<![\w.])" + re.escape(temp) + r"/[^\s'\"]*", "<임시 폴더>", text)
    for symbol, replacement in SYMBOLS.items():
        text = text.replace(symbol, replacement)
    return text


def scrub(nb) -> None:
    """Scrub every text output of an executed notebook in place (and the symbols in its sources)."""
    for cell in nb.cells:
        for symbol, replacement in SYMBOLS.items():
            cell.source = cell.source.replace(symbol, replacement)
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = scrub_text(output["text"])
            if "traceback" in output:
                output["traceback"] = [scrub_text(t) for t in output["traceback"]]
            if "evalue" in output:
                output["evalue"] = scrub_text(output["evalue"])
            for mime, value in output.get("data", {}).items():
                if mime.startswith("text/") or mime in ("application/json",):
                    output["data"][mime] = scrub_text(value) if isinstance(value, str) else value


def verdicts(nb) -> dict[str, str]:
    """Exercise id -> the verdict its check cell printed (통과 / 아직 풀지 않음 / 틀림 / 출력 없음)."""
    from helpers.exercises import NOT_SOLVED, PASSED, WRONG

    found: dict[str, str] = {}
    for cell in nb.cells:
        if cell.cell_type != "code" or is_solution(cell):
            continue
        for exercise_id in CHECK_CALL.findall(cell.source):
            text = "".join(o.get("text", "") + str(o.get("evalue", "")) for o in cell.get("outputs", []))
            verdict = next((v for v in (NOT_SOLVED, WRONG, PASSED) if f"[{exercise_id}] {v}" in text), "출력 없음")
            found[exercise_id] = verdict
    return found


# ----------------------------------------------------------------------------- execution

# nbval's cell markers (comment on the cell's first lines, or a cell tag), honoured as nbval does.
_SKIP = ("NBVAL_SKIP", "nbval-skip")
_RAISES = ("NBVAL_RAISES_EXCEPTION", "nbval-raises-exception", "raises-exception")
_COMPARES = ("NBVAL_CHECK_OUTPUT", "nbval-check-output")


class CellFailed(Exception):
    """A lesson's cell failed (the message names the lesson, the cell and the error)."""


def _marked(cell, markers) -> bool:
    tags = cell.get("metadata", {}).get("tags", [])
    return any(m in tags or f"# {m}" in cell.source for m in markers)


def cell_label(nb, index: int) -> str:
    """``cell 12 (code cell 7: first line)``: how a failure names the cell, as nbval numbers it too."""
    code = sum(1 for c in nb.cells[:index] if c.cell_type == "code")
    first = next((line for line in nb.cells[index].source.splitlines() if line.strip()), "")[:70]
    return f"cell {index} (code cell {code}: {first!r})"


def execute(nb, timeout: int = 900, *, env: dict | None = None, name: str = "",
            after=None) -> tuple[float, float | None, float | None]:
    """Run ``nb`` in place on the course kernel (cwd ``notebooks/``); wall s, kernel CPU s, peak RSS MiB.

    The check is nbval's (``pytest --nbval-lax``): every code cell runs in order, outputs are
    not compared, and any error fails (unless the cell is marked ``NBVAL_RAISES_EXCEPTION``;
    ``NBVAL_SKIP`` cells are not run). A failure raises ``CellFailed`` naming the lesson
    (``name``) and the cell. ``env``: the kernel's environment (default: this process's).
    ``after(client)`` runs in the same kernel once every cell has run, before it shuts down.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    compared = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and _marked(c, _COMPARES)]
    if compared:
        raise CellFailed(f"{name}: NBVAL_CHECK_OUTPUT in cells {compared}: output comparison is not supported")
    client = NotebookClient(nb, kernel_name=KERNEL, timeout=timeout, allow_errors=False,
                            resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    stats: dict[str, float | None] = {"cpu": None, "rss": None}
    start = time.perf_counter()
    client.reset_execution_trackers()
    with client.setup_kernel(**({"env": env} if env is not None else {})):
        pid = getattr(client.km.provisioner, "pid", None)
        try:
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code" or _marked(cell, _SKIP):
                    continue
                raises = _marked(cell, _RAISES)
                try:
                    client.execute_cell(cell, index)
                except CellExecutionError as error:
                    if not raises:
                        raise CellFailed(f"{name}: {cell_label(nb, index)} failed: {error.ename}: "
                                         f"{str(error.evalue)[:800]}") from None
                    continue
                except Exception as error:  # timeout, dead kernel
                    raise CellFailed(f"{name}: {cell_label(nb, index)}: {type(error).__name__}: {error}") from None
                if raises and not any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
                    raise CellFailed(f"{name}: {cell_label(nb, index)} is marked to raise and did not")
            seconds = time.perf_counter() - start
            if after is not None:
                after(client)
        finally:
            stats.update(_kernel_usage(pid))
    return seconds, stats["cpu"], stats["rss"]


def _kernel_usage(pid: int | None) -> dict[str, float | None]:
    try:
        import psutil

        process = psutil.Process(pid)
        cpu = process.cpu_times()
        usage = {"cpu": round(cpu.user + cpu.system, 1), "rss": None}
        status = Path(f"/proc/{pid}/status")
        if status.exists():  # Linux: VmHWM is the peak resident set size
            match = re.search(r"VmHWM:\s+(\d+) kB", status.read_text())
            usage["rss"] = round(int(match.group(1)) / 1024, 1) if match else None
        return usage
    except Exception:  # noqa: BLE001 - figures are informative; a missing one must not stop a build
        return {"cpu": None, "rss": None}


# ----------------------------------------------------------------------------- rendering

def mathjax_file() -> Path:
    """The local MathJax 3 (TeX input, SVG output: no web fonts needed)."""
    try:
        import mathjax  # PyPI django-static-mathjax: a plain copy of MathJax's files
    except ModuleNotFoundError:
        raise SystemExit("MathJax 사본이 없습니다. 설치: .venv/bin/pip install -r requirements.txt") from None
    path = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5" / "tex-svg.js"
    if not path.exists():
        raise SystemExit(f"{path}: MathJax 파일이 없습니다. 설치: .venv/bin/pip install -r requirements.txt")
    return path


def to_html(nb, banner: str) -> str:
    """nbconvert HTML (JupyterLab look) with a local MathJax script, before typesetting."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="handout", extra_template_basedirs=[str(TEMPLATES)])
    exporter.mathjax_url = mathjax_file().as_uri()
    body, _ = exporter.from_notebook_node(nb, resources={"handout_banner": banner})
    return body


class Renderer:
    """Headless Chromium (Debian's, driven by Playwright): typeset formulas, save HTML, print PDF."""

    def __enter__(self) -> "Renderer":
        from playwright.sync_api import sync_playwright

        if not Path(CHROMIUM).exists():
            raise SystemExit(f"{CHROMIUM}: Chromium이 없습니다. 설치: sudo apt-get install chromium fonts-nanum "
                             "(또는 COURSE_CHROMIUM=/path/to/chromium)")
        self._playwright = sync_playwright().start()
        self.browser = self._playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        return self

    def __exit__(self, *exc) -> None:
        self.browser.close()
        self._playwright.stop()

    def render(self, raw_html: str, html_path: Path, pdf_path: Path) -> None:
        """Typeset ``raw_html``'s formulas to SVG, save the script-free page and its PDF."""
        with tempfile.TemporaryDirectory() as tmp:
            source = Path(tmp) / "page.html"
            source.write_text(raw_html, encoding="utf-8")
            page = self.browser.new_page()
            # Offline by construction: any request that is not a local file is refused.
            page.route(re.compile(r"^(?!file:|data:|about:)"), lambda route: route.abort())
            try:
                page.goto(source.as_uri(), wait_until="load")
                page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=60_000)
                page.evaluate("MathJax.startup.promise")
                page.evaluate("document.querySelectorAll('script[data-handout-build]').forEach(s => s.remove())")
                page.evaluate("document.fonts.ready")
                html_path.write_text("<!DOCTYPE html>\n" + page.content(), encoding="utf-8")
                page.pdf(path=str(pdf_path), format="A4", print_background=True,
                         margin={"top": "14mm", "bottom": "14mm", "left": "12mm", "right": "12mm"})
            finally:
                page.close()


# ----------------------------------------------------------------------------- home page

def _inline_markdown(text: str) -> str:
    text = html.escape(text, quote=False)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", text)
    return text


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return f"{seconds:.0f}초" if seconds < 90 else f"{seconds / 60:.1f}분"


def index_page(lessons: list[Lesson], built: str) -> str:
    """The course home page: relative links only, inline CSS, no script."""
    items = []
    for lesson in lessons:
        goals = "".join(f"<li>{_inline_markdown(g)}</li>" for g in lesson.goals)
        links = []
        for key in EDITIONS:
            edition = lesson.editions.get(key)
            if edition:
                links.append(f'<span class="ed">{EDITION_NAMES[key]}</span> '
                             f'<a href="{edition.html}">HTML</a> · <a href="{edition.pdf}">PDF</a>')
        if lesson.student_notebook:
            links.append(f'<a href="{lesson.student_notebook}">학생용 노트북(.ipynb)</a>')
        run = lesson.editions.get("student")  # executed on the CPU (the instructor edition: on the stand-in GPU)
        seconds = f"CPU 실행 {_minutes(run.seconds)}" if run else ""
        memory = f" · 최대 메모리 {run.peak_rss_mib / 1024:.1f} GiB" if run and run.peak_rss_mib else ""
        items.append(f"""
    <article class="lesson">
      <header><span class="num">{lesson.number}</span><h2>{html.escape(lesson.title)}</h2>
        <span class="time">{seconds}{memory}</span></header>
      <ul class="goals">{goals}</ul>
      <p class="links">{' &nbsp;|&nbsp; '.join(links)}</p>
    </article>""")
    return f"""<!DOCTYPE html>
<html lang="ko">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>손으로 익히는 PyTorch 딥러닝 — 강의 자료</title>
<style>
  body {{ margin: 0; background: #f5f7fa; color: #1f2933;
         font-family: "NanumGothic", "Nanum Gothic", "Apple SD Gothic Neo", "Malgun Gothic", sans-serif; }}
  main {{ max-width: 880px; margin: 0 auto; padding: 32px 20px 48px; }}
  h1 {{ font-size: 28px; margin: 0 0 6px; }}
  .lead {{ color: #52606d; margin: 0 0 28px; line-height: 1.6; }}
  .lesson {{ background: #fff; border: 1px solid #e1e7ef; border-radius: 10px; padding: 18px 22px; margin: 0 0 16px;
            box-shadow: 0 1px 2px rgba(15, 23, 42, .04); }}
  .lesson header {{ display: flex; align-items: baseline; gap: 12px; flex-wrap: wrap; }}
  .num {{ font-weight: 700; color: #fff; background: #2f6fd6; border-radius: 6px; padding: 2px 8px; }}
  h2 {{ font-size: 19px; margin: 0; flex: 1; }}
  .time {{ color: #616e7c; font-size: 13px; white-space: nowrap; }}
  .goals {{ margin: 12px 0; padding-left: 20px; line-height: 1.65; font-size: 14.5px; }}
  code {{ font-family: "NanumGothicCoding", "DejaVu Sans Mono", monospace; background: #eef2f7; padding: 0 3px;
          border-radius: 3px; font-size: 90%; }}
  .links {{ margin: 0; font-size: 14px; }}
  .ed {{ font-weight: 700; color: #3e4c59; }}
  a {{ color: #1d5fbf; text-decoration: none; }} a:hover {{ text-decoration: underline; }}
  footer {{ color: #7b8794; font-size: 12.5px; margin-top: 24px; line-height: 1.6; }}
</style>
</head>
<body>
<main>
  <h1>손으로 익히는 PyTorch 딥러닝</h1>
  <p class="lead">레슨마다 <strong>학생용</strong>(풀이 셀을 뺀 뒤 실행한 판)과 <strong>강사용</strong>(풀이까지 실행한 판)이
  HTML과 PDF로 있습니다. 연습 문제의 확인 셀은 학생용에서 "아직 풀지 않음", 강사용에서 "통과"를 보여 줍니다.
  실행 시간은 이 자료를 만든 컴퓨터의 CPU에서 잰 값입니다.</p>
{''.join(items)}
  <footer>만든 날짜: {built} · 만드는 명령: <code>make handouts</code> (README 참고) · 인터넷 연결 없이 열립니다.</footer>
</main>
</body>
</html>
"""


# ----------------------------------------------------------------------------- build

EXECUTED = ROOT / "outputs" / "lessons"
"""Where the lesson runs of the tests (``tests/test_lessons.py``) leave the executed editions:
``EXECUTED/<edition>/NN_name.ipynb``, each with ``metadata["course_run"]`` (how and where it ran)."""

STAND_IN = "fakegpu"


def edition_notebook(master, key: str):
    """The notebook an edition executes: the lesson without outputs (instructor), or without its
    solution cells too (student)."""
    return clean(master) if key == "instructor" else student_edition(master)


def stand_in_note(run: dict) -> str:
    """The banner line of an edition executed on the stand-in GPU (tests/fakegpu)."""
    if run.get("device") != STAND_IN:
        return ""
    return (" · 이 판은 GPU 경로를 시험하는 대역 장치 <code>fakegpu</code>(tests/fakegpu)에서 실행했습니다: "
            "계산은 CPU 커널이 하므로 숫자는 CPU 실행과 비트 단위로 같고, 장치 이름이 fakegpu로 보이며 "
            "잰 시간은 CPU보다 깁니다 (CPU 시간: 학생용 판, 강의 자료 목록)")


def render_lessons(paths: list[Path], out: Path, executed: Path) -> list[Lesson]:
    """Render both editions of each lesson from ``executed`` into ``out`` with one Chromium."""
    rendered = []
    with Renderer() as renderer:
        for path in paths:
            master = nbformat.read(path, as_version=4)
            lesson = Lesson(number=path.name[:2], name=path.stem, title=title_of(master), goals=learning_goals(master))
            nbformat.write(student_edition(master), out / "student" / f"{path.stem}.ipynb")
            lesson.student_notebook = f"student/{path.stem}.ipynb"
            for key in EDITIONS:
                nb = nbformat.read(executed / key / path.name, as_version=4)
                run = nb.metadata.pop("course_run", {})
                expected = edition_notebook(master, key)
                if [c.source for c in nb.cells] != [c.source for c in expected.cells]:
                    raise SystemExit(f"{executed / key / path.name}: {path.name}보다 오래된 실행입니다. "
                                     "다시 실행하세요: make handouts")
                scrub(nb)
                banner = (f"{EDITION_NAMES[key]} · {html.escape(lesson.title)} · "
                          f'<a href="../index.html">강의 자료 목록</a>{stand_in_note(run)}')
                html_rel, pdf_rel = f"{key}/{path.stem}.html", f"{key}/{path.stem}.pdf"
                renderer.render(to_html(nb, banner), out / html_rel, out / pdf_rel)
                lesson.editions[key] = Edition(html=html_rel, pdf=pdf_rel, seconds=run.get("seconds"),
                                               cpu_seconds=run.get("cpu_seconds"), peak_rss_mib=run.get("peak_rss_mib"),
                                               checks=verdicts(nb))
                print(f"[{lesson.number}] {EDITION_NAMES[key]}: 확인 {lesson.editions[key].checks}", flush=True)
            rendered.append(lesson)
    return rendered


def build(paths: list[Path], out: Path, executed: Path = EXECUTED, jobs: int = 1) -> list[Lesson]:
    """Render both editions of each lesson from ``executed`` into ``out`` (nothing is executed
    here: ``tests/test_lessons.py`` ran and checked them), ``jobs`` Chromiums side by side; then
    the home page and manifest."""
    for key in EDITIONS:
        (out / key).mkdir(parents=True, exist_ok=True)
    manifest_path = out / "manifest.json"
    previous = {}
    if manifest_path.exists():  # keep lessons built by an earlier --lessons run
        for item in json.loads(manifest_path.read_text(encoding="utf-8")).get("lessons", []):
            item["editions"] = {k: Edition(**v) for k, v in item["editions"].items()}
            previous[item["number"]] = Lesson(**item)
    lessons: dict[str, Lesson] = {n: l for n, l in previous.items() if (out / "instructor" / f"{l.name}.html").exists()}
    missing = [executed / key / p.name for p in paths for key in EDITIONS if not (executed / key / p.name).exists()]
    if missing:
        raise SystemExit(f"실행된 레슨이 없습니다: {', '.join(str(m) for m in missing[:4])} ... "
                         "먼저 실행하세요: make handouts (또는 make test)")
    groups = [paths[i::jobs] for i in range(min(jobs, len(paths)))]
    if len(groups) > 1:  # one process and one Chromium per group (fork: nothing is started yet)
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(len(groups), mp_context=multiprocessing.get_context("fork")) as pool:
            rendered = [l for group in pool.map(render_lessons, groups, [out] * len(groups),
                                                [executed] * len(groups)) for l in group]
    else:
        rendered = render_lessons(paths, out, executed)
    lessons.update({lesson.number: lesson for lesson in rendered})
    ordered = [lessons[n] for n in sorted(lessons)]
    built = time.strftime("%Y-%m-%d")
    (out / "index.html").write_text(index_page(ordered, built), encoding="utf-8")
    manifest_path.write_text(json.dumps({"built": built, "lessons": [asdict(l) for l in ordered]},
                                        ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return ordered


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="학생용·강사용 판(HTML, PDF)과 강의 홈페이지를 만듭니다.")
    parser.add_argument("--lessons", nargs="+", metavar="NN", help="these lessons only (e.g. 04 05)")
    parser.add_argument("--out", type=Path, default=ROOT / "handouts", help="output folder (default handouts/)")
    parser.add_argument("--executed", type=Path, default=EXECUTED,
                        help="the executed editions (default outputs/lessons/, written by tests/test_lessons.py)")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="Chromiums side by side (default: 2, or 1 on a 1-core machine)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    start = time.perf_counter()
    lessons = build(lesson_paths(args.lessons), args.out, args.executed, jobs=args.jobs)
    print(f"{len(lessons)}개 레슨, {time.perf_counter() - start:.0f} s → {args.out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
