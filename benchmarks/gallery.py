"""Every sample photo x every sample painting, stylised, with two quality figures per pair.

    python benchmarks/gallery.py                       # 256 px, the defaults: docs/gallery.md
    python benchmarks/gallery.py --size=512            # docs/gallery_512.md
    python benchmarks/gallery.py --configs=adam,defaults   # side by side

Uses the real ImageNet VGG16 weights (../shared/weights) and the photos and paintings in
../shared/samples/{content,style}. For each configuration it writes a contact sheet (a row per
photo: the photo, then its result with each painting; the paintings head the columns) to
docs/images/<report name>_<config>_<size>.jpg, and a table of seconds and the two figures of
style_transfer/quality.py per pair:
- content figure: relative VGG feature error against the photo at block3_conv3 and block5_conv2,
  layers the content loss does not use (lower = more of the photo kept);
- style figure: relative Gram-matrix error against the painting at block1_conv2, block2_conv2,
  block3_conv3 and block4_conv3, layers the style loss does not use (lower = closer to the style).
The first two rows of each photo's table are anchors: the photo itself and the painting resized
to the photo's size, the two ends of each axis.
"""

from __future__ import annotations

import glob
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this clone's package

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from style_transfer import devices, images, multiscale, quality, resample, vgg  # noqa: E402
from style_transfer.config import Config  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(REPO, "..", "shared")

# The configurations a gallery can show. "defaults" is Config(); "adam" the defaults chosen by the
# first gallery (Adam, 200 steps over 2 scales from 128 px, content start); "previous" what Config()
# was before any gallery (kept to show what changed and why).
PRESETS = {
    "defaults": {},
    "adam": dict(
        optimizer="adam",
        init="content",
        style_weight=3.0,
        steps=200,
        scales=2,
        min_scale_size=0,
        coarse_share=0.7,
    ),
    "previous": dict(
        optimizer="adam",
        init="content",
        style_weight=3.0,
        style_normalization="painting",
        tv_weight=2.0,
        learning_rate=0.05,
        steps=300,
        scales=2,
        min_scale_size=0,
        scale_ratio=2**0.5,
        coarse_share=0.5,
        keep_detail=False,
    ),
    # The paper's average pooling instead of VGG's max pooling (docs/controls.md).
    "avg_pooling": dict(pooling="avg"),
}

flags.DEFINE_integer("size", 256, "Longer side of every result, in pixels.")
flags.DEFINE_list("configs", ["defaults"], f"Configurations to run, of: {', '.join(PRESETS)}.")
flags.DEFINE_string("vgg16_weights", os.path.join(SHARED, "weights", "vgg16_imagenet_notop.weights.h5"), "Weights.")
flags.DEFINE_string("samples", os.path.join(SHARED, "samples"), "Folder with content/ and style/ images.")
flags.DEFINE_integer("steps", None, "Override every configuration's steps (quick runs); default: theirs.")
flags.DEFINE_list("contents", [], "Only the photos with these file stems (e.g. chelsea); default: all.")
flags.DEFINE_string("output", None, "Markdown report; default docs/gallery.md (docs/gallery_SIZE.md if not 256).")
FLAGS = flags.FLAGS

CELL = 256  # contact sheet cell, pixels


def precision_of(config: Config) -> str:
    """The precision `config` computes VGG features in on this machine."""
    return devices.resolved_precision(config.runtime.precision)


