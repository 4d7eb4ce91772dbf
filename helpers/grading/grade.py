"""``course-grade``: grade a folder of submitted notebooks of one lesson, in parallel, safely.

    course-grade 05 submissions/                 # = make grade LESSON=05 SUBMISSIONS=submissions
    course-grade 05 submissions/ --out grades/ --jobs 2 --cell-timeout 60 --timeout 600 --memory-gib 4

One notebook per student in the folder: ``<학번>_<이름>.ipynb`` (any ``*.ipynb``; the file name
without ``.ipynb`` is the student's name in the table). Writes into ``--out`` (default
``outputs/grades/<lesson>/``): ``grades.csv``, ``grades.html``, ``feedback/<student>.txt``.

Each submission: a run plan (``helpers.grading.plan``), the runner in a sandbox, then the checker
in a second sandbox (``helpers.grading.sandbox``); every temporary file lives in one temporary
folder that is removed at the end.
"""
from __future__ import annotations

import argparse
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from helpers.exercises import NOT_SOLVED, PASSED, WRONG, registered_ids
from helpers.grading import FAILED, sandbox
from helpers.grading.plan import Lesson, SubmissionError, make_plan, notebooks_dir, pristine_lesson, read_lesson

OUTPUT_KEPT = 64 << 10          # bytes of a submission's output kept for the instructor
SUBMISSION_MAX = 20 << 20       # a bigger file is not a notebook a student wrote
GRACE = 10.0                    # seconds a timed-out cell gets to stop by itself before the kill


@dataclass
class Options:
    cell_timeout: float = 60.0
    timeout: float = 600.0
    check_timeout: float = 30.0
    limits: sandbox.Limits = field(default_factory=sandbox.Limits)
    use_bwrap: bool = True
    hide: list[Path] = field(default_factory=list)


@dataclass
class Result:
    student: str
    verdicts: dict[str, tuple[str, str | None]]
    notes: list[str]
    output: str = ""
    seconds: float = 0.0


def exercise_ids(lesson: Lesson) -> list[str]:
    """The columns: every exercise with a check cell in the lesson, then any other registered id."""
    ids = list(dict.fromkeys(lesson.ids))
    extra = sorted(registered_ids(lesson.number) - set(ids))
    return ids + extra


def _run(argv: list[str], workdir: Path, options: Options, readable: list[Path] = (),
         events_fd: bool = False, wall: float = 60.0, cell_timeout: float | None = None) -> dict:
    """Run one sandboxed process; returns its exit, kept output, events and why it was stopped."""
    env = sandbox.environment(workdir)
    read_end = write_end = None
    pass_fds: tuple[int, ...] = ()
    if events_fd:
        read_end, write_end = os.pipe()
        env["GRADER_EVENTS_FD"] = str(write_end)
        pass_fds = (write_end,)
    cmd = sandbox.command(argv, workdir, hide=options.hide, readable=list(readable), use_bwrap=options.use_bwrap)
    proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, pass_fds=pass_fds, preexec_fn=options.limits.apply,
                            start_new_session=True)
    if write_end is not None:
        os.close(write_end)
    selector = selectors.DefaultSelector()
    streams = {proc.stdout.fileno(): "out", proc.stderr.fileno(): "err"}
    if read_end is not None:
        streams[read_end] = "events"
    for fd in streams:
        os.set_blocking(fd, False)
        selector.register(fd, selectors.EVENT_READ)
    kept = {"out": bytearray(), "err": bytearray(), "events": bytearray()}
    total = {"out": 0, "err": 0, "events": 0}
    events: list[dict] = []
    started = time.monotonic()
    step_started: float | None = None
    stopped = None
    open_fds = set(streams)
    while open_fds:
        now = time.monotonic()
        if now - started > wall:
            stopped = f"노트북 전체 시간 제한 {wall:g}초를 넘겨 멈췄습니다"
        elif cell_timeout and step_started is not None and now - step_started > cell_timeout + GRACE:
            stopped = f"셀이 시간 제한 {cell_timeout:g}초를 넘기고도 멈추지 않아 강제로 끝냈습니다"
        if stopped:
            break
        for key, _ in selector.select(timeout=0.5):
            try:
                chunk = os.read(key.fd, 65536)
            except BlockingIOError:
                continue
            name = streams[key.fd]
            if not chunk:
                selector.unregister(key.fd)
                open_fds.discard(key.fd)
                continue
            total[name] += len(chunk)
            limit = 1 << 20 if name == "events" else OUTPUT_KEPT
            if name == "events":
                kept[name] += chunk
                *lines, rest = kept[name].split(b"\n")
                kept[name] = bytearray(rest[:limit])
                for line in lines:
                    try:
                        event = json.loads(line[:limit])
                    except ValueError:
                        continue
                    if isinstance(event, dict):
                        events.append(event)
                        if event.get("state") == "start":
                            step_started = time.monotonic()
                        elif event.get("state") == "end":
                            step_started = None
            elif len(kept[name]) < limit:
                kept[name] += chunk[:limit - len(kept[name])]
    if stopped:
        _kill(proc)
    try:
        returncode = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        _kill(proc)
        returncode = proc.wait()
    for fd in list(open_fds):
        selector.unregister(fd)
    selector.close()
    proc.stdout.close()
    proc.stderr.close()
    if read_end is not None:
        os.close(read_end)
    return {"returncode": returncode, "stopped": stopped, "events": events, "stdout": bytes(kept["out"]),
            "stderr": bytes(kept["err"]), "total": total["out"] + total["err"]}


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _why_not_reached(run: dict) -> str:
    """Why a check cell produced nothing: the runner's fate, from what the grader saw itself."""
    if run["stopped"]:
        return run["stopped"]
    done = any(e.get("done") for e in run["events"])
    code = run["returncode"]
    if not done:
        last = next((e for e in reversed(run["events"]) if "state" in e), None)
        where = f" (셀 {last.get('cell') or '확인'} 실행 중)" if last else ""
        if code == -signal.SIGKILL or code == -signal.SIGXCPU:
            return f"프로세스가 강제로 끝났습니다: 메모리나 CPU 시간 제한{where}"
        return f"커널이 비정상 종료했습니다 (종료 코드 {code}){where}"
    return "확인 셀이 답을 넘기지 않았습니다"


