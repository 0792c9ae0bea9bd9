"""The one home of every default: small frozen dataclasses, one per concern, composed into `Config`.

    FeatureConfig   the network whose features the losses compare (network, pooling, weights)
    LossConfig      which layers, and how much of each term (weights, normalisation)
    StyleConfig     the creative controls of the painting (blend weights, style scale, colours)
    OptimizerConfig the optimiser and its hyperparameters
    ScheduleConfig  coarse to fine: sizes, steps, the start image, the seed
    RuntimeConfig   how the machine runs it (precision, XLA, batches, devices, tiles, input limits)

Library functions take the part they use (`optimizers.adam_update(..., config.optim)`); the
pipeline takes the whole `Config`. Every field name is unique across the parts, so the CLI makes
one flag per field with the field's name (cli_common.py), and `Config(steps=30, tile_size=1024)`
or `config.replace(style_weight=10)` take field names directly, whichever part holds them.

Each field's metadata holds its flag's "help", its "choices" (a tuple: only those values), its
range ("min"/"max", inclusive, "above"/"below", exclusive) and, for a field that is not a flag of
its own, "flag": False. `validate` is a loop over that metadata plus the few rules that involve
more than one field; it raises ConfigError naming the field in the library's words (the CLI adds
the flag spelling: errors.py).

No TensorFlow here, so the CLI can build its flags (and `--help` can answer) without importing it.
"""

from __future__ import annotations

import dataclasses
import math
import os
import typing
from typing import Any

from style_transfer.errors import ConfigError, named

NETWORKS = ("vgg19", "vgg16")
INITS = ("content", "recolored", "style", "noise")  # or the path of an image (ScheduleConfig.init)
PRESERVE_COLORS = ("none", "luminance", "histogram")
POOLINGS = ("max", "avg")
PRECISIONS = ("auto", "float32", "bfloat16", "float16")
OPTIMIZERS = ("adam", "lbfgs")
JIT_MODES = ("auto", "true", "false")
STYLE_NORMALIZATIONS = ("photo", "painting")
STRATEGIES = ("auto", "one_device", "mirrored", "tpu")
# Training can also span machines: "multi_worker" (MultiWorkerMirroredStrategy, from TF_CONFIG).
TRAINING_STRATEGIES = (*STRATEGIES, "multi_worker")
STYLE_LOSSES = ("gram", "mean_cov", "sliced")  # statistics.py

# Gatys et al. (2016), section 2: content from conv4_2, style from conv1_1 ... conv5_1.
DEFAULT_CONTENT_LAYERS = ("block4_conv2",)
DEFAULT_STYLE_LAYERS = (
    "block1_conv1",
    "block2_conv1",
    "block3_conv1",
    "block4_conv1",
    "block5_conv1",
)

# Pillow's own decompression-bomb threshold is 89.5 MP (it only warns below 2x that); we refuse
# anything larger than this before decoding a single pixel.
DEFAULT_MAX_INPUT_PIXELS = 100_000_000


def setting(
    default: Any,
    help: str,
    *,
    choices: tuple[str, ...] | None = None,
    min: float | None = None,
    max: float | None = None,
    above: float | None = None,
    below: float | None = None,
    flag: bool = True,
    derives: Any = None,
) -> Any:
    """A dataclass field whose metadata the CLI (flags) and `check_fields` (ranges) read.

    derives: a function of the field's value -> {other field: value}, the settings it stands for
    when it is given (Config.__init__; the CLI: config_from_flags); settings given with it win.
    """
    metadata: dict[str, Any] = {"help": help}
    if derives is not None:
        metadata["derives"] = derives
    for key, value in (("choices", choices), ("min", min), ("max", max), ("above", above), ("below", below)):
        if value is not None:
            metadata[key] = value
    if not flag:
        metadata["flag"] = False
    return dataclasses.field(default=default, metadata=metadata)


def _rule(metadata) -> str:
    """'between 1 and 100', '>= 0', '> 1 and <= 4', ...: the range a field's metadata gives."""
    if "min" in metadata and "max" in metadata:
        return f"between {metadata['min']:g} and {metadata['max']:g}"
    lower = (
        f">= {metadata['min']:g}" if "min" in metadata else f"> {metadata['above']:g}" if "above" in metadata else ""
    )
    upper = (
        f"<= {metadata['max']:g}" if "max" in metadata else f"< {metadata['below']:g}" if "below" in metadata else ""
    )
    return " and ".join(part for part in (lower, upper) if part)


def check_fields(part) -> None:
    """ConfigError for the first field of the dataclass `part` outside its choices or range."""
    for field in dataclasses.fields(part):
        meta, value, name = field.metadata, getattr(part, field.name), field.name
        choices = meta.get("choices")
        if choices is not None and value not in choices:
            raise ConfigError(f"unknown {named(name)} {value!r}; use one of {', '.join(choices)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{named(name)} must be a finite number, got {value}")
        if not {"min", "max", "above", "below"} & set(meta):
            continue
        inside = (
            ("min" not in meta or value >= meta["min"])
            and ("max" not in meta or value <= meta["max"])
            and ("above" not in meta or value > meta["above"])
            and ("below" not in meta or value < meta["below"])
        )
        if not inside:
            raise ConfigError(f"{named(name)} must be {_rule(meta)}, got {value}")


