"""Every character of the lessons has a glyph in the fonts the README tells a student to install.

Debian has no emoji font by default: a character none of the README's fonts cover (``fonts-nanum``,
``fonts-dejavu-core``) shows in JupyterLab as an empty box. The fonts' coverage is read from the
font files those packages install (fontTools, which matplotlib brings); every character of every
cell (markdown, code, the strings it prints) is checked against it. The README's apt line is the
same list as ``.ci/run``'s, so what CI installs is what a student is told to install.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import unicodedata
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def readme_apt_packages() -> list[str]:
    """The Debian packages of the README's install line (`sudo apt-get install ...`)."""
    line = re.search(r"sudo apt-get install ([\w .+-]+)", (ROOT / "README.md").read_text(encoding="utf-8"))
    return line.group(1).split()


def test_readme_apt_line_is_what_ci_installs():
    ci = re.search(r"^packages=\(([^)]*)\)", (ROOT / ".ci" / "run").read_text(encoding="utf-8"), re.M)
    assert readme_apt_packages() == ci.group(1).split()


@cache
def font_files() -> dict[str, frozenset[int]]:
    """Font file -> the code points it covers, for every font package of the README's apt line."""
    from fontTools.ttLib import TTCollection, TTFont

    packages = [p for p in readme_apt_packages() if p.startswith("fonts-")]
    listed = subprocess.run(["dpkg", "-L", *packages], capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip(f"the README's fonts are not installed ({listed.stderr.strip()})")
    coverage = {}
    for path in listed.stdout.split():
        if path.endswith((".ttf", ".otf")):
            coverage[path] = frozenset(TTFont(path, lazy=True).getBestCmap())
        elif path.endswith(".ttc"):
            coverage[path] = frozenset().union(*(f.getBestCmap() for f in TTCollection(path).fonts))
    assert coverage, f"no font files in {packages}"
    return coverage


pytestmark = pytest.mark.skipif(shutil.which("dpkg") is None, reason="needs Debian's dpkg to find the fonts")


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name[:2])
def test_every_character_of_the_lesson_has_a_glyph(path):
    covered = frozenset().union(*font_files().values())
    text = "".join("".join(c["source"]) for c in json.loads(path.read_text(encoding="utf-8"))["cells"])
    missing = sorted({ch for ch in text if ord(ch) >= 32 and ord(ch) not in covered})
    assert not missing, f"{path.name}: no installed font (README's apt line) draws " + ", ".join(
        f"{ch!r} (U+{ord(ch):04X} {unicodedata.name(ch, '?')}, {text.count(ch)}x)" for ch in missing)


@pytest.mark.skipif(shutil.which("fc-match") is None, reason="needs fontconfig's fc-match")
def test_jupyterlab_default_fonts_on_debian_are_the_course_fonts():
    """JupyterLab 4's font stacks end in the generic families (its UI and text: system-ui, ... sans-serif;
    code: ... 'DejaVu Sans Mono', monospace); none of the named families before them exist on Debian,
    so Chromium asks fontconfig, per family and for any character the chosen font lacks. For Korean and
    the symbols the lessons use, fontconfig must pick a font of the README's packages that has it."""
    fonts = font_files()
    for family in ("system-ui", "sans-serif", "monospace"):
        for ch in "가✔⚠":
            picked = subprocess.run(["fc-match", "-f", "%{file}", f"{family}:charset={ord(ch):x}"],
                                    capture_output=True, text=True).stdout
            assert picked in fonts and ord(ch) in fonts[picked], f"{family} {ch!r}: fontconfig picks {picked}"
