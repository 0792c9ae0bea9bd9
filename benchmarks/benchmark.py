"""Speed, time to quality and memory of our default configuration against two baselines.

    python benchmarks/benchmark.py     # 8-15 minutes on 2 CPU cores; writes docs/benchmarks.md

Everything is measured in the same run, on the same machine, with the same losses:
- Baselines: the TF tutorial's loop (a tf.Variable image, keras.optimizers.Adam, clipped), content
  init, one size, 400 steps, on our normalised losses:
  "tutorial": Adam(0.02, beta_1=0.99, epsilon=0.1), the tutorial's settings: the reference step of
  the per-step timings. Not in the time-to-quality runs: its epsilon of 0.1 swamps the gradients
  of normalised losses, so it barely changes the photo (content figure 0.16, style 0.80), a
  content figure nothing that stylises can match.
  "keras_adam": Adam(0.02) with Keras' standard betas and epsilon, on the loss the issue set:
  weights 1/1/1, style normalised by the painting's Gram norm only (a mild stylisation);
  "keras_adam_defaults": the same optimiser on the defaults' loss (photo-normalised).
  (The tutorial's raw loss weights do not stylise with VGG16, so they would make a meaningless
  baseline.)
- Ours: Config() defaults ("ours", against keras_adam_defaults), and the same with the style weight
  lowered to keras_adam's level of stylisation ("ours_matched", against keras_adam, see MATCHED).
- Seconds per step at 256 and 512 px (square, VGG19, random weights: the compute does not depend on
  the weights), each precision of ours against the float32 tutorial step. Each configuration runs
  one untimed warm-up step, then timed steps until --timed_seconds have passed (at least 2, at
  most --timed_steps). A reduced precision that `auto` would not choose here (emulated, 6-10x
  slower) is timed at the smallest size only.
- Achieved GFLOP/s: FLOPs of the VGG convolutions actually run (forward + gradient w.r.t. the input,
  ~2x forward; ReLU, pooling, Gram matrices and Adam are not counted) over the measured step time,
  against a measured peak: the best of several 4096x4096 float32 matmuls in TF on this machine.
- Time to quality (real ImageNet VGG16 weights from ../shared/weights, the bundled sample at 256 px,
  float32 whatever `auto` would pick, so that the figure holds on CPUs without bfloat16): whole
  runs, tracing and compiling included, model building excluded. Quality is the two figures of
  style_transfer/quality.py (content kept, style reached, at layers the losses do not use); ours
  reaches a baseline's quality only if it is as good on both.
- The fixed cost of a run: whole runs at 64 px less their steps, with one scale and three; and the
  XLA probe's cost at 512 px (what jit_compile "auto" no longer pays on AVX-512 CPUs).
- Peak memory (peak RSS, VmHWM, of a fresh process running 2 steps) at 512 and 1024 px, and with
  --tiled_memory_sizes, of ours tile by tile (tiles.py, tiles of 512 px; L-BFGS and Adam) there.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this clone's package

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402
from timing import peak_rss_mib, timed  # noqa: E402

from style_transfer import devices, images, multiscale, quality, step, tiles, vgg  # noqa: E402
from style_transfer.config import Config  # noqa: E402
from style_transfer.geometry import Geometry  # noqa: E402
from style_transfer.objective import Objective  # noqa: E402
from style_transfer.samples import SAMPLE_CONTENT, SAMPLE_STYLE  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_WEIGHTS = os.path.join(REPO, "..", "shared", "weights", "vgg16_imagenet_notop.weights.h5")

flags.DEFINE_string("vgg16_weights", DEFAULT_WEIGHTS, "Real VGG16 weights for the time-to-quality run.")
flags.DEFINE_integer("baseline_steps", 400, "Steps of the baseline in the time-to-quality run.")
flags.DEFINE_integer("quality_size", 256, "Size of the time-to-quality run.")
flags.DEFINE_list("step_sizes", ["256", "512"], "Sizes of the per-step timings.")
flags.DEFINE_integer("timed_steps", 8, "At most this many steps timed per configuration (after a warm-up step).")
flags.DEFINE_float("timed_seconds", 4.0, "Stop timing a configuration after this long (at least 2 steps).")
flags.DEFINE_list("memory_sizes", ["512", "1024"], "Sizes of the peak-memory runs.")
flags.DEFINE_string("output", os.path.join(REPO, "docs", "benchmarks.md"), "Markdown report ('' for none).")
flags.DEFINE_list(
    "tiled_memory_sizes", [], "Also the peak memory of ours with --tile_size=512 at these sizes (e.g. 1024,2048)."
)
flags.DEFINE_string("memory_child", None, "Internal: 'SIZE,KIND' runs 2 steps and prints peak RSS.")
FLAGS = flags.FLAGS


# ---------------------------------------------------------------------------------------------
# The baseline: the TF tutorial's loop, written as the tutorial writes it.


# Keras Adam settings of each baseline (see the docstring).
BASELINES = {
    "tutorial": dict(learning_rate=0.02, beta_1=0.99, epsilon=0.1),
    "keras_adam": dict(learning_rate=0.02),
}


class AdamBaseline:
    """keras.optimizers.Adam(**settings) on a tf.Variable image, clipped, as the tutorial writes it."""

    def __init__(self, objective: Objective, image, **settings):
        self.objective = objective
        self.image = tf.Variable(image)
        self.optimizer = keras.optimizers.Adam(**(settings or BASELINES["tutorial"]))

    @tf.function
    def step(self):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(self.objective(self.image)["total"])  # one image: its loss
        grad = tape.gradient(loss, self.image)
        self.optimizer.apply_gradients([(grad, self.image)])
        self.image.assign(tf.clip_by_value(self.image, 0.0, 1.0))
        return loss

    def run(self, steps: int) -> np.ndarray:
        for _ in range(steps):
            self.step()
        return self.image.numpy()


# ---------------------------------------------------------------------------------------------
# Helpers


def precision_of(config: Config) -> str:
    """The precision `config` computes VGG features in on this machine."""
    return devices.resolved_precision(config.runtime.precision)


def measured_peak_gflops() -> float:
    a = tf.random.stateless_normal([4096, 4096], seed=[0, 1])
    b = tf.random.stateless_normal([4096, 4096], seed=[0, 2])
    matmul = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
    matmul().numpy()
    best = min(timed(lambda: matmul().numpy())[0] for _ in range(5))
    return 2 * 4096**3 / best / 1e9


def step_gflop(network: str, layers, height: int, width: int) -> float:
    """Forward + input-gradient FLOPs of the convolutions up to the deepest layer in `layers`."""
    names = vgg.LAYER_NAMES[network]
    deepest = max(names.index(n) for n in layers)
    flop, h, w, channels = 0, height, width, 3
    widths = {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}
    for name in names[: deepest + 1]:
        block = int(name[5])
        if name.endswith("pool"):
            h, w = h // 2, w // 2
            continue
        flop += 2 * h * w * 9 * channels * widths[block]
        channels = widths[block]
    return 2 * flop / 1e9


def random_pair(size: int):
    rng = np.random.default_rng(0)
    return rng.random((1, size, size, 3), np.float32), rng.random((1, size, size, 3), np.float32)


def seconds_per_step(kind: str, config: Config, extractor, size: int, max_steps: int, max_seconds: float) -> float:
    """One untimed warm-up step (tracing), then timed steps until max_seconds (>= 2, <= max_steps)."""
    content, style = random_pair(size)
    geometry = Geometry.of(config)
    if geometry.tiled(size, size):
        objective = tiles.TiledObjective(
            extractor, content, [style], config.loss, geometry.tile_size, geometry.tile_overlap
        )
    else:
        objective = Objective.of_images(extractor, content, [style], config.loss)
    runner = (
        AdamBaseline(objective, content)
        if kind == "baseline"
        else step.ImageOptimizer(objective, content, config.optim, config.runtime.jit_compile == "true")
    )
    runner.run(1)  # trace and warm up
    times = []
    while len(times) < max_steps and (len(times) < 2 or sum(times) < max_seconds):
        times.append(timed(lambda: runner.run(1))[0])
    return sum(times) / len(times)


# ---------------------------------------------------------------------------------------------
# Sections


def per_step_section(rows: list[str]) -> None:
    ours = Config()
    native = precision_of(ours)  # what `auto` runs here
    precisions = ["float32", "bfloat16", "float16"]
    peak = measured_peak_gflops()
    rows += [
        f"Measured fp32 peak: {peak:.0f} GFLOP/s (best 4096x4096 float32 matmul in TF).",
        "",
        "| size | configuration | s/step | vs baseline | GFLOP/step | GFLOP/s | % of peak |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    extractors = {p: vgg.extractor_for(Config(weights="none", precision=p)) for p in precisions}
    sizes = list(map(int, FLAGS.step_sizes))
    timed = lambda kind, cfg, size: seconds_per_step(  # noqa: E731
        kind, cfg, extractors[cfg.runtime.precision], size, FLAGS.timed_steps, FLAGS.timed_seconds
    )
    for size in sizes:
        gflop = step_gflop(ours.features.network, ours.loss.layers(), size, size)
        plain = Config(weights="none", precision="float32", jit_compile="false")
        base = timed("baseline", plain, size)
        entries, skipped = [("baseline (tutorial Adam, float32)", base)], []
        for precision in precisions:
            if precision not in ("float32", native) and size != min(sizes):
                skipped.append(
                    f"| {size}x{size} | ours, {precision} | not timed: emulated here, see {min(sizes)} px | | | | |"
                )
                continue
            try:
                entries.append((f"ours, {precision}", timed("ours", plain.replace(precision=precision), size)))
            except tf.errors.OpError as error:  # e.g. no bfloat16 kernel under ONEDNN_MAX_CPU_ISA=AVX2
                lines = str(error.message).strip().splitlines()
                reason = next((line for line in lines if "message:" in line), lines[0])  # oneDNN's own words
                reason = reason.split("message:")[-1].split(". Run")[0].strip()[:120].replace("|", "/")
                skipped.append(f"| {size}x{size} | ours, {precision} | failed here: {reason} | | | | |")
                print(skipped[-1], flush=True)
        entries.append(("ours, float32, jit_compile", timed("ours", plain.replace(jit_compile="true"), size)))
        for name, seconds in entries:
            rows.append(
                f"| {size}x{size} | {name} | {seconds:.3f} | {base / seconds:.2f}x | {gflop:.1f} | "
                f"{gflop / seconds:.0f} | {100 * gflop / seconds / peak:.0f}% |"
            )
            print(rows[-1], flush=True)
        rows += skipped


# Our method at the `keras_adam` baseline's level of stylisation (its weights 1/1/1 stylise mildly):
# the faithful end of the abstraction control (the defaults before issue 18) with the style weight
# lowered to 1.7, the comparison of speed at an equal trade-off between content and style.
MATCHED = dict(abstraction=0.0, style_weight=1.7)


def quality_section(rows: list[str]) -> None:
    if not os.path.isfile(FLAGS.vgg16_weights):
        rows.append(f"Time to quality: skipped, no real weights at {FLAGS.vgg16_weights}.")
        return
    size = FLAGS.quality_size
    ours = Config(network="vgg16", weights=FLAGS.vgg16_weights, precision="float32")
    # The issue's baseline loss: weights 1/1/1, each style layer relative to the painting's Gram norm
    # only, whatever our defaults become. And the defaults' own loss, single scale, content start.
    issue_loss = ours.replace(
        content_weight=1.0, style_weight=1.0, tv_weight=1.0, scales=1, style_normalization="painting"
    )
    defaults_loss = ours.replace(scales=1)
    baselines = {  # name: (Keras Adam settings, loss)
        "keras_adam": (BASELINES["keras_adam"], issue_loss),
        "keras_adam_defaults": (BASELINES["keras_adam"], defaults_loss),
    }
    runs = {"ours": ours, "ours_matched": ours.replace(**MATCHED)}
    compared = {"keras_adam": "ours_matched", "keras_adam_defaults": "ours"}  # baseline: same trade-off

    content = images.load_image(SAMPLE_CONTENT, max_size=size)
    style = images.load_image(SAMPLE_STYLE, max_size=size)
    extractor = vgg.extractor_for(ours)
    judge = quality.Judge(quality.build_judge_extractor("vgg16", FLAGS.vgg16_weights), content, style)
    painting_judge = quality.PaintingJudge(
        quality.build_painting_judge_extractor("vgg16", FLAGS.vgg16_weights), content, style
    )
    pictures = os.path.join(os.path.dirname(FLAGS.output or "."), "images")
    if FLAGS.output:
        os.makedirs(pictures, exist_ok=True)

    results = {}  # name: (seconds, figures)
    painting_figures = {}  # name: quality.PaintingFigures

    def record(name, seconds, image):
        results[name] = (seconds, judge(image))
        painting_figures[name] = painting_judge(image)
        print(f"{name}: {seconds:.1f}s {results[name][1]} {painting_figures[name]}", flush=True)
        if FLAGS.output:
            images.save_image(os.path.join(pictures, f"benchmark_{name}.png"), image)

    for name, (settings, loss) in baselines.items():
        objective = Objective.of_images(extractor, content, [style], loss.loss)
        record(name, *timed(lambda: AdamBaseline(objective, content, **settings).run(FLAGS.baseline_steps)))  # noqa: B023
    for name, config in runs.items():
        record(name, *timed(lambda: multiscale.stylize(content, style, config, extractor=extractor)))  # noqa: B023

    def plan(config):
        return " + ".join(str(scale.steps) for scale in Geometry.of(config).plan(*content.shape[1:3]))

    rows += [
        f"Bundled sample at {content.shape[2]}x{content.shape[1]}, VGG16 ImageNet weights, float32, whole runs "
        "(tracing included).",
        "Figures: lower is better (content: feature error against the photo; style: Gram error against the",
        "painting; both at layers the losses do not use, see style_transfer/quality.py). Each baseline is",
        "compared with our run at the same trade-off between content and style. The four figures that see",
        "painting (docs/figures.md) follow: stroke and large stroke (lower = the painting's strokes and",
        "shapes), fine texture (lower = the photo's 2-6 px texture replaced), structure (higher = its shapes kept).",
        "",
        "| run | loss | steps | whole run | content figure | style figure | vs | time | as good on both? "
        "| stroke | large stroke | fine texture | structure |",
        "| --- " * 13 + "|",
    ]
    losses_shown = {
        "keras_adam": "1/1/1, painting-normalised",
        "keras_adam_defaults": f"the defaults' (style {ours.loss.style_weight})",
        "ours": "the defaults'",
        "ours_matched": f"the defaults' with {', '.join(f'{k} {v}' for k, v in MATCHED.items())}",
    }
    for name in baselines:
        seconds, figures = results[name]
        mine = compared[name]
        my_seconds, my_figures = results[mine]
        better = lambda a, b: "better" if a <= b else "worse"  # noqa: E731
        both = my_figures.content <= figures.content and my_figures.style <= figures.style
        verdict = (
            "yes"
            if both
            else f"no: content {better(my_figures.content, figures.content)}, "
            f"style {better(my_figures.style, figures.style)}"
        )
        rows.append(
            f"| baseline `{name}` | {losses_shown[name]} | {FLAGS.baseline_steps} | {seconds:.1f}s | "
            f"{figures.content:.3f} | {figures.style:.3f} | `{mine}` | **{my_seconds / seconds:.2f}x** | {verdict} | "
            + _painting_cells(painting_figures[name])
        )
    for name, config in runs.items():
        seconds, figures = results[name]
        rows.append(
            f"| `{name}` | {losses_shown[name]} | {config.schedule.steps} ({plan(config)}) | {seconds:.1f}s | "
            f"{figures.content:.3f} | {figures.style:.3f} | | | | " + _painting_cells(painting_figures[name])
        )
    rows += [
        "",
        "| " + " | ".join(f"`{name}`" for name in results) + " |",
        "| --- " * len(results) + "|",
        "| " + " | ".join(f"![{name}](images/benchmark_{name}.png)" for name in results) + " |",
    ]
    print("\n".join(rows[-14:]), flush=True)


def fixed_cost_section(rows: list[str]) -> None:
    """What a run costs besides its steps: whole runs of the defaults at 64 px (VGG19, random
    weights, precision auto) with one and with three scales, at two step counts each; the fixed
    cost is the whole run less the steps (the per-step time from the difference of the two runs).
    Then the XLA probe: the same 512 px scale with the probe (jit None) and without XLA."""
    content, style = random_pair(64)
    rows += ["| run | scales | steps | whole run | per step | fixed cost |", "| --- | --- | --- | --- | --- | --- |"]
    for scales in (1, 3):
        config = Config(weights="none", max_size=64, scales=scales, min_scale_size=0, coarse_share=2 / 3)
        extractor = vgg.extractor_for(config)
        multiscale.stylize(content, style, config.replace(steps=3 * scales), extractor=extractor)  # warm the process
        few, many = 3 * scales, 33 * scales
        runs = {}
        for steps in (few, many):
            runs[steps], _ = timed(
                lambda: multiscale.stylize(content, style, config.replace(steps=steps), extractor=extractor)  # noqa: B023
            )
        per_step = (runs[many] - runs[few]) / (many - few)
        for steps, seconds in runs.items():
            rows.append(
                f"| 64 px, defaults | {scales} | {steps} | {seconds:.2f}s | {per_step * 1000:.1f} ms | "
                f"{seconds - steps * per_step:.2f}s |"
            )
            print(rows[-1], flush=True)
    config = Config(weights="none", max_size=512)
    extractor = vgg.extractor_for(config)
    content, style = random_pair(512)
    objective = Objective.of_images(extractor, content, [style], config.loss)
    precision = devices.resolved_precision(config.runtime.precision)
    times = {}
    for jit in (False, None):
        optimizer = step.ImageOptimizer(objective, content, config.optim, jit, devices.loss_scale(precision))
        times[jit], _ = timed(lambda: optimizer.run(14))  # noqa: B023
    rows += [
        "",
        f"XLA probe at 512x512 ({precision} features, 14 L-BFGS steps): {times[None]:.1f}s with the probe "
        f"(jit_compile auto before issue 18), {times[False]:.1f}s without XLA: the probe costs "
        f"{times[None] - times[False]:.1f}s. `auto` here now means: {_auto_jit_words()}.",
    ]
    print(rows[-1], flush=True)


def _auto_jit_words() -> str:
    decided = devices.resolved_jit("auto")
    return {True: "XLA, no probe", False: "no XLA, no probe", None: "the probe"}[decided]


def _painting_cells(figures: quality.PaintingFigures) -> str:
    return f"{figures.stroke:.3f} | {figures.large_stroke:.3f} | {figures.fine_texture:.3f} | {figures.structure:.3f} |"


def memory_child(spec: str) -> None:
    size, kind = spec.split(",", 1)
    # Ours at the defaults' precision, without XLA (the probe of jit_compile=auto would compile both).
    config = Config(weights="none", jit_compile="false")
    config = config.replace(tile_size=512) if "tiles of 512 px" in kind else config
    config = config.replace(optimizer="adam") if kind.endswith("adam") else config
    config = config if kind.startswith("ours") else config.replace(precision="float32")
    extractor = vgg.extractor_for(config)
    seconds_per_step(kind, config, extractor, int(size), 1, 0.0)  # a warm-up step, then 1 timed
    print(peak_rss_mib())  # VmHWM: this process image's own peak, not the parent's (timing.py)


def memory_section(rows: list[str]) -> None:
    rows += ["| size | configuration | peak RSS |", "| --- | --- | --- |"]
    runs = [(size, kind) for size in FLAGS.memory_sizes for kind in ("baseline", "ours")]
    tiled = ("ours, tiles of 512 px", "ours, tiles of 512 px, adam")
    runs += [(size, kind) for size in FLAGS.tiled_memory_sizes for kind in tiled]
    for size, kind in runs:
        result = subprocess.run(
            [sys.executable, __file__, f"--memory_child={size},{kind}"], capture_output=True, text=True, check=True
        )
        mib = float(result.stdout.strip().splitlines()[-1])
        rows.append(f"| {size}x{size} | {kind} | {mib:.0f} MiB |")
        print(rows[-1], flush=True)


def main(argv):
    del argv
    if FLAGS.memory_child:
        memory_child(FLAGS.memory_child)
        return
    started = time.perf_counter()
    ours = Config()
    rows = [
        "# Benchmarks",
        "",
        f"Machine: {devices.describe_machine()}.",
        "",
        "Produced by `python benchmarks/benchmark.py` (see its docstring for what is measured and how).",
        f"Our defaults (abstraction {ours.style.abstraction}): {ours.features.network}, {ours.optim.optimizer} "
        f"from the {ours.schedule.init} photo, style {ours.loss.style_weight}, {ours.schedule.steps} steps over up "
        f"to {ours.schedule.scales} scale(s) of at least {ours.schedule.min_scale_size} px, keep_detail "
        f"{ours.schedule.keep_detail}, precision {ours.runtime.precision} (here: {precision_of(ours)}).",
        "",
        "## Seconds per step (VGG19, random weights)",
        "",
    ]
    per_step_section(rows)
    rows += ["", "## The fixed cost of a run", ""]
    fixed_cost_section(rows)
    rows += ["", "## Time to quality", ""]
    quality_section(rows)
    rows += ["", "## Peak memory (VGG19, float32 unless the defaults say otherwise)", ""]
    memory_section(rows)
    rows += ["", f"Whole benchmark: {time.perf_counter() - started:.0f}s."]
    report = "\n".join(rows) + "\n"
    print(report)
    if FLAGS.output:
        with open(FLAGS.output, "w") as f:
            f.write(report)


if __name__ == "__main__":
    app.run(main)
