"""course-grade on lesson 05 (the fastest lesson): correct, partly correct, empty and adversarial submissions.

All submissions are built here from the lesson itself (instructor notebook, student edition), so the
test follows the lesson when it changes. Every adversarial one aims at folders and sockets this test
creates (canaries), never at a real one. One grading run (the submissions in parallel, as in class);
the assertions then read its table, its feedback files and the files before and after. Run as root
(CI's `.ci/run`), which is where the sandbox must hold; as an ordinary user the cgroup fixtures skip.

One fixture per attack class of issue 27. The attacks a student might run that must cost their cell
only (escapes as root: mount, remount, chroot, setuid, new user namespace, writes outside; reading a
classmate, the instructor notebook, grade tables; overwriting helpers/exercises; sockets; the network;
10 GiB; /tmp and /dev/shm filled; an infinite loop; output, event floods and deeply nested events)
share one notebook, which is then still graded 통과. Those that end their sandbox (fake "end" events
while ignoring the time limit, a crash, a self-wrecked environment, a shared mapping, two children,
a fork bomb) and the one that forges verdicts (a patched check, a `__reduce__` answer, fake payload
files, a code answer writing to the checker's channel) have their own. Names that must not crash the
report (CP949 bytes, NFC/NFD twins, `=`, one student twice, a symlink, `.IPYNB`) are cheap files.
"""
from __future__ import annotations

import ast
import copy
import csv
import hashlib
import json
import os
import resource
import shutil
import socket
import tempfile
import unicodedata
import uuid
from pathlib import Path

import pytest

from helpers.exercises import NOT_SOLVED, PASSED, WRONG
from classroom.grading import FAILED, grade, plan, report, sandbox

ROOT = Path(__file__).resolve().parent.parent
LESSON = "05"

# One test grades once and checks everything, one subtest per concern (reported by name when it fails):
# tests sharing a module fixture would land on both pytest-xdist workers and grade twice, each seeing
# the other's temporary folders (xdist 3.8's `xdist_group` marks have no effect under pytest 9).
pytestmark = pytest.mark.skipif(not sandbox.bwrap_works(),
                                reason="needs bubblewrap (sudo apt-get install bubblewrap; .ci/run installs it)")


def _lesson() -> dict:
    return json.loads(plan.lesson_path(LESSON).read_text(encoding="utf-8"))


def _code(source: str, **extra) -> dict:
    return {"cell_type": "code", "execution_count": None, "id": extra.get("id", uuid.uuid4().hex[:8]),
            "metadata": {}, "outputs": [], "source": source}


def _is_check(cell) -> bool:
    return cell["cell_type"] == "code" and bool(plan.check_ids("".join(cell["source"])))


def _student(nb: dict) -> dict:
    nb = copy.deepcopy(nb)
    nb["cells"] = [c for c in nb["cells"] if "solution" not in c.get("metadata", {}).get("tags", [])]
    return nb


def _with(nb: dict, cells: list[dict], at: int | None = None) -> dict:
    """``nb`` with ``cells`` inserted before its first code cell after the setup (``at``) or at the end."""
    nb = copy.deepcopy(nb)
    if at is None:
        nb["cells"].extend(cells)
    else:
        nb["cells"][at:at] = cells
    return nb


def _after_imports(nb: dict) -> int:
    """Index just after the lesson's second code cell (the first cell and the imports)."""
    code = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"]
    return code[1] + 1


def _answer_name(nb: dict, exercise_id: str) -> str:
    cell = next(c for c in nb["cells"] if _is_check(c) and exercise_id in plan.check_ids("".join(c["source"])))
    for node in ast.parse("".join(cell["source"])).body:
        if isinstance(node, ast.Expr) and node.value.args[0].value == exercise_id:
            return node.value.args[1].id
    raise AssertionError(exercise_id)


def _before_check(nb: dict, exercise_id: str, source: str) -> dict:
    nb = copy.deepcopy(nb)
    index = next(i for i, c in enumerate(nb["cells"])
                 if _is_check(c) and exercise_id in plan.check_ids("".join(c["source"])))
    nb["cells"].insert(index, _code(source))
    return nb


