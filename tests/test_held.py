"""held.py and scales.Reuse: an objective held in variables answers as the objective does, a refill
serves another objective with the step compiled once, and reuse across stylize calls changes no
result."""

import numpy as np
import pytest
import tensorflow as tf

from style_transfer import held, multiscale, scales, step, vgg
from style_transfer.config import Config
from style_transfer.objective import Objective, Temporal, WithTemporal
from tests.conftest import gradient_photo

CONFIG = Config(
    network="vgg16",
    weights="none",
    content_layers=("block2_conv2",),
    style_layers=("block1_conv1", "block2_conv1"),
    max_size=32,
    steps=4,
    scales=1,
    min_scale_size=0,
    init="content",
    precision="float32",
    jit_compile="false",
)


STYLE = gradient_photo(18, 14, 2)


@pytest.fixture(scope="module")
def extractor():
    return vgg.extractor_for(CONFIG)


def _objective(extractor, seed, size=(16, 20), config=CONFIG):
    return Objective.of_images(extractor, tf.constant(gradient_photo(*size, seed)), [tf.constant(STYLE)], config.loss)


def _temporal(seed, size=(16, 20), free=True):
    mask = np.linspace(0.0, 1.0, size[0] * size[1], dtype=np.float32).reshape(1, *size, 1)
    return Temporal(gradient_photo(*size, seed), mask, 0.5, free=1.0 - mask if free else None)


def test_a_held_objective_answers_as_the_objective(extractor):
    image = tf.constant(gradient_photo(16, 20, 7))
    for objective in (_objective(extractor, 1), WithTemporal(_objective(extractor, 1), _temporal(3))):
        terms, gradient = objective.value_and_gradient(image)
        held_terms, held_gradient = held.Held(objective).value_and_gradient(image)
        assert sorted(held_terms) == sorted(terms)
        for name in terms:
            np.testing.assert_array_equal(held_terms[name], terms[name])
        np.testing.assert_array_equal(held_gradient, gradient)


def test_a_refill_serves_another_objective_with_the_step_compiled_once(extractor):
    first, second = (WithTemporal(_objective(extractor, seed), _temporal(seed + 1)) for seed in (1, 5))
    holding = held.Held(first)
    optimizer = step.ImageOptimizer(holding, gradient_photo(16, 20, 1), CONFIG.optim)
    optimizer.run(3)
    assert holding.refill(second)
    optimizer.restart(gradient_photo(16, 20, 5))
    seen = []
    again = optimizer.run(3, lambda n, terms, image: seen.append(n))
    fresh = step.ImageOptimizer(second, gradient_photo(16, 20, 5), CONFIG.optim).run(3)
    np.testing.assert_array_equal(again, fresh)
    assert seen == [1, 2, 3]  # the step count starts over
    assert optimizer._compiled[False].experimental_get_tracing_count() == 1


def test_a_refill_refuses_another_structure_and_keeps_what_it_holds(extractor):
    objective = _objective(extractor, 1)
    holding = held.Held(objective)
    image = tf.constant(gradient_photo(16, 20, 7))
    before = holding.value_and_gradient(image)[0]["total"].numpy()
    refused = [
        WithTemporal(_objective(extractor, 2), _temporal(3)),  # another kind of term
        _objective(extractor, 2, size=(16, 24)),  # another size
        _objective(extractor, 2, config=CONFIG.replace(content_weight=2.0)),  # another setting
    ]
    for other in refused:
        assert not holding.refill(other)
    np.testing.assert_array_equal(holding.value_and_gradient(image)[0]["total"], before)
    # With and without `free` differ too.
    temporal = held.Held(WithTemporal(objective, _temporal(3)))
    assert not temporal.refill(WithTemporal(objective, _temporal(3, free=False)))
    assert temporal.refill(WithTemporal(_objective(extractor, 2), _temporal(4)))


def test_reuse_across_calls_changes_no_result_and_keeps_one_optimizer_a_size(extractor):
    config = CONFIG.replace(scales=2, scale_ratio=2.0, steps=6)
    reuse = scales.Reuse()
    photos = [gradient_photo(24, 32, seed) for seed in (1, 4)]
    kept = None
    for photo in photos:
        reused = multiscale.stylize(photo, STYLE, config, extractor=extractor, reuse=reuse)
        np.testing.assert_array_equal(reused, multiscale.stylize(photo, STYLE, config, extractor=extractor))
        if kept is None:
            kept = {size: entry.optimizer for size, entry in reuse.optimizers.items()}
    assert sorted(kept) == [(12, 16), (24, 32)] and sorted(reuse.style) == sorted(kept)
    assert all(reuse.optimizers[size].optimizer is optimizer for size, optimizer in kept.items())  # used again
    # A call with a temporal term at the final size replaces that size's optimizer (one a size).
    temporal = _temporal(3, size=(24, 32))
    later = config.replace(scales=1, steps=3)
    reused = multiscale.stylize(photos[0], STYLE, later, extractor=extractor, reuse=reuse, temporal=temporal)
    plain = multiscale.stylize(photos[0], STYLE, later, extractor=extractor, temporal=temporal)
    np.testing.assert_array_equal(reused, plain)
    assert reuse.optimizers[(24, 32)].optimizer is not kept[(24, 32)] and len(reuse.optimizers) == 2


def test_reuse_builds_the_style_targets_each_call_where_the_paintings_are_recoloured(extractor):
    config = CONFIG.replace(preserve_colors="histogram")
    reuse = scales.Reuse()
    optimizers = []
    for seed in (1, 4):
        photo = gradient_photo(24, 32, seed)
        reused = multiscale.stylize(photo, STYLE, config, extractor=extractor, reuse=reuse)
        np.testing.assert_array_equal(reused, multiscale.stylize(photo, STYLE, config, extractor=extractor))
        optimizers.append(reuse.optimizers[(24, 32)].optimizer)
    assert not reuse.style  # built each call ...
    assert optimizers[0] is optimizers[1]  # ... and refilled into the step compiled once
