"""style-transfer: neural style transfer (Gatys et al.) from the command line.

    style-transfer --content=photo.jpg --style=painting.jpg --output=out.png
    style-transfer --content=photos/ --style=painting.jpg --output_dir=results/   # folder mode

With no flags it stylises the bundled sample (Chelsea the cat, after Van Gogh's Starry Night) into
./stylized.png. Information and the progress bar go to stdout; stderr gets only warnings and, on
failure, one line saying what is wrong and what to do (exit status 1; 130 after Ctrl-C). In
folder mode a photo that fails gets its line and is skipped; the run ends with a summary and exit
status 1 if any failed; results that exist are skipped unless --overwrite.
"""

from __future__ import annotations

import glob
import itertools
import os
import signal
import sys
import time
import warnings

import numpy as np
from absl import app, flags

from style_transfer import cli_common, images
from style_transfer.config import INITS, SAMPLE_CONTENT, SAMPLE_STYLE
from style_transfer.errors import ConfigError, ImageError, PrecisionFallbackWarning, StyleTransferError

DEFAULT_OUTPUT = "stylized.png"

flags.DEFINE_string("content", None, "Content photo. Default: the bundled sample, Chelsea the cat.")
flags.DEFINE_list(
    "style",
    None,
    "Style painting, or several separated by commas (blended by --style_blend_weights). "
    "Default: the bundled sample, Van Gogh's Starry Night.",
)
flags.DEFINE_list(
    "style_masks",
    None,
    "One mask image per --style (white: that style applies; grey: partly; black: not), resized to the content.",
)
flags.DEFINE_string(
    "content_mask", None, "Mask image of where the content loss applies (white), resized to the content."
)
flags.DEFINE_string("output", DEFAULT_OUTPUT, "Output image, .png or .jpg; written atomically.")
flags.DEFINE_string(
    "output_dir",
    None,
    "Folder mode: write each result here (made if missing), named by --output_pattern; --content may then "
    "be a folder or a glob such as 'photos/*.jpg'.",
)
flags.DEFINE_string(
    "output_pattern", "{content}_{style}.png", "Folder mode: each result's file name ({content}, {style}: file stems)."
)
flags.DEFINE_bool(
    "overwrite",
    False,
    "Folder mode: redo results that exist already (default: skip them, so a rerun resumes; Ctrl-C writes no "
    "partial result there).",
)
flags.DEFINE_integer("save_every", 0, "Also write the image every N steps as OUTPUT_<step>.EXT; 0 = never.")
flags.DEFINE_string(
    "logdir",
    None,
    "Write TensorBoard logs to a new run folder in this folder: the loss terms every step, the image "
    "every --save_every steps and at the end.",
)

FLAGS = flags.FLAGS


def intermediate_path(output: str, step: int) -> str:
    stem, ext = os.path.splitext(output)
    return f"{stem}_{step:05d}{ext}"


