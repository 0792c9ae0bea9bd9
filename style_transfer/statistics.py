"""Style statistics: what the style loss matches at a layer, and how far one value is from another.

LossConfig.style_loss names one (`statistic_for`):
- "gram": Gram matrices (the paper's), compared by relative squared error (losses.py, departures 1, 2);
- "mean_cov": each channel's mean and the channels' covariance, compared as Gaussians by their
  Wasserstein-2 distance (as crowsonkb/style-transfer-pytorch does), the matrix square root by
  Newton-Schulz iterations (`sqrtm_newton_schulz`);
- "sliced": the whole distribution of the features, compared by the sliced Wasserstein-2 distance
  (Heitz, Vanhoey, Chambon & Belcour 2021): sorted projections onto random directions, redrawn
  for every image evaluated.

Contract: features float32 (or bfloat16/float16, cast here) [N, h, w, C]; masks [1 or N, h, w, 1]
in [0, 1]; a statistic's value is a tensor or a tuple of tensors with a leading batch dimension
(a painting's: batch 1, or N); `distance(stats, target)` -> float32 [N], ~1 for "nothing in
common" (the relative error of matching zeros), 0 for equal. `target(stats)` prepares a painting's
value once (targets.build_style_targets): what `distance` compares against.

Departures from the paper (which has Gram matrices only), continuing losses.py's numbering:
7. mean_cov divides the squared W2 distance by the painting's mean squared feature norm
   (tr of its second moment), so that, as a Gram error, it is ~1 where nothing matches; a small
   multiple of the identity (COV_EPS times the mean variance) keeps the covariances positive
   definite for the square root.
8. sliced compares at most SLICED_MAX_POSITIONS positions per layer, a random subset redrawn with
   the directions: sorting every position of block1 at 512 px (196k x 64 projections, then the
   painting's) takes ~1.5 s a step on a 2-core CPU, three times the rest of the step. Its
   projections are seeded by the image's own features, so the loss is a function of the image
   (repeatable runs, L-BFGS sees the same value twice at the same image) and no random state is
   kept (it runs inside exported models' loops and batches: each image draws its own).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple, Protocol

import tensorflow as tf

# Keeps a relative error finite when a target is all zeros (e.g. a black image through ReLUs).
EPS = 1e-20

# A style statistic's value for a batch: a tensor, or a tuple of tensors (a tf.nest structure),
# each [N, ...] (targets: [1, ...], broadcasting over a batch).
Stats = Any


def relative_error(x: tf.Tensor, target: tf.Tensor, weights: tf.Tensor | None = None) -> tf.Tensor:
    """||x - target||^2 / ||target||^2 per batch element: [N, ...] -> [N]. Departure 2.

    weights (broadcasting against x, e.g. a mask [1, h, w, 1]): both sums weighted by them.
    """
    axes = tf.range(1, tf.rank(x))
    squared_error, squared_target = tf.square(x - target), tf.square(target)
    if weights is not None:
        squared_error, squared_target = squared_error * weights, squared_target * weights
    error = tf.reduce_sum(squared_error, axis=axes)
    norm = tf.reduce_sum(squared_target, axis=tf.range(1, tf.rank(target)))
    return error / (norm + EPS)


def gram_matrix(features: tf.Tensor) -> tf.Tensor:
    """[N, h, w, C] -> [N, C, C]: channel co-activations averaged over positions.

    Departure 1: G = F^T F / (h w); the paper's G = F^T F is a sum over positions.
    """
    features = tf.cast(features, tf.float32)
    positions = tf.cast(tf.shape(features)[1] * tf.shape(features)[2], tf.float32)
    return tf.einsum("nhwc,nhwd->ncd", features, features) / positions


def masked_gram(features: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """[N, h, w, C], mask [1 or N, h, w, 1] -> [N, C, C]: co-activations averaged over positions
    weighted by the mask, sum_p m_p F_p F_p^T / sum_p m_p (departure 6; all ones = gram_matrix)."""
    features = tf.cast(features, tf.float32)
    mask = tf.cast(mask, tf.float32)
    area = tf.reduce_sum(mask, axis=[1, 2, 3])  # [1 or N]
    return tf.einsum("nhwc,nhwd->ncd", features * mask, features) / tf.maximum(area, EPS)[:, None, None]


class StyleStatistic(Protocol):
    """What the style loss matches at a layer: a statistic of the features over positions, and a
    distance between two values of it (~1 for nothing in common, 0 for equal).

    `additive`: the statistic is a weighted mean over positions, sums(features, w) / sum(w), of
    each component; tiles.py then sums it tile by tile (a statistic that is not, such as sorted
    projections, cannot run tiled).
    """

    name: str
    additive: bool

    def __call__(self, features: tf.Tensor, mask: tf.Tensor | None = None) -> Stats:
        """[N, h, w, C] float32 (mask [1 or N, h, w, 1]) -> the statistic of each image, over the
        positions (weighted by the mask where there is one: departure 6)."""
        ...

    def sums(self, features: tf.Tensor, weights: tf.Tensor) -> Stats:
        """For an additive statistic: the weighted sums over positions, not yet divided by the
        weights' sum; weights [1 or N, h, w, 1]."""
        ...

    def target(self, stats: Stats) -> Stats:
        """A painting's statistic prepared once as `distance` compares against it (often itself)."""
        ...

    def distance(self, stats: Stats, target: Stats) -> tf.Tensor:
        """[N]: how far each image's statistic is from the (prepared) target's."""
        ...


