"""style-transfer: neural style transfer (Gatys et al.) from the command line.

    style-transfer --content=photo.jpg --style=painting.jpg --output=out.png

With no flags it stylises the bundled sample (Chelsea the cat, after Van Gogh's Starry Night) into
./stylized.png. Information and the progress bar go to stdout; stderr gets only warnings and, on
failure, one line saying what is wrong and what to do (exit status 1; 130 after Ctrl-C).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time

from absl import app, flags

from style_transfer import images
from style_transfer.config import INITS, NETWORKS, Config
from style_transfer.errors import ConfigError, StyleTransferError

_D = Config()  # every flag default below comes from here
DEFAULT_OUTPUT = "stylized.png"

flags.DEFINE_string("content", None, "Content photo. Default: the bundled sample, Chelsea the cat.")
flags.DEFINE_string("style", None, "Style painting. Default: the bundled sample, Van Gogh's Starry Night.")
flags.DEFINE_string("output", DEFAULT_OUTPUT, "Output image, .png or .jpg; written atomically.")
flags.DEFINE_integer("max_size", _D.max_size, "Longer side of the output (and of the style image), in pixels.")
flags.DEFINE_integer("steps", _D.steps, "Optimisation steps.")
flags.DEFINE_float("content_weight", _D.content_weight, "Weight of the (normalised) content loss.")
flags.DEFINE_float("style_weight", _D.style_weight, "Weight of the (normalised) style loss.")
flags.DEFINE_float("tv_weight", _D.tv_weight, "Weight of the total-variation (smoothness) loss.")
flags.DEFINE_list("content_layers", list(_D.content_layers), "Content layers, by Keras name.")
flags.DEFINE_list(
    "style_layers",
    list(_D.style_layers),
    "Style layers, by Keras name, each optionally with a relative weight: block1_conv1:2,block2_conv1.",
)
flags.DEFINE_enum("network", _D.network, NETWORKS, "Feature network.")
flags.DEFINE_string(
    "weights", _D.weights, "'imagenet' (Keras download, cached in ~/.keras/models), 'none' (random), or a path."
)
flags.DEFINE_float("learning_rate", _D.learning_rate, "Adam learning rate, in pixel units ([0, 1] range).")
flags.DEFINE_enum("init", _D.init, INITS, "Starting image.")
flags.DEFINE_integer("seed", _D.seed, "Random seed (noise init, random weights).")
flags.DEFINE_integer("save_every", 0, "Also write the image every N steps as OUTPUT_<step>.EXT; 0 = never.")
flags.DEFINE_integer("max_input_pixels", _D.max_input_pixels, "Refuse input images with more pixels than this.")

FLAGS = flags.FLAGS

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
SAMPLE_CONTENT = os.path.join(_PACKAGE_DIR, "data", "chelsea.png")
SAMPLE_STYLE = os.path.join(_PACKAGE_DIR, "data", "starry_night.jpg")


def _parse_style_layers(entries: list[str]) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """['block1_conv1:2', 'block2_conv1'] -> (names, weights); weights () when none was given."""
    names, weights = [], []
    for entry in entries:
        name, _, weight = entry.partition(":")
        names.append(name.strip())
        try:
            weights.append(float(weight) if weight else 1.0)
        except ValueError:
            raise ConfigError(f"bad style layer weight in {entry!r}; write NAME or NAME:WEIGHT") from None
    explicit = any(":" in entry for entry in entries)
    return tuple(names), tuple(weights) if explicit else ()


def config_from_flags() -> Config:
    style_layers, layer_weights = _parse_style_layers(FLAGS.style_layers)
    return Config(
        network=FLAGS.network,
        weights=FLAGS.weights,
        content_layers=tuple(name.strip() for name in FLAGS.content_layers),
        style_layers=style_layers,
        style_layer_weights=layer_weights,
        content_weight=FLAGS.content_weight,
        style_weight=FLAGS.style_weight,
        tv_weight=FLAGS.tv_weight,
        max_size=FLAGS.max_size,
        steps=FLAGS.steps,
        learning_rate=FLAGS.learning_rate,
        init=FLAGS.init,
        seed=FLAGS.seed,
        max_input_pixels=FLAGS.max_input_pixels,
    ).validate()


def _import_tensorflow_quietly() -> None:
    """Import TensorFlow without its C++ start-up chatter on stderr (oneDNN, CUDA probes).

    Set TF_CPP_MIN_LOG_LEVEL yourself to see it again.
    """
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ or "tensorflow" in sys.modules:
        import tensorflow  # noqa: F401

        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def intermediate_path(output: str, step: int) -> str:
    stem, ext = os.path.splitext(output)
    return f"{stem}_{step:05d}{ext}"


class Progress:
    """The callback the library reports to: a Keras progress bar on a terminal, log lines otherwise."""

    def __init__(self, steps: int, output: str, save_every: int):
        import keras

        self.steps, self.output, self.save_every = steps, output, save_every
        self.interactive = sys.stdout.isatty()
        self.bar = keras.utils.Progbar(steps, stateful_metrics=["total", "content", "style", "tv"], unit_name="step")
        self.every = max(1, steps // 20)
        self.start = time.time()

    def __call__(self, step: int, terms: dict, image) -> None:
        if self.interactive:
            self.bar.update(step, [(name, value) for name, value in terms.items()])
        elif step % self.every == 0 or step == self.steps:
            elapsed = time.time() - self.start
            eta = elapsed / step * (self.steps - step)
            losses = " ".join(f"{name} {value:.4g}" for name, value in terms.items())
            print(f"step {step}/{self.steps}  {losses}  {elapsed / step:.2f} s/step  ETA {eta:.0f}s", flush=True)
        if self.save_every and step % self.save_every == 0 and step != self.steps:
            images.save_image(intermediate_path(self.output, step), image.numpy())


def run(output: str) -> int:
    config = config_from_flags()
    content_path = FLAGS.content or SAMPLE_CONTENT
    style_path = FLAGS.style or SAMPLE_STYLE
    images.check_output_path(output, [content_path, style_path])
    content = images.load_image(
        content_path, max_size=config.max_size, max_pixels=config.max_input_pixels, name="content"
    )
    style = images.load_image(style_path, max_size=config.max_size, max_pixels=config.max_input_pixels, name="style")
    print(
        f"content {content_path} -> {content.shape[2]}x{content.shape[1]}, "
        f"style {style_path} -> {style.shape[2]}x{style.shape[1]}",
        flush=True,
    )

    _import_tensorflow_quietly()
    from style_transfer import optimize, vgg

    vgg.check_layers(config.network, config.content_layers + config.style_layers)
    extractor = optimize.build_extractor(config)
    objective = optimize.Objective(extractor, content, [style], config)
    stylizer = optimize.Stylizer(objective, optimize.initial_image(content, style, config.init, config.seed), config)
    print(f"{config.network} ({config.weights}), {config.steps} steps, writing {output}", flush=True)
    start = time.time()
    try:
        stylizer.run(config.steps, Progress(config.steps, output, FLAGS.save_every))
    except KeyboardInterrupt:
        images.save_image(output, stylizer.image.numpy())
        print(
            f"\nInterrupted at step {stylizer.steps_done} of {config.steps}: saved the current image to {output}",
            file=sys.stderr,
        )
        return 130
    images.save_image(output, stylizer.image.numpy())
    elapsed = time.time() - start
    print(f"\nWrote {output} in {elapsed:.1f}s ({elapsed / max(1, config.steps):.3f} s/step)", flush=True)
    return 0


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments {argv[1:]}; all options are --flags (see --help)")
    try:
        return run(FLAGS.output)
    except StyleTransferError as e:
        print(f"style-transfer: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nInterrupted before optimisation started; nothing was written", file=sys.stderr)
        return 130


def entry_point() -> None:
    """Console script `style-transfer` (and `python -m style_transfer`)."""
    # absl's --help lists the key flags of the module named by sys.argv[0] (the console script or
    # __main__.py, not this module): make ours theirs.
    for flag in FLAGS.get_flags_for_module(__name__):
        FLAGS.register_key_flag_for_module(sys.argv[0], flag)
    sys.modules["__main__"].__doc__ = __doc__  # absl prints it as the usage text
    with contextlib.suppress(BrokenPipeError):
        app.run(main)


if __name__ == "__main__":
    entry_point()
