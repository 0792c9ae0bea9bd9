"""Content, Gram-style and total-variation losses, normalised.

After L. A. Gatys, A. S. Ecker and M. Bethge, "A Neural Algorithm of Artistic Style" (arXiv:1508.06576,
2015) and "Image Style Transfer Using Convolutional Neural Networks" (CVPR 2016).

Contracts:
- features: {layer name: float32 [N, h, w, C]} as returned by vgg.FeatureExtractor;
- images: float32 RGB [N, H, W, 3] in [0, 1];
- Gram matrices: float32 [N, C, C] (targets may have N = 1 and broadcast over the batch);
- every loss returns float32 [N]: one loss per image, none depending on another image of the
  batch. The loops differentiate the sum, so each image of a batch is optimised exactly as it
  would be alone (optimize.py); a training loop over a batch takes the mean.

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
5. Optionally (Config.style_normalization="photo", the default), each style layer's error is also
   divided by the content photo's own error at that layer, so every layer starts at 1 whatever
   the painting (StyleTarget.normalize_by).
6. Spatial masks (Gatys et al. 2017, "Controlling Perceptual Factors", section 4): a style target
   may carry a mask per layer ([1 or N, h, w, 1] in [0, 1], the layer's resolution); the image's
   Gram matrix is then the mask-weighted mean over positions (masked_gram), so the style is
   matched only where the mask is, and a content mask restricts the content error likewise. A
   masked target's share is also multiplied by its `coverage` (Objective: the number of styles
   times the mask's mean), so that a masked pixel feels the style as strongly as in a run
   without masks (the masked mean's gradient per pixel grows as the area shrinks).

Masks: {layer: float32 [1 or N, h, w, 1]}, each at that layer's feature resolution.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import tensorflow as tf

# Keeps a relative error finite when a target is all zeros (e.g. a black image through ReLUs).
_EPS = 1e-20


def gram_matrix(features: tf.Tensor) -> tf.Tensor:
    """[N, h, w, C] -> [N, C, C]: channel co-activations averaged over positions.

    Departure 1: G = F^T F / (h w); the paper's G = F^T F is a sum over positions.
    """
    features = tf.cast(features, tf.float32)
    positions = tf.cast(tf.shape(features)[1] * tf.shape(features)[2], tf.float32)
    return tf.einsum("nhwc,nhwd->ncd", features, features) / positions


def masked_gram(features: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """[N, h, w, C], mask [1 or N, h, w, 1] -> [N, C, C]: co-activations averaged over positions
    weighted by the mask, sum_p m_p F_p F_p^T / sum_p m_p (departure 6; all ones = gram_matrix)."""
    features = tf.cast(features, tf.float32)
    mask = tf.cast(mask, tf.float32)
    area = tf.reduce_sum(mask, axis=[1, 2, 3])  # [1 or N]
    return tf.einsum("nhwc,nhwd->ncd", features * mask, features) / tf.maximum(area, _EPS)[:, None, None]


def relative_error(x: tf.Tensor, target: tf.Tensor, weights: tf.Tensor | None = None) -> tf.Tensor:
    """||x - target||^2 / ||target||^2 per batch element: [N, ...] -> [N]. Departure 2.

    weights (broadcasting against x, e.g. a mask [1, h, w, 1]): both sums weighted by them.
    """
    axes = tf.range(1, tf.rank(x))
    squared_error, squared_target = tf.square(x - target), tf.square(target)
    if weights is not None:
        squared_error, squared_target = squared_error * weights, squared_target * weights
    error = tf.reduce_sum(squared_error, axis=axes)
    norm = tf.reduce_sum(squared_target, axis=tf.range(1, tf.rank(target)))
    return error / (norm + _EPS)


def content_loss(
    features: Mapping[str, tf.Tensor],
    targets: Mapping[str, tf.Tensor],
    masks: Mapping[str, tf.Tensor] | None = None,
) -> tf.Tensor:
    """Mean over the content layers of ||F - F_c||^2 / ||F_c||^2 (paper eq. 1, normalised), [N].

    targets: {layer: [1 or N, h, w, C]}, the content image's features at the same size.
    masks: {layer: [1 or N, h, w, 1]}: only the masked positions count (departure 6).
    """
    per_layer = [
        relative_error(tf.cast(features[name], tf.float32), t, None if masks is None else masks[name])
        for name, t in targets.items()
    ]
    return tf.add_n(per_layer) / len(per_layer)  # [N]


@dataclasses.dataclass(frozen=True)
class StyleTarget:
    """One style to match: Gram matrices {layer: [1, C, C]}, a blend weight, and optionally
    divisors per layer {layer: float32 [N]}, one per photo (see `normalize_by`), and masks per
    layer with the share multiplier `coverage` (departure 6; see `with_masks`).

    Several targets blend styles: their weights are normalised to sum to 1 (departure 3).
    """

    grams: Mapping[str, tf.Tensor]
    weight: float = 1.0
    divisors: Mapping[str, tf.Tensor] | None = None
    masks: Mapping[str, tf.Tensor] | None = None
    coverage: tf.Tensor | float = 1.0

    def with_masks(self, masks: Mapping[str, tf.Tensor], coverage: tf.Tensor | float) -> StyleTarget:
        """This target matched only where `masks` ({layer: [1, h, w, 1]}) are, its share times coverage.

        Set masks before normalize_by, so the photo's own error is measured on the same area.
        """
        return dataclasses.replace(self, masks=dict(masks), coverage=coverage)

    def image_gram(self, features: tf.Tensor, name: str) -> tf.Tensor:
        """The Gram matrix of an image's features at layer `name` as this target compares it."""
        return gram_matrix(features) if self.masks is None else masked_gram(features, self.masks[name])

    @classmethod
    def from_features(cls, features: Mapping[str, tf.Tensor], weight: float = 1.0) -> StyleTarget:
        return cls({name: gram_matrix(f) for name, f in features.items()}, weight)

    def normalize_by(self, features: Mapping[str, tf.Tensor]) -> StyleTarget:
        """This target with each layer's error divided by that of `features` (the photo's).

        Departure 5. With the target-norm normalisation alone (departure 2), a layer's error
        at the start depends on the painting: measured on the 3 sample photos x 4 paintings with
        VGG16, block5_conv1 starts at 2.1-10.2 and the shallower layers at 0.15-1.9 (a painting's
        block5 Gram norm is 1.5-3.3x smaller than a photo's; most for Hokusai's flat wave), so the
        deepest layer, the one closest to the photo's content, takes most of the gradient and
        washes the content out. Divided by the photo's own error, every layer and every
        painting starts at 1: the style weight then means "how much of the photo's distance from
        the painting to remove", the same for every painting.
        """
        return self.normalize_by_grams({name: self.image_gram(features[name], name) for name in self.grams})

    def normalize_by_grams(self, grams: Mapping[str, tf.Tensor]) -> StyleTarget:
        """normalize_by, given the photo's Gram matrices {layer: [N, C, C]} (tiles.py sums them by tile)."""
        # {layer: [N]}, one divisor per photo of a batch (broadcasts over a batch of one).
        divisors = {name: tf.maximum(relative_error(grams[name], target), 1e-6) for name, target in self.grams.items()}
        return dataclasses.replace(self, divisors=divisors)


