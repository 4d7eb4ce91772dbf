"""Every error a student reads from ``helpers`` is Korean: a scan of the source, and the errors themselves."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from torch import nn

from helpers.errors import CourseError

ROOT = Path(__file__).resolve().parent.parent
HANGUL = re.compile(r"[\uac00-\ud7a3]")
# raised for Python itself, never shown as a lesson's error: a module's __getattr__ must raise
# AttributeError in Python's words; PIL's own bomb error is caught and re-raised in Korean
NOT_FOR_STUDENTS = {("__init__.py", "AttributeError"), ("images.py", "Image.DecompressionBombError")}


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


import builtins  # noqa: E402

BUILTIN_ERRORS = {name for name, obj in vars(builtins).items() if isinstance(obj, type) and issubclass(obj, BaseException)}


def builtin_raises(folder: Path) -> list[str]:
    """``raise ValueError("...")`` and kin with a Korean message: a student reads it, so it must be a CourseError."""
    found = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and isinstance(node.exc.func, ast.Name) \
                    and node.exc.func.id in BUILTIN_ERRORS \
                    and any(HANGUL.search(n.value) for n in ast.walk(node.exc)
                            if isinstance(n, ast.Constant) and isinstance(n.value, str)):
                found.append(f"{path.relative_to(folder)}:{node.lineno}: {ast.unparse(node.exc)[:80]}")
    return found


def test_every_korean_error_is_a_course_error():
    """A student-facing raise that is not a CourseError cannot be caught with ``except CourseError``."""
    assert builtin_raises(ROOT / "helpers") == []


def test_the_builtin_scan_finds_a_builtin_korean_raise(tmp_path):
    (tmp_path / "m.py").write_text('def f():\n    raise ValueError("나쁨")\ndef g():\n    raise CourseValueError("나쁨")\n')
    assert [line.split(":")[1] for line in builtin_raises(tmp_path)] == ["2"]


def test_every_error_class_lives_in_helpers_errors_and_is_a_course_error():
    """One error family in one module: no other helpers module defines an exception class."""
    import helpers.errors as errors

    defined_elsewhere = []
    for path in sorted((ROOT / "helpers").rglob("*.py")):
        if path.name == "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(ast.unparse(b).endswith(("Error", "Exception", "Failed"))
                                                      for b in node.bases) and not node.name.startswith("_"):
                defined_elsewhere.append(f"{path.relative_to(ROOT)}: {node.name}")
    assert defined_elsewhere == [] or defined_elsewhere == ["helpers/exercises/__init__.py: Wrong"], defined_elsewhere
    classes = [obj for obj in vars(errors).values() if isinstance(obj, type) and issubclass(obj, BaseException)]
    assert len(classes) >= 15 and all(issubclass(c, CourseError) for c in classes), classes


def test_errors_raised_through_the_public_api_are_caught_as_course_errors(tmp_path):
    """Each family member, raised by the function a student calls, caught by ``except CourseError``."""
    from helpers.checkpoint import load_checkpoint
    from helpers.data import make_loaders, require_preprocess
    from helpers.images import load_image
    from helpers.device import as_device
    from helpers.download import verify
    from helpers.exercises import check
    from helpers.graphs import grid_graph
    from helpers.models import load_pretrained
    from helpers.paths import data_dir

    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a jpeg")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"junk")
    archive = tmp_path / "a.zip"
    archive.write_bytes(b"PK")
    calls = {
        "DataLayoutError": lambda: make_loaders(tmp_path / "missing"),
        "BadImageError": lambda: load_image(bad),
        "CourseTypeError": lambda: require_preprocess((0.5,), "denormalize"),
        "CourseFileNotFoundError": lambda: load_checkpoint(tmp_path / "none.pth"),
        "CheckpointError": lambda: load_checkpoint(junk),
        "DeviceError": lambda: as_device("gpu7"),
        "UnknownArchError": lambda: load_pretrained("resnet19"),
        "ChecksumError": lambda: verify(archive, "0" * 64),
        "UnknownExercise": lambda: check("98.1", 1),
        "CourseValueError": lambda: grid_graph(3, 3, neighbourhood=5),
    }
    for name, call in calls.items():
        with pytest.raises(CourseError) as info:
            call()
        assert type(info.value).__name__ == name, (name, type(info.value).__name__, str(info.value)[:200])
    import os
    os.environ["COURSE_DATA_DIR"] = str(tmp_path / "nowhere")
    try:
        with pytest.raises(CourseError):
            data_dir()
    finally:
        del os.environ["COURSE_DATA_DIR"]
