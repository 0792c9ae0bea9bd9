"""What our accelerator paths do on this machine: speed per precision and XLA, whole runs, an exported
model's request, device memory, and each reduced precision's result against float32.

    python benchmarks/gpu_report.py            # on a GPU machine: ~5-6 minutes; writes docs/gpu.md
    python benchmarks/gpu_report.py --quick    # tiny sizes, seconds, any machine (CI runs it)

It runs on a CPU too (no device memory figures there); every figure says which device made it.
Sections, each written to the report as soon as it is done (a run cut short keeps what it finished):
- Machine: the GPU's name and compute capability, TensorFlow's CUDA / cuDNN build versions, what
  `--precision=auto` picks here.
- Seconds per step at --step_size (512 px): the defaults' optimiser (L-BFGS), VGG19 with random
  weights (the compute does not depend on the weights), float32 / bfloat16 / float16, each with and
  without `jit_compile`; one untimed warm-up step (tracing, XLA compile, cuDNN autotuning), then
  timed steps until --timed_seconds (at least 2, at most --timed_steps). A configuration that fails
  (say, XLA without ptxas) is reported with its error's first line and the others go on.
- Reduced precision against float32 (real ImageNet VGG16 weights from --vgg16_weights, the bundled
  sample at --quality_size, the defaults otherwise): for each precision, the whole run's time, the
  loss reached (the float32 objective evaluated on each result, so the figures compare), the two
  quality figures of style_transfer/quality.py, and the largest and mean pixel difference from the
  float32 result (in 0-255 steps). This is what `auto`'s choice rests on.
- Whole default runs at --run_size (VGG19, random weights, the defaults' precision and
  jit_compile=auto): Config() as it is, and with --long_steps steps.
- An exported SavedModel (style_transfer.export, the defaults at --export_size): its
  `serving_default` called with one PNG pair; the first request (graph warm-up) and the next.
- Peak device memory (tf.config.experimental.get_memory_info, after resetting its statistics) of
  2 default steps at each of --memory_sizes; "out of memory" where the device has too little.
- Batches (folder mode's --batch_size): s/step at --step_size for N photos optimised together, at
  each of --batch_sizes, with and without XLA, and photos per second against a batch of 1.
- Several devices: whole default runs of a batch at --run_size through the default path and through
  the in-graph loop that --distribution_strategy runs (one_device; mirrored where there are
  several GPUs), each called twice (the first call traces and compiles).
- Fast networks (issue 19): frames per second of one forward pass (a tf.function taking any size,
  median of --network_repeats warm calls) at 512x512, 1920x1080 and 3840x2160, per width (0.5, the
  shipped network's, and 1) in float32 and in the mixed policy of `--precision=auto`'s pick; and
  training steps per second (training.Trainer, batch 4 of 256 px crops, VGG16 with random weights,
  auto's precision), the first step (tracing) untimed.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this clone's package

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags, logging  # noqa: E402
from timing import median_seconds, timed  # noqa: E402

from style_transfer import devices, distribute, export, images, multiscale, quality, rest, step, vgg  # noqa: E402
from style_transfer.config import Config  # noqa: E402
from style_transfer.errors import NonFiniteLossError  # noqa: E402
from style_transfer.geometry import Geometry  # noqa: E402
from style_transfer.objective import Objective  # noqa: E402
from style_transfer.samples import SAMPLE_CONTENT, SAMPLE_STYLE  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_WEIGHTS = os.path.join(REPO, "..", "shared", "weights", "vgg16_imagenet_notop.weights.h5")
PRECISIONS = ("float32", "bfloat16", "float16")

flags.DEFINE_bool("quick", False, "Tiny sizes and few steps: checks that every section runs (seconds).")
flags.DEFINE_string("output", os.path.join(REPO, "docs", "gpu.md"), "Markdown report ('' for none).")
flags.DEFINE_string("vgg16_weights", DEFAULT_WEIGHTS, "Real VGG16 weights for the precision comparison.")
flags.DEFINE_integer("step_size", 512, "Image size of the per-step timings.")
flags.DEFINE_integer("timed_steps", 20, "At most this many timed steps per configuration.")
flags.DEFINE_float("timed_seconds", 3.0, "Stop timing a configuration after this long (at least 2 steps).")
flags.DEFINE_integer("quality_size", 512, "Image size of the precision comparison.")
flags.DEFINE_integer("run_size", 512, "Image size of the whole default runs.")
flags.DEFINE_integer("long_steps", 500, "Steps of the long whole run.")
flags.DEFINE_integer("export_size", 512, "max_size of the exported model.")
flags.DEFINE_string("pictures", "", "Folder for the precision comparison's results as PNGs ('' for none).")
flags.DEFINE_list("memory_sizes", ["512", "1024", "2048"], "Sizes of the peak-memory runs.")
flags.DEFINE_list("batch_sizes", ["1", "2", "4", "8"], "Batch sizes of the batch throughput section.")
flags.DEFINE_list("sections", [], "Only these sections, by number (1: per step ... 8: networks); default all.")
flags.DEFINE_integer("network_repeats", 20, "Warm calls timed per network size (the median is reported).")
FLAGS = flags.FLAGS

# --quick: every section at sizes a CPU runs in seconds.
QUICK = dict(
    step_size=64,
    timed_steps=2,
    timed_seconds=0.0,
    quality_size=64,
    run_size=64,
    long_steps=4,
    export_size=64,
    memory_sizes=["64"],
    batch_sizes=["1", "2"],
    network_repeats=2,
    precisions=("float32", "bfloat16"),  # float16 takes the same code path (CI's tests cover its loss scaling)
)
NETWORK_SIZES = {"512x512": (512, 512), "1920x1080": (1080, 1920), "3840x2160": (2160, 3840)}
QUICK_NETWORK_SIZES = {"64x64": (64, 64), "96x64": (64, 96)}


@dataclasses.dataclass
class Settings:
    step_size: int
    timed_steps: int
    timed_seconds: float
    quality_size: int
    run_size: int
    long_steps: int
    export_size: int
    memory_sizes: list[int]
    batch_sizes: list[int]
    network_repeats: int
    steps: int | None  # whole runs' steps (None: the defaults')
    quick: bool = False
    precisions: tuple[str, ...] = PRECISIONS  # of the per-step and reduced-precision sections

    @classmethod
    def from_flags(cls) -> Settings:
        values = {
            f.name: getattr(FLAGS, f.name)
            for f in dataclasses.fields(cls)
            if f.name not in ("steps", "quick", "precisions")
        }
        if FLAGS.quick:
            values.update(QUICK)
        values["memory_sizes"] = [int(s) for s in values["memory_sizes"]]
        values["batch_sizes"] = [int(s) for s in values["batch_sizes"]]
        return cls(**values, steps=4 if FLAGS.quick else None, quick=FLAGS.quick)


def precision_of(config: Config) -> str:
    """The precision `config` computes VGG features in on this machine."""
    return devices.resolved_precision(config.runtime.precision)


def first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:160] if text else ''}"


def gpu_name() -> str | None:
    gpus = tf.config.list_physical_devices("GPU")
    return gpus[0].name.replace("/physical_device:", "") if gpus else None


# ---------------------------------------------------------------------------------------------
# Sections: each appends markdown lines to `rows` and prints them.


def machine_section(rows: list[str]) -> None:
    build = tf.sysconfig.get_build_info()
    rows += [
        f"Machine: {devices.describe_machine()}.",
        "",
        f"TensorFlow built with CUDA {build.get('cuda_version', 'none')}, cuDNN {build.get('cudnn_version', 'none')}; "
        f"`--precision=auto` picks **{devices.resolved_precision(Config().runtime.precision)}** here. TensorFloat-32 "
        f"{'on' if tf.config.experimental.tensor_float_32_execution_enabled() else 'off'} "
        "(TensorFlow's default: on GPUs of compute capability 8.0+, 'float32' convolutions and matmuls "
        "then round their inputs to 10 mantissa bits).",
    ]
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        rows.append(f"- {gpu.name}: {details}")


def per_step_section(rows: list[str], settings: Settings) -> None:
    size = settings.step_size
    rng = np.random.default_rng(0)
    content, style = (rng.random((1, size, size, 3), np.float32) for _ in range(2))
    rows += [
        f"VGG19 (random weights), {size}x{size}, the defaults' optimiser ({Config().optim.optimizer}); "
        "s/step after a warm-up step.",
        "",
        "| precision | jit_compile | s/step | vs float32 without XLA | steps timed |",
        "| --- | --- | --- | --- | --- |",
    ]
    reference = None
    for precision in settings.precisions:
        config = Config(weights="none", precision=precision)
        try:
            extractor = vgg.extractor_for(config)
        except Exception as e:  # noqa: BLE001 - a report row, not a crash
            rows.append(f"| {precision} | | failed: {first_line(e)} | | |")
            continue
        # --quick compiles XLA for float32 only: each XLA compile costs seconds on a CPU.
        for jit in (False, True) if not settings.quick or precision == "float32" else (False,):
            try:
                stylizer = step.ImageOptimizer(
                    Objective.of_images(extractor, content, [style], config.loss), content, config.optim, jit
                )
                stylizer.step()  # trace, compile, autotune
                times = []
                while len(times) < settings.timed_steps and (len(times) < 2 or sum(times) < settings.timed_seconds):
                    times.append(timed(stylizer.step)[0])
                seconds = float(np.median(times))
                reference = seconds if reference is None and precision == "float32" and not jit else reference
                ratio = f"{reference / seconds:.2f}x" if reference else ""
                rows.append(f"| {precision} | {jit} | {seconds:.4f} | {ratio} | {len(times)} |")
            except Exception as e:  # noqa: BLE001
                rows.append(f"| {precision} | {jit} | failed: {first_line(e)} | | |")
            print(rows[-1], flush=True)


def precision_section(rows: list[str], settings: Settings) -> None:
    if not os.path.isfile(FLAGS.vgg16_weights):
        rows.append(f"Skipped: no real VGG16 weights at {FLAGS.vgg16_weights}.")
        return
    size = settings.quality_size
    content = images.load_image(SAMPLE_CONTENT, max_size=size)
    style = images.load_image(SAMPLE_STYLE, max_size=size)
    base = Config(network="vgg16", weights=FLAGS.vgg16_weights, max_size=size, jit_compile="false")
    if settings.steps is not None:
        base = base.replace(steps=settings.steps)
    judge = quality.Judge(quality.build_judge_extractor("vgg16", FLAGS.vgg16_weights), content, style)
    # The loss reached, always measured in float32 on the final-size objective.
    f32_extractor = vgg.extractor_for(base.replace(precision="float32"))
    loss_of = Objective.of_images(f32_extractor, content, [style], base.loss)
    rows += [
        f"Bundled sample at {content.shape[2]}x{content.shape[1]}, real VGG16 weights, the defaults "
        f"({base.schedule.steps} steps, {base.optim.optimizer}), jit_compile off; loss: the float32 objective at each "
        "result; "
        "pixel differences from the float32 result in 0-255 steps.",
        "",
        "| precision | whole run | loss reached | content figure | style figure | max pixel diff | mean pixel diff |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    reference = None
    for precision in settings.precisions:
        config = base.replace(precision=precision)
        try:
            extractor = f32_extractor if precision == "float32" else vgg.extractor_for(config)
            seconds, result = timed(lambda: multiscale.stylize(content, style, config, extractor=extractor))  # noqa: B023
        except NonFiniteLossError as e:
            rows.append(f"| {precision} | non-finite loss: {first_line(e)} | | | | | |")
            print(rows[-1], flush=True)
            continue
        except Exception as e:  # noqa: BLE001
            rows.append(f"| {precision} | failed: {first_line(e)} | | | | | |")
            print(rows[-1], flush=True)
            continue
        reference = result if precision == "float32" else reference
        if FLAGS.pictures:
            os.makedirs(FLAGS.pictures, exist_ok=True)
            images.save_image(os.path.join(FLAGS.pictures, f"gpu_report_{precision}_{size}.png"), result)
        loss = float(loss_of(tf.constant(result))["total"][0])
        figures = judge(result)
        diff = np.abs(result - reference) * 255 if reference is not None else None
        rows.append(
            f"| {precision} | {seconds:.1f}s | {loss:.4f} | {figures.content:.3f} | {figures.style:.3f} | "
            + (f"{diff.max():.1f} | {diff.mean():.2f} |" if diff is not None else "| |")
        )
        print(rows[-1], flush=True)


def whole_runs_section(rows: list[str], settings: Settings) -> None:
    size = settings.run_size
    rng = np.random.default_rng(1)
    content, style = (rng.random((1, size, size, 3), np.float32) for _ in range(2))
    defaults = Config(weights="none", max_size=size)
    if settings.steps is not None:
        defaults = defaults.replace(steps=settings.steps)
    extractor = vgg.extractor_for(defaults)
    rows += [
        f"VGG19 (random weights), {size}x{size}, precision {devices.resolved_precision('auto')} (auto), "
        "jit_compile auto; whole runs, tracing and compiling included, model building excluded.",
        "",
        "| run | steps per scale | whole run | s/step overall |",
        "| --- | --- | --- | --- |",
    ]
    for name, config in (
        ("defaults", defaults),
        (f"{settings.long_steps} steps", defaults.replace(steps=settings.long_steps)),
    ):
        plan = " + ".join(f"{steps}@{h}" for _, (h, _w), steps in Geometry.of(config).plan(size, size))
        try:
            seconds, _ = timed(lambda: multiscale.stylize(content, style, config, extractor=extractor))  # noqa: B023
            rows.append(f"| {name} | {plan} | {seconds:.1f}s | {seconds / config.schedule.steps:.3f} |")
        except Exception as e:  # noqa: BLE001
            rows.append(f"| {name} | {plan} | failed: {first_line(e)} | |")
        print(rows[-1], flush=True)


def export_section(rows: list[str], settings: Settings) -> None:
    config = Config(weights="none", max_size=settings.export_size)
    if settings.steps is not None:
        config = config.replace(steps=settings.steps)
    content = images.encode_image(images.load_image(SAMPLE_CONTENT, max_size=settings.export_size))
    style = images.encode_image(images.load_image(SAMPLE_STYLE, max_size=settings.export_size))
    with tempfile.TemporaryDirectory() as tmp:
        seconds_export, path = timed(lambda: export.export_saved_model(config, tmp, warmup=False))
        serve = tf.saved_model.load(path).signatures[export.SERVING_SIGNATURE]
        request = rest.request_json(
            {"content_bytes": [content], "style_bytes": [style]}
        )  # what a REST client sends, decoded as TF Serving does
        inputs = {
            name: tf.constant([base64.b64decode(row[name]["b64"]) for row in request["instances"]])
            for name in ("content_bytes", "style_bytes")
        }
        first, _ = timed(lambda: serve(**inputs)["image_bytes"].numpy())
        second, out = timed(lambda: serve(**inputs)["image_bytes"].numpy())
    result = images.decode_image(
        rest.images_from_response({"predictions": [{"b64": base64.b64encode(out[0]).decode()}]})[0]
    )
    rows += [
        f"`style_transfer.export` of the defaults (VGG19, random weights, max_size {settings.export_size}, "
        f"{config.schedule.steps} steps, precision {precision_of(config)}, no XLA as TF Serving runs it): "
        f"export {seconds_export:.1f}s; `serving_default` with one PNG pair: first request {first:.1f}s, "
        f"next {second:.1f}s; returned a {result.shape[2]}x{result.shape[1]} PNG.",
    ]
    print(rows[-1], flush=True)


def memory_section(rows: list[str], settings: Settings) -> None:
    device = gpu_name()
    if device is None:
        rows.append("No GPU here: device memory is not measured (benchmarks/benchmark.py measures peak RSS on CPUs).")
        print(rows[-1], flush=True)
        return
    config = Config(weights="none", jit_compile="false")
    extractor = vgg.extractor_for(config)
    rows += [
        f"Peak {device} memory of 2 default steps (VGG19, {precision_of(config)}, L-BFGS, no XLA), "
        "the extractor's weights included.",
        "",
        "| size | peak device memory |",
        "| --- | --- |",
    ]
    for size in settings.memory_sizes:
        rng = np.random.default_rng(2)
        content, style = (rng.random((1, size, size, 3), np.float32) for _ in range(2))
        try:
            tf.config.experimental.reset_memory_stats(device)
            stylizer = step.ImageOptimizer(
                Objective.of_images(extractor, content, [style], config.loss), content, config.optim
            )
            stylizer.run(2)
            peak = tf.config.experimental.get_memory_info(device)["peak"]
            rows.append(f"| {size}x{size} | {peak / 2**30:.2f} GiB |")
        except tf.errors.ResourceExhaustedError:
            rows.append(f"| {size}x{size} | out of memory |")
        except Exception as e:  # noqa: BLE001
            rows.append(f"| {size}x{size} | failed: {first_line(e)} |")
        print(rows[-1], flush=True)


def batch_section(rows: list[str], settings: Settings) -> None:
    """Throughput of batches (folder mode's --batch_size): N photos of one size in one step."""
    size = settings.step_size
    config = Config(weights="none")
    extractor = vgg.extractor_for(config)
    rng = np.random.default_rng(2)
    style = rng.random((1, size, size, 3), np.float32)
    rows += [
        f"VGG19 (random weights), {size}x{size}, precision {precision_of(config)} (auto), the "
        f"defaults' optimiser ({config.optim.optimizer}); s/step after a warm-up step, for N photos optimised together "
        "(each exactly as alone: tests/test_batch.py).",
        "",
        "| batch | jit_compile | s/step | s/step per photo | photos/s vs batch 1 |",
        "| --- | --- | --- | --- | --- |",
    ]
    for jit in (False, True) if not settings.quick else (False,):
        reference = None
        for batch in settings.batch_sizes:
            content = rng.random((batch, size, size, 3), np.float32)
            try:
                stylizer = step.ImageOptimizer(
                    Objective.of_images(extractor, content, [style], config.loss), content, config.optim, jit
                )
                seconds = median_seconds(stylizer.step, settings.timed_steps)  # after an untimed first step
                per_photo = seconds / batch
                reference = per_photo if reference is None else reference
                rows.append(f"| {batch} | {jit} | {seconds:.4f} | {per_photo:.4f} | {reference / per_photo:.2f}x |")
            except tf.errors.ResourceExhaustedError:
                rows.append(f"| {batch} | {jit} | out of memory | | |")
            except Exception as e:  # noqa: BLE001
                rows.append(f"| {batch} | {jit} | failed: {first_line(e)} | | |")
            print(rows[-1], flush=True)


def devices_section(rows: list[str], settings: Settings) -> None:
    """The in-graph loop that --distribution_strategy runs (distribute.py) against the default path:
    whole default runs of a batch, one_device, and mirrored where there are several GPUs."""
    size = settings.run_size
    config = Config(weights="none", max_size=size)
    if settings.steps is not None:
        config = config.replace(steps=settings.steps)
    rng = np.random.default_rng(3)
    style = rng.random((1, size, size, 3), np.float32)
    gpus = len(tf.config.list_logical_devices("GPU"))
    batch = max(2, 2 * gpus)
    content = rng.random((batch, size, size, 3), np.float32)
    rows += [
        f"VGG19 (random weights), {batch} photos of {size}x{size}, precision "
        f"{precision_of(config)} (auto), jit_compile auto, the defaults' steps ({config.schedule.steps}); "
        "whole runs of the batch, tracing and compiling included (first call), then again (traced).",
        "",
        "| path | replicas | first call | second call | s per photo (second) |",
        "| --- | --- | --- | --- | --- |",
    ]
    runs = [("default device (multiscale.stylize, per-step progress)", None)]
    runs.append(("one_device (in-graph loop)", "one_device"))
    if gpus > 1:
        runs.append(("mirrored (in-graph loop)", "mirrored"))
    extractor = vgg.extractor_for(config)
    for name, strategy_name in runs:
        try:
            if strategy_name is None:
                replicas = 1

                def run():
                    return multiscale.stylize(content, style, config, extractor=extractor)
            else:
                strategy = distribute.make_strategy(config.replace(distribution_strategy=strategy_name).runtime, batch)
                stylizer = distribute.DistributedRunner(strategy, config, [style])
                replicas = stylizer.replicas

                def run(stylizer=stylizer):
                    return stylizer(content)

            first, _ = timed(run)
            second, _ = timed(run)
            rows.append(f"| {name} | {replicas} | {first:.1f}s | {second:.1f}s | {second / batch:.2f}s |")
        except Exception as e:  # noqa: BLE001
            rows.append(f"| {name} | | failed: {first_line(e)} | | |")
        print(rows[-1], flush=True)


def networks_section(rows: list[str], settings: Settings) -> None:
    from style_transfer import training, transformer
    from style_transfer.config import FeatureConfig, NetworkConfig, TrainConfig, TrainingSetup

    auto = devices.resolved_precision("auto")
    sizes = QUICK_NETWORK_SIZES if settings.quick else NETWORK_SIZES
    rows += [
        f"Inference: frames per second (median of {settings.network_repeats} warm calls of one pass, a "
        "tf.function taking any size); random weights (speed does not depend on them).",
        "",
        "| width | precision | " + " | ".join(sizes) + " |",
        "| --- | --- | " + " | ".join("---" for _ in sizes) + " |",
    ]
    widths = (0.5,) if settings.quick else (0.5, 1.0)  # --quick: one width (each is a trace)
    for width in widths:
        for precision in dict.fromkeys(("float32", auto)):
            network = transformer.build(width, 1, seed=0, precision=precision)
            spec = [tf.TensorSpec([1, None, None, 3], tf.float32)]
            run = tf.function(lambda x, network=network: network(x), input_signature=spec)
            cells = []
            for height, size_width in sizes.values():
                image = tf.random.stateless_uniform([1, height, size_width, 3], seed=[1, 2])
                try:
                    seconds = median_seconds(lambda image=image, run=run: run(image).numpy(), settings.network_repeats)
                    cells.append(f"{1 / seconds:.1f} fps")
                except Exception as e:  # noqa: BLE001
                    cells.append(f"failed: {first_line(e)}")
            rows.append(f"| {width:g} | {precision} | " + " | ".join(cells) + " |")
            print(rows[-1], flush=True)

    crop, batch = (32, 2) if settings.quick else (256, 4)
    steps = 2 if settings.quick else 20
    rows += [
        "",
        f"Training: steps per second, batch {batch} of {crop} px crops, VGG16 (random weights) in {auto}, "
        f"Adam; {steps} steps after an untimed first one.",
        "",
        "| width | steps/s | photos/s |",
        "| --- | --- | --- |",
    ]
    features = FeatureConfig(network="vgg16", weights="none")
    extractor = training.extractor_for_training(features, TrainingSetup().loss, auto)
    for width in widths:
        setup = TrainingSetup(
            features=features, network=NetworkConfig(width=width), train=TrainConfig(batch_size=batch, crop_size=crop)
        )
        try:
            painting = tf.random.stateless_uniform([1, crop * 2, crop * 2, 3], seed=[3, 4])
            trainer = training.Trainer(extractor, [painting], setup.loss, setup.network, setup.train)
            photos = tf.random.stateless_uniform([batch, crop, crop, 3], seed=[5, 6])
            step_function = trainer.step_function(0)
            float(step_function(photos)["total"])  # trace
            seconds, _ = timed(lambda: [float(step_function(photos)["total"]) for _ in range(steps)])  # noqa: B023
            rows.append(f"| {width:g} | {steps / seconds:.2f} | {steps * batch / seconds:.1f} |")
        except Exception as e:  # noqa: BLE001
            rows.append(f"| {width:g} | failed: {first_line(e)} | |")
        print(rows[-1], flush=True)


SECTIONS = (
    ("Seconds per step", per_step_section),
    ("Reduced precision against float32", precision_section),
    ("Whole default runs", whole_runs_section),
    ("Exported model", export_section),
    ("Peak device memory", memory_section),
    ("Batches", batch_section),
    ("Several devices", devices_section),
    ("Fast networks", networks_section),
)


def main(argv):
    del argv
    tf.get_logger().setLevel("ERROR")  # per-instance tf.function retracing warnings: expected here
    logging.set_verbosity(logging.ERROR)
    settings = Settings.from_flags()
    started = time.perf_counter()
    rows = [
        "# GPU report",
        "",
        f"Produced by `python benchmarks/gpu_report.py{' --quick' if FLAGS.quick else ''}` "
        "(its docstring says what is measured and how).",
        "",
    ]
    machine_section(rows)
    print("\n".join(rows), flush=True)

    def write():
        if FLAGS.output:
            tmp = FLAGS.output + ".tmp"
            with open(tmp, "w") as f:
                f.write("\n".join(rows) + f"\n\nReport time so far: {time.perf_counter() - started:.0f}s.\n")
            os.replace(tmp, FLAGS.output)

    write()
    for number, (title, section) in enumerate(SECTIONS, 1):
        if FLAGS.sections and str(number) not in FLAGS.sections:
            continue
        rows += ["", f"## {title}", ""]
        print(f"## {title}", flush=True)
        section_started = time.perf_counter()
        try:
            section(rows, settings)
        except Exception as e:  # noqa: BLE001 - one section failing must not lose the others
            rows.append(f"Section failed: {first_line(e)}")
            print(rows[-1], flush=True)
        rows += ["", f"(Section {number}: {time.perf_counter() - section_started:.0f}s.)"]
        print(rows[-1], flush=True)
        write()
    print(f"Whole report: {time.perf_counter() - started:.0f}s.")


if __name__ == "__main__":
    app.run(main)