class Gram:
    """Gram matrices (the paper's statistic), compared by relative error (departures 1, 2)."""

    name = "gram"
    additive = True

    def __call__(self, features: tf.Tensor, mask: tf.Tensor | None = None) -> tf.Tensor:
        return gram_matrix(features) if mask is None else masked_gram(features, mask)

    def sums(self, features: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
        features = tf.cast(features, tf.float32)
        return tf.einsum("nhwc,nhwd->ncd", features * weights, features)  # [N, C, C]

    def target(self, stats: tf.Tensor) -> tf.Tensor:
        return stats

    def distance(self, stats: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
        return relative_error(stats, target)


# Newton-Schulz iterations for the matrix square root. After normalising by the Frobenius norm,
# an eigenvalue l converges in about log(1/l) / log(1.5) iterations: 12 reach l >= 1e-2 of the
# largest, where almost all of a VGG covariance's trace of square roots lies (measured on
# ImageNet VGG16 features of the samples: tests/test_statistics.py compares with eigh).
NEWTON_SCHULZ_ITERATIONS = 12
# The covariances get COV_EPS x (their mean variance) added on the diagonal (departure 7).
COV_EPS = 1e-3


def sqrtm_newton_schulz(matrix: tf.Tensor, iterations: int = NEWTON_SCHULZ_ITERATIONS) -> tf.Tensor:
    """[..., C, C] symmetric positive (semi)definite -> its square root, by the coupled Newton-Schulz
    iteration (Higham 2008, eq. 6.35): matmuls only, so it runs and differentiates on every device
    and under XLA, at 512 channels too (tf.linalg.sqrtm's gradient cannot)."""
    matrix = tf.convert_to_tensor(matrix, tf.float32)
    norm = tf.sqrt(tf.reduce_sum(tf.square(matrix), axis=[-2, -1], keepdims=True)) + EPS  # [..., 1, 1]
    identity = tf.eye(tf.shape(matrix)[-1], batch_shape=tf.shape(matrix)[:-2])
    y, z = matrix / norm, identity
    for _ in range(iterations):
        t = 0.5 * (3.0 * identity - tf.matmul(z, y))
        y, z = tf.matmul(y, t), tf.matmul(t, z)
    return y * tf.sqrt(norm)


class MeanCovStats(NamedTuple):
    mean: tf.Tensor  # [N, C]
    second: tf.Tensor  # [N, C, C]: the second raw moment E[f f^T] (additive over tiles, unlike the covariance)


class MeanCovTarget(NamedTuple):
    mean: tf.Tensor  # [N, C]
    cov: tf.Tensor  # [N, C, C], regularised (departure 7)
    cov_sqrt: tf.Tensor  # [N, C, C]
    norm: tf.Tensor  # [N]: tr(second moment), the divisor (departure 7)


def _covariance(stats: MeanCovStats) -> tf.Tensor:
    """[N, C, C]: E[f f^T] - m m^T plus COV_EPS x the mean variance on the diagonal (departure 7)."""
    cov = stats.second - stats.mean[:, :, None] * stats.mean[:, None, :]
    channels = tf.shape(cov)[-1]
    variance = tf.linalg.trace(cov) / tf.cast(channels, tf.float32)  # [N]
    return cov + (COV_EPS * tf.maximum(variance, EPS))[:, None, None] * tf.eye(channels)


class MeanCov:
    """Mean and covariance, compared as Gaussians by the Wasserstein-2 distance:
    ||m - m_t||^2 + tr(C + C_t - 2 (C_t^1/2 C C_t^1/2)^1/2), divided by tr(E_t[f f^T]) (departure 7).
    Additive over positions (means and second moments add up tile by tile)."""

    name = "mean_cov"
    additive = True

    def __call__(self, features: tf.Tensor, mask: tf.Tensor | None = None) -> MeanCovStats:
        features = tf.cast(features, tf.float32)
        if mask is None:
            mask = tf.ones_like(features[..., :1])
        sums = self.sums(features, mask)
        area = tf.maximum(tf.reduce_sum(tf.cast(mask, tf.float32), axis=[1, 2, 3]), EPS)  # [1 or N]
        return MeanCovStats(sums.mean / area[:, None], sums.second / area[:, None, None])

    def sums(self, features: tf.Tensor, weights: tf.Tensor) -> MeanCovStats:
        features = tf.cast(features, tf.float32)
        weighted = features * tf.cast(weights, tf.float32)
        return MeanCovStats(
            tf.reduce_sum(weighted, axis=[1, 2]),  # [N, C]
            tf.einsum("nhwc,nhwd->ncd", weighted, features),  # [N, C, C]
        )

    def target(self, stats: MeanCovStats) -> MeanCovTarget:
        stats = MeanCovStats(*stats)
        cov = _covariance(stats)
        return MeanCovTarget(stats.mean, cov, sqrtm_newton_schulz(cov), tf.linalg.trace(stats.second))

    def distance(self, stats: MeanCovStats, target: MeanCovTarget) -> tf.Tensor:
        stats = MeanCovStats(*stats)
        cov = _covariance(stats)  # [N, C, C]
        root = target.cov_sqrt
        cross = sqrtm_newton_schulz(tf.matmul(tf.matmul(root, cov), root))  # (C_t^1/2 C C_t^1/2)^1/2
        mean_term = tf.reduce_sum(tf.square(stats.mean - target.mean), axis=-1)  # [N]
        cov_term = tf.linalg.trace(cov) + tf.linalg.trace(target.cov) - 2.0 * tf.linalg.trace(cross)  # [N]
        return (mean_term + tf.maximum(cov_term, 0.0)) / (target.norm + EPS)


# Sliced Wasserstein: how many positions per layer take part in one evaluation (departure 8).
SLICED_MAX_POSITIONS = 2**14


class SlicedStats(NamedTuple):
    features: tf.Tensor  # [N, P, C]: every position's features
    weights: tf.Tensor  # [1 or N, P]: each position's mask weight (ones without a mask)


def _seeds(features: tf.Tensor) -> tf.Tensor:
    """int32 [N, 2]: a seed per image from its own features: the bits of their float sum but the 10
    lowest (which the order of summation moves: a graph and eager mode, a batch and one image,
    round alike), and the width."""
    total = tf.reduce_sum(features, axis=[1, 2, 3] if features.shape.rank == 4 else [1, 2])  # [N]
    bits = tf.bitwise.right_shift(tf.bitcast(total, tf.int32), 10)
    return tf.stack([bits, tf.fill(tf.shape(bits), tf.shape(features)[-1])], axis=1)


def _mix(x: tf.Tensor) -> tf.Tensor:
    """uint32 -> uint32: MurmurHash3's finaliser (every input bit moves every output bit)."""
    for shift, factor in ((16, 0x85EBCA6B), (13, 0xC2B2AE35)):
        x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, shift)) * tf.constant(factor, tf.uint32)
    return tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16))