def grade_one(path: Path, lesson: Lesson, lessons: dict[str, Lesson], ids: list[str],
              options: Options, tmp_root: Path) -> Result:
    """Grade one submission file (any exception inside becomes 실행 실패 for this student alone)."""
    student = path.stem
    started = time.monotonic()
    try:
        return _grade(path, student, lesson, lessons, ids, options, tmp_root, started)
    except Exception as error:  # noqa: BLE001 - one bad submission never stops the others
        reason = f"채점기 오류 ({type(error).__name__}: {error})"
        return Result(student, {i: (FAILED, reason) for i in ids}, [reason], seconds=time.monotonic() - started)


def _grade(path, student, lesson, lessons, ids, options, tmp_root, started) -> Result:
    def everyone(reason: str) -> Result:
        return Result(student, {i: (FAILED, reason) for i in ids}, [reason], seconds=time.monotonic() - started)

    if path.stat().st_size > SUBMISSION_MAX:
        return everyone(f"파일이 너무 큽니다 ({path.stat().st_size >> 20} MB): 출력을 지우고 다시 내세요")
    try:
        plan = make_plan(path.read_bytes(), lesson, lessons)
    except SubmissionError as error:
        return everyone(str(error))
    workdir = Path(tempfile.mkdtemp(prefix="run-", dir=tmp_root))
    payload = workdir / "payload"
    payload.mkdir()
    (workdir / "plan.json").write_text(plan.to_json(), encoding="utf-8")
    run = _run([sys.executable, "-m", "helpers.grading.runner", str(workdir / "plan.json"), str(payload),
                str(options.cell_timeout)], workdir, options, events_fd=True, wall=options.timeout,
               cell_timeout=options.cell_timeout)
    checkdir = Path(tempfile.mkdtemp(prefix="check-", dir=tmp_root))
    check = _run([sys.executable, "-m", "helpers.grading.checker", lesson.number, str(payload), ",".join(ids),
                  str(options.check_timeout)], checkdir, options, readable=[payload],
                 wall=options.check_timeout * (len(ids) + 1) + 60)
    lines = check["stdout"].decode("utf-8", "replace").splitlines()
    try:  # the first such line: written before any code of the student ran in the checker
        data = next((json.loads(line[12:]) for line in lines if line.startswith("GRADER-DATA ")), None)
    except ValueError:
        data = None
    code_lines = [line for line in lines if line.startswith("GRADER-CODE ")]
    try:
        code = json.loads(code_lines[-1][12:]) if code_lines else {}
    except ValueError:
        code = {}
    saved = {e["check"]: e for e in run["events"] if isinstance(e.get("check"), str)}
    verdicts: dict[str, tuple[str, str | None]] = {}
    for exercise_id in ids:
        result = (data or {}).get(exercise_id, {"state": "missing"})
        if data is None:
            verdicts[exercise_id] = (FAILED, "채점용 프로세스가 결과를 내지 못했습니다 "
                                     f"({check['stopped'] or check['stderr'].decode('utf-8', 'replace')[-200:]})")
        elif "verdict" in result:
            verdicts[exercise_id] = (result["verdict"], result.get("detail"))
        elif result.get("state") == "code":
            got = code.get(exercise_id) if isinstance(code, dict) else None
            if isinstance(got, dict) and got.get("verdict") in (PASSED, WRONG, NOT_SOLVED, FAILED):
                verdicts[exercise_id] = (got["verdict"], got.get("detail") if isinstance(got.get("detail"), str) else None)
            else:
                verdicts[exercise_id] = (FAILED, "답(함수·객체)을 확인하다가 채점용 프로세스가 멈췄습니다 "
                                         "(시간 초과이거나 비정상 종료)")
        elif exercise_id not in lesson.ids:
            verdicts[exercise_id] = (FAILED, "레슨에 이 문제의 확인 셀이 없습니다")
        elif exercise_id in saved and saved[exercise_id].get("error"):
            verdicts[exercise_id] = (FAILED, f"답을 읽지 못했습니다 ({saved[exercise_id]['error']})")
        else:
            verdicts[exercise_id] = (FAILED, _why_not_reached(run))
    notes = list(plan.notes)
    errors = [e for e in run["events"] if e.get("state") == "end" and e.get("error") and e.get("cell")]
    for event in errors[:3]:
        notes.append(f"셀 {event['cell']}에서 오류: {str(event['error'])[:200]}")
    if len(errors) > 3:
        notes.append(f"그 밖에 오류가 난 셀 {len(errors) - 3}개")
    if run["stopped"]:
        notes.append(run["stopped"])
    if run["total"] > OUTPUT_KEPT:
        notes.append(f"출력이 너무 많아({run['total'] >> 10} KB) 앞부분 {OUTPUT_KEPT >> 10} KB만 보관했습니다")
    if (workdir / "netguard.log").is_file():
        notes.append("네트워크 접속 시도가 있었고 막혔습니다 (채점 중에는 인터넷을 쓸 수 없습니다)")
    output = (run["stdout"] + run["stderr"]).decode("utf-8", "replace")
    return Result(student, verdicts, notes, output, time.monotonic() - started)


