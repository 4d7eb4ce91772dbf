"""Downloads: optional online datasets and torchvision weights, verified, never half-written.

The course runs fully offline on the bundled data and the packaged backbone; these are
extras for a machine with internet (for example the PyTorch tutorial's ants/bees set):

    course-download hymenoptera_data            # into data/downloads/
    course-download --list

>>> from helpers.download import download_dataset
>>> root = download_dataset("hymenoptera_data")   # -> data/downloads/hymenoptera_data

What a download guarantees (each one has a test in ``tests/test_download.py``):

- The bytes go to a hidden temporary file next to the target (``.<name>.*.part``) and are
  moved to the final name only when complete and verified, so a dropped connection, a
  stalled server (ended after ``timeout`` seconds without a byte) or Ctrl-C never leaves a
  file under the final name.
- A progress bar (tqdm) shows the size and the time left.
- Every failure is a ``DownloadError`` whose Korean message names the URL or file and
  says what to do; the command-line tools print that paragraph and exit with code 1.

The HTTP part is pooch's ``HTTPDownloader`` (requests underneath: its read time-out ends a
stalled transfer, and a body shorter than Content-Length raises instead of looking
complete, which plain ``urllib`` does not do). The rest stays here rather than in
``pooch.retrieve``: torchvision's weights are checked against a *prefix* of their SHA-256
(pooch wants the full hash), a first dataset download has no hash yet (``--trust``), and
the messages are the course's own.

Verification: the archive's SHA-256 must match the value recorded in
``data/downloads.sha256`` (``<sha256>  <archive name>`` per line, like ``sha256sum``).
Where the course could not record a value (it is built on machines without internet),
the first download prints its SHA-256 and stops unless you pass
``trust_first_download=True`` / ``--trust``: then the file must open as a valid zip
archive, its value is recorded, and every later download is checked against it.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from tqdm.auto import tqdm

from helpers.cli import KoreanArgumentParser, course_command, display_path, run_cli
from helpers.errors import ChecksumError, DownloadError, NoNetworkError
from helpers.paths import PROJECT_ROOT, data_dir, first_writable, user_cache_dir

TIMEOUT_S = 10.0
CHECKSUM_FILE = PROJECT_ROOT / "data" / "downloads.sha256"  # see default_checksum_file()


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





def default_checksum_file() -> Path:
    """``data/downloads.sha256`` (under ``$COURSE_DATA_DIR`` when set)."""
    try:
        return data_dir("downloads.sha256")
    except FileNotFoundError:
        return CHECKSUM_FILE


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def recorded_checksums(path: Path | None = None) -> dict[str, str]:
    path = path or default_checksum_file()
    sums = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 2 and not line.startswith("#"):
                sums[parts[1]] = parts[0].lower()
    return sums


def record_checksum(name: str, digest: str, path: Path | None = None) -> None:
    path = path or default_checksum_file()
    sums = recorded_checksums(path)
    sums[name] = digest
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{d}  {n}\n" for n, d in sorted(sums.items())))


class _ProgressBar:
    """A tqdm bar in bytes (size, speed, time left; a widget under Jupyter), drawn only once the
    server has answered and pooch sets ``total`` from Content-Length, so a refused connection
    prints no empty bar before its message."""

    def __init__(self, name: str):
        self.name, self.bar = name, None

    def __bool__(self) -> bool:  # pooch tests the bar's truth value
        return True

    @property
    def total(self):
        return self.bar.total if self.bar is not None else None

    @total.setter
    def total(self, value) -> None:
        self.bar = tqdm(total=value or None, desc=self.name, unit="B", unit_scale=True,
                        unit_divisor=1024, miniters=1)

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def reset(self) -> None:
        if self.bar is not None:
            self.bar.reset()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _short_cause(exc: BaseException) -> str:
    """The useful end of a requests error ("[Errno 111] Connection refused", "Read timed out")."""
    text = str(exc)
    match = re.search(r"\[Errno -?\d+\][^'\")]*|Read timed out|IncompleteRead\([^)]*\)", text)
    return match.group(0).strip() if match else f"{type(exc).__name__}: {text[:150]}"


def _network_message(url: str, exc: BaseException, timeout: float, dst: Path) -> str:
    import requests

    text = str(exc)
    if isinstance(exc, requests.exceptions.HTTPError):
        status = getattr(exc.response, "status_code", "?")
        what = f"서버가 HTTP {status} 오류를 돌려주었습니다(주소가 바뀌었거나 파일이 없어졌을 수 있습니다)"
    elif isinstance(exc, requests.exceptions.ChunkedEncodingError) or "IncompleteRead" in text:
        what = "전송 도중 연결이 끊겼습니다"
    elif "timed out" in text.lower() or isinstance(exc, requests.exceptions.Timeout):
        what = f"서버가 {timeout:g}초 동안 응답하지 않았습니다"
    else:
        what = "서버에 연결할 수 없습니다(인터넷 연결이 없거나 주소를 찾을 수 없음)"
    return (f"{url} 내려받기 실패: {what}. 받던 내용은 지웠고 {display_path(dst)} 는 만들지 않았습니다. "
            "인터넷 연결을 확인하고 같은 명령을 다시 실행하세요. 강의 자체는 이 파일 없이 "
            "함께 들어 있는 data/ 의 데이터와 패키지에 든 백본으로 돌아갑니다. "
            f"(원인: {_short_cause(exc)})")


def fetch(url: str, dst: str | Path, timeout: float = TIMEOUT_S, sha256: str | None = None,
          sha256_prefix: str | None = None, progress: bool = True) -> Path:
    """Download ``url`` to ``dst``: temporary file, check, then move; ``NoNetworkError`` on failure.

    ``timeout`` bounds the connection and every wait for the next bytes, so a stalled
    server ends the download after ``timeout`` seconds. With ``sha256`` (full) or
    ``sha256_prefix`` (torchvision's file-name convention) a mismatch raises
    ``ChecksumError`` and nothing is kept.

    >>> fetch("https://example.org/a.zip", Path("data/downloads/a.zip"))
    """
    import pooch
    import requests

    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".part")
    os.close(fd)
    bar = _ProgressBar(dst.name) if progress else False
    try:
        downloader = pooch.HTTPDownloader(progressbar=bar, timeout=timeout, chunk_size=1 << 16)
        try:
            downloader(url, tmp, None)
        except requests.exceptions.RequestException as exc:
            raise NoNetworkError(_network_message(url, exc, timeout, dst)) from exc
        if sha256 or sha256_prefix:
            digest = sha256_file(tmp)
            expected = (sha256 or sha256_prefix).lower()
            if not digest.startswith(expected):
                raise ChecksumError(
                    f"{url}: 내려받은 파일의 SHA-256({digest[:16]}…)이 기록된 값({expected[:16]}…)과 "
                    f"다릅니다. 받은 파일은 지웠고 {display_path(dst)} 는 만들지 않았습니다. 잠시 뒤 다시 "
                    "실행하고, 계속 그러면 서버의 파일이 바뀐 것이니 강사에게 알리세요.")
        os.replace(tmp, dst)
    finally:  # also on Ctrl-C (KeyboardInterrupt): no partial file stays behind
        if bar:
            bar.close()
        if os.path.exists(tmp):
            os.remove(tmp)
    return dst


def is_valid_zip(path: Path) -> bool:
    """True when ``path`` opens as a zip archive and every member's CRC checks out."""
    try:
        with zipfile.ZipFile(path) as zf:
            return zf.testzip() is None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return False


def verify(archive: Path, expected: str | None, trust_first_download: bool = False,
           checksum_file: Path | None = None) -> str:
    """Check ``archive`` against ``expected`` (or record it, on trust); return its SHA-256."""
    sums_path = checksum_file or default_checksum_file()
    digest = sha256_file(archive)
    if expected is None:
        if not trust_first_download:
            raise ChecksumError(
                f"{display_path(archive)}: {display_path(sums_path)} 에 이 파일의 SHA-256이 기록되어 있지 않아 "
                f"압축을 풀지 않았습니다. 이 파일의 SHA-256은 {digest} 입니다. 믿을 수 있는 곳에서 받은 "
                "파일이면 --trust 를 붙여 다시 실행하세요(trust_first_download=True). 그러면 값이 기록되고 "
                "다음부터는 그 값으로 검사합니다.")
        if not is_valid_zip(archive):
            archive.unlink()
            raise ChecksumError(
                f"{display_path(archive)}: 올바른 zip 압축 파일이 아니어서(잘렸거나 다른 내용) 체크섬을 "
                "기록하지 않고 파일을 지웠습니다. 같은 명령을 다시 실행해 새로 내려받으세요.")
        record_checksum(archive.name, digest, sums_path)
    elif digest != expected.lower():
        archive.unlink()
        raise ChecksumError(
            f"{display_path(archive)}: SHA-256 {digest} 가 기록된 값 {expected} 와 다릅니다. 파일은 "
            "지웠습니다. 다시 실행해 보고, 계속 그러면 서버의 파일이 바뀐 것이니 내용을 확인한 뒤 "
            f"{display_path(sums_path)} 를 고치세요.")
    return digest


def extract_zip(archive: Path, dest: Path) -> None:
    """Extract with a path check (no member may escape ``dest``)."""
    dest = dest.resolve()
    with zipfile.ZipFile(archive) as zf:
        for member in zf.namelist():
            if not (dest / member).resolve().is_relative_to(dest):
                raise DownloadError(f"{display_path(archive)}: 압축 파일 안의 경로 {member!r} 가 대상 폴더 "
                                    "밖을 가리켜 풀지 않았습니다. 이 파일은 쓰지 마세요.")
        zf.extractall(dest)


def _unpack_dirs(dest: Path, folder: str) -> list[Path]:
    return sorted(dest.glob(f".{folder}.*.unpack"))


def unpack_atomic(archive: Path, dest: Path, folder: str) -> Path:
    """Unpack ``archive`` so that ``dest/folder`` appears complete or not at all.

    Everything is extracted into a hidden temporary folder beside it (``.<folder>.*.unpack``,
    same file system) and moved into place with one ``os.replace``. Ctrl-C, a full disk or a
    damaged archive mid-way leave no ``dest/folder``; the temporary folder is removed then,
    or, if the process was killed (no ``finally`` runs), by the next call.
    """
    dest.mkdir(parents=True, exist_ok=True)
    for stale in _unpack_dirs(dest, folder):  # left behind by a process that was killed mid-unpack
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(dir=dest, prefix=f".{folder}.", suffix=".unpack"))
    try:
        extract_zip(archive, tmp)
        if not (tmp / folder).is_dir():
            raise DownloadError(f"{display_path(archive)}: 압축 파일 안에 {folder}/ 폴더가 없습니다(다른 내용의 "
                                f"파일). 이 파일을 지우고(rm {display_path(archive)}) 다시 내려받으세요.")
        os.replace(tmp / folder, dest / folder)
    finally:  # also on Ctrl-C: nothing half-unpacked stays under a name that looks complete
        shutil.rmtree(tmp, ignore_errors=True)
    return dest / folder


