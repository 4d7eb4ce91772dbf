"""Optional online datasets: download, verify SHA-256, then extract.

The course runs fully offline on the bundled data; these are extras for a machine
with internet (for example the PyTorch tutorial's ants/bees set):

    course-download hymenoptera_data            # into data/downloads/
    course-download --list

>>> from helpers.download import download_dataset
>>> root = download_dataset("hymenoptera_data")   # -> data/downloads/hymenoptera_data

Verification: the archive's SHA-256 must match the value recorded for it. Values are
kept in ``data/downloads.sha256`` (``<sha256>  <archive name>`` per line, like
``sha256sum``). Where the course could not record a value (it is built on machines
without internet), the first download prints its SHA-256 and stops unless you pass
``trust_first_download=True`` / ``--trust``: then the value is recorded and every later
download, on any machine with that file, is checked against it. Commit that file.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import socket
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from helpers import DATA_DIR

TIMEOUT_S = 10.0
CHECKSUM_FILE = DATA_DIR / "downloads.sha256"


@dataclass(frozen=True)
class RemoteDataset:
    url: str
    folder: str  # top-level folder inside the archive
    description: str


DATASETS = {
    "hymenoptera_data": RemoteDataset(
        url="https://download.pytorch.org/tutorial/hymenoptera_data.zip",
        folder="hymenoptera_data",
        description="ants vs bees, ~400 photos (PyTorch transfer-learning tutorial); "
                    "has train/ and val/ only: make a test/ split before using make_loaders",
    ),
}


class NoNetworkError(ConnectionError):
    """The download server could not be reached (no internet, DNS failure or time-out)."""


class ChecksumError(ValueError):
    """The downloaded file's SHA-256 differs from the recorded value."""


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def recorded_checksums(path: Path = CHECKSUM_FILE) -> dict[str, str]:
    sums = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 2 and not line.startswith("#"):
                sums[parts[1]] = parts[0].lower()
    return sums


def record_checksum(name: str, digest: str, path: Path = CHECKSUM_FILE) -> None:
    sums = recorded_checksums(path)
    sums[name] = digest
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{d}  {n}\n" for n, d in sorted(sums.items())))


def fetch(url: str, dst: Path, timeout: float = TIMEOUT_S) -> Path:
    """Download ``url`` to ``dst`` atomically; ``NoNetworkError`` at once when unreachable."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        response = urllib.request.urlopen(url, timeout=timeout)
    except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError) as exc:
        raise NoNetworkError(
            f"cannot reach {url} ({getattr(exc, 'reason', exc)}). There seems to be no internet "
            "connection. The lessons do not need this download: they use the bundled data in data/. "
            f"To use this dataset, download it on another machine and unpack it under {dst.parent}."
        ) from exc
    fd, tmp = tempfile.mkstemp(dir=dst.parent, suffix=".part")
    try:
        with response, os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(response, out, length=1 << 20)
        os.replace(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return dst


def verify(archive: Path, expected: str | None, trust_first_download: bool = False,
           checksum_file: Path = CHECKSUM_FILE) -> str:
    """Check ``archive`` against ``expected`` (or record it, on trust); return its SHA-256."""
    digest = sha256_file(archive)
    if expected is None:
        if not trust_first_download:
            raise ChecksumError(
                f"{archive}: no SHA-256 is recorded for this file in {checksum_file}, so it was not "
                f"extracted. Its SHA-256 is {digest}. If you trust this download, run again with "
                "--trust (or trust_first_download=True) to record it; later downloads are then checked.")
        record_checksum(archive.name, digest, checksum_file)
    elif digest != expected.lower():
        archive.unlink()
        raise ChecksumError(f"{archive}: SHA-256 {digest} does not match the recorded {expected}; "
                            "the file was deleted. Fix: try again; if it persists the server's file "
                            f"changed: check it and update {checksum_file}.")
    return digest


def extract_zip(archive: Path, dest: Path) -> None:
    """Extract with a path check (no member may escape ``dest``)."""
    dest = dest.resolve()
    with zipfile.ZipFile(archive) as zf:
        for member in zf.namelist():
            if not (dest / member).resolve().is_relative_to(dest):
                raise ValueError(f"{archive}: unsafe path {member!r} in archive; not extracted")
        zf.extractall(dest)


def download_dataset(name: str, dest: str | Path | None = None, trust_first_download: bool = False,
                     timeout: float = TIMEOUT_S, checksum_file: Path = CHECKSUM_FILE) -> Path:
    """Download, verify and extract a dataset from ``DATASETS``; return its folder."""
    if name not in DATASETS:
        raise KeyError(f"unknown dataset {name!r}; available: {sorted(DATASETS)}")
    spec = DATASETS[name]
    dest = Path(dest) if dest else DATA_DIR / "downloads"
    root = dest / spec.folder
    if root.is_dir():
        return root
    archive = dest / Path(spec.url).name
    if not archive.is_file():
        fetch(spec.url, archive, timeout)
    verify(archive, recorded_checksums(checksum_file).get(archive.name), trust_first_download, checksum_file)
    extract_zip(archive, dest)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Download an optional dataset (verified by SHA-256).")
    parser.add_argument("name", nargs="?", help=f"one of {sorted(DATASETS)}")
    parser.add_argument("--dest", type=Path, default=None, help="target folder (default data/downloads)")
    parser.add_argument("--trust", action="store_true", help="record the SHA-256 of a first download")
    parser.add_argument("--list", action="store_true", help="list the datasets")
    args = parser.parse_args(argv)
    if args.list or not args.name:
        for key, spec in DATASETS.items():
            print(f"{key}: {spec.description}\n    {spec.url}")
        return 0
    try:
        print(download_dataset(args.name, args.dest, args.trust))
    except (NoNetworkError, ChecksumError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
