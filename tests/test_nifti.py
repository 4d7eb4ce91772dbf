"""scripts/nifti.py: the NIfTI-1 reader, on tiny volumes this test writes byte by byte."""
from __future__ import annotations

import gzip
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from nifti import read_nifti, reorient_ras, resample_nearest, voxel_spacing  # noqa: E402

DTYPE_CODES = {np.uint8: 2, np.int16: 4, np.int32: 8, np.float32: 16, np.float64: 64, np.uint16: 512}


def write_nifti(path: Path, data: np.ndarray, *, spacing=(1.0, 1.0, 1.0), srow=None, qform=None,
                slope=0.0, inter=0.0, descrip=b"tiny", endian="<", extension: bytes | None = None,
                gap: bytes = b"") -> Path:
    """A single-file NIfTI-1 written from the specification (not with the reader's code)."""
    hdr = bytearray(348)
    struct.pack_into(endian + "i", hdr, 0, 348)
    dims = [data.ndim, *data.shape] + [1] * (7 - data.ndim)
    struct.pack_into(endian + "8h", hdr, 40, *dims)
    code = DTYPE_CODES[data.dtype.type]
    struct.pack_into(endian + "2h", hdr, 70, code, data.dtype.itemsize * 8)
    qfac = 1.0 if qform is None else qform.get("qfac", 1.0)
    struct.pack_into(endian + "8f", hdr, 76, qfac, *spacing, 0, 0, 0, 0)
    struct.pack_into(endian + "2f", hdr, 112, slope, inter)
    hdr[148:148 + len(descrip)] = descrip
    ext = b""
    if extension is not None:
        body = extension + b"\0" * (-(len(extension) + 8) % 16)
        ext = struct.pack(endian + "2i", len(body) + 8, 6) + body
    flag = b"\1\0\0\0" if extension is not None else b"\0\0\0\0"
    offset = 352 + len(ext) + len(gap)
    struct.pack_into(endian + "f", hdr, 108, float(offset))
    if srow is not None:
        struct.pack_into(endian + "2h", hdr, 252, 0, 1)
        struct.pack_into(endian + "12f", hdr, 280, *np.asarray(srow, dtype=float).ravel())
    elif qform is not None:
        struct.pack_into(endian + "2h", hdr, 252, 1, 0)
        struct.pack_into(endian + "6f", hdr, 256, *qform["bcd"], *qform["offset"])
    hdr[344:348] = b"n+1\0"
    raw = bytes(hdr) + flag + ext + gap + data.astype(data.dtype.newbyteorder(endian)).tobytes(order="F")
    path.write_bytes(gzip.compress(raw) if path.suffix == ".gz" else raw)
    return path


@pytest.fixture
def volume():
    return np.arange(2 * 3 * 4, dtype=np.int16).reshape(2, 3, 4)


def test_header_fields_shape_and_fortran_order(tmp_path, volume):
    p = write_nifti(tmp_path / "v.nii", volume, spacing=(2.0, 3.0, 4.0), descrip=b"hello")
    vol = read_nifti(p)
    assert vol.data.shape == (2, 3, 4) and vol.data.dtype == np.float32
    assert np.array_equal(vol.data, volume)          # voxel (i, j, k) lands at [i, j, k]
    assert vol.pixdim == (2.0, 3.0, 4.0) and vol.datatype == 4 and vol.description == "hello"
    assert np.allclose(vol.affine, np.diag([2.0, 3.0, 4.0, 1.0]))   # no s-form/q-form: scaling only


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int32, np.float32, np.float64, np.uint16])
def test_every_dtype_and_gzip(tmp_path, dtype):
    data = (np.arange(24).reshape(2, 3, 4) * 3).astype(dtype)
    vol = read_nifti(write_nifti(tmp_path / "v.nii.gz", data))
    assert vol.datatype == DTYPE_CODES[dtype]
    assert np.array_equal(vol.data, data.astype(np.float32))


def test_big_endian(tmp_path, volume):
    vol = read_nifti(write_nifti(tmp_path / "be.nii", volume, endian=">"))
    assert np.array_equal(vol.data, volume)


