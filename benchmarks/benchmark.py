"""Speed, time to quality and memory of our default configuration against the TF tutorial's method.

    python benchmarks/benchmark.py            # about 10 minutes on 2 CPU cores; writes docs/benchmarks.md

Everything is measured in the same run, on the same machine, with the same losses:
- Baseline: the TF tutorial's method (keras.optimizers.Adam, lr 0.02, beta_1 0.99, epsilon 0.1,
  content init, one size) on our normalised losses, network and weights. (Its raw loss weights do
  not stylise with VGG16, so they would make a meaningless baseline.)
- Ours: Config() defaults, with the network and weights below.
- Seconds per step at 256 and 512 px (square, VGG19, random weights: the compute does not depend on
  the weights), each precision of ours against the float32 baseline.
- Achieved GFLOP/s: FLOPs of the VGG convolutions actually run (forward + gradient w.r.t. the input,
  ~2x forward; ReLU, pooling, Gram matrices and Adam are not counted) over the measured step time,
  against a measured peak: the best of several 4096x4096 float32 matmuls in TF on this machine.
- Time to quality (real ImageNet VGG16 weights from ../shared/weights, the bundled sample at 256 px):
  the evaluation objective E is the normalised loss with the default weights at the final size, in
  float32. The baseline runs 400 steps; we time how long our default configuration takes to reach
  the baseline's final E (whole runs, model building excluded, E evaluations excluded).
- Peak memory (peak RSS, VmHWM, of a fresh process running 3 steps) at 512 and 1024 px.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this clone's package

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

from style_transfer import devices, images, multiscale, optimize, vgg  # noqa: E402
from style_transfer.config import SAMPLE_CONTENT, SAMPLE_STYLE, Config  # noqa: E402
from style_transfer.objective import Objective  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_WEIGHTS = os.path.join(REPO, "..", "shared", "weights", "vgg16_imagenet_notop.weights.h5")

flags.DEFINE_string("vgg16_weights", DEFAULT_WEIGHTS, "Real VGG16 weights for the time-to-quality run.")
flags.DEFINE_integer("baseline_steps", 400, "Steps of the baseline in the time-to-quality run.")
flags.DEFINE_integer("quality_size", 256, "Size of the time-to-quality run.")
flags.DEFINE_list("step_sizes", ["256", "512"], "Sizes of the per-step timings.")
flags.DEFINE_integer("timed_steps", 8, "Steps timed per configuration (after one warm-up step).")
flags.DEFINE_list("memory_sizes", ["512", "1024"], "Sizes of the peak-memory runs.")
flags.DEFINE_string("output", os.path.join(REPO, "docs", "benchmarks.md"), "Markdown report ('' for none).")
flags.DEFINE_string("memory_child", None, "Internal: 'SIZE,KIND' runs 3 steps and prints peak RSS.")
FLAGS = flags.FLAGS


# ---------------------------------------------------------------------------------------------
# The baseline: the TF tutorial's loop, written as the tutorial writes it.


class TutorialBaseline:
    """keras.optimizers.Adam(0.02, beta_1=0.99, epsilon=0.1) on a tf.Variable image, clipped."""

    def __init__(self, objective: Objective, image):
        self.objective = objective
        self.image = tf.Variable(image)
        self.optimizer = keras.optimizers.Adam(learning_rate=0.02, beta_1=0.99, epsilon=0.1)

    @tf.function
    def step(self):
        with tf.GradientTape() as tape:
            loss = self.objective(self.image)["total"]
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


def machine() -> str:
    model = "unknown CPU"
    family = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name") and model == "unknown CPU":
                model = line.split(":", 1)[1].strip()
            if line.startswith("cpu family") and not family:
                family = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                cpu_flags = set(line.split(":", 1)[1].split())
    simd = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in cpu_flags]
    gpus = tf.config.list_physical_devices("GPU")
    return (
        f"{model} (family {family}), {os.cpu_count()} cores, {', '.join(simd)}; "
        f"{'GPU: ' + str(gpus) if gpus else 'no GPU'}; Python {platform.python_version()}, "
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}"
    )


def measured_peak_gflops() -> float:
    a = tf.random.stateless_normal([4096, 4096], seed=[0, 1])
    b = tf.random.stateless_normal([4096, 4096], seed=[0, 2])
    matmul = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
    matmul().numpy()
    best = min(_timed(lambda: matmul().numpy()) for _ in range(5))
    return 2 * 4096**3 / best / 1e9


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


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


def seconds_per_step(kind: str, config: Config, extractor, size: int, steps: int) -> float:
    content, style = random_pair(size)
    objective = Objective(extractor, content, [style], config)
    runner = (
        TutorialBaseline(objective, content) if kind == "baseline" else optimize.Stylizer(objective, content, config)
    )
    runner.run(1)  # trace and warm up
    return _timed(lambda: runner.run(steps)) / steps


# ---------------------------------------------------------------------------------------------
# Sections


def per_step_section(rows: list[str]) -> None:
    ours = Config()
    precisions = ["float32", "bfloat16", "float16"]
    peak = measured_peak_gflops()
    rows += [
        f"Measured fp32 peak: {peak:.0f} GFLOP/s (best 4096x4096 float32 matmul in TF).",
        "",
        "| size | configuration | s/step | vs baseline | GFLOP/step | GFLOP/s | % of peak |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    extractors = {p: optimize.build_extractor(Config(weights="none", precision=p)) for p in precisions}
    for size in map(int, FLAGS.step_sizes):
        gflop = step_gflop(ours.network, ours.content_layers + ours.style_layers, size, size)
        base = seconds_per_step("baseline", Config(weights="none"), extractors["float32"], size, FLAGS.timed_steps)
        entries = [("baseline (tutorial Adam, float32)", base)]
        for precision in precisions:
            cfg = Config(weights="none", precision=precision)
            entries.append(
                (f"ours, {precision}", seconds_per_step("ours", cfg, extractors[precision], size, FLAGS.timed_steps))
            )
        jit = Config(weights="none", precision="float32", jit_compile=True)
        entries.append(("ours, float32, jit_compile", seconds_per_step("ours", jit, extractors["float32"], size, 4)))
        for name, seconds in entries:
            rows.append(
                f"| {size}x{size} | {name} | {seconds:.3f} | {base / seconds:.2f}x | {gflop:.1f} | "
                f"{gflop / seconds:.0f} | {100 * gflop / seconds / peak:.0f}% |"
            )
            print(rows[-1], flush=True)


def quality_section(rows: list[str]) -> None:
    if not os.path.isfile(FLAGS.vgg16_weights):
        rows.append(f"Time to quality: skipped, no real weights at {FLAGS.vgg16_weights}.")
        return
    size = FLAGS.quality_size
    ours = Config(network="vgg16", weights=FLAGS.vgg16_weights)
    evaluation = Config(network="vgg16", weights=FLAGS.vgg16_weights)  # float32, default loss weights
    content = images.load_image(SAMPLE_CONTENT, max_size=size)
    style = images.load_image(SAMPLE_STYLE, max_size=size)
    eval_extractor = optimize.build_extractor(evaluation)
    evaluate = Objective(eval_extractor, content, [style], evaluation)
    score = lambda image: float(evaluate(tf.constant(image))["total"])  # noqa: E731

    start = time.perf_counter()
    baseline = TutorialBaseline(Objective(eval_extractor, content, [style], evaluation), content)
    baseline_image = baseline.run(FLAGS.baseline_steps)
    baseline_seconds = time.perf_counter() - start
    target = score(baseline_image)
    print(f"baseline: E={target:.4f} after {FLAGS.baseline_steps} steps in {baseline_seconds:.1f}s", flush=True)

    extractor = eval_extractor if ours.precision == "float32" else optimize.build_extractor(ours)
    final_steps_start = ours.steps - ours.steps_per_scale()[-1]  # E is defined at the final size only
    excluded, reached = 0.0, None
    start = time.perf_counter()

    def watch(step, terms, image):
        nonlocal excluded, reached
        if step > final_steps_start and reached is None:
            t0 = time.perf_counter()
            if score(image.numpy()) <= target:
                reached = (step, t0 - start - excluded)
            excluded += time.perf_counter() - t0

    ours_image = multiscale.stylize(content, style, ours, extractor=extractor, callback=watch)
    ours_seconds = time.perf_counter() - start - excluded
    final = score(ours_image)
    reached_text = (
        f"{reached[1]:.1f}s (step {reached[0]} of {ours.steps}), "
        f"**{reached[1] / baseline_seconds:.2f}x** the baseline's time"
        if reached
        else "not reached"
    )
    rows += [
        f"Time to quality, VGG16 ImageNet weights, bundled sample at {content.shape[2]}x{content.shape[1]}:",
        "",
        "| run | steps | whole run | final E |",
        "| --- | --- | --- | --- |",
        f"| baseline (tutorial Adam) | {FLAGS.baseline_steps} | {baseline_seconds:.1f}s | {target:.4f} |",
        f"| ours (defaults) | {ours.steps} | {ours_seconds:.1f}s | {final:.4f} |",
        "",
        f"Ours reached the baseline's final E = {target:.4f} after {reached_text}.",
        "",
        "E is checked after every step at the final size only (it is not defined at coarser sizes), so",
        "with several scales the first possible check comes after all coarse steps: the time above is",
        "an upper bound. The tutorial's epsilon of 0.1 is large next to the gradients of normalised",
        "losses (mean |gradient| ~0.007 per pixel here), which is why its steps barely move the image.",
        "",
        f"| baseline after {FLAGS.baseline_steps} steps | ours (defaults) |",
        "| --- | --- |",
        "| ![baseline](images/benchmark_baseline.png) | ![ours](images/benchmark_ours.png) |",
    ]
    if FLAGS.output:  # the report's pictures, beside it
        pictures = os.path.join(os.path.dirname(FLAGS.output), "images")
        os.makedirs(pictures, exist_ok=True)
        images.save_image(os.path.join(pictures, "benchmark_baseline.png"), baseline_image)
        images.save_image(os.path.join(pictures, "benchmark_ours.png"), ours_image)
    print("\n".join(rows[-16:]), flush=True)


def memory_child(spec: str) -> None:
    size, kind = spec.split(",")
    config = Config(weights="none") if kind == "ours" else Config(weights="none", precision="float32")
    extractor = optimize.build_extractor(config)
    seconds_per_step(kind, config, extractor, int(size), 2)
    # VmHWM, not getrusage's ru_maxrss: a child started with fork + exec inherits the parent's
    # ru_maxrss (the benchmark's own few GiB), VmHWM counts this process image only.
    with open("/proc/self/status") as f:
        peak_kib = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    print(peak_kib / 1024)


def memory_section(rows: list[str]) -> None:
    rows += ["| size | configuration | peak RSS |", "| --- | --- | --- |"]
    for size in FLAGS.memory_sizes:
        for kind in ("baseline", "ours"):
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
        f"Machine: {machine()}.",
        "",
        "Produced by `python benchmarks/benchmark.py` (see its docstring for what is measured and how).",
        f"Our defaults: {ours.network}, Adam lr {ours.learning_rate}, {ours.steps} steps over {ours.scales} "
        f"scale(s), precision {ours.precision} (here: {devices.resolved_precision(ours)}).",
        "",
        "## Seconds per step (VGG19, random weights)",
        "",
    ]
    per_step_section(rows)
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
