"""The objective: image -> VGG features -> losses -> weighted loss terms.

Contract: images are float32 RGB in [0, 1], NHWC, [N, H, W, 3] (N photos of one size, or 1);
masks float32 [1, H, W, 1] in [0, 1] at the content's size (1 = the style, or the content loss,
applies there), resized here to each layer's resolution (area average).
The extractor (vgg.py) maps an image to named float32 features; losses.py turns features into
float32 [N]. `Objective(extractor, content, styles, config)(image)` -> {"total", "content",
"style", "tv"}: float32 [N], one value per image, already multiplied by config's weights (total =
sum of the other three); differentiable in `image`, no variables of its own. The content batch
[N, H, W, 3] gives each image its own content target; style images are [1, h, w, 3] (one style
for the whole batch) or [N, h, w, 3] (one per photo, as preserve_colors="histogram" makes them).
The loops (optimize.py) differentiate it and hand the gradient to the optimisers (optimizers.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from style_transfer import losses, vgg
from style_transfer.config import Config


class Objective:
    """Weighted content + style + TV loss for one content image and a list of style targets.

    `objective(image)` -> {"total", "content", "style", "tv"}: float32 [N], weighted.
    Target features are computed once here, at construction (in eager mode or inside a graph).
    """

    def __init__(
        self,
        extractor: vgg.FeatureExtractor,
        content: tf.Tensor,
        styles: Sequence[tf.Tensor],
        config: Config,
        style_blend_weights: Sequence[float] | None = None,
        style_masks: Sequence[tf.Tensor | None] | None = None,
        content_mask: tf.Tensor | None = None,
    ):
        self.extractor = extractor
        self.config = config
        self.layer_weights = config.loss.layer_weights()
        blend = style_blend_weights or [1.0] * len(styles)
        if len(blend) != len(styles):
            raise ValueError(f"{len(blend)} blend weights for {len(styles)} styles")
        style_masks = list(style_masks) if style_masks is not None else [None] * len(styles)
        if len(style_masks) != len(styles):
            raise ValueError(f"{len(style_masks)} style masks for {len(styles)} styles")
        content_features = extractor(content)
        self.content_targets = {name: content_features[name] for name in config.loss.content_layers}
        self.content_masks = (
            None if content_mask is None else layer_masks(content_mask, content_features, config.loss.content_layers)
        )
        self.style_targets = []
        for style, weight, mask in zip(styles, blend, style_masks, strict=True):
            features = extractor(style)
            target = losses.StyleTarget.from_features({n: features[n] for n in config.loss.style_layers}, weight)
            if mask is not None:  # departure 6 (losses.py): coverage = number of styles x mask mean
                coverage = len(styles) * tf.reduce_mean(tf.cast(mask, tf.float32))
                target = target.with_masks(layer_masks(mask, content_features, config.loss.style_layers), coverage)
            if config.loss.style_normalization == "photo":
                target = target.normalize_by(content_features)
            self.style_targets.append(target)

    def __call__(self, image: tf.Tensor) -> dict[str, tf.Tensor]:
        cfg = self.config
        features = self.extractor(image)
        zero = tf.zeros(tf.shape(image)[:1])  # [N]
        content = (
            losses.content_loss(features, self.content_targets, self.content_masks) if cfg.loss.content_weight else zero
        )
        style = losses.style_loss(features, self.style_targets, self.layer_weights) if cfg.loss.style_weight else zero
        tv = losses.tv_loss(image) if cfg.loss.tv_weight else zero
        terms = {
            "content": cfg.loss.content_weight * content,
            "style": cfg.loss.style_weight * style,
            "tv": cfg.loss.tv_weight * tv,
        }
        return {"total": terms["content"] + terms["style"] + terms["tv"], **terms}

    def value_and_gradient(self, image: tf.Tensor, loss_scale: float = 1.0) -> tuple[dict, tf.Tensor]:
        """(terms as __call__ gives them, d sum(total) / d image: float32 [N, H, W, 3]).

        The gradient of the sum over the batch is each image's own loss's (no 1/N). loss_scale
        multiplies the loss before differentiation and divides the gradient after (float16,
        devices.py). tiles.TiledObjective answers the same call tile by tile.
        """
        with tf.GradientTape() as tape:
            tape.watch(image)
            terms = self(image)  # {name: [N]}
            scaled = tf.reduce_sum(terms["total"]) * loss_scale
        return terms, tape.gradient(scaled, image) / loss_scale


def layer_masks(mask: tf.Tensor, features: dict[str, tf.Tensor], layers: Sequence[str]) -> dict[str, tf.Tensor]:
    """A [1, H, W, 1] mask -> {layer: [1, h, w, 1]} at each layer's feature resolution (area average)."""
    mask = tf.cast(mask, tf.float32)
    return {name: tf.image.resize(mask, tf.shape(features[name])[1:3], method="area") for name in layers}
