"""helpers.selfcheck: a failed claim reads as one Korean message with its line, no traceback; margins logged."""
from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import textwrap

import nbformat
import pytest

from helpers.errors import CourseError, SelfCheckFailed
from helpers.selfcheck import SELF_CHECK_PASSED, claim, self_check
from lesson_runs import LESSONS

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def test_a_failed_assert_becomes_one_korean_message():
    with pytest.raises(SelfCheckFailed) as info:
        with self_check():
            assert 1 + 1 == 2, "never shown"
            assert 2 + 2 == 5, "2 + 2는 5여야 하는데 4입니다"
    message = str(info.value)
    assert message.startswith("자기 점검 실패: 2 + 2는 5여야 하는데 4입니다") and "해볼 것" in message
    assert "assert 2 + 2 == 5" in message  # the line that failed
    assert isinstance(info.value, (CourseError, AssertionError)) and info.value.__cause__ is None
    assert info.value._render_traceback_() == message.splitlines()


def test_claim_prints_and_logs_its_margin(tmp_path, monkeypatch, capsys):
    log = tmp_path / "claims.jsonl"
    monkeypatch.setenv("COURSE_CLAIMS_LOG", str(log))
    assert claim("더 맞힌 사진", 5, 2, unit="장") == 3
    assert claim("검증 손실", 0.25, 0.5, higher=False) == 0.25
    assert "여유 3장" in capsys.readouterr().out
    with pytest.raises(SelfCheckFailed, match="모자란 만큼 1장"):
        with self_check():
            claim("더 맞힌 사진", 1, 2, unit="장")
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert [r["margin"] for r in records] == [3, 0.25, -1] and [r["passed"] for r in records] == [True, True, False]


def test_jupyter_shows_the_korean_message_without_a_traceback(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent('''
        from IPython.core.interactiveshell import InteractiveShell
        shell = InteractiveShell.instance(colors="nocolor")
        result = shell.run_cell("from helpers.selfcheck import self_check\\nwith self_check():\\n    assert False, '기대 1, 측정 2'")
        print("SUCCESS:", result.success)
    '''), encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, encoding="utf-8", timeout=120)
    out = done.stdout + done.stderr
    assert "자기 점검 실패: 기대 1, 측정 2" in out and "SUCCESS: False" in out
    assert "Traceback" not in out, out


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name[:2])
def test_every_self_check_speaks_korean(path):
    """Every assert of every lesson's self-check runs inside ``self_check()`` and says, in Korean, what was expected."""
    nb = nbformat.read(path, as_version=4)
    cells = [c.source for c in nb.cells if c.cell_type == "code" and SELF_CHECK_PASSED in c.source]
    assert len(cells) == 1, f"{path.name}: one self-check cell"
    tree = ast.parse(cells[0])
    withs = [n for n in tree.body if isinstance(n, ast.With)
             and any(getattr(getattr(i.context_expr, "func", None), "id", None) == "self_check" for i in n.items)]
    assert withs, f"{path.name}: the self-check's asserts should run inside `with self_check():`"
    inside = {id(n) for w in withs for n in ast.walk(w)}
    english = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            text = "".join(c.value for c in ast.walk(node.msg) if isinstance(c, ast.Constant) and isinstance(c.value, str)) \
                if node.msg is not None else ""
            if id(node) not in inside or not HANGUL.search(text):
                english.append(f"line {node.lineno}: {ast.unparse(node)[:100]}")
    assert not english, f"{path.name}: self-check asserts without a Korean message (or outside self_check()): {english}"
