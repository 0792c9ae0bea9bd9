"""Training a network (photos.py, training.py): the photo stream, the loss falling, resuming bit
for bit, and the mirrored step equal to the one-device step."""

from __future__ import annotations

import os
import pathlib
import textwrap
from dataclasses import replace

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from style_transfer import losses, photos, targets, training
from style_transfer.config import FeatureConfig, NetworkConfig, TrainConfig
from style_transfer.errors import ImageError
from tests.conftest import conditional_network, gradient_image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = TrainConfig(steps=4, batch_size=2, crop_size=32, crop_scales=(1.0, 1.5), learning_rate=3e-3)
NETWORK = NetworkConfig(width=0.25)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Four photos (PNG and JPEG, one smaller than a crop), a broken file, a TIFF, a text file."""
    root = tmp_path_factory.mktemp("photos")
    for name, (height, width), seed in (
        ("a.png", (40, 56), 1),
        ("b.jpg", (60, 44), 2),
        ("c.png", (48, 48), 3),
        ("d.jpg", (20, 30), 4),
    ):
        Image.fromarray(gradient_image(height, width, seed)).save(root / name)
    (root / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    Image.fromarray(gradient_image(30, 30, 5)).save(root / "scan.tif")
    (root / "notes.txt").write_text("not a photo")
    return root


@pytest.fixture(scope="module")
def extractor():
    keras.utils.set_random_seed(0)  # VGG's random weights: the same in every test order
    return training.extractor_for_training(
        FeatureConfig(network="vgg16", weights="none"), training.NETWORK_LOSS, "float32"
    )


def _style():
    return tf.constant(gradient_image(40, 40, 9)[None] / 255.0, tf.float32)


def test_find_photos_sets_aside_what_cannot_be_trained_on(folder, tmp_path):
    found = photos.find_photos(str(folder))
    assert [os.path.basename(p) for p in found.paths] == ["a.png", "b.jpg", "c.png", "d.jpg"]
    skipped = {os.path.basename(path): why for path, why in found.skipped}
    assert set(skipped) == {"broken.jpg", "scan.tif"}  # notes.txt is not an image file: not picked up
    assert "not a readable image" in skipped["broken.jpg"] and "TIFF is not a training format" in skipped["scan.tif"]
    assert [os.path.basename(p) for p in photos.find_photos(str(folder / "*.png")).paths] == ["a.png", "c.png"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImageError, match="no photos to train on in .*empty: no image files"):
        photos.find_photos(str(tmp_path / "empty"))
    with pytest.raises(ImageError, match="1 file\\(s\\), none readable"):
        photos.find_photos(str(folder / "broken.*"))


def test_the_photo_stream_is_a_function_of_seed_and_step(folder):
    paths = photos.find_photos(str(folder)).paths
    stream = [batch.numpy() for batch in photos.crop_batches(paths, CONFIG).take(6)]
    assert all(b.shape == (2, 32, 32, 3) and b.min() >= 0 and b.max() <= 1 for b in stream)
    assert len({b.tobytes() for b in stream}) == 6  # different crops every step
    resumed = [batch.numpy() for batch in photos.crop_batches(paths, CONFIG, start_step=4).take(2)]
    np.testing.assert_array_equal(np.stack(resumed), np.stack(stream[4:]))
    other_seed = next(iter(photos.crop_batches(paths, TrainConfig(**{**CONFIG.__dict__, "seed": 1})))).numpy()
    assert not np.array_equal(other_seed, stream[0])


def test_every_photo_comes_once_an_epoch(tmp_path):
    for k in range(4):  # four flat photos, told apart by their grey level
        Image.fromarray(np.full((40, 50, 3), 40 + 50 * k, np.uint8)).save(tmp_path / f"{k}.png")
    paths = photos.find_photos(str(tmp_path)).paths
    levels = [round(float(crop.mean()) * 255) for b in photos.crop_batches(paths, CONFIG).take(4) for crop in b.numpy()]
    assert sorted(levels[:4]) == sorted(levels[4:]) == [40, 90, 140, 190]  # each epoch: all four
    assert levels[:4] != levels[4:]  # in a new order


def test_the_loss_is_the_pixel_optimisers(extractor):
    """Trainer.loss_terms is losses.loss_terms of the network's output against targets built by
    targets.py: the same numbers computed here by hand."""
    trainer = training.Trainer(extractor, [_style()], network=NETWORK, train=CONFIG)
    photos_ = tf.constant(np.stack([gradient_image(32, 32, s) for s in (1, 2)]) / 255.0, tf.float32)
    terms = trainer.loss_terms(photos_, 0)
    generated = trainer.network(photos_, tf.one_hot([0, 0], 1))
    style = targets.build_style_targets(extractor, [_style()], training.NETWORK_LOSS)
    content, style = targets.for_photos(extractor(photos_), style, training.NETWORK_LOSS)
    expected = losses.loss_terms(extractor(generated), content, style, generated, training.NETWORK_LOSS)
    for name in ("total", "content", "style", "tv"):
        np.testing.assert_allclose(terms[name].numpy(), expected[name].numpy(), rtol=1e-5)
        assert terms[name].shape == (2,)


def test_the_style_term_at_several_scales_is_their_mean(extractor):
    """style_scales (1, 2) (departure 8): the style term is the mean of the crops' own and of the
    crops, result and painting shrunk twice; content and TV stay the full scale's."""
    from style_transfer import resample

    crops = tf.constant(np.stack([gradient_image(32, 32, s) for s in (1, 2)]) / 255.0, tf.float32)
    painting = tf.constant(gradient_image(48, 40, 9)[None] / 255.0, tf.float32)
    both = training.Trainer(extractor, [painting], network=NETWORK, train=replace(CONFIG, style_scales=(1.0, 2.0)))
    one = training.Trainer(extractor, [painting], network=NETWORK, train=CONFIG)
    terms, single = both.loss_terms(crops, 0), one.loss_terms(crops, 0)
    generated = both.network(crops)
    half = targets.build_style_targets(extractor, [resample.to_size(painting, (24, 20), static=True)], one.loss_config)
    _, half = targets.for_photos(extractor(resample.to_size(crops, (16, 16), static=True)), half, one.loss_config)
    coarse = one.loss_config.style_weight * losses.style_loss(
        extractor(resample.to_size(generated, (16, 16), static=True)), half
    )
    np.testing.assert_allclose(terms["style"].numpy(), (single["style"] + coarse).numpy() / 2, rtol=1e-5)
    for name in ("content", "tv"):
        np.testing.assert_allclose(terms[name].numpy(), single[name].numpy(), rtol=1e-6)
    np.testing.assert_allclose(terms["total"], terms["content"] + terms["style"] + terms["tv"], rtol=1e-6)
    from style_transfer.errors import ConfigError

    with pytest.raises(ConfigError, match="style scale 8 shrinks the crops or a painting below 8 px"):
        training.Trainer(extractor, [painting], network=NETWORK, train=replace(CONFIG, style_scales=(1.0, 8.0)))
    with pytest.raises(ConfigError, match="must start at 1"):
        replace(CONFIG, style_scales=(2.0,)).validate()


