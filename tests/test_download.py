"""Downloads against a loopback HTTP server: verified, atomic, bounded in time, Korean errors.

Every server here listens on 127.0.0.1 only; nothing leaves the machine.
"""
import hashlib
import signal
import threading
import time
import zipfile
from contextlib import contextmanager
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from helpers import cli
from helpers import download as dl


@contextmanager
def serve(handler):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        httpd.server_close()


class Misbehaving(BaseHTTPRequestHandler):
    """Announces 100 kB, sends 1 kB, then: /drop closes the connection, /stall sends nothing more,
    /interrupt sends nothing more and presses Ctrl-C in the client (SIGINT to its main thread)."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self.wfile.write(b"PK" + b"x" * 998)
        self.wfile.flush()
        if self.path.startswith("/stall"):
            time.sleep(4)
        elif self.path.startswith("/interrupt"):
            time.sleep(0.3)
            # to the main thread, so its blocked read is interrupted as by a real Ctrl-C
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
            time.sleep(3)
        self.close_connection = True


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture
def server(tmp_path):
    """A local HTTP server serving a small zip archive and a file that is not a zip."""
    site = tmp_path / "site"
    site.mkdir()
    with zipfile.ZipFile(site / "toy.zip", "w") as zf:
        zf.writestr("toy/train/a/x.txt", "hello")
        zf.writestr("toy/train/b/y.txt", "world")
    (site / "fake.zip").write_bytes(b"<html>not an archive</html>")
    with serve(partial(SimpleHTTPRequestHandler, directory=str(site))) as base:
        yield f"{base}/toy.zip", hashlib.sha256((site / "toy.zip").read_bytes()).hexdigest()


@pytest.fixture
def toy_spec(server, monkeypatch):
    url, digest = server
    monkeypatch.setitem(dl.DATASETS, "toy", dl.RemoteDataset(url=url, folder="toy", description="test"))
    return digest


def test_verified_download_extracts(tmp_path, toy_spec):
    sums = tmp_path / "sums"
    sums.write_text(f"{toy_spec}  toy.zip\n")
    root = dl.download_dataset("toy", tmp_path / "out", checksum_file=sums, progress=False)
    assert (root / "train" / "a" / "x.txt").read_text() == "hello"
    assert not [n for n in leftovers(tmp_path / "out") if n.endswith(".part")]


def test_wrong_checksum_refuses_and_deletes(tmp_path, toy_spec):
    sums = tmp_path / "sums"
    sums.write_text(f"{'0' * 64}  toy.zip\n")
    with pytest.raises(dl.ChecksumError, match="SHA-256"):
        dl.download_dataset("toy", tmp_path / "out", checksum_file=sums, progress=False)
    assert leftovers(tmp_path / "out") == []


def test_unrecorded_checksum_needs_trust(tmp_path, toy_spec):
    sums = tmp_path / "sums"
    with pytest.raises(dl.ChecksumError, match=toy_spec):
        dl.download_dataset("toy", tmp_path / "out", checksum_file=sums, progress=False)
    assert not (tmp_path / "out" / "toy").exists()
    dl.download_dataset("toy", tmp_path / "out", trust_first_download=True, checksum_file=sums, progress=False)
    assert dl.recorded_checksums(sums) == {"toy.zip": toy_spec}


def test_trust_records_nothing_for_a_file_that_is_not_a_zip(tmp_path, server, monkeypatch):
    """A captive-portal page or a cut-off archive must not become the recorded 'truth'."""
    url, _ = server
    monkeypatch.setitem(dl.DATASETS, "fake", dl.RemoteDataset(url.replace("toy.zip", "fake.zip"), "fake", "t"))
    sums = tmp_path / "sums"
    with pytest.raises(dl.ChecksumError, match="zip"):
        dl.download_dataset("fake", tmp_path / "out", trust_first_download=True, checksum_file=sums,
                            progress=False)
    assert dl.recorded_checksums(sums) == {}
    assert not (tmp_path / "out" / "fake.zip").exists()


def test_dropped_connection_leaves_no_file(tmp_path):
    with serve(Misbehaving) as base:
        with pytest.raises(dl.NoNetworkError, match="연결이 끊겼") as info:
            dl.fetch(f"{base}/drop/data.zip", tmp_path / "data.zip", timeout=3, progress=False)
    assert f"{base}/drop/data.zip" in str(info.value)
    assert leftovers(tmp_path) == []  # no data.zip, no .part


def test_stalled_transfer_ends_within_the_timeout(tmp_path):
    """Headers, 1 kB, then silence: the course's error naming the URL after ~timeout, not a hang
    and not a bare TimeoutError."""
    with serve(Misbehaving) as base:
        with pytest.raises(dl.NoNetworkError, match="응답하지 않았습니다") as info:
            dl.fetch(f"{base}/stall/data.zip", tmp_path / "data.zip", timeout=0.5, progress=False)
    assert f"{base}/stall/data.zip" in str(info.value)
    assert leftovers(tmp_path) == []


def test_ctrl_c_during_download_leaves_no_partial_file(tmp_path):
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with serve(Misbehaving) as base:
            with pytest.raises(KeyboardInterrupt):
                dl.fetch(f"{base}/interrupt/data.zip", tmp_path / "data.zip", timeout=10, progress=True)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert leftovers(tmp_path) == []


def test_progress_bar_knows_the_size(tmp_path, server, capsys):
    """The bar is in bytes with the total from Content-Length, so tqdm can show size and time left."""
    url, _ = server
    dl.fetch(url, tmp_path / "toy.zip", progress=True)
    err = capsys.readouterr().err
    size = (tmp_path / "toy.zip").stat().st_size
    assert "toy.zip" in err and f"{size}/{size}" in err.replace(".00", "").replace("B", "")


def test_no_network_is_reported_quickly(tmp_path, monkeypatch):
    # port 9 on loopback: nothing listens, so the connection is refused at once
    monkeypatch.setitem(dl.DATASETS, "gone", dl.RemoteDataset("http://127.0.0.1:9/x.zip", "x", "test"))
    with pytest.raises(dl.NoNetworkError, match="http://127.0.0.1:9/x.zip"):
        dl.download_dataset("gone", tmp_path, timeout=2, checksum_file=tmp_path / "sums", progress=False)
    assert leftovers(tmp_path) == []


def assert_one_korean_paragraph(text: str, *needles: str) -> None:
    """No traceback; one paragraph starting with 오류:, last (progress bars and logs may come before)."""
    assert "Traceback" not in text
    lines = text.strip().splitlines()
    messages = [line for line in lines if line.startswith("오류:")]
    assert len(messages) == 1 and lines[-1] == messages[0], text
    assert sum("\uac00" <= ch <= "\ud7a3" for ch in messages[0]) > 10, text  # Korean prose
    for needle in needles:
        assert needle in messages[0], (needle, text)


@pytest.mark.parametrize("case", ["no_network", "unknown", "not_zip", "bad_option"])
def test_cli_failures_are_one_korean_paragraph_and_exit_1(case, tmp_path, server, monkeypatch, capsys):
    url, _ = server
    monkeypatch.setattr(dl, "default_checksum_file", lambda: tmp_path / "sums")
    monkeypatch.setitem(dl.DATASETS, "gone", dl.RemoteDataset("http://127.0.0.1:9/x.zip", "x", "test"))
    monkeypatch.setitem(dl.DATASETS, "fake", dl.RemoteDataset(url.replace("toy.zip", "fake.zip"), "fake", "t"))
    argv, needles = {
        "no_network": (["gone", "--dest", str(tmp_path / "o")], ["http://127.0.0.1:9/x.zip"]),
        "unknown": (["nope"], ["nope", "hymenoptera_data"]),
        "not_zip": (["fake", "--trust", "--dest", str(tmp_path / "o")], ["fake.zip", "zip"]),
        "bad_option": (["--frobnicate"], ["--frobnicate"]),
    }[case]
    try:
        code = dl.main(argv)
    except SystemExit as exc:
        code = exc.code
    assert code == 1
    assert_one_korean_paragraph(capsys.readouterr().err, *needles)


def test_cli_lists_datasets(capsys):
    assert dl.main(["--list"]) == 0
    assert "hymenoptera_data" in capsys.readouterr().out


def test_course_command_points_into_the_running_environment():
    from pathlib import Path
    import sys

    command = cli.course_command("course-fetch-weights", "resnet18")
    assert command.endswith(" resnet18")
    head = command.split(" ")[0]
    exe = Path(head) if Path(head).is_absolute() else dl.PROJECT_ROOT / head
    assert exe.parent == Path(sys.executable).parent or head == cli.display_path(sys.executable)


def test_ctrl_c_while_unpacking_leaves_no_folder(tmp_path, toy_spec, monkeypatch):
    """An interrupt mid-extraction (simulated after the first member) leaves no dataset folder
    that a later call would return as complete; the next call unpacks it whole."""
    import zipfile as zf_module

    sums = tmp_path / "sums"
    sums.write_text(f"{toy_spec}  toy.zip\n")
    real_extract, real_extractall = zf_module.ZipFile.extract, zf_module.ZipFile.extractall
    calls = []

    def interrupted(self, member, path=None, pwd=None):
        calls.append(member)
        if len(calls) > 1:
            raise KeyboardInterrupt
        return real_extract(self, member, path, pwd)

    monkeypatch.setattr(zf_module.ZipFile, "extract", interrupted)
    monkeypatch.setattr(zf_module.ZipFile, "extractall",
                        lambda self, path=None, members=None, pwd=None: [self.extract(m, path, pwd)
                                                                      for m in (members or self.namelist())])
    with pytest.raises(KeyboardInterrupt):
        dl.download_dataset("toy", tmp_path / "out", checksum_file=sums, progress=False)
    assert len(calls) == 2
    assert not (tmp_path / "out" / "toy").exists()
    assert [n for n in leftovers(tmp_path / "out") if n != "toy.zip"] == []   # no temporary folder left
    monkeypatch.setattr(zf_module.ZipFile, "extract", real_extract)
    monkeypatch.setattr(zf_module.ZipFile, "extractall", real_extractall)
    root = dl.download_dataset("toy", tmp_path / "out", checksum_file=sums, progress=False)
    assert (root / "train" / "a" / "x.txt").read_text() == "hello"
    assert (root / "train" / "b" / "y.txt").read_text() == "world"


def test_a_half_unpacked_folder_from_before_is_unpacked_again(tmp_path, toy_spec, capsys):
    """A folder left incomplete by an older version (unpacked in place, then Ctrl-C) is not returned."""
    sums = tmp_path / "sums"
    sums.write_text(f"{toy_spec}  toy.zip\n")
    root = dl.download_dataset("toy", tmp_path / "out", checksum_file=sums, progress=False)
    (root / "train" / "b" / "y.txt").unlink()
    again = dl.download_dataset("toy", tmp_path / "out", checksum_file=sums, progress=False)
    assert (again / "train" / "b" / "y.txt").read_text() == "world"
    assert "다시 풉니다" in capsys.readouterr().out


def test_downloads_go_to_the_user_cache_when_data_is_read_only(tmp_path, monkeypatch):
    from helpers import paths

    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    monkeypatch.setattr(dl, "default_checksum_file", lambda: blocker / "downloads.sha256")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert dl.default_download_dir() == paths.user_cache_dir() / "downloads"
