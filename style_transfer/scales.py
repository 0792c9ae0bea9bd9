"""One scale of a run: its objective, the optimiser's steps from a start image, and what can go
wrong on the way. multiscale.py calls it once per scale, coarse to fine.

Contract: images float32 RGB [N, H, W, 3] in [0, 1] at the scale's size (styles as the losses
see them, masks [1, H, W, 1] at the scale's size); the result is the optimiser's answer, numpy
float32 [N, H, W, 3].

`ScaleRunner` owns the three policies that span a run:
- XLA: with jit_compile "auto", the final scale, where it is long and large enough to repay a
  compile, runs as this kind of machine settles it (devices.auto_jit: XLA on GPUs and TPUs, not on
  AVX-512 CPUs) or, where that differs (AVX2 CPUs), as its first steps timed both ways say
  (step.ImageOptimizer's probe); every other scale runs without XLA;
- float16 overflowing: a reduced precision whose loss turns non-finite goes on in float32 from the
  last finite image, for the rest of that scale and every later one (one warning);
- the device's memory: running out is one OutOfMemoryError naming the size (`memory_guard`).
`make_objective` is each scale's objective: tile by tile (tiles.py) where the image exceeds a tile.

`Reuse`, given to a runner, keeps what a later call with the same paintings and config can use
again (video.py: a clip's frames): each size's style targets. (The compiled steps need no Reuse:
any later call whose objective has the same structure runs the step traced once, compiled.py.)
"""

from __future__ import annotations

import contextlib
import dataclasses
import warnings
from collections.abc import Iterator, Sequence

import numpy as np
import tensorflow as tf

from style_transfer import devices, step, targets, tiles, vgg
from style_transfer.config import Config
from style_transfer.errors import NonFiniteLossError, OutOfMemoryError, PrecisionFallbackWarning, named
from style_transfer.geometry import Geometry, Scale
from style_transfer.losses import StyleTargets
from style_transfer.objective import Objective, Temporal, ValueAndGradient, WithTemporal

# jit_compile="auto" probes only where the final scale has at least this many pixels per image
# (e.g. 512 x 256). Below it the XLA compile (3-5 s at 256 px) costs more than XLA can save:
# measured per step, XLA is 1.07-1.08x faster at 256 px on an AVX2 Zen 3 and 0.72-0.85x (slower)
# on AVX-512 Zen 4/5.
JIT_PROBE_MIN_PIXELS = 2**17


@dataclasses.dataclass
class Reuse:
    """What calls with the same paintings, blend and config keep for each other (see the module
    docstring): {size: the paintings' style targets}."""

    style: dict[tuple[int, int], StyleTargets] = dataclasses.field(default_factory=dict)


def make_objective(
    extractor: vgg.FeatureExtractor,
    content: tf.Tensor,
    styles: Sequence[tf.Tensor],
    config: Config,
    blend: Sequence[float] | None = None,
    style_masks: Sequence[tf.Tensor | None] | None = None,
    content_mask: tf.Tensor | None = None,
    temporal: Temporal | None = None,
    reuse: Reuse | None = None,
) -> ValueAndGradient:
    """The objective of one scale: tile by tile (tiles.py) where the image is larger than a tile;
    with a video frame's temporal term if given (at this scale's size). reuse: the style targets
    of an earlier call at this size are used again (untiled)."""
    inner = _make_objective(extractor, content, styles, config, blend, style_masks, content_mask, reuse)
    return inner if temporal is None else WithTemporal(inner, temporal)


def _make_objective(
    extractor: vgg.FeatureExtractor,
    content: tf.Tensor,
    styles: Sequence[tf.Tensor],
    config: Config,
    blend: Sequence[float] | None,
    style_masks: Sequence[tf.Tensor | None] | None,
    content_mask: tf.Tensor | None,
    reuse: Reuse | None,
) -> ValueAndGradient:
    geometry = Geometry.of(config)
    if geometry.tiled(*content.shape[1:3]):
        return tiles.TiledObjective(
            extractor,
            content,
            styles,
            config.loss,
            geometry.tile_size,
            geometry.tile_overlap,
            blend,
            style_masks,
            content_mask,
        )
    size = (int(content.shape[1]), int(content.shape[2]))
    # The paintings are the same each call unless recoloured to each photo (preserve_colors "histogram").
    if reuse is None or config.style.preserve_colors == "histogram":
        style = targets.build_style_targets(extractor, styles, config.loss, blend)
    else:
        if size not in reuse.style:
            reuse.style[size] = targets.build_style_targets(extractor, styles, config.loss, blend)
        style = reuse.style[size]
    return Objective.of_photos(extractor, content, style, config.loss, style_masks, content_mask)


