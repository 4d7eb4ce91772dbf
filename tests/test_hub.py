"""A class on a real JupyterHub, end to end (``make hub``; ``.ci/run`` runs it).

A JupyterHub (the real one, with configurable-http-proxy from npm) on 127.0.0.1 serves two
students, each logging in with a password (DummyAuthenticator) and getting their own single-user
Jupyter server in their own home folder (SimpleLocalProcessSpawner: one OS user for all, so the
separation tested here is Jupyter's, not the operating system's; The Littlest JupyterHub gives each
student a system user too). The course comes as a class gets it: the ``student`` branch, built
freshly from this commit into a throw-away repository, pulled with the nbgitpuller link the README
gives. Then, for each student:

1. log in; the nbgitpuller link (``/hub/user-redirect/git-pull?...``) starts their server and pulls
   the course; lesson 05 is there, in JupyterLab's tree, and asks for the course kernel;
2. Run All through the server's own kernel API (websocket), with the kernel the lesson names: no
   error, every check says 아직 풀지 않음;
3. fill in one exercise by saving the notebook through the server (as JupyterLab's save does) and
   run it again: that check says 통과;
4. the instructor changes the course and rebuilds ``student``; the link again: the change arrives
   and the student's edit is still there;
5. the other student's files are not reachable from this student's server or with this student's token.

Then the instructor collects lesson 05 from both home folders and runs ``course-grade``: one row per
student, with the verdicts each one earned.
"""
from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
CHP = ROOT / ".hub" / "node_modules" / ".bin" / "configurable-http-proxy"
LESSON = "05_logsoftmax.ipynb"
STUDENTS = ("alice", "bob")
SOLVED = "05.3"   # the exercise each student fills in



