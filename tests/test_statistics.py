"""statistics.py: mean_cov and sliced against independent numpy computations, and each statistic
through the package's paths (targets, tiles, batches, the in-graph loop, the optimiser)."""

import numpy as np
import pytest
import tensorflow as tf

from style_transfer import multiscale, statistics, step, targets, tiles, vgg
from style_transfer.config import Config
from style_transfer.errors import ConfigError
from style_transfer.objective import Objective
from tests.conftest import gradient_photo

RNG = np.random.default_rng(3)


def features(*shape, seed=0):
    rng = np.random.default_rng(seed)
    return np.maximum(rng.standard_normal(shape) + 0.3, 0).astype(np.float32)  # ReLU-like


def np_sqrtm(matrix):
    values, vectors = np.linalg.eigh(matrix.astype(np.float64))
    return (vectors * np.sqrt(np.maximum(values, 0))) @ vectors.T


def np_cov(flat):  # [P, C] -> the regularised covariance of departure 7
    mean = flat.mean(0)
    cov = flat.T @ flat / len(flat) - np.outer(mean, mean)
    return cov + statistics.COV_EPS * np.trace(cov) / len(cov) * np.eye(len(cov))


def test_newton_schulz_square_root_matches_eigh_and_differentiates():
    a = RNG.standard_normal((6, 40))
    matrix = (a @ a.T / 40 + 0.1 * np.eye(6)).astype(np.float32)
    root = statistics.sqrtm_newton_schulz(tf.constant(matrix[None]))[0].numpy()
    np.testing.assert_allclose(root, np_sqrtm(matrix), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(root @ root, matrix, rtol=1e-4, atol=1e-5)
    m = tf.constant(matrix)
    with tf.GradientTape() as tape:
        tape.watch(m)
        trace = tf.linalg.trace(statistics.sqrtm_newton_schulz(m))
    # d tr(sqrt(M)) / dM = M^-1/2 / 2
    np.testing.assert_allclose(tape.gradient(trace, m).numpy(), np.linalg.inv(np_sqrtm(matrix)) / 2, rtol=2e-3)


def test_mean_cov_statistic_and_w2_distance_match_numpy():
    mc = statistics.MeanCov()
    image, painting = features(2, 6, 7, 5, seed=1), features(1, 9, 5, 5, seed=2) * 1.5
    stats, target = mc(image), mc.target(mc(painting))
    flat_t = painting.reshape(-1, 5).astype(np.float64)
    cov_t, root_t = np_cov(flat_t), np_sqrtm(np_cov(flat_t))
    expected = []
    for n in range(2):
        flat = image[n].reshape(-1, 5).astype(np.float64)
        np.testing.assert_allclose(stats.mean[n], flat.mean(0), rtol=1e-5)
        np.testing.assert_allclose(stats.second[n], flat.T @ flat / len(flat), rtol=1e-5)
        cov = np_cov(flat)
        w2 = ((flat.mean(0) - flat_t.mean(0)) ** 2).sum() + np.trace(cov + cov_t - 2 * np_sqrtm(root_t @ cov @ root_t))
        expected.append(w2 / np.trace(flat_t.T @ flat_t / len(flat_t)))
    np.testing.assert_allclose(mc.distance(stats, target).numpy(), expected, rtol=2e-3)
    assert float(mc.distance(mc(painting), target)[0]) == pytest.approx(0.0, abs=1e-4)


def test_mean_cov_masks_and_sums_weight_positions():
    mc = statistics.MeanCov()
    f = features(1, 6, 8, 4, seed=4)
    mask = np.zeros((1, 6, 8, 1), np.float32)
    mask[:, :, :3] = 1.0
    masked = mc(f, mask)
    alone = mc(f[:, :, :3])
    for got, want in zip(masked, alone, strict=True):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5)
    weights = RNG.random((1, 6, 8, 1)).astype(np.float32)
    sums = mc.sums(f, weights)
    weighted = mc(f, weights)
    for s, w in zip(sums, weighted, strict=True):
        np.testing.assert_allclose(s.numpy() / weights.sum(), w.numpy(), rtol=1e-5)


def np_sliced(flat, weights, painting, directions):
    """Independent: for each direction, the weighted empirical quantile function of the image's
    projections against the painting's, compared at the image's own quantiles."""
    errors, scales = [], []
    for k in range(directions.shape[1]):
        x, t = flat @ directions[:, k], np.sort(painting @ directions[:, k])
        order = np.argsort(x)
        x, w = x[order], weights[order]
        q = (np.cumsum(w) - w / 2) / w.sum()
        matched = np.interp(np.clip(q * len(t) - 0.5, 0, len(t) - 1), np.arange(len(t)), t)
        errors.append((w * (x - matched) ** 2).sum() / w.sum())
        scales.append((t**2).mean())
    return np.mean(errors) / np.mean(scales)


