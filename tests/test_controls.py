"""Creative controls, each measured with the real ImageNet VGG16 weights (../shared/weights) on a
small image: every test would fail if its control did nothing. The figures each one measured are
printed (pytest -s) and quoted in docs/controls.md.
"""

import os

import numpy as np
import pytest
import tensorflow as tf

from style_transfer import colors, images, multiscale, resample, vgg
from style_transfer.config import Config
from style_transfer.geometry import Geometry
from style_transfer.objective import Objective
from style_transfer.samples import SAMPLE_CONTENT, SAMPLE_STYLE
from tests.conftest import SHARED

pytestmark = pytest.mark.slow

SIZE = 128
WAVE = str(SHARED / "samples" / "style" / "great_wave_hokusai.jpg")


@pytest.fixture(scope="module")
def setup(vgg16_weights):
    if not os.path.isfile(WAVE):
        pytest.skip(f"no sample painting at {WAVE}")
    config = Config(
        network="vgg16", weights=vgg16_weights, max_size=SIZE, steps=30, precision="float32", jit_compile="false"
    )
    extractor = vgg.extractor_for(config)
    content = images.load_image(SAMPLE_CONTENT, max_size=SIZE)
    starry = images.load_image(SAMPLE_STYLE, max_size=2 * SIZE)
    wave = images.load_image(WAVE, max_size=2 * SIZE)
    cache = {}

    def run(name, styles=(starry,), **changes):
        if name not in cache:
            cache[name] = multiscale.stylize(content, list(styles), config.replace(**changes), extractor=extractor)
        return cache[name]

    return config, extractor, content, starry, wave, run


def chroma_distance(image, content) -> float:
    """Mean |dCb| + |dCr| against the content (YCbCr BT.601, [0, 1] units)."""
    difference = colors.rgb_to_ycbcr(image) - colors.rgb_to_ycbcr(content)
    return float(tf.reduce_mean(tf.reduce_sum(tf.abs(difference[..., 1:]), axis=-1)))


def color_distance(image, content) -> float:
    """|mean difference| + Frobenius norm of the covariance difference of the pixels' colours."""
    (mean_a, cov_a), (mean_b, cov_b) = colors.color_statistics(image), colors.color_statistics(content)
    return float(tf.norm(mean_a - mean_b) + tf.norm(cov_a - cov_b))


def test_preserve_colors_luminance_keeps_the_photos_chroma(setup):
    _, _, content, *_, run = setup
    plain, kept = run("plain"), run("luminance", preserve_colors="luminance")
    plain_d, kept_d = chroma_distance(plain, content), chroma_distance(kept, content)
    luma_change = float(tf.reduce_mean(tf.abs(colors.rgb_to_ycbcr(kept - content)[..., 0])))
    print(
        f"luminance: chroma distance {kept_d:.4f} vs {plain_d:.4f} without ({kept_d / plain_d:.2f}x); "
        f"luma change {luma_change:.3f}"
    )
    assert kept_d <= 0.5 * plain_d
    assert luma_change > 0.03  # still stylised: the strokes are in the luma


def test_preserve_colors_histogram_keeps_the_photos_palette(setup):
    _, _, content, *_, run = setup
    plain, kept = run("plain"), run("histogram", preserve_colors="histogram")
    plain_d, kept_d = color_distance(plain, content), color_distance(kept, content)
    print(f"histogram: colour mean+covariance distance {kept_d:.4f} vs {plain_d:.4f} without ({kept_d / plain_d:.2f}x)")
    assert kept_d < 0.5 * plain_d
    assert float(np.abs(kept - content).mean()) > 0.03  # still stylised


