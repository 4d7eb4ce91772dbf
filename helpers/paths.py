"""Where the course's files live: bundled data, what lessons write, fetched weights.

Every path a lesson or helper uses comes from here, so nothing depends on the folder a
notebook was started from, and one environment variable moves each kind of file:

- ``COURSE_DATA_DIR``    the bundled datasets (default: ``<course folder>/data``)
- ``COURSE_OUTPUT_DIR``  everything lessons write: checkpoints, logs, feature caches
  (default: ``<course folder>/outputs``; if it cannot be written, ``~/.cache/dl-course``).
  Nothing the course writes goes anywhere else.

The *course folder* is the copy of the course the lesson runs in (``course_folder``): the
student's own clone when the kernel runs inside one, as on a hub where every student pulled the
course into their home and helpers is installed once for all; else the folder helpers is installed
from. So two students never write into one folder.
- ``COURSE_WEIGHTS_DIR`` torchvision weights fetched for lab machines (default ``<course folder>/weights``;
  downloads go to ``~/.cache/dl-course/weights`` when it cannot be written, and are found there)

>>> from helpers.paths import data_dir, output_dir
>>> data_dir("animals")              # .../data/animals
>>> output_dir("checkpoints")        # created if missing
"""
from __future__ import annotations

import os
from pathlib import Path

from helpers.errors import CourseFileNotFoundError, CoursePermissionError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""The course folder when helpers is used from a checkout (``pip install -e .``)."""


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


def _looks_like_course_data(folder: Path) -> bool:
    return folder.is_dir() and ((folder / "samples").is_dir() or (folder / "animals").is_dir())


def course_folder() -> Path:
    """The copy of the course a lesson runs in: the working folder, or its parent when the working
    folder is its ``notebooks/``, if it holds the course's ``notebooks/`` and ``data/`` (a clone, as
    ``git clone`` and nbgitpuller make it); else the folder helpers is installed from."""
    try:
        cwd = Path.cwd()
    except OSError:  # the working folder was deleted
        return PROJECT_ROOT
    for folder in (cwd, cwd.parent):
        if (folder / "notebooks").is_dir() and _looks_like_course_data(folder / "data"):
            return folder
    return PROJECT_ROOT


def _find_data_root() -> Path:
    """``$COURSE_DATA_DIR``; else ``<course folder>/data``; else a ``data`` folder beside the notebook.

    The last one finds the data when helpers is installed as a regular (non-editable)
    package and a lesson is opened from a folder that holds only ``data/`` and the notebook.
    """
    root = _env_path("COURSE_DATA_DIR")
    if root is not None:
        if not root.is_dir():
            raise CourseFileNotFoundError(
                f"{root}: 환경 변수 COURSE_DATA_DIR가 가리키는 강의 데이터 폴더가 없습니다.\n"
                "해결: 저장소의 data 폴더 경로로 고치세요, 예: export COURSE_DATA_DIR=/path/to/course/data "
                "(또는 unset COURSE_DATA_DIR 로 지우고 저장소 폴더 안에서 실행하세요).")
        return root
    if (course_folder() / "data").is_dir():
        return course_folder() / "data"
    cwd = Path.cwd()
    candidates = [PROJECT_ROOT / "data", cwd / "data", cwd.parent / "data"]
    for folder in candidates[1:]:
        if _looks_like_course_data(folder):
            return folder
    raise CourseFileNotFoundError(
        f"{PROJECT_ROOT / 'data'}: 강의 데이터 폴더를 찾을 수 없습니다 (찾아본 곳: "
        f"{', '.join(str(c) for c in dict.fromkeys(candidates))}).\n"
        "해결: 저장소 폴더 안에서 `make lab` 으로 설치했는지 확인하거나, 데이터 폴더 위치를 "
        "환경 변수 COURSE_DATA_DIR로 알려 주세요: export COURSE_DATA_DIR=/path/to/course/data")


def data_dir(*parts: str) -> Path:
    """The course data folder, joined with ``parts``: ``$COURSE_DATA_DIR`` or ``<course folder>/data``.

    >>> data_dir("samples", "chelsea.jpg")
    """
    return _find_data_root().joinpath(*parts)


def _writable(folder: Path) -> bool:
    """``folder`` is a folder this user can write in, or can be created: its nearest existing
    ancestor is a writable folder (not a file: a path under a file raises NotADirectoryError)."""
    probe = Path(folder).absolute()
    try:
        while not probe.exists():
            if probe.parent == probe:
                return False
            probe = probe.parent
        return probe.is_dir() and os.access(probe, os.W_OK | os.X_OK)
    except OSError:
        return False


def first_writable(candidates) -> Path:
    """The first of ``candidates`` that ``_writable`` accepts (else the last one: its error then
    names a folder in the user's own cache)."""
    candidates = list(candidates)
    for folder in candidates:
        if _writable(folder):
            return folder
    return candidates[-1]


def output_dir(*parts: str, create: bool = True) -> Path:
    """Where lessons write (``$COURSE_OUTPUT_DIR``, else ``<course folder>/outputs``), joined with ``parts``.

    Falls back to ``~/.cache/dl-course`` when the course folder is read-only (a hub image).
    """
    root = _env_path("COURSE_OUTPUT_DIR")
    if root is None:
        root = course_folder() / "outputs"
        if not _writable(root):
            root = user_cache_dir()
    path = root.joinpath(*parts)
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CoursePermissionError(
                f"{path}: 출력 폴더를 만들 수 없습니다 ({exc.strerror or exc}).\n"
                "해결: 쓸 수 있는 폴더를 환경 변수 COURSE_OUTPUT_DIR로 알려 주세요, "
                "예: export COURSE_OUTPUT_DIR=~/dl-course-outputs") from exc
    return path


def user_cache_dir() -> Path:
    """The user's cache folder for the course: ``$XDG_CACHE_HOME/dl-course`` or ``~/.cache/dl-course``."""
    return (_env_path("XDG_CACHE_HOME") or Path.home() / ".cache") / "dl-course"


def weights_dir() -> Path:
    """The course weight cache (``$COURSE_WEIGHTS_DIR`` or ``<course folder>/weights``): where an
    instructor puts weight files for a lab, and where downloads go when it is writable."""
    return _env_path("COURSE_WEIGHTS_DIR") or PROJECT_ROOT / "weights"


def weights_dirs() -> list[Path]:
    """Where weight files are looked for, in order: the course weight cache, then the user's
    (``~/.cache/dl-course/weights``, where downloads go when the course folder is read-only)."""
    return list(dict.fromkeys([weights_dir(), user_cache_dir() / "weights"]))


def weights_download_dir() -> Path:
    """Where a weight download goes: the course weight cache if this user can write there, else
    ``~/.cache/dl-course/weights``."""
    return first_writable(weights_dirs())
