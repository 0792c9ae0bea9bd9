"""vgg.py: layer names, truncation, preprocessing inside, and weight-loading errors."""

import keras
import numpy as np
import pytest
from keras.src.utils import file_utils

from style_transfer import vgg
from style_transfer.errors import ConfigError, WeightsError


@pytest.mark.parametrize("network", ["vgg16", "vgg19"])
def test_layer_names_match_keras(network):
    model = vgg._CONSTRUCTORS[network](include_top=False, weights=None)
    keras_names = tuple(layer.name for layer in model.layers if layer.name.startswith("block"))
    assert vgg.LAYER_NAMES[network] == keras_names


def test_outputs_by_name_and_truncation():
    keras.utils.set_random_seed(0)
    layers = ("block3_conv1", "block1_conv1", "block2_conv2")
    extractor = vgg.build_extractor("vgg19", "none", layers)
    out = extractor(np.random.default_rng(0).random((1, 32, 40, 3)).astype(np.float32))
    assert set(out) == set(layers)
    assert out["block1_conv1"].shape == (1, 32, 40, 64)
    assert out["block2_conv2"].shape == (1, 16, 20, 128)
    assert out["block3_conv1"].shape == (1, 8, 10, 256)
    assert all(v.dtype == "float32" for v in out.values())
    # Nothing past the deepest requested layer is built.
    names = [layer.name for layer in extractor.model.layers]
    assert names[-1] == "block3_conv1"
    assert "block3_conv2" not in names and "block5_conv1" not in names


def test_preprocessing_is_caffe_mode_inside():
    """extractor(rgb in [0, 1]) == conv1_1 applied by hand to BGR*255 - ImageNet mean."""
    keras.utils.set_random_seed(1)
    extractor = vgg.build_extractor("vgg16", "none", ["block1_conv1"])
    image = np.random.default_rng(1).random((1, 5, 6, 3)).astype(np.float32)
    kernel, bias = extractor.model.get_layer("block1_conv1").get_weights()
    x = image[..., ::-1] * 255.0 - np.array([103.939, 116.779, 123.68], np.float32)
    padded = np.pad(x[0], ((1, 1), (1, 1), (0, 0)))
    expected = np.zeros((5, 6, 64), np.float32)
    for i in range(5):
        for j in range(6):
            expected[i, j] = np.tensordot(padded[i : i + 3, j : j + 3], kernel, axes=3) + bias
    expected = np.maximum(expected, 0)
    np.testing.assert_allclose(extractor(image)["block1_conv1"].numpy()[0], expected, rtol=1e-4, atol=1e-3)


def test_unknown_layer_lists_valid_ones():
    with pytest.raises(ConfigError, match="unknown vgg16 layer.*block4_conv4.*valid layers are: block1_conv1"):
        vgg.build_extractor("vgg16", "none", ["block1_conv1", "block4_conv4"])  # VGG19-only name


def test_missing_weights_file():
    with pytest.raises(WeightsError, match="does not exist"):
        vgg.build_extractor("vgg19", "/nonexistent/weights.h5", ["block1_conv1"])


def test_wrong_weights_file(tmp_path):
    bad = tmp_path / "bad.weights.h5"
    bad.write_bytes(b"not an hdf5 file")
    with pytest.raises(WeightsError, match="cannot load weights file"):
        vgg.build_extractor("vgg19", str(bad), ["block1_conv1"])


def test_imagenet_not_cached_and_not_downloadable(monkeypatch):
    """No cached file, no network: say where the file goes and how to pass one instead.

    (The CLI test does the same for real, in a subprocess with an empty KERAS_HOME.)
    """

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: offline")

    monkeypatch.setattr(file_utils, "get_file", offline)
    with pytest.raises(WeightsError) as error:
        vgg.build_extractor("vgg19", "imagenet", ["block1_conv1"])
    message = str(error.value)
    assert vgg.keras_cache_path("vgg19") in message
    assert vgg.keras_cache_path("vgg19").endswith("models/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5")
    assert "set weights=PATH" in message and "URL fetch failure" in message
    assert "\n" not in message


def test_average_pooling_keeps_the_convolutions_and_averages():
    layers = ("block1_conv2", "block1_pool", "block2_conv1")
    x = np.random.default_rng(0).random((1, 8, 8, 3)).astype(np.float32)
    keras.utils.set_random_seed(0)
    max_pooled = vgg.build_extractor("vgg16", "none", layers)(x)
    keras.utils.set_random_seed(0)
    extractor = vgg.build_extractor("vgg16", "none", layers, pooling="avg")
    assert isinstance(extractor.model.get_layer("block1_pool"), keras.layers.AveragePooling2D)
    avg_pooled = extractor(x)
    conv = max_pooled["block1_conv2"].numpy()
    np.testing.assert_array_equal(avg_pooled["block1_conv2"].numpy(), conv)  # same weights before the pooling
    windows = conv.reshape(1, 4, 2, 4, 2, -1)
    np.testing.assert_allclose(avg_pooled["block1_pool"].numpy(), windows.mean(axis=(2, 4)), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(max_pooled["block1_pool"].numpy(), windows.max(axis=(2, 4)))
    assert not np.allclose(avg_pooled["block2_conv1"].numpy(), max_pooled["block2_conv1"].numpy())


def test_extractor_for_gives_the_network_it_built_last_for_the_same_settings(tmp_path, monkeypatch):
    from style_transfer.config import Config

    monkeypatch.setattr(vgg, "_kept", type(vgg._kept)())
    config = Config(network="vgg16", weights="none", content_layers=("block1_conv2",), style_layers=("block1_conv1",))
    first = vgg.extractor_for(config)
    assert vgg.extractor_for(config) is first
    assert vgg.extractor_for(config.replace(seed=1)) is not first  # other random weights
    # A weights file: the same while it is unchanged, read again once rewritten.
    path = tmp_path / "vgg16.weights.h5"
    whole = keras.applications.VGG16(include_top=False, weights=None)
    whole.save_weights(path)
    from_file = vgg.extractor_for(config.replace(weights=str(path)))
    assert vgg.extractor_for(config.replace(weights=str(path))) is from_file
    whole.save_weights(path)
    assert vgg.extractor_for(config.replace(weights=str(path))) is not from_file
    # Only the last KEPT_NETWORKS are kept.
    monkeypatch.setattr(vgg, "KEPT_NETWORKS", 1)
    vgg.extractor_for(config.replace(seed=2))
    assert vgg.extractor_for(config) is not first and len(vgg._kept) == 1


def test_stylize_called_again_without_a_network_traces_nothing(monkeypatch):
    from style_transfer import multiscale
    from style_transfer.config import Config
    from tests.conftest import gradient_photo

    monkeypatch.setattr(vgg, "_kept", type(vgg._kept)())
    config = Config(network="vgg16", weights="none", max_size=32, steps=3, scales=1, precision="float32")
    photo, painting = gradient_photo(24, 32, 1), gradient_photo(20, 20, 2)
    first = multiscale.stylize(photo, painting, config)
    (kept,) = vgg._kept.values()
    (steps,) = kept.compiled_steps.values()
    again = multiscale.stylize(photo, painting, config)
    assert steps.function(False).experimental_get_tracing_count() == 1
    np.testing.assert_array_equal(again, first)
