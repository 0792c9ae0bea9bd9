"""The abstraction control across its range: one photo and painting at several levels, a strip of
pictures and a table of seconds and quality figures.

    python benchmarks/abstraction.py                      # docs/abstraction.md, docs/images/abstraction_512.jpg
    python benchmarks/abstraction.py --contents=astronaut --styles=great_wave_hokusai --output=/tmp/a.md

Each level is `Config(abstraction=level)` (config.ABSTRACTION_CURVE says what it sets) with the
real ImageNet VGG16 weights (../shared/weights), at --size px. Figures as benchmarks/gallery.py's.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this clone's package

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402
from timing import timed  # noqa: E402

from style_transfer import devices, images, multiscale, quality, vgg  # noqa: E402
from style_transfer.config import Config, abstraction_settings  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(REPO, "..", "shared")

flags.DEFINE_integer("size", 512, "Longer side of every result, in pixels.")
flags.DEFINE_list("levels", ["0", "0.25", "0.5", "0.75", "1"], "Abstraction levels, 0 (faithful) to 1 (painterly).")
flags.DEFINE_string("vgg16_weights", os.path.join(SHARED, "weights", "vgg16_imagenet_notop.weights.h5"), "Weights.")
flags.DEFINE_string("samples", os.path.join(SHARED, "samples"), "Folder with content/ and style/ images.")
flags.DEFINE_list("contents", ["chelsea"], "Photos (file stems in SAMPLES/content), one strip each.")
flags.DEFINE_list("styles", ["starry_night"], "Paintings (file stems in SAMPLES/style), one per photo.")
flags.DEFINE_integer("steps", None, "Override every level's steps (quick runs); default: the curve's.")
flags.DEFINE_integer("cell", 320, "Width of each picture in the strip, pixels.")
flags.DEFINE_string("output", os.path.join(REPO, "docs", "abstraction.md"), "Markdown report.")
FLAGS = flags.FLAGS


def _find(folder: str, stem: str) -> str:
    for name in sorted(os.listdir(folder)):
        if os.path.splitext(name)[0] == stem:
            return os.path.join(folder, name)
    raise app.UsageError(f"no image named {stem} in {folder}")


def main(argv):
    del argv
    if len(FLAGS.contents) != len(FLAGS.styles):
        raise app.UsageError("give one --styles entry per --contents entry")
    levels = [float(level) for level in FLAGS.levels]
    base = Config(network="vgg16", weights=FLAGS.vgg16_weights, max_size=FLAGS.size)
    extractor = vgg.extractor_for(base)
    judges = (
        quality.build_judge_extractor("vgg16", FLAGS.vgg16_weights),
        quality.build_painting_judge_extractor("vgg16", FLAGS.vgg16_weights),
    )
    rows, strips = [], []
    for c_stem, s_stem in zip(FLAGS.contents, FLAGS.styles, strict=True):
        content = images.load_image(_find(os.path.join(FLAGS.samples, "content"), c_stem), max_size=FLAGS.size)
        style = images.load_image(_find(os.path.join(FLAGS.samples, "style"), s_stem), max_size=FLAGS.size)
        judge = quality.Judge(judges[0], content, style)
        painting_judge = quality.PaintingJudge(judges[1], content, style)
        cells = []
        for level in levels:
            config = base.replace(abstraction=level)
            if FLAGS.steps is not None:
                config = config.replace(steps=FLAGS.steps)
            seconds, result = timed(lambda: multiscale.stylize(content, style, config, extractor=extractor))  # noqa: B023
            f, p = judge(result), painting_judge(result)
            rows.append(
                f"| {c_stem} x {s_stem} | {level:g} | {seconds:.0f} | {f.content:.3f} | {f.style:.3f} | "
                f"{p.stroke:.3f} | {p.large_stroke:.3f} | {p.fine_texture:.3f} | {p.structure:.3f} |"
            )
            print(rows[-1], flush=True)
            cells.append((result, f"abstraction {level:g}, {seconds:.0f} s"))
        strips.append(_strip(cells, FLAGS.cell))

    pictures = os.path.join(os.path.dirname(FLAGS.output), "images")
    os.makedirs(pictures, exist_ok=True)
    stem = os.path.splitext(os.path.basename(FLAGS.output))[0]
    picture = os.path.join(pictures, f"{stem}_{FLAGS.size}.jpg")
    sheet = Image.new("RGB", (max(s.width for s in strips), sum(s.height for s in strips)), "white")
    top = 0
    for strip in strips:
        sheet.paste(strip, (0, top))
        top += strip.height
    sheet.save(picture, quality=92)
    curve = [f"| {level:g} | {_settings(level)} |" for level in levels]
    report = "\n".join(
        [
            f"# Abstraction, {FLAGS.size} px",
            "",
            f"`python benchmarks/abstraction.py --size={FLAGS.size} --levels={','.join(FLAGS.levels)} "
            f"--contents={','.join(FLAGS.contents)} --styles={','.join(FLAGS.styles)}` on: "
            f"{devices.describe_machine()}. Real ImageNet VGG16 weights, precision {base.runtime.precision} "
            f"(here: {devices.resolved_precision(base.runtime.precision)}).",
            "",
            f"![abstraction](images/{stem}_{FLAGS.size}.jpg)",
            "",
            "| level | what it sets (config.ABSTRACTION_CURVE) |",
            "| --- | --- |",
            *curve,
            "",
            "Figures as in the gallery ([figures.md](figures.md): what each rewards; lower is better but structure).",
            "",
            "| pair | level | seconds | content | style | stroke | large stroke | fine texture | structure |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
            *rows,
            "",
        ]
    )
    print(report)
    with open(FLAGS.output, "w") as f:
        f.write(report)


def _settings(level: float) -> str:
    return ", ".join(f"{name}={value}" for name, value in abstraction_settings(level).items())


def _strip(cells, width: int) -> Image.Image:
    """Pictures side by side, each `width` px wide, with its label under it."""
    tiles = []
    for image, label in cells:
        picture = Image.fromarray(np.round(np.clip(image[0], 0, 1) * 255).astype(np.uint8))
        picture = picture.resize((width, round(picture.height * width / picture.width)), Image.Resampling.LANCZOS)
        tile = Image.new("RGB", (width, picture.height + 16), "white")
        tile.paste(picture, (0, 0))
        ImageDraw.Draw(tile).text((4, picture.height + 2), label, fill="black")
        tiles.append(tile)
    strip = Image.new("RGB", (width * len(tiles), max(t.height for t in tiles)), "white")
    for k, tile in enumerate(tiles):
        strip.paste(tile, (k * width, 0))
    return strip


if __name__ == "__main__":
    app.run(main)