def _complete(root: Path, archive: Path, folder: str) -> bool:
    """``root`` holds every file of ``archive``'s ``folder`` with its size (True when the archive is gone:
    nothing to compare with, and only ``unpack_atomic``, which moves whole folders, wrote there)."""
    if not archive.is_file():
        return True
    try:
        with zipfile.ZipFile(archive) as zf:
            members = [m for m in zf.infolist() if not m.is_dir() and m.filename.startswith(folder + "/")]
    except (zipfile.BadZipFile, OSError):
        return True
    base = root.parent
    for member in members:
        path = base / member.filename
        try:
            if path.stat().st_size != member.file_size:
                return False
        except OSError:
            return False
    return True


def download_dataset(name: str, dest: str | Path | None = None, trust_first_download: bool = False,
                     timeout: float = TIMEOUT_S, checksum_file: Path | None = None,
                     progress: bool = True) -> Path:
    """Download, verify and extract a dataset from ``DATASETS``; return its folder.

    The folder appears only complete (``unpack_atomic``); one left incomplete by an older
    version (an interrupted unpack in place) is found by comparing it with the archive, and
    unpacked again. ``dest`` defaults to ``data/downloads`` when it is writable, else the
    user's cache (``~/.cache/dl-course/downloads``).
    """
    if name not in DATASETS:
        raise DownloadError(f"{name!r} 라는 데이터셋은 없습니다. 있는 것: {', '.join(sorted(DATASETS))} "
                            f"(목록: {course_command('course-download', '--list')})")
    spec = DATASETS[name]
    sums_path = checksum_file or default_checksum_file()
    dest = Path(dest) if dest else default_download_dir()
    root = dest / spec.folder
    archive = dest / Path(spec.url).name
    if root.is_dir():
        if _complete(root, archive, spec.folder):
            return root
        print(f"{display_path(root)} 가 덜 풀려 있어(압축 풀기가 중단된 듯) 지우고 다시 풉니다.")
        shutil.rmtree(root)
    expected = recorded_checksums(sums_path).get(archive.name)
    if not archive.is_file():
        fetch(spec.url, archive, timeout, sha256=expected, progress=progress)
    verify(archive, expected, trust_first_download, sums_path)
    return unpack_atomic(archive, dest, spec.folder)


