"""Every lesson notebook has the shape the course promises (nbval then runs each one)."""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _src(cell):
    return "".join(cell["source"])


def test_there_are_lessons_and_readme_lists_them():
    assert len(NOTEBOOKS) >= 6
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        assert path.name in readme, f"README does not list {path.name}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_lesson_structure(path):
    cells = _cells(path)
    code = [c for c in cells if c["cell_type"] == "code"]
    markdown = "\n".join(_src(c) for c in cells if c["cell_type"] == "markdown")
    assert not any(c.get("outputs") or c.get("execution_count") for c in code), "outputs must not be committed"
    assert _src(cells[0]).startswith(f"# {path.name[:2]}."), "first cell is the '# NN. title' heading"
    for heading in ("학습 목표", "자기 점검", "연습 문제", "정리"):
        assert heading in markdown, f"missing section {heading}"
    self_check = [c for c in code if "자기 점검 통과" in _src(c)]
    assert len(self_check) == 1 and _src(self_check[0]).count("assert ") >= 5
    solutions = [c for c in code if "solution" in c.get("metadata", {}).get("tags", [])]
    assert 1 <= len(solutions) <= 3, "one to three exercises, each with a solution cell"
    assert all("assert" in _src(c) for c in solutions), "each solution checks its answer"
    text = "\n".join(_src(c) for c in cells)
    assert not re.search(r"pretrained\s*=\s*True|\.next\(\)|(?<![\w.])/(tmp|work|root)/", text)
    for match in re.finditer(r"torch\.load\(([^)]*)\)", text):
        assert "weights_only=True" in match.group(1), match.group(0)
