"""style-transfer: neural style transfer (Gatys et al.) from the command line.

    style-transfer --content=photo.jpg --style=painting.jpg --output=out.png
    style-transfer --content=photos/ --style=painting.jpg --output_dir=results/   # folder mode
    style-transfer --content=clip.mp4 --style=painting.jpg --output=out.mp4     # a clip (cli_video.py)

With no flags it stylises the bundled sample (Chelsea the cat, after Van Gogh's Starry Night) into
./stylized.png. Information and the progress bar go to stdout; stderr gets only warnings and, on
failure, one line saying what is wrong and what to do (exit status 1; 130 after Ctrl-C). In
folder mode a photo that fails gets its line and is skipped; the run ends with a summary and exit
status 1 if any failed; results that exist are skipped unless --overwrite.
"""

from __future__ import annotations

import dataclasses
import glob
import itertools
import os
import signal
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from absl import app, flags

from style_transfer import cli_common, images, video_files
from style_transfer.config import INITS, VideoSetup
from style_transfer.errors import ConfigError, ImageError, PrecisionFallbackWarning, StyleTransferError
from style_transfer.samples import SAMPLE_CONTENT, SAMPLE_STYLE

DEFAULT_OUTPUT = "stylized.png"

flags.DEFINE_string(
    "content",
    None,
    "Content photo, or a clip: a video file (.mp4, .mov, .mkv, .webm, .avi) or numbered frames such as "
    "'frames/%05d.png'. Default: the bundled sample, Chelsea the cat.",
)
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
flags.DEFINE_string(
    "model",
    None,
    "A trained network: a .npz from style-transfer-train, or a bundled one's name (starry_wave): stylise in one "
    "pass, no VGG and no optimisation; its paintings replace --style (a network of several is blended by "
    "--style_blend_weights; default: its first). --tile_size bounds memory for huge pictures.",
)
flags.DEFINE_string(
    "output",
    DEFAULT_OUTPUT,
    "Output image, .png or .jpg; for a clip a video file (default stylized.EXT, the input's extension) or "
    "numbered frames ('out/%05d.png'); written atomically.",
)
flags.DEFINE_bool(
    "resume",
    False,
    "Clips: go on after the frames the --output clip holds already (from an interrupted run) instead of starting over.",
)
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

cli_common.define_config_flags()  # every field of Config's parts, a flag
cli_common.define_config_flags(config_cls=VideoSetup)  # and of VideoConfig (clips)
FLAGS = flags.FLAGS


def intermediate_path(output: str, step: int) -> str:
    stem, ext = os.path.splitext(output)
    return f"{stem}_{step:05d}{ext}"


class Progress:
    """The callback the library reports to: a Keras progress bar on a terminal, log lines otherwise."""

    def __init__(self, steps: int, outputs: list[str], save_every: int, step_costs: list[float] | None = None):
        import keras

        self.steps, self.outputs, self.save_every = steps, outputs, save_every
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
            for output, current in zip(self.outputs, image.numpy(), strict=True):  # one image per photo
                images.save_image(intermediate_path(output, step), current[None])


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
        self.network_header = None
        if FLAGS.model:
            self._network_inputs(config)
            return
        self.style_paths = [path.strip() for path in FLAGS.style or [SAMPLE_STYLE] if path.strip()]
        if not self.style_paths:
            raise ConfigError("--style names no image; give a path, or several separated by commas")
        self.blend = config.style.blend_weights(len(self.style_paths))
        # Loaded at style_scale's size where that is larger, so finer strokes are not upsampled ones.
        style_size = round(config.schedule.max_size * max(1.0, config.style.style_scale))
        pixels = config.runtime.max_input_pixels
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
        init_path = None if config.schedule.init in INITS else config.schedule.init
        self.init_image = None if init_path is None else images.load_image(init_path, max_pixels=pixels, name="init")
        self.style_stem = "+".join(_stem(path) for path in self.style_paths)

    def _network_inputs(self, config) -> None:
        """--model: the network's paintings (its file's header: read without TensorFlow) and blend."""
        from style_transfer import networks

        cannot_take = ("style", "style_masks", "content_mask", "init")
        given = [name for name in cannot_take if FLAGS[name].present]
        if given:
            raise ConfigError(
                f"--model stylises with the paintings it was trained on, in one pass: drop --{', --'.join(given)}"
            )
        self.network_header = networks.read_header(FLAGS.model)
        self.style_paths = list(self.network_header["paintings"])
        self.styles, self.style_masks, self.content_mask, self.init_image = [], None, None, None
        weights = config.style.style_blend_weights
        if weights and len(weights) != len(self.style_paths):
            raise ConfigError(
                f"{FLAGS.model} holds {len(self.style_paths)} painting(s) ({', '.join(self.style_paths)}); "
                f"--style_blend_weights gives {len(weights)} weight(s): give one per painting"
            )
        self.blend = list(weights) if weights else [1.0] + [0.0] * (len(self.style_paths) - 1)
        chosen = [name for name, w in zip(self.style_paths, self.blend, strict=True) if w > 0]
        self.style_stem = "+".join(chosen)

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
    return images.load_image(
        content_path, max_size=config.schedule.max_size, max_pixels=config.runtime.max_input_pixels, name="content"
    )


