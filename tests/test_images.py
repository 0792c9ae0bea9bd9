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


# --- Colour profiles and phone formats -------------------------------------------------------


def _s15(x: float) -> bytes:
    return struct.pack(">i", round(x * 65536))


def matrix_profile(red, green, blue, gamma: float) -> bytes:
    """A minimal ICC v2 RGB display profile (colourants relative to D50, one gamma), written by hand."""

    def xyz(x, y, z):
        return b"XYZ " + bytes(4) + _s15(x) + _s15(y) + _s15(z)

    name = b"test profile\0"
    tags = [
        (b"desc", b"desc" + bytes(4) + struct.pack(">I", len(name)) + name + bytes(8 + 3 + 67)),
        (b"cprt", b"text" + bytes(4) + b"none\0"),
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(*red)),
        (b"gXYZ", xyz(*green)),
        (b"bXYZ", xyz(*blue)),
        *((tag, b"curv" + bytes(4) + struct.pack(">IH", 1, round(gamma * 256))) for tag in (b"rTRC", b"gTRC", b"bTRC")),
    ]
    offset, entries, data = 128 + 4 + 12 * len(tags), b"", b""
    for signature, body in tags:
        body += bytes(-len(body) % 4)
        entries += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    header = struct.pack(">I", offset + len(data)) + bytes(4) + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ "
    header += bytes(12) + b"acsp" + bytes(28) + _s15(0.9642) + _s15(1.0) + _s15(0.8249) + bytes(48)
    return header + struct.pack(">I", len(tags)) + entries + data


# Adobe RGB (1998): colourants adapted to D50 (as in Adobe's own profile), gamma 563/256.
ADOBE = ((0.6097, 0.3111, 0.0195), (0.2053, 0.6257, 0.0609), (0.1492, 0.0632, 0.7446))
SRGB_D50 = ((0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141))


def adobe_to_srgb(pixels: np.ndarray) -> np.ndarray:
    """uint8 Adobe RGB -> float sRGB in [0, 1], in numpy: linearise, to XYZ (D50), to linear sRGB, clip, encode."""
    linear = (pixels / 255.0) ** (563 / 256)
    xyz = linear @ np.array(ADOBE)  # rows of ADOBE are the colourants: XYZ = sum_c linear_c * colourant_c
    srgb = np.clip(xyz @ np.linalg.inv(np.array(SRGB_D50)), 0.0, 1.0)
    return np.where(srgb <= 0.0031308, 12.92 * srgb, 1.055 * srgb ** (1 / 2.4) - 0.055)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_an_embedded_profile_is_converted_to_srgb(fmt):
    # Greys, a saturated Adobe green (outside sRGB: clipped), a skin tone, a blue.
    pixels = np.array([[[128, 128, 128], [0, 255, 0], [200, 100, 50], [0, 0, 255], [30, 60, 90]]], np.uint8)
    pixels = np.repeat(np.repeat(pixels, 8, axis=0), 8, axis=1)  # 8x8 blocks: JPEG keeps flat colours
    buffer = io.BytesIO()
    options = {"quality": 100, "subsampling": 0} if fmt == "JPEG" else {}
    Image.fromarray(pixels).save(buffer, format=fmt, icc_profile=matrix_profile(*ADOBE, 563 / 256), **options)
    decoded = images.decode_image(buffer.getvalue())[0]
    expected = adobe_to_srgb(pixels.astype(np.float64))
    np.testing.assert_allclose(decoded[4::8, 4::8], expected[4::8, 4::8], atol=(1.5 if fmt == "PNG" else 3) / 255)
    assert np.abs(decoded - pixels / 255.0).max() > 20 / 255  # it did convert


def test_outputs_are_tagged_srgb(tmp_path):
    from PIL import ImageCms

    for name in ("out.png", "out.jpg"):
        images.save_image(str(tmp_path / name), np.full((1, 4, 6, 3), 0.5, np.float32))
        with Image.open(tmp_path / name) as img:
            profile = ImageCms.ImageCmsProfile(io.BytesIO(img.info["icc_profile"]))
        assert ImageCms.getProfileDescription(profile).strip() == "sRGB built-in"
    # And reading our own output back changes nothing.
    image = np.random.default_rng(2).random((1, 8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(
        images.decode_image(images.encode_image(image))[0], images.to_uint8(image) / 255.0, atol=1e-5
    )


@pytest.mark.parametrize("fmt", ["AVIF", "HEIF"])
def test_phone_formats_decode(fmt):
    if fmt == "HEIF" and not images.HEIF:
        pytest.skip("pillow-heif is not installed (the heif extra)")
    pixels = np.zeros((32, 48, 3), np.uint8)
    pixels[:, :24] = (200, 60, 40)
    pixels[:, 24:] = (40, 90, 200)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt, quality=95)
    decoded = images.decode_image(buffer.getvalue(), name="phone photo")
    assert decoded.shape == (1, 32, 48, 3)
    assert np.abs(decoded[0, 8:-8, 4:20] - pixels[8:-8, 4:20] / 255.0).mean() < 6 / 255  # lossy, but close


def test_heic_without_its_reader_says_what_to_install(monkeypatch):
    from PIL import UnidentifiedImageError

    def unidentified(*args, **kwargs):
        raise UnidentifiedImageError("cannot identify image file")

    monkeypatch.setattr(images, "HEIF", False)
    monkeypatch.setattr(images.Image, "open", unidentified)
    data = b"\0\0\0\x18ftypheic" + bytes(32)
    with pytest.raises(
        ImageError, match=r'is a HEIC/HEIF image; install its reader: pip install "style_transfer\[heif\]"'
    ):
        images.decode_image(data, name="photo")
