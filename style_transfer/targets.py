"""Targets: paintings and photos -> what the loss compares generated images with (losses.py).

The one place style targets are built: `build_style_targets` turns painting images into a
losses.StyleTargets (each painting's statistic at every style layer, blend weights and layer
weights normalised: departure 3), once, for as long as it serves (a scale of the pixel
optimisation; a whole training run of a network). `for_photos` adds what depends on the photos:
their content targets, the style masks resized to each layer with their coverage (departure 6),
and the photo normalisation (departure 5). Both the untiled objective (objective.py) and the tiled
one (tiles.py: its statistics summed tile by tile, given as `measure`) build their targets here.

Contract: images float32 RGB [N, H, W, 3] in [0, 1] (paintings [1, h, w, 3], or [N, h, w, 3]: one
per photo); masks float32 [1, H, W, 1] in [0, 1] at the photo's size.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import tensorflow as tf

from style_transfer import statistics, vgg
from style_transfer.config import LossConfig
from style_transfer.losses import ContentTargets, Stats, StyleStatistic, StyleTargets

# measure(image) -> {layer: the statistic of the image at that layer}: how a painting is measured.
Measure = Callable[[tf.Tensor], Mapping[str, Stats]]


def style_layer_weights(config: LossConfig) -> dict[str, float]:
    """{style layer: weight} for the layers with a non-zero weight, normalised to sum to 1 (departure 3)."""
    weights = config.layer_weights()
    total = sum(weights.values())
    return {name: weight / total for name, weight in weights.items() if weight}


def build_style_targets(
    extractor: vgg.FeatureExtractor,
    styles: Sequence[tf.Tensor],
    config: LossConfig,
    blend: Sequence[float] | None = None,
    statistic: StyleStatistic | None = None,
    measure: Measure | None = None,
) -> StyleTargets:
    """The paintings `styles` as style targets: their statistic (default: config.style_loss's,
    statistics.py) at each style layer with a non-zero weight, prepared once (statistic.target),
    blended by `blend` (one weight per painting; default equal), both kinds of weight normalised to
    sum to 1.

    measure: how a painting's statistics are computed (default: the extractor's features of the
    whole image); tiles.py passes one that sums them tile by tile.
    """
    statistic = statistic or statistics.statistic_for(config.style_loss)
    blend = list(blend) if blend is not None else [1.0] * len(styles)
    if len(blend) != len(styles):
        raise ValueError(f"{len(blend)} blend weights for {len(styles)} styles")
    layer_weights = style_layer_weights(config)
    if measure is None:

        def measure(image):
            features = extractor(image)
            return {name: statistic(features[name]) for name in layer_weights}

    total = sum(blend)
    return StyleTargets(
        statistic=statistic,
        stats=tuple({name: statistic.target(stats) for name, stats in measure(style).items()} for style in styles),
        weights=tuple(weight / total for weight in blend),
        layer_weights=layer_weights,
    )


def layer_masks(mask: tf.Tensor, features: Mapping[str, tf.Tensor], layers: Sequence[str]) -> dict[str, tf.Tensor]:
    """A [1, H, W, 1] mask -> {layer: [1, h, w, 1]} at each layer's feature resolution (area average)."""
    mask = tf.cast(mask, tf.float32)
    return {name: tf.image.resize(mask, tf.shape(features[name])[1:3], method="area") for name in layers}


def coverage(mask: tf.Tensor, count: int) -> tf.Tensor:
    """A masked painting's share multiplier (departure 6): the number of paintings times the mask's mean."""
    return count * tf.reduce_mean(tf.cast(mask, tf.float32))


def for_photos(
    photo_features: Mapping[str, tf.Tensor],
    style: StyleTargets,
    config: LossConfig,
    style_masks: Sequence[tf.Tensor | None] | None = None,
    content_mask: tf.Tensor | None = None,
) -> tuple[ContentTargets, StyleTargets]:
    """The targets for generated images of these photos, whose features are `photo_features`
    ({layer: [N, h, w, C]}, every content and style layer): their content targets, and `style`
    with the masks (one per painting, or None; [1, H, W, 1] at the photos' size) and, with
    style_normalization "photo", the photos' own distances as divisors.

    A training loop calls it for every batch of photos (cheap: the photos' features are computed
    for the content loss anyway); the pixel optimiser once per scale.
    """
    content = ContentTargets(
        features={name: photo_features[name] for name in config.content_layers},
        masks=None if content_mask is None else layer_masks(content_mask, photo_features, config.content_layers),
    )
    if style_masks is not None:
        if len(style_masks) != len(style.stats):
            raise ValueError(f"{len(style_masks)} style masks for {len(style.stats)} styles")
        count = len(style_masks)
        style = style.with_masks(
            [None if m is None else layer_masks(m, photo_features, style.layers) for m in style_masks],
            [1.0 if m is None else coverage(m, count) for m in style_masks],
        )
    if config.style_normalization == "photo":
        style = style.normalized_by(photo_features)
    return content, style