def _check_weights(name: str, weights: tuple[float, ...]) -> None:
    if any(not (math.isfinite(w) and w >= 0) for w in weights) or not any(weights):
        raise ConfigError(f"{named(name)} must be >= 0 and not all zero, got {list(weights)}")


# The abstraction curve, faithful (0) to painterly (1): the settings each anchor stands for.
# Between anchors numbers are interpolated linearly (steps rounded), and the others (keep_detail,
# scales, min_scale_size) are the lower anchor's. 0 is the look of the defaults before issue 18 (a
# filtered photo: every edge and texture of the photo, the painting's colours and fine strokes);
# 0.5, the default, paints (docs/defaults.md, Round 3): structure formed at 128 px, where VGG sees
# the painting's strokes as large as the picture's shapes, refined at 256 and 512 px from the
# upsampled result (not the photo's detail), with a stronger style; 1 starts from a blurred, noisy
# photo so that even its contours are redrawn.
ABSTRACTION_CURVE: tuple[tuple[float, dict[str, Any]], ...] = (
    (0.0, dict(style_weight=3.5, steps=60, coarse_share=0.6, init_blur=0.0, init_noise=0.0,
               keep_detail=True, scales=2, min_scale_size=256)),
    (0.25, dict(style_weight=4.5, steps=100, coarse_share=0.8, init_blur=0.0, init_noise=0.0,
                keep_detail=False, scales=3, min_scale_size=128)),
    (0.5, dict(style_weight=6.0, steps=140, coarse_share=0.86, init_blur=0.0, init_noise=0.0,
               keep_detail=False, scales=3, min_scale_size=128)),
    (0.75, dict(style_weight=8.0, steps=140, coarse_share=0.86, init_blur=0.004, init_noise=0.0,
                keep_detail=False, scales=3, min_scale_size=128)),
    (1.0, dict(style_weight=10.0, steps=150, coarse_share=0.87, init_blur=0.008, init_noise=0.3,
               keep_detail=False, scales=3, min_scale_size=128)),
)  # fmt: skip
DEFAULT_ABSTRACTION = 0.5


def abstraction_settings(level: float) -> dict[str, Any]:
    """The settings `level` (0: faithful ... 1: painterly; clamped to that range) stands for, by
    field name: ABSTRACTION_CURVE, interpolated."""
    level = min(max(float(level), 0.0), 1.0)
    below = max(i for i, (at, _) in enumerate(ABSTRACTION_CURVE) if at <= level)
    at, low = ABSTRACTION_CURVE[below]
    upper_at, high = ABSTRACTION_CURVE[min(below + 1, len(ABSTRACTION_CURVE) - 1)]
    t = 0.0 if upper_at == at else (level - at) / (upper_at - at)
    settings: dict[str, Any] = {}
    for name, value in low.items():
        discrete = isinstance(value, bool) or (isinstance(value, int) and name != "steps")
        if discrete:
            settings[name] = value  # the lower anchor's
        else:
            mixed = value + t * (high[name] - value)
            settings[name] = round(mixed) if name == "steps" else round(mixed, 6)
    return settings


@dataclasses.dataclass(frozen=True)
class FeatureConfig:
    """The feature network (vgg.py)."""

    # "vgg19" (the paper's) or "vgg16"; weights: "imagenet" (Keras' download and cache,
    # ~/.keras/models), "none" (random init, for tests only) or the path of a Keras weights file.
    network: str = setting("vgg19", "Feature network.", choices=NETWORKS)
    # Gatys et al. replace VGG's max pooling by average pooling ("slightly more appealing results");
    # we keep max, measured in docs/controls.md.
    pooling: str = setting(
        "max", "VGG's pooling layers: max (as trained) or avg (the paper's choice).", choices=POOLINGS
    )
    weights: str = setting(
        "imagenet", "'imagenet' (Keras download, cached in ~/.keras/models), 'none' (random), or a path."
    )

    def validate(self) -> FeatureConfig:
        check_fields(self)
        if not self.weights:
            raise ConfigError(f"{named('weights')} is empty; use 'imagenet', 'none' or the path of a weights file")
        if self.weights not in ("imagenet", "none") and not os.path.isfile(self.weights):
            raise ConfigError(
                f"weights file {self.weights!r} does not exist; set {named('weights')}=imagenet, "
                f"{named('weights')}=none or the path of a Keras VGG weights file"
            )
        return self


