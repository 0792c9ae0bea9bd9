"""The objective of pixel optimisation: image -> VGG features -> losses.loss_terms, and its gradient.

Contract: images are float32 RGB in [0, 1], NHWC, [N, H, W, 3] (N photos of one size, or 1);
masks float32 [1, H, W, 1] in [0, 1] at the content's size (1 = the style, or the content loss,
applies there), resized to each layer's resolution (targets.layer_masks).

What the step calls (step.py) is `ValueAndGradient`: `value_and_gradient(image, loss_scale)` ->
(terms {"total", "content", "style", "tv"}: float32 [N], weighted, total = the sum of the other
three; the gradient of sum(total) in the image, float32 [N, H, W, 3]). `Objective` answers it with
one GradientTape over the whole image; tiles.TiledObjective tile by tile. Neither holds variables
(compiled.py splits an objective into its structure and its tensors, so that one compiled step
serves every objective of the same structure).
`WithTemporal` adds a video frame's temporal term (Ruder et al. 2016) to either: "temporal" joins
the terms and the total.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Protocol

import tensorflow as tf

from style_transfer import losses, targets, vgg
from style_transfer.config import LossConfig
from style_transfer.losses import ContentTargets, StyleStatistic, StyleTargets


class ValueAndGradient(Protocol):
    """What the optimisation step differentiates (step.make_update)."""

    def value_and_gradient(self, image: tf.Tensor, loss_scale: float = 1.0) -> tuple[dict[str, tf.Tensor], tf.Tensor]:
        """(terms {"total", "content", "style", "tv"}: float32 [N], weighted; d sum(total) / d image).

        The gradient of the sum over the batch is each image's own loss's (no 1/N). loss_scale
        multiplies the loss before differentiation and divides the gradient after (float16,
        devices.loss_scale).
        """
        ...


@dataclasses.dataclass(frozen=True, eq=False)  # eq=False: hashed by identity (tf.function keys on it)
class Objective:
    """The weighted loss of images against fixed targets (losses.loss_terms), differentiable in the image.

    `objective(image)` -> {"total", "content", "style", "tv"}: float32 [N], weighted. The
    targets are built before (targets.py; `of_images` does it for one set of photos and paintings,
    `of_photos` for photos against paintings' targets built already).
    """

    extractor: vgg.FeatureExtractor
    content: ContentTargets
    style: StyleTargets
    config: LossConfig

    @classmethod
    def of_images(
        cls,
        extractor: vgg.FeatureExtractor,
        content: tf.Tensor,
        styles: Sequence[tf.Tensor],
        config: LossConfig,
        blend: Sequence[float] | None = None,
        style_masks: Sequence[tf.Tensor | None] | None = None,
        content_mask: tf.Tensor | None = None,
        statistic: StyleStatistic | None = None,
    ) -> Objective:
        """The objective for the photos `content` [N, H, W, 3] (each its own content target) and the
        paintings `styles` ([1, h, w, 3] each, or [N, h, w, 3]: one per photo), blended by `blend`;
        masks as targets.for_photos takes them. Computes the targets (in eager mode or in a graph)."""
        style = targets.build_style_targets(extractor, styles, config, blend, statistic)
        return cls.of_photos(extractor, content, style, config, style_masks, content_mask)

    @classmethod
    def of_photos(
        cls,
        extractor: vgg.FeatureExtractor,
        content: tf.Tensor,
        style: StyleTargets,
        config: LossConfig,
        style_masks: Sequence[tf.Tensor | None] | None = None,
        content_mask: tf.Tensor | None = None,
    ) -> Objective:
        """The objective for the photos `content` [N, H, W, 3] against the paintings' targets
        `style` (targets.build_style_targets); masks as targets.for_photos takes them."""
        content_targets, style = targets.for_photos(extractor(content), style, config, style_masks, content_mask)
        return cls(extractor, content_targets, style, config)

    def __call__(self, image: tf.Tensor) -> dict[str, tf.Tensor]:
        return losses.loss_terms(self.extractor(image), self.content, self.style, image, self.config)

    def value_and_gradient(self, image: tf.Tensor, loss_scale: float = 1.0) -> tuple[dict[str, tf.Tensor], tf.Tensor]:
        """ValueAndGradient: one GradientTape over the whole image."""
        with tf.GradientTape() as tape:
            tape.watch(image)
            terms = self(image)  # {name: [N]}
            scaled = tf.reduce_sum(terms["total"]) * loss_scale
        return terms, tape.gradient(scaled, image) / loss_scale


@dataclasses.dataclass(frozen=True)
class Temporal:
    """A video frame's temporal term (losses.temporal_loss): the previous frame's result warped
    onto this frame (float32 [1, H, W, 3]), where the flow is reliable (float32 [1, H, W, 1] in
    [0, 1]; flow.reliable) and its weight. `free` (float32 [1, H, W, 1] in [0, 1], or None for
    everywhere): how far each pixel may move; the gradient is multiplied by it, so a pixel at 0
    stays where it starts (video.py paints what the carried result does not cover with the rest
    held still). multiscale.stylize resamples all three to each scale."""

    target: tf.Tensor
    mask: tf.Tensor
    weight: float
    free: tf.Tensor | None = None


@dataclasses.dataclass(frozen=True, eq=False)
class WithTemporal:
    """ValueAndGradient: `inner`'s terms plus weight x the temporal loss against a warped previous
    frame, as "temporal" and in "total"; its gradient added to inner's (float32: it needs no loss
    scale), then multiplied by temporal.free where given."""

    inner: ValueAndGradient
    temporal: Temporal

    def value_and_gradient(self, image: tf.Tensor, loss_scale: float = 1.0) -> tuple[dict[str, tf.Tensor], tf.Tensor]:
        terms, gradient = self.inner.value_and_gradient(image, loss_scale)
        with tf.GradientTape() as tape:
            tape.watch(image)
            term = self.temporal.weight * losses.temporal_loss(image, self.temporal.target, self.temporal.mask)  # [N]
            summed = tf.reduce_sum(term)
        gradient += tape.gradient(summed, image)
        if self.temporal.free is not None:
            gradient *= tf.cast(self.temporal.free, gradient.dtype)
        return {**terms, "temporal": term, "total": terms["total"] + term}, gradient
