"""Huge pictures through a trained network in bounded memory: overlapping tiles, blended.

Contract: `stylize_tiled(network, images, blend, tile_size, overlap)` takes float32 RGB
[N, H, W, 3] in [0, 1] and returns the network's stylisation as float32 numpy [N, H, W, 3] in
[0, 1], while the network only ever sees one crop of at most tile_size px a side: memory is one
tile's pass plus the picture and its result.

A feed-forward network is local (a pixel's result depends on the 55 px around it,
RECEPTIVE_RADIUS) except for its instance norms, which normalise by the whole picture's
statistics. So the tiles are made exact:
1. Alignment: the picture is reflect-padded to multiples of 4 once (as the network pads a whole
   picture) and every tile starts on that stride-4 grid, so each tile sees the same samples of
   the stride-2 layers as the whole picture.
2. Statistics: the tiles go through the network block by block (TransformerNet.blocks). For each
   norm, every tile runs from its state up to that norm (replaying the statistics already known:
   transformer.Moments), and the norm's input is summed over the tiles, each weighted by its
   window: the whole picture's mean and variance there. A tile's state is its input to a block,
   kept in host memory at 1/4 resolution only (after the stride-2 stages and after each residual
   block: 8 x width floats a pixel of the picture); the full-resolution stages run again from the
   last state instead of being kept (32 x width floats a pixel).
3. Blending: after the last block, the output convolution of each tile, blended with windows
   (tiles.Tiling, a partition of unity) that hand over from one tile to the next over
   RAMP px in the middle of their overlap, so each pixel comes from tiles where it lies at least
   overlap / 2 - RAMP / 2 px from a shared edge: beyond the reach of that tile's reflection padding
   when the overlap is at least EXACT_OVERLAP (118 px; tile_overlap's default is 128).
The result is the whole picture's pass to float rounding (tested), at about 2.5x its arithmetic
plus the overlap: each residual block runs up to its first norm, its second, then whole; the
stages at 1/2 and full resolution 2-4 times. (Running every tile from the picture up to each norm
instead, 15 partial passes, took 114 s for a 4K picture where this takes 39 s: docs/networks.md.) Measuring
the statistics in one pass over the picture downscaled to a tile's size is far off instead: 4.7
levels mean at 1.5x smaller, 17 at 3x (docs/networks.md), as the network's features depend on scale.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from style_transfer import tiles, transformer
from style_transfer.errors import ConfigError

# How far (in pixels) a change can reach through the network: 9x9 in, 3x3 at 1/2, 3x3 at 1/4,
# ten 3x3 at 1/4, 3x3 at 1/2, 3x3 and 9x9 out.
RECEPTIVE_RADIUS = 4 + 1 + 2 + 10 * 4 + 2 + 1 + 4
STRIDE = 4  # two stride-2 stages
RAMP = 8  # px over which neighbouring tiles cross-fade
EXACT_OVERLAP = 2 * RECEPTIVE_RADIUS + RAMP  # tiles this far over each other are exact


class _Stop(Exception):
    """Ends a measuring run at the norm it measures."""


class _Enter:
    """The network's input stage (TransformerNet.enter) as a block without norms."""

    norms = 0

    def __init__(self, network: transformer.TransformerNet):
        self.network = network

    def __call__(self, x, style_weights, moments=None):
        return self.network.enter(x)


def _run(blocks, state, style_weights, known, observe=None):
    """A tile's `state` (its input to blocks[0]) through `blocks`, normalised with the `known`
    statistics of their norms in order; with `observe`, it stops at the first norm not known."""
    moments = transformer.Moments(known, observe)
    x = tf.convert_to_tensor(state)
    try:
        for block in blocks:
            x = block(x, style_weights, moments=moments)
    except _Stop:
        return None
    return x


