"""images.py: decoding every colour mode, EXIF, resize, atomic writes and the bad-input errors."""

import io
import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from style_transfer import images
from style_transfer.errors import ImageError
from tests.conftest import gradient_image


def _encode(img: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG file claiming width x height RGB pixels, with (almost) no pixel data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


def _check_contract(array, height, width):
    assert array.dtype == np.float32
    assert array.shape == (1, height, width, 3)
    assert array.min() >= 0.0 and array.max() <= 1.0


def test_rgb_roundtrip_is_exact_to_8_bits():
    rgb = gradient_image(5, 7)
    out = images.decode_image(_encode(Image.fromarray(rgb)))
    _check_contract(out, 5, 7)
    np.testing.assert_allclose(out[0], rgb / 255.0, atol=1e-7)


def test_greyscale_is_replicated_to_three_channels():
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    out = images.decode_image(_encode(Image.fromarray(grey, "L")))
    _check_contract(out, 3, 4)
    for c in range(3):
        np.testing.assert_allclose(out[0, ..., c], grey / 255.0, atol=1e-7)


def test_alpha_is_composited_onto_white():
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0, 0] = (255, 0, 0, 255)  # opaque red
    rgba[0, 1] = (255, 0, 0, 0)  # fully transparent: white
    rgba[1, 0] = (0, 0, 0, 128)  # half-transparent black: mid grey
    out = images.decode_image(_encode(Image.fromarray(rgba, "RGBA")))[0]
    np.testing.assert_allclose(out[0, 0], [1, 0, 0], atol=1e-6)
    np.testing.assert_allclose(out[0, 1], [1, 1, 1], atol=1e-6)
    np.testing.assert_allclose(out[1, 0], [1 - 128 / 255] * 3, atol=1e-6)


def test_la_and_palette_with_transparency():
    la = Image.fromarray(np.array([[[0, 255], [0, 0]]], np.uint8), "LA")
    out = images.decode_image(_encode(la))[0]
    np.testing.assert_allclose(out[0, 0], [0, 0, 0], atol=1e-6)
    np.testing.assert_allclose(out[0, 1], [1, 1, 1], atol=1e-6)

    palette = Image.new("P", (2, 1))
    palette.putpalette([0, 0, 255, 0, 255, 0] + [0] * 762)
    palette.putpixel((0, 0), 0)
    palette.putpixel((1, 0), 1)
    np.testing.assert_allclose(images.decode_image(_encode(palette))[0, 0], [[0, 0, 1], [0, 1, 0]], atol=1e-6)
    palette.info["transparency"] = 1  # colour 1 (green) is transparent: white
    np.testing.assert_allclose(
        images.decode_image(_encode(palette, transparency=1))[0, 0], [[0, 0, 1], [1, 1, 1]], atol=1e-6
    )


def test_cmyk_jpeg_is_converted_to_rgb():
    cmyk = Image.new("CMYK", (8, 8), (0, 255, 255, 0))  # no cyan, full magenta + yellow: red
    out = images.decode_image(_encode(cmyk, "JPEG", quality=100))[0]
    assert out[..., 0].mean() > 0.9 and out[..., 1].mean() < 0.1 and out[..., 2].mean() < 0.1


def test_16_bit_greyscale_keeps_its_precision():
    values = np.array([[0, 1000, 32768, 65535]], np.uint16)
    out = images.decode_image(_encode(Image.fromarray(values)))
    _check_contract(out, 1, 4)
    # 1000/65535 would be 0 (or 1/255 after clipping) in an 8-bit conversion.
    np.testing.assert_allclose(out[0, 0, :, 0], values[0] / 65535.0, atol=1e-6)


def test_exif_orientation_is_applied():
    pixels = np.zeros((2, 4, 3), np.uint8)
    pixels[0, 0] = 255  # top-left is white
    img = Image.fromarray(pixels)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    out = images.decode_image(_encode(img, "JPEG", exif=exif.tobytes(), quality=100))
    assert out.shape == (1, 4, 2, 3)  # upright: portrait
    assert out[0, 0, 1].mean() > 0.5  # the white corner is now top-right
    assert out[0, 0, 0].mean() < 0.5


def test_fit_size_and_resize():
    assert images.fit_size(300, 451, 128) == (85, 128)
    assert images.fit_size(451, 300, 128) == (128, 85)
    assert images.fit_size(10, 20, 40) == (20, 40)  # small images are scaled up
    rgb = gradient_image(30, 40)[None] / 255.0
    small = images.resize(rgb.astype(np.float32), (15, 20))
    _check_contract(small, 15, 20)
    # Antialiased downscale: close to a 2x2 box average on this smooth image.
    box = rgb.reshape(1, 15, 2, 20, 2, 3).mean(axis=(2, 4))
    assert np.abs(small - box).mean() < 0.03