def _missing() -> str | None:
    if shutil.which("node") is None:
        return "Node.js가 없습니다: sudo apt-get install nodejs npm 뒤 make hub"
    if not CHP.exists():
        return f"configurable-http-proxy가 없습니다({CHP}): make hub가 npm으로 설치합니다"
    if not (VENV_BIN / "jupyterhub").exists() or not (VENV_BIN / "jupyterhub-singleuser").exists():
        return "JupyterHub가 .venv에 없습니다: make hub가 requirements-hub.txt로 설치합니다"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def _build_student_branch(source: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "scripts" / "student_branch.py"), "--repo", str(source),
                    "--repo-url", "https://example.org/dl-course.git"], check=True, capture_output=True, text=True)


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """The running hub: ``{"url", "token" (an admin service's), "homes", "course", "log"}``."""
    assert _missing() is None, _missing()
    base = tmp_path_factory.mktemp("hub")
    course = base / "course"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(course)], check=True)
    _git(course, "config", "user.email", "teacher@example.org")
    _git(course, "config", "user.name", "teacher")
    _build_student_branch(course)
    homes = base / "homes"
    homes.mkdir()
    port, token = _free_port(), secrets.token_hex(32)
    config = base / "jupyterhub_config.py"
    config.write_text(f"""
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {_free_port()}
c.ConfigurableHTTPProxy.command = [{str(CHP)!r}]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{_free_port()}"
c.JupyterHub.db_url = "sqlite:///{base / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = {str(base / 'cookie_secret')!r}
c.JupyterHub.pid_file = {str(base / 'jupyterhub.pid')!r}
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = "course-password"
c.Authenticator.allowed_users = {set(STUDENTS)!r}
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {str(homes / '{username}')!r}
c.Spawner.cmd = [{str(VENV_BIN / 'jupyterhub-singleuser')!r}]
c.Spawner.args = {(['--allow-root'] if os.geteuid() == 0 else [])!r} + ["--ServerApp.kernel_manager_class=jupyter_server.services.kernels.kernelmanager.AsyncMappingKernelManager"]
c.Spawner.environment = {{"MPLBACKEND": "Agg", "PATH": {str(VENV_BIN) + ':' + os.environ['PATH']!r}}}
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.JupyterHub.services = [{{"name": "course-test", "api_token": {token!r}}}]
c.JupyterHub.load_roles = [{{"name": "admin", "services": ["course-test"]}}]
""")
    log = base / "jupyterhub.log"
    env = {**os.environ, "PATH": f"{VENV_BIN}:{os.environ['PATH']}"}
    with log.open("w") as out:
        process = subprocess.Popen([str(VENV_BIN / "jupyterhub"), "-f", str(config)], cwd=base, env=env,
                                   stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, f"JupyterHub stopped:\n{log.read_text()[-4000:]}"
            try:
                if requests.get(f"{url}/hub/api/", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, f"JupyterHub did not answer:\n{log.read_text()[-4000:]}"
            time.sleep(0.5)
        yield {"url": url, "token": token, "homes": homes, "course": course, "log": log}
    finally:
        for name in STUDENTS:  # stop the single-user servers and their kernels
            try:
                requests.delete(f"{url}/hub/api/users/{name}/server", headers={"Authorization": f"token {token}"},
                                timeout=30)
            except requests.RequestException:
                pass
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def _pull_link(hub: dict) -> str:
    """The nbgitpuller link, as the README builds it, for lesson 05."""
    query = urllib.parse.urlencode({"repo": f"file://{hub['course']}", "branch": "student",
                                    "urlpath": f"lab/tree/dl-course/notebooks/{LESSON}"})
    return f"{hub['url']}/hub/user-redirect/git-pull?{query}"


def _login(hub: dict, name: str):
    session = requests.Session()
    page = session.get(f"{hub['url']}/hub/login", timeout=30)
    assert page.ok, page.text[:500]
    xsrf = session.cookies.get("_xsrf")
    reply = session.post(f"{hub['url']}/hub/login", data={"username": name, "password": "course-password",
                                                          "_xsrf": xsrf}, timeout=60)
    assert reply.ok and "/hub/login" not in reply.url, f"{name} could not log in: {reply.status_code} {reply.url}"
    return session


def _open_link(hub: dict, session, name: str) -> None:
    """What a click on the link does: the server starts (if needed), nbgitpuller pulls the course."""
    deadline = time.monotonic() + 180
    page = session.get(_pull_link(hub), timeout=120)
    while "spawn-pending" in page.url or page.status_code == 202:
        assert time.monotonic() < deadline, f"{name}'s server did not start:\n{hub['log'].read_text()[-3000:]}"
        time.sleep(1)
        page = session.get(_pull_link(hub), timeout=120)
    assert page.ok and f"/user/{name}/git-pull" in page.url, f"{name}: {page.status_code} {page.url}"
    # the page's script opens this event stream; read it to the end as the page does
    api = page.url.replace("/git-pull?", "/git-pull/api?", 1)
    api += "&" + urllib.parse.urlencode({"targetpath": "dl-course"})
    events = []
    with session.get(api, stream=True, timeout=300) as stream:
        for line in stream.iter_lines(decode_unicode=True):
            if line and line.startswith("data:"):
                events.append(json.loads(line[5:]))
                if events[-1].get("phase") in ("finished", "error"):
                    break
    assert events and events[-1].get("phase") == "finished", f"{name}: nbgitpuller {events[-3:]}"


def _user_api(hub: dict, name: str) -> dict:
    """An API token of the student (as JupyterLab's own requests carry one)."""
    reply = requests.post(f"{hub['url']}/hub/api/users/{name}/tokens", json={"note": "course-test", "expires_in": 3600},
                          headers={"Authorization": f"token {hub['token']}"}, timeout=30)
    assert reply.ok, reply.text
    return {"Authorization": f"token {reply.json()['token']}"}


def _contents(hub: dict, name: str, headers: dict, path: str):
    return requests.get(f"{hub['url']}/user/{name}/api/contents/{path}", headers=headers, timeout=30)


async def _run_all(ws_url: str, headers: dict, cells: list[str], timeout: float) -> list[dict]:
    """Every cell through the kernel's websocket, as Run All sends them: one reply per cell
    (``{"status", "text"}``), stopping after the first error as JupyterLab does."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    conn = await websocket_connect(HTTPRequest(ws_url, headers=headers), max_message_size=64 << 20)
    session = uuid.uuid4().hex
    results = []
    try:
        for source in cells:
            msg_id = uuid.uuid4().hex
            await conn.write_message(json.dumps({
                "header": {"msg_id": msg_id, "msg_type": "execute_request", "session": session, "username": "",
                           "version": "5.3", "date": ""},
                "parent_header": {}, "metadata": {}, "channel": "shell",
                "content": {"code": source, "silent": False, "store_history": True, "user_expressions": {},
                            "allow_stdin": False, "stop_on_error": True}}))
            text, status, idle = [], None, False
            deadline = time.monotonic() + timeout
            while status is None or not idle:  # the reply may come before the last output: wait for both
                raw = await asyncio.wait_for(conn.read_message(), max(1.0, deadline - time.monotonic()))
                assert raw is not None, "the kernel's websocket closed"
                msg = json.loads(raw)
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                content = msg.get("content", {})
                if msg["msg_type"] == "stream":
                    text.append(content.get("text", ""))
                elif msg["msg_type"] in ("execute_result", "display_data"):
                    text.append(content.get("data", {}).get("text/plain", ""))
                elif msg["msg_type"] == "error":
                    text.append(f"{content.get('ename')}: {content.get('evalue')}")
                elif msg["msg_type"] == "execute_reply" and msg.get("channel") == "shell":
                    status = content.get("status")
                elif msg["msg_type"] == "status" and content.get("execution_state") == "idle":
                    idle = True
            results.append({"status": status, "text": "".join(text)})
            if status != "ok":
                break
    finally:
        conn.close()
    return results


def _run_lesson(hub: dict, name: str, headers: dict) -> tuple[dict, str]:
    """Run the student's saved lesson 05 top to bottom with the kernel it asks for; (notebook, printed)."""
    path = f"dl-course/notebooks/{LESSON}"
    nb = _contents(hub, name, headers, path).json()["content"]
    kernel_name = nb["metadata"]["kernelspec"]["name"]
    kernel = requests.post(f"{hub['url']}/user/{name}/api/kernels", json={"name": kernel_name},
                           headers=headers, timeout=120)
    assert kernel.ok, kernel.text
    kernel_id = kernel.json()["id"]
    cells = [c["source"] if isinstance(c["source"], str) else "".join(c["source"])
             for c in nb["cells"] if c["cell_type"] == "code"]
    ws = f"{hub['url'].replace('http', 'ws', 1)}/user/{name}/api/kernels/{kernel_id}/channels"
    try:
        results = asyncio.run(_run_all(ws, headers, cells, timeout=300))
    finally:
        requests.delete(f"{hub['url']}/user/{name}/api/kernels/{kernel_id}", headers=headers, timeout=60)
    failed = [(i, r) for i, r in enumerate(results) if r["status"] != "ok"]
    assert not failed and len(results) == len(cells), f"{name}: lesson 05 stopped at a cell: {failed[:1]}"
    return nb, "".join(r["text"] for r in results)


def _verdict(printed: str, exercise: str) -> str:
    from helpers.exercises import NOT_SOLVED, PASSED, WRONG

    return next((v for v in (PASSED, WRONG, NOT_SOLVED) if f"[{exercise}] {v}" in printed), "출력 없음")


def _solution(exercise: str) -> tuple[str, str]:
    """(id of the student's TODO cell, the instructor's solution source) of ``exercise`` in lesson 05."""
    from classroom.grading.plan import pristine_lesson

    lesson = pristine_lesson("05")
    cells = {c.get("id"): c for c in json.loads(lesson.path.read_text(encoding="utf-8"))["cells"]}
    check = next(c for c in lesson.checks if exercise in c.ids)
    solution, todo = check.anchors[0], check.anchors[-1]  # nearest first: the solution cell, then the TODO cell
    assert "solution" in cells[solution]["metadata"].get("tags", []) and todo != solution
    return todo, "".join(cells[solution]["source"])


def test_two_students_pull_run_edit_update_and_hand_in(hub, tmp_path):
    from helpers.exercises import NOT_SOLVED, PASSED

    todo_id, solution = _solution(SOLVED)
    tokens = {}
    for name in STUDENTS:
        session = _login(hub, name)
        _open_link(hub, session, name)
        headers = tokens[name] = _user_api(hub, name)
        nb, printed = _run_lesson(hub, name, headers)
        assert nb["metadata"]["kernelspec"]["name"] == "dl-course"
        ids = [i for i in ("05.M1", "05.1", "05.2", "05.3")]
        assert {i: _verdict(printed, i) for i in ids} == dict.fromkeys(ids, NOT_SOLVED), printed[-3000:]
        if name == STUDENTS[0]:  # the first student fills one exercise in and saves, as JupyterLab saves
            todo = next(c for c in nb["cells"] if c.get("id") == todo_id)
            todo["source"] = solution  # the student writes the function where the TODO was
            path = f"dl-course/notebooks/{LESSON}"
            saved = requests.put(f"{hub['url']}/user/{name}/api/contents/{path}", headers=headers, timeout=30,
                                 json={"type": "notebook", "format": "json", "content": nb})
            assert saved.ok, saved.text
            _, printed = _run_lesson(hub, name, headers)
            assert _verdict(printed, SOLVED) == PASSED, printed[-3000:]

    # the instructor changes the course and rebuilds `student`; the students open the link again
    course = hub["course"]
    _git(course, "checkout", "-q", "main") if "main" in _git(course, "branch") else None
    changed = next((course / "notebooks").glob("04_*.ipynb"))  # a lesson neither student edited
    marker = f"수업 공지 {uuid.uuid4().hex[:8]}"
    nb = json.loads(changed.read_text(encoding="utf-8"))
    nb["cells"][0]["source"] = "".join(nb["cells"][0]["source"]) + f"\n\n{marker}\n"
    changed.write_text(json.dumps(nb, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    _git(course, "commit", "-qam", "a change during the term")
    _build_student_branch(course)
    for name in STUDENTS:
        _open_link(hub, _login(hub, name), name)
        pulled = hub["homes"] / name / "dl-course" / "notebooks" / changed.name
        assert marker in pulled.read_text(encoding="utf-8"), f"{name}: the update did not arrive"
    first = json.loads((hub["homes"] / STUDENTS[0] / "dl-course" / "notebooks" / LESSON).read_text(encoding="utf-8"))
    assert any("".join(c["source"]) == solution for c in first["cells"]), "the student's edit did not survive the pull"

    # one student cannot reach the other's files: not through their own server, not with their own token
    a, b = STUDENTS
    assert _contents(hub, a, tokens[a], f"../{b}/dl-course/notebooks/{LESSON}").status_code in (403, 404)
    assert _contents(hub, b, tokens[a], f"dl-course/notebooks/{LESSON}").status_code == 403

    # hand-in: the instructor collects lesson 05 from every home folder and grades it
    from classroom.grading import grade, sandbox

    if not sandbox.bwrap_works():
        pytest.fail("course-grade needs bubblewrap (sudo apt-get install bubblewrap; .ci/run installs it)")
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    for name in STUDENTS:
        shutil.copy(hub["homes"] / name / "dl-course" / "notebooks" / LESSON, submissions / f"{name}.ipynb")
    results = grade.grade_folder("05", submissions, tmp_path / "grades", grade.Options(), jobs=2)
    table = {r.student: {i: v for i, (v, _) in r.verdicts.items()} for r in results}
    expected = {a: {i: PASSED if i == SOLVED else NOT_SOLVED for i in ("05.M1", "05.1", "05.2", "05.3")},
                b: dict.fromkeys(("05.M1", "05.1", "05.2", "05.3"), NOT_SOLVED)}
    assert table == expected, table
