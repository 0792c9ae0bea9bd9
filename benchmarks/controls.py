"""A contact sheet of the creative controls, each made by the CLI command printed under it.

    python benchmarks/controls.py      # ~5 minutes on 2 CPU cores; writes docs/controls_sheet.md + a sheet

The bundled cat at --size px with the real ImageNet VGG16 weights from ../shared (paintings from
../shared/samples/style), one `style-transfer` run per cell, so every picture is exactly what its
command gives. The mask cell uses a mask this script draws (left half white) next to the sheet.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile

import numpy as np
from absl import app, flags
from PIL import Image, ImageDraw
from timing import timed

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(REPO, "..", "shared")
sys.path.insert(0, REPO)  # this clone's package

from style_transfer.samples import SAMPLE_CONTENT, SAMPLE_STYLE  # noqa: E402

flags.DEFINE_integer("size", 256, "Longer side of every result, in pixels.")
flags.DEFINE_string("vgg16_weights", os.path.join(SHARED, "weights", "vgg16_imagenet_notop.weights.h5"), "Weights.")
flags.DEFINE_string("samples", os.path.join(SHARED, "samples"), "Folder with style/ paintings.")
flags.DEFINE_string("output", os.path.join(REPO, "docs", "controls_sheet.md"), "Markdown table; the sheet beside it.")
flags.DEFINE_integer("steps", None, "Override every run's steps (quick runs); default: the CLI's.")
flags.DEFINE_list("cells", [], "Only these cells, by number (1: the defaults, always run); default: all.")
FLAGS = flags.FLAGS

CELL = 256


def cells(wave: str, mask: str, first: str) -> list[tuple[str, list[str]]]:
    """(label, extra CLI flags) of each cell; `first` is the defaults' result (for the init cell)."""
    return [
        ("defaults", []),
        ("--preserve_colors=luminance", ["--preserve_colors=luminance"]),
        ("--preserve_colors=histogram", ["--preserve_colors=histogram"]),
        ("two styles, 0.5 / 0.5", [f"--style={SAMPLE_STYLE},{wave}", "--style_blend_weights=0.5,0.5"]),
        ("--style_scale=0.5", ["--style_scale=0.5"]),
        ("--style_scale=2", ["--style_scale=2"]),
        ("--style_masks (left half)", [f"--style_masks={mask}"]),
        ("--pooling=avg", ["--pooling=avg"]),
        ("--init=result --style=wave", [f"--init={first}", f"--style={wave}"]),
        ("--abstraction=0 (faithful)", ["--abstraction=0"]),
        ("--abstraction=1 (painterly)", ["--abstraction=1"]),
        ("--style_loss=mean_cov", ["--style_loss=mean_cov"]),
    ]


def _label(image: Image.Image, text: str) -> Image.Image:
    """The image at most CELL px wide and high, with `text` under it."""
    image = image.copy()
    image.thumbnail((CELL, CELL))
    canvas = Image.new("RGB", (CELL, image.height + 18), "white")
    canvas.paste(image, ((CELL - image.width) // 2, 0))
    ImageDraw.Draw(canvas).text((4, image.height + 3), text, fill="black")
    return canvas


def main(argv):
    del argv
    size = FLAGS.size
    wave = os.path.join(FLAGS.samples, "style", "great_wave_hokusai.jpg")
    pictures = os.path.join(os.path.dirname(FLAGS.output), "images")
    os.makedirs(pictures, exist_ok=True)
    with Image.open(SAMPLE_CONTENT) as photo:
        width, height = photo.size
    mask_path = os.path.join(pictures, "controls_mask_left.png")
    mask = np.zeros((height, width), np.uint8)
    mask[:, : width // 2] = 255
    Image.fromarray(mask).save(mask_path)
    base = ["--network=vgg16", f"--weights={FLAGS.vgg16_weights}", f"--max_size={size}"]
    base += [f"--steps={FLAGS.steps}"] if FLAGS.steps is not None else []
    rows, tiles = [], []
    with tempfile.TemporaryDirectory() as tmp:
        first = os.path.join(tmp, "defaults.png")
        for k, (label, extra) in enumerate(cells(wave, mask_path, first)):
            if FLAGS.cells and k > 0 and str(k + 1) not in FLAGS.cells:
                continue
            out = first if k == 0 else os.path.join(tmp, f"cell{k + 1}.png")
            command = ["style-transfer", *base, *extra, f"--output={out}"]
            seconds, result = timed(
                lambda: subprocess.run(
                    [sys.executable, "-m", "style_transfer", *command[1:]],  # noqa: B023
                    capture_output=True,
                    text=True,
                    cwd=REPO,
                )
            )
            if result.returncode != 0:
                raise RuntimeError(f"{label}: {result.stderr.strip().splitlines()[-1]}")
            with Image.open(out) as image:
                tiles.append(_label(image.convert("RGB"), label))
            shown = " ".join(shlex.quote(a) for a in command).replace(REPO + os.sep, "").replace(tmp + os.sep, "")
            rows.append(f"| {k + 1} | {label} | `{shown}` | {seconds:.0f}s |")
            print(rows[-1], flush=True)
    columns, tile_height = 3, max(tile.height for tile in tiles)
    sheet = Image.new("RGB", (columns * CELL, -(-len(tiles) // columns) * tile_height), "white")
    for k, tile in enumerate(tiles):
        sheet.paste(tile, ((k % columns) * CELL, (k // columns) * tile_height))
    sheet_name = f"controls_{size}.jpg"
    sheet.save(os.path.join(pictures, sheet_name), quality=90)
    from style_transfer import devices

    report = "\n".join(
        [
            "# Creative controls",
            "",
            f"`python benchmarks/controls.py` on: {devices.describe_machine()}. The bundled cat at {size} px,",
            "real ImageNet VGG16 weights, one `style-transfer` run per cell (the commands below, paths",
            "shortened; `defaults.png` is cell 1's output).",
            "",
            f"![controls](images/{sheet_name})",
            "",
            "| cell | control | command | whole run |",
            "| --- | --- | --- | --- |",
            *rows,
            "",
        ]
    )
    with open(FLAGS.output, "w") as f:
        f.write(report)
    print(report)


if __name__ == "__main__":
    app.run(main)
