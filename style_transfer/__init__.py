"""Neural style transfer (Gatys et al.) for TensorFlow/Keras.

Data flow, one module each (image -> features -> loss -> step -> image): images (files <->
float32 RGB [1, H, W, 3] in [0, 1]) -> vgg (named features) -> targets (paintings and photos ->
what the loss compares with) -> losses (content, style statistics, TV; the loss terms) ->
objective (image -> terms and gradient; tiles: the same tile by tile) -> optimizers (Adam, L-BFGS
updates) -> step (compiled GradientTape step and its two loops) -> scales (one scale of a run) ->
multiscale (coarse to fine: `stylize`) -> distribute (batches over several devices) -> export
(SavedModels). geometry holds the sizes of a run, resample the resizing between scales, starts the
start images, colors the colour maps, devices what this machine runs best, summaries TensorBoard;
config every default. From targets on, images are batches [N, H, W, 3] of photos of one size,
each optimised as it would be alone.

    import style_transfer as st
    content = st.load_image("photo.jpg", max_size=512)
    style = st.load_image("painting.jpg", max_size=512)
    result = st.stylize(content, style, st.Config())
    st.save_image("out.png", result)

TensorFlow is imported only when a name that needs it is first used, so `images` and `config`
stay light (the CLI checks its inputs before paying for the import).
"""

import importlib

from style_transfer.config import (
    Config,
    FeatureConfig,
    LossConfig,
    OptimizerConfig,
    RuntimeConfig,
    ScheduleConfig,
    StyleConfig,
)
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
    "ImageOptimizer": "style_transfer.step",
    "Objective": "style_transfer.objective",
    "initial_image": "style_transfer.starts",
    "extractor_for": "style_transfer.vgg",
    "build_extractor": "style_transfer.vgg",
    "StyleTargets": "style_transfer.losses",
    "ContentTargets": "style_transfer.losses",
    "build_style_targets": "style_transfer.targets",
    "DistributedRunner": "style_transfer.distribute",
    "make_strategy": "style_transfer.distribute",
}

__all__ = [
    "Config",
    "FeatureConfig",
    "LossConfig",
    "OptimizerConfig",
    "RuntimeConfig",
    "ScheduleConfig",
    "StyleConfig",
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
