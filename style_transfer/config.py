"""The one home of every default: a frozen dataclass that the library takes and the CLI reads.

No TensorFlow here, so the CLI can build its flags (and `--help` can answer) without importing it.
"""

from __future__ import annotations

import dataclasses
import math
import os

from style_transfer.errors import ConfigError

NETWORKS = ("vgg19", "vgg16")
INITS = ("content", "recolored", "style", "noise")  # or the path of an image (Config.init)
PRESERVE_COLORS = ("none", "luminance", "histogram")
POOLINGS = ("max", "avg")
PRECISIONS = ("auto", "float32", "bfloat16", "float16")
OPTIMIZERS = ("adam", "lbfgs")
JIT_MODES = ("auto", "true", "false")
STYLE_NORMALIZATIONS = ("photo", "painting")
STRATEGIES = ("auto", "one_device", "mirrored", "tpu")

# Gatys et al. (2016), section 2: content from conv4_2, style from conv1_1 ... conv5_1.
DEFAULT_CONTENT_LAYERS = ("block4_conv2",)
DEFAULT_STYLE_LAYERS = (
    "block1_conv1",
    "block2_conv1",
    "block3_conv1",
    "block4_conv1",
    "block5_conv1",
)

# The bundled sample (licences in data/README.md): what the CLI stylises when given no images.
_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
SAMPLE_CONTENT = os.path.join(_DATA, "chelsea.png")
SAMPLE_STYLE = os.path.join(_DATA, "starry_night.jpg")
SAMPLE_STYLE_2 = os.path.join(_DATA, "great_wave.jpg")  # a second painting, for blends (notebooks)

