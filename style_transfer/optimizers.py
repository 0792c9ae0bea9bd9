"""The optimisers: one pure update (image, gradient, state) -> (image, state), Adam or L-BFGS.

Contract: image and gradient are float32 [1, H, W, 3] (NHWC RGB; a batch of N works the same way),
the image in [0, 1]; the state is the optimiser's as a NamedTuple of float32 tensors (Adam's
moments, or L-BFGS's memory), from `init_state`; the new image is projected back onto [0, 1].
Hyperparameters come from the Config. No variables and no Keras optimizer: the same update runs on
tf.Variables (optimize.Stylizer) and on loop-carried tensors in a tf.while_loop
(optimize.stylize_in_graph).
"""

from __future__ import annotations

from typing import NamedTuple

import tensorflow as tf

from style_transfer.config import Config


class AdamState(NamedTuple):
    """Adam's first and second moments (shaped like the image) and the step count (scalar)."""

    m: tf.Tensor
    v: tf.Tensor
    t: tf.Tensor


def adam_init(image: tf.Tensor) -> AdamState:
    zeros = tf.zeros_like(image)
    return AdamState(zeros, zeros, tf.constant(0.0))


def adam_update(image, grad, state: AdamState, config: Config) -> tuple[tf.Tensor, AdamState]:
    """One Adam step (Kingma & Ba 2015, Algorithm 1), then projection onto [0, 1].

    Departure from the paper, which optimises with L-BFGS: Adam, as keras-io and the TF tutorial
    do, because it is stateless enough to run in a graph loop and behaves the same on CPU, GPU and
    TPU. Written out rather than keras.optimizers.Adam so the same update works on loop-carried
    tensors (no optimizer variables) for the in-graph loop.
    """
    b1, b2 = config.beta_1, config.beta_2
    t = state.t + 1.0
    m = b1 * state.m + (1.0 - b1) * grad
    v = b2 * state.v + (1.0 - b2) * tf.square(grad)
    m_hat = m / (1.0 - tf.pow(b1, t))
    v_hat = v / (1.0 - tf.pow(b2, t))
    image = image - config.learning_rate * m_hat / (tf.sqrt(v_hat) + config.epsilon)
    return tf.clip_by_value(image, 0.0, 1.0), AdamState(m, v, t)


class LbfgsState(NamedTuple):
    """L-BFGS memory: the last m position and gradient differences, oldest first (zeros = empty)."""

    s: tf.Tensor  # [m, N, H, W, 3]
    y: tf.Tensor  # [m, N, H, W, 3]
    rho: tf.Tensor  # [m], 1 / (y . s), 0 for an empty slot
    x: tf.Tensor  # the previous image
    g: tf.Tensor  # the previous gradient
    t: tf.Tensor  # steps taken (scalar)


def lbfgs_init(image: tf.Tensor, memory: int) -> LbfgsState:
    zeros = tf.zeros_like(image)
    history = tf.zeros(tf.concat([[memory], tf.shape(image)], axis=0))
    return LbfgsState(history, history, tf.zeros([memory]), zeros, zeros, tf.constant(0.0))


def lbfgs_update(image, grad, state: LbfgsState, config: Config) -> tuple[tf.Tensor, LbfgsState]:
    """One L-BFGS step (Nocedal & Wright, Algorithm 7.4), then projection onto [0, 1].

    The paper's optimiser. Departures, to keep it a fixed-cost, in-graph step: no line search
    (like torch.optim.LBFGS's default, which jcjohnson/neural-style uses), the step's largest pixel
    change is capped at `learning_rate` * 10, the first step is steepest descent scaled the same
    way, and a pair whose curvature y.s is not positive (e.g. after the projection) is skipped.
    """
    dot = lambda a, b: tf.reduce_sum(a * b)  # noqa: E731
    # Remember the pair from the previous step.
    s_new, y_new = image - state.x, grad - state.g
    curvature = dot(s_new, y_new)
    accept = tf.logical_and(state.t > 0, curvature > 1e-12)
    s_hist = tf.where(accept, tf.concat([state.s[1:], s_new[None]], 0), state.s)
    y_hist = tf.where(accept, tf.concat([state.y[1:], y_new[None]], 0), state.y)
    rho = tf.where(accept, tf.concat([state.rho[1:], [1.0 / tf.maximum(curvature, 1e-12)]], 0), state.rho)
    # Two-loop recursion: r = H g, with H0 = (s.y / y.y) I from the newest pair.
    memory = s_hist.shape[0]
    q, alphas = grad, [None] * memory
    for i in reversed(range(memory)):  # newest first
        alphas[i] = rho[i] * dot(s_hist[i], q)
        q = q - alphas[i] * y_hist[i]
    newest_yy = dot(y_hist[-1], y_hist[-1])
    gamma = tf.where(rho[-1] > 0, 1.0 / tf.maximum(rho[-1] * newest_yy, 1e-30), 1.0)
    r = gamma * q
    for i in range(memory):  # oldest first
        beta = rho[i] * dot(y_hist[i], r)
        r = r + s_hist[i] * (alphas[i] - beta)
    # Cap the largest pixel change (this also sizes the first, steepest-descent step).
    max_change = 10.0 * config.learning_rate
    to_cap = max_change / tf.maximum(tf.reduce_max(tf.abs(r)), 1e-30)
    factor = tf.where(rho[-1] > 0, tf.minimum(1.0, to_cap), to_cap)  # no history yet: always to the cap
    new_image = tf.clip_by_value(image - factor * r, 0.0, 1.0)
    return new_image, LbfgsState(s_hist, y_hist, rho, tf.convert_to_tensor(image), grad, state.t + 1.0)


def init_state(image: tf.Tensor, config: Config):
    """The optimiser's initial state for `image` (a NamedTuple of tensors)."""
    return lbfgs_init(image, config.lbfgs_memory) if config.optimizer == "lbfgs" else adam_init(image)
