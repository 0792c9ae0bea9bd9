"""Coarse to fine: the optimisation (optimize.py) at up to config.scales sizes, each starting from the last.

Contract: content and style images are float32 RGB in [0, 1], NHWC [1, H, W, 3], of any sizes;
the result is float32 [1, H, W, 3] in [0, 1], the content's size. At each scale the content is
downscaled by that scale's factor (at most 1, never below config.min_side() px on the shorter
side), the style images by the same factor (also kept to min_side), and `handover` makes the
starting image from the coarser result. Resizing is Lanczos, antialiased, clipped to [0, 1].
- `stylize`: numpy in and out, a tf.Variable loop per scale (optimize.Stylizer), with a callback;
- `stylize_graph`: its in-graph twin on tensors (optimize.stylize_in_graph): stateless, for
  SavedModels. `scaled_size` (Python ints) and `scaled_size_tf` (int32 tensors) round sizes the
  same way (half to even), from the factors Config.scale_factors / style_factor compute.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from style_transfer import optimize, vgg
from style_transfer.config import Config
from style_transfer.errors import ConfigError
from style_transfer.objective import Objective


def resize(image: tf.Tensor, size) -> tf.Tensor:
    """float32 [N, H, W, 3] in [0, 1] -> [N, h, w, 3]: Lanczos, antialiased, clipped; in-graph too.

    An image already of that size is returned untouched (Lanczos is not an exact identity).
    """
    image = tf.convert_to_tensor(image, tf.float32)
    size = tf.convert_to_tensor(size, tf.int32)

    def resampled():
        return tf.clip_by_value(tf.image.resize(image, size, method="lanczos3", antialias=True), 0.0, 1.0)

    return tf.cond(tf.reduce_all(tf.shape(image)[1:3] == size), lambda: image, resampled)


def handover(result: tf.Tensor, content: tf.Tensor, next_content: tf.Tensor, keep_detail: bool) -> tf.Tensor:
    """The starting image of the next, finer scale, [1, h, w, 3] at next_content's size.

    result, content: the coarser scale's result and its content image (same size). keep_detail:
    next_content + upsampled(result - content), so the photo's detail above the coarse scale's
    resolution comes back; else the upsampled result (plain coarse to fine).
    """
    size = tf.shape(next_content)[1:3]
    if not keep_detail:
        return resize(result, size)
    change = tf.image.resize(result - content, size, method="lanczos3", antialias=True)
    return tf.clip_by_value(next_content + change, 0.0, 1.0)


def _starting_image(result, previous_content, content, styles, config: Config, blend) -> tf.Tensor:
    """The first scale's starting image (config.init), or the hand-over from the coarser result."""
    if result is None:
        return optimize.initial_image(content, styles, config.init, config.seed, blend)
    return handover(result, previous_content, content, config.keep_detail)


def scale_plan(config: Config, height: int, width: int) -> list[tuple[float, tuple[int, int], int]]:
    """(factor, (h, w), steps) of each scale, coarse to fine, for a content image of that size."""
    factors = config.scale_factors(height, width)
    return [
        (factor, scaled_size((height, width), factor), steps)
        for factor, steps in zip(factors, config.steps_per_scale(len(factors)), strict=True)
    ]


