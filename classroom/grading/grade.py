"""``course-grade``: grade a folder of submitted notebooks of one lesson, in parallel, safely.

    course-grade 05 submissions/                 # = make grade LESSON=05 SUBMISSIONS=submissions
    course-grade 05 submissions/ --out grades/ --jobs 2 --cell-timeout 60 --timeout 600 --memory-gib 4

One notebook per student in the folder: ``<학번>_<이름>.ipynb`` (any ``*.ipynb``, ``.IPYNB`` too; the
file name without the suffix is the student's name in the table). Writes into ``--out`` (default
``outputs/grades/<lesson>/``): ``grades.csv``, ``grades.html``, ``feedback/<student>.txt``.

Each submission: a run plan (``plan``), the runner in a sandbox (``sandbox``), its answers received
over a bounded pipe and written by the grader itself, then the checker in a second sandbox. Every
limit (wall clock per cell and per notebook, the cgroup's memory and processes) is enforced here,
from what the grader sees itself; the runner's events only say which step it is in.
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from classroom.grading import FAILED, VERDICTS, report, sandbox
from classroom.grading.answers import BLOB_NAME, BLOBS
from classroom.grading.checker import PREFIX
from classroom.grading.plan import Lesson, SubmissionError, make_plan, notebooks_dir, pristine_lesson, read_lesson
from helpers.exercises import registered_ids

OUTPUT_KEPT = 64 << 10          # bytes of each output stream kept for the instructor
SUBMISSION_MAX = 20 << 20       # a bigger file is not a notebook a student wrote
EVENT_LINE_MAX = 24 << 20       # one event line (an answer as JSON); a longer one is malformed
EVENTS_KEPT = 2000              # events kept in memory; more are counted and dropped
ANSWERS_MAX = 64 << 20          # all answers of one submission together
GRACE = 10.0                    # seconds a timed-out cell gets to stop by itself before the kill
INSIDE_PLAN, INSIDE_ANSWERS = Path("/grader/plan.json"), Path("/grader/answers")


@dataclass
class Options:
    cell_timeout: float = 60.0
    timeout: float = 600.0
    check_timeout: float = 30.0
    limits: sandbox.Limits = field(default_factory=sandbox.Limits)


@dataclass
class Result:
    student: str
    verdicts: dict[str, tuple[str, str | None]]
    notes: list[str]                                          # the grader's own words
    student_notes: list[str] = field(default_factory=list)   # what the student's process reported
    output: str = ""
    seconds: float = 0.0


def exercise_ids(lesson: Lesson) -> list[str]:
    """The columns: every exercise with a check cell in the lesson, then any other registered id."""
    ids = list(dict.fromkeys(lesson.ids))
    extra = sorted(registered_ids(lesson.number) - set(ids))
    return ids + extra


class Events:
    """The runner's event lines, read with bounds: size, count, flat JSON objects only."""

    def __init__(self, ids: list[str], steps: int, answers: Path | None):
        self.ids, self.steps, self.answers = set(ids), steps, answers
        self.kept: list[dict] = []
        self.saved: dict[str, dict] = {}
        self.malformed = self.dropped = self.answer_bytes = 0
        self.done = self.network = False   # the runner's last words (the student's process: wording only)
        self.highest_step, self.progress = -1, time.monotonic()
        self._pending, self._skipping = bytearray(), False

    def feed(self, chunk: bytes) -> None:
        parts = chunk.split(b"\n")
        for index, part in enumerate(parts):
            if not self._skipping:
                if len(self._pending) + len(part) > EVENT_LINE_MAX:
                    self._pending.clear()
                    self._skipping = True
                    self.malformed += 1
                else:
                    self._pending += part
            if index < len(parts) - 1:
                if not self._skipping and self._pending:
                    self._line(bytes(self._pending))
                self._pending.clear()
                self._skipping = False

    def _line(self, line: bytes) -> None:
        try:
            event = json.loads(line)
        except (ValueError, RecursionError):
            event = None
        if not isinstance(event, dict) or not all(isinstance(k, str) and (v is None or isinstance(v, (str, int, float)))
                                                  for k, v in event.items()):
            self.malformed += 1
            return
        if event.get("done") is True:
            self.done, self.network = True, event.get("network") is True
        step = event.get("step")
        if event.get("state") == "start" and type(step) is int and self.highest_step < step < self.steps:
            self.highest_step, self.progress = step, time.monotonic()  # each step moves the clock once
        if isinstance(event.get("blob"), str):
            self._blob(event["blob"], event.get("data"))
            return
        answer = event.get("answer")
        if isinstance(answer, str):
            if answer not in self.ids or self.answers is None:
                self.malformed += 1
                return
            text = event.pop("json", None)
            if isinstance(text, str):
                data = text.encode("utf-8", "surrogatepass")
                if self.answer_bytes + len(data) > ANSWERS_MAX:
                    self.malformed += 1
                    return
                self.answer_bytes += len(data)
                (self.answers / f"{answer}.json").write_bytes(data)
            self.saved[answer] = event
        if len(self.kept) < EVENTS_KEPT:
            self.kept.append({k: v[:500] if isinstance(v, str) else v for k, v in event.items()})
        else:
            self.dropped += 1


    def _blob(self, name: str, text) -> None:
        """A big tensor of an answer (``answers.BLOB_MIN``), kept under its SHA-256 if the name is true."""
        try:
            data = base64.b64decode(text, validate=True) if isinstance(text, str) else None
        except ValueError:
            data = None
        if self.answers is None or data is None or not BLOB_NAME.fullmatch(name) \
                or hashlib.sha256(data).hexdigest() != name or self.answer_bytes + len(data) > ANSWERS_MAX:
            self.malformed += 1
            return
        self.answer_bytes += len(data)
        folder = self.answers / BLOBS
        folder.mkdir(exist_ok=True)
        (folder / name).write_bytes(data)


