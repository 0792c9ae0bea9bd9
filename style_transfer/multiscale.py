"""Coarse to fine: the optimisation (optimize.py) at up to config.schedule.scales sizes, each starting from the last.

Contract: content and style images are float32 RGB in [0, 1], NHWC, of any sizes: the content
[N, H, W, 3] (one photo, or N photos of one size stylised together, each as it would be alone),
each style [1, h, w, 3]; the result is float32 [N, H, W, 3] in [0, 1], the content's size.
At each scale the content is
downscaled by that scale's factor (at most 1, never below config.loss.min_side() px on the shorter
side), each style image resized to style_scale times the content's longer side (Config.style_size,
also kept to min_side), and `handover` makes the starting image from the coarser result.
preserve_colors acts before (prepare_styles: "histogram") and after (finish: "luminance").
A scale larger than config.runtime.tile_size runs tile by tile (tiles.TiledObjective, in `stylize` only).
Resizing is Lanczos, antialiased, clipped to [0, 1].
- `stylize`: numpy in and out, a tf.Variable loop per scale (optimize.Stylizer), with a callback;
- `stylize_graph`: its in-graph twin on tensors (optimize.stylize_in_graph): stateless, for
  SavedModels. `scaled_size` (Python ints) and `scaled_size_tf` (int32 tensors) round sizes the
  same way (half to even), from the factors Config.scale_factors computes; Config.style_size and
  `style_size_tf` likewise for the style images.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from style_transfer import colors, devices, images, optimize, tiles, vgg
from style_transfer.config import INITS, Config
from style_transfer.errors import ConfigError, NonFiniteLossError, OutOfMemoryError, PrecisionFallbackWarning, named
from style_transfer.geometry import Geometry
from style_transfer.objective import Objective


def resize(image: tf.Tensor, size, static: bool = False) -> tf.Tensor:
    """float32 [N, H, W, 3] in [0, 1] -> [N, h, w, 3]: Lanczos, antialiased, clipped; in-graph too.

    An image already of that size is returned untouched (Lanczos is not an exact identity).
    static: the image's shape is known and size is a pair of ints: see `lanczos` (XLA, TPUs).
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

    static (the image's shape known, size a pair of ints): the same resampling as two matrix
    products, with the weights tf.image.resize gives one-hot rows (`_lanczos_weights`), because
    its kernel (ScaleAndTranslate) has no XLA implementation and a TPU runs only XLA. Equal to
    tf.image.resize up to float rounding (tested).
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
    resolution comes back; else the upsampled result (plain coarse to fine). static: see `lanczos`.
    """
    size = tuple(next_content.shape[1:3]) if static else tf.shape(next_content)[1:3]
    if not keep_detail:
        return resize(result, size, static)
    change = lanczos(result - content, size, static)
    return tf.clip_by_value(next_content + change, 0.0, 1.0)


def _starting_image(
    result, previous_content, content, styles, config: Config, blend, init_image, masks=None, static=False
):
    """The first scale's starting image (config.schedule.init, or init_image resized to the content's size),
    or the hand-over from the coarser result. With style masks, "recolored" recolours each masked
    region to its own style (where no mask is, the photo stays as it is)."""
    if result is not None:
        return handover(result, previous_content, content, config.schedule.keep_detail, static)
    if init_image is not None:
        return tf.broadcast_to(resize(init_image, tf.shape(content)[1:3]), tf.shape(content))
    if config.schedule.init == "recolored" and masks and any(m is not None for m in masks):
        change, total = 0.0, 0.0
        for style, mask in zip(styles, masks, strict=True):
            mask = tf.ones_like(content[..., :1]) if mask is None else mask
            change += mask * (colors.match_colors_of(content, style) - content)
            total += mask
        return tf.clip_by_value(content + change / tf.maximum(total, 1.0), 0.0, 1.0)
    return optimize.initial_image(content, styles, config.schedule.init, config.schedule.seed, blend)


def resize_mask(mask, size) -> tf.Tensor | None:
    """float32 [1, h, w, 1] in [0, 1] (or None) -> [1, H, W, 1] at `size` (bilinear, antialiased)."""
    if mask is None:
        return None
    mask = tf.convert_to_tensor(mask, tf.float32)
    return tf.clip_by_value(tf.image.resize(mask, size, method="bilinear", antialias=True), 0.0, 1.0)


def prepare_styles(content: tf.Tensor, styles: Sequence[tf.Tensor], config: Config) -> list[tf.Tensor]:
    """The style images as the losses see them: with preserve_colors="histogram", recoloured to the
    content's colour mean and covariance (colors.match_colors_of), one copy per photo of the batch
    ([N, h, w, 3]); else as given ([1, h, w, 3])."""
    if config.style.preserve_colors == "histogram":
        count = tf.shape(content)[:1]
        return [
            colors.match_colors_of(tf.broadcast_to(style, tf.concat([count, tf.shape(style)[1:]], 0)), content)
            for style in styles
        ]
    return list(styles)


def finish(result: tf.Tensor, content: tf.Tensor, config: Config) -> tf.Tensor:
    """The optimised image as returned: with preserve_colors="luminance", its luma with the
    content's chroma (colors.keep_chroma); else as it is."""
    if config.style.preserve_colors == "luminance":
        return colors.keep_chroma(result, content)
    return tf.convert_to_tensor(result, tf.float32)


