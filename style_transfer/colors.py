"""Colour statistics: move an image's colours to another's (mean and covariance), in TF ops.

Contract: images are float32 RGB in [0, 1], NHWC [N, H, W, 3]; references [1 or N, h, w, 3] of any
size (one reference broadcasts over a batch). Statistics are per image, over its pixels; results
are clipped to [0, 1]. Works eagerly and inside a graph (exported SavedModels), on any device.

Used for `init="recolored"` (starts.initial_image): the optimisation starts from the photo with
the painting's palette, so the style loss's shallow layers, which see colour first, start close to
their targets and the steps go to texture (docs/defaults.md); and for StyleConfig.preserve_colors:
"histogram" recolours the painting to the photo's palette before optimising (prepare_styles,
match_colors_of), "luminance" puts the result's luma with the photo's chroma after (finish,
keep_chroma, YCbCr BT.601).
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

# Covariances are divided by their mean variance before the 3x3 algebra, so float32 keeps its
# precision (photos' variances are ~1e-4 to 1e-1 and the map multiplies two of them); EPS is then
# relative. An image whose variance is below FLAT has no colours to map: it gets the mean.
_EPS = 1e-6
_FLAT = 1e-10


def color_statistics(image: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """[N, H, W, 3] -> (mean [N, 3], covariance [N, 3, 3]) of the pixels of each image."""
    pixels = tf.reshape(tf.cast(image, tf.float32), [tf.shape(image)[0], -1, 3])
    mean = tf.reduce_mean(pixels, axis=1)
    centred = pixels - mean[:, None, :]
    count = tf.cast(tf.shape(pixels)[1], tf.float32)
    return mean, tf.einsum("npc,npd->ncd", centred, centred) / count


def mixture_statistics(
    images: Sequence[tf.Tensor], weights: Sequence[float] | None = None
) -> tuple[tf.Tensor, tf.Tensor]:
    """Mean and covariance of the weighted mixture of several images' pixels (blended styles)."""
    weights = list(weights or [1.0] * len(images))
    total = float(sum(weights))
    stats = [color_statistics(image) for image in images]
    mean = tf.add_n([w / total * m for w, (m, _) in zip(weights, stats, strict=True)])
    second = tf.add_n(
        [w / total * (c + m[:, :, None] * m[:, None, :]) for w, (m, c) in zip(weights, stats, strict=True)]
    )
    return mean, second - mean[:, :, None] * mean[:, None, :]


def _sqrtm(matrix: tf.Tensor, power: float = 0.5, eps: float = 0.0) -> tf.Tensor:
    """matrix^power (0.5 or -0.5) of symmetric positive semi-definite [N, 3, 3], eigenvalues + eps."""
    if power not in (0.5, -0.5):
        raise ValueError(f"power {power}: only 0.5 and -0.5")
    values, vectors = tf.linalg.eigh(matrix)
    values = tf.maximum(values, 0.0) + eps
    # sqrt and division are correctly rounded everywhere; tf.pow is not, and its vectorised and
    # scalar code round differently, so a batch would not give each image what it gets alone.
    root = tf.sqrt(values)
    powered = root if power == 0.5 else 1.0 / root
    return tf.einsum("nij,nj,nkj->nik", vectors, powered, vectors)


def match_colors(image: tf.Tensor, mean: tf.Tensor, covariance: tf.Tensor) -> tf.Tensor:
    """`image` with its pixels' mean and covariance moved to `mean` [N or 1, 3], `covariance` [N or 1, 3, 3].

    The linear map is the Monge-Kantorovich one (Pitie & Kokaram 2007),
    T = S^-1/2 (S^1/2 R S^1/2)^1/2 S^-1/2 for source and reference covariances S and R: of all
    affine maps that give the target statistics it moves colours least, so hues do not rotate the
    way a Cholesky or PCA match can make them. Clipped to [0, 1].
    """
    image = tf.cast(image, tf.float32)
    source_mean, source_cov = color_statistics(image)
    scale_s = tf.linalg.trace(source_cov) / 3.0  # [N]
    scale_r = tf.linalg.trace(covariance) / 3.0
    s = source_cov / tf.maximum(scale_s, _FLAT)[:, None, None]
    r = covariance / tf.maximum(scale_r, _FLAT)[:, None, None]
    inverse_root = _sqrtm(s, -0.5, _EPS)
    root = _sqrtm(s, 0.5)
    transform = inverse_root @ _sqrtm(root @ r @ root) @ inverse_root  # [N, 3, 3], symmetric
    gain = tf.where(scale_s > _FLAT, tf.sqrt(scale_r / tf.maximum(scale_s, _FLAT)), 0.0)
    transform = transform * gain[:, None, None]
    shape = tf.shape(image)
    pixels = tf.reshape(image, [shape[0], -1, 3]) - source_mean[:, None, :]
    mapped = tf.einsum("npc,ndc->npd", pixels, transform) + mean[:, None, :]
    return tf.clip_by_value(tf.reshape(mapped, shape), 0.0, 1.0)


