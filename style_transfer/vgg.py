"""VGG feature extractor: an image in, a dict of named activations out.

Contract: `FeatureExtractor(image)` takes float32 RGB in [0, 1], NHWC [N, H, W, 3] (any H, W >= 1;
tiny images just give 1x1 maps deep down) and returns {Keras layer name: float32 [N, h, w, C]}.
Caffe-mode preprocessing (`keras.applications.vgg19.preprocess_input`: RGB -> BGR, ImageNet mean
subtracted, 0..255 scale) happens inside, so callers never see it.

The Keras model stops at the deepest requested layer: nothing after it is built or run.
"""

from __future__ import annotations

import collections
import os
from collections.abc import Sequence

import keras
import tensorflow as tf

from style_transfer import devices
from style_transfer.config import Config
from style_transfer.errors import ConfigError, WeightsError, named

_CONVS_PER_BLOCK = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}


def _layer_names(convs_per_block: Sequence[int]) -> tuple[str, ...]:
    names = []
    for block, convs in enumerate(convs_per_block, start=1):
        names += [f"block{block}_conv{i}" for i in range(1, convs + 1)] + [f"block{block}_pool"]
    return tuple(names)


# Every layer an extractor can return, in network order (Keras' names).
LAYER_NAMES = {network: _layer_names(convs) for network, convs in _CONVS_PER_BLOCK.items()}

_CONSTRUCTORS = {"vgg16": keras.applications.VGG16, "vgg19": keras.applications.VGG19}
_PREPROCESS = {
    "vgg16": keras.applications.vgg16.preprocess_input,
    "vgg19": keras.applications.vgg19.preprocess_input,
}
_WEIGHTS_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/{net}/"
    "{net}_weights_tf_dim_ordering_tf_kernels_notop.h5"
)


def check_layers(network: str, layers: Sequence[str]) -> None:
    """Raise ConfigError naming the valid layers if any of `layers` is not in `network`."""
    if network not in LAYER_NAMES:
        raise ConfigError(f"unknown network {network!r}; use one of {', '.join(LAYER_NAMES)}")
    unknown = [name for name in layers if name not in LAYER_NAMES[network]]
    if unknown:
        raise ConfigError(
            f"unknown {network} layer(s) {', '.join(unknown)}; valid layers are: " + ", ".join(LAYER_NAMES[network])
        )


def keras_cache_path(network: str) -> str:
    """Where Keras keeps (and looks for) the downloaded ImageNet weights of `network`."""
    try:  # Keras fixes its home ($KERAS_HOME or ~/.keras) when it is imported.
        from keras.src.backend.config import keras_home

        home = keras_home()
    except ImportError:  # a Keras without that private accessor: same rule, read now
        home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(home, "models", os.path.basename(_WEIGHTS_URL.format(net=network)))


class FeatureExtractor:
    """Callable: float32 RGB [N, H, W, 3] in [0, 1] -> {layer name: float32 [N, h, w, C]}."""

    def __init__(self, model: keras.Model, network: str, layers: Sequence[str]):
        self.model = model
        self.network = network
        self.layers = tuple(layers)
        self._preprocess = _PREPROCESS[network]
        # The optimisation steps compiled for objectives on this network (compiled.steps_for keeps
        # them here, so that they live as long as the network whose weights their graphs hold).
        self.compiled_steps: dict = {}

    def __call__(self, image: tf.Tensor) -> dict[str, tf.Tensor]:
        # preprocess_input expects 0..255 RGB and returns BGR minus the ImageNet mean ("caffe").
        x = self._preprocess(tf.convert_to_tensor(image, tf.float32) * 255.0)
        features = self.model(x, training=False)
        return {name: tf.cast(features[name], tf.float32) for name in self.layers}


def build_extractor(
    network: str = "vgg19",
    weights: str = "imagenet",
    layers: Sequence[str] = ("block4_conv2",),
    precision: str = "float32",
    pooling: str = "max",
) -> FeatureExtractor:
    """A frozen VGG feature extractor returning `layers` by name.

    weights: "imagenet" (Keras downloads once into ~/.keras/models and reuses the cache), "none"
    (random initialisation: for tests of mechanics only; seed it with keras.utils.set_random_seed)
    or the path of a Keras weights file for the full `include_top=False` network.
    precision: "float32", or "bfloat16" / "float16" for Keras' mixed policies (float32 weights,
    convolutions in the reduced type); the returned features are always cast to float32.
    pooling: "max" (as trained) or "avg": each max pooling replaced by an average pooling of the
    same window (Gatys et al. 2016, section 2; the convolutions keep their weights).
    """
    layers = tuple(dict.fromkeys(layers))  # unique, order kept
    if not layers:
        raise ConfigError("no layers requested; name at least one content or style layer")
    check_layers(network, layers)
    with devices.building_in(precision):
        base = _load_base(network, weights)
        if pooling == "avg":
            base = _with_average_pooling(base)
        elif pooling != "max":
            raise ConfigError(f"unknown pooling {pooling!r}; use max or avg")
    # Truncate: a functional model from the input to these outputs contains only the layers on
    # the way to them, so nothing deeper than the deepest requested layer is computed.
    outputs = {name: base.get_layer(name).output for name in layers}
    model = keras.Model(base.input, outputs, name=f"{network}_features")
    model.trainable = False
    return FeatureExtractor(model, network, layers)