@dataclasses.dataclass(frozen=True)
class LossConfig:
    """Which features the losses compare and how the terms are weighted (losses.py).

    Loss weights are relative to normalised losses (losses.py), so the same values work for VGG19
    and VGG16, for ImageNet weights from Keras or from a file, and at any image size.
    """

    content_layers: tuple[str, ...] = setting(DEFAULT_CONTENT_LAYERS, "Content layers, by Keras name.")
    style_layers: tuple[str, ...] = setting(
        DEFAULT_STYLE_LAYERS,
        "Style layers, by Keras name, each optionally with a relative weight: block1_conv1:2,block2_conv1.",
    )
    # Relative weight of each style layer (same length as style_layers); empty means equal weights.
    # Not a flag of its own: --style_layers=NAME:WEIGHT,... sets it.
    style_layer_weights: tuple[float, ...] = setting(
        (), "Relative weight of each style layer (one per style layer); empty: equal weights.", flag=False
    )
    # The style weight is set by StyleConfig.abstraction (ABSTRACTION_CURVE): 6 at the default, 3.5
    # at 0. Chosen on the gallery (benchmarks/gallery.py: 3 photos x 4 paintings, VGG16 ImageNet
    # weights, docs/defaults.md) with style_normalization="photo", L-BFGS and the recolored start:
    # in Round 2, 1.7 matched the benchmark baseline's content figure but was timid, 3.5 as
    # stylised as the Adam defaults before it; in Round 3, 6 with the painterly schedule (10 changes
    # little more). TV 1 keeps fine strokes.
    content_weight: float = setting(1.0, "Weight of the (normalised) content loss.", min=0)
    style_weight: float = setting(6.0, "Weight of the (normalised) style loss.", min=0)
    tv_weight: float = setting(1.0, "Weight of the total-variation (smoothness) loss.", min=0)
    # How each style layer's error is scaled (losses.py, departures 2 and 5): "painting" divides it by
    # the painting's Gram norm only; "photo" also by the photo's own error at that layer, so every
    # layer and every painting starts at 1 and no layer dominates (docs/defaults.md).
    style_normalization: str = setting(
        "photo",
        "Style layer errors relative to the painting's Gram norm ('painting'), and also to the "
        "photo's own error per layer ('photo': every layer and painting starts equal).",
        choices=STYLE_NORMALIZATIONS,
    )
    # What the style loss matches at each layer (statistics.py): the paper's Gram matrices; the
    # features' mean and covariance (Wasserstein-2 between Gaussians); or their whole distribution
    # (sliced Wasserstein). Each is a relative error, so the weights carry over.
    style_loss: str = setting(
        "gram",
        "Style statistic: gram (the paper's), mean_cov (mean and covariance, Wasserstein-2), or sliced "
        "(the features' whole distribution, sliced Wasserstein; not with tiles).",
        choices=STYLE_LOSSES,
    )

    def layers(self) -> tuple[str, ...]:
        """Every layer the losses read, content first, each once: what the extractor must return."""
        return tuple(dict.fromkeys(self.content_layers + self.style_layers))

    def layer_weights(self) -> dict[str, float]:
        """Style layer name -> relative weight (not yet normalised)."""
        weights = self.style_layer_weights or (1.0,) * len(self.style_layers)
        return dict(zip(self.style_layers, weights, strict=True))

    def min_side(self) -> int:
        """Smallest image side, in pixels, at which every requested layer still has 1x1 features.

        Each VGG pooling halves the size (rounding down): block5_conv1 sits after 4 of them, so
        it needs 2^4 = 16 px; block4_pool needs 2^4 too.
        """
        need = 1
        for name in self.content_layers + self.style_layers:
            block = int(name[5]) if name[:5] == "block" and name[5:6].isdigit() else 1
            need = max(need, 2 ** (block if name.endswith("_pool") else block - 1))
        return need

    def validate(self) -> LossConfig:
        check_fields(self)
        if not self.content_layers and self.content_weight > 0:
            raise ConfigError(
                f"{named('content_layers')} is empty; name at least one layer or set {named('content_weight')}=0"
            )
        if not self.style_layers and self.style_weight > 0:
            raise ConfigError(
                f"{named('style_layers')} is empty; name at least one layer or set {named('style_weight')}=0"
            )
        if self.style_layer_weights:
            if len(self.style_layer_weights) != len(self.style_layers):
                raise ConfigError(
                    f"{len(self.style_layer_weights)} weights in {named('style_layer_weights')} for "
                    f"{len(self.style_layers)} style layers; give one per layer or none"
                )
            _check_weights("style_layer_weights", self.style_layer_weights)
        # Layer names are checked against the network in vgg.py, which knows them.
        return self


@dataclasses.dataclass(frozen=True)
class StyleConfig:
    """How the painting is used: several blended, its scale, whose colours (colors.py)."""

    # Several styles (--style=a.jpg,b.jpg): their targets are blended by these weights, normalised
    # to sum to 1 (losses.py, departure 3); empty = equal. One per style image.
    style_blend_weights: tuple[float, ...] = setting(
        (), "Blend weight of each style image, e.g. 0.7,0.3 (normalised to sum to 1; empty: equal)."
    )
    # The style image's longer side relative to the output's at every scale: brush strokes are as
    # many VGG receptive fields wide as they are pixels in the painting so scaled, so < 1 paints
    # larger structures, > 1 finer ones (jcjohnson's -style_scale).
    style_scale: float = setting(
        1.0, "Style image size relative to the output's (0.25-4): < 1 larger strokes, > 1 finer.", min=0.25, max=4
    )
    # Colour preservation (Gatys et al. 2017, "Controlling Perceptual Factors in Neural Style
    # Transfer", section 5): "luminance" puts the result's luma (Y of YCbCr) with the photo's chroma
    # after optimising; "histogram" gives the painting the photo's colour mean and covariance
    # before optimising, so strokes come from the painting and colours from the photo.
    preserve_colors: str = setting(
        "none",
        "Keep the photo's colours: none, luminance (the result's luma with the photo's chroma), "
        "or histogram (the painting recoloured to the photo's palette before optimising).",
        choices=PRESERVE_COLORS,
    )

    # One control from faithful to painterly (issue 18): sets the settings ABSTRACTION_CURVE lists
    # (style weight, steps and how they split over the scales, the start's blur and noise, the
    # hand-over); any of them given beside it (on the command line, or in the same Config(...) or
    # replace(...) call) wins. The defaults of those settings are its default's.
    abstraction: float = setting(
        DEFAULT_ABSTRACTION,
        "From faithful (0: the photo's every edge, in the painting's colours and fine strokes) to "
        "painterly (1: broad strokes, the photo's shapes redrawn); sets --style_weight, --steps, "
        "--coarse_share, --scales, --min_scale_size, --keep_detail, --init_blur, --init_noise unless given.",
        min=0,
        max=1,
        derives=abstraction_settings,
    )

    def blend_weights(self, count: int) -> list[float] | None:
        """style_blend_weights checked against `count` style images (None: equal weights)."""
        if not self.style_blend_weights:
            return None
        if len(self.style_blend_weights) != count:
            raise ConfigError(
                f"{len(self.style_blend_weights)} weights in {named('style_blend_weights')} for {count} style "
                "image(s); give one per style or none"
            )
        return list(self.style_blend_weights)

    def validate(self) -> StyleConfig:
        check_fields(self)
        if self.style_blend_weights:
            _check_weights("style_blend_weights", self.style_blend_weights)
        return self


