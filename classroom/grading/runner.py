"""Runs one submission inside its sandbox (started by ``classroom.grading.grade``, never imported there).

    python -m classroom.grading.runner PLAN.json CELL_TIMEOUT        (events on fd $GRADER_EVENTS_FD)

The plan is read before any student code runs. Cells run one by one in an IPython shell (magics
work; an error is recorded and the next cell runs, as nbgrader's autograde does). A cell that runs
past CELL_TIMEOUT seconds is interrupted here; the grader kills the whole sandbox if that does not
work. At each of the lesson's check cells nothing is checked: the arguments of ``check(...)`` are
evaluated in the student's namespace and sent to the grader as JSON (``classroom.grading.answers``).

Everything here runs in the student's process, so it decides nothing: the events it writes (one
JSON object per line: a step started or ended, an answer) are bounded and validated by the grader,
which reads them as the student's words; the verdicts come from ``classroom.grading.checker``.
"""
from __future__ import annotations

import ast
import base64
import json
import os
import signal
import sys
from pathlib import Path

NETGUARD_LOG = Path(os.environ.get("HOME", "/tmp")) / "netguard.log"


class CellTimeout(BaseException):
    """Raised in a cell that runs too long."""


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {str(error)[:300]}"


def answer_records(source: str, namespace: dict, blob=None):
    """For each ``check("ID", answer, name=value, ...)`` of a check cell's ``source``: the answer and
    the named values, evaluated in ``namespace`` (nothing is checked here), as
    ``(ID, JSON text, None)``, or ``(ID, None, (kind, why))`` where they cannot cross as data
    (``"not-data"``) or their expressions failed (``"error"``)."""
    from classroom.grading.answers import NotData, encode

    for node in ast.parse(source).body:
        if isinstance(node, ast.ImportFrom):
            continue
        call = node.value
        exercise_id = call.args[0].value
        try:
            answer = eval(compile(ast.Expression(call.args[1]), "<check>", "eval"), namespace) \
                if len(call.args) > 1 else None
            context = {kw.arg: eval(compile(ast.Expression(kw.value), "<check>", "eval"), namespace)
                       for kw in call.keywords}
            yield exercise_id, encode({"answer": answer, "context": context}, blob), None
        except NotData as error:
            yield exercise_id, None, ("not-data", str(error))
        except BaseException as error:  # noqa: BLE001 - the answer's expression failed
            yield exercise_id, None, ("error", describe(error))


def main() -> int:
    plan = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    cell_timeout = float(sys.argv[2])
    events = os.fdopen(int(os.environ.pop("GRADER_EVENTS_FD")), "w", buffering=1, encoding="utf-8")
    os.environ["COURSE_NETGUARD_LOG"] = str(NETGUARD_LOG)

    def emit(**event) -> None:
        try:
            events.write(json.dumps(event, ensure_ascii=False) + "\n")
        except (OSError, ValueError):
            pass

    sent: set[str] = set()

    def blob(name: str, raw: bytes) -> None:  # a big tensor, once per submission (answers.BLOB_MIN)
        if name not in sent:
            sent.add(name)
            emit(blob=name, data=base64.b64encode(raw).decode("ascii"))

    def on_alarm(signum, frame):
        raise CellTimeout(f"셀이 시간 제한 {cell_timeout:g}초를 넘겼습니다")

    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    config.InteractiveShell.colors = "nocolor"
    shell = InteractiveShell.instance(config=config)

    def run_check(source: str) -> None:
        for exercise_id, text, error in answer_records(source, shell.user_ns, blob):
            if text is not None:
                emit(answer=exercise_id, json=text)
            else:
                emit(answer=exercise_id, error=error[1], kind=error[0])

    signal.signal(signal.SIGALRM, on_alarm)
    for number, step in enumerate(plan["steps"]):
        emit(step=number, cell=step["cell"], state="start")
        error = None
        signal.setitimer(signal.ITIMER_REAL, cell_timeout)
        try:
            if step["kind"] == "check":
                run_check(step["source"])
            else:
                result = shell.run_cell(step["source"], store_history=False, silent=False)
                failure = result.error_before_exec or result.error_in_exec
                if failure is not None:
                    error = describe(failure)
        except BaseException as failure:  # noqa: BLE001 - a timeout outside IPython's own handler
            error = describe(failure)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")
        emit(step=number, cell=step["cell"], state="end", error=error)
        sys.stdout.flush()
    emit(done=True, network=NETGUARD_LOG.exists())
    return 0


if __name__ == "__main__":
    sys.exit(main())
