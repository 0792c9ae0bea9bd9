"""optimizers.py: Adam and L-BFGS updates against numpy references, L-BFGS's cap and projection."""

import numpy as np
import pytest
import tensorflow as tf

from style_transfer import optimizers
from style_transfer.config import OptimizerConfig


def test_adam_update_matches_numpy():
    cfg = OptimizerConfig(learning_rate=0.1, beta_1=0.8, beta_2=0.9, epsilon=1e-3)
    rng = np.random.default_rng(0)
    x = rng.random((1, 3, 4, 3)).astype(np.float32)
    state = optimizers.adam_init(tf.constant(x))
    m = v = np.zeros_like(x, np.float64)
    ref = x.astype(np.float64)
    image = tf.constant(x)
    for t in range(1, 4):
        g = rng.standard_normal(x.shape).astype(np.float32)
        image, state = optimizers.adam_update(image, 0.0, tf.constant(g), state, cfg)
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


def _lbfgs_state(image, grad, loss, pairs, memory):
    """An L-BFGS state that has accepted `image` (gradient `grad`, loss `loss`) after `pairs`."""
    shape = image.shape
    empty = [(np.zeros(shape, np.float32), np.zeros(shape, np.float32))] * (memory - len(pairs))
    s_hist = np.stack([s for s, _ in empty + pairs])
    y_hist = np.stack([y for _, y in empty + pairs])
    rho = np.array([0.0] * len(empty) + [1 / (s * y).sum() for s, y in pairs], np.float32)[:, None]  # [m, 1]
    return optimizers.lbfgs_init(tf.constant(image), memory)._replace(
        s=tf.constant(s_hist), y=tf.constant(y_hist), rho=tf.constant(rho), x=tf.constant(image),
        g=tf.constant(grad), f=tf.constant([loss], tf.float32), t=tf.constant(float(len(pairs) + 1)),
    )  # fmt: skip


def test_lbfgs_accepts_a_better_trial_and_steps_along_the_two_loop_direction():
    rng = np.random.default_rng(0)
    shape, memory = (1, 3, 4, 3), 3
    # A convex quadratic's curvature pairs: y = A s with A diagonal and positive.
    diag = rng.uniform(0.5, 2.0, shape).astype(np.float32)
    pairs = [(s, diag * s) for s in (rng.standard_normal(shape).astype(np.float32) * 1e-3 for _ in range(3))]
    # Two pairs remembered; the trial (x + s3) brings the third.
    x = np.full(shape, 0.5, np.float32)
    g_old = rng.standard_normal(shape).astype(np.float32) * 1e-3
    state = _lbfgs_state(x, g_old, 1.0, pairs[:2], memory)
    trial, grad = x + pairs[2][0], g_old + pairs[2][1]
    new_image, new_state = optimizers.lbfgs_update(tf.constant(trial), 0.9, tf.constant(grad), state, OptimizerConfig())
    np.testing.assert_allclose(new_state.x.numpy(), trial)  # accepted: the loss fell enough
    # The new pair is the newest; the empty slot went.
    np.testing.assert_allclose(new_state.s.numpy(), np.stack([p[0] for p in pairs]), atol=1e-7)
    np.testing.assert_allclose(new_state.y.numpy(), np.stack([p[1] for p in pairs]), atol=1e-7)
    expected = trial - _two_loop_numpy(grad, pairs)  # interior pixels: no bound is active
    np.testing.assert_allclose(new_image.numpy(), expected, rtol=1e-4, atol=1e-7)
    assert new_state.alpha.numpy()[0] == 1.0 and new_state.f.numpy()[0] == pytest.approx(0.9)


def test_lbfgs_rejects_a_worse_trial_and_shortens_the_step():
    rng = np.random.default_rng(1)
    shape = (1, 2, 3, 3)
    x = np.full(shape, 0.5, np.float32)
    g = rng.standard_normal(shape).astype(np.float32) * 0.01
    d = -g * 3.0
    state = _lbfgs_state(x, g, 1.0, [], 4)._replace(d=tf.constant(d), alpha=tf.constant([1.0]))
    trial = np.clip(x + d, 0, 1)
    # The loss rose: the trial is rejected, x, g, f and the memory are kept.
    image, new = optimizers.lbfgs_update(tf.constant(trial), 1.5, tf.constant(g * 7), state, OptimizerConfig())
    np.testing.assert_array_equal(new.x.numpy(), x)
    np.testing.assert_array_equal(new.g.numpy(), g)
    assert new.f.numpy()[0] == 1.0 and not new.rho.numpy().any()
    # Quadratic through f(x) = 1, slope g.d and f(x + d) = 1.5, clamped to [0.1, 0.5] of the step.
    slope = float((g * d).sum())
    expected = min(0.5, max(0.1, -slope / (2 * (1.5 - 1.0 - slope))))
    assert new.alpha.numpy()[0] == pytest.approx(expected, rel=1e-5)
    np.testing.assert_allclose(image.numpy(), np.clip(x + expected * d, 0, 1), atol=1e-7)
    # A NaN loss is rejected too, with the largest cut.
    _, nan = optimizers.lbfgs_update(tf.constant(trial), float("nan"), tf.constant(g), state, OptimizerConfig())
    np.testing.assert_array_equal(nan.x.numpy(), x)
    assert nan.alpha.numpy()[0] == pytest.approx(0.1)


