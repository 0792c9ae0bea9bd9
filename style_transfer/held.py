"""Objectives held in variables: one compiled step for a run of calls that differ only in their targets.

A compiled step (step.ImageOptimizer) captures its objective's tensors as constants, so each new
objective (a video's next frame: its photo's content targets, its warped previous result) means a
new trace and graph optimisation: ~0.4 s a call at 320x180 on 2 cores against ~0.12 s a step.
`Held(objective)` keeps the objective's tensors in tf.Variables and reads them in each step;
`held.refill(other)` assigns another objective's tensors into them when it has the same structure
(the same kinds of term, shapes and settings), so the step compiled once serves it.

An objective here is a tree: dataclasses (objective.Objective, WithTemporal, Temporal,
losses.ContentTargets, StyleTargets), tuples (NamedTuples too), mappings, and leaves: tensors and
numpy arrays (held in variables) and anything else (an extractor, a config, a weight), kept as is
and required to be the same object, or equal, for a refill.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import tensorflow as tf

from style_transfer.objective import ValueAndGradient


def _is_tensor(leaf: Any) -> bool:
    return isinstance(leaf, tf.Tensor | tf.Variable | np.ndarray)


def _map(fn: Callable[[Any], Any], tree: Any) -> Any:
    """`tree` with each tensor leaf replaced by fn(leaf); other leaves kept."""
    if _is_tensor(tree):
        return fn(tree)
    if dataclasses.is_dataclass(tree) and not isinstance(tree, type):
        fields = {f.name: _map(fn, getattr(tree, f.name)) for f in dataclasses.fields(tree) if f.init}
        return dataclasses.replace(tree, **fields)
    if isinstance(tree, tuple):
        items = [_map(fn, item) for item in tree]
        return type(tree)(*items) if hasattr(tree, "_fields") else tuple(items)
    if isinstance(tree, Mapping):
        return {key: _map(fn, value) for key, value in tree.items()}
    return tree


def _tensors(tree: Any) -> list:
    """The tensor leaves of `tree`, in _map's order."""
    found: list = []
    _map(lambda leaf: found.append(leaf), tree)
    return found


def _same(held: Any, other: Any) -> bool:
    """Whether `other` has `held`'s structure: the same containers, tensor shapes and dtypes where
    `held` has variables, and the same (or equal) non-tensor leaves."""
    if isinstance(held, tf.Variable):
        return _is_tensor(other) and tuple(other.shape) == tuple(held.shape) and tf.as_dtype(other.dtype) == held.dtype
    if dataclasses.is_dataclass(held) and not isinstance(held, type):
        return type(other) is type(held) and all(
            _same(getattr(held, f.name), getattr(other, f.name)) for f in dataclasses.fields(held) if f.init
        )
    if isinstance(held, tuple):
        return type(other) is type(held) and len(other) == len(held) and all(map(_same, held, other))
    if isinstance(held, Mapping):
        return (
            isinstance(other, Mapping)
            and list(other) == list(held)
            and all(_same(held[key], other[key]) for key in held)
        )
    if held is other:
        return True
    try:
        return type(held) is type(other) and bool(held == other)
    except (TypeError, ValueError):
        return False


class Held:
    """ValueAndGradient: `objective` with its tensors in tf.Variables (see the module docstring)."""

    def __init__(self, objective: ValueAndGradient):
        def variable(leaf):
            return tf.Variable(tf.convert_to_tensor(leaf), trainable=False)

        self._variables = _map(variable, objective)

    def value_and_gradient(self, image: tf.Tensor, loss_scale: float = 1.0) -> tuple[dict[str, tf.Tensor], tf.Tensor]:
        objective = _map(lambda variable: variable.read_value(), self._variables)
        return objective.value_and_gradient(image, loss_scale)

    def refill(self, objective: ValueAndGradient) -> bool:
        """Hold `objective`'s tensors from now on, if it has this one's structure; False (and nothing
        changed) if not."""
        if not _same(self._variables, objective):
            return False
        for variable, value in zip(_tensors(self._variables), _tensors(objective), strict=True):
            variable.assign(tf.cast(value, variable.dtype))
        return True
