"""A trained network against the optimisation, on photos it never saw (issue 19's quality targets).

    python benchmarks/fast_quality.py --model=runs/starry_wave/network.npz --painting=0 \\
        --style=../shared/samples/style/starry_night.jpg [--size=512] [--output=docs/fast_quality.md]
    python benchmarks/fast_quality.py            # the bundled network, painting 0 (Starry Night)
    python benchmarks/fast_quality.py --quick    # 64 px, a few steps: checks that it runs (CI)

For each photo of ../shared/samples/content (never trained on), at --size:
- the network's result and its training loss (the network's own loss: config.TrainingSetup's
  layers and weights, the painting's targets at its training style size);
- how many L-BFGS steps the optimisation needs, from the defaults' start (the recoloured photo) on
  that same loss at that one size, to reach the network's loss ("equivalent steps"; the target:
  at least 30);
- the quality figures (quality.Judge: content, style; quality.PaintingJudge: stroke, large
  stroke, fine texture, structure) of the network's result and of the optimisation's defaults'
  result (`stylize` with Config(), as a user runs it), and the seconds of each;
- checkerboard: quality.nyquist_power of each result (the spectral power of its luma at the
  Nyquist frequency), the network's against the optimisation's (no higher: no more checkerboard);
- the 4 px grid: quality.grid_motif (the amplitude of a pattern repeating on the network's
  stride-4 grid), the network's against the optimisation's.
Writes a side-by-side sheet (photo | optimisation | network per row) beside the report.
"""

from __future__ import annotations

import dataclasses
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np
from absl import app, flags
from timing import timed

