"""The course's own checks on one submission's saved answers, in a fresh interpreter (in its own sandbox).

    python -m helpers.grading.checker LESSON PAYLOAD_DIR ID,ID,... CHECK_TIMEOUT

Started by the grader, not by the submission: it imports ``helpers.exercises`` from the read-only
course files before it reads anything the submission wrote, and it never sees the student's
process. Two stages, each one line on stdout:

1. ``GRADER-DATA {...}``: every answer saved as plain data (``<id>.pt`` loads with
   ``torch.load(weights_only=True)``: numbers, strings, lists, dicts, tensors) is checked. No
   student code has run in this process when this line is written, so the grader trusts it fully.
   An answer that is not plain data is marked ``"code"``.
2. ``GRADER-CODE {...}``: the ``"code"`` answers (functions, models ...; ``<id>.pkl``, cloudpickle)
   are rebuilt and checked. Rebuilding and calling them runs the student's code here, so a
   submission that cheats *inside its answer* could write this line itself; the grader accepts
   from it only the verdicts of those ``"code"`` exercises (README, 강사용: what this does not stop).
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import sys
from pathlib import Path

from helpers.exercises import NOT_SOLVED, PASSED, WRONG, ExerciseFailed, check, registered_ids

FAILED = "실행 실패"


class CheckTimeout(BaseException):
    pass


def _alarm(signum, frame):
    raise CheckTimeout()


def run_check(exercise_id: str, record, timeout: float) -> dict:
    """One verdict from ``helpers.exercises.check``: what it returns or raises, never what it prints."""
    if not isinstance(record, dict) or not isinstance(record.get("context"), dict) \
            or not all(isinstance(k, str) for k in record["context"]):
        return {"verdict": FAILED, "detail": "저장된 답의 형식이 잘못되었습니다"}
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            verdict = check(exercise_id, record.get("answer"), **record["context"])
    except ExerciseFailed as failed:
        text = str(failed)
        return {"verdict": WRONG, "detail": text.split(f"{WRONG}. ", 1)[-1]}
    except CheckTimeout:
        return {"verdict": FAILED, "detail": f"답을 확인하는 데 {timeout:g}초가 넘게 걸렸습니다"}
    except BaseException as error:  # noqa: BLE001
        return {"verdict": FAILED, "detail": f"확인 중 오류 ({type(error).__name__}: {str(error)[:200]})"}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    if verdict not in (PASSED, NOT_SOLVED):
        return {"verdict": FAILED, "detail": "확인 함수가 알 수 없는 결과를 냈습니다"}
    return {"verdict": str(verdict), "detail": None}


def main() -> int:
    lesson, payload, ids, timeout = sys.argv[1], Path(sys.argv[2]), sys.argv[3].split(","), float(sys.argv[4])
    registered_ids(lesson)  # the lesson's checks, imported now from the read-only course files
    import torch

    signal.signal(signal.SIGALRM, _alarm)
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    data: dict[str, dict] = {}
    for exercise_id in ids:
        path = payload / f"{exercise_id}.pt"
        if not path.is_file():
            data[exercise_id] = {"state": "code" if (payload / f"{exercise_id}.pkl").is_file() else "missing"}
            continue
        try:
            record = torch.load(path, weights_only=True, map_location="cpu")
        except Exception:  # noqa: BLE001 - not plain data (a function, a model ...)
            data[exercise_id] = {"state": "code"}
            continue
        data[exercise_id] = {**run_check(exercise_id, record, timeout), "how": "data"}
    out.write("GRADER-DATA " + json.dumps(data, ensure_ascii=False) + "\n")
    out.flush()

    code: dict[str, dict] = {}
    wanted = [i for i, r in data.items() if r.get("state") == "code"]
    if wanted:
        import cloudpickle
        sys.stdout = sys.stderr = io.StringIO()  # what the student's code prints is not ours
        for exercise_id in wanted:
            path = payload / f"{exercise_id}.pkl"
            if not path.is_file():
                code[exercise_id] = {"verdict": FAILED, "detail": "답을 채점용 프로세스로 옮기지 못했습니다 "
                                     "(함수·객체를 저장할 수 없습니다)"}
                continue
            signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                with open(path, "rb") as fh:
                    record = cloudpickle.load(fh)
            except BaseException as error:  # noqa: BLE001
                code[exercise_id] = {"verdict": FAILED, "detail": f"저장된 답을 되살리지 못했습니다 ({type(error).__name__})"}
                continue
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            code[exercise_id] = {**run_check(exercise_id, record, timeout), "how": "code"}
    out.write("GRADER-CODE " + json.dumps(code, ensure_ascii=False) + "\n")
    out.flush()
    os._exit(0)  # no atexit handler of the student's code runs after the verdicts


if __name__ == "__main__":
    sys.exit(main())
