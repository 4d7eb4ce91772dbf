"""``load_image``: the one rule for pixels, and its errors (every failure is a ``BadImageError``)."""
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from helpers.errors import BadImageError
from helpers.images import load_image


def _load(tmp_path, image: Image.Image, name: str, **save_args) -> Image.Image:
    path = tmp_path / name
    image.save(path, **save_args)
    out = load_image(path)
    assert out.mode == "RGB"
    return out


# ---------------------------------------------------------------------------- pixels


def test_exif_orientation_is_applied(tmp_path):
    """A phone photo stored sideways with EXIF Orientation=6 (rotate 90° clockwise to view)."""
    stored = Image.new("RGB", (32, 16), (0, 0, 255))
    stored.paste((255, 0, 0), (0, 0, 16, 16))  # left half red
    exif = Image.Exif()
    exif[0x0112] = 6
    out = _load(tmp_path, stored, "phone.jpg", exif=exif, quality=95)
    assert out.size == (16, 32), "upright: portrait, not the stored landscape"
    top, bottom = out.getpixel((8, 4)), out.getpixel((8, 28))
    assert top[0] > 200 and top[2] < 60, f"left edge turns to the top: red expected, got {top}"
    assert bottom[2] > 200 and bottom[0] < 60, f"blue expected at the bottom, got {bottom}"


def test_16bit_grayscale_is_scaled_by_its_range(tmp_path):
    """16-bit values 1000..26500 become 0..255 (clipping would make them all 255: a white picture)."""
    array = np.array([[1000, 1000 + 51 * 100, 26500]], dtype=np.uint16)
    image = Image.fromarray(array)
    assert image.mode.startswith("I;16")
    out = _load(tmp_path, image, "scan16.png")
    assert [out.getpixel((x, 0)) for x in range(3)] == [(0, 0, 0), (51, 51, 51), (255, 255, 255)]


def test_32bit_integer_is_scaled_by_its_range(tmp_path):
    array = np.array([[-100, 2, 410]], dtype=np.int32)  # range 510 -> 2 units per level
    image = Image.fromarray(array)
    assert image.mode == "I"
    out = _load(tmp_path, image, "int32.tif")
    assert [out.getpixel((x, 0))[0] for x in range(3)] == [0, 51, 255]


def test_float_image_is_scaled_by_its_range(tmp_path):
    array = np.array([[0.0, 0.2, 1.0]], dtype=np.float32)
    image = Image.fromarray(array)
    assert image.mode == "F"
    out = _load(tmp_path, image, "float.tif")
    assert [out.getpixel((x, 0))[0] for x in range(3)] == [0, 51, 255]


def test_rgba_is_composited_on_white(tmp_path):
    image = Image.new("RGBA", (2, 1))
    image.putpixel((0, 0), (0, 0, 0, 0))        # transparent (stored black)
    image.putpixel((1, 0), (255, 0, 0, 255))    # opaque red
    out = _load(tmp_path, image, "logo.png")
    assert out.getpixel((0, 0)) == (255, 255, 255)
    assert out.getpixel((1, 0)) == (255, 0, 0)


def test_half_transparent_rgba_blends_with_white(tmp_path):
    out = _load(tmp_path, Image.new("RGBA", (1, 1), (0, 0, 0, 128)), "half.png")
    assert all(abs(c - 127) <= 1 for c in out.getpixel((0, 0)))


def test_la_is_composited_on_white(tmp_path):
    image = Image.new("LA", (2, 1))
    image.putpixel((0, 0), (0, 0))      # transparent black
    image.putpixel((1, 0), (40, 255))   # opaque dark grey
    out = _load(tmp_path, image, "gray_alpha.png")
    assert out.getpixel((0, 0)) == (255, 255, 255)
    assert out.getpixel((1, 0)) == (40, 40, 40)


def test_palette_with_transparency_is_white_where_transparent(tmp_path):
    image = Image.new("P", (2, 1))
    image.putpalette([0, 0, 0, 255, 0, 0] + [0, 0, 0] * 254)
    image.putpixel((0, 0), 0)   # colour 0: black, but transparent
    image.putpixel((1, 0), 1)   # colour 1: red
    for name in ("sticker.png", "sticker.gif"):
        out = _load(tmp_path, image, name, transparency=0)
        assert out.getpixel((0, 0)) == (255, 255, 255), name
        assert out.getpixel((1, 0)) == (255, 0, 0), name


