"""How the defaults were chosen: candidate configurations at the default size, timed and scored.

    python benchmarks/choose_defaults.py     # about 10 minutes on 2 CPU cores; writes docs/defaults.md

Each candidate stylises the bundled sample at 512 px with the real ImageNet VGG16 weights
(../shared/weights); E is the normalised loss with the default weights at 512 px, in float32 (lower
is closer to the objective). The pictures go to docs/images/defaults_*.png: look at them too, since
a lower E is not always a better picture (several scales give larger strokes at a slightly higher E).
"""

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this clone's package

from absl import app, flags  # noqa: E402

from style_transfer import devices, images, multiscale, objective, optimize  # noqa: E402
from style_transfer.config import SAMPLE_CONTENT, SAMPLE_STYLE, Config  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
flags.DEFINE_string(
    "vgg16_weights", os.path.join(REPO, "..", "shared", "weights", "vgg16_imagenet_notop.weights.h5"), "Weights."
)
flags.DEFINE_integer("size", 512, "Output size.")
flags.DEFINE_string("output", os.path.join(REPO, "docs", "defaults.md"), "Markdown report ('' for none).")
FLAGS = flags.FLAGS

CANDIDATES = {  # name: changes to Config(); "defaults" is Config() itself
    "float32, 1 scale": dict(precision="float32", scales=1),
    "bfloat16, 1 scale": dict(precision="bfloat16", scales=1),
    "bfloat16, 1 scale, 200 steps": dict(precision="bfloat16", scales=1, steps=200),
    "bfloat16, 3 scales": dict(precision="bfloat16", scales=3),
    "L-BFGS, bfloat16, 2 scales": dict(precision="bfloat16", optimizer="lbfgs"),
    "L-BFGS, bfloat16, 2 scales, 200 steps": dict(precision="bfloat16", optimizer="lbfgs", steps=200),
    "defaults": dict(),
}


def main(argv):
    del argv
    base = Config(network="vgg16", weights=FLAGS.vgg16_weights)
    content = images.load_image(SAMPLE_CONTENT, max_size=FLAGS.size)
    style = images.load_image(SAMPLE_STYLE, max_size=FLAGS.size)
    extractors = {p: optimize.build_extractor(base.replace(precision=p)) for p in ("float32", "bfloat16")}
    evaluate = objective.Objective(extractors["float32"], content, [style], base.replace(precision="float32"))
    rows = [
        "# Choosing the defaults",
        "",
        f"`python benchmarks/choose_defaults.py`: the bundled sample at {content.shape[2]}x{content.shape[1]}, "
        "VGG16 ImageNet weights, 2-core CPU (see docs/benchmarks.md for the machine). E: normalised loss with "
        "the default weights, float32, at the final size.",
        "",
        "| configuration | steps | optimizer | scales | precision | time | E | picture |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for i, (name, changes) in enumerate(CANDIDATES.items()):
        config = base.replace(**changes)
        precision = devices.resolved_precision(config)
        start = time.perf_counter()
        result = multiscale.stylize(content, style, config, extractor=extractors[precision])
        seconds = time.perf_counter() - start
        score = float(evaluate(result)["total"])
        picture = f"images/defaults_{i}.png"
        images.save_image(os.path.join(REPO, "docs", picture), result)
        rows.append(
            f"| {name} | {config.steps} | {config.optimizer} | {config.scales} | {precision} | {seconds:.1f}s | "
            f"{score:.4f} | [png]({picture}) |"
        )
        print(rows[-1], flush=True)
    rows += [
        "",
        "How to read it: bfloat16 features cost no visible quality and ~0.6x the time of float32. A second,",
        "coarser scale costs a little E but gives larger, more painterly strokes in less time; three scales",
        "lose too much E. L-BFGS is not faster than Adam to the same E here. The defaults are the fastest",
        "candidate whose picture holds up next to the float32 one-scale picture.",
    ]
    report = "\n".join(rows) + "\n"
    print(report)
    if FLAGS.output:
        with open(FLAGS.output, "w") as f:
            f.write(report)


if __name__ == "__main__":
    app.run(main)
