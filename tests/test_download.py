import hashlib
import threading
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from helpers import download as dl


@pytest.fixture
def server(tmp_path):
    """A local HTTP server (loopback only) serving a small zip archive."""
    site = tmp_path / "site"
    site.mkdir()
    with zipfile.ZipFile(site / "toy.zip", "w") as zf:
        zf.writestr("toy/train/a/x.txt", "hello")
    handler = partial(SimpleHTTPRequestHandler, directory=str(site))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/toy.zip", hashlib.sha256((site / "toy.zip").read_bytes()).hexdigest()
    httpd.shutdown()


@pytest.fixture
def toy_spec(server, monkeypatch):
    url, digest = server
    monkeypatch.setitem(dl.DATASETS, "toy", dl.RemoteDataset(url=url, folder="toy", description="test"))
    return digest


def test_verified_download_extracts(tmp_path, toy_spec):
    sums = tmp_path / "sums"
    sums.write_text(f"{toy_spec}  toy.zip\n")
    root = dl.download_dataset("toy", tmp_path / "out", checksum_file=sums)
    assert (root / "train" / "a" / "x.txt").read_text() == "hello"


def test_wrong_checksum_refuses_and_deletes(tmp_path, toy_spec):
    sums = tmp_path / "sums"
    sums.write_text(f"{'0' * 64}  toy.zip\n")
    with pytest.raises(dl.ChecksumError, match="does not match"):
        dl.download_dataset("toy", tmp_path / "out", checksum_file=sums)
    assert not (tmp_path / "out" / "toy").exists() and not (tmp_path / "out" / "toy.zip").exists()


def test_unrecorded_checksum_needs_trust(tmp_path, toy_spec):
    sums = tmp_path / "sums"
    with pytest.raises(dl.ChecksumError, match=toy_spec):
        dl.download_dataset("toy", tmp_path / "out", checksum_file=sums)
    assert not (tmp_path / "out" / "toy").exists()
    dl.download_dataset("toy", tmp_path / "out", trust_first_download=True, checksum_file=sums)
    assert dl.recorded_checksums(sums) == {"toy.zip": toy_spec}


def test_no_network_is_reported_quickly(tmp_path, monkeypatch):
    # port 9 on loopback: nothing listens, so the connection is refused at once
    monkeypatch.setitem(dl.DATASETS, "gone", dl.RemoteDataset("http://127.0.0.1:9/x.zip", "x", "test"))
    with pytest.raises(dl.NoNetworkError, match="bundled data"):
        dl.download_dataset("gone", tmp_path, timeout=2)


def test_cli_lists_datasets(capsys):
    assert dl.main(["--list"]) == 0
    assert "hymenoptera_data" in capsys.readouterr().out