def test_a_blend_of_two_styles_lands_between_them_in_each_styles_loss(setup):
    config, extractor, content, starry, wave, run = setup
    only_starry, only_wave = run("plain"), run("wave", styles=(wave,))
    blend = run("blend", styles=(starry, wave), style_blend_weights=(0.5, 0.5))

    def style_loss(image, style):
        size = Geometry.of(config).style_size(style.shape[1:3], content.shape[1:3])
        objective = Objective.of_images(extractor, content, [resample.to_size(style, size)], config.loss)
        return float(objective(tf.constant(image))["style"][0])

    for name, style, own, other in (("starry", starry, only_starry, only_wave), ("wave", wave, only_wave, only_starry)):
        losses = style_loss(own, style), style_loss(blend, style), style_loss(other, style)
        print(f"blend: {name} style loss alone {losses[0]:.3f} < blend {losses[1]:.3f} < other alone {losses[2]:.3f}")
        assert losses[0] < losses[1] < losses[2]


def spectral_centroid(change) -> float:
    """Power-weighted mean spatial frequency (cycles per pixel) of the luma of `change`: lower for
    larger structures. Hann-windowed FFT, mean removed."""
    luma = colors.rgb_to_ycbcr(change)[0, :, :, 0].numpy()
    luma = (luma - luma.mean()) * np.outer(np.hanning(luma.shape[0]), np.hanning(luma.shape[1]))
    power = np.abs(np.fft.fft2(luma)) ** 2
    radius = np.hypot(np.fft.fftfreq(luma.shape[0])[:, None], np.fft.fftfreq(luma.shape[1])[None, :])
    return float((power * radius).sum() / power.sum())


def test_a_smaller_style_scale_paints_larger_structures(setup):
    _, _, content, *_, run = setup
    # Measured on what the stylisation changed (result - photo), so the photo's own detail, the same
    # in both, does not dilute the difference.
    large = spectral_centroid(run("scale 0.5", style_scale=0.5) - content)
    small = spectral_centroid(run("scale 2", style_scale=2.0) - content)
    print(
        f"style_scale: spectral centroid of the change {large:.4f} at 0.5 vs {small:.4f} at 2.0 ({large / small:.2f}x)"
    )
    assert large < 0.95 * small


def test_init_from_an_image_refines_it(setup, tmp_path):
    config, extractor, content, starry, _, run = setup
    first = run("plain")
    path = tmp_path / "first.png"
    images.save_image(str(path), first)
    saved = images.load_image(str(path))
    objective = Objective.of_images(
        extractor,
        content,
        [resample.to_size(starry, Geometry.of(config).style_size(starry.shape[1:3], content.shape[1:3]))],
        config.loss,
    )
    # No steps: the result is the init image itself.
    unchanged = multiscale.stylize(content, starry, config.replace(init=str(path), steps=0), extractor=extractor)
    np.testing.assert_array_equal(unchanged, saved)
    # More steps from it go further down the same loss.
    refined = multiscale.stylize(content, starry, config.replace(init=str(path), steps=20), extractor=extractor)
    before, after = (float(objective(tf.constant(x))["total"][0]) for x in (saved, refined))
    print(f"init PATH: loss {before:.4f} at the saved result, {after:.4f} after 20 more steps")
    assert after < before


def test_outside_a_style_mask_the_photo_stays(setup):
    _, extractor, content, starry, _, run = setup
    config = setup[0]
    height, width = content.shape[1:3]
    mask = np.zeros((1, height, width, 1), np.float32)
    mask[:, :, : width // 2] = 1.0  # the style on the left half only
    result = multiscale.stylize(content, starry, config, extractor=extractor, style_masks=[mask])
    change = np.abs(result - content).mean(axis=-1)[0]
    margin = width // 8  # VGG's receptive fields blur the boundary: compare the halves away from it
    inside = float(change[:, : width // 2 - margin].mean())
    outside = float(change[:, width // 2 + margin :].mean())
    unmasked = float(np.abs(run("plain") - content).mean(axis=-1)[0][:, width // 2 + margin :].mean())
    print(
        f"style mask: mean change {inside:.4f} inside, {outside:.4f} outside ({outside / inside:.2f}x); "
        f"{unmasked:.4f} there without a mask"
    )
    assert outside < 0.35 * inside
    assert inside > 0.5 * float(np.abs(run("plain") - content).mean())  # the masked half is stylised
