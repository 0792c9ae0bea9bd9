"""The abstraction control (config.ABSTRACTION_CURVE): the settings it stands for, and the blurred,
noisy starts of its painterly end (starts.blurred_and_noised)."""

import numpy as np
import pytest
import tensorflow as tf

from style_transfer import resample, starts
from style_transfer.config import ABSTRACTION_CURVE, DEFAULT_ABSTRACTION, Config, ScheduleConfig, abstraction_settings
from style_transfer.errors import ConfigError
from tests.conftest import gradient_photo


def test_the_defaults_are_the_default_abstractions_settings():
    fields = Config().fields()
    assert fields["abstraction"] == DEFAULT_ABSTRACTION
    for name, value in abstraction_settings(DEFAULT_ABSTRACTION).items():
        assert fields[name] == value, name
    assert Config(abstraction=DEFAULT_ABSTRACTION) == Config()


def test_zero_is_the_former_defaults():
    """The look before issue 18 stays one setting away: abstraction=0 is exactly those settings."""
    fields = Config(abstraction=0).fields()
    former = dict(style_weight=3.5, steps=60, coarse_share=0.6, keep_detail=True, scales=2, min_scale_size=256)
    assert {name: fields[name] for name in former} == former
    assert fields["init_blur"] == 0.0 and fields["init_noise"] == 0.0 and fields["init"] == "recolored"


def test_the_curve_is_its_anchors_between_them_interpolated():
    for at, settings in ABSTRACTION_CURVE:
        assert abstraction_settings(at) == settings
    (a, low), (b, high) = ABSTRACTION_CURVE[2], ABSTRACTION_CURVE[3]
    middle = abstraction_settings((a + b) / 2)
    assert middle["style_weight"] == pytest.approx((low["style_weight"] + high["style_weight"]) / 2)
    assert middle["init_blur"] == pytest.approx((low["init_blur"] + high["init_blur"]) / 2)
    assert middle["keep_detail"] == low["keep_detail"] and middle["scales"] == low["scales"]
    # It paints more as it rises: more style, less of the photo's detail handed over.
    weights = [abstraction_settings(x)["style_weight"] for x in np.linspace(0, 1, 11)]
    assert weights == sorted(weights) and weights[0] < weights[-1]


def test_given_settings_win_over_abstraction_in_the_library():
    config = Config(abstraction=1.0, steps=12, style_weight=2.0)
    assert config.schedule.steps == 12 and config.loss.style_weight == 2.0
    assert config.schedule.init_noise == abstraction_settings(1.0)["init_noise"]
    # replace(abstraction=...) sets its settings anew, except those given in the same call.
    again = config.replace(abstraction=0.0, steps=30)
    assert again.schedule.steps == 30 and again.loss.style_weight == 3.5


def test_abstraction_out_of_range_is_a_config_error():
    with pytest.raises(ConfigError, match="abstraction must be between 0 and 1, got 1.5"):
        Config(abstraction=1.5).validate()


def _photo(height=40, width=56):
    return tf.constant(gradient_photo(height, width, 1))


def test_a_blurred_start_is_the_photo_blurred_by_a_share_of_its_longer_side():
    photo = _photo()
    schedule = ScheduleConfig(init="content", init_blur=0.05)
    start = starts.start_image(None, None, photo, [photo], schedule)
    np.testing.assert_allclose(start.numpy(), resample.gaussian_blur(photo, 0.05 * 56).numpy(), rtol=1e-6)
    # Its fine texture is gone: neighbouring pixels differ far less than in the photo.
    step = lambda image: np.abs(np.diff(np.asarray(image), axis=2)).mean()  # noqa: E731
    assert step(start) < 0.3 * step(photo)
    # An image given as init is never blurred (refining an earlier result keeps it).
    given = starts.start_image(None, None, photo, [photo], schedule, init_image=photo)
    np.testing.assert_array_equal(given.numpy(), photo.numpy())


def test_a_noisy_start_mixes_seeded_uniform_noise_in():
    photo = _photo()
    schedule = ScheduleConfig(init="content", init_noise=0.25, seed=3)
    start = starts.start_image(None, None, photo, [photo], schedule).numpy()
    noise = (start - 0.75 * photo.numpy()) / 0.25
    assert 0.0 <= noise.min() and noise.max() <= 1.0 and abs(noise.mean() - 0.5) < 0.05
    np.testing.assert_array_equal(start, starts.start_image(None, None, photo, [photo], schedule).numpy())
    other = ScheduleConfig(init="content", init_noise=0.25, seed=4)
    assert not np.array_equal(start, starts.start_image(None, None, photo, [photo], other).numpy())


def test_a_blurred_start_in_a_graph_of_unknown_size_uses_the_nominal_side():
    photo = _photo()
    schedule = ScheduleConfig(init="content", init_blur=0.05)
    blurred = tf.function(
        lambda image: starts.start_image(None, None, image, [image], schedule, long_side=56),
        input_signature=[tf.TensorSpec([1, None, None, 3], tf.float32)],
    )(photo)
    np.testing.assert_allclose(blurred.numpy(), starts.start_image(None, None, photo, [photo], schedule), rtol=1e-5)


def test_the_painterly_end_runs_in_graph_as_in_the_library():
    """Exported models run coarse_to_fine_in_graph with sizes known only as tensors: the blurred,
    noisy start there is the library's (the blur sized by the nominal first scale)."""
    from style_transfer import multiscale, vgg

    config = Config(
        abstraction=1.0, network="vgg16", weights="none", max_size=48, min_scale_size=24, steps=4,
        precision="float32", jit_compile="false", optimizer="adam", learning_rate=0.01,
    )  # fmt: skip
    extractor = vgg.extractor_for(config)
    content = gradient_photo(36, 48, 1)
    style = gradient_photo(30, 30, 2)
    eager = multiscale.stylize(content, style, config, extractor=extractor)
    spec = tf.TensorSpec([1, None, None, 3], tf.float32)
    in_graph = tf.function(
        lambda c, s: multiscale.coarse_to_fine_in_graph(extractor, c, [s], config), input_signature=[spec, spec]
    )(content, style).numpy()
    assert np.abs(in_graph - eager).mean() < 2e-3
