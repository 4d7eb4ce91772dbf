"""The course's own checks on one submission's answers, in a second, fresh sandbox.

    python -m classroom.grading.checker LESSON ANSWERS_DIR ID,ID,... CHECK_TIMEOUT

Started by the grader, not by the submission. This process (PID 1 of its sandbox) imports
``helpers.exercises`` from the read-only student edition, makes itself non-dumpable (so no other
process in the sandbox can open its ``/proc/1/fd`` or ptrace it), and then reads the answers the
grader wrote (``<id>.json``, ``classroom.grading.answers``):

- an answer that is data is rebuilt and checked here. No code of the student ever runs in this
  process, so each verdict line it writes is the grader's own;
- an answer that holds code (a function) is checked in a forked child, one per exercise, whose
  stdout and stderr are ``/dev/null``: the child rebuilds the function from its source and runs the
  pristine check on it, and reports on a pipe that this process reads with a size and time bound.
  Code inside the answer can influence that one exercise's verdict (README: what this does not
  stop), never another exercise's line and never another student's.

Output: one line ``GRADER {"id": ..., "verdict": ..., "detail": ..., "how": "data"|"code"}`` per exercise.
"""
from __future__ import annotations

import contextlib
import ctypes
import io
import json
import os
import select
import signal
import sys
import time
from pathlib import Path

from classroom.grading import FAILED, VERDICTS
from classroom.grading.answers import BLOBS, NeedsCode, decode
from helpers.exercises import check, NOT_SOLVED, PASSED, registered_ids, WRONG
from helpers.errors import ExerciseFailed

PREFIX = "GRADER "
REPLY_MAX = 16 << 10


class CheckTimeout(BaseException):
    pass


def _alarm(signum, frame):
    raise CheckTimeout()


def run_check(exercise_id: str, record, timeout: float) -> dict:
    """One verdict from ``helpers.exercises.check``: what it returns or raises, never what it prints."""
    if not isinstance(record, dict) or set(record) != {"answer", "context"} or not isinstance(record["context"], dict) \
            or not all(isinstance(k, str) and k.isidentifier() for k in record["context"]):
        return {"verdict": FAILED, "detail": "저장된 답의 형식이 잘못되었습니다"}
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            verdict = check(exercise_id, record["answer"], **record["context"])
    except ExerciseFailed as failed:
        return {"verdict": WRONG, "detail": str(failed).split(f"{WRONG}. ", 1)[-1][:500]}
    except CheckTimeout:
        return {"verdict": FAILED, "detail": f"답을 확인하는 데 {timeout:g}초가 넘게 걸렸습니다"}
    except BaseException as error:  # noqa: BLE001
        return {"verdict": FAILED, "detail": f"확인 중 오류 ({type(error).__name__}: {str(error)[:200]})"}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    if verdict not in (PASSED, NOT_SOLVED):
        return {"verdict": FAILED, "detail": "확인 함수가 알 수 없는 결과를 냈습니다"}
    return {"verdict": str(verdict), "detail": None}


def _in_child(exercise_id: str, text: str, blobs: Path, timeout: float) -> dict:
    """Fork; the child rebuilds the answer's code and checks it; only its one bounded reply comes back."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: nothing of the parent's output is reachable from here on
        try:
            os.setpgid(0, 0)
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            os.closerange(3, write_end)
            os.closerange(write_end + 1, 1 << 16)
            sys.stdout = sys.stderr = io.StringIO()
            signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                record = decode(text, code=True, blobs=blobs)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            result = run_check(exercise_id, record, timeout)
        except BaseException as error:  # noqa: BLE001
            result = {"verdict": FAILED, "detail": f"답(함수)을 되살리지 못했습니다 ({type(error).__name__})"}
        os.write(write_end, (json.dumps(result, ensure_ascii=False) + "\n").encode()[:REPLY_MAX])
        os._exit(0)
    os.close(write_end)
    reply, deadline = b"", time.monotonic() + 2 * timeout + 5
    while b"\n" not in reply and len(reply) < REPLY_MAX and time.monotonic() < deadline:
        ready, _, _ = select.select([read_end], [], [], max(0.0, deadline - time.monotonic()))
        chunk = os.read(read_end, REPLY_MAX) if ready else b""
        if not chunk:
            break
        reply += chunk
    os.close(read_end)
    for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        with contextlib.suppress(OSError):
            target()
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
    try:
        result = json.loads(reply.split(b"\n", 1)[0].decode("utf-8"))
        if isinstance(result, dict) and result.get("verdict") in VERDICTS:
            detail = result.get("detail")
            return {"verdict": result["verdict"], "detail": detail[:500] if isinstance(detail, str) else None}
    except (ValueError, RecursionError):
        pass
    return {"verdict": FAILED, "detail": "답(함수)을 확인하는 프로세스가 결과 없이 끝났습니다 (시간 초과이거나 비정상 종료)"}


def main() -> int:
    lesson, answers, ids, timeout = sys.argv[1], Path(sys.argv[2]), sys.argv[3].split(","), float(sys.argv[4])
    registered_ids(lesson)  # the lesson's checks, imported now from the read-only student edition
    import torch  # noqa: F401 - before any answer is read
    ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 0
    signal.signal(signal.SIGALRM, _alarm)
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")

    def report(exercise_id: str, how: str, result: dict) -> None:
        out.write(PREFIX + json.dumps({"id": exercise_id, "how": how, **result}, ensure_ascii=False) + "\n")
        out.flush()

    code = []
    for exercise_id in ids:
        path = answers / f"{exercise_id}.json"
        if not path.is_file():
            continue  # the grader knows why it has no answer
        text = path.read_text(encoding="utf-8")
        try:
            record = decode(text, blobs=answers / BLOBS)
        except NeedsCode:
            code.append((exercise_id, text))
            continue
        except ValueError as error:  # answers.NotData
            report(exercise_id, "data", {"verdict": FAILED, "detail": f"저장된 답을 되살리지 못했습니다: {str(error)[:300]}"})
            continue
        report(exercise_id, "data", run_check(exercise_id, record, timeout))
    for exercise_id, text in code:
        report(exercise_id, "code", _in_child(exercise_id, text, answers / BLOBS, timeout))
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