class ScaleRunner:
    """Runs a run's scales one after another with one network (see the module docstring).

    `extractor` and `config` may change during the run (the float32 fallback); `steps_done`
    counts the steps of the scales run so far, so callbacks number steps across the scales.
    """

    def __init__(self, extractor: vgg.FeatureExtractor, config: Config, reuse: Reuse | None = None):
        self.extractor, self.config, self.reuse = extractor, config, reuse
        self.precision = devices.resolved_precision(config.runtime.precision)
        self.steps_done = 0

    def jit(self, scale: Scale, final: bool) -> bool | None:
        """XLA for this scale: True, False, or None (probe: step.ImageOptimizer's "auto"). With
        "auto", only the final scale, where long and large enough to repay a compile, and there as
        devices.resolved_jit says (on this machine's kind: XLA, no XLA, or the probe). With a Reuse
        the steps do not count: the calls repay the compile together, and a clip whose frames take
        different step counts (video.py, departure 8) keeps one compiled step."""
        mode = self.config.runtime.jit_compile
        worth_it = (
            final
            and (self.reuse is not None or scale.steps >= 4 * (1 + step.JIT_PROBE_STEPS))
            and scale.size[0] * scale.size[1] >= JIT_PROBE_MIN_PIXELS
        )
        if mode != "auto":
            return mode == "true"
        return devices.resolved_jit(mode) if worth_it else False

    def run(
        self,
        scale: Scale,
        content: tf.Tensor,
        styles: Sequence[tf.Tensor],
        start: tf.Tensor,
        *,
        final: bool,
        blend: Sequence[float] | None = None,
        style_masks: Sequence[tf.Tensor | None] | None = None,
        content_mask: tf.Tensor | None = None,
        temporal: Temporal | None = None,
        callback: step.Callback | None = None,
    ) -> np.ndarray:
        """scale.steps steps of the optimiser from `start` against this scale's objective."""

        def objective() -> ValueAndGradient:
            return make_objective(
                self.extractor, content, styles, self.config, blend, style_masks, content_mask, temporal, self.reuse
            )

        jit, offset = self.jit(scale, final), self.steps_done
        loss_scale = devices.loss_scale(self.precision)
        try:
            optimizer = step.ImageOptimizer(objective(), start, self.config.optim, jit, loss_scale)
            image = optimizer.run(scale.steps, callback, step_offset=offset)
        except NonFiniteLossError as error:
            if self.precision == "float32":
                raise
            # A reduced precision overflowed (float16's range ends at 65504): go on in float32 from
            # the last finite image, for the rest of this scale and every later one.
            warnings.warn(
                f"the loss became non-finite in {self.precision} at step {offset + error.steps_done + 1}; "
                "going on in float32",
                PrecisionFallbackWarning,
                stacklevel=3,
            )
            self.config, self.precision = self.config.replace(precision="float32"), "float32"
            self.extractor = vgg.extractor_for(self.config)
            if self.reuse is not None:  # made with the reduced precision's features
                self.reuse.style.clear()
            loss_scale = devices.loss_scale(self.precision)
            optimizer = step.ImageOptimizer(objective(), error.last_image, self.config.optim, jit, loss_scale)
            image = optimizer.run(scale.steps - error.steps_done, callback, step_offset=offset + error.steps_done)
        self.steps_done += scale.steps
        return image

    @contextlib.contextmanager
    def memory_guard(self, size: tuple[int, int], styles: int) -> Iterator[None]:
        """Running out of the device's memory inside: one OutOfMemoryError naming the size and what to lower."""
        try:
            yield
        except tf.errors.ResourceExhaustedError:
            raise OutOfMemoryError(
                f"out of memory at {size[1]}x{size[0]} px ({styles} style image(s), "
                f"{self.precision} features): set {named('tile_size')} (e.g. 1024, or lower), "
                f"lower {named('max_size')} (or {named('style_scale')}), or close what else uses the device"
            ) from None
