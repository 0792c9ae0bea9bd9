"""The optimisation: image -> features -> losses -> gradient -> Adam or L-BFGS -> image.

Contract: images are float32 RGB in [0, 1], NHWC, [1, H, W, 3] (a batch of N works the same way).

One pure update, `make_update(objective, config)`: (image, state) -> (image, state, terms), where
state is the optimiser's (Adam's moments, or L-BFGS's memory) as a NamedTuple of tensors.
It serves both
- `Stylizer`: the image and the optimiser's state live in tf.Variables, a `tf.function`-compiled
  `step()` runs the update and assigns; a plain Python loop calls it and reports to a callback;
- `stylize_in_graph`: the same update inside a `tf.while_loop` with the image and the state as
  loop-carried tensors: stateless, for exported SavedModels and thread-safe serving.
`stylize` and `stylize_graph` run either one coarse to fine over `config.scales` sizes.

The core never prints: progress goes to `callback(step, terms, image)`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from style_transfer import losses, vgg
from style_transfer.config import Config
from style_transfer.errors import ConfigError, NonFiniteLossError

# callback(step, terms, image): step counts from 1; terms are floats {"total", "content", "style",
# "tv"} (weighted, total = sum of the others); image is the live tf.Variable [1, H, W, 3] (copy it
# with np.array(image) to keep it).
Callback = Callable[[int, dict, tf.Variable], None]


class Objective:
    """Weighted content + style + TV loss for one content image and a list of style targets.

    `objective(image)` -> {"total", "content", "style", "tv"}: float32 scalars, weighted.
    Target features are computed once here, at construction (in eager mode or inside a graph).
    """

    def __init__(
        self,
        extractor: vgg.FeatureExtractor,
        content: tf.Tensor,
        styles: Sequence[tf.Tensor],
        config: Config,
        style_blend_weights: Sequence[float] | None = None,
    ):
        self.extractor = extractor
        self.config = config
        self.layer_weights = config.layer_weights()
        blend = style_blend_weights or [1.0] * len(styles)
        if len(blend) != len(styles):
            raise ValueError(f"{len(blend)} blend weights for {len(styles)} styles")
        content_features = extractor(content)
        self.content_targets = {name: content_features[name] for name in config.content_layers}
        self.style_targets = []
        for style, weight in zip(styles, blend, strict=True):
            features = extractor(style)
            self.style_targets.append(
                losses.StyleTarget.from_features({n: features[n] for n in config.style_layers}, weight)
            )

    def __call__(self, image: tf.Tensor) -> dict[str, tf.Tensor]:
        cfg = self.config
        features = self.extractor(image)
        zero = tf.constant(0.0)
        content = losses.content_loss(features, self.content_targets) if cfg.content_weight else zero
        style = losses.style_loss(features, self.style_targets, self.layer_weights) if cfg.style_weight else zero
        tv = losses.tv_loss(image) if cfg.tv_weight else zero
        terms = {
            "content": cfg.content_weight * content,
            "style": cfg.style_weight * style,
            "tv": cfg.tv_weight * tv,
        }
        return {"total": terms["content"] + terms["style"] + terms["tv"], **terms}


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


# float16 gradients inside VGG are tiny and partly flush to zero: the loss is multiplied by this
# before differentiation and the gradient divided by it after (static loss scaling). Measured at
# 512 px with ImageNet VGG16: gradient cosine to float32 0.949 unscaled, 0.999 with 2^12. The
# normalised losses are O(1), so a fixed scale suffices; a non-finite result stops the run.
FLOAT16_LOSS_SCALE = 2.0**12


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


def make_update(objective: Objective, config: Config):
    """(image, state) -> (new image, new state, terms); pure, no variables of its own.

    state: the optimiser's (init_state). `image` may be a tf.Variable or a tensor; the tape
    watches it either way.
    """
    loss_scale = FLOAT16_LOSS_SCALE if resolved_precision(config) == "float16" else 1.0
    apply = lbfgs_update if config.optimizer == "lbfgs" else adam_update

    def update(image, state):
        with tf.GradientTape() as tape:
            tape.watch(image)
            terms = objective(image)
            scaled = terms["total"] * loss_scale
        grad = tape.gradient(scaled, image) / loss_scale
        new_image, new_state = apply(image, grad, state, config)
        return new_image, new_state, terms

    return update


def initial_image(content: tf.Tensor, style: tf.Tensor, init: str, seed: int) -> tf.Tensor:
    """The starting image, float32 [1, H, W, 3] in [0, 1], the content's size.

    content: the content image; style: resized (bicubic, antialiased) to the content's size;
    noise: uniform in [0, 1] from a stateless seeded generator (the paper's white noise).
    """
    content = tf.convert_to_tensor(content, tf.float32)
    if init == "content":
        return content
    if init == "style":
        size = tf.shape(content)[1:3]
        resized = tf.image.resize(style, size, method="bicubic", antialias=True)
        return tf.clip_by_value(resized, 0.0, 1.0)
    if init == "noise":
        return tf.random.stateless_uniform(tf.shape(content), seed=[seed, 0], dtype=tf.float32)
    raise ValueError(f"unknown init {init!r}")


class Stylizer:
    """Optimises a tf.Variable image with a compiled GradientTape step; the loop is plain Python.

    >>> stylizer = Stylizer(objective, initial_image(content, style, "content", 0), config)
    >>> result = stylizer.run(300, callback)   # float32 numpy [1, H, W, 3] in [0, 1]
    """

    def __init__(self, objective: Objective, image: tf.Tensor, config: Config):
        self.image = tf.Variable(image, name="image")
        initial = init_state(tf.convert_to_tensor(image, tf.float32), config)
        self._state = type(initial)(*(tf.Variable(t, trainable=False) for t in initial))
        self._update = make_update(objective, config)
        self.steps_done = 0
        # One compiled optimisation step; returns the loss terms at the image before the step.
        self.step = tf.function(self._step, jit_compile=config.jit_compile)

    def _step(self) -> dict[str, tf.Tensor]:
        image, state, terms = self._update(self.image, type(self._state)(*(v.read_value() for v in self._state)))
        self.image.assign(image)
        for variable, value in zip(self._state, state, strict=True):
            variable.assign(value)
        return terms

    def run(self, steps: int, callback: Callback | None = None, step_offset: int = 0) -> np.ndarray:
        """Run `steps` steps; after each, call `callback` (steps numbered from step_offset + 1).

        Returns the image as numpy. Raises NonFiniteLossError if the loss becomes NaN or infinite.
        """
        for _ in range(steps):
            terms = {name: float(value) for name, value in self.step().items()}
            self.steps_done += 1
            if not math.isfinite(terms["total"]):
                raise NonFiniteLossError(
                    f"the loss became {terms['total']} at step {step_offset + self.steps_done} "
                    f"(content {terms['content']}, style {terms['style']}, tv {terms['tv']}); "
                    "check the weights file, or lower --learning_rate and the loss weights"
                )
            if callback is not None:
                callback(step_offset + self.steps_done, terms, self.image)
        return self.image.numpy()


def stylize_in_graph(objective: Objective, image: tf.Tensor, steps, config: Config) -> tf.Tensor:
    """The same update as Stylizer.step, `steps` times in a tf.while_loop; stateless.

    No variables are read or written: the image and Adam's state are loop-carried tensors, so
    concurrent calls of a traced function cannot disturb each other. Call inside a tf.function.
    Returns float32 [1, H, W, 3] in [0, 1].
    """
    update = make_update(objective, config)

    def body(i, image, state):
        image, state, _ = update(image, state)
        return i + 1, image, state

    image = tf.convert_to_tensor(image, tf.float32)
    _, image, _ = tf.while_loop(lambda i, *_: i < steps, body, (tf.constant(0), image, init_state(image, config)))
    return image


def auto_precision(cpu_flags: set[str] | None = None, gpu_capabilities: list | None = None) -> str:
    """The precision "auto" stands for on this machine (arguments: for tests).

    bfloat16 where the hardware computes it natively: TPUs, NVIDIA GPUs of compute capability 8.0+
    (Ampere on), CPUs with AVX512_BF16 or AMX (measured here: 1.75x faster per step than float32,
    gradient cosine 0.99). float16 on NVIDIA Volta/Turing (7.x: tensor cores, no bfloat16).
    float32 elsewhere: emulated bfloat16 or float16 is slower than float32 (float16 measured 7x
    slower on a CPU).
    """
    if cpu_flags is None and gpu_capabilities is None:
        if tf.config.list_logical_devices("TPU"):
            return "bfloat16"
        gpu_capabilities = [
            tf.config.experimental.get_device_details(gpu).get("compute_capability", (0, 0))
            for gpu in tf.config.list_physical_devices("GPU")
        ]
        cpu_flags = _cpu_flags()
    if gpu_capabilities:
        capability = min(tuple(c) for c in gpu_capabilities)
        return "bfloat16" if capability >= (8, 0) else "float16" if capability >= (7, 0) else "float32"
    return "bfloat16" if cpu_flags & {"avx512_bf16", "amx_bf16"} else "float32"


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


@functools.cache
def _machine_precision() -> str:
    return auto_precision()  # devices and CPU flags do not change within a process


def resolved_precision(config: Config) -> str:
    return _machine_precision() if config.precision == "auto" else config.precision


def build_extractor(config: Config) -> vgg.FeatureExtractor:
    """The extractor for `config`'s network, weights, precision and content + style layers."""
    if config.weights == "none":
        keras.utils.set_random_seed(config.seed)  # random init is seeded, for reproducible tests
    layers = config.content_layers + config.style_layers
    return vgg.build_extractor(config.network, config.weights, layers, resolved_precision(config))


def resize(image: tf.Tensor, size) -> tf.Tensor:
    """float32 [N, H, W, 3] in [0, 1] -> [N, h, w, 3]: Lanczos, antialiased, clipped; in-graph too.

    An image already of that size is returned untouched (Lanczos is not an exact identity).
    """
    image = tf.convert_to_tensor(image, tf.float32)
    size = tf.convert_to_tensor(size, tf.int32)

    def resampled():
        return tf.clip_by_value(tf.image.resize(image, size, method="lanczos3", antialias=True), 0.0, 1.0)

    return tf.cond(tf.reduce_all(tf.shape(image)[1:3] == size), lambda: image, resampled)


def stylize(
    content: np.ndarray,
    style: np.ndarray | Sequence[np.ndarray],
    config: Config | None = None,
    *,
    style_blend_weights: Sequence[float] | None = None,
    extractor: vgg.FeatureExtractor | None = None,
    callback: Callback | None = None,
) -> np.ndarray:
    """Stylise `content` with one style image (or several, blended). Returns float32 [1, H, W, 3].

    content, style: float32 RGB [1, H, W, 3] in [0, 1] (images.load_image gives these); the output
    has the content's size. Pass `extractor` to reuse a network across calls. With config.scales > 1
    it runs coarse to fine: at each size the content is downscaled, the style images are scaled by
    the same factor, and the previous result, upsampled, is the starting image; `callback` numbers
    steps 1 ... config.steps across all scales, and its image has the current scale's size.
    """
    config = (config or Config()).validate()
    styles = [style] if isinstance(style, np.ndarray) and style.ndim == 4 else list(style)
    height, width = content.shape[1:3]
    if min(height, width) < config.min_side():
        raise ConfigError(
            f"the content image is {width}x{height} px; the deepest layer requested needs at least "
            f"{config.min_side()} px on each side: raise max_size or use shallower layers"
        )
    extractor = extractor or build_extractor(config)
    content_t = tf.convert_to_tensor(content, tf.float32)
    styles_t = [tf.convert_to_tensor(s, tf.float32) for s in styles]
    image, done = None, 0
    for factor, steps in zip(config.scale_factors(height, width), config.steps_per_scale(), strict=True):
        content_k = resize(content_t, _scaled((height, width), factor))
        styles_k = [resize(s, _scaled(s.shape[1:3], config.style_factor(factor, *s.shape[1:3]))) for s in styles_t]
        objective = Objective(extractor, content_k, styles_k, config, style_blend_weights)
        if image is None:
            start = initial_image(content_k, styles_k[0], config.init, config.seed)
        else:
            start = resize(image, content_k.shape[1:3])
        image = Stylizer(objective, start, config).run(steps, callback, step_offset=done)
        done += steps
    return image


def _scaled(size, factor: float) -> tuple[int, int]:
    """(height, width) times factor, rounded half to even (as tf.round in stylize_graph)."""
    return max(1, round(size[0] * factor)), max(1, round(size[1] * factor))


def stylize_graph(
    extractor: vgg.FeatureExtractor,
    content: tf.Tensor,
    styles: Sequence[tf.Tensor],
    config: Config,
    style_blend_weights: Sequence[float] | None = None,
) -> tf.Tensor:
    """In-graph twin of stylize(): the same scales, sizes and update; stateless, no callback.

    content, styles: float32 RGB [1, H, W, 3] in [0, 1], sizes may be dynamic. Call inside a
    tf.function (SavedModel signatures do). Returns float32 [1, H, W, 3].
    """
    hw = tf.shape(content)[1:3]
    min_side = tf.constant(config.min_side(), tf.float64)
    tf.debugging.assert_greater_equal(
        tf.reduce_min(hw), config.min_side(), message=f"images need at least {config.min_side()} px on each side"
    )

    def floor(size):  # as Config.scale_factors / style_factor
        return min_side / tf.cast(tf.reduce_min(size), tf.float64)

    image = None
    for k, steps in zip(range(config.scales - 1, -1, -1), config.steps_per_scale(), strict=True):
        factor = tf.minimum(
            tf.constant(1.0, tf.float64), tf.maximum(tf.constant(2.0 ** (-k / 2), tf.float64), floor(hw))
        )
        content_k = resize(content, scaled_size_tf(hw, factor))
        styles_k = [
            resize(s, scaled_size_tf(tf.shape(s)[1:3], tf.maximum(factor, floor(tf.shape(s)[1:3])))) for s in styles
        ]
        objective = Objective(extractor, content_k, styles_k, config, style_blend_weights)
        if image is None:
            start = initial_image(content_k, styles_k[0], config.init, config.seed)
        else:
            start = resize(image, tf.shape(content_k)[1:3])
        image = stylize_in_graph(objective, start, steps, config)
    return image


def scaled_size_tf(size: tf.Tensor, factor: tf.Tensor) -> tf.Tensor:
    """int32 [2] (height, width) times a float64 factor, rounded half to even (as _scaled)."""
    return tf.maximum(1, tf.cast(tf.round(tf.cast(size, tf.float64) * factor), tf.int32))
