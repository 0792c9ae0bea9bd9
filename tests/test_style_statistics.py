"""A new style statistic takes a class that answers statistics.StyleStatistic and nothing else.

`FeatureMean` below (each channel's mean over positions, a toy) is defined here only: no file of
the package knows it. It runs through the one target builder, the untiled and the tiled objective
and the optimiser as Gram matrices do: that is the house issue 17 asked for.
"""

import numpy as np
import pytest
import tensorflow as tf

from style_transfer import losses, step, targets, tiles, vgg
from style_transfer.config import Config
from style_transfer.errors import ConfigError
from style_transfer.objective import Objective
from tests.conftest import gradient_photo


class FeatureMean:
    """Each channel's mean over positions ([N, C]), compared by relative error."""

    name = "mean"
    additive = True

    def __call__(self, features, mask=None):
        features = tf.cast(features, tf.float32)
        if mask is None:
            return tf.reduce_mean(features, axis=[1, 2])
        return tf.reduce_sum(features * mask, axis=[1, 2]) / tf.reduce_sum(mask, axis=[1, 2])

    def sums(self, features, weights):
        return tf.reduce_sum(tf.cast(features, tf.float32) * weights, axis=[1, 2])

    def target(self, stats):
        return stats

    def distance(self, stats, target):
        return losses.relative_error(stats, target)


class SortedValues(FeatureMean):
    """Not a mean over positions: tiles cannot add it up."""

    name = "sorted"
    additive = False


CONFIG = Config(
    network="vgg16",
    weights="none",
    content_layers=("block2_conv2",),
    style_layers=("block1_conv1", "block2_conv1", "block3_conv1"),
    style_layer_weights=(1.0, 2.0, 1.0),
    optimizer="adam",
    learning_rate=0.05,
    precision="float32",
)


def _image(height, width, seed):
    return tf.constant(gradient_photo(height, width, seed))


@pytest.fixture(scope="module")
def extractor():
    return vgg.extractor_for(CONFIG)


def test_the_style_loss_of_a_new_statistic_matches_numpy(extractor):
    content, style, image = _image(40, 48, 1), _image(36, 30, 2), _image(40, 48, 3)
    config = CONFIG.replace(style_normalization="painting").loss
    objective = Objective.of_images(extractor, content, [style], config, statistic=FeatureMean())
    got = objective(image)["style"].numpy()
    painting, generated = extractor(style), extractor(image)
    expected = 0.0
    for name, weight in zip(config.style_layers, (0.25, 0.5, 0.25), strict=True):
        a = painting[name].numpy().astype(np.float64).mean(axis=(1, 2))
        g = generated[name].numpy().astype(np.float64).mean(axis=(1, 2))
        expected += weight * ((g - a) ** 2).sum() / (a**2).sum()
    np.testing.assert_allclose(got, config.style_weight * expected, rtol=1e-4)
    assert objective.style.statistic.name == "mean"


def test_a_new_statistic_runs_tiled_exactly_as_untiled_with_one_tile_and_masks(extractor):
    content, image = _image(40, 48, 1), _image(40, 48, 4)
    styles = [_image(36, 30, 2), _image(30, 40, 5)]
    mask = np.zeros((1, 40, 48, 1), np.float32)
    mask[:, :, :20] = 1.0
    masks = dict(style_masks=[tf.constant(mask), None], content_mask=tf.constant(1.0 - mask))
    whole = Objective.of_images(extractor, content, styles, CONFIG.loss, [0.6, 0.4], statistic=FeatureMean(), **masks)
    tiled = tiles.TiledObjective(
        extractor, content, styles, CONFIG.loss, 64, 16, [0.6, 0.4], statistic=FeatureMean(), **masks
    )
    terms, gradient = whole.value_and_gradient(image)
    tiled_terms, tiled_gradient = tiled.value_and_gradient(image)
    for name in terms:
        np.testing.assert_allclose(tiled_terms[name].numpy(), terms[name].numpy(), rtol=2e-5, err_msg=name)
    np.testing.assert_allclose(tiled_gradient.numpy(), gradient.numpy(), rtol=1e-3, atol=1e-6)
    # Photo normalisation and coverage hold for it too: at the photo itself each painting's share
    # is its blend weight times its coverage (the masked one: 2 paintings x 20/48 of the width).
    expected = CONFIG.loss.style_weight * (0.6 * 2 * 20 / 48 + 0.4)
    assert whole(content)["style"].numpy() == pytest.approx(expected, rel=1e-5)


def test_a_new_statistic_is_optimised(extractor):
    content, style = _image(40, 48, 1), _image(36, 30, 2)
    objective = Objective.of_images(extractor, content, [style], CONFIG.loss, statistic=FeatureMean())
    seen = []
    step.ImageOptimizer(objective, content, CONFIG.optim).run(12, lambda n, terms, image: seen.append(terms["style"]))
    assert seen[-1] < 0.5 * seen[0]


def test_a_statistic_that_does_not_add_up_cannot_run_tiled(extractor):
    content, style = _image(40, 48, 1), _image(36, 30, 2)
    with pytest.raises(ConfigError, match="does not add up over tiles; set tile_size=0"):
        tiles.TiledObjective(extractor, content, [style], CONFIG.loss, 64, 16, statistic=SortedValues())
    # Untiled it is just another statistic.
    built = targets.build_style_targets(extractor, [style], CONFIG.loss, statistic=SortedValues())
    assert set(built.stats[0]) == set(CONFIG.loss.style_layers)


def test_a_training_loop_keeps_style_targets_and_scores_batches_of_photos(extractor):
    """What a network's training loop does: the painting's targets built once, then for each batch
    of photos their features -> targets.for_photos -> losses.loss_terms on generated images. Each
    photo's terms equal the pixel objective's for that photo alone, and the gradient reaches the
    generated images."""
    config = CONFIG.loss
    style = targets.build_style_targets(extractor, [_image(36, 30, 2)], config)  # once, kept
    kept = {name: stats.numpy() for name, stats in style.stats[0].items()}
    for batch in range(2):
        photos = tf.concat([_image(40, 48, 10 + 2 * batch), _image(40, 48, 11 + 2 * batch)], 0)  # [2, 40, 48, 3]
        generated = tf.concat([_image(40, 48, 20 + batch), _image(40, 48, 30 + batch)], 0)
        content, style_for_batch = targets.for_photos(extractor(photos), style, config)
        with tf.GradientTape() as tape:
            tape.watch(generated)
            terms = losses.loss_terms(extractor(generated), content, style_for_batch, generated, config)  # {name: [2]}
            total = tf.reduce_sum(terms["total"])
        gradient = tape.gradient(total, generated)
        assert float(tf.reduce_sum(tf.abs(gradient))) > 0
        for i in range(2):
            alone = Objective.of_images(extractor, photos[i : i + 1], [_image(36, 30, 2)], config)
            expected = alone(generated[i : i + 1])
            for name in ("total", "content", "style", "tv"):
                np.testing.assert_allclose(terms[name][i].numpy(), expected[name][0].numpy(), rtol=1e-5, err_msg=name)
    for name, stats in style.stats[0].items():  # the kept targets are the painting's, unchanged by the batches
        np.testing.assert_array_equal(stats.numpy(), kept[name])
