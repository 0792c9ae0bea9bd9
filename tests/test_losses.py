"""losses.py against an independent numpy computation, and the normalisation properties."""

import numpy as np
import pytest
import tensorflow as tf

from style_transfer import losses, targets
from style_transfer.config import LossConfig
from style_transfer.losses import ContentTargets

RNG = np.random.default_rng(0)


def style_targets(paintings, blend=None, layer_weights=None) -> losses.StyleTargets:
    """The real builder (targets.build_style_targets), given features directly: the "extractor" is
    the identity and each painting is its {layer: features}."""
    names = tuple(layer_weights or paintings[0])
    weights = tuple(layer_weights[n] for n in names) if layer_weights else ()
    config = LossConfig(content_layers=(), style_layers=names, style_layer_weights=weights)
    return targets.build_style_targets(lambda features: features, paintings, config, blend)


def np_gram(f):  # f: [N, h, w, C]
    n, h, w, c = f.shape
    flat = f.reshape(n, h * w, c).astype(np.float64)
    return np.matmul(flat.transpose(0, 2, 1), flat) / (h * w)


def np_relative(x, target):
    return ((x - target) ** 2).reshape(len(x), -1).sum(1) / (target**2).reshape(len(target), -1).sum(1)


def features(*shape):
    return np.maximum(RNG.standard_normal(shape), 0).astype(np.float32)  # ReLU-like


def test_gram_matrix_matches_numpy():
    f = features(2, 5, 7, 4)
    np.testing.assert_allclose(losses.gram_matrix(f).numpy(), np_gram(f), rtol=1e-5)


def test_content_loss_matches_numpy():
    gen = {"a": features(1, 6, 6, 3), "b": features(1, 3, 3, 5)}
    tgt = {"a": features(1, 6, 6, 3), "b": features(1, 3, 3, 5)}
    expected = (np_relative(gen["a"], tgt["a"]) + np_relative(gen["b"], tgt["b"])) / 2
    np.testing.assert_allclose(losses.content_loss(gen, ContentTargets(tgt)).numpy(), expected[0], rtol=1e-5)


def test_style_loss_matches_numpy_with_layer_and_target_weights():
    gen = {"a": features(1, 8, 8, 3), "b": features(1, 4, 4, 6)}
    styles = [{"a": features(1, 5, 9, 3), "b": features(1, 3, 5, 6)} for _ in range(2)]
    target = style_targets(styles, blend=[3.0, 1.0], layer_weights={"a": 1.0, "b": 4.0})
    assert target.weights == (0.75, 0.25) and dict(target.layer_weights) == {"a": 0.2, "b": 0.8}
    expected = 0.0
    for style, t_weight in zip(styles, (0.75, 0.25), strict=True):
        for name, l_weight in (("a", 0.2), ("b", 0.8)):
            expected += t_weight * l_weight * np_relative(np_gram(gen[name]), np_gram(style[name]))[0]
    np.testing.assert_allclose(losses.style_loss(gen, target).numpy(), expected, rtol=1e-5)


def test_tv_loss_matches_numpy():
    image = RNG.random((2, 5, 6, 3)).astype(np.float32)
    dy = np.diff(image, axis=1) ** 2
    dx = np.diff(image, axis=2) ** 2
    expected = [(dy[i].sum() + dx[i].sum()) / (5 * 6 * 3) for i in range(2)]  # one per image
    np.testing.assert_allclose(losses.tv_loss(image).numpy(), expected, rtol=1e-5)
    assert losses.tv_loss(np.full((1, 4, 4, 3), 0.3, np.float32)).numpy() == 0.0
    assert losses.tv_loss(np.zeros((1, 1, 1, 3), np.float32)).numpy() == 0.0  # no NaN


def test_losses_are_zero_at_their_targets():
    f = {"a": features(1, 4, 4, 3)}
    assert losses.content_loss(f, ContentTargets(f)).numpy() == 0.0
    assert losses.style_loss(f, style_targets([f])).numpy() == pytest.approx(0.0, abs=1e-7)


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
def test_losses_do_not_depend_on_activation_scale(scale):
    """Normalisation: multiplying every activation by a constant (another network's scale)."""
    gen = {"a": features(1, 6, 6, 3)}
    tgt = {"a": features(1, 6, 6, 3)}
    scaled = lambda d: {k: v * scale for k, v in d.items()}  # noqa: E731
    base_content = losses.content_loss(gen, ContentTargets(tgt)).numpy()
    scaled_content = losses.content_loss(scaled(gen), ContentTargets(scaled(tgt))).numpy()
    np.testing.assert_allclose(scaled_content, base_content, rtol=1e-4)
    base_style = losses.style_loss(gen, style_targets([tgt])).numpy()
    scaled_style = losses.style_loss(scaled(gen), style_targets([scaled(tgt)])).numpy()
    np.testing.assert_allclose(scaled_style, base_style, rtol=1e-4)


def test_gram_and_style_loss_do_not_depend_on_image_size():
    """A texture tiled 2x2 has the same Gram matrix as one tile (positions are averaged)."""
    tile = features(1, 4, 5, 3)
    tiled = np.tile(tile, (1, 2, 2, 1))
    np.testing.assert_allclose(losses.gram_matrix(tiled).numpy(), losses.gram_matrix(tile).numpy(), rtol=1e-5)
    assert losses.style_loss({"a": tiled}, style_targets([{"a": tile}])).numpy() == pytest.approx(0.0, abs=1e-6)


