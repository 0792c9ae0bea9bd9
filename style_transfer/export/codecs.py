"""In-graph twins of images.py for exported models: encoded bytes -> float32 RGB, and back to PNG.

Contract: float32 RGB [1, H, W, 3] in [0, 1]; bytes are tf.string scalars. EXIF orientation and ICC
profiles are not applied in-graph (images.py applies them in Python), and HEIC is not decoded.
"""

from __future__ import annotations

import tensorflow as tf

from style_transfer import geometry, resample


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
