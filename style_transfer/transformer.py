"""The feed-forward stylisation network: photos -> network -> stylised images, in one pass.

Johnson, Alahi & Fei-Fei (2016) as the field settled it (pytorch/examples' fast_neural_style,
magenta's image_stylization):

    image [N, H, W, 3] in [0, 1]
    -> reflect-pad H and W to multiples of 4
    -> conv 9x9, 32w -> conv 3x3 /2, 64w -> conv 3x3 /2, 128w    (each: instance norm, ReLU)
    -> 5 residual blocks, 128w                                    (conv, IN, ReLU, conv, IN, + input)
    -> 2 x (nearest-neighbour upsampling x2, conv 3x3)            (64w, 32w; IN, ReLU)
    -> conv 9x9, 3 -> sigmoid -> crop back to H, W
    image [N, H, W, 3] in [0, 1]

with `w` the width multiplier (1: ~1.68 M parameters; 0.5: ~0.42 M). Every convolution pads by
reflection ("valid" convolutions after tf.pad REFLECT), so borders carry no zero frame.

Departures from Johnson et al., each the field's later consensus:
1. Instance normalisation instead of batch normalisation (Ulyanov et al. 2016).
2. Nearest-neighbour upsampling then a convolution instead of transposed convolutions, which
   leave checkerboards (Odena et al. 2016).
3. Conditional instance normalisation (Dumoulin et al. 2017): every normalisation has one scale
   and shift per painting, [S, C]; the network takes style weights [N, S] (one-hot: one painting;
   a blend mixes the paintings' scales and shifts). A network of one painting is S = 1.
4. A sigmoid output in [0, 1] (the package's image contract) instead of Johnson's scaled tanh.
5. No residual ReLU after the addition (Gross & Wilber 2016), as pytorch/examples.

Contract: `TransformerNet(images, style_weights)` takes float32 RGB [N, H, W, 3] in [0, 1] (H, W
>= MIN_SIZE) and style weights float32 [N, S] (each row summing to 1; None: the first painting)
and returns float32 RGB [N, H, W, 3] in [0, 1]; any H and W. An optional `moments` (Moments)
records the instance norms' statistics or replays recorded ones: how network_tiles.py normalises
every tile of a huge picture with one set of statistics.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from style_transfer import devices
from style_transfer.errors import ConfigError

# Channels of the full-width network, by stage (times the width multiplier, at least 4 each).
CHANNELS = (32, 64, 128)
RESIDUAL_BLOCKS = 5
NORMS = 3 + 2 * RESIDUAL_BLOCKS + 2  # instance norms in a pass: down, two a residual block, up
# The smallest side the network takes: the 1/4-resolution map must be at least 2 px for a 3x3
# reflection pad. Smaller inputs are a one-line error (check_size).
MIN_SIZE = 8
INSTANCE_NORM_EPSILON = 1e-5


def channels(width: float) -> tuple[int, int, int]:
    """The three stage widths for width multiplier `width` (rounded, at least 4)."""
    return tuple(max(4, round(c * width)) for c in CHANNELS)  # type: ignore[return-value]


class Moments:
    """The instance norms' statistics of one pass, in call order: `Moments()` records them (each
    norm's mean and variance over H, W: float32 [N, 1, 1, C]), `Moments(recorded.values)` replays
    them, so a pass normalises with another pass's statistics instead of its input's own."""

    def __init__(self, replay: list[tuple[tf.Tensor, tf.Tensor]] | None = None, observe=None):
        # observe(index, x): shown each norm's input x [N, H, W, C] float32 (network_tiles measures
        # the whole picture's statistics from its tiles' inputs).
        self.replaying, self.observe = replay is not None, observe
        self.values: list[tuple[tf.Tensor, tf.Tensor]] = list(replay or [])
        self._next = 0

    def __call__(self, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """The (mean, variance) to normalise x [N, H, W, C] float32 with."""
        if self.observe is not None:
            self.observe(self._next if self.replaying else len(self.values), x)
        if not self.replaying:
            self.values.append(tf.nn.moments(x, axes=[1, 2], keepdims=True))
            return self.values[-1]
        if self._next == len(self.values):
            raise ValueError(f"Moments: {len(self.values)} recorded statistics replayed by a pass that needs more")
        self._next += 1
        return self.values[self._next - 1]


def check_size(height: int, width: int) -> None:
    if min(height, width) < MIN_SIZE:
        raise ConfigError(f"the network takes images of at least {MIN_SIZE} px a side, got {height}x{width}")


class ReflectConv(keras.layers.Layer):
    """A convolution padded by reflection: out [N, ceil(H/s), ceil(W/s), filters]."""

    def __init__(self, filters: int, kernel: int, stride: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.pad = kernel // 2
        self.conv = keras.layers.Conv2D(filters, kernel, strides=stride, padding="valid", name="conv")

    def build(self, input_shape):
        self.conv.build(input_shape)

    def call(self, x):
        p = self.pad
        return self.conv(tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], mode="REFLECT"))


class ConditionalInstanceNorm(keras.layers.Layer):
    """Instance normalisation with one scale and shift per painting (departures 1 and 3).

    x [N, H, W, C], style_weights [N, S] -> x normalised over H, W per image and channel, then
    times (style_weights @ scale) plus (style_weights @ shift), both [N, C]. Computed in float32.
    """

    def __init__(self, styles: int, **kwargs):
        super().__init__(**kwargs)
        self.styles = styles

    def build(self, input_shape):
        count = int(input_shape[-1])
        self.scale = self.add_weight(name="scale", shape=(self.styles, count), initializer="ones")
        self.shift = self.add_weight(name="shift", shape=(self.styles, count), initializer="zeros")

    def call(self, x, style_weights, moments=None):
        x = tf.cast(x, tf.float32)
        mean, variance = tf.nn.moments(x, axes=[1, 2], keepdims=True) if moments is None else moments(x)
        x = (x - mean) * tf.math.rsqrt(variance + INSTANCE_NORM_EPSILON)
        scale = tf.matmul(style_weights, tf.convert_to_tensor(self.scale))[:, None, None, :]  # [N, 1, 1, C]
        shift = tf.matmul(style_weights, tf.convert_to_tensor(self.shift))[:, None, None, :]
        return x * scale + shift


class ConvNormRelu(keras.layers.Layer):
    norms = 1  # instance norms in the block (network_tiles runs the network block by block)

    def __init__(self, filters: int, kernel: int, stride: int, styles: int, relu: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.conv = ReflectConv(filters, kernel, stride, name="conv")
        self.norm = ConditionalInstanceNorm(styles, name="norm", dtype="float32")  # also under a mixed policy
        self.relu = relu

    @property
    def filters(self) -> int:
        """Output channels."""
        return self.conv.conv.filters

    def build(self, input_shape):
        self.conv.build(input_shape)
        self.norm.build((*input_shape[:-1], self.filters))

    def call(self, x, style_weights, moments=None):
        x = self.norm(self.conv(x), style_weights, moments=moments)
        return tf.nn.relu(x) if self.relu else x


class Residual(keras.layers.Layer):
    """x + (conv, IN, ReLU, conv, IN)(x): no ReLU after the sum (departure 5)."""

    norms = 2

    def __init__(self, filters: int, styles: int, **kwargs):
        super().__init__(**kwargs)
        self.first = ConvNormRelu(filters, 3, 1, styles, name="first")
        self.second = ConvNormRelu(filters, 3, 1, styles, relu=False, name="second")

    @property
    def filters(self) -> int:
        """Output channels, as the input's."""
        return self.second.filters

    def build(self, input_shape):
        self.first.build(input_shape)
        self.second.build(input_shape)

    def call(self, x, style_weights, moments=None):
        y = self.second(self.first(x, style_weights, moments=moments), style_weights, moments=moments)
        return tf.cast(x, tf.float32) + y  # float32