def stylize(
    content: np.ndarray,
    style: np.ndarray | Sequence[np.ndarray],
    config: Config | None = None,
    *,
    style_blend_weights: Sequence[float] | None = None,
    extractor: vgg.FeatureExtractor | None = None,
    callback: optimize.Callback | None = None,
    init_image: np.ndarray | None = None,
    style_masks: Sequence[np.ndarray | None] | None = None,
    content_mask: np.ndarray | None = None,
) -> np.ndarray:
    """Stylise `content` with one style image (or several, blended). Returns float32 [N, H, W, 3].

    content: float32 RGB [N, H, W, 3] in [0, 1]: one photo (images.load_image gives these) or a
    batch of N photos of one size, each stylised exactly as it would be alone (losses.py: one loss
    per image; optimizers.py: per-image updates); style: [1, h, w, 3] each. The output has the
    content's size. Pass `extractor` to reuse a network across calls. With config.schedule.scales > 1
    it runs coarse to fine (scale_plan): at each size the content is downscaled, each style image
    resized to Geometry.style_size (style_scale times the content's longer side), and `handover`
    starts it from the coarser result; `callback` numbers steps 1 ... config.schedule.steps across all
    scales, and its image has the current scale's size (with the content's chroma already, under
    preserve_colors="luminance"). style_blend_weights: one per style (default:
    config.style.style_blend_weights, else equal). init_image: float32 [1, h, w, 3], the starting image
    (resized to the content); default: config.schedule.init, read from its path if it is one.
    style_masks: one per style (or None for a style that applies everywhere), content_mask: where
    the content loss applies; float32 [1, h, w, 1] in [0, 1] of any size, resized to the content
    at every scale (losses.py, departure 6).
    """
    config = (config or Config()).validate()
    styles = [style] if isinstance(style, np.ndarray) and style.ndim == 4 else list(style)
    if style_blend_weights is None:
        style_blend_weights = config.style.blend_weights(len(styles))
    elif len(style_blend_weights) != len(styles):
        raise ConfigError(f"{len(style_blend_weights)} style blend weights for {len(styles)} style image(s)")
    if style_masks is not None and len(style_masks) != len(styles):
        raise ConfigError(f"{len(style_masks)} style masks for {len(styles)} style image(s); give one per style")
    if init_image is None and config.schedule.init not in INITS:
        init_image = images.load_image(config.schedule.init, name="init")
    height, width = content.shape[1:3]
    if min(height, width) < config.loss.min_side():
        raise ConfigError(
            f"the content image is {width}x{height} px; the deepest layer requested needs at least "
            f"{config.loss.min_side()} px on each side: raise {named('max_size')} or use shallower layers"
        )
    extractor = extractor or vgg.extractor_for(config)
    content_t = tf.convert_to_tensor(content, tf.float32)
    styles_t = prepare_styles(content_t, [tf.convert_to_tensor(s, tf.float32) for s in styles], config)
    image, previous, done = None, None, 0
    geometry = Geometry.of(config)
    plan = geometry.plan(height, width)
    size = plan[0][1]
    precision = devices.resolved_precision(config.runtime.precision)
    try:
        for k, (_, size, steps) in enumerate(plan):
            content_k = resize(content_t, size)
            styles_k = [resize(s, geometry.style_size(tuple(s.shape[1:3]), size)) for s in styles_t]
            masks_k = None if style_masks is None else [resize_mask(m, size) for m in style_masks]
            content_mask_k = resize_mask(content_mask, size)
            objective = _objective(extractor, content_k, styles_k, config, style_blend_weights, masks_k, content_mask_k)
            start = _starting_image(
                image, previous, content_k, styles_k, config, style_blend_weights, init_image, masks_k
            )
            previous = content_k
            # jit_compile="auto" is measured at the final scale, where most of the time goes; the
            # coarser ones (and a final scale too short or too small to repay a compile) run without XLA.
            probe = (
                k == len(plan) - 1
                and steps >= 4 * (1 + optimize.JIT_PROBE_STEPS)
                and size[0] * size[1] >= optimize.JIT_PROBE_MIN_PIXELS
            )
            mode = config.runtime.jit_compile
            jit = None if mode == "auto" and probe else mode == "true"
            report = callback
            if callback is not None and config.style.preserve_colors == "luminance":
                report = lambda step, terms, im, c=content_k: callback(step, terms, colors.keep_chroma(im, c))  # noqa: E731
            try:
                stylizer = optimize.Stylizer(objective, start, config.optim, jit, devices.loss_scale(precision))
                image = stylizer.run(steps, report, step_offset=done)
            except NonFiniteLossError as error:
                if precision == "float32":
                    raise
                # A reduced precision overflowed (float16's range ends at 65504): go on in float32 from
                # the last finite image, for the rest of this scale and every later one.
                warnings.warn(
                    f"the loss became non-finite in {precision} at step "
                    f"{done + error.steps_done + 1}; going on in float32",
                    PrecisionFallbackWarning,
                    stacklevel=2,
                )
                config, precision = config.replace(precision="float32"), "float32"
                extractor = vgg.extractor_for(config)
                objective = _objective(
                    extractor, content_k, styles_k, config, style_blend_weights, masks_k, content_mask_k
                )
                stylizer = optimize.Stylizer(objective, error.last_image, config.optim, jit)
                image = stylizer.run(steps - error.steps_done, report, step_offset=done + error.steps_done)
            done += steps
    except tf.errors.ResourceExhaustedError:  # the device's memory, at the scale being run
        raise OutOfMemoryError(
            f"out of memory at {size[1]}x{size[0]} px ({len(styles)} style image(s), "
            f"{precision} features): set {named('tile_size')} (e.g. 1024, or lower), "
            f"lower {named('max_size')} (or {named('style_scale')}), or close what else uses the device"
        ) from None
    return finish(image, content_t, config).numpy()


