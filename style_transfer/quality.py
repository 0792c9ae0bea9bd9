"""Quality figures that do not come from the loss being optimised: how much content a result
keeps and how close it comes to the painting's style, measured at VGG layers the default losses
never look at.

Contract: images are float32 RGB [1, H, W, 3] in [0, 1] (result and content of the same size; the
style image of any size, as the optimisation used it). Both figures are relative errors, like the
losses (losses.py): 0 = identical, ~1 = nothing in common; lower is better on both axes.

- content figure: ||F(result) - F(content)||^2 / ||F(content)||^2, averaged over CONTENT_LAYERS:
  block3_conv3 (edges, contours, local shape) and block5_conv2 (objects); the content loss uses
  block4_conv2 only.
- style figure: ||G(result) - G(style)||^2 / ||G(style)||^2 of Gram matrices averaged over
  STYLE_LAYERS, the second (or third) convolution of blocks 1-4; the style loss uses the first
  convolution of each block only.

Every network has these layers (VGG16 and VGG19). Compare figures only when measured with the
same network and weights (benchmarks use the real ImageNet VGG16 weights).
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from style_transfer import losses, vgg

CONTENT_LAYERS = ("block3_conv3", "block5_conv2")
STYLE_LAYERS = ("block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3")


@dataclasses.dataclass(frozen=True)
class Figures:
    content: float  # lower = more of the photo kept
    style: float  # lower = closer to the painting's style


class Judge:
    """Computes Figures for results against one content and one style image (targets once)."""

    def __init__(self, extractor: vgg.FeatureExtractor, content, style):
        missing = set(CONTENT_LAYERS + STYLE_LAYERS) - set(extractor.layers)
        if missing:
            raise ValueError(f"the extractor lacks quality layers {sorted(missing)}; use build_judge_extractor")
        self.extractor = extractor
        self.content = {n: f for n, f in extractor(content).items() if n in CONTENT_LAYERS}
        self.grams = {n: losses.gram_matrix(f) for n, f in extractor(style).items() if n in STYLE_LAYERS}

    def __call__(self, image) -> Figures:
        features = self.extractor(tf.convert_to_tensor(image, tf.float32))
        content = [losses.relative_error(features[n], t) for n, t in self.content.items()]
        style = [losses.relative_error(losses.gram_matrix(features[n]), g) for n, g in self.grams.items()]
        return Figures(float(tf.reduce_mean(content)), float(tf.reduce_mean(style)))


def build_judge_extractor(network: str, weights: str) -> vgg.FeatureExtractor:
    """A float32 extractor of the quality layers (always float32, whatever the run used)."""
    return vgg.build_extractor(network, weights, CONTENT_LAYERS + STYLE_LAYERS, "float32")