def _run(argv: list[str], options: Options, notebooks: Path, files: dict[Path, Path], *, wall: float,
         events: Events | None = None) -> dict:
    """Run one sandbox; returns its exit, kept output, why it was stopped; events go into ``events``."""
    limits = options.limits
    cgroup = sandbox.Cgroup.make(limits)
    env = sandbox.environment()
    pass_fds: tuple[int, ...] = ()
    read_end = write_end = None
    if events is not None:
        read_end, write_end = os.pipe()
        env["GRADER_EVENTS_FD"] = str(write_end)
        pass_fds = (write_end,)

    def before_exec() -> None:
        limits.apply()
        if cgroup:
            cgroup.join()

    streams, kept, total = {}, {"out": bytearray(), "err": bytearray()}, 0
    stopped, proc, started = None, None, time.monotonic()
    selector = selectors.DefaultSelector()
    try:
        proc = subprocess.Popen(sandbox.command(argv, limits, notebooks, files), env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=pass_fds,
                                preexec_fn=before_exec, start_new_session=True)
        streams = {proc.stdout.fileno(): "out", proc.stderr.fileno(): "err"}
        if read_end is not None:
            os.close(write_end)
            write_end = None
            streams[read_end] = "events"
        for fd in streams:
            os.set_blocking(fd, False)
            selector.register(fd, selectors.EVENT_READ)
        open_fds = set(streams)
        while open_fds:
            now = time.monotonic()
            tripped = cgroup.tripped() if cgroup else None
            if tripped == "memory":
                stopped = f"샌드박스 전체 메모리 제한 {limits.memory_bytes / (1 << 30):g} GiB를 넘어 모두 멈췄습니다"
            elif tripped == "processes":
                stopped = f"프로세스 수 제한 {limits.processes}개에 닿아 모두 멈췄습니다"
            elif now - started > wall:
                stopped = f"노트북 전체 시간 제한 {wall:g}초를 넘겨 멈췄습니다"
            elif events is not None and now - events.progress > options.cell_timeout + GRACE:
                stopped = f"셀이 시간 제한 {options.cell_timeout:g}초를 넘기고도 멈추지 않아 강제로 끝냈습니다"
            if stopped:
                break
            for key, _ in selector.select(timeout=0.5):
                try:
                    chunk = os.read(key.fd, 1 << 16)
                except BlockingIOError:
                    continue
                if not chunk:
                    selector.unregister(key.fd)
                    open_fds.discard(key.fd)
                    continue
                name = streams[key.fd]
                if name == "events":
                    events.feed(chunk)
                    continue
                total += len(chunk)
                room = OUTPUT_KEPT - len(kept[name])
                if room > 0:
                    kept[name] += chunk[:room]
        if proc.poll() is None and not stopped:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
    finally:  # whatever happened above, nothing of this sandbox outlives this call
        if proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        returncode = proc.wait() if proc is not None else None
        if cgroup:
            if not stopped and cgroup.tripped() == "memory":
                stopped = f"샌드박스 전체 메모리 제한 {limits.memory_bytes / (1 << 30):g} GiB를 넘어 모두 멈췄습니다"
            cgroup.remove()
        selector.close()
        for fd in (read_end, write_end):
            if fd is not None:
                os.close(fd)
        if proc is not None:
            proc.stdout.close()
            proc.stderr.close()
    return {"returncode": returncode, "stopped": stopped, "stdout": bytes(kept["out"]),
            "stderr": bytes(kept["err"]), "total": total}