def hashed_uniform(count, seed: tf.Tensor) -> tf.Tensor:
    """float32 [count] in (0, 1), a function of int32 seed [2] by integer hashing: the same numbers
    in eager mode, in a graph, in a loop and under XLA (TF's stateless generators, given a seed
    that is not a constant, draw other numbers under XLA inside a loop)."""
    seed = tf.bitcast(tf.cast(seed, tf.int32), tf.uint32)
    index = tf.bitcast(tf.range(count, dtype=tf.int32), tf.uint32)
    x = index * tf.constant(0x9E3779B1, tf.uint32) + _mix(seed[0] + _mix(seed[1]))
    return (tf.cast(tf.bitwise.right_shift(_mix(x), 8), tf.float32) + 0.5) / 2.0**24  # 24 bits, never 0 or 1


def _subsample(rows, count: int, seed: tf.Tensor) -> tf.Tensor:
    """int32 [min(rows, count)]: a random subset of range(rows) (all of it, in order, if rows <= count).

    rows: an int where the shape is known (then the choice is made here, so XLA sees one static
    shape; a tf.cond whose branches differ in shape crashes its compiler), else an int32 scalar."""
    keys = hashed_uniform(rows, seed)
    if isinstance(rows, int):
        return tf.argsort(keys)[:count] if rows > count else tf.range(rows)
    return tf.cond(rows > count, lambda: tf.argsort(keys)[:count], lambda: tf.range(rows))


