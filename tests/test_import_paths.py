"""One import path per public name: each name is imported from the module that defines it.

The rule the README states: ``from helpers.<module> import <name>`` where ``helpers/<module>.py``
defines ``<name>``. No module re-exports another's names, so a name has one place to look up.
"""
from __future__ import annotations

import ast
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = {"main"}  # each command-line module has its own ``main``


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def defined_in(path: Path) -> set[str]:
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {n for n in names if not n.startswith("_")}


def homes() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / "helpers").rglob("*.py")):
        for name in defined_in(path):
            found.setdefault(name, []).append(_module(path))
    return found


def helper_imports(source: str) -> list[tuple[str, str]]:
    """``(module, name)`` of every ``from helpers... import name`` in ``source``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [(node.module, alias.name) for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("helpers")
            for alias in node.names]


def test_no_public_name_is_defined_in_two_modules():
    twice = {name: mods for name, mods in homes().items() if len(mods) > 1 and name not in CLI}
    assert not twice, f"names defined in two helpers modules: {twice}"


def test_no_module_lists_another_modules_name_in_its_all():
    where = homes()
    wrong = []
    for path in sorted((ROOT / "helpers").rglob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in node.targets):
                wrong += [f"{_module(path)}: {n}" for n in ast.literal_eval(node.value)
                          if _module(path) not in where.get(n, [])]
    assert not wrong, f"__all__ re-exports names defined elsewhere: {wrong}"


def test_lessons_tests_and_helpers_import_each_name_from_where_it_is_defined():
    where = homes()
    sources = {p: p.read_text(encoding="utf-8") for folder in ("helpers", "tests", "scripts", "classroom", "benchmarks")
               for p in sorted((ROOT / folder).rglob("*.py"))}
    for lesson in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(lesson.read_text(encoding="utf-8"))["cells"]
        sources[lesson] = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    wrong = [f"{path.relative_to(ROOT)}: from {module} import {name} (defined in {where[name]})"
             for path, source in sources.items() for module, name in helper_imports(source)
             if name in where and module not in where[name] and name != "*"]
    assert not wrong, "import each name from the module that defines it:\n" + "\n".join(wrong)


def test_the_rule_catches_a_second_path(tmp_path):
    assert helper_imports("from helpers.train import get_device\n") == [("helpers.train", "get_device")]
    assert "helpers.device" in homes()["get_device"] and "helpers.train" not in homes()["get_device"]


def test_the_reading_map_names_what_exists():
    """``helpers/__init__.py``'s "Read this first" names real functions, in modules that define them."""
    import importlib
    import re

    import helpers

    names = re.findall(r"``(helpers\.\w+)\.(\w+)``", helpers.__doc__)
    assert len(names) >= 10, names
    for module, name in names:
        value = getattr(importlib.import_module(module), name)
        assert value.__module__ == module, f"{module}.{name} is defined in {value.__module__}"
