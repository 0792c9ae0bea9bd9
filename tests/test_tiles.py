"""Tiles (tiles.py): the whole image's loss and its exact gradient, one crop of the network at a time."""

import numpy as np
import pytest
import tensorflow as tf

from style_transfer import images, multiscale, quality, tiles, vgg
from style_transfer.config import Config
from style_transfer.errors import ConfigError
from style_transfer.objective import Objective
from style_transfer.samples import SAMPLE_CONTENT, SAMPLE_STYLE
from tests.conftest import gradient_photo

# Deep layers too (block4: stride 8), so crops' zero padding matters; random weights.
CONFIG = Config(
    network="vgg16",
    weights="none",
    content_layers=("block3_conv2",),
    style_layers=("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1"),
    tile_size=64,
    tile_overlap=24,
    tv_weight=0.5,
    scales=1,
    jit_compile="false",
    precision="float32",  # bfloat16 would round the two ways of summing differently
)


def _tiled(extractor, content, styles, config, blend=None, **masks):
    """tiles.TiledObjective for a Config: its loss part and its tiles."""
    tile_size, overlap = config.runtime.tile_size, config.runtime.tile_overlap
    return tiles.TiledObjective(extractor, content, styles, config.loss, tile_size, overlap, blend, **masks)


def _whole(extractor, content, styles, config, blend=None, **masks):
    return Objective.of_images(extractor, content, styles, config.loss, blend, **masks)


@pytest.fixture(scope="module")
def extractor():
    return vgg.extractor_for(CONFIG)


@pytest.mark.parametrize("length,tile,overlap", [(64, 64, 16), (65, 64, 16), (200, 64, 24), (1000, 256, 128)])
def test_tiles_cover_the_axis_and_their_windows_sum_to_one(length, tile, overlap):
    starts = tiles.tile_starts(length, tile, overlap)
    size = min(tile, length)
    assert starts[0] == 0 and starts[-1] + size == length
    assert all(b - a <= size - overlap + 1 for a, b in zip(starts, starts[1:], strict=False))  # overlap kept
    windows = tiles.tile_windows(length, size, starts, overlap)
    total = np.zeros(length)
    for window, start in zip(windows, starts, strict=True):
        total[start : start + size] += window
    np.testing.assert_allclose(total, 1.0, rtol=1e-6)
    if len(starts) > 1:  # a tile's weight falls towards an edge it shares, not at the image's edge
        assert windows[0][0] == 1.0 and windows[0][-1] < 0.05 and windows[-1][0] < 0.05 and windows[-1][-1] == 1.0


def test_tiling_in_2d_is_a_partition_of_unity():
    tiling = tiles.Tiling(150, 100, 64, 16)
    assert len(tiling) == 3 * 2 and tiling.size == (64, 64)
    total = np.zeros((150, 100))
    for (y, x), window in zip(tiling.starts, tiling.windows, strict=True):
        total[y : y + 64, x : x + 64] += window
    np.testing.assert_allclose(total, 1.0, rtol=1e-6)
    # add_to puts a tile back where crop took it from: the windowed tiles add up to the image
    image = tf.random.stateless_uniform([2, 150, 100, 3], seed=[1, 2])
    total = tf.zeros([150, 100, 2, 3])
    for t in range(len(tiling)):
        total = tiling.add_to(total, tiling.crop(image, t) * tiling.windows[t][None, :, :, None], tf.constant(t))
    np.testing.assert_allclose(tf.transpose(total, [2, 0, 1, 3]), image, rtol=1e-5)


@pytest.mark.parametrize("normalization", ["photo", "painting"])
def test_one_tile_is_exactly_the_objective(extractor, normalization):
    """A tile that covers the image: the same terms and gradient as objective.Objective (batch of 2)."""
    config = CONFIG.replace(style_normalization=normalization)
    content = np.concatenate([gradient_photo(56, 48, 1), gradient_photo(56, 48, 2)])
    styles = [gradient_photo(40, 60, 3), gradient_photo(64, 50, 4)]
    image = tf.constant(np.clip(content + 0.1 * np.random.default_rng(0).standard_normal(content.shape), 0, 1))
    image = tf.cast(image, tf.float32)
    tiled = _tiled(extractor, content, styles, config, [0.7, 0.3])
    assert len(tiled.tiling) == 1
    plain = _whole(extractor, content, styles, config, [0.7, 0.3])
    tiled_terms, tiled_grad = tiled.value_and_gradient(image)
    terms, grad = plain.value_and_gradient(image)
    for name in terms:
        np.testing.assert_allclose(tiled_terms[name], terms[name], rtol=2e-5, atol=1e-7)
    np.testing.assert_allclose(tiled_grad, grad, rtol=1e-4, atol=1e-6 * float(tf.reduce_max(tf.abs(grad))))