def stylize(
    content: np.ndarray,
    style: np.ndarray | Sequence[np.ndarray],
    config: Config | None = None,
    *,
    style_blend_weights: Sequence[float] | None = None,
    extractor: vgg.FeatureExtractor | None = None,
    callback: optimize.Callback | None = None,
) -> np.ndarray:
    """Stylise `content` with one style image (or several, blended). Returns float32 [1, H, W, 3].

    content, style: float32 RGB [1, H, W, 3] in [0, 1] (images.load_image gives these); the output
    has the content's size. Pass `extractor` to reuse a network across calls. With config.scales > 1
    it runs coarse to fine (scale_plan): at each size the content is downscaled, the style images
    are scaled by the same factor, and `handover` starts it from the coarser result; `callback` numbers
    steps 1 ... config.steps across all scales, and its image has the current scale's size.
    """
    config = (config or Config()).validate()
    styles = [style] if isinstance(style, np.ndarray) and style.ndim == 4 else list(style)
    height, width = content.shape[1:3]
    if min(height, width) < config.min_side():
        raise ConfigError(
            f"the content image is {width}x{height} px; the deepest layer requested needs at least "
            f"{config.min_side()} px on each side: raise max_size or use shallower layers"
        )
    extractor = extractor or optimize.build_extractor(config)
    content_t = tf.convert_to_tensor(content, tf.float32)
    styles_t = [tf.convert_to_tensor(s, tf.float32) for s in styles]
    image, previous, done = None, None, 0
    plan = scale_plan(config, height, width)
    for k, (factor, size, steps) in enumerate(plan):
        content_k = resize(content_t, size)
        styles_k = [resize(s, scaled_size(s.shape[1:3], config.style_factor(factor, *s.shape[1:3]))) for s in styles_t]
        objective = Objective(extractor, content_k, styles_k, config, style_blend_weights)
        start = _starting_image(image, previous, content_k, styles_k, config, style_blend_weights)
        previous = content_k
        # jit_compile="auto" is measured at the final scale, where most of the time goes; the
        # coarser ones (and a final scale too short or too small to repay a compile) run without XLA.
        probe = (
            k == len(plan) - 1
            and steps >= 4 * (1 + optimize.JIT_PROBE_STEPS)
            and size[0] * size[1] >= optimize.JIT_PROBE_MIN_PIXELS
        )
        jit = False if config.jit_compile == "auto" and not probe else None
        image = optimize.Stylizer(objective, start, config, jit=jit).run(steps, callback, step_offset=done)
        done += steps
    return image


def scaled_size(size, factor: float) -> tuple[int, int]:
    """(height, width) times factor, rounded half to even (as tf.round in stylize_graph)."""
    return max(1, round(size[0] * factor)), max(1, round(size[1] * factor))


def stylize_graph(
    extractor: vgg.FeatureExtractor,
    content: tf.Tensor,
    styles: Sequence[tf.Tensor],
    config: Config,
    style_blend_weights: Sequence[float] | None = None,
) -> tf.Tensor:
    """In-graph twin of stylize(): the same scales, sizes and update; stateless, no callback.

    content, styles: float32 RGB [1, H, W, 3] in [0, 1], sizes may be dynamic. Call inside a
    tf.function (SavedModel signatures do). Returns float32 [1, H, W, 3]. The number of scales is
    fixed when the graph is built, for a content whose longer side is config.max_size (what the
    exported signatures resize to); sizes and factors follow the actual image.
    """
    hw = tf.shape(content)[1:3]
    min_side = tf.constant(config.min_side(), tf.float64)
    tf.debugging.assert_greater_equal(
        tf.reduce_min(hw), config.min_side(), message=f"images need at least {config.min_side()} px on each side"
    )

    def floor(size):  # as Config.scale_factors / style_factor
        return min_side / tf.cast(tf.reduce_min(size), tf.float64)

    image, previous = None, None
    count = config.scale_count(config.max_size)
    for k, steps in zip(range(count - 1, -1, -1), config.steps_per_scale(count), strict=True):
        factor = tf.minimum(
            tf.constant(1.0, tf.float64), tf.maximum(tf.constant(config.scale_ratio ** (-k), tf.float64), floor(hw))
        )
        content_k = resize(content, scaled_size_tf(hw, factor))
        styles_k = [
            resize(s, scaled_size_tf(tf.shape(s)[1:3], tf.maximum(factor, floor(tf.shape(s)[1:3])))) for s in styles
        ]
        objective = Objective(extractor, content_k, styles_k, config, style_blend_weights)
        start = _starting_image(image, previous, content_k, styles_k, config, style_blend_weights)
        previous = content_k
        image = optimize.stylize_in_graph(objective, start, steps, config)
    return image


def scaled_size_tf(size: tf.Tensor, factor: tf.Tensor) -> tf.Tensor:
    """int32 [2] (height, width) times a float64 factor, rounded half to even (as scaled_size)."""
    return tf.maximum(1, tf.cast(tf.round(tf.cast(size, tf.float64) * factor), tf.int32))
