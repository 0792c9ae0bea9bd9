"""Training a feed-forward network with the package's loss: photos -> network -> image -> loss.

One readable loop (pytorch/examples' fast_neural_style, in TensorFlow):

    for step in steps:                              # resumed at the checkpoint's step
        photos = next(batches)                      # [B, crop, crop, 3] (photos.crop_batches)
        painting = step mod S                       # one painting a batch (Dumoulin et al.)
        generated = network(photos, one_hot(painting))
        terms = loss_terms(VGG(generated), targets.for_photos(VGG(photos), style_targets[painting]))
        Adam on the network's weights, d mean(terms["total"]) / d weights

The loss is the one the pixel optimiser minimises (targets.py, losses.py): the paintings' style
targets built once, here, for the whole run; per batch the photos' content targets and
normalisation. Departure 6 (from Johnson et al.): the losses are our normalised ones (each
style layer divided by the photo's own distance, `style_normalization="photo"`), so the weights
mean what they mean for `stylize`.

From a trained network (`base`): either fine-tune all of it on its own paintings (say, at another
style weight), or add paintings to it, training only the new paintings' own scales and shifts
(Dumoulin et al. 2017, section 4: a few thousand parameters a painting; the convolutions and the
base's paintings stay exactly as they were). Departure 7: a new painting starts from the mean of
the base's paintings' scales and shifts (transformer.with_paintings), not from ones and zeros.

Departure 8 (train.style_scales, e.g. 1, 2, 4): the style loss at several scales, its mean over
them; at factor f the crops and the network's output are shrunk f times (Lanczos) and compared
with the painting shrunk f times. The optimisation's defaults paint most of their steps at 1/4 and
1/2 of the final size, where VGG's deeper layers see the painting's large strokes and swirls; a
network judged against them needs those scales in its loss (Johnson et al. train one scale).

Departure 9 (train.shift_weight): a term that asks the result of the photos moved by 1-3 px to be
the result moved alike (shift_error). Without it, networks trained here laid a pattern locked to
their stride-4 grid over every picture.

Departure 10 (train.motion_weight): a term for video (Ruder et al. 2018): the result of the
photos moved by a small camera motion (a sub-pixel shift, a zoom, a turn) must be the result
moved alike (motion_error), so that a clip's frames, each through the network, do not flicker.
With train.motion_noise the moved photos are also noisy (Gupta et al. 2017), as a real camera's
next frame is: 4x less sensitive to noise, but the strokes soften (docs/video.md: not bundled).

Departure 11 (train.teacher_weight, with a `teacher`): distillation (Hinton et al. 2015): the
result must be a trained network's for the same photos and painting (teacher_error), so a narrower
network learns in a few thousand cheap steps what its teacher learnt from the perceptual loss.
With the content and style weights 0 the step makes no VGG pass at all (0.26-0.32 s a step of a
quarter-width network on a 2-core Zen 5, against 1.1-1.3 s with the perceptual terms): how
`starry_wave_quarter`, for video on CPUs without bfloat16, began (benchmarks/train_pretrained.sh).

Checkpoints (tf.train.CheckpointManager): the network's weights by path, Adam's state and the step; `train` resumes
from the latest, and because the photo stream is a function of the seed and the step
(photos.crop_batches), a resumed run computes what an uninterrupted one would, bit for bit on
one machine. Progress goes to a callback(step, terms); the core never prints.

Distribution: under a tf.distribute strategy (MirroredStrategy, MultiWorkerMirroredStrategy,
TPUStrategy) each replica takes its share of the global batch and the gradients are summed
across replicas (the loss is divided by the global batch), so a step equals the one-device step on
the same global batch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import keras
import tensorflow as tf

from style_transfer import losses, resample, targets, transformer, vgg
from style_transfer.config import FeatureConfig, LossConfig, NetworkConfig, TrainConfig, TrainingSetup

# callback(step, terms): after each step, its number (1-based) and the batch's mean loss terms.
Progress = Callable[[int, Mapping[str, float]], None]

# What a network is trained with unless told otherwise: Johnson et al.'s layers, our weights.
NETWORK_LOSS = TrainingSetup().loss


def extractor_for_training(
    features: FeatureConfig, loss: LossConfig, precision: str, seed: int = 0
) -> vgg.FeatureExtractor:
    """The VGG features the loss reads, in `precision` (resolved: "float32", "bfloat16", ...);
    random weights ("none", for tests) are seeded by `seed`, as vgg.extractor_for seeds them."""
    if features.weights == "none":
        keras.utils.set_random_seed(seed)
    return vgg.build_extractor(
        features.network, features.weights, loss.content_layers + loss.style_layers, precision, features.pooling
    )


def shrunk(images: tf.Tensor, factor: float) -> tf.Tensor:
    """[N, H, W, 3] of a static shape -> [N, round(H / factor), round(W / factor), 3] (Lanczos)."""
    if factor == 1:
        return images
    size = (round(int(images.shape[1]) / factor), round(int(images.shape[2]) / factor))
    return resample.to_size(images, size, static=True)


def make_strategy(train: TrainConfig) -> tf.distribute.Strategy:
    """The strategy train.distribution_strategy asks for (distribute.make_strategy's, and
    "multi_worker": MultiWorkerMirroredStrategy over the machines TF_CONFIG lists, each running
    the same command); the default strategy where "auto" finds one device. ConfigError (one line)
    where the global batch does not split evenly over the replicas, or TF_CONFIG is missing."""
    import json
    import os

    from style_transfer import distribute
    from style_transfer.config import RuntimeConfig
    from style_transfer.errors import ConfigError, named

    if train.distribution_strategy == "multi_worker":
        if not os.environ.get("TF_CONFIG"):
            raise ConfigError(
                f"{named('distribution_strategy')}=multi_worker needs TF_CONFIG (the workers' addresses and this "
                "one's index) in the environment of every worker"
            )
        try:
            json.loads(os.environ["TF_CONFIG"])
        except ValueError:
            raise ConfigError("TF_CONFIG is not JSON: see README, Fast stylisation, for its form") from None
        strategy: tf.distribute.Strategy | None = tf.distribute.MultiWorkerMirroredStrategy()
    else:
        runtime = RuntimeConfig(distribution_strategy=train.distribution_strategy, tpu=train.tpu)
        strategy = distribute.make_strategy(runtime, photos=train.batch_size)
    strategy = strategy or tf.distribute.get_strategy()
    if train.batch_size % strategy.num_replicas_in_sync:
        raise ConfigError(
            f"{named('batch_size')} {train.batch_size} does not split over {strategy.num_replicas_in_sync} "
            "replicas: give a multiple"
        )
    return strategy


def shift_error(
    network: transformer.TransformerNet, photos: tf.Tensor, generated: tf.Tensor, style_weights, step, margin: int
) -> tf.Tensor:
    """Departure 9: how much the network's result moves other than with the photo, [N].

    The network is equivariant only to shifts by multiples of its stride, 4 px: what it paints at a
    pixel may depend on the pixel's position modulo 4, and trained networks use that to lay one
    pattern of period 4 px over every picture (docs/networks.md: the shipped network's spectrum
    peaks at exactly 1/4 cycle a pixel). Here the photos [N, H, W, 3] lose their first dy rows and
    dx columns, (dy, dx) cycling with `step` over 1..3 x 1..3 (never a multiple of 4); the result
    for them must be `generated` [N, H, W, 3] (the photos' result) moved alike. The error is the
    mean squared difference in [0, 1] units away from `margin` px of the borders (train.shift_margin;
    0: everywhere). A texture that follows the photo costs nothing here; one locked to the network's
    grid does. (Ruder et al. 2018 train video networks on such synthesised motion; here it serves
    single pictures.)
    """
    step = tf.cast(step, tf.int32)
    dy, dx = 1 + step % 3, 1 + (step // 3) % 3
    moved = network(photos[:, dy:, dx:], style_weights)  # [N, H - dy, W - dx, 3]
    height, width = tf.shape(moved)[1], tf.shape(moved)[2]
    difference = moved - generated[:, dy:, dx:]
    inside = difference[:, margin : height - margin, margin : width - margin]  # (not m:-m: empty at 0)
    return tf.reduce_mean(tf.square(inside), axis=[1, 2, 3])


# The synthetic camera motion of the motion term (Ruder et al. 2018, section 5.2): per step, a
# translation of up to this many px, a zoom of up to this share and a turn of up to this many degrees.
MOTION_SHIFT, MOTION_ZOOM, MOTION_TURN = 4.0, 0.03, 2.0


def motion_flow(step, height, width) -> tf.Tensor:
    """A small camera motion for `step` (stateless: the same step, the same motion, so a resumed
    run is bit for bit): float32 [H, W, 2], for each pixel of the moved frame the offset (dx, dy)
    of where it was in the frame before (flow.warp's convention): a turn and a zoom about the
    centre, then a sub-pixel translation, each drawn uniformly up to MOTION_*."""
    u = tf.random.stateless_uniform([4], tf.stack([tf.cast(step, tf.int32), 9]), -1.0, 1.0)
    shift_x, shift_y = MOTION_SHIFT * u[0], MOTION_SHIFT * u[1]
    zoom, turn = 1.0 + MOTION_ZOOM * u[2], MOTION_TURN * u[3] * 3.141592653589793 / 180.0
    ys, xs = tf.meshgrid(tf.range(height, dtype=tf.float32), tf.range(width, dtype=tf.float32), indexing="ij")
    cy, cx = (tf.cast(height, tf.float32) - 1.0) / 2.0, (tf.cast(width, tf.float32) - 1.0) / 2.0
    source_x = zoom * (tf.cos(turn) * (xs - cx) - tf.sin(turn) * (ys - cy)) + cx + shift_x
    source_y = zoom * (tf.sin(turn) * (xs - cx) + tf.cos(turn) * (ys - cy)) + cy + shift_y
    return tf.stack([source_x - xs, source_y - ys], axis=-1)


def motion_error(
    network: transformer.TransformerNet,
    photos: tf.Tensor,
    generated: tf.Tensor,
    style_weights,
    step,
    margin: int,
    noise: float = 0.0,
) -> tf.Tensor:
    """Departure 10 (train.motion_weight): how much the network's result for the next frame of a
    clip differs from its result for this frame carried along by the camera, [N].

    The photos [N, H, W, 3] are moved by a small camera motion (motion_flow: a turn, a zoom and a
    sub-pixel shift, as Ruder et al. 2018 synthesise training pairs from single pictures; no video
    data set is needed) and go through the network; `generated` [N, H, W, 3] (the photos' result)
    is moved alike (flow.warp, bilinear). The error is their mean squared difference in [0, 1]
    units where the moved frame comes from inside the photo, `margin` px from its borders. A
    result that follows the picture costs nothing; strokes that jump when the picture moves a
    fraction of a pixel (flicker) do. shift_error is its whole-pixel, translation-only cousin.

    `noise` (train.motion_noise): the moved photos also get Gaussian noise of that standard
    deviation (stateless in `step`), clipped to [0, 1]: a real clip's next frame is the last one
    moved *and* noisy (sensor, compression), and strokes that follow the noise flicker too (Gupta
    et al. 2017 train against noise alone).
    """
    from style_transfer import flow

    height, width = tf.shape(photos)[1], tf.shape(photos)[2]
    offsets = motion_flow(step, height, width)  # [H, W, 2]
    next_frame = flow.warp(photos, offsets)  # [N, H, W, 3]
    if noise:
        seed = tf.stack([tf.cast(step, tf.int32), 10])
        next_frame = tf.clip_by_value(next_frame + noise * tf.random.stateless_normal(tf.shape(photos), seed), 0.0, 1.0)
    moved = network(next_frame, style_weights)  # the next frame's result
    carried = flow.warp(generated, offsets)  # this frame's result, moved by the camera
    ys, xs = tf.meshgrid(tf.range(height, dtype=tf.float32), tf.range(width, dtype=tf.float32), indexing="ij")
    x, y, m = xs + offsets[..., 0], ys + offsets[..., 1], float(margin)
    inside = (
        (x >= m) & (x <= tf.cast(width, tf.float32) - 1.0 - m) & (y >= m) & (y <= tf.cast(height, tf.float32) - 1.0 - m)
    )
    inside = tf.cast(inside, tf.float32)[None, ..., None]  # [1, H, W, 1]
    squared = tf.reduce_sum(inside * tf.square(moved - carried), axis=[1, 2, 3])
    return squared / (3.0 * tf.maximum(tf.reduce_sum(inside), 1.0))


def teacher_error(
    teacher: transformer.TransformerNet, photos: tf.Tensor, generated: tf.Tensor, style_weights
) -> tf.Tensor:
    """Departure 11 (train.teacher_weight): the mean squared difference, in [0, 1] units, between
    `generated` [N, H, W, 3] and the teacher's result for the same photos [N, H, W, 3] and style
    weights [N, S] (no gradient reaches the teacher), [N]."""
    taught = tf.stop_gradient(teacher(photos, style_weights))
    return tf.reduce_mean(tf.square(generated - taught), axis=[1, 2, 3])


class Trainer:
    """A network, its optimiser and the loss against `paintings` (each [1, h, w, 3] in [0, 1]).

    trainer.train(batches, steps, checkpoints, callback) runs the loop (module docstring);
    trainer.network is the TransformerNet, conditional over the paintings in their order. With
    `base` (a trained TransformerNet), start from its weights: `add=False` fine-tunes all of them on
    `paintings`, as many as the base's; `add=True` makes a network of the base's paintings followed
    by `paintings` and trains only those paintings' scales and shifts. With `teacher` (a trained
    TransformerNet of as many paintings as the network, in its order) and train.teacher_weight, the
    loss gains the teacher term (departure 11).
    """

    def __init__(
        self,
        extractor: vgg.FeatureExtractor,
        paintings: Sequence[tf.Tensor],
        loss: LossConfig = NETWORK_LOSS,
        network: NetworkConfig | None = None,
        train: TrainConfig | None = None,
        strategy: tf.distribute.Strategy | None = None,
        base: transformer.TransformerNet | None = None,
        add: bool = False,
        teacher: transformer.TransformerNet | None = None,
    ):
        from style_transfer.errors import ConfigError

        network, train = (network or NetworkConfig()).validate(), (train or TrainConfig()).validate()
        loss.validate()
        self.extractor, self.loss_config, self.train_config = extractor, loss, train
        self.strategy = strategy or tf.distribute.get_strategy()
        # Each painting's row in the network's scales and shifts: after the base's when adding.
        first = base.styles if base is not None and add else 0
        self.rows = [first + p for p in range(len(paintings))]
        if base is not None and not add and base.styles != len(paintings):
            raise ConfigError(
                f"the base network has {base.styles} painting(s) and {len(paintings)} were given to fine-tune it on: "
                "give its paintings, in its order, or add new ones"
            )
        if add and base is None:
            raise ConfigError("adding paintings needs a base network to add them to")
        if train.teacher_weight and teacher is None:
            raise ConfigError("the teacher term (teacher_weight > 0) needs a teacher network")
        self.teacher = teacher if train.teacher_weight else None
        start = transformer.with_paintings(base, len(paintings)) if add and base is not None else base
        with self.strategy.scope():
            width, styles = (start.width, start.styles) if start is not None else (network.width, len(paintings))
            self.network = transformer.build(width, styles, seed=train.seed)
            if start is not None:
                transformer.copy_weights(start, self.network)
            # What Adam moves: every weight, or, adding paintings, the paintings' scales and shifts
            # (the base's rows get no gradient, so they stay exactly as they were).
            self.trained = transformer.style_parameters(self.network) if add else self.network.trainable_variables
            self.optimizer = keras.optimizers.Adam(train.learning_rate)
            self.optimizer.build(self.trained)
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        if self.teacher is not None and self.teacher.styles != self.network.styles:
            raise ConfigError(
                f"the teacher network has {self.teacher.styles} painting(s) and the network trained "
                f"{self.network.styles}: give a teacher of the same paintings, in the same order"
            )
        # The paintings' targets: built once, for the whole run (per painting, one per style scale).
        smallest = min(train.crop_size, *(min(p.shape[1:3]) for p in paintings)) / max(train.style_scales)
        if smallest < loss.min_side():
            raise ConfigError(
                f"style scale {max(train.style_scales):g} shrinks the crops or a painting below {loss.min_side()} px, "
                "the least the style layers take: give smaller scales or larger crops"
            )
        self.style_targets = [
            [targets.build_style_targets(extractor, [shrunk(p, factor)], loss) for factor in train.style_scales]
            for p in paintings
        ]
        self._steps: dict[int, Callable] = {}

    @property
    def paintings(self) -> int:
        return len(self.style_targets)

    def loss_terms(self, photos: tf.Tensor, painting: int) -> dict[str, tf.Tensor]:
        """The loss terms [N] of the network's stylisation of `photos` as painting `painting`."""
        weights = tf.one_hot(tf.fill(tf.shape(photos)[:1], self.rows[painting]), self.network.styles)
        generated = self.network(photos, weights)
        terms = self._perceptual_terms(photos, generated, painting)
        config = self.train_config
        if config.shift_weight:
            # Departure 9: the result of the photos moved by a few pixels is the result moved alike.
            shift = config.shift_weight * shift_error(
                self.network, photos, generated, weights, self.step, config.shift_margin
            )
            terms = {**terms, "shift": shift, "total": terms["total"] + shift}
        if config.motion_weight:
            # Departure 10: the next frame of a clip (a small camera motion): its result is this one's moved alike.
            motion = config.motion_weight * motion_error(
                self.network, photos, generated, weights, self.step, config.shift_margin, config.motion_noise
            )
            terms = {**terms, "motion": motion, "total": terms["total"] + motion}
        if self.teacher is not None:
            # Departure 11: the teacher's result for the same photos and painting (distillation).
            taught = config.teacher_weight * teacher_error(self.teacher, photos, generated, weights)
            terms = {**terms, "teacher": taught, "total": terms["total"] + taught}
        return terms

    def _perceptual_terms(self, photos: tf.Tensor, generated: tf.Tensor, painting: int) -> dict[str, tf.Tensor]:
        """The package's loss terms [N] of `generated`, the network's result for `photos`."""
        config, scales = self.loss_config, self.style_targets[painting]
        if not (config.content_weight or config.style_weight):  # distillation alone (departure 11): no VGG pass
            zero = tf.zeros(tf.shape(generated)[:1])
            return losses.weighted(zero, zero, losses.tv_loss(generated) if config.tv_weight else zero, config)
        content, style = targets.for_photos(self.extractor(photos), scales[0], config)
        terms = losses.loss_terms(self.extractor(generated), content, style, generated, config)
        if len(scales) == 1 or not config.style_weight:
            return terms
        # Departure 8: the style term is the mean over the scales.
        styles = [terms["style"]]
        for factor, painting_targets in zip(self.train_config.style_scales[1:], scales[1:], strict=True):
            _, style = targets.for_photos(self.extractor(shrunk(photos, factor)), painting_targets, config)
            styles.append(config.style_weight * losses.style_loss(self.extractor(shrunk(generated, factor)), style))
        mean = tf.add_n(styles) / len(styles)
        return {**terms, "style": mean, "total": terms["total"] - terms["style"] + mean}

    def _replica_step(self, photos: tf.Tensor, painting: int) -> dict[str, tf.Tensor]:
        global_batch = float(self.train_config.batch_size)
        with tf.GradientTape() as tape:
            terms = self.loss_terms(photos, painting)
            objective = tf.reduce_sum(terms["total"]) / global_batch  # summed over replicas: the mean
        variables = self.trained
        self.optimizer.apply_gradients(zip(tape.gradient(objective, variables), variables, strict=True))
        return {name: tf.reduce_sum(value) / global_batch for name, value in terms.items()}

    def step_function(self, painting: int) -> Callable:
        """The compiled step for `painting` (traced once per painting): photos -> mean terms."""
        if painting not in self._steps:

            def distributed(photos):
                per_replica = self.strategy.run(self._replica_step, args=(photos, painting))
                return {
                    name: self.strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)
                    for name, value in per_replica.items()
                }

            self._steps[painting] = tf.function(distributed, autograph=False)
        return self._steps[painting]

    def checkpoint(self) -> tf.train.Checkpoint:
        """The run's state: every network weight by its path (tf.train does not follow a Keras 3
        model's lists of layers, so `network=model` alone would miss most), Adam's, the step."""
        weights = {transformer.weight_name(w).replace("/", "."): w.value for w in self.network.weights}
        return tf.train.Checkpoint(weights=weights, optimizer=self.optimizer, step=self.step)

    def restore(self, path: str) -> None:
        """Restore the checkpoint at `path` (written by this trainer's checkpoint())."""
        try:
            self.checkpoint().restore(path).assert_existing_objects_matched()
        except AssertionError:
            # Written before the weights were saved by path: they are there as Adam's variables.
            former = tf.train.Checkpoint(network=self.network, optimizer=self.optimizer, step=self.step)
            former.restore(path).assert_existing_objects_matched()

    def train(
        self,
        batches: Callable[[int], tf.data.Dataset],
        checkpoints: str | None = None,
        callback: Progress | None = None,
    ) -> dict[str, float]:
        """Train to train_config.steps; batches(start_step) gives the photo stream from a step
        (photos.crop_batches). With `checkpoints` (a folder), resume from its latest checkpoint and
        save every checkpoint_every steps, at the end, and at a KeyboardInterrupt from `callback`
        (a stop between two steps: the step just done is kept). Returns the last step's mean terms."""
        config = self.train_config
        manager = None
        if checkpoints:
            manager = tf.train.CheckpointManager(self.checkpoint(), checkpoints, max_to_keep=config.keep_checkpoints)
            if manager.latest_checkpoint:
                self.restore(manager.latest_checkpoint)
        start = int(self.step.numpy())
        terms: dict[str, float] = {}
        if start >= config.steps:
            return terms
        stream = self.strategy.experimental_distribute_dataset(batches(start))
        for photos in stream:
            step = int(self.step.numpy())
            values = self.step_function(step % self.paintings)(photos)
            self.step.assign_add(1)
            terms = {name: float(value) for name, value in values.items()}
            try:
                if callback is not None:
                    callback(step + 1, terms)
            except KeyboardInterrupt:  # a stop asked for between two steps: keep this one
                if manager is not None:
                    manager.save(checkpoint_number=step + 1)
                raise
            done = step + 1 >= config.steps
            if manager is not None and ((step + 1) % config.checkpoint_every == 0 or done):
                manager.save(checkpoint_number=step + 1)
            if done:
                break
        return terms
