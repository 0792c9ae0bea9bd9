"""SavedModel export for TF Serving: encoded images in, a PNG out, the whole optimisation in-graph.

Signatures of an exported model:
- `serving_default`: content_bytes, style_bytes: tf.string [None] (encoded PNG, JPEG, GIF or BMP;
  the i-th content is stylised with the i-th style) -> image_bytes: tf.string [None], PNG.
  Each image is decoded to float32 RGB [0, 1] and resized (Lanczos, antialiased) so that its longer
  side is the exported max_size. Names ending in `_bytes` make TF Serving's REST API carry them as
  base64 (`{"b64": ...}`). Malformed bytes fail that request with INVALID_ARGUMENT.
- `stylize_images`: content, style: float32 RGB [0, 1], NHWC [1, H, W, 3] -> image: float32
  [1, H, W, 3], sizes used as given; for in-graph use.

Both run `multiscale.coarse_to_fine_in_graph`, hence `step.optimize_in_graph`: the image and the
optimiser's state are loop-carried tensors and no variable is written, so concurrent requests
cannot disturb each other. No XLA (`jit_compile`): TF Serving's GPU builds cannot run it.

Known trap (Keras 3): a Keras model held by a tf.Module reloads with tf.saved_model.load but fails
under saved_model_cli and TF Serving ("Could not find variable ..."), because Keras 3 variables are
not tf.Variables. We track `v.value`, the tf.Variable behind each Keras variable.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile

if __name__ == "__main__":  # python -m style_transfer.export: the CLI, which imports TF quietly itself
    from style_transfer.export_cli import entry_point

    sys.exit(entry_point())

import tensorflow as tf  # noqa: E402

from style_transfer import geometry, images, multiscale, resample, vgg  # noqa: E402
from style_transfer.config import INITS, Config  # noqa: E402
from style_transfer.errors import StyleTransferError, named  # noqa: E402

SERVING_SIGNATURE = "serving_default"
IMAGES_SIGNATURE = "stylize_images"
WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")


class ExportError(StyleTransferError):
    """The SavedModel cannot be written where asked."""


def decode_and_resize(data: tf.Tensor, max_size: int, max_pixels: int) -> tf.Tensor:
    """Encoded image (tf.string scalar) -> float32 RGB [1, h, w, 3] in [0, 1], longer side max_size.

    In-graph twin of images.load_image (which adds EXIF orientation, not available in-graph). The
    sizes are rounded as images.fit_size rounds them (half to even), and an image already at its
    size is passed through untouched.
    """
    # uint8 divided by 255 as images.py divides (decode_image's dtype=float32 multiplies by 1/255,
    # 1 ulp off for some values, which the optimisation can amplify into visible differences).
    image = tf.io.decode_image(data, channels=3, expand_animations=False)  # uint8 [H, W, 3]
    image = tf.cast(image, tf.float32) / 255.0
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    tf.debugging.assert_less_equal(
        tf.cast(height, tf.int64) * tf.cast(width, tf.int64),
        tf.constant(max_pixels, tf.int64),
        message=f"image has more than {max_pixels} pixels",
    )
    scale = max_size / tf.cast(tf.maximum(height, width), tf.float64)
    return resample.to_size(image[None], geometry.scaled_size_tf(tf.stack([height, width]), scale))


def encode_png(image: tf.Tensor) -> tf.Tensor:
    """float32 [1, H, W, 3] in [0, 1] -> PNG (tf.string scalar); rounded as images.to_uint8 rounds."""
    pixels = tf.cast(tf.round(tf.clip_by_value(image[0], 0.0, 1.0) * 255.0), tf.uint8)
    return tf.io.encode_png(pixels)


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
        ]
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
        ]
    )
    def serve_images(self, content, style):
        return {"image": self._run(content, style)}


def next_version(model_dir: str) -> int:
    """1 + the highest integer version folder in `model_dir` (1 if none)."""
    if not os.path.isdir(model_dir):
        return 1
    versions = [int(name) for name in os.listdir(model_dir) if re.fullmatch(r"\d+", name)]
    return max(versions, default=0) + 1


def warmup_records(model_name: str, config: Config) -> list[bytes]:
    """Serialized PredictionLog records for assets.extra/tf_serving_warmup_requests.

    One request with a 4:3 content and a 3:4 style image, so TF Serving runs the whole optimisation
    once at the exported size while loading the model (allocations, kernels), not on the first
    real request. Needs the `tensorflow-serving-api` package (extra `serving`).
    """
    try:
        from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2
    except ImportError:
        raise ExportError(
            "writing warm-up requests needs tensorflow-serving-api: pip install 'style_transfer[serving]', "
            f"or export with {named('warmup')}=False"
        ) from None
    content = images.encode_image(_sample_image(3 * config.schedule.max_size // 4, config.schedule.max_size))
    style = images.encode_image(_sample_image(config.schedule.max_size, 3 * config.schedule.max_size // 4))
    request = predict_pb2.PredictRequest(
        model_spec=model_pb2.ModelSpec(name=model_name, signature_name=SERVING_SIGNATURE),
    )
    request.inputs["content_bytes"].CopyFrom(tf.make_tensor_proto([content], tf.string))
    request.inputs["style_bytes"].CopyFrom(tf.make_tensor_proto([style], tf.string))
    log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
    return [log.SerializeToString()]


def _sample_image(height: int, width: int):
    """A smooth colour ramp, float32 [1, H, W, 3]: something to warm up on."""
    y = tf.linspace(0.0, 1.0, height)[:, None] * tf.ones([1, width])
    x = tf.ones([height, 1]) * tf.linspace(0.0, 1.0, width)[None, :]
    return tf.stack([x, y, 0.5 * (x + y)], axis=-1)[None].numpy()


def export_saved_model(
    config: Config,
    export_dir: str = "saved_models",
    name: str = "style_transfer",
    version: int | None = None,
    *,
    extractor=None,
    warmup: bool = True,
) -> str:
    """Write a SavedModel to `export_dir/name/version/` and return that path.

    `version` None takes the next free integer. The model is written to a hidden temporary folder
    beside it and renamed into place when complete, so TF Serving (which polls for integer folders)
    never loads a half-written version. An existing version is never overwritten.
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
    if version is not None and version < 0:
        raise ExportError(f"{named('version')} must be a non-negative integer, got {version}")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ExportError(f"model name {name!r} must be letters, digits, '_', '.' or '-'")
    model_dir = os.path.join(export_dir, name)
    version = next_version(model_dir) if version is None else version
    target = os.path.join(model_dir, str(version))
    if os.path.exists(target):
        raise ExportError(f"{target} already exists; choose another {named('version')} (or none for the next free one)")
    try:
        os.makedirs(model_dir, exist_ok=True)
        tmp = tempfile.mkdtemp(dir=model_dir, prefix=f".{version}.tmp-")
    except OSError as e:
        raise ExportError(f"cannot write to {model_dir}: {e.strerror or e}") from None
    try:
        module = StyleTransferModule(extractor or vgg.extractor_for(config), config)
        signatures = {
            SERVING_SIGNATURE: module.serve_bytes.get_concrete_function(),
            IMAGES_SIGNATURE: module.serve_images.get_concrete_function(),
        }
        tf.saved_model.save(module, tmp, signatures=signatures)
        if warmup:
            os.makedirs(os.path.join(tmp, "assets.extra"))
            with tf.io.TFRecordWriter(os.path.join(tmp, WARMUP_FILE)) as writer:
                for record in warmup_records(name, config):
                    writer.write(record)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes 0700; a server running as another user must read it
        os.rename(tmp, target)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp)
    return target
