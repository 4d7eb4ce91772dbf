"""Runs one submission inside the sandbox (started by ``helpers.grading.grade``, never imported there).

    python -m helpers.grading.runner PLAN.json PAYLOAD_DIR CELL_TIMEOUT   (events on fd $GRADER_EVENTS_FD)

The plan is read before any student code runs. Cells run one by one in an IPython shell (magics
work; an error is recorded and the next cell runs, as nbgrader's autograde does). A cell that runs
past CELL_TIMEOUT seconds is interrupted; the grader kills the whole sandbox if that does not work.
At each of the lesson's check cells nothing is checked here: the arguments of ``check(...)`` are
evaluated in the student's namespace and saved, twice, into PAYLOAD_DIR: ``<id>.pt``
(``torch.save``; the checker loads it with ``weights_only=True``, which accepts plain data only)
and ``<id>.pkl`` (cloudpickle, by value: needed for answers that are code). Everything here runs
in the student's process, so it decides nothing: the verdicts come from ``helpers.grading.checker``.
The events this writes (cell started/ended, answer saved) only explain a failure to the instructor.
"""
from __future__ import annotations

import ast
import json
import os
import signal
import sys
from pathlib import Path


class CellTimeout(BaseException):
    """Raised in a cell that runs too long."""


def main() -> int:
    plan = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    payload, cell_timeout = Path(sys.argv[2]), float(sys.argv[3])
    events = os.fdopen(int(os.environ["GRADER_EVENTS_FD"]), "w", buffering=1, encoding="utf-8")

    def emit(**event) -> None:
        try:
            events.write(json.dumps(event, ensure_ascii=False) + "\n")
        except (OSError, ValueError):
            pass

    def on_alarm(signum, frame):
        raise CellTimeout(f"셀이 시간 제한 {cell_timeout:g}초를 넘겼습니다")

    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    config.InteractiveShell.colors = "nocolor"
    shell = InteractiveShell.instance(config=config)

    def describe(error: BaseException) -> str:
        return f"{type(error).__name__}: {str(error)[:300]}"

    def save(exercise_id: str, answer, context: dict) -> None:
        import torch  # only now: the lesson imported it already
        record = {"answer": answer, "context": context}
        saved, problems = [], []
        try:
            torch.save(record, payload / f"{exercise_id}.pt")
            saved.append("pt")
        except BaseException as error:  # noqa: BLE001 - not plain data: the .pkl route
            (payload / f"{exercise_id}.pt").unlink(missing_ok=True)
            problems.append(describe(error))
        try:
            import cloudpickle
            with open(payload / f"{exercise_id}.pkl", "wb") as fh:
                cloudpickle.dump(record, fh)
            saved.append("pkl")
        except BaseException as error:  # noqa: BLE001 - a generator, an open file ...
            (payload / f"{exercise_id}.pkl").unlink(missing_ok=True)
            problems.append(describe(error))
        emit(check=exercise_id, saved=saved, error="; ".join(problems) or None)

    def run_check(source: str) -> None:
        for node in ast.parse(source).body:
            if isinstance(node, ast.ImportFrom):
                continue
            call = node.value
            exercise_id = call.args[0].value
            try:
                answer = eval(compile(ast.Expression(call.args[1]), "<check>", "eval"), shell.user_ns) \
                    if len(call.args) > 1 else None
                context = {kw.arg: eval(compile(ast.Expression(kw.value), "<check>", "eval"), shell.user_ns)
                           for kw in call.keywords}
            except BaseException as error:  # noqa: BLE001
                emit(check=exercise_id, saved=[], error=describe(error))
                continue
            save(exercise_id, answer, context)

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
    emit(done=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