def test_tiled_gradient_is_the_gradient_of_the_tiled_loss(extractor):
    """Several tiles: the assembled gradient against central differences of the tiled loss (what
    L-BFGS's line search relies on), along directions near the gradient, where float32's rounding
    of a loss of ~700 is small against the change (along random ones both this and Objective's own
    gradient agree only to ~2%)."""
    content = gradient_photo(112, 150, 5)
    objective = _tiled(extractor, content, [gradient_photo(90, 120, 6)], CONFIG)
    assert len(objective.tiling) == 3 * 4
    image = tf.constant(np.clip(content + 0.1 * np.random.default_rng(1).standard_normal(content.shape), 0, 1))
    image = tf.cast(image, tf.float32)
    _, grad = objective.value_and_gradient(image)
    direction = grad * np.random.default_rng(2).uniform(0.5, 1.5, image.shape).astype(np.float32)
    step = 1e-2 / float(tf.norm(direction))
    total = lambda x: float(tf.reduce_sum(objective.value_and_gradient(x)[0]["total"]))  # noqa: E731
    numeric = (total(image + step * direction) - total(image - step * direction)) / (2 * step)
    assert numeric == pytest.approx(float(tf.reduce_sum(grad * direction)), rel=2e-3)


def test_tiles_compile_with_xla(extractor):
    """jit_compile=auto may pick XLA for a tiled scale: the loops, gathers and scatter-adds compile,
    and give the same gradient up to XLA's rounding (which moves Objective's own by as much: up to
    4% of the largest value at one pixel, with these random weights)."""
    content = gradient_photo(80, 100, 7)
    objective = _tiled(extractor, content, [gradient_photo(50, 60, 8)], CONFIG)
    assert len(objective.tiling) == 2 * 2
    image = tf.constant(content)
    gradients = [
        tf.function(lambda: objective.value_and_gradient(image)[1], jit_compile=jit)().numpy() for jit in (False, True)
    ]
    largest = np.abs(gradients[0]).max()
    difference = np.abs(gradients[1] - gradients[0])
    assert difference.mean() < 1e-3 * largest and difference.max() < 0.1 * largest


@pytest.fixture(scope="module")
def real(vgg16_weights):
    """ImageNet VGG16 (float32), the bundled photo and painting at 192 px, a perturbed start."""
    config = Config(
        network="vgg16", weights=vgg16_weights, precision="float32", scales=1, max_size=192, jit_compile="false"
    )
    content = images.load_image(SAMPLE_CONTENT, max_size=192)  # 192 x 128
    style = images.load_image(SAMPLE_STYLE, max_size=192)
    return config, vgg.extractor_for(config), content, style


def test_one_tile_with_masks_is_exactly_the_objective(extractor):
    """Masks multiply the windows: one tile with a content mask and two styles, one masked, gives
    Objective's masked terms and gradient (coverage, masked Gram matrices and photo divisors)."""
    content = gradient_photo(56, 48, 1)
    styles = [gradient_photo(40, 60, 3), gradient_photo(64, 50, 4)]
    y, x = np.mgrid[0:56, 0:48]
    left = (x < 20).astype(np.float32)[None, :, :, None]
    soft = np.clip(y / 55.0, 0, 1).astype(np.float32)[None, :, :, None]
    image = tf.constant(np.clip(content + 0.1 * np.random.default_rng(3).standard_normal(content.shape), 0, 1))
    image = tf.cast(image, tf.float32)
    masks = dict(style_masks=[left, None], content_mask=soft)
    tiled = _tiled(extractor, content, styles, CONFIG, [0.6, 0.4], **masks)
    terms, grad = _whole(extractor, content, styles, CONFIG, [0.6, 0.4], **masks).value_and_gradient(image)
    tiled_terms, tiled_grad = tiled.value_and_gradient(image)
    for name in terms:
        np.testing.assert_allclose(tiled_terms[name], terms[name], rtol=2e-5, atol=1e-7)
    np.testing.assert_allclose(tiled_grad, grad, rtol=1e-4, atol=1e-6 * float(tf.reduce_max(tf.abs(grad))))
    unmasked = _tiled(extractor, content, styles, CONFIG, [0.6, 0.4]).value_and_gradient(image)
    assert abs(float(unmasked[0]["style"][0]) - float(terms["style"][0])) > 1e-3 * float(terms["style"][0])