# Pillow's own decompression-bomb threshold is 89.5 MP (it only warns below 2x that); we refuse
# anything larger than this before decoding a single pixel.
DEFAULT_MAX_INPUT_PIXELS = 100_000_000


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings of one stylisation. Every default of the package lives here.

    Loss weights are relative to normalised losses (see `losses.py`), so the same values work for
    VGG19 and VGG16, for ImageNet weights from Keras or from a file, and at any image size.

    Every field is also a command-line flag of the same name (cli_common.py makes them from these
    fields): its metadata holds the flag's "help", "choices" (a tuple: the flag takes only those)
    and, for a field that is not a flag of its own, "flag": False.
    """

    # Network: "vgg19" (the paper's) or "vgg16"; weights: "imagenet" (Keras' download and cache,
    # ~/.keras/models), "none" (random init, for tests only) or the path of a Keras weights file.
    network: str = dataclasses.field(default="vgg19", metadata={"help": "Feature network.", "choices": NETWORKS})
    # Gatys et al. replace VGG's max pooling by average pooling ("slightly more appealing results");
    # we keep max, measured in docs/controls.md.
    pooling: str = dataclasses.field(
        default="max",
        metadata={"help": "VGG's pooling layers: max (as trained) or avg (the paper's choice).", "choices": POOLINGS},
    )
    weights: str = dataclasses.field(
        default="imagenet",
        metadata={"help": "'imagenet' (Keras download, cached in ~/.keras/models), 'none' (random), or a path."},
    )
    content_layers: tuple[str, ...] = dataclasses.field(
        default=DEFAULT_CONTENT_LAYERS, metadata={"help": "Content layers, by Keras name."}
    )
    style_layers: tuple[str, ...] = dataclasses.field(
        default=DEFAULT_STYLE_LAYERS,
        metadata={
            "help": "Style layers, by Keras name, each optionally with a relative weight: block1_conv1:2,block2_conv1."
        },
    )
    # Relative weight of each style layer (same length as style_layers); empty means equal weights.
    # Not a flag of its own: --style_layers=NAME:WEIGHT,... sets it.
    style_layer_weights: tuple[float, ...] = dataclasses.field(
        default=(),
        metadata={
            "help": "Relative weight of each style layer (one per style layer); empty: equal weights.",
            "flag": False,
        },
    )

    # Chosen on the gallery (benchmarks/gallery.py, docs/gallery.md: 3 photos x 4 paintings, VGG16
    # ImageNet weights) with style_normalization="photo", L-BFGS and the recolored start: 1.7
    # matches the benchmark baseline's content figure but is timid on every painting but Starry
    # Night; 3.5 is as stylised as the former Adam defaults (style 3, 200 steps) by the style
    # figure on 11 of 12 pairs, keeping more of the photo (docs/defaults.md); TV 1 keeps fine strokes.
    content_weight: float = dataclasses.field(
        default=1.0, metadata={"help": "Weight of the (normalised) content loss."}
    )
    style_weight: float = dataclasses.field(default=3.5, metadata={"help": "Weight of the (normalised) style loss."})
    tv_weight: float = dataclasses.field(
        default=1.0, metadata={"help": "Weight of the total-variation (smoothness) loss."}
    )

    # How each style layer's error is scaled (losses.py, departures 2 and 5): "painting" divides it by
    # the painting's Gram norm only; "photo" also by the photo's own error at that layer, so every
    # layer and every painting starts at 1 and no layer dominates (docs/defaults.md).
    style_normalization: str = dataclasses.field(
        default="photo",
        metadata={
            "help": "Style layer errors relative to the painting's Gram norm ('painting'), and also to the "
            "photo's own error per layer ('photo': every layer and painting starts equal).",
            "choices": STYLE_NORMALIZATIONS,
        },
    )

    # Several styles (--style=a.jpg,b.jpg): their Gram targets are blended by these weights,
    # normalised to sum to 1 (losses.py, departure 3); empty = equal. One per style image.
    style_blend_weights: tuple[float, ...] = dataclasses.field(
        default=(),
        metadata={"help": "Blend weight of each style image, e.g. 0.7,0.3 (normalised to sum to 1; empty: equal)."},
    )
    # The style image's longer side relative to the output's at every scale: brush strokes are as
    # many VGG receptive fields wide as they are pixels in the painting so scaled, so < 1 paints
    # larger structures, > 1 finer ones (jcjohnson's -style_scale).
    style_scale: float = dataclasses.field(
        default=1.0,
        metadata={"help": "Style image size relative to the output's (0.25-4): < 1 larger strokes, > 1 finer."},
    )
    # Colour preservation (Gatys et al. 2017, "Controlling Perceptual Factors in Neural Style
    # Transfer", section 5): "luminance" puts the result's luma (Y of YCbCr) with the photo's chroma
    # after optimising; "histogram" gives the painting the photo's colour mean and covariance
    # before optimising, so strokes come from the painting and colours from the photo.
    preserve_colors: str = dataclasses.field(
        default="none",
        metadata={
            "help": "Keep the photo's colours: none, luminance (the result's luma with the photo's chroma), "
            "or histogram (the painting recoloured to the photo's palette before optimising).",
            "choices": PRESERVE_COLORS,
        },
    )

    # Longer side of the output in pixels; the style image is scaled to style_scale times that.
    max_size: int = dataclasses.field(
        default=512, metadata={"help": "Longer side of the output (and of the style image), in pixels."}
    )
    # L-BFGS settles in ~50 steps at one size (docs/defaults.md): 60 in all, over the scales used.
    steps: int = dataclasses.field(default=60, metadata={"help": "Optimisation steps, in all (over all scales)."})
    # "lbfgs" (the paper's, box-constrained; see optimizers.lbfgs_update) or "adam", and L-BFGS's
    # memory (pairs kept). L-BFGS reaches Adam's figures in a quarter of the steps or fewer
    # (docs/defaults.md, docs/benchmarks.md).
    optimizer: str = dataclasses.field(
        default="lbfgs",
        metadata={
            "help": "adam, or lbfgs (the paper's: quasi-Newton, bounded to [0, 1], one evaluation per step).",
            "choices": OPTIMIZERS,
        },
    )
    lbfgs_memory: int = dataclasses.field(default=10, metadata={"help": "L-BFGS: how many past steps it remembers."})
    # Adam on pixel values in [0, 1]. 0.03 with coarse to fine: 0.05 (one step per pixel of 1/20 of
    # the range) adds high-frequency noise at the final scale that costs content; the TF
    # tutorial's 0.02 is still moving after 200 steps. L-BFGS sizes its own steps after the first.
    learning_rate: float = dataclasses.field(
        default=0.03,
        metadata={"help": "Adam's step size in pixel units ([0, 1] range); L-BFGS: its first step's largest change."},
    )
    # Adam's other settings: library only, not flags.
    beta_1: float = dataclasses.field(default=0.9, metadata={"help": "Adam's first-moment decay.", "flag": False})
    beta_2: float = dataclasses.field(default=0.999, metadata={"help": "Adam's second-moment decay.", "flag": False})
    epsilon: float = dataclasses.field(
        default=1e-8, metadata={"help": "Adam's epsilon (added to the root of the second moment).", "flag": False}
    )
    # "recolored": the photo with the painting's colour mean and covariance (colors.py), so the
    # shallow style layers start near their targets and the steps go to texture.
    # Or the path of an image (resized to the content's size), e.g. an earlier result to refine.
    init: str = dataclasses.field(
        default="recolored",
        metadata={
            "help": "Starting image: content (the photo), recolored (the photo in the painting's palette), "
            "style, noise, or the path of an image (e.g. an earlier result to refine).",
        },
    )
    seed: int = dataclasses.field(default=0, metadata={"help": "Random seed (noise init, random weights)."})

    # Coarse to fine: optimise at up to `scales` sizes, each `scale_ratio` times larger than the
    # last and the last max_size, but only at sizes whose longer side is at least min_scale_size
    # (so a 256 px run is one scale, a 512 px run 256 then 512 px); `coarse_share` of the steps go to
    # the coarser sizes (split evenly), the rest to the final one. A coarse step costs ~1/ratio^2 of
    # a final one. The coarse scale sets the size of the painting's structures (strokes, facets)
    # relative to the picture; below ~256 px VGG sees too little of the photo to keep it
    # (docs/defaults.md).
    scales: int = dataclasses.field(
        default=2,
        metadata={"help": "Coarse to fine: optimise at up to this many sizes, ending at max_size; 1 = one size."},
    )
    scale_ratio: float = dataclasses.field(
        default=2.0, metadata={"help": "Size ratio between successive scales (e.g. 2: 256 px, then 512 px)."}
    )
    min_scale_size: int = dataclasses.field(
        default=256,
        metadata={"help": "Coarser scales only where their longer side is at least this many pixels (0: always)."},
    )
    coarse_share: float = dataclasses.field(
        default=0.6, metadata={"help": "Share of --steps spent at the coarser scales (split evenly between them)."}
    )
    # Departure from plain coarse-to-fine (which starts each size from the upsampled result):
    # start from the photo at the new size plus the upsampled *change* made at the coarser size,
    # a Laplacian-pyramid hand-over. The photo's fine detail, which downsampling removed, is then
    # not lost from the result; measured: content figure 0.68 instead of 0.75 at equal style.
    keep_detail: bool = dataclasses.field(
        default=True,
        metadata={
            "help": "Each finer scale starts from the photo plus the upsampled change made at the coarser one "
            "(keeps the photo's fine detail); false: from the upsampled coarser result."
        },
    )
    # Precision of the VGG features ("mixed" with float32 weights); Gram matrices, losses, the image
    # and the optimiser's state always stay float32. "auto": bfloat16 where the hardware has it (devices.py).
    precision: str = dataclasses.field(
        default="auto",
        metadata={
            "help": "VGG feature precision (auto: bfloat16 where the hardware has it); losses stay float32.",
            "choices": PRECISIONS,
        },
    )
    # XLA-compile the step. Measured per step: 0.72x (slower) on an AVX-512 Zen 5 CPU, 1.12x at
    # 256 px and 1.48x at 512 px on an AVX2 Zen 3, so no fixed default is right on every machine:
    # "auto" times both on the first steps of the final scale and keeps the faster (optimize.py).
    jit_compile: str = dataclasses.field(
        default="auto",
        metadata={
            "help": "XLA-compile the step: true, false, or auto (time a few steps each way, keep the faster).",
            "choices": JIT_MODES,
        },
    )

    # Folder mode: photos of one size (after loading at max_size) are stylised together, up to
    # batch_size at a time, each exactly as it would be alone (losses.py: one loss per image;
    # optimizers.py: per-image updates). It pays on an accelerator, which a single 512 px image
    # leaves mostly idle; on a CPU a batch takes about as long as its photos one after another.
    batch_size: int = dataclasses.field(
        default=1,
        metadata={"help": "Folder mode: stylise up to this many photos of the same size together (for GPUs/TPUs)."},
    )

    # Several devices (distribute.py): "mirrored" spreads each batch over the GPUs (or a CPU's
    # logical devices), "tpu" over a TPU's cores, each replica stylising its own photos with the
    # in-graph loop (no per-step progress there); "one_device" runs that loop on the first GPU (or
    # the CPU); "auto" picks tpu where one is configured, mirrored for several photos on several
    # GPUs, and otherwise the default device with per-step progress.
    distribution_strategy: str = dataclasses.field(
        default="auto",
        metadata={"help": "How to use several devices (distribute.py).", "choices": STRATEGIES},
    )
    tpu: str = dataclasses.field(
        default="",
        metadata={"help": "The TPU for --distribution_strategy=tpu/auto: a name or grpc:// address ('' = none)."},
    )

    # Huge images (tiles.py): at a scale whose longer side exceeds tile_size, the network sees one
    # crop of at most tile_size px a side at a time, and the loss and gradient of the whole image
    # are summed tile by tile (two passes per step, ~4/3 the work), so memory no longer grows with
    # the image beyond a few image-sized buffers. Neighbouring tiles overlap by tile_overlap px,
    # across which their weights cross-fade: no seams. Masks work; the in-graph loop (exported
    # models, distribution strategies) does not tile.
    tile_size: int = dataclasses.field(
        default=0,
        metadata={"help": "Scales larger than this many px a side run tile by tile, in bounded memory (0: never)."},
    )
    tile_overlap: int = dataclasses.field(
        default=128,
        metadata={"help": "Overlap of neighbouring tiles in px, across which they cross-fade (at most half a tile)."},
    )

    max_input_pixels: int = dataclasses.field(
        default=DEFAULT_MAX_INPUT_PIXELS, metadata={"help": "Refuse input images with more pixels than this."}
    )

    def replace(self, **changes) -> Config:
        return dataclasses.replace(self, **changes)

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

    def tiled(self, height: int, width: int) -> bool:
        """Whether a scale of this size runs tile by tile (tiles.py): its longer side exceeds tile_size."""
        return bool(self.tile_size) and max(height, width) > self.tile_size

    def scale_count(self, long_side: int) -> int:
        """How many of the `scales` sizes are used for an output whose longer side is `long_side`:
        the final one, and each coarser one whose longer side is at least min_scale_size."""
        count = 1
        while count < self.scales and long_side * self.scale_ratio ** (-count) >= self.min_scale_size:
            count += 1
        return count

    def scale_factors(self, height: int, width: int) -> list[float]:
        """Factor of each scale used (scale_count) relative to the final size, coarse to fine; the last is 1.

        scale_ratio^-k, but never so small that the shorter side falls below min_side().
        multiscale.stylize_graph computes the same numbers with TF ops; keep the two in step.
        """
        floor = self.min_side() / min(height, width)
        count = self.scale_count(max(height, width))
        return [min(1.0, max(self.scale_ratio ** (-k), floor)) for k in range(count - 1, -1, -1)]

    def style_size(self, style_hw: tuple[int, int], content_hw: tuple[int, int]) -> tuple[int, int]:
        """(height, width) of a style image of size style_hw when the content (at the current scale)
        is content_hw: longer side style_scale times the content's, aspect kept, raised if the
        style's shorter side would fall below min_side() (a long, thin painting). Rounded half to
        even; multiscale.stylize_graph computes the same with TF ops."""
        factor = self.style_scale * max(content_hw) / max(style_hw)
        factor = max(factor, self.min_side() / min(style_hw))
        return max(1, round(style_hw[0] * factor)), max(1, round(style_hw[1] * factor))

    def blend_weights(self, count: int) -> list[float] | None:
        """style_blend_weights checked against `count` style images (None: equal weights)."""
        if not self.style_blend_weights:
            return None
        if len(self.style_blend_weights) != count:
            raise ConfigError(
                f"{len(self.style_blend_weights)} style blend weights for {count} style image(s); "
                "give one per style or none"
            )
        return list(self.style_blend_weights)

    def steps_per_scale(self, count: int | None = None) -> list[int]:
        """`steps` split over `count` scales (default: `scales`), coarse to fine: coarse_share of
        them evenly over the coarser scales, the rest (and any remainder) to the last."""
        count = self.scales if count is None else count
        if count == 1:
            return [self.steps]
        each = round(self.steps * self.coarse_share) // (count - 1)
        return [each] * (count - 1) + [self.steps - each * (count - 1)]

    def layer_weights(self) -> dict[str, float]:
        """Style layer name -> relative weight (not yet normalised)."""
        weights = self.style_layer_weights or (1.0,) * len(self.style_layers)
        return dict(zip(self.style_layers, weights, strict=True))

    def validate(self) -> Config:
        """Raise ConfigError (one line, what is wrong and what to do) or return self."""
        for field in dataclasses.fields(self):  # every field with a fixed set of values
            choices, value = field.metadata.get("choices"), getattr(self, field.name)
            if choices is not None and value not in choices:
                raise ConfigError(f"unknown {field.name} {value!r}; use one of {', '.join(choices)}")
        if not 1 <= self.lbfgs_memory <= 100:
            raise ConfigError(f"lbfgs_memory must be between 1 and 100, got {self.lbfgs_memory}")
        if not self.weights:
            raise ConfigError("weights is empty; use 'imagenet', 'none' or the path of a weights file")
        if self.weights not in ("imagenet", "none") and not os.path.isfile(self.weights):
            raise ConfigError(
                f"weights file {self.weights!r} does not exist; pass --weights=imagenet, "
                "--weights=none or the path of a Keras VGG weights file"
            )
        for name in ("content_weight", "style_weight", "tv_weight"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"{name} must be a finite number >= 0, got {value}")
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise ConfigError(f"learning_rate must be > 0, got {self.learning_rate}")
        if not 16 <= self.max_size <= 8192:
            raise ConfigError(f"max_size must be between 16 and 8192 pixels, got {self.max_size}")
        if self.steps < 0:
            raise ConfigError(f"steps must be >= 0, got {self.steps}")
        if not 1 <= self.scales <= 8:
            raise ConfigError(f"scales must be between 1 and 8, got {self.scales}")
        if not 0 <= self.min_scale_size <= 8192:
            raise ConfigError(f"min_scale_size must be between 0 and 8192 pixels, got {self.min_scale_size}")
        if not (math.isfinite(self.scale_ratio) and 1.0 < self.scale_ratio <= 4.0):
            raise ConfigError(f"scale_ratio must be > 1 and <= 4, got {self.scale_ratio}")
        if not (math.isfinite(self.coarse_share) and 0.0 <= self.coarse_share < 1.0):
            raise ConfigError(f"coarse_share must be >= 0 and < 1, got {self.coarse_share}")
        if not 1 <= self.batch_size <= 1024:
            raise ConfigError(f"batch_size must be between 1 and 1024, got {self.batch_size}")
        if self.tile_size and not max(64, self.min_side()) <= self.tile_size <= 8192:
            raise ConfigError(
                f"tile_size must be 0 (no tiles) or between {max(64, self.min_side())} and 8192, got {self.tile_size}"
            )
        if not 0 <= self.tile_overlap <= 4096:
            raise ConfigError(f"tile_overlap must be between 0 and 4096 px, got {self.tile_overlap}")
        if self.max_input_pixels <= 0:
            raise ConfigError(f"max_input_pixels must be > 0, got {self.max_input_pixels}")
        if not self.content_layers and self.content_weight > 0:
            raise ConfigError("content_layers is empty; name at least one layer or set content_weight=0")
        if not self.style_layers and self.style_weight > 0:
            raise ConfigError("style_layers is empty; name at least one layer or set style_weight=0")
        if self.style_layer_weights:
            if len(self.style_layer_weights) != len(self.style_layers):
                raise ConfigError(
                    f"{len(self.style_layer_weights)} style layer weights for "
                    f"{len(self.style_layers)} style layers; give one per layer or none"
                )
            if any(not (math.isfinite(w) and w >= 0) for w in self.style_layer_weights) or not any(
                self.style_layer_weights
            ):
                raise ConfigError("style layer weights must be >= 0 and not all zero")
        if self.init not in INITS and not os.path.isfile(self.init):
            raise ConfigError(f"init {self.init!r} is neither one of {', '.join(INITS)} nor an existing image file")
        if self.style_blend_weights and (
            any(not (math.isfinite(w) and w >= 0) for w in self.style_blend_weights)
            or not any(self.style_blend_weights)
        ):
            raise ConfigError(
                f"style blend weights must be >= 0 and not all zero, got {list(self.style_blend_weights)}"
            )
        if not (math.isfinite(self.style_scale) and 0.25 <= self.style_scale <= 4.0):
            raise ConfigError(f"style_scale must be between 0.25 and 4, got {self.style_scale}")
        # Layer names are checked against the network in vgg.py, which knows them.
        return self