@dataclasses.dataclass
class Photo:
    """One content photo of a run: its path, pixels (float32 [1, H, W, 3]) and result file."""

    path: str
    content: np.ndarray
    output: str
    label: str = ""  # folder mode: "[k/M]"


def run_batch(photos: list[Photo], inputs: Inputs, extractor, save_partial: bool = True) -> int:
    """Stylise photos of one size together (one batch) into their outputs (each atomically), with
    progress; 0, or 130 after Ctrl-C, which saves the image so far to the output if save_partial
    (one photo only; folder mode does not: a rerun would take a partial result for a finished one
    and skip it)."""
    from style_transfer import multiscale
    from style_transfer.geometry import Geometry

    config = inputs.config
    content = _announce(photos, inputs, f"XLA {config.runtime.jit_compile}")
    height, width = content.shape[1:3]
    steps = config.schedule.steps
    plan = Geometry.of(config).plan(height, width)
    costs = [scale.factor**2 for scale in plan for _ in range(scale.steps)]
    outputs = [photo.output for photo in photos]
    progress = Progress(steps, outputs, FLAGS.save_every, costs)
    callback: Callable[[int, dict, Any], None] = progress
    tensorboard = None
    if FLAGS.logdir:
        from style_transfer import summaries

        run_dir = summaries.new_run_dir(FLAGS.logdir)
        tensorboard = summaries.TensorBoardCallback(run_dir, FLAGS.save_every)
        print(f"TensorBoard logs in {run_dir} (tensorboard --logdir={FLAGS.logdir})", flush=True)

        def both(step, terms, image, tensorboard=tensorboard):
            progress(step, terms, image)
            tensorboard(step, terms, image)

        callback = both

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
        if not save_partial or len(photos) > 1:
            print(
                f"\nInterrupted at step {progress.step} of {steps}; {', '.join(outputs)} not written", file=sys.stderr
            )
            return 130
        # The current image may be from a coarser scale: bring it to the output's size.
        current = images.resize(np.array(progress.latest), (height, width))
        images.save_image(outputs[0], current)
        if tensorboard is not None:
            tensorboard.close(current)
        print(
            f"\nInterrupted at step {progress.step} of {steps}: saved the current image to {outputs[0]}",
            file=sys.stderr,
        )
        return 130
    finally:
        signal.signal(signal.SIGINT, previous_handler)
    if tensorboard is not None:
        tensorboard.close(result)
    _write(photos, result, start, steps, "\n")
    return 0


def _announce(photos: list[Photo], inputs: Inputs, how: str) -> np.ndarray:
    """Print what is about to run; the photos as one batch, float32 [N, H, W, 3]."""
    from style_transfer import devices, tiles
    from style_transfer.geometry import Geometry

    config = inputs.config
    geometry = Geometry.of(config)
    content = np.concatenate([photo.content for photo in photos])
    height, width = content.shape[1:3]
    for photo in photos:
        print(f"{photo.label} content {photo.path} -> {width}x{height}".lstrip(), flush=True)

    def scale(h: int, w: int, steps: int) -> str:
        if not geometry.tiled(h, w):
            return f"{w}x{h}: {steps}"
        return f"{w}x{h}: {steps} in {len(tiles.Tiling(h, w, geometry.tile_size, geometry.tile_overlap))} tiles"

    described = ", ".join(scale(h, w, n) for _, (h, w), n in geometry.plan(height, width))
    batch = f"a batch of {len(photos)}, " if len(photos) > 1 else ""
    print(
        f"style {inputs.describe_styles()}; {config.features.network} ({config.features.weights}), "
        f"{devices.resolved_precision(config.runtime.precision)} features, {how}; "
        f"{batch}{config.schedule.steps} steps ({described})",
        flush=True,
    )
    return content


def _write(photos: list[Photo], result: np.ndarray, start: float, steps: int, before: str = "") -> None:
    """Write each photo's result (atomically) and say so, with the time since `start`."""
    for photo, image in zip(photos, result, strict=True):
        images.save_image(photo.output, image[None])
    elapsed = time.time() - start
    per_photo = f", {elapsed / len(photos):.1f}s per photo" if len(photos) > 1 else ""
    print(
        f"{before}Wrote {', '.join(p.output for p in photos)} in {elapsed:.1f}s "
        f"({elapsed / max(1, steps):.3f} s/step{per_photo})",
        flush=True,
    )


