"""The optimisers: one pure update (image, loss, gradient, state) -> (image, state), Adam or L-BFGS.

Contract: image and gradient are float32 [N, H, W, 3] (NHWC RGB; N photos of one size, or 1), the
image in [0, 1], the loss float32 [N], one per image (L-BFGS judges its trials by it; Adam ignores
it); the state is the optimiser's as a NamedTuple of float32 tensors (Adam's moments, or L-BFGS's
memory), from `init_state`; the new image is projected back onto [0, 1], and `result(image, state)`
is the optimiser's answer. Both act per image: a batch of N is N independent runs (Adam is
elementwise; L-BFGS keeps its dot products, memory, step lengths and acceptance tests per image),
so each image ends as it would alone. Hyperparameters come from the OptimizerConfig (config.optim). No variables and no
Keras optimizer: the same update runs on tf.Variables (step.ImageOptimizer) and on loop-carried
tensors in a tf.while_loop (step.optimize_in_graph).
"""

from __future__ import annotations

from typing import NamedTuple

import tensorflow as tf

from style_transfer.config import OptimizerConfig


class AdamState(NamedTuple):
    """Adam's first and second moments (shaped like the image) and the step count (scalar)."""

    m: tf.Tensor
    v: tf.Tensor
    t: tf.Tensor


def adam_init(image: tf.Tensor) -> AdamState:
    zeros = tf.zeros_like(image)
    return AdamState(zeros, zeros, tf.constant(0.0))


