"""colors.py: colour statistics and the mean/covariance match, against numpy."""

import numpy as np
import pytest
import tensorflow as tf

from style_transfer import colors, starts


def _smooth(seed, shape=(1, 12, 10, 3), scale=0.07):
    """Colours well inside [0, 1] (no clipping), correlated across channels."""
    rng = np.random.default_rng(seed)
    mix = rng.uniform(-1, 1, (3, 3))
    pixels = rng.uniform(-1, 1, shape) @ mix.T * scale + rng.uniform(0.35, 0.65, 3)
    assert 0 < pixels.min() and pixels.max() < 1
    return pixels.astype(np.float32)


def test_statistics_match_numpy():
    image = _smooth(0)
    mean, cov = colors.color_statistics(tf.constant(image))
    pixels = image.reshape(-1, 3).astype(np.float64)
    np.testing.assert_allclose(mean.numpy()[0], pixels.mean(0), atol=1e-6)
    np.testing.assert_allclose(cov.numpy()[0], np.cov(pixels.T, bias=True), atol=1e-6)


def test_mixture_of_equal_images_is_their_pooled_pixels():
    a, b = _smooth(1), _smooth(2)
    mean, cov = colors.mixture_statistics([tf.constant(a), tf.constant(b)])
    pooled = np.concatenate([a.reshape(-1, 3), b.reshape(-1, 3)]).astype(np.float64)
    np.testing.assert_allclose(mean.numpy()[0], pooled.mean(0), atol=1e-6)
    np.testing.assert_allclose(cov.numpy()[0], np.cov(pooled.T, bias=True), atol=1e-6)
    # Weights shift the mixture towards the heavier image.
    heavy, _ = colors.mixture_statistics([tf.constant(a), tf.constant(b)], [3.0, 1.0])
    np.testing.assert_allclose(
        heavy.numpy()[0], 0.75 * a.reshape(-1, 3).mean(0) + 0.25 * b.reshape(-1, 3).mean(0), atol=1e-6
    )


def test_match_gives_the_reference_statistics_with_the_smallest_move():
    image, reference = _smooth(3), _smooth(4, shape=(1, 9, 7, 3), scale=0.07)
    mean, cov = colors.color_statistics(tf.constant(reference))
    matched = colors.match_colors(tf.constant(image), mean, cov).numpy()
    assert 0 < matched.min() and matched.max() < 1  # nothing clipped: the statistics are exact
    got_mean, got_cov = colors.color_statistics(tf.constant(matched))
    np.testing.assert_allclose(got_mean.numpy(), mean.numpy(), atol=1e-5)
    np.testing.assert_allclose(got_cov.numpy(), cov.numpy(), atol=2e-5)
    # Monge-Kantorovich: the map is symmetric positive definite (no rotation of hues) ...
    pixels = image.reshape(-1, 3) - image.reshape(-1, 3).mean(0)
    moved = matched.reshape(-1, 3) - matched.reshape(-1, 3).mean(0)
    transform, *_ = np.linalg.lstsq(pixels, moved, rcond=None)
    np.testing.assert_allclose(transform, transform.T, atol=1e-3)
    assert np.linalg.eigvalsh(transform).min() > 0
    # ... and an image that already has the statistics is left as it is.
    own_mean, own_cov = colors.color_statistics(tf.constant(image))
    np.testing.assert_allclose(colors.match_colors(tf.constant(image), own_mean, own_cov).numpy(), image, atol=1e-4)


def test_flat_image_and_batches():
    flat = np.full((1, 4, 4, 3), 0.3, np.float32)
    mean, cov = colors.color_statistics(tf.constant(_smooth(5)))
    out = colors.match_colors(tf.constant(flat), mean, cov).numpy()
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, np.broadcast_to(mean.numpy()[0], out.shape), atol=1e-3)
    # A batch: each image matched on its own statistics to the one reference.
    batch = np.concatenate([_smooth(6), _smooth(7)])
    matched = colors.match_colors(tf.constant(batch), mean, cov).numpy()
    alone = colors.match_colors(tf.constant(batch[1:]), mean, cov).numpy()
    np.testing.assert_allclose(matched[1:], alone, atol=1e-6)


def test_recolored_initial_image_has_the_paintings_colours():
    content, style = _smooth(8), _smooth(9, shape=(1, 14, 8, 3), scale=0.07)
    start = starts.initial_image(content, style, "recolored", 0).numpy()
    assert start.shape == content.shape
    np.testing.assert_allclose(start.reshape(-1, 3).mean(0), style.reshape(-1, 3).mean(0), atol=1e-5)
    # Two styles, blended: the pooled palette.
    other = _smooth(10, scale=0.07)
    both = starts.initial_image(content, [style, other], "recolored", 0, [1.0, 1.0]).numpy()
    expected = 0.5 * style.reshape(-1, 3).mean(0) + 0.5 * other.reshape(-1, 3).mean(0)
    np.testing.assert_allclose(both.reshape(-1, 3).mean(0), expected, atol=1e-5)
    with pytest.raises(ValueError, match="unknown init"):
        starts.initial_image(content, style, "nope", 0)


def test_ycbcr_matches_pillow():
    # Pillow's RGB -> YCbCr is JPEG's BT.601 full range, with Cb and Cr offset by 128.
    from PIL import Image

    rgb = np.random.default_rng(3).integers(0, 256, (16, 24, 3), dtype=np.uint8)
    expected = np.asarray(Image.fromarray(rgb).convert("YCbCr"), np.float32) / 255.0 - [0.0, 128 / 255, 128 / 255]
    got = colors.rgb_to_ycbcr(tf.constant(rgb[None] / 255.0, tf.float32)).numpy()[0]
    np.testing.assert_allclose(got, expected, atol=1.5 / 255)
    back = colors.ycbcr_to_rgb(colors.rgb_to_ycbcr(tf.constant(rgb[None] / 255.0, tf.float32))).numpy()[0]
    np.testing.assert_allclose(back, rgb / 255.0, atol=1e-5)


def test_keep_chroma_takes_luma_from_the_result_and_chroma_from_the_content():
    rng = np.random.default_rng(4)
    # Mid-range images, so that no pixel needs clipping and the split is exact.
    result = tf.constant(0.3 + 0.4 * rng.random((2, 8, 8, 3)), tf.float32)
    content = tf.constant(0.4 + 0.2 * rng.random((2, 8, 8, 3)), tf.float32)
    out = colors.keep_chroma(result, content)
    out_ycc, result_ycc, content_ycc = (colors.rgb_to_ycbcr(x).numpy() for x in (out, result, content))
    np.testing.assert_allclose(out_ycc[..., 0], result_ycc[..., 0], atol=1e-5)
    np.testing.assert_allclose(out_ycc[..., 1:], content_ycc[..., 1:], atol=1e-5)
    assert out.numpy().min() >= 0 and out.numpy().max() <= 1


def test_match_colors_of_gives_the_reference_statistics():
    rng = np.random.default_rng(5)
    image = tf.constant(0.2 + 0.3 * rng.random((1, 32, 32, 3)) ** 2, tf.float32)
    reference = tf.constant(0.3 + 0.4 * rng.random((1, 20, 20, 3)), tf.float32)
    mean, covariance = colors.color_statistics(colors.match_colors_of(image, reference))
    ref_mean, ref_cov = colors.color_statistics(reference)
    np.testing.assert_allclose(mean.numpy(), ref_mean.numpy(), atol=1e-4)
    np.testing.assert_allclose(covariance.numpy(), ref_cov.numpy(), atol=1e-4)
