"""compiled.py: an objective split into its structure and its tensors answers as the objective does;
objectives of one structure run one traced step with the results each would have alone; what is
kept is bounded and lives with the feature extractor; scales.Reuse across calls changes no result."""

import numpy as np
import pytest
import tensorflow as tf

from style_transfer import compiled, multiscale, scales, step, tiles, vgg
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


def _network():
    """A network of its own (vgg.extractor_for gives the one it built last again)."""
    return vgg.build_extractor(CONFIG.features.network, "none", CONFIG.loss.layers(), "float32")


@pytest.fixture
def extractor():
    """A network of its own for each test: nothing compiled by another test is kept on it."""
    return _network()


def _objective(extractor, seed, size=(16, 20), config=CONFIG, mask=None):
    photo = tf.constant(gradient_photo(*size, seed))
    return Objective.of_images(extractor, photo, [tf.constant(STYLE)], config.loss, style_masks=mask)


def _temporal(seed, size=(16, 20), free=True):
    mask = np.linspace(0.0, 1.0, size[0] * size[1], dtype=np.float32).reshape(1, *size, 1)
    return Temporal(gradient_photo(*size, seed), mask, 0.5, free=1.0 - mask if free else None)


def _private(parts, settings, make):
    """compiled.steps_for as if nothing were kept: a step traced for each optimizer."""
    return compiled.Steps(make())


def test_a_split_objective_filled_again_answers_as_the_objective(extractor):
    image = tf.constant(gradient_photo(16, 20, 7))
    for objective in (_objective(extractor, 1), WithTemporal(_objective(extractor, 1), _temporal(3))):
        parts = compiled.split(objective)
        assert parts.extractor is extractor and parts.tensors
        assert all(isinstance(t, tf.Tensor) for t in parts.tensors)  # numpy leaves as tensors
        terms, gradient = objective.value_and_gradient(image)
        filled_terms, filled_gradient = compiled.fill(parts.skeleton, parts.tensors).value_and_gradient(image)
        assert sorted(filled_terms) == sorted(terms)
        for name in terms:
            np.testing.assert_array_equal(filled_terms[name], terms[name])
        np.testing.assert_array_equal(filled_gradient, gradient)


def test_the_key_is_the_structure_not_the_tensors(extractor):
    def key(objective):
        return compiled.split(objective).key

    assert key(_objective(extractor, 1)) == key(_objective(extractor, 5))  # other photos
    assert key(_objective(extractor, 1)) == key(_objective(extractor, 5, size=(16, 24)))  # shapes: tf.function's
    left = np.zeros((1, 16, 20, 1), np.float32)
    left[..., :10, :] = 1.0
    assert key(_objective(extractor, 1, mask=[left])) == key(_objective(extractor, 5, mask=[1.0 - left]))
    others = [
        _objective(extractor, 2, mask=[left]),  # a mask where there was none
        WithTemporal(_objective(extractor, 2), _temporal(3)),  # another kind of term
        WithTemporal(_objective(extractor, 2), _temporal(3, free=False)),  # without `free`
        _objective(extractor, 2, config=CONFIG.replace(content_weight=2.0)),  # another setting
        _objective(_network(), 1),  # another network (its weights are in the graph)
    ]
    keys = [key(_objective(extractor, 1))] + [key(other) for other in others]
    assert len(set(keys)) == len(keys)


def test_objectives_of_one_structure_run_one_trace_with_the_results_each_has_alone(extractor, monkeypatch):
    objectives = [WithTemporal(_objective(extractor, seed), _temporal(seed + 1)) for seed in (1, 5)]
    starts = [gradient_photo(16, 20, 1), gradient_photo(16, 20, 5)]
    shared = [step.ImageOptimizer(o, s, CONFIG.optim) for o, s in zip(objectives, starts, strict=True)]
    results = [optimizer.run(3) for optimizer in shared]
    assert shared[0]._steps is shared[1]._steps and len(extractor.compiled_steps) == 1
    assert shared[0]._steps.function(False).experimental_get_tracing_count() == 1
    monkeypatch.setattr(compiled, "steps_for", _private)
    for objective, start, result in zip(objectives, starts, results, strict=True):
        alone = step.ImageOptimizer(objective, start, CONFIG.optim)
        np.testing.assert_array_equal(alone.run(3), result)
        assert alone._steps is not shared[0]._steps


def test_an_objective_with_other_leaves_gets_a_step_of_its_own(extractor):
    content = tf.constant(gradient_photo(40, 40, 1))
    tiled = tiles.TiledObjective(extractor, content, [tf.constant(STYLE)], CONFIG.loss, tile_size=32, tile_overlap=8)
    parts = compiled.split(tiled)
    assert parts.key is None and parts.skeleton is tiled and parts.tensors == []
    first, second = (step.ImageOptimizer(tiled, content, CONFIG.optim) for _ in range(2))
    assert first._steps is not second._steps and not extractor.compiled_steps
    assert np.isfinite(first.run(1)).all()


def test_the_steps_kept_are_the_most_recently_used_few(extractor, monkeypatch):
    monkeypatch.setattr(compiled, "MAX_KEPT", 2)
    weights = (1.0, 2.0, 3.0)
    made = [
        step.ImageOptimizer(
            _objective(extractor, 1, config=CONFIG.replace(content_weight=w)), gradient_photo(16, 20, 1), CONFIG.optim
        )
        for w in weights
    ]
    assert len(extractor.compiled_steps) == 2
    again = step.ImageOptimizer(
        _objective(extractor, 4, config=CONFIG.replace(content_weight=3.0)), gradient_photo(16, 20, 4), CONFIG.optim
    )
    assert again._steps is made[2]._steps  # kept
    first = step.ImageOptimizer(_objective(extractor, 4), gradient_photo(16, 20, 4), CONFIG.optim)
    assert first._steps is not made[0]._steps  # the least recently used was let go


def test_reuse_across_calls_changes_no_result_and_a_second_call_traces_nothing(extractor, monkeypatch):
    config = CONFIG.replace(scales=2, scale_ratio=2.0, steps=6)
    reuse = scales.Reuse()
    photos = [gradient_photo(24, 32, seed) for seed in (1, 4)]
    results = [multiscale.stylize(photo, STYLE, config, extractor=extractor, reuse=reuse) for photo in photos]
    assert sorted(reuse.style) == [(12, 16), (24, 32)]
    (steps,) = extractor.compiled_steps.values()  # one structure, its two sizes traced
    assert steps.function(False).experimental_get_tracing_count() == 2
    multiscale.stylize(photos[0], STYLE, config.replace(steps=8, init="noise"), extractor=extractor)
    assert steps.function(False).experimental_get_tracing_count() == 2  # another call, no trace
    monkeypatch.setattr(compiled, "steps_for", _private)
    for photo, result in zip(photos, results, strict=True):
        np.testing.assert_array_equal(result, multiscale.stylize(photo, STYLE, config, extractor=extractor))


def test_reuse_builds_the_style_targets_each_call_where_the_paintings_are_recoloured(extractor):
    config = CONFIG.replace(preserve_colors="histogram")
    reuse = scales.Reuse()
    for seed in (1, 4):
        photo = gradient_photo(24, 32, seed)
        reused = multiscale.stylize(photo, STYLE, config, extractor=extractor, reuse=reuse)
        np.testing.assert_array_equal(reused, multiscale.stylize(photo, STYLE, config, extractor=extractor))
    assert not reuse.style  # built each call