def _files(folder: str) -> list[str]:
    paths = sorted(p for p in glob.glob(os.path.join(folder, "*")) if not p.endswith((".md", ".txt")))
    if not paths:
        raise SystemExit(f"no images in {folder}")
    return paths


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def _cell(image: np.ndarray, label: str = "") -> Image.Image:
    """float32 [1, H, W, 3] -> a CELL x CELL tile: the image fitted and centred on white above a
    strip for the label (left empty without one), so labelled and plain tiles line up."""
    tile = Image.new("RGB", (CELL, CELL), "white")
    picture = Image.fromarray(np.round(np.clip(image[0], 0, 1) * 255).astype(np.uint8))
    picture.thumbnail((CELL, CELL - 14), Image.Resampling.LANCZOS)
    tile.paste(picture, ((CELL - picture.width) // 2, (CELL - 14 - picture.height) // 2))
    if label:
        ImageDraw.Draw(tile).text((4, CELL - 13), label, fill="black")
    return tile


def _sheet(rows: list[list[Image.Image]]) -> Image.Image:
    sheet = Image.new("RGB", (CELL * len(rows[0]), CELL * len(rows)), "white")
    for r, row in enumerate(rows):
        for c, tile in enumerate(row):
            sheet.paste(tile, (c * CELL, r * CELL))
    return sheet


def main(argv):
    del argv
    unknown = [name for name in FLAGS.configs if name not in PRESETS]
    if unknown:
        raise app.UsageError(f"unknown configs {unknown}; use {', '.join(PRESETS)}")
    contents = [
        p for p in _files(os.path.join(FLAGS.samples, "content")) if _stem(p) in FLAGS.contents or not FLAGS.contents
    ]
    if not contents:
        raise app.UsageError(f"no photo named {FLAGS.contents} in {FLAGS.samples}/content")
    styles = _files(os.path.join(FLAGS.samples, "style"))
    size = FLAGS.size
    output = FLAGS.output or os.path.join(REPO, "docs", "gallery.md" if size == 256 else f"gallery_{size}.md")
    base = Config(network="vgg16", weights=FLAGS.vgg16_weights, max_size=size)
    configs = {name: base.replace(**PRESETS[name]) for name in FLAGS.configs}
    if FLAGS.steps is not None:
        configs = {name: config.replace(steps=FLAGS.steps) for name, config in configs.items()}
    extractors = {}  # one per (precision, pooling)
    judge_extractor = quality.build_judge_extractor("vgg16", FLAGS.vgg16_weights)
    started = time.perf_counter()

    photos = {p: images.load_image(p, max_size=size) for p in contents}
    paintings = {p: images.load_image(p, max_size=size) for p in styles}
    header = [Image.new("RGB", (CELL, CELL), "white")] + [_cell(paintings[p], _stem(p)) for p in styles]
    sheets = {name: [header] for name in configs}
    table = []
    for c_path in contents:
        content = photos[c_path]
        row = {name: [_cell(content, _stem(c_path))] for name in configs}
        for s_path in styles:
            style = paintings[s_path]
            judge = quality.Judge(judge_extractor, content, style)
            painting = resample.to_size(style, content.shape[1:3]).numpy()
            entry = {"pair": f"{_stem(c_path)} x {_stem(s_path)}", "photo": judge(content), "painting": judge(painting)}
            for name, config in configs.items():
                key = (precision_of(config), config.features.pooling)
                if key not in extractors:
                    extractors[key] = vgg.extractor_for(config)
                start = time.perf_counter()
                result = multiscale.stylize(content, style, config, extractor=extractors[key])
                seconds = time.perf_counter() - start
                entry[name] = (seconds, judge(result))
                row[name].append(_cell(result))
                figures = entry[name][1]
                print(
                    f"{entry['pair']:40s} {name:10s} {seconds:6.1f}s content {figures.content:.3f} "
                    f"style {figures.style:.3f}",
                    flush=True,
                )
            table.append(entry)
        for name in configs:
            sheets[name].append(row[name])

    pictures = os.path.join(os.path.dirname(output), "images")
    os.makedirs(pictures, exist_ok=True)
    stem = _stem(output)  # each report's sheets beside it, named after it
    for name in configs:
        _sheet(sheets[name]).save(os.path.join(pictures, f"{stem}_{name}_{size}.jpg"), quality=90)
    report = _report(table, configs, size, stem, time.perf_counter() - started)
    print(report)
    with open(output, "w") as f:
        f.write(report)


def _report(table, configs, size, stem, seconds) -> str:
    names = list(configs)
    lines = [
        f"# Gallery, {size} px",
        "",
        f"`python benchmarks/gallery.py --size={size} --configs={','.join(names)}"
        + (f" --contents={','.join(FLAGS.contents)}" if FLAGS.contents else "")
        + f"` on: {devices.describe_machine()}.",
        "Real ImageNet VGG16 weights; every photo x every painting in ../shared/samples; precision "
        f"{Config().runtime.precision} (here: {devices.resolved_precision(Config().runtime.precision)}).",
        "",
        "Figures (style_transfer/quality.py), lower is better on both: **content** = relative VGG feature",
        "error against the photo at block3_conv3 and block5_conv2 (layers the content loss does not use);",
        "**style** = relative Gram error against the painting at block1_conv2, block2_conv2, block3_conv3,",
        "block4_conv3 (layers the style loss does not use). The photo itself and the painting resized to",
        "the photo's shape mark the two ends of each axis.",
        "",
    ]
    for name in names:
        lines += [f"![{name}](images/{stem}_{name}_{size}.jpg)", ""]
        changes = ", ".join(f"{k}={v}" for k, v in PRESETS[name].items()) or "Config() as it is"
        lines += [f"`{name}`: {changes}.", ""]
    head = "| pair | photo (c / s) | painting (c / s) | " + " | ".join(f"{n}: s, content, style" for n in names)
    lines += [head + " |", "| --- " * (3 + len(names)) + "|"]
    for entry in table:
        cells = [
            entry["pair"],
            f"{entry['photo'].content:.3f} / {entry['photo'].style:.3f}",
            f"{entry['painting'].content:.3f} / {entry['painting'].style:.3f}",
        ]
        cells += [f"{entry[n][0]:.0f}s, {entry[n][1].content:.3f}, {entry[n][1].style:.3f}" for n in names]
        lines.append("| " + " | ".join(cells) + " |")
    for n in names:
        mean_c = np.mean([e[n][1].content for e in table])
        mean_s = np.mean([e[n][1].style for e in table])
        total = sum(e[n][0] for e in table)
        lines.append(f"\n`{n}`: mean content {mean_c:.3f}, mean style {mean_s:.3f}, {total:.0f}s in all.")
    lines += ["", f"Whole gallery: {seconds:.0f}s."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    app.run(main)