class Upsample(keras.layers.Layer):
    """Nearest-neighbour x2, then conv, IN, ReLU (departure 2: no transposed convolution)."""

    norms = 1

    def __init__(self, filters: int, styles: int, **kwargs):
        super().__init__(**kwargs)
        self.block = ConvNormRelu(filters, 3, 1, styles, name="block")

    @property
    def filters(self) -> int:
        """Output channels."""
        return self.block.filters

    def build(self, input_shape):
        self.block.build(input_shape)

    def call(self, x, style_weights, moments=None):
        size = tf.shape(x)[1:3] * 2
        return self.block(tf.image.resize(x, size, method="nearest"), style_weights, moments=moments)


class TransformerNet(keras.Model):
    """The network (module docstring): TransformerNet(width, styles)(images, style_weights)."""

    def __init__(self, width: float = 1.0, styles: int = 1, **kwargs):
        super().__init__(**kwargs)
        if not 0 < width <= 4:
            raise ConfigError(f"the width multiplier must be in (0, 4], got {width}")
        if styles < 1:
            raise ConfigError(f"a network has at least one painting, got {styles}")
        self.width, self.styles = float(width), int(styles)
        c1, c2, c3 = channels(width)
        self.down = [
            ConvNormRelu(c1, 9, 1, styles, name="down1"),
            ConvNormRelu(c2, 3, 2, styles, name="down2"),
            ConvNormRelu(c3, 3, 2, styles, name="down3"),
        ]
        self.residuals = [Residual(c3, styles, name=f"residual{i}") for i in range(1, RESIDUAL_BLOCKS + 1)]
        self.up = [Upsample(c2, styles, name="up1"), Upsample(c1, styles, name="up2")]
        self.out = ReflectConv(3, 9, 1, name="out")

    def build(self, input_shape):
        # Each block built from its input's channel count: Keras would otherwise build the network
        # by tracing its call symbolically, layer within layer (~1 s a network on a CPU).
        channels = 3
        for block in self.blocks:
            block.build((None, None, None, channels))
            channels = block.filters
        self.out.build((None, None, None, channels))

    def get_config(self):
        return {"width": self.width, "styles": self.styles, "name": self.name}

    def default_style_weights(self, images) -> tf.Tensor:
        """The first painting for every image: [N, S] one-hot."""
        return tf.one_hot(tf.zeros(tf.shape(images)[:1], tf.int32), self.styles)

    @property
    def blocks(self) -> list[keras.layers.Layer]:
        """The blocks between the input and the output convolution, in order; each has `norms`
        instance norms and is called block(x, style_weights, moments=None)."""
        return [*self.down, *self.residuals, *self.up]

    def enter(self, images) -> tf.Tensor:
        """images [N, H, W, 3] in [0, 1] -> the first block's input, reflect-padded to multiples of 4
        (two stride-2 stages): [N, ceil4(H), ceil4(W), 3], centred on 0."""
        images = tf.cast(images, tf.float32)  # a mixed policy (bfloat16 convs) casts the inputs down
        height, width = tf.shape(images)[1], tf.shape(images)[2]
        x = tf.pad(images - 0.5, [[0, 0], [0, (-height) % 4], [0, (-width) % 4], [0, 0]], mode="REFLECT")
        # Computed paddings hide the channel count from shape inference; TFLite's converter needs it.
        return tf.reshape(x, tf.concat([tf.shape(x)[:3], [3]], axis=0))

    def leave(self, x, height, width) -> tf.Tensor:
        """The last block's output -> the image [N, height, width, 3] in [0, 1] (cropped back)."""
        x = tf.sigmoid(tf.cast(self.out(x), tf.float32))  # departure 4
        return x[:, :height, :width, :]

    def call(self, images, style_weights=None, moments=None):
        if style_weights is None:
            style_weights = self.default_style_weights(images)
        style_weights = tf.cast(style_weights, tf.float32)
        x = self.enter(images)
        for block in self.blocks:
            x = block(x, style_weights, moments=moments)
        return self.leave(x, tf.shape(images)[1], tf.shape(images)[2])