def test_the_shift_term_sees_a_pattern_locked_to_the_grid():
    """shift_error (departure 9) against numpy: a "network" that adds a pattern of period 4 fixed
    to its own input's corner (what a stride-4 network can do) costs the squared difference of the
    pattern and the pattern moved by (dy, dx), away from the margin; one that follows the photo
    costs 0; (dy, dx) cycles over 1..3 x 1..3 with the step."""
    rng = np.random.default_rng(0)
    crops = tf.constant(rng.random((2, 48, 40, 3)), tf.float32)
    pattern = rng.random((4, 4, 3)).astype(np.float32)

    def locked(images, style_weights):
        height, width = int(images.shape[1]), int(images.shape[2])
        return images + np.tile(pattern, (height // 4 + 1, width // 4 + 1, 1))[:height, :width]

    m = 8  # a margin of its own: the argument is used
    for step, (dy, dx) in ((0, (1, 1)), (4, (2, 2)), (8, (3, 3)), (5, (3, 2))):
        error = training.shift_error(locked, crops, locked(crops, None), None, step, margin=m).numpy()
        tiled = np.tile(pattern, (14, 12, 1))
        moved, still = tiled[: 48 - dy, : 40 - dx], tiled[dy:48, dx:40]
        expected = np.mean((moved[m:-m, m:-m] - still[m:-m, m:-m]) ** 2)
        np.testing.assert_allclose(error, [expected, expected], rtol=1e-5, err_msg=str(step))
        assert expected > 0.01
        following = training.shift_error(lambda images, w: images**2, crops, crops**2, None, step, margin=m)
        np.testing.assert_allclose(following.numpy(), 0.0, atol=1e-12)
    # No margin: every pixel the two results share.
    error = training.shift_error(locked, crops, locked(crops, None), None, 5, margin=0).numpy()
    tiled = np.tile(pattern, (14, 12, 1))
    expected = np.mean((tiled[:45, :38] - tiled[3:48, 2:40]) ** 2)
    np.testing.assert_allclose(error, [expected, expected], rtol=1e-5)


def test_the_shift_term_joins_the_total(extractor):
    """shift_weight > 0: a "shift" term, weighted, in the total; the other terms as without it."""
    crops = tf.constant(np.stack([gradient_image(48, 48, s) for s in (1, 2)]) / 255.0, tf.float32)
    with_shift = training.Trainer(extractor, [_style()], network=NETWORK, train=replace(CONFIG, shift_weight=50.0))
    without = training.Trainer(extractor, [_style()], network=NETWORK, train=CONFIG)
    terms, plain = with_shift.loss_terms(crops, 0), without.loss_terms(crops, 0)
    assert "shift" not in plain
    generated = with_shift.network(crops)
    expected = 50.0 * training.shift_error(with_shift.network, crops, generated, tf.one_hot([0, 0], 1), 0, 4)
    np.testing.assert_allclose(terms["shift"].numpy(), expected.numpy(), rtol=1e-5)
    assert float(tf.reduce_min(terms["shift"])) > 0  # a random network is not shift-equivariant
    for name in ("content", "style", "tv"):
        np.testing.assert_allclose(terms[name].numpy(), plain[name].numpy(), rtol=1e-6)
    np.testing.assert_allclose(terms["total"], plain["total"] + terms["shift"], rtol=1e-6)


def test_the_motion_term_is_zero_for_a_result_that_follows_the_picture(extractor):
    """motion_error: a "network" that returns its input moves exactly with the picture (0); one
    that adds a pattern fixed to the pixel grid does not (the pattern's energy, moved against
    itself); the camera motion is a function of the step, bounded by MOTION_*; and with
    motion_weight > 0 the term joins the total."""
    crops = tf.constant(np.stack([gradient_image(48, 48, s) for s in (1, 2)]) / 255.0, tf.float32)
    weights = tf.one_hot([0, 0], 1)
    follows = lambda photos, _: photos  # noqa: E731
    assert float(tf.reduce_max(training.motion_error(follows, crops, crops, weights, 3, 4))) < 1e-10
    pattern = tf.constant(np.indices((48, 48)).sum(axis=0)[None, ..., None] % 2 * 0.2, tf.float32)  # checkerboard
    fixed = lambda photos, _: photos + pattern  # noqa: E731
    error = training.motion_error(fixed, crops, crops + pattern, weights, 3, 4).numpy()
    assert np.all(error > 0.002) and np.all(error < 0.2**2)
    flows = [training.motion_flow(step, 48, 64).numpy() for step in (0, 1, 1)]
    np.testing.assert_array_equal(flows[1], flows[2])  # the same step, the same motion (resuming)
    assert not np.allclose(flows[0], flows[1])
    radius = np.hypot(24, 32)
    bound = np.hypot(training.MOTION_SHIFT, training.MOTION_SHIFT) + radius * (
        training.MOTION_ZOOM + np.radians(training.MOTION_TURN) * 1.04
    )
    assert np.abs(flows[0]).max() > 0.1 and np.hypot(flows[0][..., 0], flows[0][..., 1]).max() <= bound
    trainer = training.Trainer(extractor, [_style()], network=NETWORK, train=replace(CONFIG, motion_weight=30.0))
    terms = trainer.loss_terms(crops, 0)
    expected = 30.0 * training.motion_error(trainer.network, crops, trainer.network(crops), weights, 0, 4)
    np.testing.assert_allclose(terms["motion"].numpy(), expected.numpy(), rtol=1e-5)
    np.testing.assert_allclose(
        terms["total"], terms["content"] + terms["style"] + terms["tv"] + terms["motion"], rtol=1e-6
    )


def test_the_motion_terms_noise_is_a_noisy_next_frame(extractor):
    """train.motion_noise: the moved crops get Gaussian noise of that standard deviation, so even a
    "network" that follows the picture exactly pays the noise's energy (sigma^2 on mid-grey crops,
    away from the clip to [0, 1]); the noise is a function of the step (resuming), and the trainer
    passes the setting through."""
    crops = tf.constant(0.25 + 0.5 * np.stack([gradient_image(64, 64, s) for s in (1, 2)]) / 255.0, tf.float32)
    weights = tf.one_hot([0, 0], 1)
    follows = lambda photos, _: photos  # noqa: E731
    errors = [training.motion_error(follows, crops, crops, weights, step, 4, 0.05).numpy() for step in (3, 3, 4)]
    np.testing.assert_allclose(errors[0], 0.05**2, rtol=0.1)
    np.testing.assert_array_equal(errors[0], errors[1])
    assert not np.array_equal(errors[0], errors[2])
    noisy = training.Trainer(
        extractor, [_style()], network=NETWORK, train=replace(CONFIG, motion_weight=30.0, motion_noise=0.05)
    )
    terms = noisy.loss_terms(crops, 0)
    expected = 30.0 * training.motion_error(noisy.network, crops, noisy.network(crops), weights, 0, 4, 0.05)
    np.testing.assert_allclose(terms["motion"].numpy(), expected.numpy(), rtol=1e-5)
    quiet = 30.0 * training.motion_error(noisy.network, crops, noisy.network(crops), weights, 0, 4)
    assert np.all(terms["motion"].numpy() > quiet.numpy())


def test_distillation_learns_the_teachers_results_without_vgg(folder, extractor):
    """teacher_weight > 0 (departure 11): the teacher term is the weighted mean squared difference
    from the teacher's result (numpy); a network equal to its teacher pays 0; with the content and
    style weights 0 the loop never calls VGG, and 60 steps bring the term down; a teacher is
    needed, of as many paintings."""
    from style_transfer.errors import ConfigError

    teacher = conditional_network()  # width 0.25, two paintings
    paintings = [_style(), 1.0 - _style()]
    loss = replace(training.NETWORK_LOSS, content_weight=0.0, style_weight=0.0, tv_weight=0.0)
    config = replace(CONFIG, steps=60, teacher_weight=100.0)
    paths = photos.find_photos(str(folder)).paths
    probe = next(iter(photos.crop_batches(paths, replace(config, seed=7))))  # [2, 32, 32, 3]
    student = training.Trainer(extractor, paintings, loss, NETWORK, config, teacher=teacher)
    terms = student.loss_terms(probe, 1)
    weights = tf.one_hot([1, 1], 2)
    expected = 100.0 * np.mean((student.network(probe, weights) - teacher(probe, weights)).numpy() ** 2, axis=(1, 2, 3))
    np.testing.assert_allclose(terms["teacher"].numpy(), expected, rtol=1e-5)
    np.testing.assert_array_equal(terms["total"].numpy(), terms["teacher"].numpy())  # the other terms are 0
    same = training.Trainer(extractor, paintings, loss, NETWORK, config, base=teacher, teacher=teacher)
    np.testing.assert_array_equal(same.loss_terms(probe, 0)["teacher"].numpy(), [0.0, 0.0])

    def no_vgg(images):
        raise AssertionError("VGG called")

    student.extractor = no_vgg
    seen: list[float] = []
    student.train(
        lambda start: photos.crop_batches(paths, config, start), callback=lambda s, t: seen.append(t["teacher"])
    )
    before, after = np.mean(seen[:10]), np.mean(seen[-10:])  # the batches' mean terms, first and last ten steps
    assert after < 0.7 * before, (before, after)
    with pytest.raises(ConfigError, match="needs a teacher network"):
        training.Trainer(extractor, paintings, loss, NETWORK, config)
    with pytest.raises(ConfigError, match="the teacher network has 2 painting"):
        training.Trainer(extractor, [_style()], loss, NETWORK, config, teacher=teacher)


def _stop_at(last: int):
    def callback(step, terms):
        if step == last:
            raise KeyboardInterrupt

    return callback


def test_training_lowers_the_loss_and_resumes_bit_for_bit(folder, extractor, tmp_path):
    """A tiny network on 32 px crops: the loss on a fixed batch falls over 12 steps; and 12 steps
    checkpointed every 6, interrupted after 8 and resumed give exactly the weights of 12 in one go."""
    paths = photos.find_photos(str(folder)).paths
    config = TrainConfig(**{**CONFIG.__dict__, "steps": 12, "checkpoint_every": 6})
    probe = next(iter(photos.crop_batches(paths, TrainConfig(**{**config.__dict__, "seed": 7}))))

    def trainer(steps):
        return training.Trainer(
            extractor, [_style()], network=NETWORK, train=TrainConfig(**{**config.__dict__, "steps": steps})
        )

    straight = trainer(12)
    before = float(tf.reduce_mean(straight.loss_terms(probe, 0)["total"]))
    seen = []
    straight.train(lambda start: photos.crop_batches(paths, config, start), callback=lambda s, t: seen.append(s))
    after = float(tf.reduce_mean(straight.loss_terms(probe, 0)["total"]))
    assert seen == list(range(1, 13))
    assert after < 0.8 * before, (before, after)

    checkpoints = str(tmp_path / "checkpoints")
    # Stopped between steps 8 and 9 (Ctrl-C in the CLI: its progress callback raises), not at a
    # checkpoint step: step 8 is kept beside step 6's.
    with pytest.raises(KeyboardInterrupt):
        trainer(12).train(lambda start: photos.crop_batches(paths, config, start), checkpoints, _stop_at(8))
    kept = tf.train.get_checkpoint_state(checkpoints).all_model_checkpoint_paths
    assert [os.path.basename(path) for path in kept] == ["ckpt-6", "ckpt-8"]
    resumed = trainer(12)
    starts = []
    resumed.train(lambda start: starts.append(start) or photos.crop_batches(paths, config, start), checkpoints)
    assert starts == [8] and int(resumed.step.numpy()) == 12
    for a, b in zip(straight.network.weights, resumed.network.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    assert tf.train.latest_checkpoint(checkpoints).endswith("ckpt-12")


def test_a_conditional_network_takes_the_paintings_in_turn(folder, extractor):
    paths = photos.find_photos(str(folder)).paths
    trainer = training.Trainer(extractor, [_style(), 1.0 - _style()], network=NETWORK, train=CONFIG)
    trainer.train(lambda start: photos.crop_batches(paths, CONFIG, start))
    assert sorted(trainer._steps) == [0, 1]  # one compiled step per painting, used in turn
    image = next(iter(photos.crop_batches(paths, CONFIG)))
    first = trainer.network(image, tf.one_hot([0, 0], 2))
    second = trainer.network(image, tf.one_hot([1, 1], 2))
    assert float(tf.reduce_mean(tf.abs(first - second))) > 1e-4  # each painting trained its own IN


# Run by test_distribute.test_mirrored_strategies_on_two_logical_cpu_devices, on two logical CPUs
# (check_mirrored_training reads what it prints).
MIRRORED_SCRIPT = textwrap.dedent(
    """
    import numpy as np
    import tensorflow as tf

    from style_transfer import training
    from tests.test_training import CONFIG, NETWORK, _style
    from style_transfer.config import FeatureConfig, TrainConfig

    # With the shift term (departure 9): its offsets come from the step counter inside each replica.
    config = TrainConfig(**{**CONFIG.__dict__, "steps": 1, "batch_size": 4, "shift_weight": 10.0})
    extractor = training.extractor_for_training(
        FeatureConfig(network="vgg16", weights="none"), training.NETWORK_LOSS, "float32"
    )
    batch = tf.random.stateless_uniform([4, 32, 32, 3], seed=[1, 2])
    results = {}
    for name, strategy in (("one", None), ("mirrored", tf.distribute.MirroredStrategy(["CPU:0", "CPU:1"]))):
        trainer = training.Trainer(extractor, [_style()], network=NETWORK, train=config, strategy=strategy)
        terms = trainer.train(lambda start: tf.data.Dataset.from_tensors(batch).repeat())
        weights = np.concatenate([w.numpy().ravel() for w in trainer.network.weights])
        results[name] = (weights, terms["total"], trainer.strategy.num_replicas_in_sync, terms["shift"])
    (one, one_loss, _, one_shift), (mirrored, mirrored_loss, replicas, mirrored_shift) = results.values()
    made = training.make_strategy(TrainConfig(distribution_strategy="mirrored", batch_size=4))
    try:
        training.make_strategy(TrainConfig(distribution_strategy="mirrored", batch_size=3))
        split = "accepted"
    except Exception as error:
        split = str(error)
    print("made", made.num_replicas_in_sync)
    print("split", split)
    difference = np.abs(one - mirrored)
    print("replicas", replicas)
    print("loss", one_loss, mirrored_loss)
    print("shift", one_shift, mirrored_shift)
    print("moved", float(np.abs(one).size))
    print("differing", float((difference > 1e-6).mean()))
    print("mean_difference", float(difference.mean()))
    """
)


def test_adding_a_painting_trains_only_its_own_parameters(folder, extractor, tmp_path):
    """From a trained base, --add: the convolutions and the base's paintings' rows stay bit for
    bit, the new painting's rows move; fine-tuning needs the base's painting count; a checkpoint
    holds every weight by path, so a run restores into a network built from another start."""
    from style_transfer import transformer
    from style_transfer.errors import ConfigError

    paths = photos.find_photos(str(folder)).paths
    base = conditional_network()
    adding = training.Trainer(extractor, [_style()], network=NETWORK, train=CONFIG, base=base, add=True)
    assert adding.network.styles == 3 and adding.rows == [2]
    checkpoints = str(tmp_path / "checkpoints")
    adding.train(lambda start: photos.crop_batches(paths, CONFIG, start), checkpoints)
    own = {id(w) for w in transformer.style_parameters(adding.network)}
    moved = 0
    for before, after in zip(transformer.with_paintings(base, 1).weights, adding.network.weights, strict=True):
        if id(after) in own:
            np.testing.assert_array_equal(before.numpy()[:2], after.numpy()[:2], err_msg=after.path)
            moved += int(np.any(before.numpy()[2] != after.numpy()[2]))
        else:
            np.testing.assert_array_equal(before.numpy(), after.numpy(), err_msg=after.path)
    assert moved == 2 * transformer.NORMS  # every new scale and shift was trained

    other = transformer.build(0.25, 2, seed=5)  # another start: a restore must overwrite all of it
    restored = training.Trainer(extractor, [_style()], network=NETWORK, train=CONFIG, base=other, add=True)
    restored.restore(tf.train.latest_checkpoint(checkpoints))
    for a, b in zip(adding.network.weights, restored.network.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)

    with pytest.raises(ConfigError, match="base network has 2 painting\\(s\\) and 1 were given"):
        training.Trainer(extractor, [_style()], network=NETWORK, train=CONFIG, base=base)
    with pytest.raises(ConfigError, match="needs a base network"):
        training.Trainer(extractor, [_style()], network=NETWORK, train=CONFIG, add=True)


def test_a_checkpoint_of_the_former_layout_still_restores(extractor, tmp_path):
    """Runs checkpointed before the weights were saved by path (network=model, whose lists of layers
    tf.train does not follow: the weights were there only as Adam's) resume as they did."""
    first = training.Trainer(extractor, [_style()], network=NETWORK, train=CONFIG)
    first.step.assign(3)
    path = tf.train.Checkpoint(network=first.network, optimizer=first.optimizer, step=first.step).save(
        str(tmp_path / "former" / "ckpt")
    )
    second = training.Trainer(
        extractor, [_style()], network=NETWORK, train=TrainConfig(**{**CONFIG.__dict__, "seed": 9})
    )
    assert not np.array_equal(first.network.weights[0].numpy(), second.network.weights[0].numpy())
    second.restore(path)
    assert int(second.step.numpy()) == 3
    for a, b in zip(first.network.weights, second.network.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)


def check_mirrored_training(lines: dict[str, str]) -> None:
    """Two replicas of 2 photos each against one device with the 4: the same loss (the shift term's
    too: its offsets come from the step counter inside each replica), and the same weights after
    one Adam step but where a gradient is ~0 (Adam's first step is lr x sign(g): rounding flips it
    there, on under 1 % of the weights; a replica's gradient not summed, or the batch split wrong,
    would move most of them differently)."""
    assert lines["replicas"] == "2"
    one_loss, mirrored_loss = (float(v) for v in lines["loss"].split())
    assert abs(one_loss - mirrored_loss) <= 1e-5 * abs(one_loss)
    one_shift, mirrored_shift = (float(v) for v in lines["shift"].split())
    assert one_shift > 0 and abs(one_shift - mirrored_shift) <= 1e-4 * one_shift
    assert float(lines["differing"]) < 0.01 and float(lines["mean_difference"]) < 1e-5, lines
    assert lines["made"] == "2"  # training.make_strategy: every logical CPU
    assert lines["split"] == "batch_size 3 does not split over 2 replicas: give a multiple"


def test_multi_worker_needs_tf_config(monkeypatch):
    from style_transfer.errors import ConfigError

    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ConfigError, match="multi_worker needs TF_CONFIG"):
        training.make_strategy(TrainConfig(distribution_strategy="multi_worker"))
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(ConfigError, match="TF_CONFIG is not JSON"):
        training.make_strategy(TrainConfig(distribution_strategy="multi_worker"))
    assert training.make_strategy(TrainConfig()).num_replicas_in_sync == 1  # auto, one CPU: the default


def _train_cli(args, cwd):
    """`style-transfer-train ARGS` in this process (tests/cli_runner.py; the console script itself
    is test_cli.py's)."""
    from tests.cli_runner import run_program_in_process

    return run_program_in_process(pathlib.Path(REPO) / "style_transfer" / "train_cli.py", args, cwd)


def test_the_training_command_line_trains_and_says_what_is_wrong(folder, tmp_path):
    """style-transfer-train: 4 steps with a checkpoint every 2 and previews; the network file it
    writes is what --model takes (resuming: the library's test above); bad input is one line,
    before TensorFlow is paid for."""
    from style_transfer import networks

    Image.fromarray(gradient_image(40, 40, 9)).save(tmp_path / "painting.png")
    run = tmp_path / "run"
    args = [f"--photos={folder}", f"--paintings={tmp_path / 'painting.png'}", f"--run={run}", "--weights=none"]
    args += ["--crop_size=32", "--batch_size=2", "--style_size=48", "--checkpoint_every=2", "--preview_size=32"]
    result = _train_cli([*args, "--steps=4", "--preview_every=2"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.count("style-transfer-train: warning: skipped") == 2  # broken.jpg, scan.tif: once each
    assert "step 4/4" in result.stdout and "ETA" in result.stdout and "total" in result.stdout
    assert {"preview_2.png", "preview_4.png", "network.npz"} <= set(os.listdir(run))
    assert tf.train.latest_checkpoint(str(run / "checkpoints")).endswith("ckpt-4")
    with Image.open(run / "preview_4.png") as preview:  # the photo, then its stylisation
        assert preview.size == (64, 21)
    network, header = networks.load_network(str(run / "network.npz"))
    assert header["paintings"] == ["painting"] and header["notes"]["steps"] == 4 and network.styles == 1
    # A second painting added to that network: only its own parameters trained, previews show both.
    Image.fromarray(gradient_image(40, 40, 10)).save(tmp_path / "second.png")
    added = tmp_path / "added"
    args = [f"--photos={folder}", f"--paintings={tmp_path / 'second.png'}", f"--run={added}", "--weights=none"]
    args += ["--crop_size=32", "--batch_size=2", "--style_size=48", "--preview_size=32", "--steps=2"]
    result = _train_cli([*args, f"--base={run / 'network.npz'}", "--add"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "(adding to it)" in result.stdout and "1 painting(s): second" in result.stdout
    grown, header = networks.load_network(str(added / "network.npz"))
    assert header["paintings"] == ["painting", "second"] and grown.styles == 2
    with Image.open(added / "preview_2.png") as preview:  # the photo, then both paintings
        assert preview.size == (96, 21)
    bad = _train_cli([*args, "--add"], tmp_path)
    assert bad.returncode == 1 and bad.stderr.strip().splitlines() == [
        "style-transfer-train: error: --add adds paintings to a trained network: name it with --base"
    ]
    bad = _train_cli([*args, "--teacher=starry_wave"], tmp_path)
    assert bad.returncode == 1 and bad.stderr.strip().splitlines() == [
        "style-transfer-train: error: --teacher and --teacher_weight go together: name the network to learn from "
        "and its weight"
    ]
    (tmp_path / "empty").mkdir()
    bad = _train_cli([f"--photos={tmp_path / 'empty'}", "--paintings=x.png", f"--run={run}"], tmp_path)
    assert bad.returncode == 1 and bad.stderr.strip().splitlines() == [
        f"style-transfer-train: error: no photos to train on in {tmp_path / 'empty'}: no image files"
    ]
