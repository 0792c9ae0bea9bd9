"""optimizers.py: Adam and L-BFGS updates against numpy references, L-BFGS's cap and projection."""

import numpy as np
import pytest
import tensorflow as tf

from style_transfer import optimizers
from style_transfer.config import Config


def test_adam_update_matches_numpy():
    cfg = Config(learning_rate=0.1, beta_1=0.8, beta_2=0.9, epsilon=1e-3)
    rng = np.random.default_rng(0)
    x = rng.random((1, 3, 4, 3)).astype(np.float32)
    state = optimizers.adam_init(tf.constant(x))
    m = v = np.zeros_like(x, np.float64)
    ref = x.astype(np.float64)
    image = tf.constant(x)
    for t in range(1, 4):
        g = rng.standard_normal(x.shape).astype(np.float32)
        image, state = optimizers.adam_update(image, tf.constant(g), state, cfg)
        m = 0.8 * m + 0.2 * g
        v = 0.9 * v + 0.1 * g.astype(np.float64) ** 2
        ref = np.clip(ref - 0.1 * (m / (1 - 0.8**t)) / (np.sqrt(v / (1 - 0.9**t)) + 1e-3), 0, 1)
        np.testing.assert_allclose(image.numpy(), ref, rtol=1e-5, atol=1e-6)
    assert float(state.t) == 3.0


def _two_loop_numpy(grad, pairs):
    """Reference L-BFGS direction H g (Nocedal & Wright, Algorithm 7.4); pairs oldest first."""
    q, alphas = grad.astype(np.float64), []
    for s, y in reversed(pairs):
        alpha = (s * q).sum() / (y * s).sum()
        q = q - alpha * y
        alphas.append(alpha)
    s, y = pairs[-1]
    r = q * (s * y).sum() / (y * y).sum()
    for (s, y), alpha in zip(pairs, reversed(alphas), strict=True):
        beta = (y * r).sum() / (y * s).sum()
        r = r + s * (alpha - beta)
    return r


def test_lbfgs_direction_matches_numpy():
    rng = np.random.default_rng(0)
    shape, memory = (1, 3, 4, 3), 3
    image = np.full(shape, 0.5, np.float32)
    # A convex quadratic's curvature pairs: y = A s with A diagonal and positive.
    diag = rng.uniform(0.5, 2.0, shape).astype(np.float32)
    pairs = [(s, diag * s) for s in (rng.standard_normal(shape).astype(np.float32) * 1e-3 for _ in range(3))]
    state = optimizers.lbfgs_init(tf.constant(image), memory)
    # Two pairs already remembered, the third arrives with this step (image - x, grad - g).
    grad = rng.standard_normal(shape).astype(np.float32) * 1e-3
    s_hist = np.stack([np.zeros(shape, np.float32), pairs[0][0], pairs[1][0]])
    y_hist = np.stack([np.zeros(shape, np.float32), pairs[0][1], pairs[1][1]])
    rho = np.array([0.0] + [1 / (s * y).sum() for s, y in pairs[:2]], np.float32)
    state = state._replace(
        s=tf.constant(s_hist), y=tf.constant(y_hist), rho=tf.constant(rho),
        x=tf.constant(image - pairs[2][0]), g=tf.constant(grad - pairs[2][1]), t=tf.constant(2.0),
    )  # fmt: skip
    config = Config(learning_rate=10.0)  # a cap far above this step: the raw direction is taken
    new_image, new_state = optimizers.lbfgs_update(tf.constant(image), tf.constant(grad), state, config)
    expected = image - _two_loop_numpy(grad, pairs)
    np.testing.assert_allclose(new_image.numpy(), expected, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(new_state.s.numpy()[-1], pairs[2][0], atol=1e-7)  # the oldest pair went
    assert float(new_state.t) == 3.0


def test_lbfgs_step_is_capped_and_projected():
    image = tf.fill([1, 2, 2, 3], 0.5)
    grad = tf.constant(np.linspace(-1, 1, 12, dtype=np.float32).reshape(1, 2, 2, 3))
    config = Config(learning_rate=0.01)
    new_image, _ = optimizers.lbfgs_update(image, grad, optimizers.lbfgs_init(image, 4), config)
    assert np.abs(new_image.numpy() - 0.5).max() == pytest.approx(0.1)  # 10 x learning_rate
    new_image, _ = optimizers.lbfgs_update(image, grad, optimizers.lbfgs_init(image, 4), Config(learning_rate=1.0))
    assert new_image.numpy().min() >= 0.0 and new_image.numpy().max() <= 1.0
