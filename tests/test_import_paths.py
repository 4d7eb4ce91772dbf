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


# --- the core a student reads in one sitting ---------------------------------------------------

CORE = ("data", "models", "train", "plots")  # the path every lesson takes (helpers/__init__.py)
CORE_LIMIT = 600  # lines of code, docstrings, comments and blank lines not counted: under an hour's reading


def code_lines(path: Path) -> int:
    """Lines of ``path`` that hold code: no blank line, comment or docstring (any string statement)."""
    source = path.read_text(encoding="utf-8")
    prose = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            prose.update(range(node.lineno, node.end_lineno + 1))
    return sum(1 for number, line in enumerate(source.splitlines(), 1)
               if line.strip() and not line.strip().startswith("#") and number not in prose)


def helpers_imported(path: Path) -> set[str]:
    """The ``helpers`` modules ``path`` imports, anywhere in the file (``"data"`` for ``helpers.data``)."""
    return {name if module == "helpers" else module.split(".")[1]
            for module, name in helper_imports(path.read_text(encoding="utf-8"))}


def test_the_core_reads_in_one_sitting():
    counts = {name: code_lines(ROOT / "helpers" / f"{name}.py") for name in CORE}
    assert sum(counts.values()) <= CORE_LIMIT, f"the core has {sum(counts.values())} lines of code: {counts}"


def test_what_stands_behind_the_core_never_imports_it():
    """Robustness (images, weights, run state, checkpoints, downloads, devices, ...) lives behind the
    core: the core imports those modules, never the other way round, so the core reads on its own."""
    behind = {path.stem for path in (ROOT / "helpers").glob("*.py")} - set(CORE) - {
        "__init__", "features", "hooks", "graphs", "metrics", "selfcheck", "doctor"}  # lessons' tools stand above
    assert {"images", "weights", "run", "checkpoint", "callbacks", "download", "device"} <= behind
    reaching = {name: helpers_imported(ROOT / "helpers" / f"{name}.py") & set(CORE) for name in sorted(behind)}
    assert not {name: core for name, core in reaching.items() if core}, reaching


def test_the_core_checks_can_fail(tmp_path):
    (tmp_path / "m.py").write_text('"""doc"""\nimport os\n\n# note\nfrom helpers.train import fit\nx = 1\n')
    assert code_lines(tmp_path / "m.py") == 3
    assert helpers_imported(tmp_path / "m.py") == {"train"}
