"""Quality figures (style_transfer/quality.py) against an independent numpy computation."""

import keras
import numpy as np
import pytest

from style_transfer import quality
from tests.conftest import gradient_photo


@pytest.fixture(scope="module")
def extractor():
    keras.utils.set_random_seed(0)
    return quality.build_judge_extractor("vgg16", "none")


def _numpy_figures(extractor, image, content, style):
    f, p, s = ({n: np.asarray(v, np.float64) for n, v in extractor(x).items()} for x in (image, content, style))

    def gram(x):  # [1, h, w, C] -> [C, C], averaged over positions
        flat = x[0].reshape(-1, x.shape[-1])
        return flat.T @ flat / flat.shape[0]

    rel = lambda a, b: ((a - b) ** 2).sum() / (b**2).sum()  # noqa: E731
    content_figure = np.mean([rel(f[n], p[n]) for n in quality.CONTENT_LAYERS])
    style_figure = np.mean([rel(gram(f[n]), gram(s[n])) for n in quality.STYLE_LAYERS])
    return content_figure, style_figure


def test_figures_match_numpy(extractor):
    content, style, image = gradient_photo(40, 48, 1), gradient_photo(36, 52, 2), gradient_photo(40, 48, 3)
    judge = quality.Judge(extractor, content, style)
    figures = judge(image)
    expected = _numpy_figures(extractor, image, content, style)
    np.testing.assert_allclose([figures.content, figures.style], expected, rtol=1e-3)


def test_the_photo_and_the_painting_are_the_ends_of_each_axis(extractor):
    content = gradient_photo(40, 48, 1)
    style = np.ascontiguousarray(1.0 - gradient_photo(40, 48, 2)[:, ::-1, ::-1])  # unlike the photo
    judge = quality.Judge(extractor, content, style)
    assert judge(content).content == pytest.approx(0.0, abs=1e-6)
    assert judge(style).style == pytest.approx(0.0, abs=1e-6)
    assert judge(style).content > 1e-3 and judge(content).style > 1e-3
    # The figures look only at layers the default losses do not use.
    from style_transfer.config import Config

    used = set(Config().loss.layers())
    assert not used & set(quality.CONTENT_LAYERS + quality.STYLE_LAYERS)


def test_an_extractor_without_the_layers_is_refused():
    from style_transfer import vgg

    small = vgg.build_extractor("vgg16", "none", ("block1_conv1",))
    with pytest.raises(ValueError, match="quality layers"):
        quality.Judge(small, gradient_photo(32, 32, 1), gradient_photo(32, 32, 2))


# The painting figures (issue 18): numpy twins written from the definitions in quality.py.


def _np_luma(image):  # [1, H, W, 3] -> [H, W]
    return image[0].astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def _np_blur(y, sigma):  # [H, W], separable Gaussian, reflect padding
    if sigma <= 0:
        return y
    radius = max(1, int(round(3 * sigma)))
    x = np.arange(-radius, radius + 1)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    k /= k.sum()
    p = np.pad(y, radius, mode="reflect")
    rows = sum(k[i] * p[i : i + y.shape[0], :] for i in range(len(k)))
    return sum(k[i] * rows[:, i : i + y.shape[1]] for i in range(len(k)))


def _np_band_correlation(image, photo, sigmas):
    a, b = ((_np_blur(_np_luma(x), sigmas[0]) - _np_blur(_np_luma(x), sigmas[1])).ravel() for x in (image, photo))
    return np.corrcoef(a, b)[0, 1]


def _np_sliced(a, b, directions, count):  # [1, h, w, C] each, directions [C, K]
    def q(f):
        values = np.sort(f.reshape(-1, f.shape[-1]).astype(np.float64) @ directions, axis=0)
        n = len(values)
        position = np.clip((np.arange(count) + 0.5) / count * n - 0.5, 0, n - 1)
        return np.stack([np.interp(position, np.arange(n), values[:, k]) for k in range(values.shape[1])], 1)

    return np.mean((q(a) - q(b)) ** 2)


def test_gaussian_blur_and_band_correlation_match_numpy():
    image, photo = gradient_photo(40, 52, 1), gradient_photo(40, 52, 2)
    # luma in TF and its numpy twin (flow.py and video.py's carry), against the written-out weights.
    np.testing.assert_allclose(quality.luma(image).numpy()[0, ..., 0], _np_luma(image), atol=1e-6)
    np.testing.assert_allclose(quality.luma_numpy(image)[0, ..., 0], _np_luma(image), atol=1e-6)
    assert quality.luma_numpy(image).shape == (1, 40, 52, 1) and quality.luma_numpy(image).dtype == np.float32
    for sigma in (0.7, 3.0):
        got = quality.gaussian_blur(quality.luma(image), sigma).numpy()[0, :, :, 0]
        np.testing.assert_allclose(got, _np_blur(_np_luma(image), sigma), atol=1e-5)
    for sigmas in (quality.FINE_BAND, quality.STRUCTURE_BAND):
        got = float(quality.band_correlation(image, photo, sigmas)[0])
        assert got == pytest.approx(_np_band_correlation(image, photo, sigmas), abs=1e-4)
        assert float(quality.band_correlation(photo, photo, sigmas)[0]) == pytest.approx(1.0, abs=1e-5)


