"""network_tiles: a huge picture through a trained network tile by tile is the one-pass result."""

import numpy as np
import pytest
import tensorflow as tf

from style_transfer import network_tiles, tiles, transformer
from style_transfer.errors import ConfigError
from tests.conftest import conditional_network


@pytest.fixture(scope="module")
def network():
    return conditional_network()


def _pictures(count, height, width, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, (count, height, width, 3)).astype(np.float32)


@pytest.mark.parametrize("height,width,tile", [(270, 403, 256), (301, 250, 258), (60, 61, 64)])
def test_tiles_give_the_whole_pictures_pass(network, height, width, tile):
    """Odd sizes (padding), tiles not a multiple of the stride, a picture that fits one tile; a
    blend of the two paintings, a batch of two; the overlap at which tiles are exact."""
    overlap = network_tiles.EXACT_OVERLAP
    pictures = _pictures(2, height, width)
    whole = transformer.stylize(network, pictures, [0.3, 0.7]).numpy()
    tiled = network_tiles.stylize_tiled(network, pictures, [0.3, 0.7], tile_size=tile, overlap=overlap)
    assert tiled.shape == whole.shape and tiled.dtype == np.float32
    # Float rounding of the statistics, spread evenly (not at the seams): on noise through this
    # random network, ~3e-5 mean and < 1e-3 at the worst pixel.
    assert np.abs(tiled - whole).mean() < 1e-4
    np.testing.assert_allclose(tiled, whole, atol=2e-3)


def test_without_the_whole_pictures_statistics_tiles_differ(network):
    """Why statistics are measured over the tiles: each tile normalised by its own is far off (so the
    test above can fail)."""
    pictures = _pictures(1, 150, 203)
    pictures[:, :, :100] *= 0.3  # halves unlike each other: their own statistics differ
    whole = transformer.stylize(network, pictures).numpy()
    tiling = tiles.Tiling(152, 204, 64, 24, align=4)
    own = network(pictures[:, :64, :64]).numpy()
    assert np.abs(own[:, 16:48, 16:48] - whole[:, 16:48, 16:48]).max() > 0.01
    assert len(tiling) > 1


def test_moments_replay_what_they_recorded(network):
    pictures = tf.constant(_pictures(1, 40, 52))
    recorded = transformer.Moments()
    np.testing.assert_array_equal(network(pictures, moments=recorded).numpy(), network(pictures).numpy())
    assert len(recorded.values) == transformer.NORMS == 15  # one per instance norm
    replayed = network(pictures[:, :20], moments=transformer.Moments(recorded.values)).numpy()
    assert not np.allclose(replayed, network(pictures[:, :20]).numpy(), atol=1e-3)  # not the crop's own
    with pytest.raises(ValueError, match="replayed by a pass that needs more"):
        network(pictures, moments=transformer.Moments(recorded.values[:3]))


def test_aligned_tile_starts():
    starts = tiles.tile_starts(1000, 256, 64, align=4)
    assert starts[0] == 0 and starts[-1] == 1000 - 256 and all(s % 4 == 0 for s in starts)
    assert all(b - a <= 256 - 64 + 4 for a, b in zip(starts, starts[1:], strict=False))
    with pytest.raises(ValueError, match="multiples of 4"):
        tiles.tile_starts(1001, 256, 64, align=4)


def test_tiles_too_small_are_a_one_line_error(network):
    with pytest.raises(ConfigError, match="at least 32 px"):
        network_tiles.stylize_tiled(network, _pictures(1, 64, 64), tile_size=16)
