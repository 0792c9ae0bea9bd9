"""The feed-forward network (transformer.py): its shape, any input size, conditional instance
normalisation against numpy, blends, and its one-line errors."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from style_transfer import transformer
from style_transfer.errors import ConfigError
from tests.conftest import conditional_network


@pytest.fixture(scope="module")
def conditional():
    return conditional_network()


def test_parameter_counts_are_johnsons():
    """Full width is Johnson et al.'s network (~1.68 M parameters), half width about a quarter."""
    full, half = transformer.build(1.0), transformer.build(0.5)
    assert 1.6e6 < full.count_params() < 1.75e6
    assert 0.40e6 < half.count_params() < 0.45e6
    assert transformer.channels(0.5) == (16, 32, 64)


def test_the_network_builds_from_channel_counts_without_a_call(monkeypatch):
    """TransformerNet.build creates every weight from the channel counts alone, with the names,
    shapes, order and (seeded) values Keras gives when it builds the network by tracing its call
    layer within layer, as it did before the layers had builds of their own (~1 s a network)."""
    import keras

    keras.utils.set_random_seed(3)
    network = transformer.TransformerNet(0.5, styles=2)
    network.build((None, None, None, 3))
    assert network.built and all(layer.built for layer in network._flatten_layers())
    shapes = {transformer.weight_name(w): tuple(w.shape) for w in network.weights}
    assert shapes["down1/conv/conv/kernel"] == (9, 9, 3, 16) and shapes["down1/norm/scale"] == (2, 16)
    assert shapes["residual5/second/conv/conv/kernel"] == (3, 3, 64, 64)
    assert shapes["up2/block/conv/conv/kernel"] == (3, 3, 32, 16) and shapes["out/conv/kernel"] == (9, 9, 16, 3)

    for layer in (transformer.ReflectConv, transformer.ConvNormRelu, transformer.Residual, transformer.Upsample):
        monkeypatch.setattr(layer, "build", keras.layers.Layer.build)  # Keras' default: build by calling
    monkeypatch.setattr(transformer.TransformerNet, "build", keras.Model.build)
    keras.utils.set_random_seed(3)
    traced = transformer.TransformerNet(0.5, styles=2)
    traced(tf.zeros([1, 16, 16, 3]), tf.ones([1, 2]) / 2)
    assert [(transformer.weight_name(w), tuple(w.shape)) for w in traced.weights] == list(shapes.items())
    for a, b in zip(network.weights, traced.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)


@pytest.mark.parametrize("size", [(8, 8), (37, 50), (64, 31)])
def test_any_size_in_gives_the_same_size_out_in_range(conditional, size):
    images = tf.random.stateless_uniform([2, *size, 3], seed=[1, 2])
    out = transformer.stylize(conditional, images).numpy()
    assert out.shape == (2, *size, 3) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    # Each image alone is what it is in the batch (instance normalisation: nothing crosses images).
    np.testing.assert_allclose(transformer.stylize(conditional, images[1:]).numpy(), out[1:], atol=1e-5)


def test_instance_norm_against_numpy():
    norm = transformer.ConditionalInstanceNorm(styles=3)
    x = np.random.default_rng(0).normal(2.0, 3.0, (2, 5, 6, 4)).astype(np.float32)
    norm.build(x.shape)
    scale = np.random.default_rng(1).normal(1.0, 0.5, (3, 4)).astype(np.float32)
    shift = np.random.default_rng(2).normal(0.0, 0.5, (3, 4)).astype(np.float32)
    norm.scale.assign(scale), norm.shift.assign(shift)
    weights = np.array([[1.0, 0.0, 0.0], [0.2, 0.3, 0.5]], np.float32)
    mean, var = x.mean(axis=(1, 2), keepdims=True), x.var(axis=(1, 2), keepdims=True)
    expected = (x - mean) / np.sqrt(var + transformer.INSTANCE_NORM_EPSILON)
    expected = expected * (weights @ scale)[:, None, None, :] + (weights @ shift)[:, None, None, :]
    np.testing.assert_allclose(norm(x, weights).numpy(), expected, rtol=1e-4, atol=1e-4)


