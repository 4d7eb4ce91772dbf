"""A small NIfTI-1 reader (gzip + numpy only; no nibabel), used by ``scripts/build_data.py``.

Reads single-file volumes (``.nii`` / ``.nii.gz``): header fields, every integer and
float data type, both byte orders, the scaling slope/intercept, the s-form / q-form
affine and header extensions (the INIA19 NeuroMaps atlas keeps its label names as text
between the header and the data).
``reorient_ras`` turns any axis-aligned volume into RAS order (axis 0 → Right,
1 → Anterior, 2 → Superior) by swaps and flips only, and ``resample_nearest`` puts a
label atlas onto another volume's voxel grid through their world (mm) coordinates.

>>> vol = read_nifti("/usr/share/mricron/templates/aal.nii.gz")
>>> vol.data.shape, vol.pixdim
((181, 217, 181), (1.0, 1.0, 1.0))
>>> data, affine = reorient_ras(vol)
"""
from __future__ import annotations

import gzip
import math
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HEADER_SIZE = 348

NIFTI_DTYPES: dict[int, type] = {
    2: np.uint8, 4: np.int16, 8: np.int32, 16: np.float32, 64: np.float64,
    256: np.int8, 512: np.uint16, 768: np.uint32, 1024: np.int64, 1280: np.uint64,
}
"""NIfTI-1 ``datatype`` codes this reader understands → numpy dtype."""


@dataclass
class Nifti:
    """One volume: voxel data (float32, axes i, j, k as stored) and what the header says."""

    data: np.ndarray
    pixdim: tuple[float, float, float]
    affine: np.ndarray  # 4x4 voxel index -> world (mm)
    datatype: int
    description: str
    extensions: list[tuple[int, bytes]] = field(default_factory=list)  # (ecode, payload)
    # Bytes between the header and the data when no extension is declared: some files keep
    # text there anyway (the INIA19 NeuroMaps atlas stores its label table in this gap).
    header_gap: bytes = b""

    def extension_text(self) -> str:
        """Header extensions (or the undeclared gap before the data) as Latin-1 text."""
        chunks = [payload for _, payload in self.extensions] or [self.header_gap]
        return "".join(c.rstrip(b"\0").decode("latin-1") for c in chunks)


