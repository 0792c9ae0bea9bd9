"""Compiled steps kept for reuse: one trace for every objective of the same structure.

A compiled step that captures its objective's tensors as constants must be traced and optimised
anew for each objective: ~0.3 s of tracing and ~0.3 s of TensorFlow's graph optimisation a call,
whatever the image size, against ~0.03-0.1 s a step at small sizes. Stylisations that differ only
in their photos, paintings, masks' values, start, step count or recolouring (a video's frames, a
notebook's rows, a second run in the same session) have objectives of the same *structure*: the
same kinds of term, containers and settings, only other tensors.

`split(objective)` separates the two: the skeleton (the objective with each tensor replaced by a
numbered slot) and the tensors; `fill(skeleton, tensors)` puts tensors back. step.ImageOptimizer
traces its step on the skeleton with the tensors as arguments, so tf.function's own cache serves
any objective of that structure and those tensor shapes; `Steps` is one structure's compiled
functions (with and without XLA) and what the XLA probe chose per image shape, kept with the
feature extractor the objective runs (`steps_for`): they live as long as it does, the most
recently used MAX_KEPT of them.

An objective here is a tree: dataclasses (objective.Objective, WithTemporal, Temporal,
losses.ContentTargets, StyleTargets, config.LossConfig), tuples (NamedTuples too), mappings; its
leaves are tensors and numpy arrays (the arguments) or settings: None, bools, numbers, strings, the
feature extractor and a style statistic (statistics.STYLE_STATISTICS). An objective with any other
leaf (tiles.TiledObjective, a test's stand-in) is not shared: it gets a step of its own, its
tensors captured as before.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np
import tensorflow as tf

from style_transfer import statistics, vgg

# Structures kept per feature extractor, the most recently used first out last; each holds a few
# traced graphs (~1 MB), none of the images' memory (the image and optimiser state are arguments).
MAX_KEPT = 16

_SETTINGS = (type(None), bool, int, float, str, np.generic)


class Slot:
    """Where the skeleton had a tensor: the index of its argument (a leaf: not a container)."""

    __slots__ = ("index",)

    def __init__(self, index: int):
        self.index = index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Slot) and other.index == self.index

    def __hash__(self) -> int:
        return hash((Slot, self.index))

    def __repr__(self) -> str:
        return f"Slot({self.index})"


class Split(NamedTuple):
    """An objective split: `skeleton` (tensors replaced by Slots), `tensors` (float32 or as given,
    in slot order), `key` (hashable, equal for equal structures; None: not shared) and the
    feature extractor it runs (None if not shared)."""

    skeleton: Any
    tensors: list[tf.Tensor]
    key: Any
    extractor: vgg.FeatureExtractor | None


def _is_tensor(leaf: Any) -> bool:
    return isinstance(leaf, tf.Tensor | tf.Variable | np.ndarray)


def _rebuild(tree: Any, leaf: Callable[[Any], Any]) -> Any:
    """`tree` with every leaf replaced by leaf(it); containers rebuilt (mappings as dicts)."""
    if dataclasses.is_dataclass(tree) and not isinstance(tree, type):
        fields = {f.name: _rebuild(getattr(tree, f.name), leaf) for f in dataclasses.fields(tree) if f.init}
        return dataclasses.replace(tree, **fields)
    if isinstance(tree, tuple):
        items = [_rebuild(item, leaf) for item in tree]
        return type(tree)(*items) if hasattr(tree, "_fields") else tuple(items)
    if isinstance(tree, Mapping):
        return {key: _rebuild(value, leaf) for key, value in tree.items()}
    return leaf(tree)


def _key(tree: Any, extractors: list) -> Any:
    """A hashable description of `tree`'s structure (Slots for tensors, settings by value); the
    feature extractors met are appended to `extractors`. Raises TypeError at a leaf that is neither."""
    if isinstance(tree, Slot):
        return tree
    if dataclasses.is_dataclass(tree) and not isinstance(tree, type):
        return (type(tree), tuple(_key(getattr(tree, f.name), extractors) for f in dataclasses.fields(tree) if f.init))
    if isinstance(tree, tuple):
        return (type(tree), tuple(_key(item, extractors) for item in tree))
    if isinstance(tree, Mapping):
        return (Mapping, tuple((key, _key(value, extractors)) for key, value in tree.items()))
    if isinstance(tree, _SETTINGS):
        return (type(tree), tree)  # the type too: 1, 1.0 and True are equal in Python
    if isinstance(tree, vgg.FeatureExtractor):
        extractors.append(tree)
        return tree  # by identity: its weights are the graph's
    if any(tree is known for known in statistics.STYLE_STATISTICS.values()):
        return tree
    raise TypeError(f"not a setting: {type(tree).__name__}")


def split(objective: Any) -> Split:
    """`objective` as a skeleton and its tensors (see the module docstring)."""
    tensors: list[tf.Tensor] = []

    def slot(leaf):
        if not _is_tensor(leaf):
            return leaf
        tensors.append(leaf if isinstance(leaf, tf.Tensor | tf.Variable) else tf.convert_to_tensor(leaf))
        return Slot(len(tensors) - 1)

    skeleton = _rebuild(objective, slot)
    extractors: list = []
    try:
        key = _key(skeleton, extractors)
    except TypeError:
        return Split(objective, [], None, None)  # not shared: its tensors stay where they are
    if len({id(e) for e in extractors}) != 1:
        return Split(objective, [], None, None)
    return Split(skeleton, tensors, key, extractors[0])


def fill(skeleton: Any, tensors: list[tf.Tensor]) -> Any:
    """The objective `skeleton` was split from, with `tensors` in its slots."""
    return _rebuild(skeleton, lambda leaf: tensors[leaf.index] if isinstance(leaf, Slot) else leaf)


class Steps:
    """One structure's compiled steps: `function(jit)` is tf.function(step, jit_compile=jit), made
    on first use; `jit_choice` {image shape: bool} what step.ImageOptimizer's XLA probe chose."""

    def __init__(self, step: Callable[..., Any]):
        self._step = step
        self._functions: dict[bool, Any] = {}
        self.jit_choice: dict[tuple[int, ...], bool] = {}

    def function(self, jit: bool):
        if jit not in self._functions:
            # No autograph: no Python control flow in the step depends on a tensor, and converting
            # the code cost ~1.4 s of a run's first step (a tiny run: 3.1 s -> 1.7 s).
            self._functions[jit] = tf.function(self._step, jit_compile=jit, autograph=False)
        return self._functions[jit]


def steps_for(parts: Split, settings: tuple, make: Callable[[], Callable[..., Any]]) -> Steps:
    """The Steps kept for `parts`' structure and `settings` (hashable: what else the step is traced
    with) on its extractor, made by Steps(make()) if none is; for an objective not shared, a new one."""
    if parts.key is None or parts.extractor is None:
        return Steps(make())
    kept: dict = parts.extractor.compiled_steps
    key = (parts.key, settings)
    steps = kept.pop(key, None) or Steps(make())
    kept[key] = steps  # the most recently used last
    while len(kept) > MAX_KEPT:
        kept.pop(next(iter(kept)))
    return steps
