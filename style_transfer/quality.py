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

import numpy as np
import tensorflow as tf

from style_transfer import losses, vgg
from style_transfer.resample import gaussian_blur

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


# Figures that see painting (issue 18). The two above cannot: a Gram distance is dominated by
# colour statistics, which the recolored start lowers before the first step, and the content
# figure rewards keeping every pixel. These four measure strokes and how much of the photo survives.
#
# - stroke figure: a sliced Wasserstein distance between the result's and the painting's features
#   at STROKE_LAYERS, divided by the photo's own distance to the painting (1 = no closer than the
#   photo; lower is better). All three images are turned grey first (luma in every channel), so
#   colour alone cannot lower it: only textures, strokes and shapes can.
# - large stroke figure: the same with all three images at half resolution, where VGG sees strokes
#   twice as large (the painting's broad strokes and shapes).
# - fine texture: the correlation of the result's luma with the photo's in a band of FINE_BAND
#   pixels (a difference of Gaussian blurs): 1 = the photo's fine texture kept, 0 = replaced.
#   A painting of the photo should lower it.
# - structure: the same in STRUCTURE_BAND, the photo's shapes and contours: it must stay high, or
#   the photo dissolves (as it does from a noise start).

STROKE_LAYERS = ("block3_conv1", "block4_conv1")
FINE_BAND = (0.5, 1.2)  # Gaussian sigmas in pixels: a band that passes wavelengths of about 2-6 px
STRUCTURE_BAND = (2.0, 5.0)  # wavelengths of about 10-30 px: the photo's shapes and contours
PROJECTIONS = 64
QUANTILES = 256


LUMA = (0.299, 0.587, 0.114)  # Rec. 601's weights of R, G, B


def luma(image: tf.Tensor) -> tf.Tensor:
    """[N, H, W, 3] -> [N, H, W, 1], Rec. 601 weights."""
    return tf.reduce_sum(tf.convert_to_tensor(image, tf.float32) * LUMA, axis=-1, keepdims=True)


def luma_numpy(image: np.ndarray) -> np.ndarray:
    """luma() in numpy, for frames carried outside TensorFlow (flow.py, video.py): float32 [N, H, W,
    3] -> [N, H, W, 1] (an eager TF op costs ~3 ms a 640x360 frame; this, under 1)."""
    return np.asarray(image, np.float32) @ np.asarray(LUMA, np.float32)[:, None]


