"""The lessons as tests see them: their code, whether they train, and running them in the course
kernel (whole, as ``tests/test_fakegpu.py`` does, or up to the self-check, for the tests that
break a lesson's claim on purpose).

>>> nb = up_to_self_check(LESSON)                       # cells up to and including the self-check
>>> nb.cells[code_cell(nb.cells, "make_loaders(")].source += "\n# a mutation"
>>> message = self_check_error(nb, tmp_path, monkeypatch)   # None if the self-check passed

Cells are found by marker strings, not by position, so editing a lesson never silently points
a mutation at another cell. Every cell before the self-check must run; the self-check may only
fail with an AssertionError, whose message is returned.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbclient
import nbformat

ROOT = Path(__file__).resolve().parent.parent
SELF_CHECK = "자기 점검 통과"
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
TRAINS = re.compile(r"\bfit\(|\.backward\(|torch\.optim\.")  # a lesson that trains a network


def lesson_code(path: Path) -> str:
    """All code cells of a lesson, as git stores them."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def execute(nb, output_dir: Path, monkeypatch) -> list[tuple[int, dict]]:
    """Run ``nb`` in the course kernel (errors kept as outputs), writing under ``output_dir``;
    the kernel inherits this process's environment. Returns ``(cell index, error output)``."""
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(output_dir))  # this run's checkpoints and logs
    monkeypatch.setenv("MPLBACKEND", "Agg")
    client = nbclient.NotebookClient(nb, kernel_name="dl-course", timeout=900, allow_errors=True,
                                     resources={"metadata": {"path": str(ROOT / "notebooks")}})
    client.execute()
    return [(i, o) for i, c in enumerate(nb.cells) if c.cell_type == "code"
            for o in c.get("outputs", []) if o.get("output_type") == "error"]


def code_cell(cells, marker: str) -> int:
    """Index of the one code cell containing ``marker``."""
    found = [i for i, c in enumerate(cells) if c.cell_type == "code" and marker in c.source]
    assert len(found) == 1, f"marker {marker!r} should be in exactly one code cell, found {found}"
    return found[0]


def up_to_self_check(path: Path):
    """The lesson's notebook, cut after its self-check cell."""
    nb = nbformat.read(path, as_version=4)
    nb.cells = nb.cells[:code_cell(nb.cells, SELF_CHECK) + 1]
    return nb


def self_check_error(nb, output_dir: Path, monkeypatch) -> str | None:
    """Execute ``nb`` in the course kernel, writing under ``output_dir``; the self-check's
    AssertionError message, or None if it passed."""
    errors = execute(nb, output_dir, monkeypatch)
    assert all(i == len(nb.cells) - 1 for i, _ in errors), \
        "a cell before the self-check failed: " + json.dumps([(i, o["ename"], o["evalue"][:300]) for i, o in errors])
    if not errors:
        return None
    _, out = errors[0]
    assert out["ename"] == "AssertionError", f"self-check raised {out['ename']}: {out['evalue'][:300]}"
    return out["evalue"]