def adam_update(image, loss, grad, state: AdamState, config: OptimizerConfig) -> tuple[tf.Tensor, AdamState]:
    """One Adam step (Kingma & Ba 2015, Algorithm 1), then projection onto [0, 1]; `loss` is unused.

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
    """L-BFGS's memory and where it stands (zeros = empty).

    The image the loop holds is a *trial* point, x + alpha d clipped to [0, 1]; it becomes the new x
    only if its loss passes the acceptance test of the next update (`lbfgs_update`).
    """

    s: tf.Tensor  # [m, N, H, W, 3]: position differences of accepted steps, oldest first, per image
    y: tf.Tensor  # [m, N, H, W, 3]: gradient differences, the same steps
    rho: tf.Tensor  # [m, N]: 1 / (y . s), 0 for an empty slot
    x: tf.Tensor  # [N, H, W, 3]: the last accepted image
    g: tf.Tensor  # [N, H, W, 3]: its gradient
    f: tf.Tensor  # [N]: its loss
    d: tf.Tensor  # [N, H, W, 3]: the search direction from x
    alpha: tf.Tensor  # [N]: the step length along d of the current trial
    t: tf.Tensor  # scalar: evaluations so far


def lbfgs_init(image: tf.Tensor, memory: int) -> LbfgsState:
    zeros = tf.zeros_like(image)
    history = tf.zeros(tf.concat([[memory], tf.shape(image)], axis=0))
    per_image = tf.zeros(tf.shape(image)[:1])  # [N]
    rho = tf.zeros([memory, tf.shape(image)[0]])
    return LbfgsState(history, history, rho, zeros, zeros, per_image, zeros, per_image, tf.constant(0.0))


# Armijo's sufficient-decrease constant (Nocedal & Wright, eq. 3.4; the usual 1e-4).
_ARMIJO = 1e-4


def lbfgs_update(image, loss, grad, state: LbfgsState, config: OptimizerConfig) -> tuple[tf.Tensor, LbfgsState]:
    """Judge the trial `image` (its loss and gradient), then make the next trial.

    The paper's optimiser, as a box-constrained L-BFGS (Nocedal & Wright, Algorithm 7.4 for the
    direction) that costs exactly one loss-and-gradient evaluation per step, so it runs in a
    tf.while_loop like Adam. Departures from textbook L-BFGS(-B), each measured against SciPy's
    L-BFGS-B on real VGG16 losses (docs/defaults.md):
    - Bounds [0, 1] by projection: pixels at a bound whose gradient points outward are held
      ("active") when the direction is computed, and every trial is clipped to [0, 1]. L-BFGS-B's
      generalised Cauchy point and subspace minimisation are not done.
    - No Wolfe line search: the unit step along the L-BFGS direction is tried; a trial that fails
      Armijo's sufficient decrease is rejected (the next update returns to x) and the step
      shortened by quadratic interpolation, one evaluation per try. SciPy's L-BFGS-B, with its
      line search, also accepts the unit step on almost every iteration here.
    - The first step (and any after a direction that is not downhill) is steepest descent scaled
      so its largest pixel change is `learning_rate`.
    - A curvature pair with y.s <= 0 (possible without a Wolfe search, or after a clip) is skipped.
    """

    def dot(a, b):  # per image: [N, H, W, 3] x [N, H, W, 3] -> [N]
        return tf.reduce_sum(a * b, axis=[1, 2, 3])

    def each(v):  # [N] -> [N, 1, 1, 1], to select or scale whole images
        return v[:, None, None, None]

    image, loss = tf.convert_to_tensor(image), tf.convert_to_tensor(loss, tf.float32)
    first = tf.equal(state.t, 0.0)
    # Accept the trial if it lowered the loss enough (x + alpha d was predicted to change it by g.(trial - x)).
    predicted = dot(state.g, image - state.x)
    accept = tf.logical_and(tf.math.is_finite(loss), tf.logical_or(first, loss <= state.f + _ARMIJO * predicted))

    # Remember each accepted step's curvature pair (in that image's memory only).
    s_new, y_new = image - state.x, grad - state.g
    curvature = dot(s_new, y_new)
    remember = tf.logical_and(tf.logical_and(accept, tf.logical_not(first)), curvature > 1e-10 * dot(y_new, y_new))
    shift = remember[None, :, None, None, None]
    s_hist = tf.where(shift, tf.concat([state.s[1:], s_new[None]], 0), state.s)
    y_hist = tf.where(shift, tf.concat([state.y[1:], y_new[None]], 0), state.y)
    rho_new = 1.0 / tf.maximum(curvature, 1e-30)
    rho = tf.where(remember[None], tf.concat([state.rho[1:], rho_new[None]], 0), state.rho)

    # The new base point: the trial if accepted, else the old one.
    x = tf.where(each(accept), image, state.x)
    g = tf.where(each(accept), grad, state.g)
    f = tf.where(accept, loss, state.f)

    # Direction from x: two-loop recursion on the free pixels' gradient, H0 = (s.y / y.y) I.
    free = tf.cast(tf.logical_not(tf.logical_or((x <= 0.0) & (g > 0.0), (x >= 1.0) & (g < 0.0))), g.dtype)
    q = g * free
    memory = s_hist.shape[0]
    alphas = [None] * memory
    for i in reversed(range(memory)):  # newest first
        alphas[i] = rho[i] * dot(s_hist[i], q)
        q = q - each(alphas[i]) * y_hist[i]
    gamma = tf.where(rho[-1] > 0, 1.0 / tf.maximum(rho[-1] * dot(y_hist[-1], y_hist[-1]), 1e-30), 1.0)
    r = each(gamma) * q
    for i in range(memory):  # oldest first
        beta = rho[i] * dot(y_hist[i], r)
        r = r + s_hist[i] * each(alphas[i] - beta)
    quasi_newton = -r * free
    largest = tf.reduce_max(tf.abs(g * free), axis=[1, 2, 3])
    steepest = -g * free * each(config.learning_rate / tf.maximum(largest, 1e-30))
    use_qn = tf.logical_and(rho[-1] > 0, dot(quasi_newton, g) < 0.0)
    d_new = tf.where(each(use_qn), quasi_newton, steepest)

    # A rejected trial: back to x along the old direction, with the minimiser of the quadratic
    # through f(x), its slope and the trial's loss, kept within [0.1, 0.5] of the last step.
    slope = dot(state.g, state.d) * state.alpha  # d f / d step, times the step tried
    excess = tf.where(tf.math.is_finite(loss), loss - state.f - slope, 1e30)
    shrink = tf.clip_by_value(-slope / (2.0 * tf.maximum(excess, 1e-30)), 0.1, 0.5)
    d = tf.where(each(accept), d_new, state.d)
    alpha = tf.where(accept, 1.0, state.alpha * shrink)
    trial = tf.clip_by_value(x + each(alpha) * d, 0.0, 1.0)
    return trial, LbfgsState(s_hist, y_hist, rho, x, g, f, d, alpha, state.t + 1.0)


def result(image: tf.Tensor, state) -> tf.Tensor:
    """The optimiser's answer after its last update: for Adam the image; for L-BFGS the last
    accepted point (the image is then an untried trial)."""
    if isinstance(state, LbfgsState):
        return tf.where(state.t > 0, state.x, tf.convert_to_tensor(image))
    return tf.convert_to_tensor(image)


def init_state(image: tf.Tensor, config: OptimizerConfig):
    """The optimiser's initial state for `image` (a NamedTuple of tensors)."""
    return lbfgs_init(image, config.lbfgs_memory) if config.optimizer == "lbfgs" else adam_init(image)