def _quaternion_affine(b: float, c: float, d: float, offsets: tuple[float, float, float],
                       spacing: tuple[float, float, float], qfac: float) -> np.ndarray:
    a = math.sqrt(max(0.0, 1.0 - (b * b + c * c + d * d)))
    rot = np.array([
        [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
        [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
        [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - b * b - c * c],
    ])
    affine = np.eye(4)
    affine[:3, :3] = rot * np.array([spacing[0], spacing[1], spacing[2] * qfac])
    affine[:3, 3] = offsets
    return affine


def read_nifti(path: str | Path) -> Nifti:
    """Read a single-file NIfTI-1 volume (.nii or .nii.gz) with gzip + numpy only.

    Header layout (348 bytes): sizeof_hdr at 0 (always 348, so it tells the byte
    order), dim[8] at 40, datatype at 70, bitpix at 72, pixdim[8] at 76,
    vox_offset at 108, scl_slope/scl_inter at 112/116, descrip at 148,
    qform_code/sform_code at 252/254, quatern b,c,d + offsets at 256, srow_x/y/z at 280,
    magic at 344; then 4 "extension" bytes and the extensions (esize, ecode, payload).
    The data is scaled by ``scl_slope`` / ``scl_inter`` when the slope is set (not 0).

    >>> read_nifti("tiny.nii.gz").data.dtype
    dtype('float32')
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < HEADER_SIZE:
        raise ValueError(f"{path}: too short for a NIfTI-1 header ({len(raw)} bytes)")
    if struct.unpack("<i", raw[:4])[0] == HEADER_SIZE:
        end = "<"
    elif struct.unpack(">i", raw[:4])[0] == HEADER_SIZE:
        end = ">"
    else:
        raise ValueError(f"{path}: not a NIfTI-1 file (sizeof_hdr != 348)")
    if raw[344:347] not in (b"n+1", b"ni1"):
        raise ValueError(f"{path}: bad NIfTI magic {raw[344:348]!r}")

    dim = struct.unpack(end + "8h", raw[40:56])
    datatype, bitpix = struct.unpack(end + "2h", raw[70:74])
    pixdim = struct.unpack(end + "8f", raw[76:108])
    vox_offset = int(struct.unpack(end + "f", raw[108:112])[0])
    slope, inter = struct.unpack(end + "2f", raw[112:120])
    description = raw[148:228].split(b"\0")[0].decode("latin-1")
    qform_code, sform_code = struct.unpack(end + "2h", raw[252:256])
    qb, qc, qd, qx, qy, qz = struct.unpack(end + "6f", raw[256:280])
    srow = np.array(struct.unpack(end + "12f", raw[280:328]), dtype=np.float64).reshape(3, 4)

    extensions: list[tuple[int, bytes]] = []
    header_gap = b""
    if len(raw) >= 352 and raw[348] == 0 and vox_offset > 352:
        header_gap = raw[352:vox_offset]
    if len(raw) >= 352 and raw[348] != 0:
        pos = 352
        while pos + 8 <= vox_offset:
            esize, ecode = struct.unpack(end + "2i", raw[pos:pos + 8])
            if esize < 8 or pos + esize > vox_offset:
                break
            extensions.append((ecode, raw[pos + 8:pos + esize]))
            pos += esize

    if datatype not in NIFTI_DTYPES:
        raise ValueError(f"{path}: unsupported NIfTI datatype {datatype}")
    dtype = np.dtype(NIFTI_DTYPES[datatype]).newbyteorder(end)
    if dtype.itemsize * 8 != bitpix:
        raise ValueError(f"{path}: bitpix {bitpix} does not match datatype {datatype}")
    ndim = dim[0]
    shape = tuple(int(n) for n in dim[1:1 + ndim])
    if ndim > 3:  # keep the first volume of a 4-D file
        if any(n > 1 for n in shape[3:]):
            print(f"  note: {path.name} is {ndim}-D; using its first volume")
        shape = shape[:3]
    count = int(np.prod(shape))
    # NIfTI stores the first axis fastest (Fortran order).
    data = np.frombuffer(raw, dtype=dtype, count=count, offset=vox_offset)
    data = data.reshape(shape, order="F").astype(np.float32)
    if slope not in (0.0, 1.0) and math.isfinite(slope):
        data = data * np.float32(slope) + np.float32(inter)
    elif slope == 1.0 and inter != 0.0 and math.isfinite(inter):
        data = data + np.float32(inter)

    spacing = tuple(abs(float(p)) or 1.0 for p in pixdim[1:4])
    if sform_code > 0:
        affine = np.vstack([srow, [0, 0, 0, 1]])
    elif qform_code > 0:
        qfac = -1.0 if pixdim[0] < 0 else 1.0
        affine = _quaternion_affine(qb, qc, qd, (qx, qy, qz), spacing, qfac)
    else:
        affine = np.diag([spacing[0], spacing[1], spacing[2], 1.0])
    return Nifti(data, spacing, affine, datatype, description, extensions, header_gap)


def reorient_ras(vol: Nifti) -> tuple[np.ndarray, np.ndarray]:
    """Permute/flip voxel axes so axis 0 runs to the Right, 1 Anterior, 2 Superior.

    Only axis swaps and flips (no interpolation): each voxel axis is assigned to the
    world axis its direction is closest to. Returns the array and its new 4x4 affine
    (voxel index in the returned array -> world mm), so world coordinates are kept.

    >>> data, affine = reorient_ras(vol)   # affine[:3, :3] now has a positive diagonal
    """
    m = vol.affine[:3, :3]
    world_of = [int(np.argmax(np.abs(m[:, j]))) for j in range(3)]
    if sorted(world_of) != [0, 1, 2]:
        raise ValueError("oblique affine: cannot assign voxel axes to world axes")
    order = [world_of.index(i) for i in range(3)]  # voxel axis feeding world axis i
    data = np.transpose(vol.data, order)
    # new voxel index n -> old index: permutation P plus flips
    perm = np.zeros((4, 4))
    perm[3, 3] = 1.0
    for i, j in enumerate(order):
        if m[i, j] < 0:
            data = np.flip(data, axis=i)
            perm[j, i] = -1.0
            perm[j, 3] = vol.data.shape[j] - 1
        else:
            perm[j, i] = 1.0
    return np.ascontiguousarray(data), vol.affine @ perm


def voxel_spacing(affine: np.ndarray) -> tuple[float, float, float]:
    """The voxel spacing (mm along each voxel axis; R, A, S after ``reorient_ras``) of an affine."""
    return tuple(float(v) for v in np.linalg.norm(affine[:3, :3], axis=0))


def resample_nearest(labels: np.ndarray, labels_affine: np.ndarray,
                     target_shape: tuple[int, ...], target_affine: np.ndarray) -> np.ndarray:
    """Nearest-neighbour resampling of a label volume onto another grid via world (mm) coordinates.

    Both affines must be axis-aligned with the same axis order (as after ``reorient_ras``),
    so each target axis maps to one source axis; voxels outside the source are 0.

    >>> aal_on_ch2better = resample_nearest(aal, aal_affine, ch2better.shape, ch2better_affine)
    """
    for a in (labels_affine, target_affine):
        off = a[:3, :3] - np.diag(np.diag(a[:3, :3]))
        if np.abs(off).max() > 1e-6 * np.abs(a[:3, :3]).max():
            raise ValueError("resample_nearest needs axis-aligned affines in the same axis order")
    index = []
    for ax in range(3):
        world = target_affine[ax, ax] * np.arange(target_shape[ax]) + target_affine[ax, 3]
        src = np.rint((world - labels_affine[ax, 3]) / labels_affine[ax, ax]).astype(int)
        index.append(src)
    valid = [(i >= 0) & (i < labels.shape[ax]) for ax, i in enumerate(index)]
    clipped = [np.clip(i, 0, labels.shape[ax] - 1) for ax, i in enumerate(index)]
    out = labels[np.ix_(*clipped)]
    mask = valid[0][:, None, None] & valid[1][None, :, None] & valid[2][None, None, :]
    return np.where(mask, out, 0).astype(labels.dtype)
