"""style-transfer-export: write a SavedModel for TF Serving.

    style-transfer-export --name=starry --max_size=512 --steps=300

writes saved_models/starry/<next version>/ with the VGG weights inside, a `serving_default`
signature (content_bytes, style_bytes -> image_bytes, PNG) and warm-up requests. Every loss and
optimiser flag of style-transfer applies and is baked into the export.

    style-transfer-export --model=starry_wave.npz --name=fast --max_size=1920 [--tflite=fast.tflite]

exports a trained network instead (export/network.py): image_bytes (and a conditional network's
blend_weights) -> image_bytes, one forward pass; --tflite also writes a TFLite model (float16
weights).
"""

from __future__ import annotations

import os
import sys
import time

from absl import app, flags

from style_transfer import cli_common
from style_transfer.errors import StyleTransferError

flags.DEFINE_string("export_dir", "saved_models", "Base folder; the model goes to EXPORT_DIR/NAME/VERSION/.")
flags.DEFINE_string("name", "style_transfer", "Model name (TF Serving's --model_name).")
flags.DEFINE_integer("version", None, "Integer version; default: one more than the highest already there.")
flags.DEFINE_bool("warmup", True, "Write assets.extra/tf_serving_warmup_requests (one request at max_size).")
flags.DEFINE_string("model", None, "A trained network (.npz): export it instead of the optimisation.")
flags.DEFINE_string("tflite", None, "With --model: also write this TFLite file (float16 weights).")

cli_common.define_config_flags()  # every field of Config's parts, a flag
FLAGS = flags.FLAGS


def _folder_size(path: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments {argv[1:]}; all options are --flags (see --help)")
    try:
        if FLAGS.model:
            return _export_network()
        if FLAGS.tflite:
            raise StyleTransferError("--tflite converts a trained network: give its --model")
        config = cli_common.config_from_flags()
        cli_common.import_tensorflow_quietly()
        from style_transfer.export import optimization

        start = time.time()
        path = optimization.export_saved_model(
            config,
            FLAGS.export_dir,
            FLAGS.name,
            FLAGS.version,
            warmup=FLAGS.warmup,
        )
    except StyleTransferError as e:
        print(f"style-transfer-export: error: {cli_common.user_message(e)}", file=sys.stderr)
        return 1
    size = _folder_size(path) / 2**20
    print(
        f"Wrote {path} ({size:.1f} MiB, {config.features.network}, {config.schedule.max_size} px, "
        f"{config.schedule.steps} steps) in {time.time() - start:.1f}s"
    )
    return 0


def _export_network() -> int:
    """--model: the network file as a SavedModel (max_size: --max_size), and --tflite."""
    from style_transfer import networks

    networks.read_header(FLAGS.model)  # a one-line error before TensorFlow is paid for
    cli_common.import_tensorflow_quietly()
    from style_transfer.export import network as exported_network

    start = time.time()
    network, header = networks.load_network(FLAGS.model)  # float32: the model runs where it is served
    name = FLAGS.name if FLAGS["name"].present else os.path.splitext(os.path.basename(FLAGS.model))[0]
    path = exported_network.export_network(
        network, FLAGS.export_dir, name, FLAGS.version, max_size=FLAGS.max_size, warmup=FLAGS.warmup
    )
    print(
        f"Wrote {path} ({_folder_size(path) / 2**20:.1f} MiB; paintings {', '.join(header['paintings'])}; "
        f"up to {FLAGS.max_size} px) in {time.time() - start:.1f}s"
    )
    if FLAGS.tflite:
        exported_network.to_tflite(network, FLAGS.tflite)
        print(f"Wrote {FLAGS.tflite} ({os.path.getsize(FLAGS.tflite) / 2**20:.1f} MiB, float16 weights)")
    return 0


def entry_point() -> None:
    """Console script `style-transfer-export` (and `python -m style_transfer.export`, export/__main__.py)."""
    cli_common.run(main, __name__, __doc__)


if __name__ == "__main__":
    entry_point()
