"""No network attempt: the guard in classroom/netguard, and the lessons' backbone under it.

Issue 10's "done when": with downloads allowed (no COURSE_OFFLINE), running every lesson makes
no network attempt. The notebook runs get the guard through ``PYTHONPATH=<repo>/classroom/netguard``
(the Makefile); here the guard itself is tested, and the lessons' configured backbones are
loaded under it in a fresh process.
"""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUARD_DIR = ROOT / "classroom" / "netguard"
sys.path.insert(0, str(GUARD_DIR))
import netguard  # noqa: E402

TEST_NET = ("203.0.113.1", 80)  # TEST-NET-3 (RFC 5737): never routed; the guard raises before any packet


@pytest.fixture
def guard(tmp_path, monkeypatch):
    log = tmp_path / "net.log"
    monkeypatch.setenv("COURSE_NETGUARD_LOG", str(log))
    netguard.install()
    try:
        yield log
    finally:
        netguard.uninstall()


def test_guard_blocks_non_loopback_loudly_and_logs(guard):
    with pytest.raises(netguard.NetworkAttemptError, match="203.0.113.1"):
        socket.create_connection(TEST_NET, timeout=1)
    sock = socket.socket()
    try:
        with pytest.raises(netguard.NetworkAttemptError):
            sock.connect(TEST_NET)
        with pytest.raises(netguard.NetworkAttemptError):
            sock.connect_ex(TEST_NET)
    finally:
        sock.close()
    with pytest.raises(netguard.NetworkAttemptError, match="download.pytorch.org"):
        socket.getaddrinfo("download.pytorch.org", 443)
    assert not issubclass(netguard.NetworkAttemptError, OSError)  # no `except OSError` swallows it
    assert len(guard.read_text().splitlines()) == 4


def test_guard_lets_loopback_through(guard):
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def accept_two():
        for _ in range(2):
            server.accept()[0].close()

    acceptor = threading.Thread(target=accept_two, daemon=True)
    acceptor.start()
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        socket.create_connection(("localhost", port), timeout=2).close()
        acceptor.join(timeout=5)
    finally:
        server.close()
    assert not guard.exists()


def test_guard_can_be_removed():
    netguard.install()
    netguard.uninstall()
    assert socket.socket.connect is not netguard._connect and not netguard.installed()


def lesson_archs() -> dict[str, str]:
    """``ARCH = "..."`` from each lesson's code cells (lessons without one are skipped)."""
    found = {}
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for cell in cells:
            if cell["cell_type"] != "code":
                continue
            match = re.search(r"""^ARCH\s*=\s*["']([^"']+)["']""", "".join(cell["source"]), re.M)
            if match:
                found[path.name] = match.group(1)
                break
    return found


def test_every_lesson_uses_the_packaged_backbone():
    """The backbone CI runs is the one students get; switching is one line they change themselves."""
    archs = lesson_archs()
    wrong = {name: arch for name, arch in archs.items() if arch != "efficientnet_lite0"}
    assert not wrong, f"lessons must default to ARCH = \"efficientnet_lite0\": {wrong}"


GUARDED_SCRIPT = r"""
import json, socket, sys
import netguard
assert netguard.installed(), "sitecustomize did not install the guard"
try:                                  # the guard is live in this process ...
    socket.create_connection(("203.0.113.1", 80), timeout=1)
except netguard.NetworkAttemptError:
    pass
else:
    sys.exit("guard not active")
from helpers.models import load_pretrained
for arch in json.loads(sys.argv[1]):  # ... and loading the lessons' backbones tries nothing
    pre = load_pretrained(arch)
    print(arch, "->", pre.arch)
"""


def run_guarded(tmp_path, code: str, *args: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    log = tmp_path / "net.log"
    env = {k: v for k, v in os.environ.items() if k != "COURSE_OFFLINE"}  # downloads allowed
    env.update(PYTHONPATH=str(GUARD_DIR), COURSE_NETGUARD_LOG=str(log),
               COURSE_WEIGHTS_DIR=str(tmp_path / "weights"), TORCH_HOME=str(tmp_path / "torch"))
    proc = subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=240)
    lines = log.read_text().splitlines() if log.exists() else []
    return proc, lines


def test_lessons_backbones_load_without_network_attempt(tmp_path):
    archs = sorted(set(lesson_archs().values()) | {"efficientnet_lite0"})
    proc, attempts = run_guarded(tmp_path, GUARDED_SCRIPT, json.dumps(archs))
    assert len(attempts) >= 1 and "203.0.113.1" in attempts[0]  # the probe: the guard was live
    assert attempts[1:] == [], f"network attempts while loading {archs}: {attempts[1:]}"
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "efficientnet_lite0 -> efficientnet_lite0" in proc.stdout


def test_guard_catches_a_real_download_attempt(tmp_path):
    """Positive control: a torchvision arch with an empty cache and downloads allowed does try
    the network, and the guard stops it before any packet leaves (so the test above means something)."""
    proc, attempts = run_guarded(tmp_path, GUARDED_SCRIPT, json.dumps(["resnet18"]))
    assert proc.returncode != 0 and "NetworkAttemptError" in proc.stderr
    assert any("download.pytorch.org" in line for line in attempts[1:]), attempts
