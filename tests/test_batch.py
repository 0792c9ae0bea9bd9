"""Batches: N photos of one size stylised together, each as it would be alone (losses.py: one loss
per image; optimizers.py: per-image Adam and L-BFGS; multiscale.py: per-image starts and colours)."""

import numpy as np
import pytest

from style_transfer import multiscale, vgg
from style_transfer.geometry import Geometry
from tests.conftest import gradient_photo
from tests.test_step import CONFIG

# Two scales, L-BFGS, the recoloured start and histogram colours: every per-image path at once.
BATCH_CONFIG = CONFIG.replace(
    optimizer="lbfgs", init="recolored", preserve_colors="histogram", scales=2, max_size=40, steps=8
)


def _photos(*seeds, height=30, width=40):
    return [gradient_photo(height, width, seed) for seed in seeds]


STYLE = gradient_photo(26, 22, 9)


@pytest.fixture(scope="module")
def extractor():
    return vgg.extractor_for(BATCH_CONFIG)


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_a_batch_does_not_couple_its_images(extractor, optimizer):
    """The first photo's result is bit for bit the same whatever the other photos of its batch are:
    nothing (an acceptance test, a step length, a colour statistic) is shared between images."""
    config = BATCH_CONFIG.replace(optimizer=optimizer)
    assert len(Geometry.of(config).plan(30, 40)) == 2
    a, b, c, d, e = _photos(1, 2, 3, 4, 5)
    first = multiscale.stylize(np.concatenate([a, b, c]), STYLE, config, extractor=extractor)
    second = multiscale.stylize(np.concatenate([a, d, e]), STYLE, config, extractor=extractor)
    assert first.shape == (3, 30, 40, 3)
    np.testing.assert_array_equal(first[0], second[0])
    assert np.abs(first[1] - second[1]).mean() > 0.02  # the others did differ


@pytest.mark.parametrize(("optimizer", "init"), [("lbfgs", "recolored"), ("adam", "noise")])
def test_a_batch_gives_each_image_its_result_alone(extractor, optimizer, init):
    """Each photo of a batch ends where it would alone: exactly, on the Zen 4 this was written on,
    but batched convolution and Gram kernels may round differently from single-image ones
    elsewhere (~1e-7 relative), and the optimisation carries that along; 1e-4 allows for it, while
    any sharing between the images (one acceptance test or step length for the batch, a colour
    statistic or noise pooled over it) moves pixels by more: L-BFGS with one dot product over the
    batch, for one, is off by 5e-3 to 2e-2 here."""
    config = BATCH_CONFIG.replace(optimizer=optimizer, init=init)
    photos = _photos(1, 2, 3)
    batch = multiscale.stylize(np.concatenate(photos), STYLE, config, extractor=extractor)
    alone = np.concatenate([multiscale.stylize(photo, STYLE, config, extractor=extractor) for photo in photos])
    np.testing.assert_allclose(batch, alone, atol=1e-4)
    assert np.abs(alone - np.concatenate(photos)).mean() > 0.01  # the photos did change