def build(width: float = 1.0, styles: int = 1, seed: int | None = None, precision: str = "float32") -> TransformerNet:
    """A TransformerNet with its weights created (seeded when `seed` is given); precision
    "bfloat16" or "float16": its convolutions in that type (Keras' mixed policy; weights, instance
    norms and the residual sums stay float32)."""
    if seed is not None:
        keras.utils.set_random_seed(seed)
    with devices.building_in(precision):
        network = TransformerNet(width, styles)
    network(tf.zeros([1, 16, 16, 3]), tf.ones([1, styles]) / styles)
    return network


def weight_name(weight) -> str:
    """A weight's path within its network, without the network's own (auto-numbered) name:
    "down1/conv/conv/kernel". The key of network files (networks.py) and checkpoints (training.py)."""
    return weight.path.split("/", 1)[1]


def style_parameters(network: TransformerNet) -> list:
    """The paintings' own weights: every instance norm's scale and shift, [S, C] each (row s is
    painting s's). What adding a painting trains; the convolutions are shared by all paintings."""
    norms = [layer for layer in network._flatten_layers() if isinstance(layer, ConditionalInstanceNorm)]
    return [weight for norm in norms for weight in (norm.scale, norm.shift)]


def copy_weights(source: TransformerNet, target: TransformerNet) -> None:
    """Give `target` (as wide as `source`, with at least its paintings) every weight of `source`;
    painting rows beyond source's keep target's values."""
    if target.width != source.width or target.styles < source.styles:
        raise ConfigError(
            f"a network of width {source.width:g} with {source.styles} painting(s) does not fit one of width "
            f"{target.width:g} with {target.styles}"
        )
    styles = {id(w) for w in style_parameters(target)}
    values = {weight_name(w): w for w in source.weights}
    for into in target.weights:
        value = tf.convert_to_tensor(values[weight_name(into)])
        if id(into) in styles:  # [S, C]: the source's paintings are the first rows
            value = tf.concat([value, tf.convert_to_tensor(into)[source.styles :]], axis=0)
        into.assign(value)


