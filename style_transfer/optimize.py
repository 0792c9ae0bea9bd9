"""The compiled step and the loops: image -> features -> losses -> gradient -> update -> image.

Contract: images are float32 RGB in [0, 1], NHWC, [N, H, W, 3]: one photo, or a batch of N photos
of one size optimised together, each exactly as it would be alone (the objective's terms are one
value per image, the tape differentiates their sum, and both optimisers act per image).

One pure update, `make_update(objective, optim, loss_scale)`: (image, state) -> (image, state, terms): the
objective's terms and their gradient (`value_and_gradient`: by one GradientTape in objective.py,
or tile by tile in tiles.py; float16: with loss scaling, see devices.py), then one Adam or L-BFGS
step (optimizers.py), where state is the optimiser's (Adam's
moments, or L-BFGS's memory) as a NamedTuple of tensors. It serves both
- `Stylizer`: the image and the optimiser's state live in tf.Variables, a `tf.function`-compiled
  `step()` runs the update and assigns; a plain Python loop calls it and reports to a callback;
- `stylize_in_graph`: the same update inside a `tf.while_loop` with the image and the state as
  loop-carried tensors: stateless, for exported SavedModels and thread-safe serving.
Both run at one size and return the optimiser's answer (optimizers.result: L-BFGS's last accepted
image, the image otherwise); multiscale.py runs them coarse to fine (`stylize`, `stylize_graph`).

The core never prints: progress goes to `callback(step, terms, image)`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf

from style_transfer import colors, optimizers, tiles
from style_transfer.config import OptimizerConfig
from style_transfer.errors import NonFiniteLossError, named
from style_transfer.objective import Objective

# callback(step, terms, image): step counts from 1; terms are floats {"total", "content", "style",
# "tv"} (weighted, total = sum of the others; the mean over a batch) at the image the step
# evaluated; image is the optimiser's answer after the step (Stylizer.answer: float32 [N, H, W, 3]).
Callback = Callable[[int, dict, tf.Tensor], None]


def make_update(objective: Objective | tiles.TiledObjective, optim: OptimizerConfig, loss_scale: float = 1.0):
    """(image, state) -> (new image, new state, terms); pure, no variables of its own.

    state: the optimiser's (optimizers.init_state). `image` may be a tf.Variable or a tensor; the tape
    watches it either way. loss_scale: devices.loss_scale of the features' precision (float16).
    """
    apply = optimizers.lbfgs_update if optim.optimizer == "lbfgs" else optimizers.adam_update

    def update(image, state):
        terms, grad = objective.value_and_gradient(image, loss_scale)  # {name: [N]}, [N, H, W, 3]
        new_image, new_state = apply(image, terms["total"], grad, state, optim)
        return new_image, new_state, terms

    return update


def initial_image(
    content: tf.Tensor,
    style: tf.Tensor | Sequence[tf.Tensor],
    init: str,
    seed: int,
    style_blend_weights: Sequence[float] | None = None,
) -> tf.Tensor:
    """The starting image, float32 [N, H, W, 3] in [0, 1], the content's size (and batch).

    style: one style image or several (blended by style_blend_weights, equal by default).
    content: the content image; recolored: the content with the styles' colour mean and
    covariance (colors.match_colors, the styles' pixels pooled by blend weight); style: the first
    style resized (bicubic, antialiased) to the content's size; noise: uniform in [0, 1] from a
    stateless seeded generator (the paper's white noise), the same for every image of a batch, so
    each starts as it would alone.
    """
    content = tf.convert_to_tensor(content, tf.float32)
    styles = [style] if isinstance(style, (tf.Tensor, np.ndarray)) else list(style)
    if init == "content":
        return content
    if init == "recolored":
        mean, covariance = colors.mixture_statistics(styles, style_blend_weights)
        return colors.match_colors(content, mean, covariance)
    if init == "style":
        size = tf.shape(content)[1:3]
        resized = tf.image.resize(styles[0], size, method="bicubic", antialias=True)
        return tf.broadcast_to(tf.clip_by_value(resized, 0.0, 1.0), tf.shape(content))
    if init == "noise":
        noise = tf.random.stateless_uniform(tf.shape(content)[1:], seed=[seed, 0], dtype=tf.float32)
        return tf.broadcast_to(noise[None], tf.shape(content))
    raise ValueError(f"unknown init {init!r}")


# jit_compile="auto": one untimed step each way (tracing; XLA compiling), then this many timed
# steps each way, alternating; every one of them is a real step of the run.
JIT_PROBE_STEPS = 2
# ... and only where the final scale has at least this many pixels per image (e.g. 512 x 256).
# Below it the XLA compile (3-5 s at 256 px) costs more than XLA can save: measured per step, XLA
# is 1.07-1.08x faster at 256 px on an AVX2 Zen 3 and 0.72-0.85x (slower) on AVX-512 Zen 4/5.
JIT_PROBE_MIN_PIXELS = 2**17


class Stylizer:
    """Optimises a tf.Variable image with a compiled GradientTape step; the loop is plain Python.

    >>> stylizer = Stylizer(objective, initial_image(content, style, "content", 0), config.optim)
    >>> result = stylizer.run(300, callback)   # float32 numpy [N, H, W, 3] in [0, 1]

    jit: True / False force XLA on or off; None ("auto") runs the first steps alternately with and
    without XLA (the same update on the same variables) and keeps the faster for the rest:
    `self.jit` is then the choice and `self.probe_seconds` the timings. loss_scale: as make_update.
    """

    def __init__(
        self,
        objective: Objective | tiles.TiledObjective,
        image: tf.Tensor,
        optim: OptimizerConfig,
        jit: bool | None = False,
        loss_scale: float = 1.0,
    ):
        self.image = tf.Variable(image, name="image")
        initial = optimizers.init_state(tf.convert_to_tensor(image, tf.float32), optim)
        self._state = type(initial)(*(tf.Variable(t, trainable=False) for t in initial))
        self._update = make_update(objective, optim, loss_scale)
        self.steps_done = 0
        self.jit = jit  # None until the probe has chosen
        self.probe_seconds: dict[bool, list[float]] = {False: [], True: []}
        # The compiled optimisation step, with and/or without XLA; returns the loss terms at the
        # image before the step.
        self._compiled = {
            flag: tf.function(self._step, jit_compile=flag) for flag in ((False, True) if jit is None else (jit,))
        }

    def _step(self) -> dict[str, tf.Tensor]:
        image, state, terms = self._update(self.image, type(self._state)(*(v.read_value() for v in self._state)))
        self.image.assign(image)
        for variable, value in zip(self._state, state, strict=True):
            variable.assign(value)
        return terms

    def step(self) -> dict[str, float]:
        """One optimisation step; the loss terms (floats, the mean over a batch) at the image before it."""
        self.steps_done += 1
        probing = self.jit is None
        flag = self.steps_done % 2 == 0 if probing else self.jit  # probing: without XLA first, then alternating
        start = time.perf_counter()
        terms = {name: float(tf.reduce_mean(value)) for name, value in self._compiled[flag]().items()}
        if probing and self.steps_done > 2:  # the first step each way traces / compiles: not timed
            self.probe_seconds[flag].append(time.perf_counter() - start)
            if len(self.probe_seconds[True]) == JIT_PROBE_STEPS:
                self.jit = min(self.probe_seconds[True]) < min(self.probe_seconds[False])
        return terms

    def run(self, steps: int, callback: Callback | None = None, step_offset: int = 0) -> np.ndarray:
        """Run `steps` steps; after each, call `callback` (steps numbered from step_offset + 1).

        Returns the image as numpy. Raises NonFiniteLossError if the loss becomes NaN or infinite.
        """
        for done in range(steps):
            before = self.answer()  # the image the step starts from (kept in case its loss is not finite)
            terms = self.step()
            if not math.isfinite(terms["total"]):
                raise NonFiniteLossError(
                    f"the loss became {terms['total']} at step {step_offset + self.steps_done} "
                    f"(content {terms['content']}, style {terms['style']}, tv {terms['tv']}); "
                    f"check the weights file, or lower {named('learning_rate')} and the loss weights",
                    last_image=before,
                    steps_done=done,
                )
            if callback is not None:
                callback(step_offset + self.steps_done, terms, self.answer())
        return self.result()

    def answer(self) -> tf.Tensor:
        """The optimiser's answer so far (optimizers.result: for L-BFGS its last accepted image, not
        the untried trial the image variable holds), float32 [N, H, W, 3] in [0, 1]. Reads only the
        variables the answer needs (not L-BFGS's memory), since callbacks get it every step."""
        return optimizers.result(self.image, self._state)

    def result(self) -> np.ndarray:
        """answer() as numpy."""
        return self.answer().numpy()


def stylize_in_graph(
    objective: Objective, image: tf.Tensor, steps, optim: OptimizerConfig, loss_scale: float = 1.0
) -> tf.Tensor:
    """The same update as Stylizer.step, `steps` times in a tf.while_loop; stateless.

    No variables are read or written: the image and the optimiser's state are loop-carried tensors, so
    concurrent calls of a traced function cannot disturb each other. Call inside a tf.function.
    Returns float32 [N, H, W, 3] in [0, 1]: the optimiser's answer (optimizers.result).
    """
    update = make_update(objective, optim, loss_scale)

    def body(i, image, state):
        image, state, _ = update(image, state)
        return i + 1, image, state

    image = tf.convert_to_tensor(image, tf.float32)
    _, image, state = tf.while_loop(
        lambda i, *_: i < steps, body, (tf.constant(0), image, optimizers.init_state(image, optim))
    )
    return optimizers.result(image, state)
