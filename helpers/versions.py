"""The supported range of versions, read from ``requirements.txt`` (the one place versions are written).

A line ``name==PIN  # ... floor=FLOOR`` means: the course is pinned to PIN (``make setup``, conda,
Binder) and is tested down to FLOOR as well (``make floor``: every unit test and every lesson in
``.venv-floor``). Three installs are made from the same file:

- pinned (``make setup``): the file as it is;
- floor (``make floor``): every ``floor=`` line at its floor version, the rest as pinned;
- Colab (the lessons' first cell): lines marked ``colab-skip`` left out (Colab keeps its own torch
  and Jupyter), every ``floor=`` line as ``name>=FLOOR``, so a package Colab already ships at FLOOR
  or newer is left as it is.

>>> from helpers.versions import supported
>>> supported("torch")              # ('2.6.0', '2.14.1'): the oldest tested and the pinned version

Stdlib only, so it also runs as a script before anything is installed::

    python3 helpers/versions.py floor > .venv-floor/requirements.txt    # make floor
    python3 /content/dl-course/helpers/versions.py colab > /content/requirements-colab.txt
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

REQUIREMENTS = Path(__file__).resolve().parent.parent / "requirements.txt"
"""``requirements.txt`` of the course folder (helpers is installed editable, ``pip install -e .``)."""

_LINE = re.compile(r"\s*([A-Za-z0-9_.\-]+)\s*==\s*([^\s;#]+)\s*(?:#(.*))?$")
_FLOOR = re.compile(r"\bfloor=([^\s,;)]+)")


@dataclass(frozen=True)
class Requirement:
    """One pinned line: the package, its pin, its floor (``None``: tested at the pin only), Colab's mark."""

    name: str
    pin: str
    floor: str | None = None
    colab_skip: bool = False

    @property
    def oldest(self) -> str:
        """The oldest version the course is tested with."""
        return self.floor or self.pin


def read(path: Path | None = None) -> list[Requirement]:
    """Every ``name==version`` line of ``path`` (default ``REQUIREMENTS``; ``[]`` when it is not there)."""
    path = REQUIREMENTS if path is None else path
    if not path.is_file():
        return []
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _LINE.match(line)
        if match:
            name, pin, comment = match.group(1), match.group(2), match.group(3) or ""
            floor = _FLOOR.search(comment)
            found.append(Requirement(name.lower(), pin, floor.group(1) if floor else None,
                                     "colab-skip" in comment))
    return found


def supported(name: str, path: Path | None = None) -> tuple[str, str] | None:
    """``(oldest tested, pinned)`` versions of ``name``, or ``None`` if it is not pinned."""
    for requirement in read(path):
        if requirement.name == name.lower():
            return requirement.oldest, requirement.pin
    return None


def version_key(version: str) -> tuple[int, ...]:
    """``"2.6.0+cu124"`` -> ``(2, 6, 0)``: enough to compare release numbers (no local part)."""
    release = re.match(r"\d+(?:\.\d+)*", version.split("+")[0].strip())
    return tuple(int(part) for part in release.group(0).split(".")) if release else ()


def floor_lines(path: Path | None = None) -> list[str]:
    """The requirements of ``.venv-floor``: floors where a line has one, the pins elsewhere."""
    return [f"{r.name}=={r.oldest}" for r in read(path)]


def colab_lines(path: Path | None = None) -> list[str]:
    """The requirements installed on Colab: no ``colab-skip`` lines; a floor becomes ``>=`` (Colab's kept)."""
    return [f"{r.name}>={r.floor}" if r.floor else f"{r.name}=={r.pin}" for r in read(path) if not r.colab_skip]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in ("floor", "colab"):
        print("사용법: python3 helpers/versions.py floor|colab [requirements.txt]", file=sys.stderr)
        return 2
    path = Path(args[1]) if len(args) > 1 else REQUIREMENTS
    if not path.is_file():
        print(f"{path}: requirements.txt가 없습니다. 과정 폴더의 helpers/versions.py를 실행하세요.", file=sys.stderr)
        return 1
    print("\n".join(floor_lines(path) if args[0] == "floor" else colab_lines(path)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
