"""The course's command-line conventions, shared by its commands (``course-download``,
``course-fetch-weights``, ``course-doctor``): paths shown as a student types them, the exact command
to run in this environment, Korean usage errors, and no traceback ever.

>>> from helpers.cli import course_command
>>> course_command("course-fetch-weights", "resnet18")
'.venv/bin/course-fetch-weights resnet18'
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import NoReturn

from helpers.errors import DownloadError
from helpers.paths import PROJECT_ROOT


def display_path(path: str | Path) -> str:
    """``path`` relative to the course folder when inside it (what a student types there), else as is."""
    path = Path(path)
    try:
        return str(path.absolute().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def course_command(script: str, *args: str) -> str:
    """The exact command line for one of the course's scripts in the Python environment in use.

    >>> course_command("course-fetch-weights", "resnet18")
    '.venv/bin/course-fetch-weights resnet18'
    """
    folder = Path(sys.executable).parent  # not resolved: a venv's python is a symlink
    exe = folder / (script + (".exe" if os.name == "nt" else ""))
    if exe.exists():
        head = display_path(exe)
    else:  # e.g. helpers used from a checkout without `pip install -e .`
        module = {"course-fetch-weights": "helpers.weights", "course-download": "helpers.download",
                  "course-doctor": "helpers.doctor"}.get(script, script)
        head = f"{display_path(sys.executable)} -m {module}"
    return " ".join([head, *args])


class KoreanArgumentParser(argparse.ArgumentParser):
    """Usage errors as one Korean line and exit code 1 (argparse's default is 2, in English)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(f"오류: 명령줄 인자가 잘못되었습니다({message}). 도움말: {self.prog} --help", file=sys.stderr)
        raise SystemExit(1)


def run_cli(action) -> int:
    """Run ``action()``; any failure becomes one Korean paragraph on stderr and exit code 1."""
    try:
        action()
    except KeyboardInterrupt:
        print("오류: 중단했습니다(Ctrl-C). 받던 파일은 남기지 않았으니 같은 명령으로 다시 시작하세요.",
              file=sys.stderr)
        return 1
    except DownloadError as exc:
        print(f"오류: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # the promise is "never a traceback"; say what happened and what to do
        print(f"오류: 예상하지 못한 문제가 생겼습니다({type(exc).__name__}: {exc}). 같은 명령을 다시 "
              "실행해 보고, 계속 그러면 이 메시지를 강사에게 보여 주세요.", file=sys.stderr)
        return 1
    return 0