class Progress:
    """The callback the library reports to: a Keras progress bar on a terminal, log lines otherwise."""

    def __init__(self, steps: int, output: str, save_every: int, step_costs: list[float] | None = None):
        import keras

        self.steps, self.output, self.save_every = steps, output, save_every
        # Work done after each step, for the ETA: a coarse-scale step costs about its share of the
        # final size's pixels (step_costs), so the average time per step so far would mislead.
        self.work = [0.0, *itertools.accumulate(step_costs or [1.0] * steps)]
        self.interactive = sys.stdout.isatty()
        self.bar = keras.utils.Progbar(steps, stateful_metrics=["total", "content", "style", "tv"], unit_name="step")
        self.every = max(1, steps // 20)
        self.start = time.time()
        self.step, self.latest = 0, None  # the last step reported and its image (for Ctrl-C)
        self.stop_requested = False

    def request_stop(self, signum=None, frame=None) -> None:
        """SIGINT handler while optimising: stop after the current step, between two steps, so
        Ctrl-C never lands inside TensorFlow's runtime; a second Ctrl-C stops at once."""
        if self.stop_requested:
            raise KeyboardInterrupt
        self.stop_requested = True

    def __call__(self, step: int, terms: dict, image) -> None:
        self.step, self.latest = step, image
        if self.stop_requested:
            raise KeyboardInterrupt
        if self.interactive:
            self.bar.update(step, [(name, value) for name, value in terms.items()])
        elif step % self.every == 0 or step in (1, self.steps):
            elapsed = time.time() - self.start
            eta = elapsed / self.work[step] * (self.work[-1] - self.work[step])
            losses = " ".join(f"{name} {value:.4g}" for name, value in terms.items())
            print(f"step {step}/{self.steps}  {losses}  {elapsed / step:.2f} s/step  ETA {eta:.0f}s", flush=True)
        if self.save_every and step % self.save_every == 0 and step != self.steps:
            images.save_image(intermediate_path(self.output, step), image.numpy())


# What folder mode picks up from a folder (Pillow reads more; these are the photo formats).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".avif", ".heic", ".heif", ".tif", ".tiff", ".bmp")


def content_paths(spec: str) -> list[str]:
    """The photos `spec` names: a folder's image files, a glob's matches, or the one path; sorted."""
    if os.path.isdir(spec):
        names = sorted(os.listdir(spec))
        return [os.path.join(spec, n) for n in names if n.lower().endswith(IMAGE_EXTENSIONS)]
    if glob.has_magic(spec):
        return sorted(path for path in glob.glob(spec) if os.path.isfile(path))
    return [spec]


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


class Inputs:
    """What every photo of a run shares: the config, the style images, masks and init image."""

    def __init__(self, config):
        self.config = config
        self.style_paths = [path.strip() for path in FLAGS.style or [SAMPLE_STYLE] if path.strip()]
        if not self.style_paths:
            raise ConfigError("--style names no image; give a path, or several separated by commas")
        self.blend = config.blend_weights(len(self.style_paths))
        # Loaded at style_scale's size where that is larger, so finer strokes are not upsampled ones.
        style_size = round(config.max_size * max(1.0, config.style_scale))
        pixels = config.max_input_pixels
        self.styles = [
            images.load_image(path, max_size=style_size, max_pixels=pixels, name="style") for path in self.style_paths
        ]
        mask_paths = [path.strip() for path in FLAGS.style_masks or []]
        if mask_paths and len(mask_paths) != len(self.style_paths):
            raise ConfigError(
                f"{len(mask_paths)} style masks for {len(self.style_paths)} style image(s); give one per --style"
            )
        self.style_masks = [images.load_mask(p, max_pixels=pixels, name="style mask") for p in mask_paths] or None
        self.content_mask = (
            images.load_mask(FLAGS.content_mask, max_pixels=pixels, name="content mask") if FLAGS.content_mask else None
        )
        init_path = None if config.init in INITS else config.init
        self.init_image = None if init_path is None else images.load_image(init_path, max_pixels=pixels, name="init")
        self.style_stem = "+".join(_stem(path) for path in self.style_paths)

    def describe_styles(self) -> str:
        return ", ".join(
            f"{path} -> {style.shape[2]}x{style.shape[1]}" + (f" (weight {w:g})" if self.blend else "")
            for path, style, w in zip(self.style_paths, self.styles, self.blend or [0] * len(self.styles), strict=True)
        )


def load_content(content_path: str, output: str, inputs: Inputs) -> np.ndarray:
    """Check that `output` can be written, then read the photo (ImageError / ConfigError if not)."""
    # The init image may be the output itself (refining a result in place): it is read before the
    # output is written, and the write is atomic.
    images.check_output_path(output, [content_path, *inputs.style_paths])
    config = inputs.config
    return images.load_image(content_path, max_size=config.max_size, max_pixels=config.max_input_pixels, name="content")


def stylize_one(
    content_path: str, content: np.ndarray, output: str, inputs: Inputs, extractor, save_partial: bool = True
) -> int:
    """Stylise one photo into `output` (atomically), with progress; 0, or 130 after Ctrl-C, which
    saves the image so far to `output` if save_partial (folder mode does not: a rerun would take the
    partial result for a finished one and skip it)."""
    from style_transfer import devices, multiscale

    config = inputs.config
    print(
        f"content {content_path} -> {content.shape[2]}x{content.shape[1]}, style {inputs.describe_styles()}",
        flush=True,
    )
    steps = config.steps
    plan = multiscale.scale_plan(config, *content.shape[1:3])
    described = ", ".join(f"{w}x{h}: {n}" for _, (h, w), n in plan)
    precision = devices.resolved_precision(config)
    print(
        f"{config.network} ({config.weights}), {precision} features, XLA {config.jit_compile}; "
        f"{steps} steps ({described}); writing {output}",
        flush=True,
    )
    costs = [factor**2 for factor, _, n in plan for _ in range(n)]
    progress = Progress(steps, output, FLAGS.save_every, costs)
    callback, tensorboard = progress, None
    if FLAGS.logdir:
        from style_transfer import summaries

        run_dir = summaries.new_run_dir(FLAGS.logdir)
        tensorboard = summaries.TensorBoardCallback(run_dir, FLAGS.save_every)
        print(f"TensorBoard logs in {run_dir} (tensorboard --logdir={FLAGS.logdir})", flush=True)

        def callback(step, terms, image):
            progress(step, terms, image)
            tensorboard(step, terms, image)

    start = time.time()
    previous_handler = signal.signal(signal.SIGINT, progress.request_stop)
    try:
        result = multiscale.stylize(
            content,
            inputs.styles,
            config,
            extractor=extractor,
            callback=callback,
            init_image=inputs.init_image,
            style_masks=inputs.style_masks,
            content_mask=inputs.content_mask,
        )
    except KeyboardInterrupt:
        if progress.latest is None:
            raise
        if not save_partial:
            print(f"\nInterrupted at step {progress.step} of {steps}; {output} not written", file=sys.stderr)
            return 130
        # The current image may be from a coarser scale: bring it to the output's size.
        current = images.resize(np.array(progress.latest), content.shape[1:3])
        images.save_image(output, current)
        if tensorboard is not None:
            tensorboard.close(current)
        print(
            f"\nInterrupted at step {progress.step} of {steps}: saved the current image to {output}",
            file=sys.stderr,
        )
        return 130
    finally:
        signal.signal(signal.SIGINT, previous_handler)
    images.save_image(output, result)
    if tensorboard is not None:
        tensorboard.close(result)
    elapsed = time.time() - start
    print(f"\nWrote {output} in {elapsed:.1f}s ({elapsed / max(1, steps):.3f} s/step)", flush=True)
    return 0


def run(output: str) -> int:
    config = cli_common.config_from_flags()
    spec = FLAGS.content or SAMPLE_CONTENT
    folder_mode = FLAGS.output_dir is not None or os.path.isdir(spec) or glob.has_magic(spec)
    if folder_mode:
        if FLAGS.output_dir is None:
            raise ConfigError(f"--content={spec} names several photos: pass --output_dir for the results")
        if FLAGS["output"].present:
            raise ConfigError("--output names one file: with --output_dir, --output_pattern names each result")
        try:
            FLAGS.output_pattern.format(content="c", style="s")
        except (KeyError, IndexError, ValueError):
            raise ConfigError(
                f"--output_pattern={FLAGS.output_pattern!r} may use only {{content}} and {{style}}"
            ) from None
        images.output_format(FLAGS.output_pattern)
        contents = content_paths(spec)
        if not contents:
            raise ConfigError(f"--content={spec} names no image files ({', '.join(IMAGE_EXTENSIONS)})")
        try:
            os.makedirs(FLAGS.output_dir, exist_ok=True)
        except OSError as e:
            raise ImageError(f"cannot make --output_dir {FLAGS.output_dir!r}: {e.strerror or e}") from None
    inputs = Inputs(config)
    content = None if folder_mode else load_content(spec, output, inputs)  # before paying for TensorFlow

    cli_common.import_tensorflow_quietly()
    from style_transfer import optimize

    extractor = optimize.build_extractor(config)
    if not folder_mode:
        return stylize_one(spec, content, output, inputs, extractor)

    written, skipped, failed = 0, 0, 0
    for number, content_path in enumerate(contents, 1):
        name = FLAGS.output_pattern.format(content=_stem(content_path), style=inputs.style_stem)
        target = os.path.join(FLAGS.output_dir, name)
        if os.path.exists(target) and not FLAGS.overwrite:
            print(f"[{number}/{len(contents)}] {target} exists: skipped (--overwrite redoes it)", flush=True)
            skipped += 1
            continue
        print(f"[{number}/{len(contents)}]", end=" ", flush=True)
        try:
            content = load_content(content_path, target, inputs)
            status = stylize_one(content_path, content, target, inputs, extractor, save_partial=False)
        except StyleTransferError as e:  # this photo only: say why, go on with the others
            print(f"style-transfer: error: {e} (skipped)", file=sys.stderr, flush=True)
            failed += 1
            continue
        if status == 130:
            print(f"Stopped: {written} written, {skipped} already there, {failed} failed", flush=True)
            return 130
        written += 1
    print(
        f"Done: {written} written, {skipped} already there, {failed} failed, of {len(contents)} photo(s) "
        f"in {FLAGS.output_dir}",
        flush=True,
    )
    return 1 if failed else 0


def _show_warning(message, category, filename, lineno, file=None, line=None, _default=warnings.showwarning):
    """Our own warnings (the float32 fallback) as one line on stderr; others as Python shows them."""
    if issubclass(category, PrecisionFallbackWarning):
        print(f"style-transfer: warning: {message}", file=sys.stderr, flush=True)
    else:
        _default(message, category, filename, lineno, file, line)


def main(argv: list[str]) -> int:
    warnings.showwarning = _show_warning
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments {argv[1:]}; all options are --flags (see --help)")
    try:
        return run(FLAGS.output)
    except StyleTransferError as e:
        print(f"style-transfer: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nInterrupted before optimisation started; nothing was written", file=sys.stderr)
        return 130


def entry_point() -> None:
    """Console script `style-transfer` (and `python -m style_transfer`)."""
    cli_common.run(main, __name__, __doc__)


if __name__ == "__main__":
    entry_point()