@dataclasses.dataclass(frozen=True)
class OptimizerConfig:
    """The pure optimiser update (optimizers.py)."""

    # "lbfgs" (the paper's, box-constrained; see optimizers.lbfgs_update) or "adam", and L-BFGS's
    # memory (pairs kept). L-BFGS reaches Adam's figures in a quarter of the steps or fewer
    # (docs/defaults.md, docs/benchmarks.md).
    optimizer: str = setting(
        "lbfgs",
        "adam, or lbfgs (the paper's: quasi-Newton, bounded to [0, 1], one evaluation per step).",
        choices=OPTIMIZERS,
    )
    lbfgs_memory: int = setting(10, "L-BFGS: how many past steps it remembers.", min=1, max=100)
    # Adam on pixel values in [0, 1]. 0.03 with coarse to fine: 0.05 (one step per pixel of 1/20 of
    # the range) adds high-frequency noise at the final scale that costs content; the TF
    # tutorial's 0.02 is still moving after 200 steps. L-BFGS sizes its own steps after the first.
    learning_rate: float = setting(
        0.03, "Adam's step size in pixel units ([0, 1] range); L-BFGS: its first step's largest change.", above=0
    )
    # Adam's other settings: library only, not flags.
    beta_1: float = setting(0.9, "Adam's first-moment decay.", min=0, below=1, flag=False)
    beta_2: float = setting(0.999, "Adam's second-moment decay.", min=0, below=1, flag=False)
    epsilon: float = setting(1e-8, "Adam's epsilon (added to the root of the second moment).", above=0, flag=False)

    def validate(self) -> OptimizerConfig:
        check_fields(self)
        return self


@dataclasses.dataclass(frozen=True)
class ScheduleConfig:
    """Coarse to fine (geometry.py, multiscale.py): the sizes, the steps at each, where it starts."""

    # Longer side of the output in pixels; the style image is scaled to style_scale times that.
    max_size: int = setting(512, "Longer side of the output (and of the style image), in pixels.", min=16, max=8192)
    # Set by `abstraction` (ABSTRACTION_CURVE), as are scales, min_scale_size, coarse_share,
    # keep_detail, init_blur, init_noise and LossConfig.style_weight: their defaults are the
    # default abstraction's. L-BFGS settles in ~50 steps at one size (docs/defaults.md).
    steps: int = setting(140, "Optimisation steps, in all (over all scales).", min=0)
    # Coarse to fine: optimise at up to `scales` sizes, each `scale_ratio` times larger than the
    # last and the last max_size, but only at sizes whose longer side is at least min_scale_size
    # (so with 128: a 512 px run is 128, 256 then 512 px); `coarse_share` of the steps go to the
    # coarser sizes (split evenly), the rest to the final one. A coarse step costs ~1/ratio^2 of a
    # final one. The coarsest scale sets the size of the painting's structures (strokes, facets)
    # relative to the picture: at 128 px they are as large as the photo's shapes (painterly); from
    # 256 px the photo's every edge stays (faithful; docs/defaults.md).
    scales: int = setting(
        3, "Coarse to fine: optimise at up to this many sizes, ending at max_size; 1 = one size.", min=1, max=8
    )
    scale_ratio: float = setting(
        2.0, "Size ratio between successive scales (e.g. 2: 256 px, then 512 px).", above=1, max=4
    )
    min_scale_size: int = setting(
        128, "Coarser scales only where their longer side is at least this many pixels (0: always).", min=0, max=8192
    )
    coarse_share: float = setting(
        0.86, "Share of --steps spent at the coarser scales (split evenly between them).", min=0, below=1
    )
    # Departure from plain coarse-to-fine (which starts each size from the upsampled result):
    # start from the photo at the new size plus the upsampled *change* made at the coarser size,
    # a Laplacian-pyramid hand-over. The photo's fine detail, which downsampling removed, is then
    # not lost from the result; measured: content figure 0.68 instead of 0.75 at equal style. That
    # is the faithful look (abstraction 0); painting means replacing that detail, so the default is off.
    keep_detail: bool = setting(
        False,
        "Each finer scale starts from the photo plus the upsampled change made at the coarser one "
        "(keeps the photo's fine detail); false: from the upsampled coarser result.",
    )
    # "recolored": the photo with the painting's colour mean and covariance (colors.py), so the
    # shallow style layers start near their targets and the steps go to texture.
    # Or the path of an image (resized to the content's size), e.g. an earlier result to refine.
    init: str = setting(
        "recolored",
        "Starting image: content (the photo), recolored (the photo in the painting's palette), "
        "style, noise, or the path of an image (e.g. an earlier result to refine).",
    )
    # A blurred start (issue 18): the photo's fine texture is not there for the optimiser to keep,
    # so the strokes that fill it in are the painting's; its shapes are. A fraction of the first
    # scale's longer side (0.01: a Gaussian of 2.56 px at 256 px), so it means the same at any size.
    # init_noise mixes in uniform noise (the paper's white-noise start) by that share. Both act on
    # the built-in starts (content, recolored, style), never on an image given as init.
    init_blur: float = setting(
        0.0,
        "Blur the start image by a Gaussian of this fraction of its longer side (0.01: 2.6 px at 256 px).",
        min=0,
        max=0.1,
    )
    init_noise: float = setting(
        0.0, "Share of uniform noise mixed into the start image (1: the paper's white noise).", min=0, max=1
    )
    seed: int = setting(0, "Random seed (noise init, random weights).")

    def validate(self) -> ScheduleConfig:
        check_fields(self)
        if self.init not in INITS and not os.path.isfile(self.init):
            raise ConfigError(
                f"{named('init')} {self.init!r} is neither one of {', '.join(INITS)} nor an existing image file"
            )
        return self


