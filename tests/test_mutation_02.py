"""Lesson 02's self-check can fail: break the lesson's claim on purpose and watch it fail.

The lesson claims that augmentation is applied to the training split only, so validation
measures the same numbers every time. This test runs the lesson with one line added to
the cell that builds the loaders — the validation split gets the random training
transform — and asserts that every cell before the self-check still runs and that the
self-check cell then stops with an ``AssertionError`` about augmented validation.

Runs the lesson once (about a minute on a 2-core CPU) with checkpoints written to a
temporary folder (``lesson_runs``).
"""
from __future__ import annotations

from lesson_runs import ROOT, SELF_CHECK, code_cell, self_check_error, up_to_self_check

LESSON = ROOT / "notebooks" / "02_transfer_learning.ipynb"
LOADERS_MARKER = "loaders, class_names = make_loaders(DATA_DIR, preprocess"
MUTATION = '\nloaders["val"].dataset.transform = preprocess.train_transform()  # MUTATION: augment validation\n'


def test_markers_are_in_the_lesson():
    nb = up_to_self_check(LESSON)
    assert code_cell(nb.cells, LOADERS_MARKER) < code_cell(nb.cells, SELF_CHECK)
    assert 'set(_names(loaders["val"].dataset)' in nb.cells[-1].source, "self-check tests the val transform"


def test_augmented_validation_fails_the_self_check(tmp_path, monkeypatch):
    nb = up_to_self_check(LESSON)
    nb.cells[code_cell(nb.cells, LOADERS_MARKER)].source += MUTATION
    message = self_check_error(nb, tmp_path, monkeypatch)
    assert message is not None and "must not be augmented" in message, message
