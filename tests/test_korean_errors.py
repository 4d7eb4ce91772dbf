"""Every error a student reads from ``helpers`` is Korean: a scan of the source, and the errors themselves."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import torch
from torch import nn

from helpers.errors import CourseError

ROOT = Path(__file__).resolve().parent.parent
HANGUL = re.compile(r"[\uac00-\ud7a3]")
# raised for Python itself, never shown as a lesson's error: a module's __getattr__ must raise
# AttributeError in Python's words; PIL's own bomb error is caught and re-raised in Korean
NOT_FOR_STUDENTS = {("__init__.py", "AttributeError"), ("data.py", "Image.DecompressionBombError")}


def english_raises(folder: Path) -> list[str]:
    """``raise X("...")`` whose message text has no Korean, in every module of ``folder``."""
    found = []
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            texts = [n.value for n in ast.walk(node.exc) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
            if texts and not any(HANGUL.search(t) for t in texts) \
                    and (path.name, ast.unparse(node.exc.func)) not in NOT_FOR_STUDENTS:
                found.append(f"{path.name}:{node.lineno}: {ast.unparse(node.exc)[:100]}")
    return found


def test_no_english_only_error_in_helpers():
    assert english_raises(ROOT / "helpers") == []


def test_the_scan_finds_an_english_error(tmp_path):
    (tmp_path / "m.py").write_text('def f():\n    raise ValueError(f"bad {1}")\n'
                                   'def g():\n    raise ValueError("나쁨 (bad)")\n')
    assert [line.split(":")[1] for line in english_raises(tmp_path)] == ["2"]


def _message(call) -> str:
    with pytest.raises(CourseError) as info:
        call()
    return str(info.value)


def test_student_errors_are_course_errors_in_korean():
    from helpers.features import extract_features
    from helpers.history import History
    from helpers.hooks import FeatureMaps
    from helpers.metrics import accuracy_interval, roc_curve
    from helpers.models import replace_head

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.out = nn.Conv2d(3, 4, 3), nn.Linear(4, 2)

    calls = {
        "head": lambda: replace_head(Net(), 3),
        "head name": lambda: replace_head(Net(), 3, head="conv"),
        "empty loader": lambda: extract_features(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)), []),
        "layer name": lambda: FeatureMaps(Net(), names=["layer9"]),
        "interval": lambda: accuracy_interval(3, 0),
        "roc": lambda: roc_curve([1, 1], [0.2, 0.3]),
        "history": lambda: History().best("val_acc"),
    }
    for name, call in calls.items():
        text = _message(call)
        assert HANGUL.search(text) and "해결" in text, (name, text)


def test_unknown_architecture_keeps_its_old_catch():
    from helpers.models import load_pretrained

    with pytest.raises(ValueError, match="해결"):
        load_pretrained("resnet19")