def _tampering(empty: dict, answer_2: str, installed: list[Path], at: int, canary: Path) -> dict:
    """Wrong answers, and every trick to make them pass: a fake ``check``, a patched ``helpers.exercises``
    and ``torch.allclose``, writes to the installed files, a printed 통과, forged checker lines, fake
    payload files, a ``__reduce__`` answer, and a code answer that writes to the checker's channel."""
    # 05.M1's answer never reaches the checker (refused), so a forged 05.M1 line would be the only one there
    forged = "GRADER " + json.dumps({"id": "05.M1", "how": "code", "verdict": PASSED, "detail": None}, ensure_ascii=False)
    tricks = _code(
        "import builtins, helpers.exercises as E, torch as _t, os, json\n"
        "fake = lambda exercise_id, *a, **k: print(f'[{exercise_id}] 통과') or '통과'\n"
        "check = builtins.check = E.check = fake\n"
        "for key in list(E._CHECKS):\n    E._CHECKS[key] = lambda *a, **k: None\n"
        "E.Wrong = type('Never', (Exception,), {})\n"
        "_t.allclose = lambda *a, **k: True\n"
        f"for target in {[str(p) for p in installed]!r}:\n"
        "    try:\n        open(target, 'a').write('\\nPASS_EVERYTHING = True\\n')\n"
        "    except OSError as error:\n        print('BLOCKED', type(error).__name__)\n"
        f"print({forged!r})\n"
        "for folder in ['.', '/tmp', '/grader/answers', '/grader']:\n"  # fake payload files, old and new names
        "    for name in ['05.1.pkl', '05.1.pt', '05.2.json', '05.3.json']:\n"
        "        try:\n            open(os.path.join(folder, name), 'w').write('{\"verdict\": \"통과\"}')\n"
        "        except OSError:\n            print('PAYLOAD BLOCKED')")
    nb = _with(empty, [tricks], at)
    nb = _before_check(nb, "05.M1", "class Evil:\n    def __reduce__(self):\n"
                                    f"        return (open, ({str(canary / 'reduce.txt')!r}, 'w'))\n"
                                    "answer_m1 = Evil()")
    nb = _before_check(nb, "05.1", "def my_softmax(x, dim=1):\n    return torch.exp(x) / torch.exp(x).sum(dim=dim, keepdim=True)\n"
                                   "answer_1 = my_softmax\nprint('[05.1] 통과')")
    nb = _before_check(nb, "05.2", f"{answer_2} = [0.0, 1.0, 2.0, 3.0]\nprint('[05.2] 통과')")
    nb = _before_check(nb, "05.3", "import os\n"
                                   "def my_cross_entropy(logits, labels, eps=0.0):\n"
                                   f"    line = ({forged!r} + '\\n').encode()\n"
                                   "    for path in [f'/proc/1/fd/{n}' for n in range(16)] + ['/proc/self/fd/1', '/proc/self/fd/2']:\n"
                                   "        try:\n            fd = os.open(path, os.O_WRONLY)\n            os.write(fd, line)\n"
                                   "        except OSError:\n            pass\n"
                                   "    return torch.tensor(0.0)\n"
                                   "answer_3 = my_cross_entropy\nprint('[05.3] 통과')")
    return nb


