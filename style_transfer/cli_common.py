"""What both command lines share: the flags of every Config field (defaults read from Config),
turning them back into a Config, a quiet TensorFlow import, and running an absl main.

CLI layer only: the library never reads FLAGS.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys

from absl import app, flags
from absl import logging as absl_logging

from style_transfer.config import INITS, NETWORKS, OPTIMIZERS, PRECISIONS, Config
from style_transfer.errors import ConfigError

_D = Config()  # every flag default below comes from here

flags.DEFINE_integer("max_size", _D.max_size, "Longer side of the output (and of the style image), in pixels.")
flags.DEFINE_integer("steps", _D.steps, "Optimisation steps, in all (over all scales).")
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
flags.DEFINE_integer("max_input_pixels", _D.max_input_pixels, "Refuse input images with more pixels than this.")
flags.DEFINE_integer(
    "scales", _D.scales, "Coarse to fine: sizes, sqrt(2) apart, ending at max_size; --steps split between them."
)
flags.DEFINE_enum(
    "precision",
    _D.precision,
    PRECISIONS,
    "VGG feature precision (auto: bfloat16 where the hardware has it); losses stay float32.",
)
flags.DEFINE_enum("optimizer", _D.optimizer, OPTIMIZERS, "adam, or lbfgs (the paper's; no line search, capped steps).")
flags.DEFINE_integer("lbfgs_memory", _D.lbfgs_memory, "L-BFGS: how many past steps it remembers.")
flags.DEFINE_bool("jit_compile", _D.jit_compile, "XLA-compile the step (for GPU/TPU; slower on CPU).")

FLAGS = flags.FLAGS


def parse_style_layers(entries: list[str]) -> tuple[tuple[str, ...], tuple[float, ...]]:
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
    style_layers, layer_weights = parse_style_layers(FLAGS.style_layers)
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
        scales=FLAGS.scales,
        precision=FLAGS.precision,
        jit_compile=FLAGS.jit_compile,
        optimizer=FLAGS.optimizer,
        lbfgs_memory=FLAGS.lbfgs_memory,
    ).validate()


def import_tensorflow_quietly() -> None:
    """Import TensorFlow without its start-up chatter on stderr (oneDNN, CUDA probes) and with its
    Python logger at WARNING (no INFO lines while saving models).

    Set TF_CPP_MIN_LOG_LEVEL yourself to see all of it again.
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
            import tensorflow
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    tensorflow.get_logger().setLevel(logging.WARNING)
    if not FLAGS["verbosity"].present:  # TF's INFO lines (saving models...) only on --verbosity=0
        absl_logging.set_verbosity(absl_logging.WARNING)


def run(main, module_name: str, doc: str) -> None:
    """app.run(main), with `module_name`'s flags and `doc` shown by --help."""
    # absl's --help lists the key flags of the module named by sys.argv[0] (the console script or
    # __main__.py, not ours): make ours and the shared ones theirs.
    for name in (module_name, __name__):
        for flag in FLAGS.get_flags_for_module(name):
            FLAGS.register_key_flag_for_module(sys.argv[0], flag)
    sys.modules["__main__"].__doc__ = doc  # absl prints it as the usage text
    with contextlib.suppress(BrokenPipeError):
        app.run(main)