@dataclasses.dataclass(frozen=True)
class RuntimeConfig:
    """How this machine runs it: precision and XLA (devices.py), batches and devices
    (distribute.py), tiles (tiles.py) and the inputs it accepts."""

    # Precision of the VGG features ("mixed" with float32 weights); Gram matrices, losses, the image
    # and the optimiser's state always stay float32. "auto": bfloat16 where the hardware has it (devices.py).
    # A trained network's convolutions (style-transfer --model) run in it too; its instance norms
    # stay float32 (docs/networks.md measures what bfloat16 changes in its pictures).
    precision: str = setting(
        "auto",
        "VGG feature precision, and a trained network's convolutions' (auto: bfloat16 where the hardware "
        "has it); losses stay float32.",
        choices=PRECISIONS,
    )
    # XLA-compile the step. Measured per step: 0.72x (slower) on an AVX-512 Zen 5 CPU, 0.80-0.85x
    # on a Zen 4, 1.12x at 256 px and 1.48x at 512 px on an AVX2 Zen 3, 1.45-2.2x on an H200, so no
    # fixed default is right on every machine: "auto" compiles the final scale's step with XLA on
    # GPUs and TPUs, not on AVX-512 CPUs, and elsewhere times both on its first steps and keeps the
    # faster (devices.auto_jit, scales.py, step.py).
    jit_compile: str = setting(
        "auto",
        "XLA-compile the step: true, false, or auto (XLA on GPUs/TPUs, not on AVX-512 CPUs; elsewhere "
        "time a few steps each way, keep the faster).",
        choices=JIT_MODES,
    )
    # Folder mode: photos of one size (after loading at max_size) are stylised together, up to
    # batch_size at a time, each exactly as it would be alone (losses.py: one loss per image;
    # optimizers.py: per-image updates). It pays on an accelerator, which a single 512 px image
    # leaves mostly idle; on a CPU a batch takes about as long as its photos one after another.
    batch_size: int = setting(
        1, "Folder mode: stylise up to this many photos of the same size together (for GPUs/TPUs).", min=1, max=1024
    )
    # Several devices (distribute.py): "mirrored" spreads each batch over the GPUs (or a CPU's
    # logical devices), "tpu" over a TPU's cores, each replica stylising its own photos with the
    # in-graph loop (no per-step progress there); "one_device" runs that loop on the first GPU (or
    # the CPU); "auto" picks tpu where one is configured, mirrored for several photos on several
    # GPUs, and otherwise the default device with per-step progress.
    distribution_strategy: str = setting("auto", "How to use several devices (distribute.py).", choices=STRATEGIES)
    tpu: str = setting("", "The TPU for --distribution_strategy=tpu/auto: a name or grpc:// address ('' = none).")
    # Huge images (tiles.py): at a scale whose longer side exceeds tile_size, the network sees one
    # crop of at most tile_size px a side at a time, and the loss and gradient of the whole image
    # are summed tile by tile (two passes per step, ~4/3 the work), so memory no longer grows with
    # the image beyond a few image-sized buffers. Neighbouring tiles overlap by tile_overlap px,
    # across which their weights cross-fade: no seams. Masks work; the in-graph loop (exported
    # models, distribution strategies) does not tile. Its range depends on the layers: Config.validate.
    tile_size: int = setting(
        0,
        "Scales (or, with a trained network, pictures) larger than this many px a side run tile by tile, in "
        "bounded memory (0: never).",
    )
    tile_overlap: int = setting(
        128, "Overlap of neighbouring tiles in px, across which they cross-fade (at most half a tile).", min=0, max=4096
    )
    max_input_pixels: int = setting(DEFAULT_MAX_INPUT_PIXELS, "Refuse input images with more pixels than this.", min=1)

    def validate(self) -> RuntimeConfig:
        check_fields(self)
        return self


