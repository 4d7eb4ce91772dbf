"""Lesson 02's self-check can fail: break the lesson's claim on purpose and watch it fail.

The lesson claims that augmentation is applied to the training split only, so validation
measures the same numbers every time. This test runs the lesson with one line added to
the cell that builds the loaders — the validation split gets the random training
transform — and asserts that every cell before the self-check still runs and that the
self-check cell then stops with an ``AssertionError`` about augmented validation.

Cells are found by marker strings, not by position, so editing the lesson does not
silently point the mutation at another cell. Runs the lesson once (about a minute on a
2-core CPU) with checkpoints written to a temporary folder.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parent.parent
LESSON = ROOT / "notebooks" / "02_transfer_learning.ipynb"
LOADERS_MARKER = "loaders, class_names = make_loaders(DATA_DIR, preprocess"
SELF_CHECK_MARKER = "자기 점검 통과"
MUTATION = '\nloaders["val"].dataset.transform = preprocess.train_transform()  # MUTATION: augment validation\n'


def _index(cells, marker: str) -> int:
    found = [i for i, c in enumerate(cells) if c.cell_type == "code" and marker in c.source]
    assert len(found) == 1, f"marker {marker!r} should be in exactly one code cell of {LESSON.name}, found {found}"
    return found[0]


def test_markers_are_in_the_lesson():
    nb = nbformat.reads(LESSON.read_text(encoding="utf-8"), as_version=4)
    loaders_cell, self_check = _index(nb.cells, LOADERS_MARKER), _index(nb.cells, SELF_CHECK_MARKER)
    assert loaders_cell < self_check
    assert 'set(_names(loaders["val"].dataset)' in nb.cells[self_check].source, "self-check tests the val transform"


def test_augmented_validation_fails_the_self_check(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path))   # checkpoints of this run go to a temporary folder
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.reads(LESSON.read_text(encoding="utf-8"), as_version=4)
    loaders_cell, self_check = _index(nb.cells, LOADERS_MARKER), _index(nb.cells, SELF_CHECK_MARKER)
    nb.cells[loaders_cell].source += MUTATION
    client = nbclient.NotebookClient(nb, kernel_name="dl-course", timeout=600,
                                     resources={"metadata": {"path": str(ROOT / "notebooks")}})
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells[:self_check]):
            if cell.cell_type == "code":
                client.execute_cell(cell, index)        # raises CellExecutionError if an earlier cell fails
        with pytest.raises(nbclient.exceptions.CellExecutionError) as failure:
            client.execute_cell(nb.cells[self_check], self_check)
    assert failure.value.ename == "AssertionError", failure.value.ename
    assert "must not be augmented" in str(failure.value), str(failure.value)[-2000:]