def test_lbfgs_first_step_is_scaled_steepest_descent_and_holds_active_bounds():
    image = np.full((1, 2, 2, 3), 0.5, np.float32)
    image[0, 0, 0] = [0.0, 1.0, 0.5]
    grad = np.linspace(-1, 1, 12, dtype=np.float32).reshape(1, 2, 2, 3)
    grad[0, 0, 0] = [0.9, -0.9, 0.0]  # pushes the pixels at 0 and 1 outward: held
    state = optimizers.lbfgs_init(tf.constant(image), 4)
    new_image, new = optimizers.lbfgs_update(
        tf.constant(image), 2.0, tf.constant(grad), state, OptimizerConfig(learning_rate=0.02)
    )
    change = new_image.numpy() - image
    np.testing.assert_array_equal(change[0, 0, 0], 0.0)
    free = np.ones_like(grad, bool)
    free[0, 0, 0] = False
    np.testing.assert_allclose(change[free], -grad[free] * 0.02 / np.abs(grad[free]).max(), atol=1e-7)
    assert new.f.numpy()[0] == 2.0 and float(new.t) == 1.0


def _solve_quadratics(a, c, steps, config):
    """L-BFGS on 0.5 sum a (x - c)^2 per image ([N, H, W, 3] each): the answer, and accepts per step."""
    image = tf.fill(a.shape, 0.5)
    state = optimizers.init_state(image, config)
    accepted = []
    for _ in range(steps):
        loss = 0.5 * tf.reduce_sum(a * tf.square(image - c), axis=[1, 2, 3])  # [N]
        image, new_state = optimizers.lbfgs_update(image, loss, a * (image - c), state, config)
        accepted.append((new_state.alpha.numpy() == 1.0) & (state.t.numpy() > 0))
        state = new_state
    return optimizers.result(image, state).numpy(), np.array(accepted)


def test_lbfgs_solves_a_box_constrained_quadratic():
    """0.5 sum a (x - c)^2 with some c outside [0, 1]: the answer is clip(c), found in few steps."""
    rng = np.random.default_rng(2)
    shape = (1, 4, 5, 3)
    a = tf.constant(rng.uniform(0.2, 5.0, shape), tf.float32)  # condition number 25
    c = tf.constant(rng.uniform(-0.5, 1.5, shape), tf.float32)
    config = OptimizerConfig(optimizer="lbfgs", learning_rate=0.1, lbfgs_memory=5)
    answer, _ = _solve_quadratics(a, c, 40, config)
    np.testing.assert_allclose(answer, np.clip(c.numpy(), 0, 1), atol=1e-4)


def test_lbfgs_runs_each_image_of_a_batch_as_it_would_alone():
    """Two problems of different conditioning in one batch: per-image memory, steps and acceptance
    tests, so each image follows its own run (the first problem rejects trials the second does not)."""
    rng = np.random.default_rng(5)
    shape = (1, 4, 5, 3)
    a = [rng.uniform(0.2, 5.0, shape), rng.uniform(0.01, 20.0, shape)]  # condition numbers 25 and 2000
    c = [rng.uniform(-0.5, 1.5, shape), rng.uniform(0.0, 1.0, shape)]
    a, c = ([tf.constant(v, tf.float32) for v in vs] for vs in (a, c))
    config = OptimizerConfig(optimizer="lbfgs", learning_rate=0.1, lbfgs_memory=5)
    batch, accepted = _solve_quadratics(tf.concat(a, 0), tf.concat(c, 0), 25, config)
    alone = [_solve_quadratics(a[i], c[i], 25, config) for i in range(2)]
    # The two runs differ in which steps they accept: a shared acceptance test would tie them.
    assert (alone[0][1][:, 0] != alone[1][1][:, 0]).any()
    np.testing.assert_array_equal(accepted, np.concatenate([alone[0][1], alone[1][1]], axis=1))
    np.testing.assert_allclose(batch, np.concatenate([alone[0][0], alone[1][0]]), rtol=1e-5, atol=1e-6)
