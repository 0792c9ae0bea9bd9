"""Neural style transfer (Gatys et al.) for TensorFlow/Keras.

Data flow, one module each: images (files <-> float32 RGB [1, H, W, 3] in [0, 1]) -> vgg (named
features) -> losses (content, Gram style, TV) -> objective (weighted loss terms) -> optimizers (Adam,
L-BFGS updates) -> optimize (compiled GradientTape step and loops) -> multiscale (coarse to fine)
-> distribute (batches over several devices). From objective on, images are batches
[N, H, W, 3] of photos of one size, each optimised as it would be alone. colors holds the colour
maps (recolored start, preserve_colors), devices picks the precision this machine runs best,
summaries logs a run to TensorBoard, export writes SavedModels.

    import style_transfer as st
    content = st.load_image("photo.jpg", max_size=512)
    style = st.load_image("painting.jpg", max_size=512)
    result = st.stylize(content, style, st.Config())
    st.save_image("out.png", result)

TensorFlow is imported only when a name that needs it is first used, so `images` and `config`
stay light (the CLI checks its inputs before paying for the import).
"""

import importlib

from style_transfer.config import Config
from style_transfer.errors import (
    ConfigError,
    ImageError,
    NonFiniteLossError,
    OutOfMemoryError,
    StyleTransferError,
    WeightsError,
)
from style_transfer.images import decode_image, encode_image, load_image, load_mask, save_image

__version__ = "0.1.0"

_LAZY = {
    "stylize": "style_transfer.multiscale",
    "Stylizer": "style_transfer.optimize",
    "Objective": "style_transfer.objective",
    "initial_image": "style_transfer.optimize",
    "build_extractor": "style_transfer.vgg",
    "StyleTargets": "style_transfer.losses",
    "ContentTargets": "style_transfer.losses",
    "build_style_targets": "style_transfer.targets",
    "DistributedStylizer": "style_transfer.distribute",
    "make_strategy": "style_transfer.distribute",
}

__all__ = [
    "Config",
    "ConfigError",
    "ImageError",
    "NonFiniteLossError",
    "OutOfMemoryError",
    "StyleTransferError",
    "WeightsError",
    "decode_image",
    "encode_image",
    "load_image",
    "load_mask",
    "save_image",
    *_LAZY,
]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'style_transfer' has no attribute {name!r}")