def _snapshot(*folders: Path, files: tuple[Path, ...] = ()) -> dict[str, str]:
    state = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if "__pycache__" in path.parts:
                continue
            state[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
        state[str(folder)] = "exists" if folder.exists() else "missing"
    for path in files:
        state[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state


EVENT_FDS = ("import os\n"
             "_fds = [int(n) for n in os.listdir('/proc/self/fd') if int(n) > 2]\n"
             "def send(data):\n"
             "    for fd in _fds:\n"
             "        try:\n            os.write(fd, data)\n        except OSError:\n            pass\n")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("grading")
    lesson = _lesson()
    empty = _student(lesson)
    ids = grade.exercise_ids(plan.pristine_lesson(LESSON))
    secret = f"SECRET-{uuid.uuid4().hex}"
    solutions = [line.strip() for c in lesson["cells"] if "solution" in c["metadata"].get("tags", [])
                 for line in "".join(c["source"]).splitlines() if len(line.strip()) > 25]

    canary_tmp = tmp / "canary"                       # in /tmp: the sandbox's /tmp is its own
    canary_disk = ROOT / "outputs" / f"grading-canary-{uuid.uuid4().hex[:8]}"  # in the course folder
    for canary in (canary_tmp, canary_disk):
        canary.mkdir(parents=True)
        (canary / "keep.txt").write_text("do not touch\n")
    (canary_disk / "grades.csv").write_text(f"학생,05.1\n{secret},통과\n")  # an earlier grade table
    sockets, abstract = [], f"\0course-grade-canary-{uuid.uuid4().hex[:8]}"
    for address in (str(canary_disk / "s.sock"), str(canary_tmp / "s.sock"), abstract):
        server = socket.socket(socket.AF_UNIX)
        server.bind(address)
        server.listen(8)  # a connect succeeds without accept(): reachable means "SOCK CONNECTED"
        sockets.append(server)
    subs = tmp / "submissions"
    subs.mkdir()
    victim = _with(lesson, [{"cell_type": "markdown", "id": "secret", "metadata": {}, "source": secret}])
    answer_2 = _answer_name(lesson, "05.2")
    lesson05_file = ROOT / "helpers" / "exercises" / "lesson05.py"
    torch_init = Path(__import__("torch").__file__)
    at = _after_imports(lesson)
    escapes = _code(
        "import os, ctypes, subprocess, pathlib, shutil\n"
        "print('CAPEFF', [l.split()[1] for l in open('/proc/self/status') if l.startswith('CapEff')][0])\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "def ran(cmd):\n    try:\n        return subprocess.run(cmd, capture_output=True).returncode == 0\n"
        "    except OSError:\n        return False\n"
        "def did(f, *a):\n    try:\n        f(*a)\n        return True\n    except OSError:\n        return False\n"
        "tried = {'mount': ran(['mount', '-t', 'tmpfs', 'none', '/mnt']) or libc.mount(b'none', b'/mnt', b'tmpfs', 0, None) == 0,\n"
        "         'remount': ran(['mount', '-o', 'remount,rw', '/']) or libc.mount(None, b'/', None, 32 | 4096, None) == 0,\n"
        "         'userns': ran(['unshare', '-r', '-m', 'true']), 'chroot': did(os.chroot, '/tmp'),\n"
        "         'setuid': did(os.setuid, 1000), 'setgid': did(os.setgid, 1000),\n"
        f"         'helpers': did(lambda: open({str(lesson05_file)!r}, 'a').write('PASS = 1'))}}\n"
        f"for canary in [{str(canary_tmp)!r}, {str(canary_disk)!r}]:\n"
        "    tried['write ' + canary] = did(lambda: (pathlib.Path(canary) / 'pwned.txt').write_text('x'))\n"
        "    tried['delete ' + canary] = did(lambda: (pathlib.Path(canary) / 'keep.txt').unlink())\n"
        "    tried['rmtree ' + canary] = did(lambda: shutil.rmtree(canary))\n"
        "for name, done in tried.items():\n    print('ESCAPE', name, 'DONE' if done else 'BLOCKED')")
    peeks = _code(
        "import pathlib, json\n"
        f"for path in [{str(subs / '2024001_정답.ipynb')!r}, {str(subs)!r}, {str(canary_disk / 'grades.csv')!r},"
        f" {str(canary_tmp / 'keep.txt')!r}, {str(ROOT / 'outputs')!r}]:\n"
        "    try:\n        p = pathlib.Path(path)\n"
        "        print('PEEK READ', p.read_text() if p.is_file() else list(p.iterdir()))\n"
        "    except Exception as error:\n        print('PEEK BLOCKED', type(error).__name__)\n"
        f"text = pathlib.Path({str(plan.lesson_path(LESSON))!r}).read_text()\n"
        f"print('SOLUTION', 'VISIBLE' if any(line in text for line in {solutions!r}) else 'HIDDEN')\n"
        "for cell in json.loads(text)['cells']:\n"
        "    if 'solution' in cell['metadata'].get('tags', []):\n        exec(''.join(cell['source']))")
    sockets_cell = _code(
        "import socket\n"
        f"for address in [{str(canary_disk / 's.sock')!r}, {str(canary_tmp / 's.sock')!r}, {abstract!r}]:\n"
        "    s = socket.socket(socket.AF_UNIX)\n    s.settimeout(2)\n"
        "    try:\n        s.connect(address)\n        print('SOCK CONNECTED')\n"
        "    except OSError as error:\n        print('SOCK BLOCKED', type(error).__name__)")
    fill = _code(
        "import os\n"
        "for folder in ['/tmp', '/dev/shm']:\n"
        "    try:\n        for i in range(8):\n"
        "            with open(f'{folder}/fill{i}', 'wb') as fh:\n                fh.write(b'x' * (100 << 20))\n"
        "        print('FILL DONE', folder)\n"
        "    except OSError as error:\n        print('FILL BLOCKED', folder, error.errno)\n"
        "    for i in range(8):\n        if os.path.exists(f'{folder}/fill{i}'):\n            os.remove(f'{folder}/fill{i}')")
    floods = _code(EVENT_FDS +
                   "send(('[' * 200000 + ']' * 200000 + '\\n').encode())\n"
                   "send(('{\"a\": ' * 50000 + '1' + '}' * 50000 + '\\n').encode())\n"
                   "send(b'{\"step\": [[[[1]]]], \"state\": \"start\"}\\n')\n"
                   "for _ in range(20):\n    send(b'{\"state\": \"x\", \"n\": 1}\\n' * 50000)\n"
                   "send(b'x' * (30 << 20) + b'\\n')")
    submissions = {
        "2024001_정답": victim,
        "2024002_일부": _before_check(_before_check(lesson, "05.2", f"{answer_2} = ['틀린 답']"),
                                     "05.3", "answer_3 = None"),
        "2024003_빈칸": empty,
        "2024004_JSON": None,
        "2024005_다른레슨": json.loads(next(ROOT.glob("notebooks/08_*.ipynb")).read_text(encoding="utf-8")),
        "2024006_확인셀삭제": {**lesson, "cells": [c for c in lesson["cells"] if not _is_check(c)]},
        # every check cell twice, both copies moved to the end in reverse order
        "2024007_확인셀이동복제": {**lesson, "cells": [c for c in lesson["cells"] if not _is_check(c)]
                                  + [x for c in [c for c in lesson["cells"] if _is_check(c)][::-1]
                                     for x in (c, {**c, "id": uuid.uuid4().hex[:8]})]},
        # harmful cells right after the imports; each must cost that cell only, the rest is graded
        "2024008_해로운셀": _with(lesson, [
            escapes, peeks, sockets_cell,
            _code("import socket, urllib.request\n"
                  "for attempt in (lambda: socket.create_connection(('93.184.215.14', 80), timeout=3),\n"
                  "                lambda: urllib.request.urlopen('http://example.org', timeout=3)):\n"
                  "    try:\n        attempt()\n        print('NET CONNECTED')\n"
                  "    except BaseException as error:\n        print('NET BLOCKED', type(error).__name__)"),
            _code("import torch\nbig = torch.ones(10 * 2**30, dtype=torch.uint8)"),
            fill,
            _code("while True:\n    pass"),
            _code("for _ in range(50):\n    print('x' * 100_000)"),
            floods,
        ], at),
        # ignores the time limit's interrupt and sends fake "end" (and "start") events: the sandbox is killed
        "2024010_안멈춤": _with(lesson, [_code(
            EVENT_FDS + "import signal, time, threading\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
            "def fake():\n    while True:\n"
            "        for step in range(100):\n"
            "            send(f'{{\"step\": {step}, \"cell\": 1, \"state\": \"end\", \"error\": null}}\\n'\n"
            "                 f'{{\"step\": {step}, \"cell\": 1, \"state\": \"start\"}}\\n{{\"done\": true}}\\n'.encode())\n"
            "        time.sleep(0.2)\n"
            "threading.Thread(target=fake, daemon=True).start()\n"
            "while True:\n    try:\n        time.sleep(0.2)\n    except BaseException:\n        pass")], at),
        "2024016_크래시": _with(lesson, [_code("import os\nos._exit(3)")], at),
        # wrecks its own run and sends its own words as if they were the grader's
        "2024018_망가뜨림": _with(lesson, [_code(
            EVENT_FDS + "send('{\"step\": 2, \"cell\": 3, \"state\": \"end\", \"error\": \"채점기: 모두 통과 처리\"}\\n'.encode())\n"
            "print('GRADER {\"id\": \"05.1\", \"verdict\": \"통과\"}')\n"
            "import sys\nsys.modules['json'] = None\nos._exit(0)")], at),
        "2024017_조작": _tampering(empty, answer_2, [lesson05_file, torch_init], at, canary_tmp),
    }
    if sandbox.cgroups_work():  # unbounded without the cgroup: only where the limit holds
        submissions.update({
            "2024030_공유메모리": _with(lesson, [_code(
                "import mmap\nm = mmap.mmap(-1, 3 << 30, flags=mmap.MAP_SHARED)\n"
                "for i in range(0, 3 << 30, 1 << 12):\n    m[i] = 1")], at),
            "2024031_자식프로세스": _with(lesson, [_code(
                "import subprocess, sys, time\n"
                "kids = [subprocess.Popen([sys.executable, '-c', 'b = b\"x\" * (1200 << 20); import time; time.sleep(120)'])"
                " for _ in range(2)]\ntime.sleep(120)")], at),
            "2024032_포크폭탄": _with(lesson, [_code(
                "import os, time\nfor _ in range(100000):\n    try:\n        os.fork()\n"
                "    except OSError:\n        time.sleep(0.01)")], at),
        })
    for name, nb in submissions.items():
        path = subs / f"{name}.{'IPYNB' if name == '2024003_빈칸' else 'ipynb'}"
        if nb is None:
            path.write_text('{"cells": [ {"cell_type": "code", "source": "oops"', encoding="utf-8")
        else:
            path.write_text(json.dumps(nb, ensure_ascii=False, indent=1), encoding="utf-8")
    broken = b'{"cells": ['
    cheap = {"2024020_홍길동".encode("cp949"): json.dumps(submissions["2024005_다른레슨"]).encode(),
             unicodedata.normalize("NFC", "2024021_한글").encode(): broken,
             unicodedata.normalize("NFD", "2024021_한글").encode(): broken,
             '=HYPERLINK("x")_2024022'.encode(): broken,
             "2024004_JSON_다시".encode(): broken,
             "2024023_\x1b[31m빨강\u202e".encode(): broken}
    for stem, data in cheap.items():
        with open(os.path.join(os.fsencode(subs), stem + b".ipynb"), "wb") as fh:
            fh.write(data)
    (subs / "2024024_링크.ipynb").symlink_to(subs / "2024001_정답.ipynb")
    (subs / "notes.txt").write_text("not a notebook\n")

    # what the submissions aim at and what the grader reads (other course files are read-only the same way)
    # (helpers/ itself is edited by other work meanwhile: the attacks' marker text is looked for there instead)
    watched = (canary_tmp, canary_disk, subs, ROOT / "classroom" / "netguard")
    watched_files = (torch_init, plan.lesson_path(LESSON))
    before = _snapshot(*watched, files=watched_files)
    made: list[str] = []  # the grader's own temporary folders (another process may make its own meanwhile)
    mkdtemp = tempfile.mkdtemp

    def recording_mkdtemp(*args, **kwargs):
        path = mkdtemp(*args, **kwargs)
        made.append(path)
        return path
    out = tmp / "out"
    # 30 s a cell: lesson 05's slowest cell (the imports) takes 2.5 s on a quiet 2-core machine, 10 s on a busy one
    options = grade.Options(cell_timeout=30, timeout=400, check_timeout=60,
                            limits=sandbox.Limits(memory_bytes=2 << 30, cpu_seconds=400))
    tempfile.mkdtemp = recording_mkdtemp
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        results = grade.grade_folder(LESSON, subs, out, options, jobs=len(os.sched_getaffinity(0)))
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        after = _snapshot(*watched, files=watched_files)
    finally:
        tempfile.mkdtemp = mkdtemp
        for server in sockets:
            server.close()
        shutil.rmtree(canary_disk, ignore_errors=True)
    left = [p for p in made if os.path.exists(p)]
    cgroups_left = [p for c in ("memory", "pids") for p in (sandbox.CGROUP_ROOT / c).glob(f"course-grade-{os.getpid()}-*")]
    yield {"results": {r.student: r for r in results}, "ids": ids, "out": out, "before": before, "after": after,
           "secret": secret, "temp_left": left, "temp_made": made, "subs": subs, "solutions": solutions,
           "rss_growth_mib": (rss_after - rss_before) / 1024, "cgroups_left": cgroups_left,
           "reduce_canary": canary_tmp / "reduce.txt"}


def _verdicts(graded, student) -> dict[str, str]:
    return {i: v for i, (v, _) in graded["results"][student].verdicts.items()}


def _every(graded, student) -> set[str]:
    return {v for v, _ in graded["results"][student].verdicts.values()}


def _reasons(graded, student) -> str:
    return " ".join(d or "" for _, d in graded["results"][student].verdicts.values())


def _correct_partial_and_empty(graded):
    ids = graded["ids"]
    assert {"05.1", "05.2", "05.3"} <= set(ids)
    assert _verdicts(graded, "2024001_정답") == dict.fromkeys(ids, PASSED)
    assert _verdicts(graded, "2024003_빈칸") == dict.fromkeys(ids, NOT_SOLVED)  # a .IPYNB file is graded
    partial = _verdicts(graded, "2024002_일부")
    assert partial == {**dict.fromkeys(ids, PASSED), "05.2": WRONG, "05.3": NOT_SOLVED}


def _table_html_and_feedback(graded):
    out, ids, results = graded["out"], graded["ids"], graded["results"]
    with (out / "grades.csv").open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(results)  # notes.txt is not a submission; every odd name has its row
    row = next(r for r in rows if r["학생"] == "2024002_일부")
    assert row["05.2"] == WRONG and row["05.3"] == NOT_SOLVED and row["통과 수"] == str(len(ids) - 2)
    assert next(r for r in rows if r["학생"] == "2024004_JSON")["05.1"].startswith(f"{FAILED} (")
    page = (out / "grades.html").read_text(encoding="utf-8")
    assert "<script>" in page and "http" not in page.split("<body>")[1]  # offline: no CDN
    assert 'lang="ko"' in page and "2024002_일부" in page
    feedback = (out / "feedback" / "2024002_일부.txt").read_text(encoding="utf-8")
    detail = results["2024002_일부"].verdicts["05.2"][1]
    assert detail and f"05.2: {WRONG}. {detail}" in feedback  # the check's own hint or reason
    assert len(list((out / "feedback").iterdir())) == len(results)  # everyone's feedback, odd names too
    for path in (out / "feedback").iterdir():  # hints only: no line of a solution
        text = path.read_text(encoding="utf-8")
        for line in graded["solutions"]:
            assert line not in text, (path.name, line)


def _odd_names_and_files_do_not_crash_the_report(graded):
    results, out = graded["results"], graded["out"]
    cp949 = results["2024020_홍길동"]
    assert any("CP949" in n for n in cp949.notes) and "다른 레슨(08)" in _reasons(graded, "2024020_홍길동")
    twins = [r for name, r in results.items() if unicodedata.normalize("NFC", name) == "2024021_한글"]
    assert len(twins) == 2 and all(any("NFC/NFD" in n for n in r.notes) for r in twins)
    assert any("같은 학번 2024004" in n for n in results["2024004_JSON"].notes)
    assert any("같은 학번 2024004" in n for n in results["2024004_JSON_다시"].notes)
    assert "2024023_\\x1b[31m빨강\\u202e" in results  # control and bidi characters shown as escapes
    link = results["2024024_링크"]
    assert _every(graded, "2024024_링크") == {FAILED} and "심볼릭 링크" in _reasons(graded, "2024024_링크")
    assert graded["secret"] not in link.output
    with (out / "grades.csv").open(encoding="utf-8-sig") as fh:
        names = [row[0] for row in csv.reader(fh)][1:]
    assert "'=HYPERLINK(\"x\")_2024022" in names  # shown as text, never run as a formula
    assert not any(n.startswith(report.FORMULA_START) for n in names)
    # one student whose report cannot be written does not stop the others'
    good = results["2024001_정답"]
    bad = grade.Result("2024099_고장", {}, [])
    report.write_all(out / "again", LESSON, graded["ids"], [bad, good], isolation="-", seconds=0) \
        if (out / "again").mkdir() is None else None
    with (out / "again" / "grades.csv").open(encoding="utf-8-sig") as fh:
        again = {row["학생"]: row for row in csv.DictReader(fh)}
    assert "보고서를 쓰지 못했습니다" in again["2024099_고장"]["비고"] and again["2024001_정답"]["05.1"] == PASSED
    assert (out / "again" / "feedback" / "2024001_정답.txt").is_file()


def _files_that_cannot_be_read_get_a_clear_verdict(graded):
    ids, results = graded["ids"], graded["results"]
    assert _every(graded, "2024004_JSON") == {FAILED} and "JSON" in _reasons(graded, "2024004_JSON")
    assert _every(graded, "2024005_다른레슨") == {FAILED} and "다른 레슨(08)" in _reasons(graded, "2024005_다른레슨")
    for student in ("2024006_확인셀삭제", "2024007_확인셀이동복제"):
        assert _verdicts(graded, student) == dict.fromkeys(ids, PASSED), student  # the lesson's own checks
    assert any("확인 셀이" in n for n in results["2024006_확인셀삭제"].notes)


def _escapes_fail_as_root_and_cost_their_cell_only(graded):
    ids, harmful = graded["ids"], graded["results"]["2024008_해로운셀"]
    assert _verdicts(graded, "2024008_해로운셀") == dict.fromkeys(ids, PASSED), (harmful.notes, harmful.student_notes)
    out = harmful.output
    assert "CAPEFF 0000000000000000" in out  # no capability, although the grader runs as root here
    escapes = [line for line in out.splitlines() if line.startswith("ESCAPE ")]
    assert len(escapes) == 13 and all(line.endswith(" BLOCKED") for line in escapes), escapes
    # a classmate's submission, the grade table of another lesson, the host's /tmp: not even there
    assert graded["secret"] not in out and "2024001" not in out
    assert {line for line in out.splitlines() if line.startswith("PEEK ")} == {"PEEK BLOCKED FileNotFoundError"}
    assert "SOLUTION HIDDEN" in out and "SOLUTION VISIBLE" not in out  # the student edition only
    assert out.count("SOCK BLOCKED") == 3 and "SOCK CONNECTED" not in out  # path and abstract sockets
    assert "NET CONNECTED" not in out and out.count("NET BLOCKED") == 2
    assert any("네트워크" in n for n in harmful.student_notes)


def _limits_hold_in_their_cell(graded):
    harmful = graded["results"]["2024008_해로운셀"]
    out, notes = harmful.output, " ".join(harmful.student_notes + harmful.notes)
    assert "allocate" in notes or "Memory" in notes, notes  # 10 GiB fails in its cell
    assert "시간 제한" in notes, notes                        # an interruptible infinite loop loses that cell only
    assert "FILL BLOCKED /tmp 28" in out and "FILL BLOCKED /dev/shm 28" in out  # ENOSPC: size-limited tmpfs
    # 5 MB of output: the first 64 KB of each stream are kept, and the note says so
    assert len(harmful.output) <= 2 * grade.OUTPUT_KEPT and "출력이 너무 많아" in notes
    # event flood, deeply nested events, a 30 MB line: bounded, and the student's failure only
    assert "형식에 맞지 않아" in notes and "실행 기록이 너무 많아" in notes
    assert graded["rss_growth_mib"] < 400, graded["rss_growth_mib"]


def _processes_that_end_badly_get_a_clear_verdict(graded):
    results = graded["results"]
    stuck = results["2024010_안멈춤"]
    assert _every(graded, "2024010_안멈춤") == {FAILED} and "강제로" in _reasons(graded, "2024010_안멈춤")
    assert stuck.seconds < 300, stuck.seconds  # fake "end" events did not cancel the kill
    assert _every(graded, "2024016_크래시") == {FAILED} and "종료 코드 3" in _reasons(graded, "2024016_크래시")
    wrecked = results["2024018_망가뜨림"]
    assert _every(graded, "2024018_망가뜨림") == {FAILED} and "종료 코드 0" in _reasons(graded, "2024018_망가뜨림")
    assert "모두 통과 처리" not in _reasons(graded, "2024018_망가뜨림") + " ".join(wrecked.notes)


def _whole_sandbox_limits(graded):
    if not sandbox.cgroups_work():
        pytest.skip("no writable cgroup v1 memory/pids here (run as root, as .ci/run does)")
    for student in ("2024030_공유메모리", "2024031_자식프로세스"):
        assert _every(graded, student) == {FAILED} and "메모리 제한" in _reasons(graded, student), _reasons(graded, student)
    assert _every(graded, "2024032_포크폭탄") == {FAILED} and "프로세스 수 제한" in _reasons(graded, "2024032_포크폭탄")
    assert not graded["cgroups_left"]


def _tampering_gets_the_real_verdict(graded):
    ids = graded["ids"]
    tampered = graded["results"]["2024017_조작"]
    assert _verdicts(graded, "2024017_조작") == {**dict.fromkeys(ids, NOT_SOLVED), "05.M1": FAILED,
                                                "05.1": WRONG, "05.2": WRONG, "05.3": WRONG}
    assert "데이터" in tampered.verdicts["05.M1"][1] and any("Evil" in n for n in tampered.student_notes)
    assert not graded["reduce_canary"].exists()  # the __reduce__ never ran anywhere
    assert tampered.output.count("BLOCKED") >= 2 + 4  # installed files and /grader are read-only


def _nothing_outside_the_temporary_folders_changed(graded):
    before, after = graded["before"], graded["after"]
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    assert not changed, sorted(changed)[:10]
    for path in (ROOT / "helpers" / "exercises").glob("*.py"):
        assert "PASS = 1" not in path.read_text(encoding="utf-8") and "PASS_EVERYTHING" not in path.read_text(encoding="utf-8")
    assert graded["temp_made"], "the grader made no temporary folder of its own?"
    assert not graded["temp_left"], f"the grader's temporary folders are removed: {graded['temp_left']}"


def test_grading_lesson_05(graded, subtests):
    for check in (_correct_partial_and_empty, _table_html_and_feedback, _odd_names_and_files_do_not_crash_the_report,
                  _files_that_cannot_be_read_get_a_clear_verdict, _escapes_fail_as_root_and_cost_their_cell_only,
                  _limits_hold_in_their_cell, _processes_that_end_badly_get_a_clear_verdict, _whole_sandbox_limits,
                  _tampering_gets_the_real_verdict, _nothing_outside_the_temporary_folders_changed):
        with subtests.test(check.__name__.strip("_")):
            check(graded)
