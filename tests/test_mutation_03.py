"""Lesson 03's self-check catches a broken key claim (issue 11).

The lesson claims that feature extraction trains the new head only: the ImageNet backbone is
frozen in stage 1. Here the stage-1 cell is patched so the backbone is left trainable
(``set_parameter_requires_grad(..., feature_extracting=False)``), the lesson is executed up to
its self-check, and the self-check must stop with that claim's AssertionError. A control run
with the same small settings and no mutation must get past that claim, so the failure is the
mutation's doing and not the small settings'.

To stay cheap both runs shrink the lesson (image size, epochs); nothing else is changed.
"""
from __future__ import annotations

from lesson_runs import ROOT, self_check_error, up_to_self_check

LESSON = ROOT / "notebooks" / "03_fine_tuning.ipynb"
STAGE1_FREEZE = "set_parameter_requires_grad(model, feature_extracting=True)   # the whole ImageNet backbone is frozen"
CLAIM = "stage 1: head only"
SMALL = {"IMG_SIZE = 96 ": "IMG_SIZE = 64 ", "ANIMAL_SIZE = 128 ": "ANIMAL_SIZE = 64 ",
         "HEAD_EPOCHS = 3 ": "HEAD_EPOCHS = 1 ", "MAX_EPOCHS = 12 ": "MAX_EPOCHS = 2 ",
         "ANIMAL_EPOCHS = 4\n": "ANIMAL_EPOCHS = 3\n"}


def _patched(mutate: bool):
    nb = up_to_self_check(LESSON)
    found = {key: 0 for key in SMALL}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for old, new in SMALL.items():
            if old in cell.source:
                found[old] += 1
                cell.source = cell.source.replace(old, new)
        if mutate and STAGE1_FREEZE in cell.source:
            cell.source = cell.source.replace(STAGE1_FREEZE, STAGE1_FREEZE.replace("=True", "=False"))
            found["mutation"] = 1
    missing = [k for k, n in found.items() if n != 1]
    assert not missing, f"lesson 03 changed; update the markers of this test: {missing}"
    return nb


def test_self_check_fails_when_backbone_left_trainable(tmp_path, monkeypatch):
    message = self_check_error(_patched(mutate=True), tmp_path / "mutant", monkeypatch)
    assert message is not None and CLAIM in message, f"expected the '{CLAIM}' claim to fail, got: {message}"


def test_control_run_passes_that_claim(tmp_path, monkeypatch):
    message = self_check_error(_patched(mutate=False), tmp_path / "control", monkeypatch)
    assert message is None or CLAIM not in message, "the claim fails even without the mutation"