def nyquist_power(image) -> float:
    """The checkerboard figure (issue 19): the mean spectral power of the luma of `image` [1, H, W, 3]
    (less its mean) at the highest frequency of each axis, the row H/2 and the column W/2 of its 2D
    spectrum, averaged. A pattern that alternates every pixel (a stride or upsampling artefact) puts
    its power there. It grows with H W: compare results of one size."""
    y = np.asarray(luma(image), np.float64)[0, ..., 0]
    spectrum = np.abs(np.fft.fft2(y - y.mean())) ** 2
    height, width = y.shape
    return float((spectrum[height // 2, :].mean() + spectrum[:, width // 2].mean()) / 2)


def grid_motif(image, period: int = 4) -> float:
    """The grid figure (issue 19): the amplitude of the part of the luma of `image` [1, H, W, 3]
    that repeats every `period` px on a fixed grid. Each of the period x period positions of the
    grid gets the mean luma over the pixels at that position (y mod period, x mod period); the
    figure is the root mean square of those means less their mean, in [0, 1] units. A network of
    stride 4 can lay one pattern of period 4 over every picture (training.shift_error); photos and
    the optimisation's results have next to none (a pattern that follows the picture averages
    out). Its square is the spectral power at the frequencies of that grid over (H W)^2."""
    y = np.asarray(luma(image), np.float64)[0, ..., 0]
    height, width = (y.shape[0] // period) * period, (y.shape[1] // period) * period
    cells = y[:height, :width].reshape(height // period, period, width // period, period).mean(axis=(0, 2))
    return float(np.sqrt(np.mean((cells - cells.mean()) ** 2)))


def warping_error(frames, flows, masks) -> float:
    """The flicker figure E_warp (Lai et al. 2018, after Ruder et al.): the mean over frames t >= 1
    of the masked mean squared difference between frame t and frame t-1 warped onto it, in [0, 1]
    units squared. frames: T arrays float [1, H, W, 3]; flows[t - 1]: the flow from t to t-1 and
    masks[t - 1] its reliable pixels [H, W] (flow.frame_flows), computed on the *input* clip, so
    every stylisation of one clip is judged on the same motion. 0 for a still clip, whatever its
    picture; the input clip's own figure is the floor (lighting changes, the flow's errors)."""
    from style_transfer import flow

    errors = []
    for t in range(1, len(frames)):
        warped = flow.warp(frames[t - 1], flows[t - 1])
        mask = np.asarray(masks[t - 1], np.float32)[None, ..., None]
        squared = np.sum(np.square(np.asarray(frames[t], np.float32) - warped.numpy()), axis=-1, keepdims=True)
        errors.append(float(np.sum(mask * squared) / max(1.0, 3.0 * float(mask.sum()))))
    return float(np.mean(errors)) if errors else 0.0


def grey(image: tf.Tensor) -> tf.Tensor:
    """[N, H, W, 3] -> the same size with the luma in every channel."""
    return tf.tile(luma(image), [1, 1, 1, 3])


def band(image: tf.Tensor, sigmas: tuple[float, float]) -> tf.Tensor:
    """The image's luma between two scales: blur(sigmas[0]) - blur(sigmas[1]), [N, H, W, 1]."""
    y = luma(image)
    return gaussian_blur(y, sigmas[0]) - gaussian_blur(y, sigmas[1])


def band_correlation(image: tf.Tensor, photo: tf.Tensor, sigmas: tuple[float, float]) -> tf.Tensor:
    """Pearson correlation of the two images' bands (same size), one value per image: [N]."""
    a, b = band(image, sigmas), band(photo, sigmas)
    a -= tf.reduce_mean(a, axis=[1, 2, 3], keepdims=True)
    b -= tf.reduce_mean(b, axis=[1, 2, 3], keepdims=True)
    covariance = tf.reduce_sum(a * b, axis=[1, 2, 3])
    return covariance / tf.sqrt(tf.reduce_sum(a * a, axis=[1, 2, 3]) * tf.reduce_sum(b * b, axis=[1, 2, 3]) + 1e-12)


def projections(channels: int, count: int = PROJECTIONS, seed: int = 0) -> tf.Tensor:
    """[C, count] random unit directions, fixed by `seed` so that figures are repeatable."""
    directions = tf.random.stateless_normal([channels, count], seed=[seed, channels])
    return directions / tf.norm(directions, axis=0, keepdims=True)


def quantiles(features: tf.Tensor, directions: tf.Tensor, count: int = QUANTILES) -> tf.Tensor:
    """[1, h, w, C] features -> [count, K]: the sorted projections onto `directions` [C, K],
    read at `count` evenly spaced quantiles (linear interpolation), so sets of any size compare."""
    flat = tf.reshape(tf.cast(features, tf.float32), [-1, tf.shape(features)[-1]])  # [h*w, C]
    values = tf.sort(tf.matmul(flat, directions), axis=0)  # [h*w, K]
    n = tf.cast(tf.shape(values)[0], tf.float32)
    position = (tf.range(count, dtype=tf.float32) + 0.5) / count * n - 0.5  # [count]
    position = tf.clip_by_value(position, 0.0, n - 1.0)
    low = tf.cast(tf.floor(position), tf.int32)
    high = tf.minimum(low + 1, tf.shape(values)[0] - 1)
    frac = (position - tf.floor(position))[:, None]
    return tf.gather(values, low) * (1.0 - frac) + tf.gather(values, high) * frac


def sliced_distance(a: tf.Tensor, b: tf.Tensor, directions: tf.Tensor, count: int = QUANTILES) -> tf.Tensor:
    """Sliced Wasserstein-2 distance (squared) between two sets of features [1, h, w, C]: the mean
    squared difference of their projections' quantiles."""
    return tf.reduce_mean(tf.square(quantiles(a, directions, count) - quantiles(b, directions, count)))


@dataclasses.dataclass(frozen=True)
class PaintingFigures:
    stroke: float  # lower = the painting's strokes and textures (grey: colour cannot lower it)
    large_stroke: float  # the same at half resolution: the painting's broad strokes and shapes
    fine_texture: float  # lower = less of the photo's 1-2 px texture left
    structure: float  # higher = more of the photo's shapes kept (must stay high)


class PaintingJudge:
    """PaintingFigures for results against one photo and one painting (their features once).

    The extractor needs STROKE_LAYERS (build_painting_judge_extractor); images are float32 RGB
    [1, H, W, 3] in [0, 1], the result the photo's size, the painting any size."""

    def __init__(self, extractor: vgg.FeatureExtractor, content, style):
        missing = set(STROKE_LAYERS) - set(extractor.layers)
        if missing:
            raise ValueError(f"the extractor lacks stroke layers {sorted(missing)}; use build_painting_judge_extractor")
        self.extractor = extractor
        self.content = tf.convert_to_tensor(content, tf.float32)
        style = tf.convert_to_tensor(style, tf.float32)
        self.painting = {half: self._features(style, half) for half in (False, True)}
        self.directions = {
            name: projections(int(f.shape[-1]), seed=i) for i, (name, f) in enumerate(self.painting[False].items())
        }
        self.photo = {half: self._distances(self.content, half) for half in (False, True)}

    def _features(self, image: tf.Tensor, half: bool) -> dict[str, tf.Tensor]:
        image = grey(image)
        if half:
            size = tf.maximum(tf.shape(image)[1:3] // 2, 1)
            image = tf.image.resize(image, size, method="area")
        features = self.extractor(image)
        return {name: features[name] for name in STROKE_LAYERS}

    def _distances(self, image: tf.Tensor, half: bool) -> tf.Tensor:
        features = self._features(image, half)
        return tf.stack(
            [sliced_distance(features[n], self.painting[half][n], self.directions[n]) for n in STROKE_LAYERS]
        )

    def __call__(self, image) -> PaintingFigures:
        image = tf.convert_to_tensor(image, tf.float32)
        stroke, large = (
            float(tf.reduce_mean(self._distances(image, half) / self.photo[half])) for half in (False, True)
        )
        return PaintingFigures(
            stroke=stroke,
            large_stroke=large,
            fine_texture=float(band_correlation(image, self.content, FINE_BAND)[0]),
            structure=float(band_correlation(image, self.content, STRUCTURE_BAND)[0]),
        )


def build_painting_judge_extractor(network: str, weights: str) -> vgg.FeatureExtractor:
    """A float32 extractor of the stroke layers."""
    return vgg.build_extractor(network, weights, STROKE_LAYERS, "float32")