def test_grayscale_becomes_rgb(tmp_path):
    out = _load(tmp_path, Image.new("L", (1, 1), 100), "gray.png")
    assert out.getpixel((0, 0)) == (100, 100, 100)


def test_cmyk_becomes_rgb(tmp_path):
    image = Image.new("CMYK", (2, 1))
    image.putpixel((0, 0), (0, 0, 0, 0))        # no ink: white
    image.putpixel((1, 0), (0, 255, 255, 0))    # magenta + yellow: red
    out = _load(tmp_path, image, "print.tif")
    assert out.getpixel((0, 0)) == (255, 255, 255)
    assert out.getpixel((1, 0)) == (255, 0, 0)


# ---------------------------------------------------------------------------- errors


def test_missing_file_is_a_course_error(tmp_path):
    from helpers.errors import CourseError

    path = tmp_path / "nope.jpg"
    with pytest.raises(CourseError) as info:
        load_image(path)
    assert isinstance(info.value, BadImageError) and isinstance(info.value, OSError)
    assert str(path) in str(info.value) and "파일이 없습니다" in str(info.value)


def _png_claiming(width: int, height: int) -> bytes:
    """A 1x1 PNG whose header says ``width`` x ``height``: a decompression bomb's first bytes."""
    buffer = io.BytesIO()
    Image.new("L", (1, 1)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


@pytest.mark.parametrize("side", [12_000, 30_000])  # 1.6x and 10x Pillow's limit
def test_huge_images_are_refused_with_a_course_error(tmp_path, side):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_claiming(side, side))
    with pytest.raises(BadImageError) as info:
        load_image(path)
    message = str(info.value)
    assert str(path) in message and "너무 큽니다" in message and "해결:" in message


def test_error_says_what_to_do(tmp_path):
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"\xff\xd8\xff not really a jpeg")
    with pytest.raises(BadImageError) as info:
        load_image(path)
    lines = str(info.value).splitlines()
    assert lines[0].startswith(str(path)) and "읽을 수 없습니다" in lines[0]
    assert lines[-1].startswith("해결:") and f'rm "{path}"' in lines[-1]


def _real_images() -> dict[str, bytes]:
    rng = np.random.default_rng(1)
    array = rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)
    image = Image.fromarray(array)
    out = {}
    for fmt, ext in (("JPEG", "jpg"), ("PNG", "png"), ("GIF", "gif"), ("BMP", "bmp"), ("TIFF", "tif"),
                     ("WEBP", "webp")):
        buffer = io.BytesIO()
        image.save(buffer, format=fmt)
        out[ext] = buffer.getvalue()
    return out


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about some corrupt headers, then we raise
def test_fuzz_only_course_errors_escape(tmp_path):
    """Random bytes, truncated and bit-flipped copies of real images (JPEG, PNG, GIF, BMP, TIFF, WebP) and
    headers claiming a huge size: each loads as RGB or raises BadImageError naming the file, nothing else."""
    rng = np.random.default_rng(0)
    originals = _real_images()
    cases: list[tuple[str, bytes]] = []
    for ext, data in originals.items():
        for cut in rng.integers(0, len(data), 25):
            cases.append((ext, data[:cut]))
        for _ in range(25):
            mutated = bytearray(data)
            for pos in rng.integers(0, len(data), rng.integers(1, 8)):
                mutated[pos] = rng.integers(0, 256)
            cases.append((ext, bytes(mutated)))
    for i in range(60):
        ext = list(originals)[i % len(originals)]
        head = originals[ext][:rng.integers(0, 40)]  # a real signature followed by noise
        cases.append((ext, head + rng.integers(0, 256, rng.integers(0, 400), dtype=np.uint8).tobytes()))
    for _ in range(20):  # a real PNG header claiming a huge size: must be refused, not allocated
        width, height = rng.integers(10_000, 60_000, 2)
        cases.append(("png", _png_claiming(int(width), int(height))))
    assert len(cases) > 300
    loaded = failed = 0
    for i, (ext, data) in enumerate(cases):
        path = tmp_path / f"case{i}.{ext}"
        path.write_bytes(data)
        try:
            image = load_image(path)
        except BadImageError as exc:
            assert str(path) in str(exc) and "해결:" in str(exc)
            failed += 1
        else:
            assert image.mode == "RGB" and image.width * image.height > 0
            loaded += 1
    assert failed > 100  # the cases really were broken, not silently accepted
