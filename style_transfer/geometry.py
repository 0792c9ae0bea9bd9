"""The geometry of a run: the size and steps of each scale, the style image's size, where tiles apply.

Each rule is written twice, side by side: in Python (ints and floats, for the eager loop, the CLI's
plan line and the ETA) and with TF ops (`*_tf`, for the in-graph loop of exported models, whose
image sizes are tensors). The two round alike (float64, half to even) and are tested equal
(tests/test_geometry.py).

- `plan(h, w)`: the scales used for an output of h x w, coarse to fine, each (factor, (h, w),
  steps); the factors are scale_ratio^-k, never so small that the shorter side falls below
  min_side (the deepest layer's need), and a coarser scale is used only where its longer side is
  at least min_scale_size. `plan_tf(hw)`: the same at a size known only as a tensor, with the
  number of scales fixed for a longer side of max_size (what exported signatures resize to).
- `style_size(style_hw, content_hw)`: the style image's longer side is style_scale times the
  content's (aspect kept), raised where its shorter side would fall below min_side.
- `tiled(h, w)`: whether a scale of that size runs tile by tile (tiles.py).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import tensorflow as tf

from style_transfer.config import Config, ScheduleConfig


class Scale(NamedTuple):
    """One scale of a run: its factor relative to the final size, its (height, width) and steps."""

    factor: float
    size: tuple[int, int]
    steps: int


def scaled_size(size: tuple[int, int], factor: float) -> tuple[int, int]:
    """(height, width) times factor, rounded half to even, at least 1 px."""
    return max(1, round(size[0] * factor)), max(1, round(size[1] * factor))


def scaled_size_tf(size: tf.Tensor, factor: tf.Tensor) -> tf.Tensor:
    """int32 [2] (height, width) times a float64 factor: scaled_size with TF ops."""
    return tf.maximum(1, tf.cast(tf.round(tf.cast(size, tf.float64) * factor), tf.int32))


def steps_per_scale(schedule: ScheduleConfig, count: int) -> list[int]:
    """`steps` split over `count` scales, coarse to fine: coarse_share of them evenly over the
    coarser scales, the rest (and any remainder) to the last."""
    if count == 1:
        return [schedule.steps]
    each = round(schedule.steps * schedule.coarse_share) // (count - 1)
    return [each] * (count - 1) + [schedule.steps - each * (count - 1)]


@dataclasses.dataclass(frozen=True)
class Geometry:
    """The sizes of a run, from the schedule, the style scale, the layers' minimum side and tiles."""

    schedule: ScheduleConfig
    style_scale: float = 1.0
    min_side: int = 16  # LossConfig.min_side(): the deepest layer's need
    tile_size: int = 0
    tile_overlap: int = 128

    @classmethod
    def of(cls, config: Config) -> Geometry:
        runtime = config.runtime
        return cls(
            config.schedule, config.style.style_scale, config.loss.min_side(), runtime.tile_size, runtime.tile_overlap
        )

    def scale_count(self, long_side: int) -> int:
        """How many of the `scales` sizes are used for an output whose longer side is `long_side`:
        the final one, and each coarser one whose longer side is at least min_scale_size."""
        schedule, count = self.schedule, 1
        while count < schedule.scales and long_side * schedule.scale_ratio ** (-count) >= schedule.min_scale_size:
            count += 1
        return count

    def scale_factors(self, height: int, width: int) -> list[float]:
        """Factor of each scale used relative to the final size, coarse to fine; the last is 1."""
        floor = self.min_side / min(height, width)
        count = self.scale_count(max(height, width))
        return [min(1.0, max(self.schedule.scale_ratio ** (-k), floor)) for k in range(count - 1, -1, -1)]

    def plan(self, height: int, width: int) -> list[Scale]:
        """The scales of a run whose output is height x width, coarse to fine."""
        factors = self.scale_factors(height, width)
        steps = steps_per_scale(self.schedule, len(factors))
        return [Scale(f, scaled_size((height, width), f), n) for f, n in zip(factors, steps, strict=True)]

    def plan_tf(self, hw: tf.Tensor) -> list[tuple[tf.Tensor, int]]:
        """plan() with TF ops for an output of int32 [2] size hw: ((h, w) int32 [2], steps) per
        scale. The number of scales is fixed when the graph is built, for a longer side of
        max_size; the factors follow the actual size."""
        schedule = self.schedule
        floor = tf.constant(self.min_side, tf.float64) / tf.cast(tf.reduce_min(hw), tf.float64)
        count = self.scale_count(schedule.max_size)
        plan = []
        for k, steps in zip(range(count - 1, -1, -1), steps_per_scale(schedule, count), strict=True):
            ratio = tf.constant(schedule.scale_ratio ** (-k), tf.float64)
            factor = tf.minimum(tf.constant(1.0, tf.float64), tf.maximum(ratio, floor))
            plan.append((scaled_size_tf(hw, factor), steps))
        return plan

    def style_size(self, style_hw: tuple[int, int], content_hw: tuple[int, int]) -> tuple[int, int]:
        """(height, width) of a style image of size style_hw when the content (at the current
        scale) is content_hw: longer side style_scale times the content's, aspect kept, raised if
        the style's shorter side would fall below min_side (a long, thin painting)."""
        factor = self.style_scale * max(content_hw) / max(style_hw)
        factor = max(factor, self.min_side / min(style_hw))
        return max(1, round(style_hw[0] * factor)), max(1, round(style_hw[1] * factor))

    def style_size_tf(self, style_hw: tf.Tensor, content_hw: tf.Tensor) -> tf.Tensor:
        """int32 [2]: style_size with TF ops (the same float64 arithmetic, half-to-even rounding)."""
        style = tf.cast(style_hw, tf.float64)
        factor = self.style_scale * tf.cast(tf.reduce_max(content_hw), tf.float64) / tf.reduce_max(style)
        factor = tf.maximum(factor, self.min_side / tf.reduce_min(style))
        return tf.maximum(1, tf.cast(tf.round(style * factor), tf.int32))

    def tiled(self, height: int, width: int) -> bool:
        """Whether a scale of this size runs tile by tile (tiles.py): its longer side exceeds tile_size."""
        return bool(self.tile_size) and max(height, width) > self.tile_size
