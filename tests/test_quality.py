"""Quality figures (style_transfer/quality.py) against an independent numpy computation."""

import keras
import numpy as np
import pytest

from style_transfer import quality
from tests.conftest import gradient_image


def _image(height, width, seed):
    return (gradient_image(height, width, seed) / 255.0).astype(np.float32)[None]


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
    content, style, image = _image(40, 48, 1), _image(36, 52, 2), _image(40, 48, 3)
    judge = quality.Judge(extractor, content, style)
    figures = judge(image)
    expected = _numpy_figures(extractor, image, content, style)
    np.testing.assert_allclose([figures.content, figures.style], expected, rtol=1e-3)


def test_the_photo_and_the_painting_are_the_ends_of_each_axis(extractor):
    content = _image(40, 48, 1)
    style = np.ascontiguousarray(1.0 - _image(40, 48, 2)[:, ::-1, ::-1])  # unlike the photo
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
        quality.Judge(small, _image(32, 32, 1), _image(32, 32, 2))