@dataclasses.dataclass(frozen=True, init=False)
class Config:
    """Settings of one stylisation: one part per concern (see the module docstring).

    Config(), Config(steps=30, style_weight=10) (field names, whichever part holds them), or
    Config(loss=LossConfig(...), ...) (whole parts), or both.
    """

    features: FeatureConfig
    loss: LossConfig
    style: StyleConfig
    optim: OptimizerConfig
    schedule: ScheduleConfig
    runtime: RuntimeConfig

    def __init__(
        self,
        *,
        features: FeatureConfig | None = None,
        loss: LossConfig | None = None,
        style: StyleConfig | None = None,
        optim: OptimizerConfig | None = None,
        schedule: ScheduleConfig | None = None,
        runtime: RuntimeConfig | None = None,
        **fields: Any,
    ):
        given = dict(features=features, loss=loss, style=style, optim=optim, schedule=schedule, runtime=runtime)
        for name, setting_value in list(fields.items()):  # e.g. abstraction: what it stands for, unless given
            derive = _DERIVES.get(name)
            if derive is not None:
                for derived, derived_value in derive(setting_value).items():
                    fields.setdefault(derived, derived_value)
        by_part: dict[str, dict[str, Any]] = {part: {} for part in PARTS}
        for name, setting_value in fields.items():
            by_part[part_of(name)][name] = setting_value
        for part, cls in PARTS.items():
            value: Any = given[part] if given[part] is not None else cls()
            object.__setattr__(self, part, dataclasses.replace(value, **by_part[part]) if by_part[part] else value)

    def replace(self, **changes: Any) -> Config:
        """A copy with `changes`: field names (of any part) or whole parts."""
        parts = {part: getattr(self, part) for part in PARTS}
        parts.update({name: changes.pop(name) for name in list(changes) if name in PARTS})
        return Config(**parts, **changes)

    def fields(self) -> dict[str, Any]:
        """Every field of every part, by name: {"network": "vgg19", ..., "max_input_pixels": ...}."""
        return {f.name: getattr(getattr(self, part), f.name) for part in PARTS for f in dataclasses.fields(PARTS[part])}

    def validate(self) -> Config:
        """Raise ConfigError (one line, what is wrong and what to do) or return self."""
        for part in PARTS:
            getattr(self, part).validate()
        tile_size, floor = self.runtime.tile_size, max(64, self.loss.min_side())
        if tile_size and not floor <= tile_size <= 8192:
            raise ConfigError(f"{named('tile_size')} must be 0 (no tiles) or between {floor} and 8192, got {tile_size}")
        if tile_size and self.loss.style_loss == "sliced":  # sorted projections do not add up over tiles
            raise ConfigError(
                f"{named('style_loss')}=sliced cannot run tile by tile (sorted projections do not add up over "
                f"tiles); set {named('tile_size')}=0 or {named('style_loss')} to gram or mean_cov"
            )
        return self


# The parts of a Config, by attribute name, in flag order: {"features": FeatureConfig, ...}.
PARTS: dict[str, type] = {field.name: typing.get_type_hints(Config)[field.name] for field in dataclasses.fields(Config)}
_FIELD_PARTS = {field.name: part for part, cls in PARTS.items() for field in dataclasses.fields(cls)}
# Fields that stand for others when given ({"abstraction": abstraction_settings}).
_DERIVES = {
    field.name: field.metadata["derives"]
    for cls in PARTS.values()
    for field in dataclasses.fields(cls)
    if "derives" in field.metadata
}


def part_of(name: str) -> str:
    """The part of Config that holds the field `name` (TypeError for a name no part has)."""
    try:
        return _FIELD_PARTS[name]
    except KeyError:
        raise TypeError(f"Config has no field {name!r}; its fields are {', '.join(_FIELD_PARTS)}") from None


# --- Video (issue 20): a clip's frames one after another, each consistent with the last. ---

VIDEO_MODES = ("temporal", "independent")


