"""What ``course-grade`` writes: ``grades.csv``, ``grades.html`` (sortable, offline) and feedback files.

A cell of the table is the verdict, with the reason for 실행 실패: ``실행 실패 (셀이 시간 제한 60초를 넘겼습니다)``.
Feedback files carry the checks' hints (written not to give the answer away) and nothing of the solutions.
"""
from __future__ import annotations

import csv
import html
import time
from pathlib import Path

from helpers.exercises import NOT_SOLVED, PASSED, WRONG
from helpers.grading import FAILED

CLASSES = {PASSED: "pass", WRONG: "wrong", NOT_SOLVED: "todo", FAILED: "fail"}


def cell_text(verdict: str, detail: str | None) -> str:
    return f"{verdict} ({detail})" if verdict == FAILED and detail else verdict


def write_csv(path: Path, ids: list[str], results) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:  # utf-8-sig: Excel reads Korean
        writer = csv.writer(fh)
        writer.writerow(["학생", *ids, "통과 수", "비고"])
        for r in results:
            passed = sum(r.verdicts[i][0] == PASSED for i in ids)
            writer.writerow([r.student, *(cell_text(*r.verdicts[i]) for i in ids), passed, " / ".join(r.notes)])


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
        lines += ["", "참고:"] + [f"- {note}" for note in result.notes]
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
    head = "".join(f"<th>{html.escape(h)}</th>" for h in ["학생", *ids, "통과 수", "비고"])
    rows = []
    for r in results:
        cells = [f'<td data-key="{html.escape(r.student)}">{html.escape(r.student)}</td>']
        for i in ids:
            verdict, detail = r.verdicts[i]
            title = f' title="{html.escape(detail)}"' if detail else ""
            cells.append(f'<td class="{CLASSES[verdict]}" data-key="{order[verdict]}"{title}>'
                         f"{html.escape(cell_text(verdict, detail))}</td>")
        passed = sum(r.verdicts[i][0] == PASSED for i in ids)
        cells.append(f'<td data-key="{passed}">{passed}</td>')
        note = " / ".join(r.notes)
        cells.append(f'<td class="note" data-key="{html.escape(note)}">{html.escape(note)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    summary = ", ".join(f"{i}: {sum(r.verdicts[i][0] == PASSED for r in results)}명 통과" for i in ids)
    page = f"""<!DOCTYPE html>
<html lang="ko"><head><meta charset="utf-8"><title>레슨 {lesson} 채점표</title><style>{_STYLE}</style></head>
<body>
<h1>레슨 {lesson} 채점표</h1>
<p>{len(results)}명, {html.escape(summary)}. 열 제목을 누르면 정렬됩니다. 격리: {html.escape(isolation)}.
채점 시각 {time.strftime('%Y-%m-%d %H:%M')}, {seconds:.0f}초.</p>
<table><thead><tr>{head}</tr></thead><tbody>
{chr(10).join(rows)}
</tbody></table>
<script>{_SCRIPT}</script>
</body></html>
"""
    path.write_text(page, encoding="utf-8")


def write_all(out: Path, lesson, ids: list[str], results, isolation: str, seconds: float) -> None:
    number = lesson.number if hasattr(lesson, "number") else str(lesson)
    write_csv(out / "grades.csv", ids, results)
    write_html(out / "grades.html", number, ids, results, isolation, seconds)
    feedback = out / "feedback"
    feedback.mkdir(exist_ok=True)
    for r in results:
        (feedback / f"{r.student}.txt").write_text(feedback_text(number, ids, r), encoding="utf-8")
