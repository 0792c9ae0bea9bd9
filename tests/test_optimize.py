"""optimize.py: Adam against numpy, the step lowers the loss, determinism, the in-graph loop."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from style_transfer import optimize
from style_transfer.config import Config
from style_transfer.errors import NonFiniteLossError
from tests.conftest import gradient_image

CONFIG = Config(
    network="vgg16",
    weights="none",
    content_layers=("block2_conv2",),
    style_layers=("block1_conv1", "block2_conv1"),
    max_size=32,
    steps=5,
    learning_rate=0.05,
)


def _image(height, width, seed):
    return (gradient_image(height, width, seed) / 255.0).astype(np.float32)[None]


CONTENT = _image(16, 20, 1)
STYLE = _image(18, 14, 2)


@pytest.fixture(scope="module")
def extractor():
    return optimize.build_extractor(CONFIG)


def _objective(extractor, config=CONFIG):
    return optimize.Objective(extractor, tf.constant(CONTENT), [tf.constant(STYLE)], config)


def test_adam_update_matches_numpy():
    cfg = Config(learning_rate=0.1, beta_1=0.8, beta_2=0.9, epsilon=1e-3)
    rng = np.random.default_rng(0)
    x = rng.random((1, 3, 4, 3)).astype(np.float32)
    state = optimize.adam_init(tf.constant(x))
    m = v = np.zeros_like(x, np.float64)
    ref = x.astype(np.float64)
    image = tf.constant(x)
    for t in range(1, 4):
        g = rng.standard_normal(x.shape).astype(np.float32)
        image, state = optimize.adam_update(image, tf.constant(g), state, cfg)
        m = 0.8 * m + 0.2 * g
        v = 0.9 * v + 0.1 * g.astype(np.float64) ** 2
        ref = np.clip(ref - 0.1 * (m / (1 - 0.8**t)) / (np.sqrt(v / (1 - 0.9**t)) + 1e-3), 0, 1)
        np.testing.assert_allclose(image.numpy(), ref, rtol=1e-5, atol=1e-6)
    assert float(state.t) == 3.0


def test_objective_terms_are_weighted_and_sum_to_total(extractor):
    weighted = CONFIG.replace(content_weight=2.0, style_weight=3.0, tv_weight=5.0)
    plain = _objective(extractor, CONFIG.replace(content_weight=1.0, style_weight=1.0, tv_weight=1.0))(
        _image(16, 20, 9)
    )
    terms = _objective(extractor, weighted)(_image(16, 20, 9))
    for name, weight in (("content", 2.0), ("style", 3.0), ("tv", 5.0)):
        np.testing.assert_allclose(terms[name].numpy(), weight * plain[name].numpy(), rtol=1e-5)
    np.testing.assert_allclose(terms["total"], terms["content"] + terms["style"] + terms["tv"], rtol=1e-6)
    # From the content image itself, the content loss is exactly zero.
    assert _objective(extractor)(CONTENT)["content"].numpy() == 0.0


def test_steps_lower_the_loss_and_keep_the_range(extractor):
    seen = []
    stylizer = optimize.Stylizer(_objective(extractor), optimize.initial_image(CONTENT, STYLE, "noise", 0), CONFIG)
    out = stylizer.run(20, lambda step, terms, image: seen.append((step, terms["total"])))
    assert [s for s, _ in seen] == list(range(1, 21))
    assert seen[-1][1] < 0.7 * seen[0][1]
    assert out.shape == CONTENT.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_callback_gets_terms_and_the_live_image(extractor):
    calls = []
    stylizer = optimize.Stylizer(_objective(extractor), CONTENT, CONFIG)
    stylizer.run(2, lambda step, terms, image: calls.append((step, sorted(terms), np.array(image))))
    assert [c[0] for c in calls] == [1, 2]
    assert calls[0][1] == ["content", "style", "total", "tv"]
    assert not np.array_equal(calls[0][2], calls[1][2])  # the image moved between steps
    np.testing.assert_array_equal(calls[1][2], stylizer.image.numpy())


def test_runs_are_deterministic(extractor):
    first = optimize.stylize(CONTENT, STYLE, CONFIG.replace(init="noise", seed=3), extractor=extractor)
    second = optimize.stylize(CONTENT, STYLE, CONFIG.replace(init="noise", seed=3), extractor=extractor)
    np.testing.assert_array_equal(first, second)
    other_seed = optimize.stylize(CONTENT, STYLE, CONFIG.replace(init="noise", seed=4), extractor=extractor)
    assert not np.array_equal(first, other_seed)


def test_random_weights_are_seeded():
    a = optimize.build_extractor(CONFIG.replace(seed=7))
    b = optimize.build_extractor(CONFIG.replace(seed=7))
    np.testing.assert_array_equal(a(CONTENT)["block2_conv2"], b(CONTENT)["block2_conv2"])


def test_initial_images():
    content = optimize.initial_image(CONTENT, STYLE, "content", 0)
    np.testing.assert_array_equal(content, CONTENT)
    style = optimize.initial_image(CONTENT, STYLE, "style", 0).numpy()
    assert style.shape == CONTENT.shape and 0 <= style.min() and style.max() <= 1
    assert abs(style.mean() - STYLE.mean()) < 0.05
    noise = optimize.initial_image(CONTENT, STYLE, "noise", 0).numpy()
    assert noise.shape == CONTENT.shape and 0 <= noise.min() and noise.max() <= 1
    assert abs(noise.mean() - 0.5) < 0.05
    np.testing.assert_array_equal(noise, optimize.initial_image(CONTENT, STYLE, "noise", 0))
    assert not np.array_equal(noise, optimize.initial_image(CONTENT, STYLE, "noise", 1))


def test_in_graph_loop_matches_the_variable_loop(extractor):
    """The stateless tf.while_loop and the tf.Variable loop run the same update."""
    objective = _objective(extractor)
    start = optimize.initial_image(CONTENT, STYLE, "noise", 0)
    eager = optimize.Stylizer(objective, start, CONFIG).run(4)
    graph = tf.function(lambda image: optimize.stylize_in_graph(objective, image, 4, CONFIG))(start)
    np.testing.assert_allclose(graph.numpy(), eager, atol=1e-5)
    assert not np.allclose(eager, start.numpy(), atol=1e-3)  # it did move


def test_stylize_blends_several_styles(extractor):
    other = _image(12, 12, 5)
    objective = optimize.Objective(
        extractor, tf.constant(CONTENT), [tf.constant(STYLE), tf.constant(other)], CONFIG, [3.0, 1.0]
    )
    assert [t.weight for t in objective.style_targets] == [3.0, 1.0]
    out = optimize.stylize(CONTENT, [STYLE, other], CONFIG, style_blend_weights=[3.0, 1.0], extractor=extractor)
    assert out.shape == CONTENT.shape


class _NaNExtractor:
    """Stands in for a network whose weights are corrupt."""

    def __init__(self, real):
        self.real = real

    def __call__(self, image):
        return {k: v * float("nan") for k, v in self.real(image).items()}


def test_non_finite_loss_raises(extractor):
    with pytest.raises(NonFiniteLossError, match="loss became nan at step 1"):
        optimize.stylize(CONTENT, STYLE, CONFIG, extractor=_NaNExtractor(extractor))


def test_stylize_validates_config():
    with pytest.raises(ValueError, match="learning_rate"):
        optimize.stylize(CONTENT, STYLE, CONFIG.replace(learning_rate=0.0))


def teardown_module():
    keras.backend.clear_session()
