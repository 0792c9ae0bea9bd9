"""What the notebooks (notebooks/*.ipynb) need, so that they call the package and copy none of it.

Contract: images are float32 RGB [1, H, W, 3] in [0, 1] (images.py's), pictures for display are
PIL images. Importing this module imports TensorFlow quietly (as the CLI does); `LiveProgress`
needs IPython (present in every Jupyter kernel and Colab).

- `in_colab()`: whether this runs in Google Colab (the notebooks skip their install, upload and
  download cells elsewhere);
- `fetch_image(spec, ...)`: a path, an http(s) URL or "" (the bundled sample) -> image;
- `describe_device()`: what TensorFlow found (GPU model and compute capability, or the CPU) and
  the precision `auto` picks there;
- `LiveProgress(steps, every)`: a stylize() callback that shows the loss terms and the current
  image every `every` steps, updated in place (one output, not a scroll of images);
- `picture_row(images, titles)`: images side by side with a caption each, one PIL image.
"""

from __future__ import annotations

import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from style_transfer import images, quiet
from style_transfer.errors import ImageError
from style_transfer.samples import SAMPLE_CONTENT, SAMPLE_STYLE, SAMPLE_STYLE_2

# TensorFlow's start-up lines (oneDNN, CUDA probes) would fill the notebook's first output: imported
# here as the CLI does it (quiet.py defines no flags: importing this module defines none either).
quiet.import_tensorflow_quietly()

# fetch_image's bundled samples, by the `sample` name it is given.
SAMPLES = {"content": SAMPLE_CONTENT, "style": SAMPLE_STYLE, "style2": SAMPLE_STYLE_2}
# A downloaded image larger than this is refused before it is read in full.
MAX_DOWNLOAD_BYTES = 50 * 2**20
USER_AGENT = "style_transfer-notebook/0.1 (Python urllib)"  # some hosts refuse urllib's default


def in_colab() -> bool:
    """True inside Google Colab (its `google.colab` package is importable there only)."""
    if "google.colab" in sys.modules:
        return True
    try:
        import google.colab  # noqa: F401
    except ImportError:
        return False
    return True


def fetch_image(spec: str, *, max_size: int | None = None, sample: str = "content", timeout: float = 30.0):
    """A path, an http(s) URL, or "" for the bundled sample named `sample` ("content": Chelsea the
    cat, "style": Starry Night, "style2": the Great Wave) -> float32 RGB [1, H, W, 3] in [0, 1],
    longer side max_size if given.

    Raises ImageError (one line: what and why) for a missing file, a URL that cannot be fetched, a
    download over MAX_DOWNLOAD_BYTES, or bytes that are not an image.
    """
    spec = (spec or "").strip()
    if not spec:
        spec = SAMPLES[sample]
    if urllib.parse.urlparse(spec).scheme not in ("http", "https"):
        return images.load_image(spec, max_size=max_size, name=sample)
    request = urllib.request.Request(spec, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) only
            data = response.read(MAX_DOWNLOAD_BYTES + 1)
    except (OSError, ValueError) as e:  # URLError and HTTPError are OSErrors
        raise ImageError(f"cannot fetch {sample} image {spec!r}: {getattr(e, 'reason', e)}") from None
    if len(data) > MAX_DOWNLOAD_BYTES:
        raise ImageError(f"{sample} image {spec!r} is over {MAX_DOWNLOAD_BYTES // 2**20} MiB; download and shrink it")
    return images.decode_image(data, name=f"{sample} image {spec!r}", max_size=max_size)


def describe_device() -> str:
    """One line: the accelerator TensorFlow uses (name, compute capability) or the CPU, and the
    precision `--precision=auto` picks there."""
    import tensorflow as tf

    from style_transfer import devices

    gpus = devices.describe_gpus()
    tpus = tf.config.list_logical_devices("TPU")
    if gpus:
        found = f"{len(gpus)} GPU(s): {', '.join(gpus)}"
    elif tpus:
        found = f"{len(tpus)} TPU core(s)"
    else:
        found = f"no GPU; CPU: {devices.cpu_model()}"
    auto = devices.resolved_precision("auto")
    return f"{found}; precision 'auto' picks {auto}; TensorFlow {tf.__version__}"


def to_picture(image) -> Image.Image:
    """float32 [1, H, W, 3] (or [H, W, 3]) in [0, 1] -> PIL image (8-bit, as images.save_image rounds)."""
    return Image.fromarray(images.to_uint8(image))


def _at_height(picture: Image.Image, height: int) -> Image.Image:
    """`picture` in RGB, scaled (Lanczos) to `height` pixels high, its aspect ratio kept."""
    width = max(1, round(picture.width * height / picture.height))
    return picture.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)


def picture_row(pictures: Sequence, titles: Sequence[str] = (), height: int = 256) -> Image.Image:
    """Images (arrays [1, H, W, 3] in [0, 1], or PIL images) side by side at one height, each with
    its title underneath: e.g. before | style | after."""
    scaled = [_at_height(p if isinstance(p, Image.Image) else to_picture(p), height) for p in pictures]
    caption = 18 if titles else 0
    gap = 6
    row = Image.new("RGB", (sum(p.width for p in scaled) + gap * (len(scaled) - 1), height + caption), "white")
    draw = ImageDraw.Draw(row)
    x = 0
    for index, picture in enumerate(scaled):
        row.paste(picture, (x, 0))
        if index < len(titles):
            draw.text((x + 4, height + 3), titles[index], fill="black")
        x += picture.width + gap
    return row


class LiveProgress:
    """stylize() callback for a notebook: the loss terms and the current image every `every`
    steps (and at the last), in one output that is updated in place.

    >>> progress = LiveProgress(config.schedule.steps, every=10)
    >>> result = st.stylize(content, style, config, callback=progress)
    """

    def __init__(self, steps: int, every: int = 10, height: int = 256):
        from IPython.display import HTML, display

        self.steps, self.every, self.height = steps, max(1, every), height
        self._html = HTML
        self.start = time.perf_counter()
        self.history: list[dict] = []  # the terms of every step
        self.text = display(HTML(f"0 / {steps} steps"), display_id=True)
        self._display = display
        self.picture = None  # the current image's output, made at the first image

    def __call__(self, step: int, terms: dict, image=None) -> None:
        """stylize's callback (step, terms, image); also a network's training (step, terms)."""
        self.history.append(dict(terms))
        if step % self.every and step != self.steps:
            return
        elapsed = time.perf_counter() - self.start
        losses = ", ".join(f"{name} {value:.4g}" for name, value in terms.items())
        self.text.update(self._html(f"step {step} / {self.steps} ({elapsed:.0f} s): {losses}"))
        if image is not None:
            picture = _at_height(to_picture(np.asarray(image)[:1]), self.height)
            if self.picture is None:
                self.picture = self._display(picture, display_id=True)
            else:
                self.picture.update(picture)