def _why_not_reached(run: dict, events: Events) -> str:
    """Why a check cell produced nothing, in the grader's words, from what the grader saw itself."""
    if run["stopped"]:
        return run["stopped"]
    code = run["returncode"]
    if code in (-signal.SIGKILL, 128 + signal.SIGKILL, -signal.SIGXCPU, 128 + signal.SIGXCPU):
        return "노트북 실행 프로세스가 강제로 끝났습니다 (CPU 시간이나 메모리 제한)"
    if code != 0:
        return f"노트북 실행 프로세스가 비정상 종료했습니다 (종료 코드 {code})"
    if not events.done:
        return "노트북 실행 프로세스가 확인 셀에 닿기 전에 끝났습니다 (종료 코드 0: 제출물이 실행 환경을 망가뜨렸거나 스스로 끝냈습니다)"
    return "확인 셀이 답을 넘기지 않았습니다"


def read_submission_file(path: Path) -> bytes:
    """The file's bytes; ``SubmissionError`` for a link, something not a plain file, or a huge file."""
    if path.is_symlink():
        raise SubmissionError("심볼릭 링크인 제출물은 채점하지 않습니다 (링크가 아닌 노트북 파일 자체를 내야 합니다)")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        raise SubmissionError(f"제출 파일을 열 수 없습니다 ({error.strerror})") from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise SubmissionError("보통 파일이 아닌 제출물은 채점하지 않습니다")
        if info.st_size > SUBMISSION_MAX:
            raise SubmissionError(f"파일이 너무 큽니다 ({info.st_size >> 20} MB): 출력을 지우고 다시 내세요")
        return fh.read(SUBMISSION_MAX + 1)


