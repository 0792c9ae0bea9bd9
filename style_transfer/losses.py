"""The loss: content, style and total variation, normalised and weighted. Math only, no network.

After L. A. Gatys, A. S. Ecker and M. Bethge, "A Neural Algorithm of Artistic Style" (arXiv:1508.06576,
2015) and "Image Style Transfer Using Convolutional Neural Networks" (CVPR 2016).

`loss_terms(features, content, style, image, config)` is the loss of a batch of generated images:
the pixel optimiser calls it (objective.py) and so can a network's training loop, each with the
targets it keeps: `ContentTargets` (the photos' features) and `StyleTargets` (the paintings'
statistics, built once by targets.build_style_targets). What the style loss matches at a layer is
a `StyleStatistic` (statistics.py: Gram matrices, the paper's, or mean and covariance, or sliced
projections; LossConfig.style_loss chooses); another statistic is a class there and an entry of
STYLE_STATISTICS, nothing more.

Contracts:
- features: {layer name: float32 [N, h, w, C]} as returned by vgg.FeatureExtractor;
- images: float32 RGB [N, H, W, 3] in [0, 1];
- Gram matrices: float32 [N, C, C] (targets may have N = 1 and broadcast over the batch);
- masks: {layer: float32 [1 or N, h, w, 1]} in [0, 1], each at that layer's feature resolution;
- every loss returns float32 [N]: one loss per image, none depending on another image of the
  batch. The loops differentiate the sum, so each image of a batch is optimised exactly as it
  would be alone (step.py); a training loop over a batch takes the mean.

Departures from the paper, each marked below with "Departure":
1. Gram matrices are divided by the number of positions h*w, so they do not depend on image size.
2. Each style layer's error is divided by the squared norm of its target Gram matrix (the paper
   uses 1 / (4 N_l^2 M_l^2)), and content error by the squared norm of the target features. The
   losses are then relative errors: ~1 for "nothing matches", 0 for a perfect match, whatever the
   network's activation scale (VGG19 vs VGG16, Keras vs converted weights), the image size or the
   layer. That is what lets one set of default weights work everywhere.
3. Layer weights (per style layer) and style-target weights are normalised to sum to 1.
4. A total-variation term (Mahendran & Vedaldi 2015; Johnson et al. 2016), not in the paper,
   damps the high-frequency noise that pixel-space optimisation produces.
5. Optionally (LossConfig.style_normalization="photo", the default), each style layer's error is
   also divided by the content photo's own error at that layer, so every layer starts at 1
   whatever the painting (StyleTargets.normalized_by).
6. Spatial masks (Gatys et al. 2017, "Controlling Perceptual Factors", section 4): a style target
   may carry a mask per layer; the image's statistic is then the mask-weighted mean over
   positions (masked_gram), so the style is matched only where the mask is, and a content mask
   restricts the content error likewise. A masked target's share is also multiplied by its
   `coverage` (targets.coverage: the number of styles times the mask's mean), so that a masked
   pixel feels the style as strongly as in a run without masks (the masked mean's gradient per
   pixel grows as the area shrinks).
7-8. The other style statistics' own departures are marked in statistics.py (mean_cov, sliced).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence

import tensorflow as tf

from style_transfer.config import LossConfig
from style_transfer.statistics import (  # noqa: F401 (gram_matrix, masked_gram: part of this module's API)
    EPS,
    Stats,
    StyleStatistic,
    gram_matrix,
    masked_gram,
    relative_error,
)

# The statistics themselves (Gram matrices and the others) live in statistics.py.
_EPS = EPS


@dataclasses.dataclass(frozen=True)
class ContentTargets:
    """The photos' side of the content loss: their features at the content layers
    {layer: [1 or N, h, w, C]}, and optionally a content mask per layer (departure 6)."""

    features: Mapping[str, tf.Tensor]
    masks: Mapping[str, tf.Tensor] | None = None


@dataclasses.dataclass(frozen=True)
class StyleTargets:
    """The paintings to match, built once (targets.build_style_targets) and kept as long as they
    serve: each painting's statistic at each style layer, and their weights.

    stats: one {layer: Stats} per painting, batch 1 (or N: one painting per photo);
    weights: the paintings' blend weights, normalised to sum to 1 (departure 3);
    layer_weights: {layer: weight}, the style layers with a non-zero weight, normalised to sum to 1.
    What depends on the photos (targets.for_photos): masks per painting ({layer: mask}, or None)
    with their `coverage` (departure 6), and `divisors` per painting ({layer: [N]}, departure 5).
    """

    statistic: StyleStatistic
    stats: tuple[Mapping[str, Stats], ...]
    weights: tuple[float, ...]
    layer_weights: Mapping[str, float]
    masks: tuple[Mapping[str, tf.Tensor] | None, ...] | None = None
    coverage: tuple[tf.Tensor | float, ...] | None = None
    divisors: tuple[Mapping[str, tf.Tensor], ...] | None = None

    @property
    def layers(self) -> tuple[str, ...]:
        return tuple(self.layer_weights)

    def with_masks(self, masks: Sequence[Mapping[str, tf.Tensor] | None], coverage: Sequence) -> StyleTargets:
        """These targets, each matched only where its masks ({layer: [1, h, w, 1]}, or None: everywhere)
        are, its share times its coverage. Set masks before normalized_by, so that the photo's own
        error is measured on the same area."""
        return dataclasses.replace(self, masks=tuple(masks), coverage=tuple(coverage))

    def mask(self, index: int, layer: str) -> tf.Tensor | None:
        masks = self.masks[index] if self.masks is not None else None
        return None if masks is None else masks[layer]

    def normalized_by(self, features: Mapping[str, tf.Tensor]) -> StyleTargets:
        """These targets with each layer's error divided by that of `features` (the photos').

        Departure 5. With the target-norm normalisation alone (departure 2), a layer's error
        at the start depends on the painting: measured on the 3 sample photos x 4 paintings with
        VGG16, block5_conv1 starts at 2.1-10.2 and the shallower layers at 0.15-1.9 (a painting's
        block5 Gram norm is 1.5-3.3x smaller than a photo's; most for Hokusai's flat wave), so the
        deepest layer, the one closest to the photo's content, takes most of the gradient and
        washes the content out. Divided by the photo's own error, every layer and every
        painting starts at 1: the style weight then means "how much of the photo's distance from
        the painting to remove", the same for every painting.
        """
        return self.normalized_by_stats(lambda i, name: self.statistic(features[name], self.mask(i, name)))

    def normalized_by_stats(self, stats_of: Callable[[int, str], Stats]) -> StyleTargets:
        """normalized_by, given stats_of(painting index, layer) -> the photos' statistic as that
        painting compares it (tiles.py sums them by tile). One divisor per photo, [N]."""
        divisors = tuple(
            {
                name: tf.maximum(self.statistic.distance(stats_of(i, name), target), 1e-6)
                for name, target in stats.items()
            }
            for i, stats in enumerate(self.stats)
        )
        return dataclasses.replace(self, divisors=divisors)


def content_loss(features: Mapping[str, tf.Tensor], targets: ContentTargets) -> tf.Tensor:
    """Mean over the content layers of ||F - F_c||^2 / ||F_c||^2 (paper eq. 1, normalised), [N].

    Only the masked positions count where the targets carry masks (departure 6).
    """
    per_layer = [
        relative_error(tf.cast(features[name], tf.float32), t, None if targets.masks is None else targets.masks[name])
        for name, t in targets.features.items()
    ]
    return tf.add_n(per_layer) / len(per_layer)  # [N]


def style_loss(features: Mapping[str, tf.Tensor], targets: StyleTargets) -> tf.Tensor:
    """sum_t w_t sum_l w_l D(S_l, A_l^t) / d_l^t (paper eqs. 3-5, normalised), [N].

    D is the statistic's distance (Gram: relative error), S_l the image's statistic at layer l,
    A_l^t painting t's; the weights of layers and paintings sum to 1, so the loss is ~1 when
    nothing of the style is matched (exactly 1 at the photo itself when the targets carry
    divisors d: departure 5; else d = 1).
    """
    # Unmasked paintings share one statistic per layer; masked ones take their own.
    shared: dict[str, Stats] = {}

    def stats_of(index: int, name: str) -> Stats:
        mask = targets.mask(index, name)
        if mask is not None:
            return targets.statistic(features[name], mask)
        if name not in shared:
            shared[name] = targets.statistic(features[name])
        return shared[name]

    return style_loss_of_stats(stats_of, targets, tf.shape(next(iter(features.values())))[:1])


def style_loss_of_stats(stats_of: Callable[[int, str], Stats], targets: StyleTargets, batch) -> tf.Tensor:
    """style_loss from the image's statistics: stats_of(i, layer), the image's statistic as
    painting i compares it (masked or not), asked only for layers with a non-zero share; batch:
    [N] (the shape of the result). tiles.py calls it with statistics summed over tiles."""
    per_image = tf.zeros(batch)  # [N]
    for index, weight in enumerate(targets.weights):
        coverage = 1.0 if targets.coverage is None else targets.coverage[index]
        for name, layer_weight in targets.layer_weights.items():
            share = weight * layer_weight
            if share:
                error = targets.statistic.distance(stats_of(index, name), targets.stats[index][name])
                if targets.divisors is not None:
                    error = error / targets.divisors[index][name]
                per_image += share * coverage * error
    return per_image  # [N]


def tv_loss(image: tf.Tensor) -> tf.Tensor:
    """Squared differences between neighbouring pixels, per pixel value: [N, H, W, 3] -> [N].

    Departure 4. Squared (beta = 2) differences in [0, 1] units, averaged over pixels: its gradient
    per pixel scales like the other losses' (all are means over positions), so the balance of
    terms does not change with image size.
    """
    image = tf.cast(image, tf.float32)
    dy = image[:, 1:, :, :] - image[:, :-1, :, :]
    dx = image[:, :, 1:, :] - image[:, :, :-1, :]
    # Divided by the pixel count, not the pair count, so a 1-pixel-wide image gives 0, not NaN.
    values = tf.cast(tf.reduce_prod(tf.shape(image)[1:]), tf.float32)
    return (tf.reduce_sum(tf.square(dy), axis=[1, 2, 3]) + tf.reduce_sum(tf.square(dx), axis=[1, 2, 3])) / values


def temporal_loss(image: tf.Tensor, warped: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """Ruder et al. 2016's short-term temporal loss: the squared difference between the image and
    the previous frame's result warped onto it (flow.warp), where the flow is reliable, per pixel
    value: image, warped [N, H, W, 3], mask [N or 1, H, W, 1] in [0, 1] -> [N]. 0 for a frame that
    is exactly the warped one; the masked-out pixels are free (occlusions: new content)."""
    image = tf.cast(image, tf.float32)
    warped, mask = tf.convert_to_tensor(warped, tf.float32), tf.convert_to_tensor(mask, tf.float32)
    values = tf.cast(tf.reduce_prod(tf.shape(image)[1:]), tf.float32)
    return tf.reduce_sum(mask * tf.square(image - warped), axis=[1, 2, 3]) / values


def weighted(content: tf.Tensor, style: tf.Tensor, tv: tf.Tensor, config: LossConfig) -> dict[str, tf.Tensor]:
    """{"total", "content", "style", "tv"}: each term times its weight, total their sum; [N] each."""
    terms = {
        "content": config.content_weight * content,
        "style": config.style_weight * style,
        "tv": config.tv_weight * tv,
    }
    return {"total": terms["content"] + terms["style"] + terms["tv"], **terms}


def loss_terms(
    features: Mapping[str, tf.Tensor],
    content: ContentTargets,
    style: StyleTargets,
    image: tf.Tensor,
    config: LossConfig,
) -> dict[str, tf.Tensor]:
    """The loss of a batch of generated images [N, H, W, 3] whose features are `features`:
    {"total", "content", "style", "tv"}, float32 [N] each, weighted by config (a term whose weight
    is 0 is not computed). Differentiable in the features and the image."""
    zero = tf.zeros(tf.shape(image)[:1])  # [N]
    content_term = content_loss(features, content) if config.content_weight else zero
    style_term = style_loss(features, style) if config.style_weight else zero
    tv = tv_loss(image) if config.tv_weight else zero
    return weighted(content_term, style_term, tv, config)
