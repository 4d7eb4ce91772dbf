"""A lesson run and saved in a real JupyterLab leaves git clean (the nbstripout filter of ``make setup``).

A temporary clone of the course gets the filter from the Makefile itself (``make git-filter``) and
commits the working tree's lessons through it (so the test does not depend on how they were last
committed). A JupyterLab server (127.0.0.1, a free port, a random token) serves that clone. The
lesson's first cell is executed in the course kernel; every other code cell gets an output and a
count; the notebook metadata gets what editors write on save (JupyterLab and Notebook 7: the kernel's
full ``language_info``; cell timings; widget state; VS Code's ``vscode`` block). The notebook is then
saved the way JupyterLab saves it, a PUT to the contents API, and ``git status`` must be empty.
The same server shows that the environment's settings turn JupyterLab's news pop-up off.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSON = "notebooks/05_logsoftmax.ipynb"  # small; its first cell is the shared environment check

pytestmark = pytest.mark.skipif(shutil.which("git") is None or shutil.which("make") is None,
                                reason="needs git and make")


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def _api(base: str, token: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(f"{base}{path}", method="PUT" if body else "GET",
                                     data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


@pytest.fixture
def course(tmp_path) -> Path:
    repo = tmp_path / "course"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{ROOT}", str(repo)], check=True)
    shutil.copy2(ROOT / "Makefile", repo / "Makefile")
    subprocess.run(["make", "-s", "-C", str(repo), "git-filter", f"PY={sys.executable}"], check=True)
    for path in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"):
        shutil.copy2(path, repo / "notebooks" / path.name)
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "--allow-empty", "-m", "lessons")
    assert _git(repo, "status", "--porcelain") == ""
    return repo


@pytest.fixture
def jupyterlab(course, tmp_path):
    """(base url, token) of a JupyterLab serving the clone; stopped afterwards."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_hex(16)
    command = [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1",
               f"--port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={course}", f"--LabApp.user_settings_dir={tmp_path / 'settings'}",
               f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}"] + (["--allow-root"] if os.geteuid() == 0 else [])
    log = tmp_path / "jupyterlab.log"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            try:
                _api(base, token, "/api/status")
                break
            except OSError:
                time.sleep(0.5)
        yield base, token
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _run_first_cell(nb: nbformat.NotebookNode, folder: Path) -> None:
    """Executes the lesson's first code cell in the course kernel, as Shift+Enter does, keeping what
    the kernel reports (outputs, count, timings, the kernel's language_info) in ``nb``."""
    from nbclient import NotebookClient

    index = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    single = nbformat.v4.new_notebook(cells=[nb.cells[index]], metadata=nb.metadata)
    NotebookClient(single, timeout=300, kernel_name="dl-course", record_timing=True,
                   resources={"metadata": {"path": str(folder)}}).execute()
    nb.cells[index], nb.metadata = single.cells[0], single.metadata


def test_a_lesson_saved_in_jupyterlab_leaves_git_clean(course, jupyterlab):
    base, token = jupyterlab
    model = _api(base, token, f"/api/contents/{LESSON}")
    nb = nbformat.from_dict(model["content"])
    _run_first_cell(nb, course / "notebooks")
    for count, cell in enumerate((c for c in nb.cells if c.cell_type == "code"), start=1):
        if not cell.outputs:
            cell.execution_count = count
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"run {count}\n")]
            cell.metadata["execution"] = {"iopub.status.busy": "2026-12-05T09:00:00.000Z"}
    nb.cells[-1].metadata["jupyter"] = {"outputs_hidden": True}  # a student collapsed an output
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2,
                                                                             "version_minor": 0}}
    nb.metadata["vscode"] = {"interpreter": {"hash": "0" * 64}}
    assert set(nb.metadata["language_info"]) > {"name", "version", "codemirror_mode"}  # what the kernel reports
    _api(base, token, f"/api/contents/{LESSON}", {"type": "notebook", "format": "json", "content": nb})

    saved = json.loads((course / LESSON).read_text(encoding="utf-8"))
    assert saved["metadata"]["language_info"].get("version") and saved["metadata"].get("widgets")
    first = next(c for c in saved["cells"] if c["cell_type"] == "code")
    assert first["outputs"] and first["execution_count"] and first["metadata"].get("execution")  # really run
    # git compares sizes before contents: until the next `git add` or commit refreshes its record of the
    # file, `git status` may list a saved lesson although `git diff` is empty and `git add` stages nothing
    diff = subprocess.run(["git", "-C", str(course), "diff", "--no-textconv", "--exit-code"], capture_output=True, text=True)
    assert diff.returncode == 0, f"a saved lesson shows as a change:\n{diff.stdout[:3000]}"
    _git(course, "add", "-A")
    assert _git(course, "status", "--porcelain") == "", "git add staged a change of the saved lesson"


def test_jupyterlab_news_is_off(jupyterlab):
    """``make setup`` writes the environment's overrides.json: no news pop-up, no update check."""
    base, token = jupyterlab
    schema = _api(base, token, "/lab/api/settings/@jupyterlab/apputils-extension:notification")["schema"]
    defaults = {key: value.get("default") for key, value in schema["properties"].items()}
    assert defaults["fetchNews"] == "false" and defaults["checkForUpdates"] is False, defaults


def test_every_route_strips_the_same_keys():
    """postBuild (Binder, hubs) defines the filter with the Makefile's NB_EXTRA_KEYS."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    keys = re.search(r"^NB_EXTRA_KEYS := (.+)$", makefile, re.M).group(1).split()
    postbuild = re.search(r"filter\.nbstripout\.extrakeys '([^']+)'", (ROOT / "postBuild").read_text()).group(1)
    assert postbuild.split() == keys and "metadata.language_info" in keys