def match_colors_of(image: tf.Tensor, reference: tf.Tensor) -> tf.Tensor:
    """`image` recoloured to `reference`'s pixel mean and covariance (match_colors of its statistics).

    preserve_colors="histogram": the style image takes the photo's palette before optimising.
    """
    return match_colors(image, *color_statistics(reference))


# ITU-R BT.601 (JPEG's full-range YCbCr), RGB rows -> Y, Cb, Cr; Cb and Cr centred on 0.
_RGB_TO_YCBCR = tf.constant(
    [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]], tf.float32
)


def rgb_to_ycbcr(image: tf.Tensor) -> tf.Tensor:
    """RGB [..., 3] in [0, 1] -> Y in [0, 1], Cb and Cr in [-0.5, 0.5] (BT.601 full range)."""
    # Not tf.einsum("...c,dc->...d"): TensorFlow 2.19's oneDNN CPU kernels (on by default on x86)
    # get that form wrong for [1, H, W, 3] (errors up to 1.15 on an AVX-512 Zen 4; right with
    # TF_ENABLE_ONEDNN_OPTS=0, and in TF 2.21); tensordot is right in every version we test.
    return tf.tensordot(tf.cast(image, tf.float32), tf.transpose(_RGB_TO_YCBCR), axes=1)


def ycbcr_to_rgb(image: tf.Tensor) -> tf.Tensor:
    """The inverse of rgb_to_ycbcr (not clipped)."""
    return tf.tensordot(image, tf.transpose(tf.linalg.inv(_RGB_TO_YCBCR)), axes=1)  # see rgb_to_ycbcr


def keep_chroma(result: tf.Tensor, content: tf.Tensor) -> tf.Tensor:
    """The result's luma (Y) with the content's chroma (Cb, Cr), in RGB clipped to [0, 1].

    preserve_colors="luminance", done after optimising (Gatys et al. 2017, section 5.1, "colour
    histogram matching" being the other way; they found both good). Chosen over optimising the
    luma alone because it needs no change to the objective or to VGG (which expects colour), works
    with every optimiser and in exported models, and keeps the photo's colours exactly where the
    clipping allows. result and content: [N, H, W, 3] of the same size.
    """
    luma = rgb_to_ycbcr(result)[..., :1]
    chroma = rgb_to_ycbcr(content)[..., 1:]
    return tf.clip_by_value(ycbcr_to_rgb(tf.concat([luma, chroma], axis=-1)), 0.0, 1.0)


def prepare_styles(content: tf.Tensor, styles: Sequence[tf.Tensor], preserve_colors: str) -> list[tf.Tensor]:
    """The style images as the losses see them: with preserve_colors="histogram", recoloured to the
    content's colour mean and covariance (match_colors_of), one copy per photo of the batch
    ([N, h, w, 3]); else as given ([1, h, w, 3])."""
    if preserve_colors == "histogram":
        count = tf.shape(content)[:1]
        return [
            match_colors_of(tf.broadcast_to(style, tf.concat([count, tf.shape(style)[1:]], 0)), content)
            for style in styles
        ]
    return list(styles)


def finish(result: tf.Tensor, content: tf.Tensor, preserve_colors: str) -> tf.Tensor:
    """The optimised image as returned: with preserve_colors="luminance", its luma with the
    content's chroma (keep_chroma); else as it is."""
    if preserve_colors == "luminance":
        return keep_chroma(result, content)
    return tf.convert_to_tensor(result, tf.float32)