def with_paintings(network: TransformerNet, added: int) -> TransformerNet:
    """A copy of `network` with `added` more paintings after its own (departure 7, training.py:
    each new painting's scales and shifts start at the mean of the network's paintings', between
    them, where Dumoulin et al. start from ones and zeros). The network's own paintings compute
    exactly what they did."""
    if added < 1:
        raise ConfigError(f"adding paintings to a network needs at least one, got {added}")
    grown = build(network.width, network.styles + added)
    copy_weights(network, grown)
    for weight in style_parameters(grown):
        rows = tf.convert_to_tensor(weight)
        mean = tf.reduce_mean(rows[: network.styles], axis=0, keepdims=True)
        weight.assign(tf.concat([rows[: network.styles], tf.repeat(mean, added, axis=0)], axis=0))
    return grown


def painting_alone(network: TransformerNet, painting: int) -> list[float]:
    """The blend (for style_weights_for, stylize) that paints painting `painting` alone: one-hot, [S]."""
    return [float(k == painting) for k in range(network.styles)]


def style_weights_for(network: TransformerNet, batch: int, blend=None) -> tf.Tensor:
    """Style weights [batch, S] for `blend` (one weight per painting, normalised to sum to 1;
    None: the first painting). A blend of the wrong length is a one-line error."""
    if blend is None:
        return tf.one_hot(tf.zeros([batch], tf.int32), network.styles)
    blend = [float(b) for b in blend]
    if len(blend) != network.styles:
        raise ConfigError(f"this network has {network.styles} painting(s); got {len(blend)} blend weight(s)")
    if min(blend) < 0 or sum(blend) <= 0:
        raise ConfigError(f"blend weights must be >= 0 and not all zero, got {blend}")
    row = tf.constant([b / sum(blend) for b in blend], tf.float32)
    return tf.tile(row[None], [batch, 1])


def stylize(network: TransformerNet, images, blend=None) -> tf.Tensor:
    """images float32 [N, H, W, 3] in [0, 1] -> the network's stylisation, the same shape."""
    images = tf.convert_to_tensor(images, tf.float32)
    check_size(int(images.shape[1]), int(images.shape[2]))
    return network(images, style_weights_for(network, int(images.shape[0]), blend))
