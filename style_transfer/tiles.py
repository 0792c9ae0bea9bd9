"""Tiles: the loss and gradient of an image too large for one pass of the network, in bounded memory.

Contract: images are float32 RGB in [0, 1], NHWC, [N, H, W, 3]. `TiledObjective(extractor,
content, styles, config, tile_size, tile_overlap, ...)` answers objective.ValueAndGradient,
`value_and_gradient(image, loss_scale)` -> (terms {"total", "content", "style", "tv"}: float32
[N], weighted; gradient float32 [N, H, W, 3]), while the network only ever sees one crop of at
most tile_size px a side: memory is one tile's forward and backward pass plus a few image-sized
buffers, whatever the image's size. The per-scale runner (scales.py) uses it at the scales whose
longer side exceeds tile_size (geometry.Geometry.tiled).

The loss is the whole image's, as in objective.py, not a sum of per-tile style losses (which
would ask every tile to hold all of the painting's statistics):
- Style: the image's statistic at a layer (an additive one, statistics.py: Gram matrices, or mean_cov's moments)
  is the window-weighted sum over tiles of the statistic's sums over the summed weights. Pass 1
  (forward only) sums them; the style loss and dL/dS follow (losses.style_loss_of_stats). Pass 2
  differentiates, tile by tile, <dL/dS, the tile's part of S> plus the tile's content error. S is
  the sum of the tiles' parts, so by the chain rule the tiles' gradients add up to the exact
  gradient of the loss (L-BFGS's line search needs that).
- Content: the window-weighted squared error summed over tiles, over the window-weighted squared
  norm of the photo's features (the photo's tiles go through the network once, at construction).
- TV: on the whole image (no network needed).
The targets come from targets.build_style_targets, with the paintings measured tile by tile
(`tiled_statistics`) and the photo normalisation from the photo's own tile sums.
Departure (tiling): the network pads each crop with zeros, so features near a crop's edge are not
the whole image's. The windows are a partition of unity (every pixel's weights over the tiles sum
to 1) that falls to ~0 across the overlap (tile_overlap; tile_windows), so a position counts
mostly from the tile where it is far from an edge. With one tile covering the image, this is
exactly Objective (tested). Cost: pass 1 adds a forward pass per tile (a step does ~4/3 the work),
plus the overlap. Masks multiply the windows. Not supported: the in-graph loop (exported models,
tf.distribute), and statistics that do not add up over positions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from style_transfer import losses, statistics, targets, vgg
from style_transfer.config import LossConfig
from style_transfer.errors import ConfigError, named
from style_transfer.losses import Stats, StyleStatistic


def tile_starts(length: int, tile: int, overlap: int, align: int = 1) -> list[int]:
    """Where the tiles of one axis start: [0] if the axis fits in one tile; else evenly spaced, the
    last ending at `length`, neighbours overlapping by at least `overlap` px (less `align` for
    rounding), each start a multiple of `align` (which must divide length - tile)."""
    if length <= tile:
        return [0]
    if (length - tile) % align:
        raise ValueError(f"tiles of {tile} px cannot end at {length} px at multiples of {align}")
    count = math.ceil((length - overlap) / (tile - overlap))
    return [align * round(k * (length - tile) / (count - 1) / align) for k in range(count)]


def tile_windows(
    length: int, size: int, starts: Sequence[int], overlap: int, margin: float | None = None, ramp: float | None = None
) -> np.ndarray:
    """float32 [len(starts), size]: each tile's weight at each of its pixels along one axis.

    Towards an edge a tile shares with a neighbour (not at the image's own edges) its weight is
    ~0 over `margin` px (default: the first quarter of `overlap`, where the crop's zero padding
    reaches deepest) and rises linearly over the next `ramp` px (default: half the overlap); then
    the weights are divided by their sum at every pixel, so they sum to 1. Measured with ImageNet
    VGG16 at 384 px, tiles of 192 px overlapping by 64: gradient cosine to the whole image's 0.998
    (0.995 with a ramp over the whole overlap, 0.939 with hard edges).
    """
    position = np.arange(size) + 0.5
    margin = overlap / 4 if margin is None else margin
    ramp = max(overlap / 2 if ramp is None else ramp, 0.5)
    raw = np.ones((len(starts), size))
    for k in range(len(starts)):
        if k > 0:
            raw[k] = np.minimum(raw[k], np.clip((position - margin) / ramp, 1e-3, 1.0))
        if k < len(starts) - 1:
            raw[k] = np.minimum(raw[k], np.clip((size - position - margin) / ramp, 1e-3, 1.0))
    total = np.zeros(length)
    for k, start in enumerate(starts):
        total[start : start + size] += raw[k]
    return np.stack([raw[k] / total[start : start + size] for k, start in enumerate(starts)]).astype(np.float32)


class Tiling:
    """The tiles of an H x W image: `starts` [(y, x)], `size` (th, tw) shared by all of them, and
    `windows` float32 [T, th, tw] (a partition of unity over the image; see tile_windows).
    align: every start a multiple of it (network_tiles: the network's stride); H, W and tile
    must then be multiples of it too. margin, ramp: the windows' (tile_windows)."""

    def __init__(
        self,
        height: int,
        width: int,
        tile: int,
        overlap: int,
        align: int = 1,
        margin: float | None = None,
        ramp: float | None = None,
    ):
        overlap = min(overlap, tile // 2)  # tile_overlap's default (128) with small tiles
        self.shape = (height, width)
        self.size = (min(tile, height), min(tile, width))
        ys, xs = tile_starts(height, tile, overlap, align), tile_starts(width, tile, overlap, align)
        wy = tile_windows(height, self.size[0], ys, overlap, margin, ramp)
        wx = tile_windows(width, self.size[1], xs, overlap, margin, ramp)
        self.starts = [(y, x) for y in ys for x in xs]
        self.windows = np.stack([np.outer(wy[a], wx[b]) for a in range(len(ys)) for b in range(len(xs))])

    def __len__(self) -> int:
        return len(self.starts)

    def _start(self, t) -> tf.Tensor:
        """int32 [2]: (y, x) of tile t; t may be a tensor (inside a loop)."""
        return tf.gather(tf.constant(self.starts, tf.int32), t)

    def crop(self, image: tf.Tensor, t) -> tf.Tensor:
        """Tile t of image [N, H, W, C] -> [N, th, tw, C]; t may be a tensor (inside a loop)."""
        begin = tf.concat([[0], self._start(t), [0]], axis=0)
        return tf.slice(image, begin, [-1, self.size[0], self.size[1], -1])

    def add_to(self, total: tf.Tensor, piece: tf.Tensor, t) -> tf.Tensor:
        """total [H, W, N, C] plus tile t's piece [N, th, tw, C] added at its place; t may be a tensor.

        One scatter-add per tile (XLA has one too), so a loop over tiles holds one image-sized sum,
        not a padded copy of every tile.
        """
        (th, tw), channels = self.size, piece.shape[-1]
        offsets = tf.stack(tf.meshgrid(tf.range(th), tf.range(tw), indexing="ij"), axis=-1)  # [th, tw, 2]
        indices = tf.reshape(offsets + self._start(t), [th * tw, 2])
        updates = tf.reshape(tf.transpose(piece, [1, 2, 0, 3]), [th * tw, -1, channels])  # [th * tw, N, C]
        return tf.tensor_scatter_nd_add(total, indices, updates)

    def layer_windows(self, features: dict[str, tf.Tensor], layers: Sequence[str]) -> dict[str, tf.Tensor]:
        """{layer: float32 [T, 1, h, w, 1]}: each tile's window at that layer's resolution (area
        average, as targets.layer_masks resizes masks); features: any tile's, for the sizes."""
        resized = [targets.layer_masks(w[None, :, :, None], features, layers) for w in self.windows]
        return {name: tf.stack([r[name] for r in resized]) for name in layers}


def _require_additive(statistic: StyleStatistic) -> None:
    if not statistic.additive:
        raise ConfigError(
            f"the {statistic.name} style statistic does not add up over tiles; set {named('tile_size')}=0 "
            "or use an additive statistic such as gram"
        )


def tiled_statistics(
    extractor: vgg.FeatureExtractor,
    image: tf.Tensor,
    layers: Sequence[str],
    statistic: StyleStatistic,
    tile_size: int,
    tile_overlap: int,
) -> dict[str, Stats]:
    """{layer: statistic}: the statistic of image [N, H, W, 3] (any size) at each layer, tile by tile
    in eager mode: window-weighted means over positions (the statistic itself when one tile covers it)."""
    _require_additive(statistic)
    image = tf.convert_to_tensor(image, tf.float32)
    height, width = image.shape[1:3]
    tiling = Tiling(height, width, tile_size, tile_overlap)
    sums: dict[str, Stats] = {}
    masses: dict[str, tf.Tensor] = {}
    windows = None
    for t in range(len(tiling)):
        features = extractor(tiling.crop(image, t))
        windows = windows or tiling.layer_windows(features, layers)
        for name in layers:
            part = statistic.sums(features[name], windows[name][t])
            sums[name] = part if name not in sums else tf.nest.map_structure(tf.add, sums[name], part)
            masses[name] = masses.get(name, 0.0) + tf.reduce_sum(windows[name][t])
    return {name: tf.nest.map_structure(lambda s, m=masses[name]: s / m, sums[name]) for name in layers}


class TiledObjective:
    """Objective's loss for an image larger than a tile, evaluated and differentiated tile by tile.

    content: float32 [N, H, W, 3] in [0, 1] (eager: its shape must be known); styles [1 or N, h, w,
    3] each, of any size (their statistics are summed by tile too). style_masks (one per style,
    or None) and content_mask: float32 [1, H, W, 1] in [0, 1] at the content's size, as Objective
    takes them (losses.py, departure 6): each tile's window is multiplied by the mask's crop. The
    image given to value_and_gradient must have the content's shape.
    """

    def __init__(
        self,
        extractor: vgg.FeatureExtractor,
        content: tf.Tensor,
        styles: Sequence[tf.Tensor],
        config: LossConfig,
        tile_size: int,
        tile_overlap: int,
        blend: Sequence[float] | None = None,
        style_masks: Sequence[tf.Tensor | None] | None = None,
        content_mask: tf.Tensor | None = None,
        statistic: StyleStatistic | None = None,
    ):
        self.extractor, self.config = extractor, config
        statistic = statistic or statistics.statistic_for(config.style_loss)
        _require_additive(statistic)
        self.statistic = statistic
        style_masks = list(style_masks) if style_masks is not None else [None] * len(styles)
        if len(style_masks) != len(styles):
            raise ValueError(f"{len(style_masks)} masks for {len(styles)} styles")
        content = tf.convert_to_tensor(content, tf.float32)
        self.batch, height, width = content.shape[:3]
        self.tiling = tiling = Tiling(height, width, tile_size, tile_overlap)
        # The style layers the loss reads (a zero layer weight, or style weight, reads none).
        style_layers = list(targets.style_layer_weights(config)) if config.style_weight else []
        self.content_layers = list(config.content_layers) if config.content_weight else []
        layers = list(dict.fromkeys(self.content_layers + style_layers))

        def measure(image):
            return tiled_statistics(extractor, image, style_layers, statistic, tile_size, tile_overlap)

        style = targets.build_style_targets(extractor, styles, config, blend, statistic, measure)

        # Each position's weight in a tile, {layer: [T, 1, h, w, 1]}: the window, times a mask's
        # crop (resized to the layer as targets.layer_masks does) where one applies. Set 0 has no
        # mask; the content loss and each style target use one set (`weight_set` adds a masked one).
        first = extractor(tiling.crop(content, 0))
        self.weight_sets = [tiling.layer_windows(first, layers)]

        def weight_set(mask) -> int:
            if mask is None:
                return 0
            mask = tf.convert_to_tensor(mask, tf.float32)
            crops = [targets.layer_masks(tiling.crop(mask, t), first, layers) for t in range(len(tiling))]
            windows = self.weight_sets[0]
            self.weight_sets.append({n: windows[n] * tf.stack([c[n] for c in crops]) for n in layers})
            return len(self.weight_sets) - 1

        self.content_set = weight_set(content_mask)
        self.target_sets = [weight_set(mask) for mask in style_masks]
        # (set, layer) pairs whose statistics the style loss reads, and their total weights.
        self.stat_keys = [(k, name) for k in sorted(set(self.target_sets)) for name in style_layers]
        self.masses = [{n: tf.reduce_sum(w[n]) for n in layers} for w in self.weight_sets]

        # The photo, tile by tile: content targets, their norms, and its statistics' sums.
        content_targets: dict[str, list[tf.Tensor]] = {name: [] for name in self.content_layers}
        photo_sums: dict[tuple[int, str], Stats] = {}
        norms: dict[str, tf.Tensor] = {}
        for t in range(len(tiling)):
            features = first if t == 0 else extractor(tiling.crop(content, t))
            for name in self.content_layers:
                target = tf.cast(features[name], tf.float32)
                content_targets[name].append(target)
                weights = self.weight_sets[self.content_set][name][t]
                norms[name] = norms.get(name, 0.0) + tf.reduce_sum(tf.square(target) * weights, [1, 2, 3])
            for key in self.stat_keys:
                k, name = key
                part = statistic.sums(features[name], self.weight_sets[k][name][t])
                photo_sums[key] = (
                    part if key not in photo_sums else tf.nest.map_structure(tf.add, photo_sums[key], part)
                )
        self.content_targets = {
            name: tf.stack(content_targets[name]) for name in self.content_layers
        }  # [T, N, h, w, C]
        self.content_norms = {name: norms[name] + losses._EPS for name in self.content_layers}  # [N]

        if any(mask is not None for mask in style_masks):  # departure 6 (losses.py)
            coverage = [1.0 if m is None else targets.coverage(m, len(styles)) for m in style_masks]
            style = style.with_masks([None] * len(styles), coverage)  # the masks live in the weight sets
        if config.style_normalization == "photo":
            style = style.normalized_by_stats(lambda i, name: self._mean(photo_sums, self.target_sets[i], name))
        self.style = style
        # Zeros shaped like the image's sums at each (set, layer) the loss reads: pass 1 starts from them.
        self.zero_sums = tuple(tf.nest.map_structure(tf.zeros_like, photo_sums[key]) for key in self.stat_keys)

    def _mean(self, sums: dict, k: int, name: str) -> Stats:
        """The statistic of weight set k at a layer from its sums: divided by that set's total weight."""
        return tf.nest.map_structure(lambda s: s / self.masses[k][name], sums[k, name])

    def value_and_gradient(self, image: tf.Tensor, loss_scale: float = 1.0) -> tuple[dict, tf.Tensor]:
        """(terms {"total", "content", "style", "tv"}: float32 [N], weighted; d sum(total) / d image)."""
        cfg, tiling, sets, statistic = self.config, self.tiling, self.weight_sets, self.statistic
        image = tf.convert_to_tensor(image, tf.float32)  # [N, H, W, 3] (a tf.Variable's value)
        count = len(tiling)
        loop = dict(parallel_iterations=1)  # one tile at a time: that is the memory bound

        # Pass 1, forward only: the image's statistics, then the style loss and dL/dS.
        style, d_stats = tf.zeros([self.batch]), {}
        if self.stat_keys:

            def stat_sums(t, sums):
                features = self.extractor(tiling.crop(image, t))
                parts = [statistic.sums(features[name], tf.gather(sets[k][name], t)) for k, name in self.stat_keys]
                return t + 1, tf.nest.map_structure(tf.add, sums, tuple(parts))

            _, sums = tf.while_loop(lambda t, _: t < count, stat_sums, (tf.constant(0), self.zero_sums), **loop)
            sums = dict(zip(self.stat_keys, sums, strict=True))
            stats = {key: self._mean(sums, *key) for key in self.stat_keys}
            flat = tf.nest.flatten(stats)
            with tf.GradientTape() as tape:
                tape.watch(flat)
                style = losses.style_loss_of_stats(
                    lambda i, name: stats[self.target_sets[i], name], self.style, [self.batch]
                )
                scaled_style = cfg.style_weight * tf.reduce_sum(style) * loss_scale
            d_flat = tape.gradient(scaled_style, flat, unconnected_gradients="zero")
            d_stats = tf.nest.pack_sequence_as(stats, d_flat)

        # Pass 2, tile by tile: the gradient of <dL/dS, the tile's part of S> + its content error.
        def tile_gradient(t, content, total):
            piece = tiling.crop(image, t)
            with tf.GradientTape() as tape:
                tape.watch(piece)
                features = self.extractor(piece)
                errors = [
                    tf.reduce_sum(
                        tf.square(tf.cast(features[name], tf.float32) - tf.gather(self.content_targets[name], t))
                        * tf.gather(sets[self.content_set][name], t),
                        [1, 2, 3],
                    )
                    / self.content_norms[name]
                    for name in self.content_layers
                ]
                part = tf.add_n(errors) / len(errors) if errors else tf.zeros([self.batch])  # [N]
                surrogate = tf.add_n(
                    [
                        tf.reduce_sum(d * s) / self.masses[k][name]
                        for k, name in self.stat_keys
                        for d, s in zip(
                            tf.nest.flatten(d_stats[k, name]),
                            tf.nest.flatten(statistic.sums(features[name], tf.gather(sets[k][name], t))),
                            strict=True,
                        )
                    ]
                    or [tf.constant(0.0)]
                )
                scaled = cfg.content_weight * tf.reduce_sum(part) * loss_scale + surrogate
            gradient = tape.gradient(scaled, piece, unconnected_gradients="zero") / loss_scale
            return t + 1, content + part, tiling.add_to(total, gradient, t)

        start = (tf.constant(0), tf.zeros([self.batch]), tf.zeros([*tiling.shape, self.batch, 3]))
        _, content, gradient = tf.while_loop(lambda t, *_: t < count, tile_gradient, start, **loop)
        gradient = tf.transpose(gradient, [2, 0, 1, 3])  # [H, W, N, 3] -> [N, H, W, 3]

        with tf.GradientTape() as tape:
            tape.watch(image)
            tv = losses.tv_loss(image)
            scaled_tv = cfg.tv_weight * tf.reduce_sum(tv)
        gradient += tape.gradient(scaled_tv, image, unconnected_gradients="zero")
        return losses.weighted(content, style, tv, cfg), gradient