def test_a_blend_mixes_the_paintings_parameters(conditional):
    """Blend weights (a, b) give the network whose every scale and shift is a x painting 1's +
    b x painting 2's: built here as a one-painting network with those parameters."""
    images = tf.random.stateless_uniform([1, 24, 32, 3], seed=[3, 4])
    first, second = (transformer.stylize(conditional, images, blend) for blend in ([1, 0], [0, 1]))
    assert float(tf.reduce_mean(tf.abs(first - second))) > 1e-3  # the paintings differ...
    assert transformer.painting_alone(conditional, 0) == [1.0, 0.0]  # the blends above, by painting
    assert transformer.painting_alone(conditional, 1) == [0.0, 1.0]
    np.testing.assert_allclose(transformer.stylize(conditional, images).numpy(), first.numpy())  # default: first
    mixed = transformer.build(width=0.25, styles=1)
    for source, target in zip(conditional.weights, mixed.weights, strict=True):
        value = source.numpy()
        if value.shape[:1] == (2,) and source.path.split("/")[-1] in ("scale", "shift"):
            value = 0.3 * value[:1] + 0.7 * value[1:]
        target.assign(value)
    blended = transformer.stylize(conditional, images, [3, 7]).numpy()  # normalised: 0.3, 0.7
    np.testing.assert_allclose(blended, transformer.stylize(mixed, images).numpy(), atol=1e-5)


def test_a_painting_added_starts_between_the_others_and_they_stay_as_they_were(conditional):
    """with_paintings: the network's own paintings compute exactly what they did; a new one starts
    at the mean of their scales and shifts, i.e. the equal blend of them (departure 7)."""
    images = tf.random.stateless_uniform([1, 24, 20, 3], seed=[7, 8])
    grown = transformer.with_paintings(conditional, 2)
    assert grown.styles == 4 and grown.width == conditional.width
    for blend in ([1, 0], [0, 1], [0.4, 0.6]):
        np.testing.assert_array_equal(
            transformer.stylize(grown, images, [*blend, 0, 0]).numpy(),
            transformer.stylize(conditional, images, blend).numpy(),
        )
    equal = transformer.stylize(conditional, images, [1, 1]).numpy()
    for new in ([0, 0, 1, 0], [0, 0, 0, 1]):
        np.testing.assert_allclose(transformer.stylize(grown, images, new).numpy(), equal, atol=1e-6)
    # The paintings' own parameters: two per instance norm, [S, C]; everything else is shared.
    own = transformer.style_parameters(grown)
    assert len(own) == 2 * transformer.NORMS and all(w.shape[0] == 4 for w in own)
    with pytest.raises(ConfigError, match="does not fit one of width 0.5"):
        transformer.copy_weights(conditional, transformer.build(0.5, 2))
    with pytest.raises(ConfigError, match="at least one"):
        transformer.with_paintings(conditional, 0)


def test_gradients_reach_every_weight(conditional):
    images = tf.random.stateless_uniform([2, 16, 16, 3], seed=[5, 6])
    with tf.GradientTape() as tape:
        out = conditional(images, tf.constant([[1.0, 0.0], [0.0, 1.0]]))
        loss = tf.reduce_mean(tf.square(out - 0.3))
    gradients = tape.gradient(loss, conditional.trainable_variables)
    assert all(g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in gradients)


def test_one_line_errors(conditional):
    with pytest.raises(ConfigError, match="at least 8 px a side, got 6x40"):
        transformer.stylize(conditional, tf.zeros([1, 6, 40, 3]))
    with pytest.raises(ConfigError, match="has 2 painting\\(s\\); got 3 blend weight"):
        transformer.stylize(conditional, tf.zeros([1, 16, 16, 3]), [1, 1, 1])
    with pytest.raises(ConfigError, match="not all zero"):
        transformer.stylize(conditional, tf.zeros([1, 16, 16, 3]), [0, 0])
    with pytest.raises(ConfigError, match="width multiplier"):
        transformer.TransformerNet(width=0)