@dataclasses.dataclass(frozen=True)
class VideoConfig:
    """A clip (video.py): how each frame after the first is stylised (style-transfer's flags for
    clips come from here)."""

    # "temporal" (Ruder et al. 2016): each frame after the first starts from the previous result
    # warped by the optical flow, and a temporal term keeps it there where the flow is reliable;
    # "independent": every frame stylised alone, as a photo (it flickers: the baseline).
    video_mode: str = setting(
        "temporal",
        "Clips: temporal (each frame from the last result warped by the optical flow, held there where "
        "the flow is reliable) or independent (each frame alone: flickers).",
        choices=VIDEO_MODES,
    )
    temporal_weight: float = setting(
        5.0, "Clips, temporal mode: weight of the temporal term (the frame against the last result warped).", min=0
    )
    # Frames after the first start from the previous result warped, close to done: a few steps at
    # the final size, no coarser scales (Ruder et al. 2016 halve them too). A frame that only moved
    # gets fewer than one whose picture changed (video.py, departure 8): more steps there only went
    # on optimising the paint carried along, and a long moving shot crept away from its first frame.
    later_steps: int = setting(
        20,
        "Clips, temporal mode: optimisation steps of a frame after the first whose picture changed (a "
        "cross-fade, the light; at the final size only); the first frame gets --steps.",
        min=1,
    )
    moved_steps: int = setting(
        10,
        "Clips, temporal mode: optimisation steps of a frame after the first that only moved (the optical "
        "flow explains it); between it and --later_steps as the picture changes.",
        min=1,
    )
    # Departure 6 (video.py): what the carried result does not cover (content entering a pan,
    # occlusions) is first painted at the first frame's last coarser scale, the rest held still.
    new_steps: int = setting(
        20,
        "Clips, temporal mode: steps at the first frame's last coarser size for what the previous result "
        "does not cover (content coming into view), before --later_steps; 0: none.",
        min=0,
    )
    # Departure 6 too: where that region is a large share of the frame (a van crossing the shot), it
    # is then painted at the final size as well, still alone: the later steps over the whole frame
    # had left it softer than a frame alone (stroke figure 1.27x; docs/video.md). 20 here with 20 at
    # the coarser size did better than 10 with 40 on the real stretches and as well on the synthetic
    # clips, in less time where the new region is small (docs/video.md, "A real clip").
    new_final_steps: int = setting(
        20,
        "Clips, temporal mode: then steps at the final size for that region alone where it is a large share "
        "of the frame (all of them from 20 %, none under 5 %: video.NEW_FINAL_SHARE); 0: none.",
        min=0,
    )
    # Ruder et al.'s long-term consistency (video.py, departure 1): the frames back, 1 first, each
    # pixel is held to (the nearest that showed it); (1,): the previous frame alone. Their script's
    # 1, 15, 40 suits their 2000-step frames; on the clips of docs/video.md a denser set did better.
    held_frames: tuple[int, ...] = setting(
        (1, 2, 4, 8, 16),
        "Clips, temporal mode: the earlier frames, counted back, a frame is held to where they show "
        "the same thing, each pixel to the nearest (1: the previous frame alone).",
    )
    # Departure 10 (video.smoothed; Bonneel et al. 2015's blind temporal consistency, as a recursive
    # filter): a network's result is mixed with the previous result carried by the optical flow,
    # this share of it where the flow and the photo say it is the same thing. Steadier on a real
    # (noisy, handheld) clip than a network trained steady, at a little less stroke contrast and
    # the time of two optical flows a frame (docs/video.md).
    network_smoothing: float = setting(
        0.0,
        "Clips through --model: share of the previous result, carried by the optical flow, mixed into "
        "each frame where the flow is reliable (0: none; 0.5 about halves a real clip's flicker).",
        min=0,
        max=0.9,
    )
    # Departure 12 (video.HeldPaint): each network result's paint is held where the optical flow
    # follows it, sampled once from the frame that painted it, so its strokes stay as sharp as a
    # frame's own; on a real clip at 640 px 0.17-0.45x the flicker with the style figure within 6 %,
    # where smoothing 0.5 gave up 16-28 % of it (docs/video.md).
    network_hold: bool = setting(
        False,
        "Clips through --model: hold each frame's paint where the optical flow follows it, sampled once from "
        "the frame that painted it (steady strokes; not with --network_smoothing).",
    )
    fps: float = setting(0.0, "Frame rate of a numbered frame sequence (0: 25; a video file keeps its own).", min=0)

    def validate(self) -> VideoConfig:
        check_fields(self)
        frames = self.held_frames
        if not frames or frames[0] != 1 or list(frames) != sorted(set(frames)):
            raise ConfigError(f"{named('held_frames')} must start at 1 and increase, got {list(frames)}")
        if self.network_hold and self.network_smoothing:
            raise ConfigError(
                f"{named('network_hold')} and {named('network_smoothing')} are two ways to steady a network's "
                "frames: give one"
            )
        return self


@dataclasses.dataclass(frozen=True)
class VideoSetup:
    """VideoConfig as a config class of one part, for cli_common.define_config_flags."""

    video: VideoConfig = dataclasses.field(default_factory=VideoConfig)

    def validate(self) -> VideoSetup:
        self.video.validate()
        return self


# --- Feed-forward networks (issue 19): photos -> network -> image, trained with the loss above. ---

# Johnson et al.'s loss layers on VGG16 (content relu3_3; style relu1_2, relu2_2, relu3_3,
# relu4_3), by Keras name: what a network is trained with unless a LossConfig is given.
NETWORK_CONTENT_LAYERS = ("block3_conv3",)
NETWORK_STYLE_LAYERS = ("block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3")
NETWORK_STYLE_WEIGHT = 2.0


