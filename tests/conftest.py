"""Shared fixtures. Tests are CPU-only, seeded and use tiny images."""

import os
import pathlib

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED = pathlib.Path(os.environ.get("STYLE_TRANSFER_SHARED", REPO.parent / "shared"))
VGG16_WEIGHTS = SHARED / "weights" / "vgg16_imagenet_notop.weights.h5"
SAMPLES = SHARED / "samples"


def gradient_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth, non-constant RGB uint8 image [H, W, 3] with some noise (deterministic)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x / max(1, width - 1), y / max(1, height - 1), 0.5 + 0.5 * np.sin(x / 3.0)], axis=-1)
    rgb = 0.8 * rgb + 0.2 * rng.random((height, width, 3))
    return np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8)


def gradient_photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    """gradient_image as the package's images are: float32 RGB [1, H, W, 3] in [0, 1]."""
    return (gradient_image(height, width, seed) / 255.0).astype(np.float32)[None]


@pytest.fixture
def content_png(tmp_path) -> str:
    path = tmp_path / "content.png"
    Image.fromarray(gradient_image(24, 32, seed=1)).save(path)
    return str(path)


@pytest.fixture
def style_png(tmp_path) -> str:
    path = tmp_path / "style.png"
    Image.fromarray(gradient_image(30, 20, seed=2)[:, ::-1]).save(path)
    return str(path)


@pytest.fixture(scope="session")
def vgg16_weights() -> str:
    if not VGG16_WEIGHTS.is_file():
        pytest.skip(f"real VGG16 weights not found at {VGG16_WEIGHTS} (set STYLE_TRANSFER_SHARED)")
    return str(VGG16_WEIGHTS)


def conditional_network():
    """A two-painting network (width 0.25) whose instance-norm scales and shifts differ, as after
    training (they start at 1 and 0): for tests of blends, export and files."""
    from style_transfer import transformer

    network = transformer.build(width=0.25, styles=2, seed=0)
    rng = np.random.default_rng(0)
    for variable in network.weights:
        if variable.path.split("/")[-1] in ("scale", "shift"):
            variable.assign(variable.numpy() + rng.normal(0.0, 0.3, variable.shape).astype(np.float32))
    return network