def test_a_network_file_round_trips_and_bad_files_are_one_line_errors(conditional, tmp_path):
    from style_transfer import networks

    path = str(tmp_path / "net.npz")
    networks.save_network(conditional, path, ["starry", "wave"], {"steps": 3})
    loaded, header = networks.load_network(path)
    assert header["paintings"] == ["starry", "wave"] and header["notes"] == {"steps": 3} and loaded.styles == 2
    images = tf.random.stateless_uniform([1, 20, 28, 3], seed=[7, 8])
    for blend in ([1, 0], [0.4, 0.6]):
        np.testing.assert_array_equal(
            transformer.stylize(loaded, images, blend).numpy(), transformer.stylize(conditional, images, blend).numpy()
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.npz"]  # no temporary left
    low, _ = networks.load_network(path, "bfloat16")  # --model's convolutions where auto is bfloat16
    assert low.down[0].conv.conv.compute_dtype == "bfloat16" and loaded.down[0].conv.conv.compute_dtype == "float32"
    difference = np.abs(transformer.stylize(low, images).numpy() - transformer.stylize(loaded, images).numpy())
    assert 0 < difference.max() < 0.05  # the same weights, rounded
    with pytest.raises(networks.ModelError, match="no network file at .*missing.npz"):
        networks.load_network(str(tmp_path / "missing.npz"))
    (tmp_path / "photo.npz").write_bytes(b"\x89PNG not a network")
    with pytest.raises(networks.ModelError, match="photo.npz is not a network file"):
        networks.load_network(str(tmp_path / "photo.npz"))
    np.savez(tmp_path / "arrays.npz", x=np.zeros(3))
    with pytest.raises(networks.ModelError, match="arrays.npz is not a network file"):
        networks.load_network(str(tmp_path / "arrays.npz"))
    with pytest.raises(networks.ModelError, match="1 painting name\\(s\\) for a network of 2"):
        networks.save_network(conditional, path, ["starry"])


def test_a_bundled_network_is_found_by_name(conditional, tmp_path, monkeypatch):
    """Wherever a network file is taken, a bundled network's name is too; an unknown name lists
    the bundled ones."""
    from style_transfer import networks

    monkeypatch.setattr(networks, "_DATA", str(tmp_path))
    networks.save_network(conditional, str(tmp_path / "duo.npz"), ["starry", "wave"])
    (tmp_path / "chelsea.png").write_bytes(b"")  # other package data is not a network
    assert networks.bundled() == ["duo"]
    assert networks.resolve("duo") == str(tmp_path / "duo.npz")
    assert networks.read_header("duo")["paintings"] == ["starry", "wave"]
    loaded, _ = networks.load_network("duo")
    images = tf.random.stateless_uniform([1, 16, 16, 3], seed=[1, 2])
    np.testing.assert_array_equal(loaded(images).numpy(), conditional(images).numpy())
    with pytest.raises(networks.ModelError, match=r"no network file at trio \(the bundled networks, by name: duo\)"):
        networks.load_network("trio")


def test_a_network_built_in_bfloat16_computes_its_convolutions_in_it():
    """build(precision=...): Keras' mixed policy for the convolutions only, the policy restored."""
    import keras

    low = transformer.build(width=0.25, styles=1, seed=0, precision="bfloat16")
    assert keras.config.dtype_policy().name == "float32"
    full = transformer.build(width=0.25, styles=1, seed=0)
    full.set_weights(low.get_weights())  # variables stay float32 in both
    assert low.down[0].conv.conv.compute_dtype == "bfloat16" and low.down[0].norm.compute_dtype == "float32"
    images = tf.random.stateless_uniform([1, 24, 24, 3], seed=[3, 4])
    out_low, out_full = transformer.stylize(low, images).numpy(), transformer.stylize(full, images).numpy()
    assert out_low.dtype == np.float32
    assert 0 < np.abs(out_low - out_full).max() < 0.05  # rounded, not another network