@dataclasses.dataclass(frozen=True)
class NetworkConfig:
    """The feed-forward network's shape (transformer.py)."""

    # 1: Johnson's widths (32, 64, 128 channels: ~1.68 M parameters); 0.5: ~0.42 M, ~2x faster.
    width: float = setting(
        0.5, "Width multiplier of the network (1: Johnson et al.'s ~1.7 M parameters).", above=0, max=4
    )

    def validate(self) -> NetworkConfig:
        check_fields(self)
        return self


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Training a network (training.py, photos.py): crops of photos, Adam, checkpoints."""

    steps: int = setting(2000, "Training steps (batches), in all; a resumed run goes on to this count.", min=1)
    batch_size: int = setting(4, "Photos a step (the global batch, over every replica).", min=1, max=1024)
    # Square crops at crop_size; each taken from the photo resized so its shorter side is
    # crop_size times one of crop_scales (random): larger factors, smaller details.
    crop_size: int = setting(256, "Side of the square training crops, in pixels.", min=16, max=2048)
    crop_scales: tuple[float, ...] = setting(
        (1.0, 1.5, 2.0), "The photo's shorter side before cropping, in crop sizes (one drawn per crop).", flag=False
    )
    # The paintings are measured once, at this longer side (the style image's size sets the size of
    # its strokes against the crops).
    style_size: int = setting(512, "Longer side of each painting when its targets are built, in pixels.", min=16)
    # The style loss at each of these scales (training.py, departure 8): at factor f the crops and the
    # network's output shrunk f times against the painting shrunk f times; the style term is the
    # mean over the scales. (1,): Johnson et al.'s single scale.
    style_scales: tuple[float, ...] = setting(
        (1.0,),
        "Style loss at these scales, each a factor the crops, results and paintings are shrunk by "
        "(the first 1): 1,2,4 paints larger strokes, as the optimisation's coarse scales do.",
    )
    # Departure 9 (training.shift_error): the result of the crops moved by 1-3 px must be the
    # result moved alike; against a pattern locked to the network's stride-4 grid. 0: off (Johnson et al.).
    shift_weight: float = setting(
        0.0,
        "Weight of the shift term: the result of the crops moved 1-3 px must move alike (against a 4 px motif).",
        min=0,
    )
    # Departure 10 (training.motion_error): the result of the crops moved by a small camera motion
    # (sub-pixel shift, zoom, turn) must be the result moved alike: networks for video, steady
    # from frame to frame (Ruder et al. 2018). 0: off.
    motion_weight: float = setting(
        0.0,
        "Weight of the motion term: the result of the crops moved by a small camera motion (shift, zoom, turn) "
        "must move alike (steady video).",
        min=0,
    )
    # Departure 10's noise (training.motion_error, Gupta et al. 2017): a camera's next frame is not
    # this one moved exactly: sensor and compression noise change every pixel a little, and a
    # network whose strokes follow that flickers on real clips even where it follows the motion.
    # The moved crops get Gaussian noise of this standard deviation ([0, 1] units). 0: none.
    motion_noise: float = setting(
        0.0,
        "Standard deviation of the noise added to the motion term's moved crops ([0, 1] units): a real "
        "clip's next frame is noisy (steady on real video).",
        min=0,
        max=0.5,
    )
    # Departure 11 (training.teacher_error): the result must be a trained network's (the teacher,
    # style-transfer-train --teacher) for the same crops and painting: distillation (Hinton et al.
    # 2015) into a narrower, faster network. With content and style weights 0 no VGG pass is made.
    teacher_weight: float = setting(
        0.0,
        "Weight of the teacher term: the result must be the --teacher network's for the same crops and painting "
        "(distillation into a smaller network).",
        min=0,
    )
    # Pixels of each border the shift and motion terms leave out (there the moved crop's own border is). Keep
    # it small: at 16, networks painted the grid pattern into that unwatched band instead (the style
    # statistics are the whole picture's): 2-2.6x the interior's fine detail.
    shift_margin: int = setting(4, "Pixels of each border the shift and motion terms leave out.", min=0, max=64)
    learning_rate: float = setting(1e-3, "Adam's learning rate for the network's weights.", above=0)
    seed: int = setting(0, "Seed of the weights, the photo order and the crops.")
    precision: str = setting(
        "auto",
        "VGG feature precision (auto: bfloat16 where the hardware has it); losses stay float32.",
        choices=PRECISIONS,
    )
    # Data parallel (training.make_strategy): each replica takes its share of the global batch and
    # the gradients are summed. auto: every GPU where there are several, a TPU where one is named.
    distribution_strategy: str = setting(
        "auto",
        "Devices to train on: auto, one_device, mirrored (every GPU, or the logical CPUs), multi_worker "
        "(several machines, from TF_CONFIG), or tpu.",
        choices=TRAINING_STRATEGIES,
    )
    tpu: str = setting("", "The TPU for distribution_strategy tpu/auto: a name or grpc:// address ('' = none).")
    checkpoint_every: int = setting(200, "Write a checkpoint every this many steps (and at the end).", min=1)
    keep_checkpoints: int = setting(3, "Checkpoints kept.", min=1)

    def validate(self) -> TrainConfig:
        check_fields(self)
        if not self.style_scales or self.style_scales[0] != 1.0 or min(self.style_scales) < 1.0:
            raise ConfigError(
                f"{named('style_scales')} must start at 1 (the crops' own scale) and be >= 1, got {self.style_scales}"
            )
        if not self.crop_scales or min(self.crop_scales) < 1.0:
            raise ConfigError(f"{named('crop_scales')} must be >= 1 (a crop within the photo), got {self.crop_scales}")
        return self


@dataclasses.dataclass(frozen=True)
class TrainingSetup:
    """Settings of one network's training, in parts as Config's (style-transfer-train's flags are
    generated from them): the feature network (VGG16 by default, as Johnson et al.), the loss
    (Johnson et al.'s layers, our normalised weights), the network's shape, the training run."""

    features: FeatureConfig = dataclasses.field(default_factory=lambda: FeatureConfig(network="vgg16"))
    # Style weight 2, not stylize's 6: a network cannot fit each photo as the pixel optimiser does,
    # and at 6 it gave up the photo's content for texture (docs/networks.md, the first sweep).
    loss: LossConfig = dataclasses.field(
        default_factory=lambda: LossConfig(
            content_layers=NETWORK_CONTENT_LAYERS, style_layers=NETWORK_STYLE_LAYERS, style_weight=NETWORK_STYLE_WEIGHT
        )
    )
    network: NetworkConfig = dataclasses.field(default_factory=NetworkConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)

    def validate(self) -> TrainingSetup:
        for part in (self.features, self.loss, self.network, self.train):
            part.validate()
        return self