def _rows(values: tf.Tensor):
    """The number of rows of [P, ...]: an int where known, else a scalar tensor."""
    return values.shape[0] if values.shape[0] is not None else tf.shape(values)[0]


def _quantiles_at(sorted_values: tf.Tensor, positions: tf.Tensor) -> tf.Tensor:
    """sorted_values [K, P] (an empirical distribution per row, each value weight 1/P), positions
    [K, Q] in (0, 1) -> [K, Q]: each row's quantile function there, linearly interpolated."""
    count = tf.cast(tf.shape(sorted_values)[1], tf.float32)
    index = tf.clip_by_value(positions * count - 0.5, 0.0, count - 1.0)
    low = tf.cast(tf.floor(index), tf.int32)
    high = tf.minimum(low + 1, tf.shape(sorted_values)[1] - 1)
    frac = index - tf.floor(index)
    below = tf.gather(sorted_values, low, batch_dims=1)
    above = tf.gather(sorted_values, high, batch_dims=1)
    return below * (1.0 - frac) + above * frac


def sliced_w2(features: tf.Tensor, weights: tf.Tensor, painting: tf.Tensor, directions: tf.Tensor) -> tf.Tensor:
    """The sliced Wasserstein-2 distance (squared) of one image's features [P, C], each position
    weighted by `weights` [P], to a painting's [Pt, C], along `directions` [C, K] (unit columns):
    the weighted mean squared difference between the image's sorted projections and the painting's
    quantile function at the same quantiles, averaged over directions, divided by the painting's
    mean squared projection. A scalar; differentiable in `features`."""
    projected = tf.transpose(tf.matmul(features, directions))  # [K, P]
    order = tf.argsort(projected, axis=-1)
    values = tf.gather(projected, order, batch_dims=1)  # [K, P], ascending
    mass = tf.gather(tf.tile(tf.stop_gradient(weights)[None], [tf.shape(projected)[0], 1]), order, batch_dims=1)
    total = tf.maximum(tf.reduce_sum(mass, axis=-1, keepdims=True), EPS)  # [K, 1]
    positions = (tf.cumsum(mass, axis=-1) - 0.5 * mass) / total  # each value's quantile, in (0, 1)
    painted = tf.sort(tf.transpose(tf.matmul(painting, directions)), axis=-1)  # [K, Pt]
    matched = tf.stop_gradient(_quantiles_at(painted, positions))  # [K, P]
    error = tf.reduce_sum(mass * tf.square(values - matched), axis=-1) / total[:, 0]  # [K]
    scale = tf.reduce_mean(tf.square(painted))  # the painting's mean squared projection
    return tf.reduce_mean(error) / (scale + EPS)


