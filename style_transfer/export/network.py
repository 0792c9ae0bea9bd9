"""A trained network exported for TF Serving and TFLite: one forward pass per request.

Signatures of an exported network (S: its paintings; the blend inputs only where S > 1):
- `serving_default`: image_bytes: tf.string [None] (encoded PNG, JPEG, GIF or BMP), and for a
  network of several paintings blend_weights: float32 [None, S] (one row per image, >= 0, not all
  zero; normalised in-graph) -> image_bytes: tf.string [None], PNG. An image whose longer side
  exceeds the exported max_size is first resized to it (Lanczos, as codecs.decode_and_resize);
  smaller ones are stylised at their own size.
- `stylize_images`: image: float32 RGB [None, None, None, 3] in [0, 1] (and blend_weights [None,
  S]) -> image: the same shape.

No variable is written by a request (the network is a pure function), so requests run
concurrently. `to_tflite` converts the float signature to TFLite with float16 weights.
"""

from __future__ import annotations

import tensorflow as tf

from style_transfer import geometry, images, resample
from style_transfer.export import writer
from style_transfer.export.codecs import encode_png
from style_transfer.export.writer import ExportError

SERVING_SIGNATURE = "serving_default"
IMAGES_SIGNATURE = "stylize_images"


def _decode(data: tf.Tensor, max_size: int, max_pixels: int) -> tf.Tensor:
    """Encoded bytes -> float32 [1, h, w, 3]: at its own size, or its longer side max_size if larger."""
    image = tf.cast(tf.io.decode_image(data, channels=3, expand_animations=False), tf.float32) / 255.0
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    tf.debugging.assert_less_equal(
        tf.cast(height, tf.int64) * tf.cast(width, tf.int64),
        tf.constant(max_pixels, tf.int64),
        message=f"image has more than {max_pixels} pixels",
    )
    scale = tf.minimum(max_size / tf.cast(tf.maximum(height, width), tf.float64), 1.0)
    return resample.to_size(image[None], geometry.scaled_size_tf(tf.stack([height, width]), scale))


def _normalised(blend_weights: tf.Tensor) -> tf.Tensor:
    tf.debugging.assert_non_negative(blend_weights, message="blend_weights must be >= 0")
    total = tf.reduce_sum(blend_weights, axis=-1, keepdims=True)
    tf.debugging.assert_positive(total, message="blend_weights must not be all zero")
    return blend_weights / total


class NetworkModule(tf.Module):
    """The exported object: the network's weights and its signatures (module docstring)."""

    def __init__(self, network, max_size: int, max_pixels: int = 50_000_000):
        super().__init__(name="style_transfer_network")
        self._network = network  # a plain object: not tracked, hence the line below
        self.network_variables = [w.value for w in network.weights]  # Keras 3 (optimization.py's trap)
        self.paintings, self.max_size, self.max_pixels = network.styles, max_size, max_pixels

    def _stylize(self, images: tf.Tensor, blend_weights: tf.Tensor | None) -> tf.Tensor:
        if blend_weights is None:
            blend_weights = tf.ones([tf.shape(images)[0], 1])
        return self._network(images, _normalised(blend_weights))

    def _serve_bytes(self, image_bytes, blend_weights=None):
        if blend_weights is None:
            blend_weights = tf.ones([tf.size(image_bytes), 1])
        tf.debugging.assert_equal(
            tf.size(image_bytes), tf.shape(blend_weights)[0], message="image_bytes and blend_weights differ in length"
        )

        def one(pair):
            image = _decode(pair[0], self.max_size, self.max_pixels)
            return encode_png(self._stylize(image, pair[1][None]))

        out = tf.map_fn(one, (image_bytes, blend_weights), fn_output_signature=tf.TensorSpec([], tf.string))
        return {"image_bytes": out}

    def signatures(self) -> dict[str, tf.types.experimental.ConcreteFunction]:
        """{name: concrete function}, with the blend inputs only for a network of several paintings."""
        image_spec = tf.TensorSpec([None, None, None, 3], tf.float32, name="image")
        data = tf.TensorSpec([None], tf.string, name="image_bytes")
        blend = tf.TensorSpec([None, self.paintings], tf.float32, name="blend_weights")
        if self.paintings == 1:
            serve_bytes = tf.function(lambda image_bytes: self._serve_bytes(image_bytes), autograph=False)
            serve_images = tf.function(lambda image: {"image": self._stylize(image, None)}, autograph=False)
            return {
                SERVING_SIGNATURE: serve_bytes.get_concrete_function(data),
                IMAGES_SIGNATURE: serve_images.get_concrete_function(image_spec),
            }
        serve_bytes = tf.function(lambda image_bytes, blend_weights: self._serve_bytes(image_bytes, blend_weights))
        serve_images = tf.function(lambda image, blend_weights: {"image": self._stylize(image, blend_weights)})
        return {
            SERVING_SIGNATURE: serve_bytes.get_concrete_function(data, blend),
            IMAGES_SIGNATURE: serve_images.get_concrete_function(image_spec, blend),
        }


def warmup_request(module: NetworkModule) -> dict[str, dict[str, list]]:
    """One request at the exported size, so TF Serving runs the network once while loading."""
    from style_transfer.export.optimization import _sample_image

    size = module.max_size
    request: dict[str, list] = {"image_bytes": [images.encode_image(_sample_image(3 * size // 4, size))]}
    if module.paintings > 1:
        request["blend_weights"] = [[1.0] + [0.0] * (module.paintings - 1)]
    return {SERVING_SIGNATURE: request}


def export_network(
    network,
    export_dir: str = "saved_models",
    name: str = "style_transfer_network",
    version: int | None = None,
    *,
    max_size: int = 1920,
    warmup: bool = True,
) -> str:
    """Write `network` (transformer.TransformerNet) as a SavedModel to export_dir/name/version/
    (writer.write_saved_model: versioned, atomic) and return that path."""
    if not 16 <= max_size <= 8192:
        raise ExportError(f"max_size must be between 16 and 8192, got {max_size}")
    module = NetworkModule(network, max_size)
    return writer.write_saved_model(
        module, module.signatures(), export_dir, name, version, warmup=warmup_request(module) if warmup else None
    )


def to_tflite(network, path: str) -> None:
    """Write the float signature of `network` as a TFLite model with float16 weights, one image a
    call ([1, H, W, 3]: resize its input tensor to the image's size before allocating)."""
    module = NetworkModule(network, max_size=8192)
    spec = [tf.TensorSpec([1, None, None, 3], tf.float32, name="image")]
    if module.paintings > 1:
        spec.append(tf.TensorSpec([1, module.paintings], tf.float32, name="blend_weights"))

    def stylize(image, blend_weights=None):
        return {"image": module._stylize(image, blend_weights)}

    function = tf.function(stylize, autograph=False).get_concrete_function(*spec)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function], module)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]
    images.write_atomically(path, converter.convert())  # written whole, or not at all