def test_load_image_resizes_longer_side(content_png):
    out = images.load_image(content_png, max_size=16)
    _check_contract(out, 12, 16)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", r"is empty \(0 bytes\)"),
        (b"hello, I am a text file\n", "is not an image"),
        (_png_header_only(30000, 30000), "over the limit"),  # Pillow's own guard
        (_png_header_only(11000, 11000), "over the limit of 100,000,000"),  # ours
        (_png_header_only(0, 10), "has zero size"),
        (_png_header_only(10, 0), "has zero size"),
    ],
    ids=["empty", "not-an-image", "bomb-pillow", "bomb-ours", "zero-width", "zero-height"],
)
def test_bad_bytes_raise_image_error(data, message):
    with pytest.raises(ImageError, match=message):
        images.decode_image(data, name="content image 'x'")


def test_truncated_image_is_rejected():
    data = _encode(Image.fromarray(gradient_image(64, 64)))
    with pytest.raises(ImageError, match="truncated or corrupt"):
        images.decode_image(data[: len(data) // 2])


def test_pixel_limit_is_configurable():
    data = _encode(Image.fromarray(gradient_image(10, 10)))
    assert images.decode_image(data, max_pixels=100).shape == (1, 10, 10, 3)
    with pytest.raises(ImageError, match="over the limit of 99"):
        images.decode_image(data, max_pixels=99)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ImageError, match="does not exist"):
        images.load_image(str(tmp_path / "nope.png"), name="content")
    with pytest.raises(ImageError, match="is a directory"):
        images.load_image(str(tmp_path), name="content")


@pytest.mark.parametrize("ext, fmt", [(".png", "PNG"), (".jpg", "JPEG"), (".JPEG", "JPEG")])
def test_save_image_format_follows_extension(tmp_path, ext, fmt):
    rgb = (gradient_image(6, 9) / 255.0).astype(np.float32)[None]
    path = str(tmp_path / f"out{ext}")
    images.save_image(path, rgb)
    with Image.open(path) as img:
        assert img.format == fmt and img.size == (9, 6)
    if fmt == "PNG":
        np.testing.assert_allclose(images.load_image(path), rgb, atol=0.5 / 255)
    assert os.listdir(tmp_path) == [f"out{ext}"]  # no temporary file left behind


def test_save_image_rejects_unknown_extension(tmp_path):
    with pytest.raises(ImageError, match="use one of .png, .jpg, .jpeg"):
        images.save_image(str(tmp_path / "out.bmp"), np.zeros((1, 2, 2, 3), np.float32))
    assert os.listdir(tmp_path) == []


def test_save_image_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "out.png"
    path.write_bytes(b"previous result")

    def crash(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(ImageError, match="No space left"):
        images.save_image(str(path), np.zeros((1, 4, 4, 3), np.float32))
    assert path.read_bytes() == b"previous result"  # untouched
    assert os.listdir(tmp_path) == ["out.png"]  # temporary file removed


def test_check_output_path(tmp_path, content_png):
    images.check_output_path(str(tmp_path / "fine.png"), [content_png])
    with pytest.raises(ImageError, match="does not exist; create it first"):
        images.check_output_path(str(tmp_path / "missing" / "out.png"))
    with pytest.raises(ImageError, match="does not exist; create it first"):
        images.check_output_path(os.path.join(content_png, "out.png"))  # parent is a file
    with pytest.raises(ImageError, match="is a directory"):
        (tmp_path / "dir.png").mkdir()
        images.check_output_path(str(tmp_path / "dir.png"))
    with pytest.raises(ImageError, match="would be overwritten"):
        images.check_output_path(content_png, [content_png])
    assert sorted(os.listdir(tmp_path)) == ["content.png", "dir.png"]  # the probe file is gone


def test_16_bit_rgb_png_is_accepted_at_8_bit_precision():
    """Pillow reduces 48-bit RGB PNGs to 8 bits per channel (documented); values stay right."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = b"\0" + struct.pack(">6H", 65535, 1000, 0, 0, 32768, 65535)
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 1, 16, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    out = images.decode_image(png)
    _check_contract(out, 1, 2)
    np.testing.assert_allclose(out[0, 0], [[1, 1000 / 65535, 0], [0, 0.5, 1]], atol=1 / 255)


def test_load_mask_reads_brightness(tmp_path):
    grey = np.array([[0, 128, 255]], np.uint8)
    Image.fromarray(grey, "L").save(tmp_path / "grey.png")
    mask = images.load_mask(str(tmp_path / "grey.png"))
    assert mask.shape == (1, 1, 3, 1) and mask.dtype == np.float32
    np.testing.assert_allclose(mask[0, 0, :, 0], [0.0, 128 / 255, 1.0], atol=1e-6)
    colour = np.array([[[255, 0, 0], [255, 255, 255]]], np.uint8)  # red counts by its luma (0.299)
    Image.fromarray(colour, "RGB").save(tmp_path / "colour.png")
    np.testing.assert_allclose(images.load_mask(str(tmp_path / "colour.png"))[0, 0, :, 0], [0.299, 1.0], atol=1e-6)