def random_directions(channels, seed: tf.Tensor) -> tf.Tensor:
    """float32 [C, C]: C random unit directions (columns), from a seed int32 [2] (Gaussian by
    Box-Muller from hashed_uniform, so isotropic; the same on every path)."""
    u = tf.reshape(hashed_uniform(2 * channels * channels, seed), [2, channels, channels])
    directions = tf.sqrt(-2.0 * tf.math.log(u[0])) * tf.cos(2.0 * math.pi * u[1])
    return directions / tf.norm(directions, axis=0, keepdims=True)


class Sliced:
    """The sliced Wasserstein-2 distance (squared) between the image's and the painting's features
    (sliced_w2): both projected onto C random unit directions (C: the layer's channels), each
    projection sorted, the mean squared difference of their quantiles (weighted by the mask,
    departure 6), divided by the painting's mean squared projection (so ~1 where nothing matches,
    as a Gram error is). Directions and positions are redrawn for every image evaluated
    (departure 8). Not additive: sorted projections do not add up over tiles."""

    name = "sliced"
    additive = False

    def __call__(self, features: tf.Tensor, mask: tf.Tensor | None = None) -> SlicedStats:
        features = tf.cast(features, tf.float32)
        shape = tf.shape(features)
        flat = tf.reshape(features, [shape[0], shape[1] * shape[2], shape[3]])  # [N, P, C]
        if mask is None:
            weights = tf.ones([1, shape[1] * shape[2]])
        else:
            mask = tf.cast(mask, tf.float32)
            weights = tf.reshape(mask, [tf.shape(mask)[0], -1])
        return SlicedStats(flat, weights)

    def sums(self, features: tf.Tensor, weights: tf.Tensor) -> SlicedStats:
        raise TypeError("the sliced statistic does not add up over positions")

    def target(self, stats: SlicedStats) -> SlicedStats:
        return SlicedStats(*stats)

    def distance(self, stats: SlicedStats, target: SlicedStats) -> tf.Tensor:
        stats, target = SlicedStats(*stats), SlicedStats(*target)
        batch = tf.shape(stats.features)[0]
        seeds = _seeds(stats.features)  # [N, 2]: each image its own directions and positions
        weights = tf.stop_gradient(tf.broadcast_to(stats.weights, tf.shape(stats.features)[:2]))  # [N, P]
        paintings = tf.broadcast_to(
            target.features, tf.concat([[batch], tf.shape(target.features)[1:]], axis=0)
        )  # [N, Pt, C]

        def one(args):
            features, weight, painting, seed = args  # [P, C], [P], [Pt, C], [2]
            picked = _subsample(_rows(features), SLICED_MAX_POSITIONS, seed + 1)
            painting = tf.gather(painting, _subsample(_rows(painting), SLICED_MAX_POSITIONS, seed + 2))
            directions = random_directions(tf.shape(features)[-1], seed)
            return sliced_w2(tf.gather(features, picked), tf.gather(weight, picked), painting, directions)

        return tf.map_fn(one, (stats.features, weights, paintings, seeds), fn_output_signature=tf.float32)  # [N]


GRAM = Gram()
STYLE_STATISTICS: dict[str, StyleStatistic] = {s.name: s for s in (GRAM, MeanCov(), Sliced())}


def statistic_for(style_loss: str) -> StyleStatistic:
    """The statistic LossConfig.style_loss names."""
    return STYLE_STATISTICS[style_loss]