def test_scaling_slope_and_intercept(tmp_path, volume):
    vol = read_nifti(write_nifti(tmp_path / "s.nii", volume, slope=0.5, inter=10.0))
    assert np.allclose(vol.data, volume * 0.5 + 10.0)
    # slope 0 means "not set": the stored values are used as they are
    assert np.array_equal(read_nifti(write_nifti(tmp_path / "n.nii", volume, slope=0.0, inter=7.0)).data, volume)


def test_sform_affine_and_ras_reorientation(tmp_path):
    data = np.random.default_rng(0).integers(0, 100, (2, 3, 4)).astype(np.uint8)
    # stored axes: i runs Left (x decreases), j runs Superior, k runs Anterior
    srow = [[-2.0, 0, 0, 10.0], [0, 0, 4.0, -20.0], [0, 3.0, 0, -30.0]]
    vol = read_nifti(write_nifti(tmp_path / "o.nii", data, spacing=(2, 3, 4), srow=srow))
    ras, affine = reorient_ras(vol)
    assert ras.shape == (2, 4, 3)                       # (R, A, S) = (i, k, j)
    assert np.all(np.diag(affine[:3, :3]) > 0)          # every axis now increases to R, A, S
    # world coordinates are kept: the same voxel has the same mm position before and after
    for i, j, k in [(0, 0, 0), (1, 2, 3), (1, 0, 2)]:
        world = vol.affine @ [i, j, k, 1]
        n = np.rint(np.linalg.solve(affine, world)).astype(int)[:3]
        assert ras[tuple(n)] == data[i, j, k]
    assert voxel_spacing(affine) == (2.0, 4.0, 3.0)


def test_qform_quaternion(tmp_path, volume):
    # quaternion (b, c, d) = (0, 0, 1): 180 degrees about z, so x and y both flip
    vol = read_nifti(write_nifti(tmp_path / "q.nii", volume, spacing=(1, 1, 1),
                                 qform={"bcd": (0.0, 0.0, 1.0), "offset": (5.0, 6.0, 7.0)}))
    assert np.allclose(vol.affine[:3, :3], np.diag([-1.0, -1.0, 1.0]))
    assert np.allclose(vol.affine[:3, 3], [5, 6, 7])
    ras, _ = reorient_ras(vol)
    assert np.array_equal(ras, volume[::-1, ::-1, :])


def test_extension_and_header_gap_text(tmp_path, volume):
    vol = read_nifti(write_nifti(tmp_path / "e.nii", volume, extension=b"1\tl_cortex\n"))
    assert vol.extension_text() == "1\tl_cortex\n" and np.array_equal(vol.data, volume)
    gap = read_nifti(write_nifti(tmp_path / "g.nii", volume, gap=b"7\tr_hippocampus\n\0\0"))
    assert "r_hippocampus" in gap.extension_text() and np.array_equal(gap.data, volume)


def test_bad_files_are_refused(tmp_path, volume):
    bad = tmp_path / "bad.nii"
    bad.write_bytes(b"\0" * 400)
    with pytest.raises(ValueError, match="not a NIfTI-1"):
        read_nifti(bad)
    p = write_nifti(tmp_path / "m.nii", volume)
    raw = bytearray(p.read_bytes())
    raw[344:348] = b"xyz\0"
    p.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="magic"):
        read_nifti(p)


def test_resample_nearest_uses_world_coordinates():
    labels = np.zeros((4, 4, 4), np.uint8)
    labels[2, 1, 3] = 9
    src_affine = np.diag([2.0, 2.0, 2.0, 1.0])                     # voxel (2,1,3) at world (4, 2, 6)
    tgt_affine = np.diag([1.0, 1.0, 1.0, 1.0])
    tgt_affine[:3, 3] = (-1.0, 0.0, 0.0)                           # target voxel (5, 2, 6) at world (4, 2, 6)
    out = resample_nearest(labels, src_affine, (8, 8, 8), tgt_affine)
    assert out[5, 2, 6] == 9 and out.dtype == np.uint8
    assert out[0, 0, 0] == 0                                        # outside: 0
    with pytest.raises(ValueError):
        oblique = np.eye(4)
        oblique[0, 1] = 0.5
        resample_nearest(labels, oblique, (2, 2, 2), tgt_affine)