def test_sliced_w2_matches_numpy_with_weights_and_different_sizes():
    flat, painting = features(30, 4, seed=5).astype(np.float64), features(47, 4, seed=6).astype(np.float64) * 2
    weights = RNG.random(30)
    directions = RNG.standard_normal((4, 4))
    directions /= np.linalg.norm(directions, axis=0)
    got = statistics.sliced_w2(*(tf.constant(a, tf.float32) for a in (flat, weights, painting, directions)))
    assert float(got) == pytest.approx(np_sliced(flat, weights, painting, directions), rel=1e-4)
    # Equal sets of the same size: 0; a mask of ones is no mask; a 0/1 mask is its subset.
    same = statistics.sliced_w2(*(tf.constant(a, tf.float32) for a in (painting, np.ones(47), painting, directions)))
    assert float(same) == pytest.approx(0.0, abs=1e-7)
    half = np.r_[np.ones(15), np.zeros(15)]
    subset = [tf.constant(a, tf.float32) for a in (flat[:15], np.ones(15), painting, directions)]
    masked = [tf.constant(a, tf.float32) for a in (flat, half, painting, directions)]
    assert float(statistics.sliced_w2(*masked)) == pytest.approx(float(statistics.sliced_w2(*subset)), rel=1e-5)


def test_sliced_distance_is_the_images_own_and_redrawn_per_image():
    sliced = statistics.Sliced()
    a, b, painting = features(1, 8, 8, 6, seed=7), features(1, 8, 8, 6, seed=8), features(1, 7, 9, 6, seed=9)
    target = sliced.target(sliced(painting))
    first = sliced.distance(sliced(a), target).numpy()
    np.testing.assert_array_equal(first, sliced.distance(sliced(a), target).numpy())  # a function of the image
    batch = sliced.distance(sliced(np.concatenate([a, b])), target).numpy()  # each image as alone
    np.testing.assert_allclose(batch, [first[0], sliced.distance(sliced(b), target).numpy()[0]], rtol=1e-6)
    # The directions are seeded by the features: a small change of the image draws others.
    seeds = statistics._seeds(tf.constant(np.concatenate([a, a * 1.001])))
    assert not np.array_equal(seeds[0], seeds[1])
    assert float(sliced.distance(sliced(painting), target)[0]) == pytest.approx(0.0, abs=1e-7)


def test_sliced_subsamples_large_layers(monkeypatch):
    monkeypatch.setattr(statistics, "SLICED_MAX_POSITIONS", 16)
    sliced = statistics.Sliced()
    image, painting = features(1, 8, 8, 3, seed=10), features(1, 8, 8, 3, seed=11)
    value = float(sliced.distance(sliced(image), sliced.target(sliced(painting)))[0])
    assert np.isfinite(value) and value > 0


CONFIG = Config(
    network="vgg16",
    weights="none",
    content_layers=("block2_conv2",),
    style_layers=("block1_conv1", "block2_conv1", "block3_conv1"),
    optimizer="adam",
    learning_rate=0.05,
    precision="float32",
    scales=1,
    jit_compile="false",
)


def _image(height, width, seed):
    return tf.constant(gradient_photo(height, width, seed))


@pytest.fixture(scope="module")
def extractor():
    return vgg.extractor_for(CONFIG)


@pytest.mark.parametrize("style_loss", ["gram", "mean_cov", "sliced"])
def test_each_statistic_starts_at_one_and_is_optimised(extractor, style_loss):
    loss = CONFIG.replace(style_loss=style_loss).loss
    content, style = _image(40, 48, 1), _image(36, 30, 2)
    objective = Objective.of_images(extractor, content, [style], loss)
    assert objective.style.statistic.name == style_loss
    # Photo normalisation (departure 5): at the photo itself every statistic's style term is the style weight.
    assert float(objective(content)["style"][0]) == pytest.approx(loss.style_weight, rel=1e-5)
    seen = []
    step.ImageOptimizer(objective, content, CONFIG.optim).run(15, lambda n, terms, image: seen.append(terms["style"]))
    assert seen[-1] < 0.75 * seen[0]  # a wrong or missing gradient stays near 1x


def test_mean_cov_runs_tiled_exactly_as_untiled_with_one_tile(extractor):
    loss = CONFIG.replace(style_loss="mean_cov").loss
    content, image, style = _image(40, 48, 1), _image(40, 48, 4), _image(36, 30, 2)
    whole = Objective.of_images(extractor, content, [style], loss)
    tiled = tiles.TiledObjective(extractor, content, [style], loss, 64, 16)
    terms, gradient = whole.value_and_gradient(image)
    tiled_terms, tiled_gradient = tiled.value_and_gradient(image)
    for name in terms:
        np.testing.assert_allclose(tiled_terms[name].numpy(), terms[name].numpy(), rtol=1e-4, err_msg=name)
    np.testing.assert_allclose(tiled_gradient.numpy(), gradient.numpy(), rtol=2e-3, atol=1e-6)


