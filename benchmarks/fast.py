"""Inference speed of the feed-forward networks (issue 19's targets), against the optimisation in
the same run.

    python benchmarks/fast.py                       # every section, this machine
    python benchmarks/fast.py --quick               # tiny sizes: checks that it runs

First, with --tile_size (default 1024), one 3840x2160 picture through the width-0.5 network tile by
tile (network_tiles.py: exact, bounded memory), its time and the process's peak resident memory
then (measured before any whole 4K pass raises it). Then, as a Markdown table: per network width
and feature precision, the median of --repeats warm
calls of one forward pass (a compiled tf.function taking any size) at 512x512, 1920x1080 and
3840x2160, and the process's peak resident memory after each size; an exported model's request
at 512 px (PNG decode, network, PNG encode: export/network.py's serving_default, in-process); and
one default optimisation run (`stylize`, real VGG16 weights if given) at 512 px, for the ratio.
Networks have random weights: speed does not depend on them.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags
from timing import median_seconds, peak_rss_mib, timed

SHARED = os.environ.get("STYLE_TRANSFER_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
flags.DEFINE_bool("quick", False, "Tiny sizes and few repeats: checks that every section runs.")
flags.DEFINE_integer("repeats", 20, "Warm calls timed at the first size (the median is reported).")
flags.DEFINE_integer("repeats_large", 3, "Warm calls timed at the larger sizes.")
flags.DEFINE_list("widths", ["0.5", "1.0"], "Network width multipliers.")
flags.DEFINE_list("precisions", ["float32", "bfloat16"], "Compute precisions of the network.")
flags.DEFINE_string(
    "vgg16_weights", os.path.join(SHARED, "weights", "vgg16_imagenet_notop.weights.h5"), "For the optimisation."
)
flags.DEFINE_bool("optimisation", True, "Also time one default optimisation run at 512 px, for the ratio.")
flags.DEFINE_integer("tile_size", 1024, "Tiles of the tiled 4K pass (0: skip it).")
FLAGS = flags.FLAGS

SIZES = {"512x512": (512, 512), "1920x1080": (1080, 1920), "3840x2160": (2160, 3840)}
QUICK_SIZES = {"64x64": (64, 64), "96x64": (64, 96)}


def main(argv):
    del argv
    import numpy as np
    import tensorflow as tf

    from style_transfer import devices, images, transformer
    from style_transfer.export import network as exported_network

    sizes = QUICK_SIZES if FLAGS.quick else SIZES
    repeats = 2 if FLAGS.quick else FLAGS.repeats
    print(f"# Inference speed of the networks\n\nMachine: {devices.describe_machine()}.\n")
    if FLAGS.tile_size:
        from style_transfer import network_tiles

        height, size_width = (96, 160) if FLAGS.quick else (2160, 3840)
        tile = 64 if FLAGS.quick else FLAGS.tile_size
        network = transformer.build(float(FLAGS.widths[0]), 1, seed=0)
        picture = tf.random.stateless_uniform([1, height, size_width, 3], seed=[1, 2])
        before = peak_rss_mib()
        seconds, _ = timed(lambda: network_tiles.stylize_tiled(network, picture, tile_size=tile))
        print(
            f"Tiled: {size_width}x{height} in tiles of {tile} px (width {FLAGS.widths[0]}, float32, exact): "
            f"{seconds:.1f} s (one call, cold), peak RSS {peak_rss_mib():.0f} MiB ({before:.0f} before).\n"
        )
    print(
        f"Median of {repeats} warm calls of one forward pass at {next(iter(sizes))}, of "
        f"{min(repeats, FLAGS.repeats_large)} at the larger sizes; peak RSS of the process after each size.\n"
    )
    print("| width | precision | " + " | ".join(sizes) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in sizes) + " |")
    first = {}
    for width in (float(w) for w in FLAGS.widths):
        for precision in FLAGS.precisions:
            network = transformer.build(width, 1, seed=0, precision=precision)
            spec = [tf.TensorSpec([1, None, None, 3], tf.float32)]
            run = tf.function(lambda x, network=network: network(x), input_signature=spec)
            cells = []
            for k, (height, size_width) in enumerate(sizes.values()):
                image = tf.random.stateless_uniform([1, height, size_width, 3], seed=[1, 2])
                count = repeats if k == 0 else min(repeats, FLAGS.repeats_large)
                seconds = median_seconds(lambda image=image, run=run: run(image).numpy(), count)
                cells.append(f"{seconds:.3f} s, {peak_rss_mib():.0f} MiB")
                first.setdefault((width, precision), seconds)
            print(f"| {width:g} | {precision} | " + " | ".join(cells) + " |", flush=True)

    size = 64 if FLAGS.quick else 512
    network = transformer.build(float(FLAGS.widths[0]), 1, seed=0)
    module = exported_network.NetworkModule(network, max_size=size)
    serve = module.signatures()[exported_network.SERVING_SIGNATURE]
    photo = images.encode_image(np.random.default_rng(0).random((1, size, size, 3), np.float32))
    request = median_seconds(lambda: serve(image_bytes=tf.constant([photo]))["image_bytes"].numpy(), repeats)
    print(
        f"\nAn exported model's request at {size}x{size} (PNG in, width {FLAGS.widths[0]} network, PNG out; "
        f"in-process serving_default): {request:.3f} s median.\n"
    )

    if FLAGS.optimisation:
        from style_transfer import multiscale
        from style_transfer.config import Config
        from style_transfer.samples import SAMPLE_CONTENT, SAMPLE_STYLE

        weights = FLAGS.vgg16_weights if os.path.isfile(FLAGS.vgg16_weights) else "none"
        config = Config(network="vgg16", weights=weights, max_size=size, **({"steps": 4} if FLAGS.quick else {}))
        content = images.load_image(SAMPLE_CONTENT, max_size=size)
        style = images.load_image(SAMPLE_STYLE, max_size=size)
        seconds, _ = timed(lambda: multiscale.stylize(content, style, config))
        one_pass = first[(float(FLAGS.widths[0]), FLAGS.precisions[0])]
        print(
            f"The optimisation's defaults on the bundled sample at {size} px ({content.shape[2]}x{content.shape[1]}, "
            f"VGG16 {weights if weights == 'none' else 'ImageNet'}): {seconds:.1f} s, "
            f"{seconds / one_pass:.0f}x a width {FLAGS.widths[0]} {FLAGS.precisions[0]} pass at {next(iter(sizes))}."
        )


if __name__ == "__main__":
    app.run(main)