def _objective(extractor, content, styles, config: Config, blend, style_masks, content_mask):
    """The objective of one scale: tile by tile (tiles.py) where the image is larger than a tile."""
    geometry = Geometry.of(config)
    if geometry.tiled(*content.shape[1:3]):
        return tiles.TiledObjective(
            extractor,
            content,
            styles,
            config.loss,
            geometry.tile_size,
            geometry.tile_overlap,
            blend,
            style_masks,
            content_mask,
        )
    return Objective.of_images(extractor, content, styles, config.loss, blend, style_masks, content_mask)


def stylize_graph(
    extractor: vgg.FeatureExtractor,
    content: tf.Tensor,
    styles: Sequence[tf.Tensor],
    config: Config,
    style_blend_weights: Sequence[float] | None = None,
) -> tf.Tensor:
    """In-graph twin of stylize(): the same scales, sizes and update; stateless, no callback.

    content: float32 RGB [N, H, W, 3] in [0, 1] (N photos of one size), styles [1, h, w, 3]; sizes
    may be dynamic. Call inside a tf.function (SavedModel signatures do). Returns float32
    [N, H, W, 3]. With dynamic sizes (exported signatures) the number of scales is fixed when the
    graph is built, for a content whose longer side is config.schedule.max_size (what the signatures resize
    to); sizes and factors follow the actual image. When every shape is known (static), the plan
    is stylize()'s own (scale_plan, Config.style_size, in Python) and the resizing is `lanczos`'s
    matrix form: the whole function then compiles with jit_compile=True, as a TPU needs.
    """
    if config.schedule.init not in INITS:
        raise ConfigError(
            f"an image path as {named('init')} is not supported in-graph (exported models); use one of "
            + ", ".join(INITS)
        )
    if config.runtime.tile_size:
        raise ConfigError(
            f"{named('tile_size')} works in stylize() (the CLI's default path, notebooks), not in the in-graph "
            f"loop (exported models, distribution strategies); set {named('tile_size')}=0 there"
        )
    if style_blend_weights is None:
        style_blend_weights = config.style.blend_weights(len(styles))
    static = content.shape.is_fully_defined() and all(s.shape.is_fully_defined() for s in styles)
    geometry = Geometry.of(config)
    need = geometry.min_side
    if static:  # stylize()'s plan, in Python
        height, width = content.shape[1:3]
        if min(height, width) < need:
            raise ConfigError(f"images need at least {need} px on each side")
        plan = [(scale.size, scale.steps) for scale in geometry.plan(height, width)]

        def style_size(style, size):
            return geometry.style_size(tuple(style.shape[1:3]), size)
    else:  # the same arithmetic on int32 / float64 tensors
        hw = tf.shape(content)[1:3]
        tf.debugging.assert_greater_equal(
            tf.reduce_min(hw), need, message=f"images need at least {need} px on each side"
        )
        plan = geometry.plan_tf(hw)

        def style_size(style, size):
            return geometry.style_size_tf(tf.shape(style)[1:3], size)

    styles = prepare_styles(content, styles, config)
    loss_scale = devices.loss_scale(devices.resolved_precision(config.runtime.precision))
    image, previous = None, None
    for size_k, steps in plan:
        content_k = resize(content, size_k, static)
        styles_k = [resize(s, style_size(s, size_k), static) for s in styles]
        objective = Objective.of_images(extractor, content_k, styles_k, config.loss, style_blend_weights)
        start = _starting_image(image, previous, content_k, styles_k, config, style_blend_weights, None, static=static)
        previous = content_k
        image = optimize.stylize_in_graph(objective, start, steps, config.optim, loss_scale)
    return finish(image, content, config)