def test_sliced_refuses_tiles_in_one_line(extractor):
    with pytest.raises(ConfigError, match="style_loss=sliced cannot run tile by tile.*set tile_size=0"):
        CONFIG.replace(style_loss="sliced", tile_size=64).validate()
    loss = CONFIG.replace(style_loss="sliced").loss
    with pytest.raises(ConfigError, match="does not add up over tiles"):
        tiles.TiledObjective(extractor, _image(40, 48, 1), [_image(36, 30, 2)], loss, 64, 16)


@pytest.mark.parametrize("style_loss", ["mean_cov", "sliced"])
def test_batches_and_the_in_graph_loop_take_each_statistic(extractor, style_loss):
    """A batch gives each photo its result alone (sliced: each image draws its own projections);
    in a graph (the in-graph loop of exported models) the loss is the eager one, projections
    included, and the stateless loop runs."""
    config = CONFIG.replace(style_loss=style_loss, steps=4, max_size=48, init="content", learning_rate=0.01)
    photos = np.concatenate([_image(40, 48, 1).numpy(), _image(40, 48, 5).numpy()])
    style = _image(36, 30, 2).numpy()
    batch = multiscale.stylize(photos, style, config, extractor=extractor)
    alone = multiscale.stylize(photos[1:], style, config, extractor=extractor)
    np.testing.assert_allclose(batch[1:], alone, atol=1e-5)
    objective = Objective.of_images(extractor, tf.constant(photos), [tf.constant(style)], config.loss)
    eager, graph = objective(tf.constant(batch)), tf.function(objective)(tf.constant(batch))
    np.testing.assert_allclose(graph["style"].numpy(), eager["style"].numpy(), rtol=1e-4)
    in_graph = tf.function(lambda c: multiscale.coarse_to_fine_in_graph(extractor, c, [tf.constant(style)], config))
    # Adam's first steps are lr x sign(gradient): where a gradient is ~0, rounding flips a pixel's
    # step, so compare on average (an in-graph loop that did something else is off by ~lr a step).
    assert np.abs(in_graph(tf.constant(photos)).numpy() - batch).mean() < 1e-3


def test_targets_prepare_the_painting_once(extractor):
    loss = CONFIG.replace(style_loss="mean_cov").loss
    built = targets.build_style_targets(extractor, [_image(36, 30, 2)], loss)
    prepared = built.stats[0]["block1_conv1"]
    assert isinstance(prepared, statistics.MeanCovTarget)
    np.testing.assert_allclose(
        (prepared.cov_sqrt @ prepared.cov_sqrt).numpy(), prepared.cov.numpy(), rtol=1e-3, atol=1e-3
    )


@pytest.mark.parametrize("style_loss", ["mean_cov", "sliced"])
def test_each_statistic_compiles_with_xla(extractor, style_loss, monkeypatch):
    """jit_compile (the probe of "auto", TPUs) needs every shape known when compiling: the sliced
    loss's subsets (taken here: at most 256 positions), sorts and per-image loop, and the
    Newton-Schulz iterations, included."""
    monkeypatch.setattr(statistics, "SLICED_MAX_POSITIONS", 256)  # block1 has 40 x 48 positions
    loss = CONFIG.replace(style_loss=style_loss).loss
    content = _image(40, 48, 1)
    objective = Objective.of_images(extractor, content, [_image(36, 30, 2)], loss)
    extractor.compiled_steps.clear()  # steps traced before the patch kept all positions
    compiled = step.ImageOptimizer(objective, content, CONFIG.optim, jit=True)
    plain = step.ImageOptimizer(objective, content, CONFIG.optim, jit=False)
    np.testing.assert_allclose(compiled.step()["style"], plain.step()["style"], rtol=1e-3)


def test_hashed_uniform_numbers_are_uniform_and_the_same_on_every_path():
    draw = statistics.hashed_uniform(50_000, tf.constant([3, 4])).numpy()
    assert 0.0 < draw.min() and draw.max() < 1.0 and abs(draw.mean() - 0.5) < 0.01
    assert np.histogram(draw, bins=10, range=(0, 1))[0].min() > 4_700  # flat: 5,000 per bin
    seeds = tf.constant([[3, 4], [3, 5]])
    looped = tf.function(
        lambda s: tf.map_fn(lambda t: statistics.hashed_uniform(64, t), s, fn_output_signature=tf.float32),
        jit_compile=True,
    )(seeds).numpy()
    np.testing.assert_array_equal(looped[0], draw[:64])
    assert not np.allclose(looped[0], looped[1])
    directions = statistics.random_directions(8, tf.constant([1, 2])).numpy()
    np.testing.assert_allclose(np.linalg.norm(directions, axis=0), 1.0, rtol=1e-5)
