"""A real JupyterHub on 127.0.0.1 and a student's client for it (``tests/test_hub.py``, ``benchmarks/bench_hub.py``).

``local_hub`` starts JupyterHub (``requirements-hub.txt``) with configurable-http-proxy (npm, ``.hub/``),
password login (DummyAuthenticator) and one single-user server per student in their own home folder
(SimpleLocalProcessSpawner: one OS user for all). The course is served as a class gets it: the
``student`` branch of a throw-away clone of this repository, built by ``scripts/student_branch.py``.
The client does what a student's browser does: log in, open the nbgitpuller link, save a notebook,
and run one through the server's kernel API (websocket) as Run All does.
"""
from __future__ import annotations

import asyncio
import contextlib
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

import requests

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
CHP = ROOT / ".hub" / "node_modules" / ".bin" / "configurable-http-proxy"
PASSWORD = "course-password"


def missing() -> str | None:
    """What ``make hub`` would have to install first (in Korean), or None."""
    if shutil.which("node") is None:
        return "Node.js가 없습니다: sudo apt-get install nodejs npm 뒤 make hub"
    if not CHP.exists():
        return f"configurable-http-proxy가 없습니다({CHP}): make hub가 npm으로 설치합니다"
    if not (VENV_BIN / "jupyterhub").exists() or not (VENV_BIN / "jupyterhub-singleuser").exists():
        return "JupyterHub가 .venv에 없습니다: make hub가 requirements-hub.txt로 설치합니다"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def build_student_branch(source: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "scripts" / "student_branch.py"), "--repo", str(source),
                    "--repo-url", "https://example.org/dl-course.git"], check=True, capture_output=True, text=True)


@contextlib.contextmanager
def local_hub(base: Path, students: list[str]):
    """A running hub for ``students`` in ``base``: ``{"url", "token" (an admin service's), "homes", "course", "log"}``."""
    problem = missing()
    assert problem is None, problem
    course = base / "course"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(course)], check=True)
    git(course, "config", "user.email", "teacher@example.org")
    git(course, "config", "user.name", "teacher")
    build_student_branch(course)
    homes = base / "homes"
    homes.mkdir()
    port, token = free_port(), secrets.token_hex(32)
    config = base / "jupyterhub_config.py"
    config.write_text(f"""
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {free_port()}
c.ConfigurableHTTPProxy.command = [{str(CHP)!r}]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{free_port()}"
c.JupyterHub.db_url = "sqlite:///{base / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = {str(base / 'cookie_secret')!r}
c.JupyterHub.pid_file = {str(base / 'jupyterhub.pid')!r}
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {PASSWORD!r}
c.Authenticator.allowed_users = {set(students)!r}
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {str(homes / '{username}')!r}
c.Spawner.cmd = [{str(VENV_BIN / 'jupyterhub-singleuser')!r}]
c.Spawner.args = {(['--allow-root'] if os.geteuid() == 0 else [])!r}
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
        for name in students:  # stop the single-user servers and their kernels
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


def pull_link(hub: dict, lesson: str) -> str:
    """The nbgitpuller link, as the README builds it, for ``lesson`` (a file name under notebooks/)."""
    query = urllib.parse.urlencode({"repo": f"file://{hub['course']}", "branch": "student",
                                    "urlpath": f"lab/tree/dl-course/notebooks/{lesson}"})
    return f"{hub['url']}/hub/user-redirect/git-pull?{query}"


def login(hub: dict, name: str):
    session = requests.Session()
    page = session.get(f"{hub['url']}/hub/login", timeout=30)
    assert page.ok, page.text[:500]
    xsrf = session.cookies.get("_xsrf")
    reply = session.post(f"{hub['url']}/hub/login", data={"username": name, "password": PASSWORD,
                                                          "_xsrf": xsrf}, timeout=60)
    assert reply.ok and "/hub/login" not in reply.url, f"{name} could not log in: {reply.status_code} {reply.url}"
    return session


def open_link(hub: dict, session, name: str, lesson: str) -> None:
    """What a click on the link does: the server starts (if needed), nbgitpuller pulls the course."""
    deadline = time.monotonic() + 180
    page = session.get(pull_link(hub, lesson), timeout=120)
    while "spawn-pending" in page.url or page.status_code == 202:
        assert time.monotonic() < deadline, f"{name}'s server did not start:\n{hub['log'].read_text()[-3000:]}"
        time.sleep(1)
        page = session.get(pull_link(hub, lesson), timeout=120)
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


def user_headers(hub: dict, name: str) -> dict:
    """An API token of the student (as JupyterLab's own requests carry one)."""
    reply = requests.post(f"{hub['url']}/hub/api/users/{name}/tokens", json={"note": "course-test", "expires_in": 3600},
                          headers={"Authorization": f"token {hub['token']}"}, timeout=30)
    assert reply.ok, reply.text
    return {"Authorization": f"token {reply.json()['token']}"}


def contents(hub: dict, name: str, headers: dict, path: str):
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
                if raw is None:  # the kernel died, or its server did
                    results.append({"status": "dead", "text": "".join(text)})
                    return results
                msg = json.loads(raw)
                if msg["msg_type"] == "status" and msg.get("content", {}).get("execution_state") in ("restarting", "dead"):
                    results.append({"status": "dead", "text": "".join(text)})  # what JupyterLab shows as
                    return results                                             # "Kernel Restarting"
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


def run_notebook(hub: dict, name: str, headers: dict, path: str, timeout: float = 300,
                 cells: list[str] | None = None) -> tuple[dict, list[dict]]:
    """Run the student's saved notebook ``path`` top to bottom with the kernel it asks for (or only
    ``cells``, in that kernel): (the notebook, one ``{"status", "text"}`` per cell that ran; status
    ``"dead"`` if the kernel died or restarted)."""
    nb = contents(hub, name, headers, path).json()["content"]
    # a session for the notebook, as JupyterLab opens one: its kernel starts in the notebook's folder
    session = requests.post(f"{hub['url']}/user/{name}/api/sessions", headers=headers, timeout=120,
                            json={"path": path, "type": "notebook", "name": "",
                                  "kernel": {"name": nb["metadata"]["kernelspec"]["name"]}})
    assert session.ok, session.text
    session_id, kernel_id = session.json()["id"], session.json()["kernel"]["id"]
    if cells is None:
        cells = [c["source"] if isinstance(c["source"], str) else "".join(c["source"])
                 for c in nb["cells"] if c["cell_type"] == "code"]
    ws = f"{hub['url'].replace('http', 'ws', 1)}/user/{name}/api/kernels/{kernel_id}/channels"
    try:
        results = asyncio.run(_run_all(ws, headers, cells, timeout))
    finally:
        with contextlib.suppress(requests.RequestException):
            requests.delete(f"{hub['url']}/user/{name}/api/sessions/{session_id}", headers=headers, timeout=60)
    return nb, results
