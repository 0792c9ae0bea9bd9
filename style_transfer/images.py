"""Image files <-> arrays: decode, EXIF orientation, colour modes and profiles, resize, atomic encode.

Contract of every array this module returns or takes: numpy float32, RGB, values in [0, 1],
NHWC with a batch of one, shape [1, H, W, 3]; always sRGB: an embedded ICC profile (a Display P3
phone photo, an Adobe RGB camera file, a CMYK scan) is converted to sRGB on load, and outputs carry
an sRGB profile. Formats: whatever Pillow reads (PNG, JPEG, WebP, AVIF, TIFF, ...) and, with the
`heif` extra (pillow-heif), HEIC/HEIF as phones write them.

No TensorFlow here: Pillow does the decoding and resizing, so the CLI can reject a bad file before
it pays for importing TensorFlow.
"""

from __future__ import annotations

import io
import os
import struct
import tempfile
import warnings
from collections.abc import Iterable

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from style_transfer.config import DEFAULT_MAX_INPUT_PIXELS
from style_transfer.errors import ImageError, named

OUTPUT_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}
_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
# What every output is tagged with and every input converted to (LittleCMS's built-in sRGB).
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
_SRGB_BYTES = SRGB.tobytes()

try:  # HEIC/HEIF (iPhones, recent Android): the optional extra `pip install "style_transfer[heif]"`
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF = True
except ImportError:
    HEIF = False


def _is_heif(data: bytes) -> bool:
    """An ISO base media file whose brand is HEIF's ("ftypheic", "ftypmif1", ...)."""
    return data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1")


def to_srgb(img: Image.Image) -> Image.Image:
    """`img` converted from its embedded ICC profile to sRGB (perceptual intent; LittleCMS).

    RGB, RGBA, CMYK and L images with a profile are converted; others, images without a profile,
    and profiles LittleCMS cannot read or apply to the mode are left as they are (treated as sRGB,
    as browsers do). L and CMYK become RGB, RGBA keeps its alpha.
    """
    icc = img.info.get("icc_profile")
    if not icc or img.mode not in ("RGB", "RGBA", "CMYK", "L"):
        return img
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(img, source, SRGB, outputMode="RGBA" if img.mode == "RGBA" else "RGB")
        return converted if converted is not None else img
    except (OSError, ImageCms.PyCMSError):
        return img


def fit_size(height: int, width: int, max_size: int) -> tuple[int, int]:
    """(height, width) scaled so that the longer side is `max_size`, aspect ratio kept."""
    scale = max_size / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def _to_float_rgb(img: Image.Image) -> np.ndarray:
    """Any Pillow mode -> float32 [H, W, 3] in [0, 1].

    - 16-bit greyscale (I;16*, I) keeps its precision (divided by 65535); 16-bit RGB(A) PNGs are
      reduced to 8 bits per channel by Pillow when it opens them.
    - Float greyscale (F) is taken to be in [0, 1] already; NaN becomes 0.
    - Transparency (LA, RGBA, PA, P with a transparent colour, ...) is composited onto white,
      which is what an image viewer shows for a transparent PNG on a page.
    - Everything else (1, L, P, CMYK, YCbCr, LAB, HSV, RGBX) goes through Pillow's RGB conversion.
    """
    if img.mode in _SIXTEEN_BIT_MODES or img.mode == "F":
        grey = np.asarray(img, dtype=np.float32)
        if img.mode != "F":
            grey = grey / 65535.0
        grey = np.clip(np.nan_to_num(grey, nan=0.0), 0.0, 1.0)
        return np.repeat(grey[..., None], 3, axis=-1)
    has_alpha = "A" in img.mode or "a" in img.mode or "transparency" in img.info
    if has_alpha:
        rgba = np.asarray(img.convert("RGBA"), dtype=np.float32) / 255.0
        rgb, alpha = rgba[..., :3], rgba[..., 3:]
        return rgb * alpha + (1.0 - alpha)
    return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0