def test_sliced_distance_matches_numpy_and_is_zero_only_for_the_same_distribution():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((1, 9, 7, 5)).astype(np.float32)
    b = (rng.standard_normal((1, 6, 11, 5)) * 2 + 1).astype(np.float32)  # another size and distribution
    directions = quality.projections(5, count=8)
    got = float(quality.sliced_distance(a, b, directions, count=32))
    assert got == pytest.approx(_np_sliced(a, b, directions.numpy().astype(np.float64), 32), rel=1e-4)
    shuffled = a.reshape(-1, 5)[rng.permutation(63)].reshape(1, 7, 9, 5)  # same values, other places
    assert float(quality.sliced_distance(a, shuffled, directions, count=32)) == pytest.approx(0.0, abs=1e-10)
    assert got > 1.0


@pytest.fixture(scope="module")
def painting_judge_extractor():
    keras.utils.set_random_seed(0)
    return quality.build_painting_judge_extractor("vgg16", "none")


def test_painting_figures_colour_alone_cannot_lower_the_stroke_figures(painting_judge_extractor):
    photo, painting = gradient_photo(48, 64, 1), gradient_photo(60, 44, 2)
    judge = quality.PaintingJudge(painting_judge_extractor, photo, painting)
    itself = judge(photo)
    assert itself.stroke == pytest.approx(1.0, rel=1e-5) and itself.large_stroke == pytest.approx(1.0, rel=1e-5)
    assert itself.fine_texture == pytest.approx(1.0, abs=1e-5) and itself.structure == pytest.approx(1.0, abs=1e-5)
    # The photo recoloured, its luma kept (chroma swapped about the grey): no figure moves.
    y = _np_luma(photo)[None, :, :, None].astype(np.float32)
    recoloured = np.clip(photo + 0.0, 0, 1)
    recoloured[..., 0], recoloured[..., 2] = photo[..., 2], photo[..., 0]
    recoloured += y - _np_luma(recoloured)[None, :, :, None].astype(np.float32)
    assert np.abs(recoloured - photo).max() > 0.05
    moved = judge(recoloured)
    assert moved.stroke == pytest.approx(1.0, rel=1e-3) and moved.large_stroke == pytest.approx(1.0, rel=1e-3)
    # A result that is the painting itself (a painting of the photo's size) is the far end: 0.
    square = quality.PaintingJudge(painting_judge_extractor, photo, photo[:, :, ::-1])
    assert square(photo[:, :, ::-1]).stroke == pytest.approx(0.0, abs=1e-6)


def test_a_blurred_photo_loses_fine_texture_and_keeps_structure(painting_judge_extractor):
    photo = np.clip(gradient_photo(48, 64, 1) + np.random.default_rng(1).normal(0, 0.05, (1, 48, 64, 3)), 0, 1)
    photo = photo.astype(np.float32)
    judge = quality.PaintingJudge(painting_judge_extractor, photo, gradient_photo(60, 44, 2))
    blurred = quality.gaussian_blur(photo, 2.5).numpy()
    figures = judge(blurred)
    assert figures.fine_texture < 0.5 and figures.structure > 0.9
    noise = np.random.default_rng(2).uniform(0, 1, photo.shape).astype(np.float32)
    assert abs(judge(noise).structure) < 0.2  # a photo dissolved: its structure gone


def test_nyquist_power_sees_a_checkerboard_and_nothing_smooth():
    """All of a +-1 checkerboard's power is at the Nyquist frequency: its 2D spectrum is one peak of
    (H W)^2 there, so the row and column means are (H W)^2 / W and (H W)^2 / H. The lowest
    frequencies put none there; nor does a flat image."""
    height, width = 8, 12
    y, x = np.indices((height, width))
    board = ((x + y) % 2 * 2.0 - 1.0)[None, ..., None].repeat(3, -1).astype(np.float32)  # luma = the board
    expected = ((height * width) ** 2 / width + (height * width) ** 2 / height) / 2
    assert quality.nyquist_power(board) == pytest.approx(expected, rel=1e-5)
    smooth = 0.5 + 0.25 * np.cos(2 * np.pi * x / width) + 0.25 * np.cos(2 * np.pi * y / height)
    assert quality.nyquist_power(smooth[None, ..., None].repeat(3, -1)) < 1e-6 * expected
    assert quality.nyquist_power(np.full((1, height, width, 3), 0.3, np.float32)) == pytest.approx(0.0, abs=1e-9)


def test_grid_motif_is_the_power_at_the_grids_frequencies():
    """grid_motif against the spectrum (Parseval): the sum of |FFT|^2 of the luma at the
    frequencies of a 4 px grid, but (0, 0), over (H W)^2, is the figure squared; a pattern tiled
    on the grid shows at its own amplitude, one that does not repeat on it (period 5) barely."""
    rng = np.random.default_rng(0)
    height, width = 40, 48
    image = rng.random((1, height, width, 3)).astype(np.float32)
    y = image[0] @ np.array([0.299, 0.587, 0.114])
    spectrum = np.abs(np.fft.fft2(y)) ** 2
    rows, cols = np.arange(0, height, height // 4), np.arange(0, width, width // 4)
    power = spectrum[np.ix_(rows, cols)].sum() - spectrum[0, 0]
    assert quality.grid_motif(image) == pytest.approx(np.sqrt(power) / (height * width), rel=1e-4)
    cell = rng.random((4, 4)).astype(np.float32)
    tiled = np.tile(cell, (height // 4, width // 4))[None, ..., None].repeat(3, -1)
    assert quality.grid_motif(tiled) == pytest.approx(float(np.sqrt(np.mean((cell - cell.mean()) ** 2))), rel=1e-4)
    other = np.tile(rng.random((5, 5)).astype(np.float32), (8, 10))[None, ..., None].repeat(3, -1)
    assert quality.grid_motif(other) < 0.2 * quality.grid_motif(tiled)