def style_loss(
    features: Mapping[str, tf.Tensor],
    targets: Sequence[StyleTarget],
    layer_weights: Mapping[str, float],
) -> tf.Tensor:
    """sum_t w_t sum_l w_l ||G_l - A_l^t||^2 / ||A_l^t||^2 / d_l^t (paper eqs. 3-5, normalised), [N].

    layer_weights: {style layer: relative weight}; weights of layers and of targets are
    normalised to sum to 1, so the loss is ~1 when nothing of the style is matched (exactly 1
    at the photo itself when the targets carry divisors d: departure 5; else d = 1).
    """
    # Unmasked targets share one Gram matrix per layer; masked ones take their own (masked_gram).
    shared = {}

    def gram_of(index: int, name: str) -> tf.Tensor:
        target = targets[index]
        if target.masks is not None:
            return target.image_gram(features[name], name)
        if name not in shared:
            shared[name] = gram_matrix(features[name])
        return shared[name]

    return style_loss_of_grams(gram_of, targets, layer_weights, tf.shape(next(iter(features.values())))[:1])


def style_loss_of_grams(
    gram_of, targets: Sequence[StyleTarget], layer_weights: Mapping[str, float], batch
) -> tf.Tensor:
    """style_loss from the image's Gram matrices: gram_of(i, layer) -> [N, C, C], the image's Gram
    matrix as targets[i] compares it (masked or not), asked only for layers with a non-zero share;
    batch: [N] (the shape of the result). tiles.py calls it with Gram matrices summed over tiles."""
    layer_total = sum(layer_weights.values())
    target_total = sum(t.weight for t in targets)
    per_image = tf.zeros(batch)  # [N]
    for index, target in enumerate(targets):
        for name, weight in layer_weights.items():
            share = (target.weight / target_total) * (weight / layer_total)
            if share:
                error = relative_error(gram_of(index, name), target.grams[name])
                if target.divisors is not None:
                    error = error / target.divisors[name]
                per_image += share * target.coverage * error
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