def test_masks_with_several_tiles_follow_the_mask(extractor):
    """With several tiles, a content loss masked to the left half changes nothing on the right."""
    content = gradient_photo(80, 150, 5)
    mask = np.zeros((1, 80, 150, 1), np.float32)
    mask[:, :, :60] = 1.0
    config = CONFIG.replace(style_weight=0.0, tv_weight=0.0)
    objective = _tiled(extractor, content, [gradient_photo(50, 60, 6)], config, content_mask=mask)
    assert len(objective.tiling) == 2 * 4
    image = tf.constant(np.clip(content + 0.2, 0, 1))
    _, grad = objective.value_and_gradient(image)
    grad = np.abs(grad.numpy())
    # The receptive fields of block3 reach ~40 px past the mask's edge; beyond that, nothing.
    assert grad[:, :, :60].mean() > 0 and grad[:, :, 110:].max() == 0.0


def _cosine(a, b):
    a, b = np.ravel(a), np.ravel(b)
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


@pytest.mark.slow
def test_tiled_loss_and_gradient_are_close_to_the_whole_image(real):
    """With ImageNet weights the tiles' sums are the whole image's loss and gradient, but for the
    crops' zero padding, which the cross-fading windows keep out (hard-edged tiles do worse)."""
    config, extractor, content, style = real
    rng = np.random.default_rng(1)
    image = tf.constant(np.clip(content + 0.1 * rng.standard_normal(content.shape), 0, 1).astype(np.float32))
    whole_terms, whole = _whole(extractor, content, [style], config).value_and_gradient(image)
    cosines = {}
    for overlap in (48, 0):
        tiled = _tiled(extractor, content, [style], config.replace(tile_size=128, tile_overlap=overlap))
        assert len(tiled.tiling) == 2
        terms, gradient = tiled.value_and_gradient(image)
        cosines[overlap] = _cosine(gradient, whole)
        if overlap:
            for name in ("content", "style"):
                assert float(terms[name][0]) == pytest.approx(float(whole_terms[name][0]), rel=0.03)
    assert cosines[48] > 0.9
    assert cosines[48] > cosines[0] + 0.01


@pytest.mark.slow
def test_stylize_with_tiles_is_as_good_as_the_whole_image_and_has_no_seams(real):
    config, extractor, content, style = real
    config = config.replace(steps=12, tile_overlap=48)
    whole = multiscale.stylize(content, style, config, extractor=extractor)[0]
    tiled = multiscale.stylize(content, style, config.replace(tile_size=128), extractor=extractor)[0]
    assert np.abs(tiled - whole).mean() < 0.25 * np.abs(whole - content[0]).mean()
    judge = quality.Judge(quality.build_judge_extractor("vgg16", config.features.weights), content, style)
    tiled_figures, whole_figures = judge(tiled[None]), judge(whole[None])
    assert tiled_figures.content < 1.05 * whole_figures.content
    assert tiled_figures.style < 1.05 * whole_figures.style
    # A seam is a line where the result jumps (or goes flat): the mean step between neighbouring
    # columns at the edges of the crops, against the whole-image result's at the same columns.
    tiling = tiles.Tiling(128, 192, 128, 48)
    edges = sorted({x for _, x in tiling.starts[1:]} | {x + 128 for _, x in tiling.starts[:-1]})
    assert edges == [64, 128]
    steps = lambda im: np.abs(np.diff(im, axis=1)).mean(axis=(0, 2))  # noqa: E731  [W - 1]
    ratio = steps(tiled)[np.array(edges) - 1] / steps(whole)[np.array(edges) - 1]
    assert np.all((0.8 < ratio) & (ratio < 1.25)), ratio


def test_tiles_refuse_what_they_cannot_do(extractor):
    with pytest.raises(ConfigError, match="tile_size must be"):
        CONFIG.replace(tile_size=32).validate()
    with pytest.raises(ConfigError, match="tile_overlap"):
        CONFIG.replace(tile_overlap=-1).validate()
    assert tiles.Tiling(200, 200, 64, 128).starts == tiles.Tiling(200, 200, 64, 32).starts  # at most half a tile
    content, style = gradient_photo(80, 100, 1), gradient_photo(40, 40, 2)
    with pytest.raises(ConfigError, match="not in the in-graph loop"):
        multiscale.coarse_to_fine_in_graph(extractor, tf.constant(content), [tf.constant(style)], CONFIG)
