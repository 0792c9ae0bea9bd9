"""Resampling between the scales of a run: Lanczos resizing in TF (in-graph and XLA-ready), the
hand-over from a coarser result to the next scale's start, masks, and a Gaussian blur (blurred
starts, quality.py's bands).

Contract: images float32 RGB [N, H, W, 3] in [0, 1] (results clipped to [0, 1]); masks float32
[1, H, W, 1] in [0, 1]. `static`: the image's shape is known and the size is a pair of ints, so
Lanczos runs as two matrix products (`lanczos`), which XLA (and so a TPU) can compile. images.py
resizes numpy images with Pillow (file IO); this module resizes tensors.
"""

from __future__ import annotations

import functools

import numpy as np
import tensorflow as tf


def to_size(image: tf.Tensor, size, static: bool = False) -> tf.Tensor:
    """float32 [N, H, W, 3] in [0, 1] -> [N, h, w, 3]: Lanczos, antialiased, clipped; in-graph too.

    An image already of that size is returned untouched (Lanczos is not an exact identity).
    """
    image = tf.convert_to_tensor(image, tf.float32)
    if static:
        if tuple(image.shape[1:3]) == tuple(size):
            return image
        return tf.clip_by_value(lanczos(image, size, static=True), 0.0, 1.0)
    size = tf.convert_to_tensor(size, tf.int32)

    def resampled():
        return tf.clip_by_value(lanczos(image, size), 0.0, 1.0)

    return tf.cond(tf.reduce_all(tf.shape(image)[1:3] == size), lambda: image, resampled)


def lanczos(image: tf.Tensor, size, static: bool = False) -> tf.Tensor:
    """[N, H, W, C] -> [N, h, w, C], Lanczos-3, antialiased, not clipped (tf.image.resize's).

    static: the same resampling as two matrix products, with the weights tf.image.resize gives
    one-hot rows (`_lanczos_weights`), because its kernel (ScaleAndTranslate) has no XLA
    implementation and a TPU runs only XLA. Equal to tf.image.resize up to float rounding (tested).
    """
    if not static:
        return tf.image.resize(image, size, method="lanczos3", antialias=True)
    (height, width), (new_height, new_width) = image.shape[1:3], size
    rows = tf.constant(_lanczos_weights(height, new_height))  # [h, H]
    columns = tf.constant(_lanczos_weights(width, new_width))  # [w, W]
    return tf.einsum("oh,nhwc,pw->nopc", rows, image, columns)


@functools.cache
def _lanczos_weights(size: int, new_size: int) -> np.ndarray:
    """float32 [new_size, size]: row o holds the weights of the `size` input samples in output o."""
    with tf.init_scope():  # eager, even while a graph (or a TPU computation) is being traced
        one_hot = tf.eye(size, dtype=tf.float32)[:, :, None, None]  # [size images, size, 1, 1]
        resized = tf.image.resize(one_hot, [new_size, 1], method="lanczos3", antialias=True)
        return resized.numpy()[:, :, 0, 0].T


def handover(
    result: tf.Tensor, content: tf.Tensor, next_content: tf.Tensor, keep_detail: bool, static: bool = False
) -> tf.Tensor:
    """The starting image of the next, finer scale, [N, h, w, 3] at next_content's size.

    result, content: the coarser scale's result and its content image (same size). keep_detail:
    next_content + upsampled(result - content), so the photo's detail above the coarse scale's
    resolution comes back; else the upsampled result (plain coarse to fine).
    """
    size = tuple(next_content.shape[1:3]) if static else tf.shape(next_content)[1:3]
    if not keep_detail:
        return to_size(result, size, static)
    change = lanczos(result - content, size, static)
    return tf.clip_by_value(next_content + change, 0.0, 1.0)


def mask_to_size(mask, size) -> tf.Tensor | None:
    """float32 [1, h, w, 1] in [0, 1] (or None) -> [1, H, W, 1] at `size` (bilinear, antialiased)."""
    if mask is None:
        return None
    mask = tf.convert_to_tensor(mask, tf.float32)
    return tf.clip_by_value(tf.image.resize(mask, size, method="bilinear", antialias=True), 0.0, 1.0)


def gaussian_blur(image: tf.Tensor, sigma: float) -> tf.Tensor:
    """[N, H, W, C] blurred by a Gaussian of `sigma` pixels (a Python number; separable, reflect
    padding; 0 = unchanged). In-graph and under XLA too; sides must exceed the kernel's radius
    (3 sigma), which is capped to fit where they do not."""
    if sigma <= 0:
        return image
    image = tf.convert_to_tensor(image)
    radius = max(1, int(round(3 * sigma)))
    if image.shape[1] is not None and image.shape[2] is not None:  # reflect padding needs radius < side
        radius = max(1, min(radius, image.shape[1] - 1, image.shape[2] - 1))
    x = tf.range(-radius, radius + 1, dtype=tf.float32)
    kernel = tf.exp(-0.5 * (x / sigma) ** 2)
    kernel /= tf.reduce_sum(kernel)
    channels = image.shape[-1]
    padded = tf.pad(image, [[0, 0], [radius, radius], [radius, radius], [0, 0]], mode="REFLECT")
    rows = tf.tile(tf.reshape(kernel, [-1, 1, 1, 1]), [1, 1, channels, 1])  # [k, 1, C, 1]
    cols = tf.tile(tf.reshape(kernel, [1, -1, 1, 1]), [1, 1, channels, 1])  # [1, k, C, 1]
    out = tf.nn.depthwise_conv2d(padded, rows, [1, 1, 1, 1], "VALID")
    return tf.nn.depthwise_conv2d(out, cols, [1, 1, 1, 1], "VALID")