def _style_loss_and_grad(batch, target):
    batch = tf.constant(batch)
    with tf.GradientTape() as tape:
        tape.watch(batch)
        loss = losses.style_loss({"x": batch}, target)
        total = tf.reduce_sum(loss)
    return loss.numpy(), tape.gradient(total, batch).numpy()


def test_batch_elements_are_independent():
    """Every loss is one value per image; the gradient of their sum is each image's own gradient."""
    a, b = features(1, 4, 4, 3), features(1, 4, 4, 3)
    target = style_targets([{"x": features(1, 4, 4, 3)}])
    loss_ab, grad_ab = _style_loss_and_grad(np.concatenate([a, b]), target)
    loss_a, grad_a = _style_loss_and_grad(a, target)
    loss_b, grad_b = _style_loss_and_grad(b, target)
    assert loss_ab.shape == (2,)
    np.testing.assert_allclose(loss_ab, np.concatenate([loss_a, loss_b]), rtol=1e-5)
    np.testing.assert_allclose(grad_ab, np.concatenate([grad_a, grad_b]), rtol=1e-4, atol=1e-8)
    image = np.random.default_rng(3).random((3, 5, 6, 3), np.float32)
    per_image = losses.tv_loss(image).numpy()
    np.testing.assert_allclose(per_image, [losses.tv_loss(image[i : i + 1]).numpy()[0] for i in range(3)], rtol=1e-6)
    content = losses.content_loss({"x": np.concatenate([a, b])}, ContentTargets({"x": b})).numpy()
    assert content.shape == (2,) and content[1] == 0.0 and content[0] > 0.0


def test_photo_normalisation_divides_each_layer_by_the_photos_own_error():
    photo = {"a": features(1, 8, 8, 3), "b": features(1, 4, 4, 6)}
    painting = {"a": 0.2 * features(1, 5, 9, 3), "b": 3.0 * features(1, 3, 5, 6)}  # one dark, one bright layer
    image = {"a": features(1, 8, 8, 3), "b": features(1, 4, 4, 6)}
    layer_weights = {"a": 1.0, "b": 3.0}
    plain = style_targets([painting], layer_weights=layer_weights)
    target = plain.normalized_by(photo)
    # At the photo itself every layer's normalised error is 1, so the loss is exactly 1.
    assert losses.style_loss(photo, target).numpy() == pytest.approx(1.0, rel=1e-5)
    # Elsewhere: each layer's error over the photo's, as numpy computes them.
    per_layer = {
        n: np_relative(np_gram(image[n]), np_gram(painting[n]))[0]
        / np_relative(np_gram(photo[n]), np_gram(painting[n]))[0]
        for n in layer_weights
    }
    expected = (1.0 * per_layer["a"] + 3.0 * per_layer["b"]) / 4.0
    np.testing.assert_allclose(losses.style_loss(image, target).numpy(), expected, rtol=1e-4)
    # Without divisors the dark layer's error dwarfs the other's: the imbalance this removes.
    assert (
        np_relative(np_gram(photo["a"]), np_gram(painting["a"]))[0]
        > 10 * np_relative(np_gram(photo["b"]), np_gram(painting["b"]))[0]
    )
    assert losses.style_loss(photo, plain).numpy() > 2.0


def test_masked_gram_and_content_loss_match_numpy():
    rng = np.random.default_rng(7)
    features = rng.random((2, 5, 6, 4)).astype(np.float32)
    target = rng.random((1, 5, 6, 4)).astype(np.float32)
    mask = rng.random((1, 5, 6, 1)).astype(np.float32)
    m = mask[..., 0]
    expected = np.einsum("hw,nhwc,nhwd->ncd", m[0], features, features) / m.sum()
    np.testing.assert_allclose(losses.masked_gram(features, mask).numpy(), expected, rtol=1e-5)
    ones = np.ones_like(mask)
    np.testing.assert_allclose(
        losses.masked_gram(features, ones).numpy(), losses.gram_matrix(features).numpy(), rtol=1e-5
    )
    # Content error counted only where the mask is, relative to the target there.
    per_image = ((features - target) ** 2 * mask).sum(axis=(1, 2, 3)) / ((target**2) * mask).sum()
    got = losses.content_loss({"a": features}, ContentTargets({"a": target}, {"a": mask})).numpy()
    np.testing.assert_allclose(got, per_image, rtol=1e-5)


def test_a_masked_style_target_ignores_what_lies_outside_its_mask():
    rng = np.random.default_rng(8)
    painting = {"a": rng.random((1, 4, 8, 3)).astype(np.float32)}
    mask = np.zeros((1, 4, 8, 1), np.float32)
    mask[:, :, :4] = 1.0  # left half
    target = style_targets([painting]).with_masks([{"a": mask}], coverage=[1.0])
    image = rng.random((1, 4, 8, 3)).astype(np.float32)
    changed = image.copy()
    changed[:, :, 4:] = rng.random((1, 4, 4, 3))  # only outside the mask
    before = losses.style_loss({"a": image}, target).numpy()
    after = losses.style_loss({"a": changed}, target).numpy()
    assert before == pytest.approx(after, rel=1e-6)
    # The coverage multiplies the target's share.
    half = style_targets([painting]).with_masks([{"a": mask}], coverage=[0.5])
    assert losses.style_loss({"a": image}, half).numpy() == pytest.approx(before / 2, rel=1e-6)
