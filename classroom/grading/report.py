"""What ``course-grade`` writes: ``grades.csv``, ``grades.html`` (sortable, offline) and feedback files.

A cell of the table is the verdict, with the reason for 실행 실패: ``실행 실패 (셀이 시간 제한 60초를 넘겼습니다)``.
Feedback files carry the checks' hints (written not to give the answer away) and nothing of the solutions.
The grader's notes ("비고") and what the student's own process reported ("실행 기록") are separate columns.
Nothing here can stop the report: any file-name bytes become readable text (``student_name``), CSV
cells cannot start a spreadsheet formula (``csv_cell``), and a student whose row or feedback cannot
be written gets a row saying so while everyone else gets theirs.
"""
from __future__ import annotations

import csv
import html
import os
import time
import unicodedata
from pathlib import Path

from helpers.exercises import NOT_SOLVED, PASSED, WRONG
from classroom.grading import FAILED

CLASSES = {PASSED: "pass", WRONG: "wrong", NOT_SOLVED: "todo", FAILED: "fail"}


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
HEADER = ["학생", "통과 수", "비고", "실행 기록 (학생 프로세스가 보고한 내용)"]


def readable(text: str) -> str:
    """``text`` with control, format and surrogate characters shown as escapes (``\\x07``, ``\\u202e``)."""
    return "".join(c if unicodedata.category(c)[0] != "C" else
                   (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}") for c in text)


def student_name(stem: str) -> tuple[str, list[str]]:
    """The student's name from a file name (as ``os.listdir`` gives it) and notes on how it was read."""
    raw = os.fsencode(stem)
    try:
        return readable(raw.decode("utf-8")), []
    except UnicodeDecodeError:
        pass
    try:
        return readable(raw.decode("cp949")), ["파일 이름이 UTF-8이 아니어서 CP949(윈도우 한글)로 읽었습니다"]
    except UnicodeDecodeError:
        return readable(raw.decode("utf-8", "backslashreplace")), ["파일 이름을 읽을 수 없는 바이트는 \\x.. 로 적었습니다"]


def csv_cell(value):
    """A CSV cell that a spreadsheet shows as text, never runs as a formula."""
    if isinstance(value, str):
        value = readable(value)  # a tab or CR at the start is now "\\x09" ...; the check stays for clarity
        return "'" + value if value.startswith(FORMULA_START) else value
    return value


def cell_text(verdict: str, detail: str | None) -> str:
    return f"{verdict} ({detail})" if verdict == FAILED and detail else verdict


def _row(r, ids: list[str]) -> list:
    passed = sum(r.verdicts[i][0] == PASSED for i in ids)
    return [r.student, *(cell_text(*r.verdicts[i]) for i in ids), passed, " / ".join(r.notes),
            " / ".join(r.student_notes)]


def _failed_row(r, ids: list[str], error: Exception) -> list:
    return [readable(str(getattr(r, "student", "?"))), *[FAILED] * len(ids), 0,
            f"이 학생의 보고서를 쓰지 못했습니다 ({type(error).__name__})", ""]


def rows(ids: list[str], results) -> list[list]:
    """One row per student; a student whose row fails gets a row saying so."""
    out = []
    for r in results:
        try:
            out.append(_row(r, ids))
        except Exception as error:  # noqa: BLE001 - one student's report never stops the others'
            out.append(_failed_row(r, ids, error))
    return out


def write_csv(path: Path, ids: list[str], results) -> None:
    with path.open("w", encoding="utf-8-sig", newline="", errors="backslashreplace") as fh:  # Excel reads Korean
        writer = csv.writer(fh)
        writer.writerow([HEADER[0], *ids, *HEADER[1:]])
        for row in rows(ids, results):
            writer.writerow([csv_cell(v) for v in row])


def feedback_text(lesson: str, ids: list[str], result) -> str:
    lines = [f"레슨 {lesson} 채점 결과: {result.student}", ""]
    for i in ids:
        verdict, detail = result.verdicts[i]
        if verdict == PASSED:
            lines.append(f"- {i}: {PASSED}")
        elif verdict == WRONG:
            lines.append(f"- {i}: {WRONG}. {detail or ''}".rstrip())
        elif verdict == NOT_SOLVED:
            lines.append(f"- {i}: {NOT_SOLVED}. TODO 셀을 채우고, 답을 answer 변수에 넣었는지 보세요.")
        else:
            lines.append(f"- {i}: {FAILED}. {detail or ''}".rstrip())
    if result.notes:
        lines += ["", "참고 (채점기):"] + [f"- {note}" for note in result.notes]
    if result.student_notes:
        lines += ["", "실행 기록 (노트북 실행 중 학생 프로세스가 보고한 내용):"] + [f"- {n}" for n in result.student_notes]
    if all(result.verdicts[i][0] == PASSED for i in ids):
        lines += ["", "모든 문제를 통과했습니다."]
    else:
        lines += ["", "노트북을 처음부터 끝까지(Run All) 다시 실행해 확인 셀이 모두 '통과'인지 보고 다시 내세요."]
    return "\n".join(lines) + "\n"


_SCRIPT = """
document.querySelectorAll('th').forEach(function (th, column) {
  th.addEventListener('click', function () {
    var body = th.closest('table').tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var ascending = th.getAttribute('data-order') !== 'asc';
    document.querySelectorAll('th').forEach(function (h) { h.removeAttribute('data-order'); });
    th.setAttribute('data-order', ascending ? 'asc' : 'desc');
    rows.sort(function (a, b) {
      var x = a.cells[column].getAttribute('data-key'), y = b.cells[column].getAttribute('data-key');
      var nx = parseFloat(x), ny = parseFloat(y);
      var order = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y, 'ko');
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  });
});
"""

_STYLE = """
body { font-family: 'NanumGothic', 'Noto Sans KR', sans-serif; margin: 2em; }
table { border-collapse: collapse; } th, td { border: 1px solid #bbb; padding: .3em .6em; text-align: left; }
th { cursor: pointer; background: #eee; } th[data-order=asc]::after { content: ' ▲'; } th[data-order=desc]::after { content: ' ▼'; }
td.pass { background: #d9f2d9; } td.wrong { background: #f9d6d5; } td.todo { background: #f3f3f3; }
td.fail { background: #fde9c4; } td.note { font-size: .85em; color: #444; max-width: 40em; }
"""


def write_html(path: Path, lesson: str, ids: list[str], results, isolation: str, seconds: float) -> None:
    order = {PASSED: 0, WRONG: 1, FAILED: 2, NOT_SOLVED: 3}
    head = "".join(f"<th>{html.escape(h)}</th>" for h in [HEADER[0], *ids, *HEADER[1:]])
    body, table = [], rows(ids, results)
    for row in table:
        name, verdicts, passed, notes = row[0], row[1:1 + len(ids)], row[1 + len(ids)], row[2 + len(ids):]
        cells = [f'<td data-key="{html.escape(readable(name))}">{html.escape(readable(name))}</td>']
        for text in verdicts:
            verdict = next((v for v in order if text.startswith(v)), FAILED)
            cells.append(f'<td class="{CLASSES[verdict]}" data-key="{order[verdict]}">{html.escape(readable(text))}</td>')
        cells.append(f'<td data-key="{passed}">{passed}</td>')
        for note in notes:
            cells.append(f'<td class="note" data-key="{html.escape(readable(note))}">{html.escape(readable(note))}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    summary = ", ".join(f"{i}: {sum(row[1 + k] == PASSED for row in table)}명 통과" for k, i in enumerate(ids))
    page = f"""<!DOCTYPE html>
<html lang="ko"><head><meta charset="utf-8"><title>레슨 {lesson} 채점표</title><style>{_STYLE}</style></head>
<body>
<h1>레슨 {lesson} 채점표</h1>
<p>{len(results)}명, {html.escape(summary)}. 열 제목을 누르면 정렬됩니다. 격리: {html.escape(isolation)}.
채점 시각 {time.strftime('%Y-%m-%d %H:%M')}, {seconds:.0f}초.</p>
<table><thead><tr>{head}</tr></thead><tbody>
{chr(10).join(body)}
</tbody></table>
<script>{_SCRIPT}</script>
</body></html>
"""
    path.write_text(page, encoding="utf-8", errors="backslashreplace")


def write_all(out: Path, lesson, ids: list[str], results, isolation: str, seconds: float) -> None:
    number = lesson.number if hasattr(lesson, "number") else str(lesson)
    write_csv(out / "grades.csv", ids, results)
    write_html(out / "grades.html", number, ids, results, isolation, seconds)
    feedback = out / "feedback"
    feedback.mkdir(exist_ok=True)
    used: set[str] = set()
    for r in results:
        try:
            name = readable(r.student)[:150] or "_"
            name = "_" + name if name.startswith(".") else name
            while name in used:
                name += "_"
            used.add(name)
            (feedback / f"{name}.txt").write_text(feedback_text(number, ids, r), encoding="utf-8",
                                                  errors="backslashreplace")
        except Exception:  # noqa: BLE001 - one student's feedback never stops the others'
            continue
