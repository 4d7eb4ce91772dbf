"""A lesson works where students use it: JupyterLab in a real browser.

Starts JupyterLab (127.0.0.1, a free port, a random token) on a copy of a lesson, opens it in
headless Chromium (Debian's ``chromium``, driven by Playwright; nothing downloaded), checks that
the course kernel "Python (dl-course)" is the one in use, runs the lesson's first code cell
(the environment check), reads its output from the page, saves a screenshot under
``outputs/screenshots/`` and stops the server it started.

It runs only that first cell, which every lesson shares: it executes no lesson, and
``tests/test_run_count.py`` (which counts kernels that ran a cell only one lesson has) counts it
for none.
"""
from __future__ import annotations

import importlib.metadata
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from lesson_runs import load_handouts

ROOT = Path(__file__).resolve().parent.parent
LESSON = "05_logsoftmax.ipynb"  # small and fast; its first cell is the shared environment check
SCREENSHOTS = ROOT / "outputs" / "screenshots"
CHROMIUM, CHROMIUM_ARGS = load_handouts().CHROMIUM, load_handouts().CHROMIUM_ARGS  # one definition

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_server(url: str, process: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"JupyterLab stopped (exit {process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"JupyterLab did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def jupyterlab(tmp_path):
    """(base url, token) of a JupyterLab serving a copy of the lesson; stopped afterwards."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    shutil.copy(ROOT / "notebooks" / LESSON, notebooks / LESSON)
    # the shared first cell, as every lesson has it (a no-op once the lesson has it already)
    subprocess.run([sys.executable, str(ROOT / "scripts" / "lesson_cells.py"), "apply", str(notebooks / LESSON)],
                   check=True, capture_output=True)
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "MPLBACKEND": "Agg"}
    command = [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1",
               f"--port={port}", f"--ServerApp.token={token}", f"--notebook-dir={notebooks}",
               "--ServerApp.port_retries=0", f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
               f"--LabApp.user_settings_dir={tmp_path / 'settings'}", "--LabApp.news_url=", ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = tmp_path / "jupyterlab.log"
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for_server(f"{base}/api/status?token={token}", process, log)
        yield base, token
    finally:
        process.terminate()  # the server shuts its kernels down on SIGTERM
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_a_lesson_runs_in_jupyterlab_in_chromium(jupyterlab):
    from playwright.sync_api import sync_playwright

    base, token = jupyterlab
    torch_version = importlib.metadata.version("torch").split("+")[0]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    screenshot = SCREENSHOTS / f"jupyterlab_{LESSON.replace('.ipynb', '')}.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(60_000)
            page.goto(f"{base}/lab/tree/{LESSON}?token={token}")
            page.wait_for_selector(".jp-Notebook .jp-CodeCell")
            # The lesson asks for the course kernel; if JupyterLab asks which kernel, choose it.
            kernel_name = page.locator(".jp-NotebookPanel .jp-Toolbar-kernelName").first
            dialog = page.locator(".jp-Dialog")
            deadline = time.monotonic() + 60
            while "dl-course" not in kernel_name.inner_text():
                if dialog.count():
                    dialog.locator("select").select_option(label="Python (dl-course)")
                    dialog.locator("button.jp-mod-accept").click()
                assert time.monotonic() < deadline, f"kernel shown: {kernel_name.inner_text()!r}"
                page.wait_for_timeout(250)
            assert kernel_name.inner_text().strip() == "Python (dl-course)"
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")

            first = page.locator(".jp-Notebook .jp-CodeCell").first
            assert "Environment check" in first.locator(".jp-InputArea-editor").inner_text()
            first.locator(".jp-InputArea-editor").click()
            page.keyboard.press("Shift+Enter")
            output = first.locator(".jp-OutputArea-output")
            output.first.wait_for()
            page.wait_for_function(
                "([el, v]) => el.innerText.includes(v)", arg=[first.element_handle(), torch_version])
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")
            text = first.locator(".jp-OutputArea").inner_text()
            first.scroll_into_view_if_needed()
            news = page.get_by_role("button", name="No", exact=True)  # JupyterLab's news prompt
            if news.count():
                news.first.click()
            page.screenshot(path=str(screenshot))
        finally:
            browser.close()
    assert torch_version in text  # the kernel's torch, as the environment report prints it
    assert "과정 패키지가 설치되지 않은" not in text and "Traceback" not in text, text
    assert screenshot.stat().st_size > 10_000
