"""scripts/build_data.py: the pieces that decide labels and splits, and the committed result."""
from __future__ import annotations

import csv
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import build_data  # noqa: E402
from nifti import Nifti  # noqa: E402


def test_hippocampus_label_rule():
    assert build_data.hippocampus_label(0.0, 400.0) == "no_hippocampus"
    assert build_data.hippocampus_label(400.0 * build_data.HIPPO_POSITIVE, 400.0) == "hippocampus"
    assert build_data.hippocampus_label(1.0, 400.0) is None      # thin edge slice: left out


def test_neuromaps_label_ids_read_from_the_file_text():
    text = "1\tl_occipital_gyrus\n86\tl_dentate_gyrus\n457\tl_subiculum\n458\tl_presubiculum\n1457\tr_subiculum\n"
    atlas = Nifti(np.zeros((1, 1, 1), np.float32), (1, 1, 1), np.eye(4), 2, "", [], text.encode())
    assert build_data.neuromaps_label_ids(atlas) == {86: "l_dentate_gyrus", 457: "l_subiculum", 1457: "r_subiculum"}
    empty = Nifti(np.zeros((1, 1, 1), np.float32), (1, 1, 1), np.eye(4), 2, "")
    with pytest.raises(ValueError):
        build_data.neuromaps_label_ids(empty)


def test_every_brain_goes_to_exactly_one_split():
    subjects = {v.volume.subject for v in build_data.HIPPO_VOLUMES}
    assert set(build_data.SUBJECT_SPLIT) >= subjects
    assert set(build_data.SUBJECT_SPLIT[s] for s in subjects) == {"train", "val", "test"}


def test_stable_rng_depends_on_names_not_order():
    a = build_data.stable_rng(1, "ch2", "axial", "10").integers(0, 1000, 5)
    b = build_data.stable_rng(1, "ch2", "axial", "10").integers(0, 1000, 5)
    c = build_data.stable_rng(1, "ch2", "axial", "11").integers(0, 1000, 5)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_markdown_table_totals():
    counts = {"train": Counter(a=2, b=3), "val": Counter(a=1, b=1), "test": Counter(a=0, b=4)}
    table = build_data.markdown_table(counts, ("a", "b"))
    assert "| train | 2 | 3 | 5 |" in table and "| **total** | 3 | 8 | 11 |" in table


def test_build_paths_point_at_data_not_scripts():
    assert build_data.DATA_DIR == ROOT / "data"
    assert not (ROOT / "data" / "build_data.py").exists(), "the build script lives in scripts/ now"


def test_committed_hippocampus_set_matches_its_sources_csv():
    root = ROOT / "data" / "hippocampus"
    with open(root / "SOURCES.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    files = {p.relative_to(root).as_posix() for p in root.glob("*/*/*.jpg")}
    assert files == {r["file"] for r in rows}
    splits_of = defaultdict(set)
    for r in rows:
        split, label, _ = r["file"].split("/")
        assert split == r["split"] and label == r["label"]
        assert (label == "hippocampus") == (float(r["hippocampus_mm2"]) > 0)
        splits_of[r["subject"]].add(split)
    assert all(len(s) == 1 for s in splits_of.values()), splits_of     # split by brain
    assert {s for v in splits_of.values() for s in v} == {"train", "val", "test"}
