"""geometry.py: the sizes and steps of each scale, the style image's size, where tiles apply; each
Python rule equal to its TF twin (the in-graph loop of exported models uses those)."""

import numpy as np
import pytest
import tensorflow as tf

from style_transfer import geometry
from style_transfer.config import Config, ScheduleConfig
from style_transfer.geometry import Geometry


def _geometry(**fields) -> Geometry:
    return Geometry.of(Config(**fields))


def test_scale_factors():
    np.testing.assert_allclose(_geometry(scales=3, min_scale_size=0).scale_factors(170, 256), [0.25, 0.5, 1.0])
    np.testing.assert_allclose(
        _geometry(scales=3, scale_ratio=2**0.5, min_scale_size=0).scale_factors(170, 256), [0.5, 2**-0.5, 1.0]
    )
    assert _geometry(scales=1).scale_factors(170, 256) == [1.0]
    # Coarser scales only where their longer side is at least min_scale_size.
    assert _geometry(scales=3, min_scale_size=256).scale_factors(170, 256) == [1.0]
    assert _geometry(scales=3, min_scale_size=256).scale_factors(340, 512) == [0.5, 1.0]
    assert _geometry(scales=3, min_scale_size=256).scale_factors(1024, 683) == [0.25, 0.5, 1.0]
    sides = (100, 511, 512, 1023, 1024, 4096)
    assert [_geometry(scales=4, min_scale_size=256).scale_count(side) for side in sides] == [1, 1, 2, 2, 3, 4]
    # The defaults (128 px): a 256 px run at 128 and 256 px, a 512 px run at 128, 256 and 512 px.
    assert _geometry().scale_factors(170, 256) == [0.5, 1.0]
    assert _geometry().scale_factors(340, 512) == [0.25, 0.5, 1.0]
    # Never below 16 px on the shorter side (block5_conv1 sits after 4 poolings).
    assert Config(scales=3).loss.min_side() == 16
    assert _geometry(scales=3, min_scale_size=0).scale_factors(20, 40) == [0.8, 0.8, 1.0]
    assert Config(style_layers=("block2_conv1",), content_layers=("block3_pool",)).loss.min_side() == 8


def test_steps_per_scale_and_the_plan():
    assert geometry.steps_per_scale(ScheduleConfig(scales=1, steps=7), 1) == [7]
    for fields, count, expected in (
        (dict(steps=200, coarse_share=0.7), 2, [140, 60]),
        (dict(steps=7, coarse_share=0.5), 3, [2, 2, 3]),  # the remainder to the last
        (dict(steps=100, coarse_share=0.0), 3, [0, 0, 100]),
        (dict(steps=10, coarse_share=0.5), 2, [5, 5]),
    ):
        assert geometry.steps_per_scale(Config(**fields).schedule, count) == expected, fields
    assert sum(geometry.steps_per_scale(Config(steps=301, coarse_share=0.7).schedule, 4)) == 301
    plan = _geometry(steps=200, coarse_share=0.7, scales=2).plan(340, 512)
    assert plan == [(0.5, (170, 256), 140), (1.0, (340, 512), 60)]
    assert plan[0].size == (170, 256) and plan[1].steps == 60
    assert _geometry(steps=60, scales=1).plan(170, 256) == [(1.0, (170, 256), 60)]  # one scale: all steps
    for bad in (dict(scale_ratio=1.0), dict(scale_ratio=5.0), dict(coarse_share=1.0), dict(coarse_share=-0.1)):
        with pytest.raises(ValueError, match=next(iter(bad))):
            Config(**bad).validate()


def test_the_plan_in_tf_is_the_plan_in_python():
    """plan_tf (sizes known only as tensors) gives plan's sizes and steps, at the number of scales
    fixed for max_size (what exported signatures resize to)."""
    for fields, sizes in (
        (dict(max_size=512), [(340, 512), (512, 384), (512, 512)]),
        (dict(max_size=1000, scales=3, scale_ratio=2**0.5, min_scale_size=0, steps=50), [(1000, 667), (561, 1000)]),
        (dict(max_size=40, scales=3, min_scale_size=0), [(20, 40), (40, 17)]),  # floors at 16 px
    ):
        geo = _geometry(**fields)
        for size in sizes:
            expected = [(scale.size, scale.steps) for scale in geo.plan(*size)]
            got = [(tuple(int(v) for v in s.numpy()), n) for s, n in geo.plan_tf(tf.constant(size))]
            assert got == expected, (fields, size)


def test_style_size_follows_the_content_times_style_scale():
    # The style's longer side is style_scale times the content's, whatever size it was loaded at.
    assert _geometry().style_size((300, 400), (256, 170)) == (192, 256)
    assert _geometry(style_scale=0.5).style_size((300, 400), (256, 170)) == (96, 128)
    assert _geometry(style_scale=2.0).style_size((400, 300), (128, 128)) == (256, 192)
    # A thin style image is kept at 16 px on its shorter side (block5_conv1 needs it).
    assert _geometry().style_size((20, 200), (50, 100)) == (16, 160)


def test_style_size_in_tf_is_style_size_in_python():
    for scale in (0.25, 0.5, 1.0, 1.7, 4.0):
        geo = _geometry(style_scale=scale)
        for style_hw, content_hw in (((300, 400), (256, 170)), ((20, 200), (50, 100)), ((333, 517), (341, 512))):
            got = geo.style_size_tf(tf.constant(style_hw), tf.constant(content_hw)).numpy()
            assert tuple(got) == geo.style_size(style_hw, content_hw), (scale, style_hw, content_hw)


def test_scaled_sizes_round_alike_in_python_and_tf():
    for size, factor in [((32, 40), 2**-0.5), ((5, 7), 0.5), ((170, 256), 0.5), ((1, 3), 0.1), ((16, 20), 1.0)]:
        expected = geometry.scaled_size(size, factor)
        got = geometry.scaled_size_tf(tf.constant(size), tf.constant(factor, tf.float64)).numpy()
        assert tuple(int(x) for x in got) == expected, (size, factor)
    assert geometry.scaled_size((5, 7), 0.5) == (2, 4)  # 2.5 and 3.5: half to even
    assert geometry.scaled_size((1, 3), 0.1) == (1, 1)  # never below 1 px


def test_tiled_when_the_longer_side_exceeds_a_tile():
    assert not _geometry().tiled(4000, 3000)  # tile_size 0: never
    geo = _geometry(tile_size=512)
    assert not geo.tiled(512, 300) and geo.tiled(513, 300) and geo.tiled(300, 1024)
