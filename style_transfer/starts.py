"""Where each scale's optimisation starts: ScheduleConfig.init (or an image) at the first scale,
the hand-over from the coarser result (resample.handover) at every later one.

Contract: float32 RGB [N, H, W, 3] in [0, 1], the content's size and batch; styles [1 or N, h, w,
3] of any size; masks [1, H, W, 1] at the content's size. In-graph too (exported models), except
an init image, which the in-graph loop refuses.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from style_transfer import colors, resample
from style_transfer.config import ScheduleConfig


def initial_image(
    content: tf.Tensor,
    style: tf.Tensor | Sequence[tf.Tensor],
    init: str,
    seed: int,
    style_blend_weights: Sequence[float] | None = None,
) -> tf.Tensor:
    """The starting image, float32 [N, H, W, 3] in [0, 1], the content's size (and batch).

    style: one style image or several (blended by style_blend_weights, equal by default).
    content: the content image; recolored: the content with the styles' colour mean and
    covariance (colors.match_colors, the styles' pixels pooled by blend weight); style: the first
    style resized (bicubic, antialiased) to the content's size; noise: uniform in [0, 1] from a
    stateless seeded generator (the paper's white noise), the same for every image of a batch, so
    each starts as it would alone.
    """
    content = tf.convert_to_tensor(content, tf.float32)
    styles = [style] if isinstance(style, (tf.Tensor, np.ndarray)) else list(style)
    if init == "content":
        return content
    if init == "recolored":
        mean, covariance = colors.mixture_statistics(styles, style_blend_weights)
        return colors.match_colors(content, mean, covariance)
    if init == "style":
        size = tf.shape(content)[1:3]
        resized = tf.image.resize(styles[0], size, method="bicubic", antialias=True)
        return tf.broadcast_to(tf.clip_by_value(resized, 0.0, 1.0), tf.shape(content))
    if init == "noise":
        noise = tf.random.stateless_uniform(tf.shape(content)[1:], seed=[seed, 0], dtype=tf.float32)
        return tf.broadcast_to(noise[None], tf.shape(content))
    raise ValueError(f"unknown init {init!r}")


def recolored_by_masks(content: tf.Tensor, styles: Sequence[tf.Tensor], masks: Sequence[tf.Tensor | None]) -> tf.Tensor:
    """ "recolored" with style masks: each masked region recoloured to its own painting's palette
    (a painting without a mask: everywhere), averaged where they overlap; where no mask is, the
    photo as it is."""
    change, total = 0.0, 0.0
    for style, mask in zip(styles, masks, strict=True):
        mask = tf.ones_like(content[..., :1]) if mask is None else mask
        change += mask * (colors.match_colors_of(content, style) - content)
        total += mask
    return tf.clip_by_value(content + change / tf.maximum(total, 1.0), 0.0, 1.0)


def start_image(
    coarser: tf.Tensor | None,
    coarser_content: tf.Tensor | None,
    content: tf.Tensor,
    styles: Sequence[tf.Tensor],
    schedule: ScheduleConfig,
    blend: Sequence[float] | None = None,
    init_image: tf.Tensor | None = None,
    masks: Sequence[tf.Tensor | None] | None = None,
    static: bool = False,
    long_side: int | None = None,
) -> tf.Tensor:
    """The image a scale starts from: the hand-over from `coarser` (the coarser scale's result,
    whose content image was `coarser_content`), or at the first scale (coarser None) init_image
    resized to the content's size, or schedule.init (recoloured per mask where there are masks),
    blurred and mixed with noise as the schedule says (blurred_and_noised; long_side: the content's
    nominal longer side where its shape is dynamic)."""
    if coarser is not None:
        return resample.handover(coarser, coarser_content, content, schedule.keep_detail, static)
    if init_image is not None:
        return tf.broadcast_to(resample.to_size(init_image, tf.shape(content)[1:3]), tf.shape(content))
    if schedule.init == "recolored" and masks and any(m is not None for m in masks):
        start = recolored_by_masks(content, styles, masks)
    else:
        start = initial_image(content, styles, schedule.init, schedule.seed, blend)
    return blurred_and_noised(start, schedule, long_side)


def blurred_and_noised(start: tf.Tensor, schedule: ScheduleConfig, long_side: int | None = None) -> tf.Tensor:
    """`start` [N, H, W, 3] blurred by a Gaussian of schedule.init_blur times its longer side
    (`long_side`, where the shape is not known until run time: the plan's nominal size), then
    mixed with uniform noise by schedule.init_noise (the same noise for every image of a batch)."""
    if schedule.init_blur > 0:
        side = long_side if start.shape[1] is None or start.shape[2] is None else max(start.shape[1:3])
        if side is None:
            raise ValueError("a blurred start of unknown size needs long_side")
        start = resample.gaussian_blur(start, schedule.init_blur * side)
    if schedule.init_noise > 0:
        noise = tf.random.stateless_uniform(tf.shape(start)[1:], seed=[schedule.seed, 1], dtype=tf.float32)
        start = (1.0 - schedule.init_noise) * start + schedule.init_noise * noise[None]
    return start