def grade_folder(lesson_number: str, submissions: Path, out: Path, options: Options, jobs: int,
                 keep: bool = False) -> list[Result]:
    """Grade every ``*.ipynb`` in ``submissions``; write the CSV, HTML and feedback into ``out``."""
    from helpers.grading import report

    lesson = pristine_lesson(lesson_number)
    lessons = {p.name[:2]: read_lesson(p) for p in sorted(notebooks_dir().glob("[0-9][0-9]_*.ipynb"))}
    ids = exercise_ids(lesson)
    files = sorted(p for p in submissions.glob("*.ipynb") if p.is_file())
    out.mkdir(parents=True, exist_ok=True)
    tmp_root = Path(tempfile.mkdtemp(prefix="course-grade-"))
    options.hide = [submissions.resolve(), out.resolve(), tmp_root, *options.hide]
    started = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            results = list(pool.map(lambda p: grade_one(p, lesson, lessons, ids, options, tmp_root), files))
    finally:
        if not keep:
            # a sandbox that was just killed may still be letting go of its files: retry for a few seconds
            for _ in range(20):
                shutil.rmtree(tmp_root, ignore_errors=True)
                if not tmp_root.exists():
                    break
                time.sleep(0.5)
    isolation = "bubblewrap (읽기 전용 파일 시스템, 네트워크 없음)" if options.use_bwrap else \
        "bubblewrap 없음: 자원 제한과 네트워크 가드만 (README 참고)"
    report.write_all(out, lesson, ids, results, isolation=isolation, seconds=time.monotonic() - started)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course-grade", description=__doc__.splitlines()[0])
    parser.add_argument("lesson", help="레슨 번호, 예: 05")
    parser.add_argument("submissions", type=Path, help="제출 노트북 폴더 (<학번>_<이름>.ipynb, 한 학생에 하나)")
    parser.add_argument("--out", type=Path, help="결과 폴더 (기본: outputs/grades/<레슨>)")
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)), help="동시에 채점할 제출물 수 (기본: 코어 수)")
    parser.add_argument("--cell-timeout", type=float, default=60.0, help="셀 하나의 시간 제한, 초")
    parser.add_argument("--timeout", type=float, default=600.0, help="노트북 하나의 시간 제한, 초")
    parser.add_argument("--memory-gib", type=float, default=4.0, help="제출물 하나의 메모리 제한, GiB")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="bubblewrap 없이 채점 (격리가 약해집니다: README, 강사용)")
    parser.add_argument("--keep", action="store_true", help="임시 폴더를 지우지 않음 (문제 찾기용)")
    args = parser.parse_args(argv)
    lesson = args.lesson.zfill(2)
    if not args.submissions.is_dir():
        parser.error(f"제출 폴더가 없습니다: {args.submissions}")
    use_bwrap = sandbox.bwrap_works()
    if not use_bwrap and not args.no_sandbox:
        print("bubblewrap으로 격리할 수 없어 채점하지 않습니다. 설치: sudo apt-get install bubblewrap\n"
              "격리 없이(자원 제한과 네트워크 가드만) 채점하려면 --no-sandbox 를 붙이세요 (README, 강사용).",
              file=sys.stderr)
        return 2
    from helpers.paths import output_dir
    out = args.out or output_dir("grades", lesson)
    options = Options(cell_timeout=args.cell_timeout, timeout=args.timeout, use_bwrap=use_bwrap,
                      limits=sandbox.Limits(memory_bytes=int(args.memory_gib * (1 << 30)),
                                            cpu_seconds=int(args.timeout) + 60))
    results = grade_folder(lesson, args.submissions, out, options, args.jobs, keep=args.keep)
    print(f"{len(results)}명 채점 완료: {out / 'grades.html'}  {out / 'grades.csv'}  {out / 'feedback'}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