def run_network(photos: list[Photo], inputs: Inputs, network) -> int:
    """run_batch' twin for --model: the photos through the trained network, one pass; 0, or 130
    after Ctrl-C (nothing written)."""
    from style_transfer import network_tiles, transformer

    content = np.concatenate([photo.content for photo in photos])
    height, width = content.shape[1:3]
    for photo in photos:
        print(f"{photo.label} content {photo.path} -> {width}x{height}".lstrip(), flush=True)
    blend = ", ".join(f"{name} {w:g}" for name, w in zip(inputs.style_paths, inputs.blend, strict=True))
    batch = f", a batch of {len(photos)}" if len(photos) > 1 else ""
    runtime = inputs.config.runtime
    print(
        f"network {FLAGS.model} ({blend}), width {network.width:g}, "
        f"{network.compute_dtype} convolutions{batch}",  # as loaded: --precision, resolved
        flush=True,
    )
    tiled = bool(runtime.tile_size) and max(height, width) > runtime.tile_size
    if tiled:
        print(f"tiles of {runtime.tile_size} px (the whole picture's statistics, measured norm by norm)", flush=True)
    start = time.time()
    try:
        if tiled:
            result = network_tiles.stylize_tiled(
                network, content, inputs.blend, runtime.tile_size, runtime.tile_overlap
            )
        else:
            result = np.asarray(transformer.stylize(network, content, inputs.blend))
    except KeyboardInterrupt:
        print(f"\nInterrupted; {', '.join(p.output for p in photos)} not written", file=sys.stderr)
        return 130
    for photo, image in zip(photos, result, strict=True):
        images.save_image(photo.output, image[None])
    print(f"Wrote {', '.join(p.output for p in photos)} in {time.time() - start:.2f}s (one pass)", flush=True)
    return 0


def run_distributed(photos: list[Photo], inputs: Inputs, runner) -> int:
    """run_batch' twin for a tf.distribute strategy (distribute.DistributedRunner): the
    photos are spread over its replicas, each running the in-graph loop, so there is no per-step
    progress; 0, or 130 after Ctrl-C (nothing written)."""
    how = f"{runner.replicas} replica(s) of the in-graph loop (no per-step progress)"
    content = _announce(photos, inputs, how)
    start = time.time()
    try:
        result = runner(content)
    except KeyboardInterrupt:
        print(f"\nInterrupted; {', '.join(p.output for p in photos)} not written", file=sys.stderr)
        return 130
    _write(photos, result, start, inputs.config.schedule.steps)
    return 0


class FolderRun:
    """Folder mode: photos are loaded one by one and grouped by size; a group is stylised as one
    batch when it holds config.runtime.batch_size photos (and every group at the end). A photo that cannot
    be read, and a batch of one that fails, get one line each and are counted as failed; a batch of
    several that fails is retried one photo at a time, so only the photo at fault fails."""

    def __init__(self, contents: list[str], inputs: Inputs, run_photos, batch_size: int):
        # run_photos(photos) -> 0, or 130 after Ctrl-C (no partial results): run_batch or
        # run_distributed with what they need bound.
        self.contents, self.inputs, self.run_photos, self.batch_size = contents, inputs, run_photos, batch_size
        self.written = self.skipped = self.failed = 0
        self.groups: dict[tuple[int, ...], list[Photo]] = {}  # loaded photos waiting, by size

    def run(self) -> int:
        total = len(self.contents)
        for number, content_path in enumerate(self.contents, 1):
            label = f"[{number}/{total}]"
            name = FLAGS.output_pattern.format(content=_stem(content_path), style=self.inputs.style_stem)
            target = os.path.join(FLAGS.output_dir, name)
            if os.path.exists(target) and not FLAGS.overwrite:
                print(f"{label} {target} exists: skipped (--overwrite redoes it)", flush=True)
                self.skipped += 1
                continue
            try:
                content = load_content(content_path, target, self.inputs)
            except StyleTransferError as e:  # this photo only: say why, go on with the others
                self._fail(label, e)
                continue
            group = self.groups.setdefault(content.shape, [])
            group.append(Photo(content_path, content, target, label))
            if len(group) == self.batch_size and self._run(self.groups.pop(content.shape)) == 130:
                return self._stopped()
        while self.groups:  # what is left: groups smaller than a batch
            if self._run(self.groups.pop(next(iter(self.groups)))) == 130:
                return self._stopped()
        print(
            f"Done: {self.written} written, {self.skipped} already there, {self.failed} failed, of {total} "
            f"photo(s) in {FLAGS.output_dir}",
            flush=True,
        )
        return 1 if self.failed else 0

    def _run(self, photos: list[Photo]) -> int:
        try:
            status = self.run_photos(photos)
        except StyleTransferError as e:
            if len(photos) == 1:
                self._fail(photos[0].label, e)
                return 0
            message = cli_common.user_message(e)
            print(
                f"style-transfer: the batch of {len(photos)} failed ({message}): retrying one photo at a time",
                flush=True,
            )
            for photo in photos:
                if self._run([photo]) == 130:
                    return 130
            return 0
        if status == 0:
            self.written += len(photos)
        return status

    def _fail(self, label: str, error: StyleTransferError) -> None:
        print(f"style-transfer: error: {label} {cli_common.user_message(error)} (skipped)", file=sys.stderr, flush=True)
        self.failed += 1

    def _stopped(self) -> int:
        print(f"Stopped: {self.written} written, {self.skipped} already there, {self.failed} failed", flush=True)
        return 130


