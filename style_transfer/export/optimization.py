"""The optimisation exported for TF Serving: encoded images in, a PNG out, the whole optimisation in-graph.

Signatures of an exported model:
- `serving_default`: content_bytes, style_bytes: tf.string [None] (encoded PNG, JPEG, GIF or BMP;
  the i-th content is stylised with the i-th style) -> image_bytes: tf.string [None], PNG.
  Each image is decoded to float32 RGB [0, 1] and resized (Lanczos, antialiased) so that its longer
  side is the exported max_size (codecs.py). Names ending in `_bytes` make TF Serving's REST API
  carry them as base64 (`{"b64": ...}`). Malformed bytes fail that request with INVALID_ARGUMENT.
- `stylize_images`: content, style: float32 RGB [0, 1], NHWC [1, H, W, 3] -> image: float32
  [1, H, W, 3], sizes used as given; for in-graph use.

Both run `multiscale.coarse_to_fine_in_graph`, hence `step.optimize_in_graph`: the image and the
optimiser's state are loop-carried tensors and no variable is written, so concurrent requests
cannot disturb each other. No XLA (`jit_compile`): TF Serving's GPU builds cannot run it. What a
request cannot carry is refused before anything is traced: an init image, several styles, tiles.
writer.py writes the folder (versioned, atomic, warm-up requests).

Known trap (Keras 3): a Keras model held by a tf.Module reloads with tf.saved_model.load but fails
under saved_model_cli and TF Serving ("Could not find variable ..."), because Keras 3 variables are
not tf.Variables. We track `v.value`, the tf.Variable behind each Keras variable.
"""

from __future__ import annotations

import tensorflow as tf

from style_transfer import images, multiscale, vgg
from style_transfer.config import INITS, Config
from style_transfer.errors import named
from style_transfer.export import writer
from style_transfer.export.codecs import decode_and_resize, encode_png
from style_transfer.export.writer import ExportError

SERVING_SIGNATURE = "serving_default"
IMAGES_SIGNATURE = "stylize_images"


class StyleTransferModule(tf.Module):
    """The exported object: a frozen feature extractor, a Config, two stateless signatures."""

    def __init__(self, extractor, config: Config):
        super().__init__(name="style_transfer")
        self._extractor = extractor  # a plain object: not tracked, hence the line below
        self.vgg_variables = [v.value for v in extractor.model.weights]  # the Keras 3 trap (above)
        self._config = config

    def _run(self, content: tf.Tensor, style: tf.Tensor) -> tf.Tensor:
        return multiscale.coarse_to_fine_in_graph(self._extractor, content, [style], self._config)

    @tf.function(
        input_signature=[
            tf.TensorSpec([None], tf.string, name="content_bytes"),
            tf.TensorSpec([None], tf.string, name="style_bytes"),
        ],
        autograph=False,  # no Python control flow depends on tensors: tracing as written is faster
    )
    def serve_bytes(self, content_bytes, style_bytes):
        tf.debugging.assert_equal(
            tf.size(content_bytes), tf.size(style_bytes), message="content_bytes and style_bytes differ in length"
        )
        cfg = self._config

        def one(pair):
            content = decode_and_resize(pair[0], cfg.schedule.max_size, cfg.runtime.max_input_pixels)
            # The style at style_scale's size where that is larger (multiscale resizes it exactly).
            style = decode_and_resize(
                pair[1], round(cfg.schedule.max_size * max(1.0, cfg.style.style_scale)), cfg.runtime.max_input_pixels
            )
            return encode_png(self._run(content, style))

        out = tf.map_fn(one, (content_bytes, style_bytes), fn_output_signature=tf.TensorSpec([], tf.string))
        return {"image_bytes": out}

    @tf.function(
        input_signature=[
            tf.TensorSpec([1, None, None, 3], tf.float32, name="content"),
            tf.TensorSpec([1, None, None, 3], tf.float32, name="style"),
        ],
        autograph=False,
    )
    def serve_images(self, content, style):
        return {"image": self._run(content, style)}


def _sample_image(height: int, width: int):
    """A smooth colour ramp, float32 [1, H, W, 3]: something to warm up on."""
    y = tf.linspace(0.0, 1.0, height)[:, None] * tf.ones([1, width])
    x = tf.ones([height, 1]) * tf.linspace(0.0, 1.0, width)[None, :]
    return tf.stack([x, y, 0.5 * (x + y)], axis=-1)[None].numpy()


def warmup_request(config: Config) -> dict[str, dict[str, list[bytes]]]:
    """The warm-up request: a 4:3 content and a 3:4 style image at the exported size, so TF
    Serving runs the whole optimisation once while loading the model (allocations, kernels), not
    on the first real request."""
    size = config.schedule.max_size
    content = images.encode_image(_sample_image(3 * size // 4, size))
    style = images.encode_image(_sample_image(size, 3 * size // 4))
    return {SERVING_SIGNATURE: {"content_bytes": [content], "style_bytes": [style]}}


def export_saved_model(
    config: Config,
    export_dir: str = "saved_models",
    name: str = "style_transfer",
    version: int | None = None,
    *,
    extractor=None,
    warmup: bool = True,
) -> str:
    """Write the optimisation as a SavedModel to `export_dir/name/version/` and return that path.

    `version` None takes the next free integer; written atomically, never over an existing
    version (writer.write_saved_model). warmup: also write the warm-up request (needs
    tensorflow-serving-api).
    """
    config.validate()
    if config.schedule.init not in INITS:
        raise ExportError(
            f"{named('init')} {config.schedule.init!r}: an image path cannot be exported; use one of {', '.join(INITS)}"
        )
    if len(config.style.style_blend_weights) > 1:
        raise ExportError(
            f"an exported model takes one style image per request: give no {named('style_blend_weights')}"
        )
    if config.runtime.tile_size:
        raise ExportError(f"an exported model runs untiled (tiles work in stylize() only): set {named('tile_size')}=0")
    writer.destination(export_dir, name, version)  # before tracing, which takes a while
    if warmup:
        writer.serving_api()
    module = StyleTransferModule(extractor or vgg.extractor_for(config), config)
    signatures = {
        SERVING_SIGNATURE: module.serve_bytes.get_concrete_function(),
        IMAGES_SIGNATURE: module.serve_images.get_concrete_function(),
    }
    return writer.write_saved_model(
        module, signatures, export_dir, name, version, warmup=warmup_request(config) if warmup else None
    )