def default_download_dir() -> Path:
    """Where datasets are downloaded: ``data/downloads`` (under ``$COURSE_DATA_DIR`` when set) if it
    can be written, else ``~/.cache/dl-course/downloads`` (a read-only course folder on a hub)."""
    return first_writable([default_checksum_file().parent / "downloads", user_cache_dir() / "downloads"])


def main(argv: Sequence[str] | None = None) -> int:
    """``course-download NAME [--dest DIR] [--trust]`` / ``course-download --list``."""
    parser = KoreanArgumentParser(prog="course-download",
                                   description="Download an optional dataset (verified by SHA-256).")
    parser.add_argument("name", nargs="?", help=f"one of {sorted(DATASETS)}")
    parser.add_argument("--dest", type=Path, default=None, help="target folder (default data/downloads)")
    parser.add_argument("--trust", action="store_true", help="record the SHA-256 of a first download")
    parser.add_argument("--list", action="store_true", help="list the datasets")
    args = parser.parse_args(argv)
    if args.list or not args.name:
        for key, spec in DATASETS.items():
            print(f"{key}: {spec.description}\n    {spec.url}")
        return 0
    return run_cli(lambda: print(download_dataset(args.name, args.dest, args.trust)))


if __name__ == "__main__":
    raise SystemExit(main())