def run(output: str) -> int:
    config = cli_common.config_from_flags()
    spec = FLAGS.content or SAMPLE_CONTENT
    if video_files.is_clip(spec):
        return _run_clip(spec, config)
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
    elif config.runtime.batch_size > 1:
        raise ConfigError("--batch_size is for folder mode (--content=FOLDER or a glob, with --output_dir)")
    inputs = Inputs(config)
    # One photo: read now, before paying for TensorFlow.
    single = None if folder_mode else Photo(spec, load_content(spec, output, inputs), output)

    cli_common.import_tensorflow_quietly()
    if FLAGS.model:
        from style_transfer import devices, networks

        network, _ = networks.load_network(FLAGS.model, devices.resolved_precision(config.runtime.precision))
        if single is not None:
            return run_network([single], inputs, network)
        return FolderRun(
            contents, inputs, lambda photos: run_network(photos, inputs, network), config.runtime.batch_size
        ).run()
    from style_transfer import distribute, vgg

    strategy = distribute.make_strategy(config.runtime, photos=len(contents) if folder_mode else 1)
    batch_size = config.runtime.batch_size
    if strategy is None:
        extractor = vgg.extractor_for(config)
        if single is not None:
            return run_batch([single], inputs, extractor)

        def run_photos(photos):
            return run_batch(photos, inputs, extractor, save_partial=False)
    else:
        if inputs.style_masks or inputs.content_mask is not None or inputs.init_image is not None:
            raise ConfigError(
                f"--distribution_strategy={config.runtime.distribution_strategy} runs the in-graph loop, which takes "
                "no masks and no init image; use --distribution_strategy=auto on one device"
            )
        runner = distribute.DistributedRunner(strategy, config, inputs.styles, inputs.blend)
        names = ", ".join(strategy.extended.worker_devices)
        print(f"{runner.replicas} replica(s): {names}", flush=True)
        if single is not None:
            return run_distributed([single], inputs, runner)
        batch_size = max(batch_size, runner.replicas)  # at least one photo per replica

        def run_photos(photos):
            return run_distributed(photos, inputs, runner)

    return FolderRun(contents, inputs, run_photos, batch_size).run()


def _run_clip(spec: str, config) -> int:
    """A video file or numbered frames (cli_video.py)."""
    from style_transfer import cli_video

    if FLAGS.output_dir is not None or config.runtime.batch_size > 1:
        raise ConfigError("a clip is stylised frame by frame into --output: drop --output_dir and --batch_size")
    video_config = cli_common.config_from_flags(config_cls=VideoSetup).video
    for name in ("network_smoothing", "network_hold"):
        if getattr(video_config, name) and not FLAGS.model:
            raise ConfigError(
                f"--{name} steadies a network's frames: give --model, or drop it (the optimisation holds "
                "each frame to the last by itself)"
            )
    output = cli_video.output_for(spec, FLAGS.output, bool(FLAGS["output"].present))
    inputs = Inputs(config)
    return cli_video.run_clip(
        spec,
        output,
        inputs,
        config,
        video_config,
        model=FLAGS.model,
        max_size_given=bool(FLAGS["max_size"].present),
        resume=FLAGS.resume,
    )


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
        print(f"style-transfer: error: {cli_common.user_message(e)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nInterrupted before optimisation started; nothing was written", file=sys.stderr)
        return 130


def entry_point() -> None:
    """Console script `style-transfer` (and `python -m style_transfer`)."""
    cli_common.run(main, __name__, __doc__)


if __name__ == "__main__":
    entry_point()