SHARED = os.environ.get("STYLE_TRANSFER_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
flags.DEFINE_string("model", "starry_wave", "The network file (.npz), or a bundled network's name.")
flags.DEFINE_integer("painting", 0, "Which of the network's paintings (its index).")
flags.DEFINE_string("style", None, "That painting's image, as trained on (default: the bundled Starry Night).")
flags.DEFINE_integer("size", 512, "Longer side of every result.")
flags.DEFINE_integer("max_steps", 200, "The most L-BFGS steps tried for the equivalent step count.")
flags.DEFINE_bool("quick", False, "64 px, 3 steps at most, 4-step optimisation runs: checks that it runs (seconds).")
flags.DEFINE_string("vgg16_weights", os.path.join(SHARED, "weights", "vgg16_imagenet_notop.weights.h5"), "Weights.")
flags.DEFINE_string("samples", os.path.join(SHARED, "samples", "content"), "The held-out photos.")
flags.DEFINE_list("content_layers", None, "The network's training content layers (default: TrainingSetup's).")
flags.DEFINE_float("style_weight", None, "The network's training style weight (default: TrainingSetup's).")
flags.DEFINE_string("output", None, "Markdown report (and its sheet, .jpg beside it); default: print only.")
FLAGS = flags.FLAGS


class Reached(Exception):
    """The optimisation reached the network's loss at `step`: the equivalent step search stops there."""

    def __init__(self, step: int):
        super().__init__(step)
        self.step = step


def main(argv):
    del argv
    import tensorflow as tf

    from style_transfer import devices, images, losses, multiscale, networks, quality, targets, training, transformer
    from style_transfer.config import Config, TrainingSetup
    from style_transfer.samples import SAMPLE_STYLE

    size, max_steps = (64, 3) if FLAGS.quick else (FLAGS.size, FLAGS.max_steps)
    style_path = FLAGS.style or SAMPLE_STYLE
    setup = TrainingSetup()  # the loss the network was trained with: the defaults', or the flags'
    changes = {"content_layers": tuple(FLAGS.content_layers)} if FLAGS.content_layers else {}
    changes.update({"style_weight": FLAGS.style_weight} if FLAGS.style_weight is not None else {})
    setup = dataclasses.replace(setup, loss=dataclasses.replace(setup.loss, **changes))
    network, header = networks.load_network(FLAGS.model)
    blend = transformer.painting_alone(network, FLAGS.painting)
    painting = images.load_image(style_path, max_size=64 if FLAGS.quick else setup.train.style_size)
    extractor = training.extractor_for_training(
        setup.features.__class__(network="vgg16", weights=FLAGS.vgg16_weights), setup.loss, "float32"
    )
    style_targets = targets.build_style_targets(extractor, [painting], setup.loss)
    judge_extractor = quality.build_judge_extractor("vgg16", FLAGS.vgg16_weights)
    painting_extractor = quality.build_painting_judge_extractor("vgg16", FLAGS.vgg16_weights)
    config = Config(
        network="vgg16", weights=FLAGS.vgg16_weights, max_size=size, **({"steps": 4} if FLAGS.quick else {})
    )
    same_loss = config.replace(loss=setup.loss, scales=1, steps=max_steps, precision="float32", jit_compile="false")
    style_for_runs = images.load_image(style_path, max_size=size)

    def training_loss(photo, image):
        content, style = targets.for_photos(extractor(photo), style_targets, setup.loss)
        return float(losses.loss_terms(extractor(image), content, style, image, setup.loss)["total"][0])

    loss_flags = f" --content_layers={','.join(FLAGS.content_layers)}" if FLAGS.content_layers else ""
    loss_flags += f" --style_weight={FLAGS.style_weight:g}" if FLAGS.style_weight is not None else ""
    lines = [
        f"# {os.path.basename(FLAGS.model)} (painting {header['paintings'][FLAGS.painting]}) against the optimisation",
        "",
        f"`python benchmarks/fast_quality.py --model={FLAGS.model} --painting={FLAGS.painting} "
        f"--style={style_path} --size={size}{' --quick' if FLAGS.quick else ''}{loss_flags} "
        f"--max_steps={max_steps}` on {devices.describe_machine()}.",
        "",
        "| photo | network s | optimisation s | network loss | equivalent L-BFGS steps | content (net / opt) | "
        "style | stroke | large stroke | fine texture | structure | Nyquist power (net / opt) | 4 px grid |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    rows = []
    for name in sorted(os.listdir(FLAGS.samples)):
        photo = images.load_image(os.path.join(FLAGS.samples, name), max_size=size)
        transformer.stylize(network, photo, blend)  # warm
        fast_seconds, fast = timed(lambda: np.asarray(transformer.stylize(network, photo, blend)))  # noqa: B023
        target = training_loss(photo, tf.constant(fast))

        def watch(step, terms, image, target=target):
            if float(terms["total"]) <= target:  # one photo: a number
                raise Reached(step)  # the count is known: the remaining steps would change nothing

        try:
            multiscale.stylize(photo, painting, same_loss, callback=watch)
            equivalent = f"> {max_steps}"
        except Reached as reached:
            equivalent = str(reached.step)
        slow_seconds, slow = timed(lambda: np.asarray(multiscale.stylize(photo, style_for_runs, config)))  # noqa: B023
        judge = quality.Judge(judge_extractor, photo, style_for_runs)
        painted = quality.PaintingJudge(painting_extractor, photo, style_for_runs)
        a, b = judge(fast), judge(slow)
        p, q = painted(fast), painted(slow)
        cells = [
            f"{a.content:.3f} / {b.content:.3f}",
            f"{a.style:.3f} / {b.style:.3f}",
            f"{p.stroke:.3f} / {q.stroke:.3f}",
            f"{p.large_stroke:.3f} / {q.large_stroke:.3f}",
            f"{p.fine_texture:.3f} / {q.fine_texture:.3f}",
            f"{p.structure:.3f} / {q.structure:.3f}",
            f"{quality.nyquist_power(fast):.3g} / {quality.nyquist_power(slow):.3g}",
            f"{quality.grid_motif(fast):.4f} / {quality.grid_motif(slow):.4f}",
        ]
        lines.append(
            f"| {name} | {fast_seconds:.3f} | {slow_seconds:.1f} | {target:.4f} | {equivalent} | "
            + " | ".join(cells)
            + " |"
        )
        print(lines[-1], flush=True)
        height = min(photo.shape[1], slow.shape[1], fast.shape[1])
        rows.append(np.concatenate([photo[0][:height], slow[0][:height], fast[0][:height]], axis=1))
    text = "\n".join(lines) + "\n"
    if FLAGS.output:
        width = min(row.shape[1] for row in rows)
        sheet = np.concatenate([row[:, :width] for row in rows], axis=0)
        sheet_path = os.path.splitext(FLAGS.output)[0] + ".jpg"
        images.save_image(sheet_path, sheet[None])
        with open(FLAGS.output, "w") as f:
            f.write(text + f"\n![photo, optimisation, network]({os.path.basename(sheet_path)})\n")
    print(text)


if __name__ == "__main__":
    app.run(main)
