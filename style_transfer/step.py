"""The step: image -> features -> loss -> gradient -> update -> image, compiled, and its two loops.

Contract: images are float32 RGB in [0, 1], NHWC, [N, H, W, 3]: one photo, or a batch of N photos
of one size optimised together, each exactly as it would be alone (the objective's terms are one
value per image, the tape differentiates their sum, and both optimisers act per image).

One pure update, `make_update(objective, optim, loss_scale)`: (image, state) -> (image, state, terms): the
objective's terms and their gradient (`value_and_gradient`: by one GradientTape in objective.py,
or tile by tile in tiles.py; float16: with loss scaling, see devices.py), then one Adam or L-BFGS
step (optimizers.py), where state is the optimiser's (Adam's
moments, or L-BFGS's memory) as a NamedTuple of tensors. It serves both
- `ImageOptimizer`: the image and the optimiser's state live in tf.Variables, a
  `tf.function`-compiled `step()` runs the update and assigns; a plain Python loop calls it and
  reports to a callback;
- `optimize_in_graph`: the same update inside a `tf.while_loop` with the image and the state as
  loop-carried tensors: stateless, for exported SavedModels and thread-safe serving.
Both run at one size and return the optimiser's answer (optimizers.result: L-BFGS's last accepted
image, the image otherwise); scales.py runs one scale, multiscale.py the scales coarse to fine.

The core never prints: progress goes to `callback(step, terms, image)`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from style_transfer import compiled, optimizers
from style_transfer.config import OptimizerConfig
from style_transfer.errors import NonFiniteLossError, named
from style_transfer.objective import ValueAndGradient

# callback(step, terms, image): step counts from 1; terms are floats {"total", "content", "style",
# "tv"} (weighted, total = sum of the others; the mean over a batch) at the image the step
# evaluated; image is the optimiser's answer after the step (ImageOptimizer.answer: float32 [N, H, W, 3]).
Callback = Callable[[int, dict, tf.Tensor], None]


def make_update(objective: ValueAndGradient, optim: OptimizerConfig, loss_scale: float = 1.0):
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


def _compiled_step(skeleton, optim: OptimizerConfig, loss_scale: float):
    """step(image, state, tensors) -> terms: one update of the tf.Variable `image` and the optimiser's
    `state` (a NamedTuple of tf.Variables) against the objective `skeleton` filled with `tensors`
    (compiled.split); the loss terms at the image before the step. ImageOptimizer compiles it."""

    def step(image: tf.Variable, state, tensors: list[tf.Tensor]) -> dict[str, tf.Tensor]:
        update = make_update(compiled.fill(skeleton, tensors), optim, loss_scale)
        new_image, new_state, terms = update(image, type(state)(*(v.read_value() for v in state)))
        image.assign(new_image)
        for variable, value in zip(state, new_state, strict=True):
            variable.assign(value)
        return terms

    return step


# jit_compile="auto": one untimed step each way (tracing; XLA compiling), then this many timed
# steps each way, alternating; every one of them is a real step of the run.
JIT_PROBE_STEPS = 2
# (When a run probes at all is the per-scale runner's choice: scales.JIT_PROBE_MIN_PIXELS.)


class ImageOptimizer:
    """Optimises a tf.Variable image with a compiled GradientTape step; the loop is plain Python.

    >>> optimizer = ImageOptimizer(objective, starts.initial_image(content, style, "content", 0), config.optim)
    >>> result = optimizer.run(300, callback)   # float32 numpy [N, H, W, 3] in [0, 1]

    jit: True / False force XLA on or off; None ("auto") runs the first steps alternately with and
    without XLA (the same update on the same variables) and keeps the faster for the rest:
    `self.jit` is then the choice and `self.probe_seconds` the timings. loss_scale: as make_update.

    The compiled step takes the image, the optimiser's state and the objective's tensors as
    arguments (compiled.py): a later optimizer of an objective with the same structure, settings
    and shapes (another photo, painting, start or step count; a video's next frame) runs the
    step traced once, and takes the XLA probe's choice made for that shape.
    """

    def __init__(
        self,
        objective: ValueAndGradient,
        image: tf.Tensor,
        optim: OptimizerConfig,
        jit: bool | None = False,
        loss_scale: float = 1.0,
    ):
        self.image = tf.Variable(image, name="image")
        initial = optimizers.init_state(tf.convert_to_tensor(image, tf.float32), optim)
        self._state = type(initial)(*(tf.Variable(t, trainable=False) for t in initial))
        parts = compiled.split(objective)
        self._tensors = parts.tensors
        self._steps = compiled.steps_for(
            parts, (optim, float(loss_scale)), lambda: _compiled_step(parts.skeleton, optim, loss_scale)
        )
        self.steps_done = 0
        # None until the probe has chosen (or a probe for this shape has, with this structure)
        self.jit = self._steps.jit_choice.get(tuple(self.image.shape)) if jit is None else jit
        self.probe_seconds: dict[bool, list[float]] = {False: [], True: []}

    def _compiled(self, jit: bool) -> dict[str, tf.Tensor]:
        """The compiled step, with or without XLA; the loss terms at the image before the step."""
        return self._steps.function(jit)(self.image, self._state, self._tensors)

    def step(self) -> dict[str, float]:
        """One optimisation step; the loss terms (floats, the mean over a batch) at the image before it."""
        self.steps_done += 1
        probing = self.jit is None
        flag = self.steps_done % 2 == 0 if self.jit is None else self.jit  # probing: without XLA, then alternating
        start = time.perf_counter()
        terms = {name: float(tf.reduce_mean(value)) for name, value in self._compiled(flag).items()}
        if probing and self.steps_done > 2:  # the first step each way traces / compiles: not timed
            self.probe_seconds[flag].append(time.perf_counter() - start)
            if len(self.probe_seconds[True]) == JIT_PROBE_STEPS:
                self.jit = min(self.probe_seconds[True]) < min(self.probe_seconds[False])
                self._steps.jit_choice[tuple(self.image.shape)] = self.jit
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


def optimize_in_graph(
    objective: ValueAndGradient, image: tf.Tensor, steps, optim: OptimizerConfig, loss_scale: float = 1.0
) -> tf.Tensor:
    """The same update as ImageOptimizer.step, `steps` times in a tf.while_loop; stateless.

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