# extractor_for keeps the networks it built last, so that a session's later calls (a notebook's
# rows, stylize() called without an extractor) run on the same one, and the steps compiled for it
# (compiled.py) serve them too: ~0.2-0.4 s of building and ~0.3 s of tracing a scale each call.
KEPT_NETWORKS = 2
_kept: collections.OrderedDict[tuple, FeatureExtractor] = collections.OrderedDict()


def extractor_for(config: Config) -> FeatureExtractor:
    """The extractor a Config asks for: its network, weights and pooling (config.features), the
    layers its losses read (config.loss), in the precision config.runtime resolves to here; random
    weights are seeded by config.schedule.seed, so tests are reproducible. The last KEPT_NETWORKS
    built are kept and given again for the same settings (a weights file: while it is unchanged)."""
    features = config.features
    if features.weights == "none":
        keras.utils.set_random_seed(config.schedule.seed)
    precision = devices.resolved_precision(config.runtime.precision)
    layers = config.loss.content_layers + config.loss.style_layers
    key = (features.network, _weights_key(features.weights, config.schedule.seed), layers, precision, features.pooling)
    extractor = _kept.pop(key, None)
    if extractor is None:
        extractor = build_extractor(features.network, features.weights, layers, precision, pooling=features.pooling)
    _kept[key] = extractor  # the most recently used last
    while len(_kept) > KEPT_NETWORKS:
        _kept.popitem(last=False)
    return extractor


def _weights_key(weights: str, seed: int) -> tuple:
    """What identifies the weights: random ones by their seed, a file by its path, size and time."""
    if weights == "none":
        return (weights, seed)
    if weights == "imagenet":
        return (weights,)
    try:
        stat = os.stat(weights)
    except OSError:
        return (weights, None)  # build_extractor says what is wrong; nothing is kept
    return (os.path.abspath(weights), stat.st_size, stat.st_mtime_ns)


def _with_average_pooling(base: keras.Model) -> keras.Model:
    """The same (sequential) VGG with every MaxPooling2D replaced by an AveragePooling2D of the same
    window and name; each convolution rebuilt from its config with the same weights (Keras names
    must be unique per model, so the original layers cannot be shared)."""
    x = inputs = keras.Input(shape=(None, None, 3))
    for layer in base.layers[1:]:
        if isinstance(layer, keras.layers.MaxPooling2D):
            x = keras.layers.AveragePooling2D(layer.pool_size, layer.strides, layer.padding, name=layer.name)(x)
        else:
            copy = type(layer).from_config(layer.get_config())
            x = copy(x)
            copy.set_weights(layer.get_weights())
    return keras.Model(inputs, x, name=base.name)


def _load_base(network: str, weights: str) -> keras.Model:
    constructor = _CONSTRUCTORS[network]
    if weights == "none":
        return constructor(include_top=False, weights=None, input_shape=(None, None, 3))
    if weights == "imagenet":
        try:
            return constructor(include_top=False, weights="imagenet", input_shape=(None, None, 3))
        except Exception as e:  # noqa: BLE001 - Keras raises a bare Exception on a failed download.
            cache = keras_cache_path(network)
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise WeightsError(
                f"ImageNet weights for {network} are not in the Keras cache ({cache}) and could not "
                f"be downloaded ({reason}); download {_WEIGHTS_URL.format(net=network)} to {cache}, "
                f"or set {named('weights')}=PATH to a Keras weights file"
            ) from None
    if not os.path.isfile(weights):
        raise WeightsError(
            f"weights file {weights!r} does not exist; set {named('weights')}=imagenet or the path of a file"
        )
    try:
        return constructor(include_top=False, weights=weights, input_shape=(None, None, 3))
    except Exception as e:  # noqa: BLE001 - Keras/h5py raise ValueError, OSError, KeyError... on a bad file.
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise WeightsError(
            f"cannot load weights file {weights!r} into {network} ({reason[:300]}); pass a Keras "
            f"{network} include_top=False weights file"
        ) from None