def _png_declares_zero_size(data: bytes) -> bool:
    """True for a PNG whose IHDR chunk gives a width or height of 0."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n") or data[12:16] != b"IHDR" or len(data) < 24:
        return False
    width, height = struct.unpack(">II", data[16:24])
    return width == 0 or height == 0


def decode_image(
    data: bytes, *, name: str = "image", max_pixels: int = DEFAULT_MAX_INPUT_PIXELS, max_size: int | None = None
) -> np.ndarray:
    """Encoded bytes (any format Pillow reads) -> float32 RGB [1, H, W, 3] in [0, 1], longer side
    `max_size` if given.

    EXIF orientation is applied, so the array is upright as a viewer shows it. Raises ImageError
    (naming `name`) for empty, unrecognised, truncated, zero-size or too-large images.
    """
    if not data:
        raise ImageError(f"{name} is empty (0 bytes); pass a PNG or JPEG file")
    try:
        with warnings.catch_warnings():
            # We apply our own pixel limit below, before any pixel is decoded.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as e:  # Pillow's own guard, at 2x Image.MAX_IMAGE_PIXELS
        raise ImageError(
            f"{name} is over the limit of pixels Pillow decodes safely ({e}); downscale it first"
        ) from None
    except UnidentifiedImageError:
        if _is_heif(data) and not HEIF:
            raise ImageError(
                f'{name} is a HEIC/HEIF image; install its reader: pip install "style_transfer[heif]"'
            ) from None
        if _png_declares_zero_size(data):  # Pillow refuses these without saying why
            raise ImageError(f"{name} has zero size (its PNG header says 0 pixels); pass a non-empty image") from None
        raise ImageError(f"{name} is not an image Pillow can read; pass a PNG or JPEG file") from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageError(f"{name} is corrupt and cannot be decoded ({e}); pass another file") from None

    width, height = img.size
    if width <= 0 or height <= 0:
        raise ImageError(f"{name} has zero size ({width}x{height}); pass a non-empty image")
    if width * height > max_pixels:
        raise ImageError(
            f"{name} is {width}x{height} = {width * height:,} pixels, over the limit of "
            f"{max_pixels:,} (decompression-bomb guard); downscale it first"
        )
    try:
        img.load()
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageError(f"{name} is truncated or corrupt ({e}); pass a complete image file") from None
    upright: Image.Image = img
    try:
        upright = ImageOps.exif_transpose(img)
    except Exception:  # noqa: BLE001 - a broken EXIF block must not reject a readable image.
        pass
    image = _to_float_rgb(to_srgb(upright))[None]
    if max_size is not None:
        image = resize(image, fit_size(image.shape[1], image.shape[2], max_size))
    return image


def load_image(
    path: str, *, max_size: int | None = None, max_pixels: int = DEFAULT_MAX_INPUT_PIXELS, name: str = ""
) -> np.ndarray:
    """Read an image file -> float32 RGB [1, H, W, 3] in [0, 1], longer side `max_size` if given."""
    label = f"{name} image {path!r}" if name else f"image {path!r}"
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise ImageError(f"{label} does not exist; check the path") from None
    except IsADirectoryError:
        raise ImageError(f"{label} is a directory; pass an image file") from None
    except OSError as e:
        raise ImageError(f"cannot read {label}: {e.strerror or e}") from None
    return decode_image(data, name=label, max_pixels=max_pixels, max_size=max_size)


def load_mask(path: str, *, max_pixels: int = DEFAULT_MAX_INPUT_PIXELS, name: str = "mask") -> np.ndarray:
    """Read a mask image -> float32 [1, H, W, 1] in [0, 1]: its luma (white = 1, black = 0; a
    colour image counts by brightness, transparency as white). Any size: users of a mask resize it."""
    image = load_image(path, max_pixels=max_pixels, name=name)
    return (image @ np.array([0.299, 0.587, 0.114], np.float32))[..., None].astype(np.float32)


def resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """float32 [1, H, W, 3] -> float32 [1, h, w, 3] with a Lanczos filter, clipped to [0, 1].

    Each channel is resampled in Pillow's 32-bit float mode, so 16-bit inputs keep their precision
    and downscaling is properly antialiased.
    """
    height, width = size
    if image.shape[1:3] == (height, width):
        return image
    channels = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(image[0, :, :, c])).resize((width, height), Image.Resampling.LANCZOS)
        )
        for c in range(image.shape[-1])
    ]
    return np.clip(np.stack(channels, axis=-1), 0.0, 1.0)[None].astype(np.float32)


def to_uint8(image) -> np.ndarray:
    """float [1, H, W, 3] (or [H, W, 3]) in [0, 1] -> uint8 [H, W, 3], rounded."""
    array = np.asarray(image, dtype=np.float32)
    if array.ndim == 4:
        array = array[0]
    return np.round(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8)


def output_format(path: str) -> str:
    """Pillow format name for an output path, from its extension."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in OUTPUT_FORMATS:
        raise ImageError(f"output {path!r} has extension {ext or '(none)'!r}; use one of {', '.join(OUTPUT_FORMATS)}")
    return OUTPUT_FORMATS[ext]


def encode_image(image, fmt: str = "PNG") -> bytes:
    """float [1, H, W, 3] in [0, 1] -> encoded PNG or JPEG bytes, tagged with an sRGB ICC profile."""
    buffer = io.BytesIO()
    options = {"quality": 95} if fmt == "JPEG" else {}
    Image.fromarray(to_uint8(image), "RGB").save(buffer, format=fmt, icc_profile=_SRGB_BYTES, **options)
    return buffer.getvalue()


def check_output_path(path: str, inputs: Iterable[str] = ()) -> None:
    """Fail now, before minutes of optimisation, if `path` cannot be written or is an input."""
    output_format(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ImageError(f"cannot write output {path!r}: directory {directory!r} does not exist; create it first")
    if os.path.isdir(path):
        raise ImageError(f"cannot write output {path!r}: it is a directory; pass a file name ending in .png or .jpg")
    for source in inputs:
        if os.path.exists(path) and os.path.exists(source) and os.path.samefile(path, source):
            raise ImageError(
                f"output {path!r} is an input image and would be overwritten; choose another {named('output')}"
            )
    try:
        fd, probe = tempfile.mkstemp(dir=directory, prefix=".style_transfer_probe_")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise ImageError(f"cannot write output {path!r}: {e.strerror or e}; choose a writable location") from None


def save_image(path: str, image) -> None:
    """Write float [1, H, W, 3] in [0, 1] to `path` (PNG or JPEG by extension), atomically.

    The bytes are encoded first, written to a temporary file in the same directory, flushed to disk
    and renamed over `path`: a crash or Ctrl-C leaves either the old file or the new one, never a
    half-written one.
    """
    data = encode_image(image, output_format(path))
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    except OSError as e:
        raise ImageError(f"cannot write output {path!r}: {e.strerror or e}; choose a writable location") from None
    try:
        _finish_atomic_write(fd, tmp, path, data)
    except OSError as e:
        raise ImageError(f"cannot write output {path!r}: {e.strerror or e}") from None


def write_atomically(path: str, data: bytes) -> None:
    """Write `data` to `path` as save_image writes images: a temporary file in the same directory,
    flushed to disk and renamed over `path` (never half-written); OSError as it comes."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=f".{os.path.basename(path)}.")
    _finish_atomic_write(fd, tmp, path, data)


def _finish_atomic_write(fd: int, tmp: str, path: str, data: bytes) -> None:
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions.
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