def grade_one(path: Path, student: str, lesson: Lesson, lessons: dict[str, Lesson], ids: list[str],
              options: Options, tmp_root: Path, notebooks: Path) -> Result:
    """Grade one submission file (any exception inside becomes 실행 실패 for this student alone)."""
    started = time.monotonic()

    def everyone(reason: str) -> Result:
        return Result(student, {i: (FAILED, reason) for i in ids}, [reason], seconds=time.monotonic() - started)

    try:
        plan = make_plan(read_submission_file(path), lesson, lessons)
    except SubmissionError as error:
        return everyone(str(error))
    except Exception as error:  # noqa: BLE001 - one bad submission never stops the others
        return everyone(f"채점기 오류 ({type(error).__name__})")
    workdir = Path(tempfile.mkdtemp(prefix="run-", dir=tmp_root))
    try:
        return _grade(plan, student, lesson, ids, options, workdir, notebooks, started)
    except Exception as error:  # noqa: BLE001
        return everyone(f"채점기 오류 ({type(error).__name__}: {str(error)[:200]})")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _grade(plan, student, lesson, ids, options, workdir, notebooks, started) -> Result:
    answers = workdir / "answers"
    answers.mkdir()
    (workdir / "plan.json").write_text(plan.to_json(), encoding="utf-8")
    events = Events(ids, len(plan.steps), answers)
    run = _run([sys.executable, "-m", "classroom.grading.runner", str(INSIDE_PLAN), str(options.cell_timeout)],
               options, notebooks, {workdir / "plan.json": INSIDE_PLAN}, wall=options.timeout, events=events)
    checked: dict[str, dict] = {}
    check = None
    if any(answers.iterdir()):
        check = _run([sys.executable, "-m", "classroom.grading.checker", lesson.number, str(INSIDE_ANSWERS),
                      ",".join(ids), str(options.check_timeout)], options, notebooks, {answers: INSIDE_ANSWERS},
                     wall=2 * options.check_timeout * (len(ids) + 1) + 60)
        for line in check["stdout"].decode("utf-8", "replace").splitlines():
            if not line.startswith(PREFIX):
                continue
            with contextlib.suppress(ValueError, RecursionError):
                got = json.loads(line[len(PREFIX):])
                if isinstance(got, dict) and got.get("id") in ids and got.get("verdict") in VERDICTS:
                    checked.setdefault(got["id"], got)
    verdicts: dict[str, tuple[str, str | None]] = {}
    student_notes: list[str] = []
    for exercise_id in ids:
        got, saved = checked.get(exercise_id), events.saved.get(exercise_id)
        if got:
            detail = got.get("detail")
            verdicts[exercise_id] = (got["verdict"], detail if isinstance(detail, str) else None)
        elif exercise_id not in lesson.ids:
            verdicts[exercise_id] = (FAILED, "레슨에 이 문제의 확인 셀이 없습니다")
        elif saved and "error" in saved:
            verdicts[exercise_id] = (FAILED, "답을 데이터로 채점기에 넘기지 못했습니다 (실행 기록 참고)")
            student_notes.append(f"{exercise_id}: {str(saved['error'])[:300]}")
        elif saved:
            why = check["stopped"] if check and check["stopped"] else f"종료 코드 {check and check['returncode']}"
            verdicts[exercise_id] = (FAILED, f"채점용 프로세스가 이 문제의 결과를 내지 못했습니다 ({why})")
        else:
            verdicts[exercise_id] = (FAILED, _why_not_reached(run, events))
    notes = list(plan.notes)
    if run["stopped"]:
        notes.append(run["stopped"])
    if run["total"] > 2 * OUTPUT_KEPT:
        notes.append(f"출력이 너무 많아({run['total'] >> 10} KB) 앞부분 {OUTPUT_KEPT >> 10} KB씩만 보관했습니다")
    if events.malformed:
        notes.append(f"채점기와의 통신 줄 {events.malformed}개가 형식에 맞지 않아 버렸습니다 (제출물의 코드가 쓴 것으로 봅니다)")
    if events.dropped:
        notes.append(f"실행 기록이 너무 많아 {events.dropped}개를 버렸습니다")
    errors = [e for e in events.kept if e.get("state") == "end" and e.get("error") and e.get("cell")]
    for event in errors[:3]:
        student_notes.append(f"셀 {event['cell']}에서 오류: {str(event['error'])[:200]}")
    if len(errors) > 3:
        student_notes.append(f"그 밖에 오류가 난 셀 {len(errors) - 3}개")
    if events.network:
        student_notes.append("네트워크 접속 시도가 있었고 막혔습니다 (채점 중에는 인터넷을 쓸 수 없습니다)")
    output = (run["stdout"] + run["stderr"]).decode("utf-8", "replace")
    return Result(student, verdicts, notes, student_notes, output, time.monotonic() - started)


def submissions_in(folder: Path) -> list[Path]:
    """Every ``*.ipynb`` in ``folder`` (any case of the suffix; links too, which are then refused)."""
    return sorted((p for p in folder.iterdir() if p.suffix.lower() == ".ipynb"), key=lambda p: os.fsencode(p.name))