def _measure(blocks, states, style_weights, tiling: tiles.Tiling, known: list) -> tuple[tf.Tensor, tf.Tensor]:
    """The whole picture's (mean, variance) at the norm len(known) of `blocks`: every tile's state
    (its input to blocks[0]) run up to that norm with the `known` statistics before it, and the
    norm's input summed over the tiles, each weighted by its window."""
    th, weight, first, second = tiling.size[0], 0.0, 0.0, 0.0
    for state, window in zip(states, tiling.windows, strict=True):
        seen: list[tf.Tensor] = []

        def observe(index, features, seen=seen):
            if index == len(known):
                seen.append(features)
                raise _Stop

        _run(blocks, state, style_weights, known, observe)
        features = seen[0]  # [N, h, w, C] float32, at 1, 1/2 or 1/4 of the tile's resolution
        h, w = int(features.shape[1]), int(features.shape[2])
        factor = th // h
        weights = tf.constant(window.reshape(h, factor, w, factor).mean(axis=(1, 3)))  # [h, w]
        weight += float(tf.reduce_sum(weights))
        first = first + tf.einsum("hw,nhwc->nc", weights, features).numpy().astype(np.float64)  # [N, C]
        second = second + tf.einsum("hw,nhwc->nc", weights, tf.square(features)).numpy().astype(np.float64)
    mean = np.asarray(first) / weight
    variance = np.maximum(np.asarray(second) / weight - mean**2, 0.0)
    return tf.constant(mean[:, None, None, :], tf.float32), tf.constant(variance[:, None, None, :], tf.float32)


def stylize_tiled(
    network: transformer.TransformerNet, images, blend=None, tile_size: int = 1024, overlap: int = 128
) -> np.ndarray:
    """images float32 [N, H, W, 3] in [0, 1] -> the network's stylisation float32 [N, H, W, 3],
    one tile of at most tile_size px a side at a time, neighbours overlapping by `overlap` px."""
    if tile_size < 4 * transformer.MIN_SIZE:
        raise ConfigError(f"tiles must be at least {4 * transformer.MIN_SIZE} px a side, got {tile_size}")
    images = tf.convert_to_tensor(images, tf.float32)
    count, height, width = (int(d) for d in images.shape[:3])
    transformer.check_size(height, width)
    style_weights = transformer.style_weights_for(network, count, blend)
    # The whole picture's pass reflect-pads it to multiples of STRIDE; so do we, once, and then every
    # tile starts on the network's stride-4 grid and is a multiple of it: each tile sees the same
    # samples of each stride-2 layer as the whole picture does (unaligned tiles would not).
    images = tf.pad(images, [[0, 0], [0, -height % STRIDE], [0, -width % STRIDE], [0, 0]], mode="REFLECT")
    tile, overlap = tile_size - tile_size % STRIDE, min(overlap, tile_size // 2)
    margin = max(0.0, overlap / 2 - RAMP / 2)  # 3. in the module's docstring
    tiling = tiles.Tiling(
        int(images.shape[1]), int(images.shape[2]), tile, overlap, align=STRIDE, margin=margin, ramp=RAMP
    )
    (th, tw) = tiling.size
    # Each tile's state is its input to blocks[held:], kept only at 1/4 resolution (2. in the
    # module's docstring). The first states are views of the picture.
    blocks = [_Enter(network), *network.blocks]
    quarter = set(range(1 + len(network.down), 2 + len(network.down) + len(network.residuals)))
    picture = images.numpy()
    states = [picture[:, y : y + th, x : x + tw] for y, x in tiling.starts]
    known: list[tuple[tf.Tensor, tf.Tensor]] = []  # every norm's statistics so far, in order
    held, held_known = 0, 0  # the states are inputs to blocks[held:], whose norms are known[held_known:]
    for index, block in enumerate(blocks):
        for _ in range(block.norms):
            known.append(_measure(blocks[held : index + 1], states, style_weights, tiling, known[held_known:]))
        if index + 1 in quarter:
            for k, state in enumerate(states):  # in place: one tile's two states at a time
                states[k] = _run(blocks[held : index + 1], state, style_weights, known[held_known:]).numpy()
            held, held_known = index + 1, len(known)
    result = np.zeros((count, *tiling.shape, 3), np.float32)  # padded
    for state, (y, x), window in zip(states, tiling.starts, tiling.windows, strict=True):
        tile = network.leave(_run(blocks[held:], state, style_weights, known[held_known:]), th, tw).numpy()
        result[:, y : y + th, x : x + tw] += tile * window[None, :, :, None]
    return np.clip(result[:, :height, :width], 0.0, 1.0)
