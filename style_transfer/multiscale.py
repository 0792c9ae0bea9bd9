"""Coarse to fine: the package's one `stylize`, and its in-graph twin for exported models.

Contract: content and style images are float32 RGB in [0, 1], NHWC, of any sizes: the content
[N, H, W, 3] (one photo, or N photos of one size stylised together, each as it would be alone),
each style [1, h, w, 3]; the result is float32 [N, H, W, 3] in [0, 1], the content's size.

At each scale of the plan (geometry.py) the content is resampled to the scale's size, each style
image to Geometry.style_size (resample.py), the start is the hand-over from the coarser result
(starts.py), and the optimiser runs (scales.py). preserve_colors acts before and after
(colors.prepare_styles: "histogram"; colors.finish: "luminance").
- `stylize`: numpy in and out, a tf.Variable loop per scale, with a callback; tiles where a scale
  exceeds tile_size;
- `coarse_to_fine_in_graph`: the same scales, sizes and update on tensors, stateless
  (step.optimize_in_graph), for SavedModels and tf.distribute; no tiles, no init image, no masks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from style_transfer import colors, devices, images, resample, starts, step, vgg
from style_transfer.config import INITS, Config
from style_transfer.errors import ConfigError, named
from style_transfer.geometry import Geometry
from style_transfer.objective import Objective, Temporal
from style_transfer.scales import Reuse, ScaleRunner


def stylize(
    content: np.ndarray,
    style: np.ndarray | Sequence[np.ndarray],
    config: Config | None = None,
    *,
    style_blend_weights: Sequence[float] | None = None,
    extractor: vgg.FeatureExtractor | None = None,
    callback: step.Callback | None = None,
    init_image: np.ndarray | None = None,
    style_masks: Sequence[np.ndarray | None] | None = None,
    content_mask: np.ndarray | None = None,
    temporal: Temporal | None = None,
    reuse: Reuse | None = None,
) -> np.ndarray:
    """Stylise `content` with one style image (or several, blended). Returns float32 [N, H, W, 3].

    content: float32 RGB [N, H, W, 3] in [0, 1]: one photo (images.load_image gives these) or a
    batch of N photos of one size, each stylised exactly as it would be alone (losses.py: one loss
    per image; optimizers.py: per-image updates); style: [1, h, w, 3] each. The output has the
    content's size. Pass `extractor` to reuse a network across calls. With config.schedule.scales
    > 1 it runs coarse to fine (Geometry.plan); `callback` numbers steps 1 ... config.schedule.steps
    across all scales, and its image has the current scale's size (with the content's chroma
    already, under preserve_colors="luminance"). style_blend_weights: one per style (default:
    config.style.style_blend_weights, else equal). init_image: float32 [1, h, w, 3], the starting
    image (resized to the content); default: config.schedule.init, read from its path if it is one.
    style_masks: one per style (or None for a style that applies everywhere), content_mask: where
    the content loss applies; float32 [1, h, w, 1] in [0, 1] of any size, resized to the content
    at every scale (losses.py, departure 6). temporal: a video frame's temporal term (objective.py;
    video.py builds it), its target and mask resized to each scale. reuse: what calls with the same
    styles, blend and config share (scales.Reuse: style targets and compiled steps; video.py's frames).
    """
    config = (config or Config()).validate()
    styles = [style] if isinstance(style, np.ndarray) and style.ndim == 4 else list(style)
    blend = _blend_weights(config, len(styles), style_blend_weights)
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
    preserve = config.style.preserve_colors
    content_t = tf.convert_to_tensor(content, tf.float32)
    styles_t = colors.prepare_styles(content_t, [tf.convert_to_tensor(s, tf.float32) for s in styles], preserve)
    geometry = Geometry.of(config)
    runner = ScaleRunner(extractor or vgg.extractor_for(config), config, reuse)
    plan = geometry.plan(height, width)
    image = coarser_content = None
    for k, scale in enumerate(plan):
        with runner.memory_guard(scale.size, len(styles)):
            content_k = resample.to_size(content_t, scale.size)
            styles_k = [resample.to_size(s, geometry.style_size(tuple(s.shape[1:3]), scale.size)) for s in styles_t]
            masks_k = None if style_masks is None else [resample.mask_to_size(m, scale.size) for m in style_masks]
            start = starts.start_image(
                image, coarser_content, content_k, styles_k, config.schedule, blend, init_image, masks_k
            )
            report = callback
            if callback is not None and preserve == "luminance":  # the callback sees what would be returned
                report = lambda n, terms, im, c=content_k: callback(n, terms, colors.keep_chroma(im, c))  # noqa: E731
            image = runner.run(
                scale,
                content_k,
                styles_k,
                start,
                final=k == len(plan) - 1,
                blend=blend,
                style_masks=masks_k,
                content_mask=resample.mask_to_size(content_mask, scale.size),
                temporal=None if temporal is None else _temporal_at(temporal, scale.size),
                callback=report,
            )
            coarser_content = content_k
    return colors.finish(image, content_t, preserve).numpy()


def _temporal_at(temporal: Temporal, size: tuple[int, int]) -> Temporal:
    """The temporal term at a scale's size: its target and masks resampled."""
    target = resample.to_size(tf.convert_to_tensor(temporal.target, tf.float32), size)
    mask, free = resample.mask_to_size(temporal.mask, size), resample.mask_to_size(temporal.free, size)
    return Temporal(target, mask, temporal.weight, free)


def _blend_weights(config: Config, count: int, given: Sequence[float] | None) -> list[float] | None:
    """The blend weights of `count` styles: `given`, else config's (None: equal)."""
    if given is None:
        return config.style.blend_weights(count)
    if len(given) != count:
        raise ConfigError(f"{len(given)} style blend weights for {count} style image(s)")
    return list(given)


def coarse_to_fine_in_graph(
    extractor: vgg.FeatureExtractor,
    content: tf.Tensor,
    styles: Sequence[tf.Tensor],
    config: Config,
    style_blend_weights: Sequence[float] | None = None,
) -> tf.Tensor:
    """In-graph twin of stylize(): the same scales, sizes and update; stateless, no callback.

    content: float32 RGB [N, H, W, 3] in [0, 1] (N photos of one size), styles [1, h, w, 3]; sizes
    may be dynamic. Call inside a tf.function (SavedModel signatures do). Returns float32
    [N, H, W, 3]. With dynamic sizes (exported signatures) the plan is Geometry.plan_tf's: the
    number of scales is fixed when the graph is built, for a content whose longer side is
    config.schedule.max_size (what the signatures resize to). When every shape is known (static),
    the plan is stylize()'s own and resampling is Lanczos's matrix form: the whole function then
    compiles with jit_compile=True, as a TPU needs.
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
    blend = _blend_weights(config, len(styles), style_blend_weights)
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

    styles = colors.prepare_styles(content, styles, config.style.preserve_colors)
    loss_scale = devices.loss_scale(devices.resolved_precision(config.runtime.precision))
    # A blurred start's size where shapes are dynamic: the first scale's for an input of max_size.
    schedule = config.schedule
    long_side = round(schedule.max_size * schedule.scale_ratio ** (1 - geometry.scale_count(schedule.max_size)))
    image = coarser_content = None
    for size, steps in plan:
        content_k = resample.to_size(content, size, static)
        styles_k = [resample.to_size(s, style_size(s, size), static) for s in styles]
        objective = Objective.of_images(extractor, content_k, styles_k, config.loss, blend)
        start = starts.start_image(
            image, coarser_content, content_k, styles_k, schedule, blend, static=static, long_side=long_side
        )
        image = step.optimize_in_graph(objective, start, steps, config.optim, loss_scale)
        coarser_content = content_k
    return colors.finish(image, content, config.style.preserve_colors)