def flag_twins(students: list[tuple[Path, str, list[str]]]) -> None:
    """Notes for files that are one student twice: the same name up to NFC/NFD, or the same 학번."""
    by_nfc: dict[str, list[int]] = {}
    by_id: dict[str, list[int]] = {}
    for index, (_, name, _) in enumerate(students):
        by_nfc.setdefault(unicodedata.normalize("NFC", name), []).append(index)
        number = name.split("_", 1)[0]
        if number.isdigit():
            by_id.setdefault(number, []).append(index)
    for group in by_nfc.values():
        for index in group if len(group) > 1 else []:
            students[index][2].append(f"유니코드 정규화(NFC/NFD)만 다른 같은 이름의 제출물이 {len(group)}개 있습니다")
    for number, group in by_id.items():
        for index in group if len(group) > 1 else []:
            others = ", ".join(students[i][1] for i in group if i != index)
            students[index][2].append(f"같은 학번 {number}의 제출물이 {len(group)}개 있습니다 (다른 파일: {others})")


def grade_folder(lesson_number: str, submissions: Path, out: Path, options: Options, jobs: int,
                 keep: bool = False) -> list[Result]:
    """Grade every ``*.ipynb`` in ``submissions``; write the CSV, HTML and feedback into ``out``."""
    lesson = pristine_lesson(lesson_number)
    lessons = {p.name[:2]: read_lesson(p) for p in sorted(notebooks_dir().glob("[0-9][0-9]_*.ipynb"))}
    ids = exercise_ids(lesson)
    students = [(p, *report.student_name(p.name[:-len(p.suffix)])) for p in submissions_in(submissions)]
    students = [(p, name, list(notes)) for p, name, notes in students]
    flag_twins(students)
    out.mkdir(parents=True, exist_ok=True)
    tmp_root = Path(tempfile.mkdtemp(prefix="course-grade-"))
    started = time.monotonic()
    try:
        notebooks = sandbox.student_edition(tmp_root / "edition")

        def one(entry) -> Result:
            path, name, notes = entry
            result = grade_one(path, name, lesson, lessons, ids, options, tmp_root, notebooks)
            result.notes[:0] = notes
            return result

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            results = list(pool.map(one, students))
    finally:
        if not keep:
            shutil.rmtree(tmp_root, ignore_errors=True)
    isolation = "bubblewrap (권한 없음, 학생용 코스만 보임, 네트워크 없음), " + (
        "cgroup 메모리·프로세스 수 제한" if sandbox.cgroups_work() else "cgroup 없음: 프로세스별 제한만 (README 참고)")
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
    parser.add_argument("--memory-gib", type=float, default=4.0, help="제출물 하나(샌드박스 전체)의 메모리 제한, GiB")
    parser.add_argument("--keep", action="store_true", help="임시 폴더를 지우지 않음 (문제 찾기용)")
    args = parser.parse_args(argv)
    lesson = args.lesson.zfill(2)
    if not args.submissions.is_dir():
        parser.error(f"제출 폴더가 없습니다: {args.submissions}")
    if not sandbox.bwrap_works():
        print("bubblewrap으로 격리할 수 없어 채점하지 않습니다. 설치: sudo apt-get install bubblewrap "
              "(사용자 네임스페이스가 허용된 리눅스에서만 됩니다; README, 강사용).", file=sys.stderr)
        return 2
    if not sandbox.cgroups_work():
        print("주의: cgroup(memory, pids)을 쓸 수 없어 프로세스별 제한만 겁니다. 공유 메모리, 여러 프로세스, "
              "프로세스 수는 제한되지 않습니다 (root로 실행하면 됩니다; README, 강사용).", file=sys.stderr)
    from helpers.paths import output_dir
    out = args.out or output_dir("grades", lesson)
    options = Options(cell_timeout=args.cell_timeout, timeout=args.timeout,
                      limits=sandbox.Limits(memory_bytes=int(args.memory_gib * (1 << 30)),
                                            cpu_seconds=int(args.timeout) + 60))
    results = grade_folder(lesson, args.submissions, out, options, args.jobs, keep=args.keep)
    print(f"{len(results)}명 채점 완료: {out / 'grades.html'}  {out / 'grades.csv'}  {out / 'feedback'}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
