"""style-transfer on a clip: a video file or a numbered frame sequence in, the same kind out.

    style-transfer --content=clip.mp4 --output=out.mp4                      # the optimisation
    style-transfer --content=clip.mp4 --model=starry_wave --output=out.mp4  # a trained network
    style-transfer --content='frames/%05d.png' --output='out/%05d.png'

CLI layer (cli.py calls `run_clip` with the flags' values): the clip is probed before TensorFlow
is imported, so a corrupt or unsupported file is one line and nothing is written. Frames go
through video.py one by one and into the writer as they are done (video_files.py: a video file
appears at its name only when closed, whole and playable). One line a frame (the loss terms of its
last step, seconds, ETA), or a bar on a terminal. Ctrl-C stops between two optimisation steps and
closes the file with the frames done (a playable clip, or nothing if none is); `--resume` then
goes on from the frames that file holds (a video's are decoded and encoded again, once).
"""

from __future__ import annotations

import collections
import os
import signal
import sys
import time
from fractions import Fraction
from typing import Any

from style_transfer import cli_common, images, video_files
from style_transfer.config import Config, VideoConfig
from style_transfer.errors import ConfigError


class FrameProgress:
    """Per frame: a log line (or a bar on a terminal), the ETA from the seconds a frame so far;
    a stop requested (Ctrl-C) is raised as KeyboardInterrupt at the next optimisation step."""

    def __init__(self, total: int | None):
        import keras

        self.total = total
        self.start = time.time()
        self.frames = 0
        self.stop_requested = False
        self.interactive = sys.stdout.isatty()
        self.bar = keras.utils.Progbar(total, unit_name="frame") if self.interactive else None
        self.terms: dict = {}
        self.steps = 0  # the steps of the frame under way (numbered across its passes)

    def request_stop(self, signum=None, frame=None) -> None:
        if self.stop_requested:
            raise KeyboardInterrupt
        self.stop_requested = True

    def step(self, index: int, step: int, terms: dict, image: Any) -> None:
        """video.FrameCallback: keeps the last terms and the step count; stops here after Ctrl-C."""
        self.terms, self.steps = terms, step
        if self.stop_requested:
            raise KeyboardInterrupt

    def frame_done(self, index: int) -> None:
        steps, self.steps = self.steps, 0
        self.frames += 1
        elapsed = time.time() - self.start
        per_frame = elapsed / self.frames
        number = index + 1
        if self.bar is not None:
            self.bar.update(number, [(name, value) for name, value in self.terms.items()])
        else:
            of = f"/{self.total}" if self.total else ""
            eta = f"  ETA {per_frame * (self.total - number):.0f}s" if self.total else ""
            losses = "  " + " ".join(f"{n} {v:.4g}" for n, v in self.terms.items()) if self.terms else ""
            how = f"{steps} steps" if steps else "one pass"
            print(f"frame {number}{of}: {how}{losses}  {per_frame:.2f} s/frame{eta}", flush=True)
        if self.stop_requested:
            raise KeyboardInterrupt


def output_for(spec: str, output: str, output_given: bool) -> str:
    """The clip's output: --output if given (a video file or a frame pattern), else stylized.EXT
    with the input video's extension; a sequence needs --output."""
    if output_given:
        if not video_files.is_clip(output):
            raise ConfigError(
                f"--output={output} is not a clip: for a clip give a video file "
                f"({', '.join(video_files.VIDEO_EXTENSIONS)}) or a numbered pattern such as out/%05d.png"
            )
        return output
    if video_files.is_sequence(spec):
        raise ConfigError("a frame sequence's stylisation goes to --output: a pattern such as out/%05d.png, or a video")
    return "stylized" + os.path.splitext(spec)[1].lower()


def run_clip(
    spec: str,
    output: str,
    inputs: Any,
    config: Config,
    video_config: VideoConfig,
    *,
    model: str | None,
    max_size_given: bool,
    resume: bool,
) -> int:
    """Stylise the clip `spec` into `output`; 0, or 130 after Ctrl-C (the frames done written)."""
    info = video_files.probe(spec, video_config.fps or None)
    if os.path.abspath(output) == os.path.abspath(spec):
        raise ConfigError(f"--output={output} is the input clip and would be overwritten; choose another")
    # A network keeps the clip's size unless --max_size says; the optimisation fits max_size.
    limit = config.schedule.max_size if (max_size_given or not model) else None
    height, width = video_files.even_size(info.height, info.width, limit)
    done = _frames_done(output, info.fps, (height, width)) if resume and _exists(output) else 0
    total = info.frames
    if total is not None and done >= total:
        print(f"{output} holds all {total} frames already: nothing to do", flush=True)
        return 0
    audio = spec if video_files.is_video(spec) else None
    first_number = info.first_number if video_files.is_sequence(spec) else 1
    print(
        f"clip {spec}: {info.width}x{info.height}, {float(info.fps):.3f} frames/s, "
        f"{total if total is not None else 'unknown number of'} frames{', audio' if info.audio else ''} -> "
        f"{width}x{height}" + (f"; resuming after frame {done}" if done else ""),
        flush=True,
    )
    cli_common.import_tensorflow_quietly()
    # A resumed run's last frames done, oldest first: the optimisation goes on consistent with them.
    depth = 1 if model else max(video_config.held_frames)
    kept: collections.deque[Any] = collections.deque(maxlen=depth)
    if video_files.is_sequence(output):
        writer: Any = video_files.SequenceWriter(output, first_number + done)
        for _, path in video_files.sequence_files(output)[max(0, done - depth) : done] if done else ():
            kept.append(images.load_image(path, name="frame"))
    else:
        writer = video_files.VideoWriter(output, info.fps, (height, width), audio_from=audio)
        for last in video_files.read_frames(output) if done else ():  # the frames done, encoded again
            writer.write(last)
            kept.append(last)
    photos = video_files.read_frames(spec, (height, width), skip=done)
    progress = FrameProgress(total)
    previous_handler = signal.signal(signal.SIGINT, progress.request_stop)
    try:
        results = _stylized(spec, photos, inputs, config, video_config, model, progress, done, list(kept))
        for index, result in enumerate(results, done):
            writer.write(result)
            progress.frame_done(index)
    except KeyboardInterrupt:
        written = writer.written
        if written:
            writer.close()
            print(
                f"\nInterrupted: wrote the {written} frame(s) done to {output} (--resume goes on from there)",
                file=sys.stderr,
            )
        else:
            writer.abort()
            print(f"\nInterrupted before the first frame was done; {output} not written", file=sys.stderr)
        return 130
    except BaseException:
        writer.abort()
        raise
    finally:
        signal.signal(signal.SIGINT, previous_handler)
    writer.close()
    elapsed = time.time() - progress.start
    print(
        f"Wrote {output}: {writer.written} frames in {elapsed:.1f}s ({elapsed / max(1, progress.frames):.2f} s/frame)",
        flush=True,
    )
    return 0


def _stylized(spec, photos, inputs, config, video_config, model, progress, done, last):
    """The generator of stylised frames for this run. last: a resumed run's last frames done,
    oldest first (the optimisation goes on consistent with them)."""
    from style_transfer import video

    if model:
        from style_transfer import devices, networks

        network, _ = networks.load_network(model, devices.resolved_precision(config.runtime.precision))
        print(f"network {model}, width {network.width:g}, {network.compute_dtype} convolutions", flush=True)
        smoothing, hold = video_config.network_smoothing, video_config.network_hold
        steadied = smoothing or hold  # departures 10 and 12 carry the last frame done onto the next
        before = _done_before(spec, done, last)[-1] if steadied and last else None
        return video.network_frames(photos, network, inputs.blend, smoothing, before, hold)
    from style_transfer import vgg

    previous = _done_before(spec, done, last)
    return video.optimised_frames(
        photos,
        inputs.styles,
        config,
        video_config,
        style_blend_weights=inputs.blend,
        extractor=vgg.extractor_for(config),
        callback=progress.step,
        previous=previous,
        first_index=done,
    )


def _done_before(spec: str, done: int, last: list) -> list[tuple[Any, Any]]:
    """A resumed run's last frames done (`last`, oldest first, the `done` frames' end) with their
    photos read again from the clip `spec`: [(photo, result)], as video.py's `previous`."""
    if not last:
        return []
    size = last[0].shape[1:3]
    return list(zip(video_files.read_frames(spec, size, skip=done - len(last)), last, strict=False))


def _exists(output: str) -> bool:
    if video_files.is_sequence(output):
        return bool(video_files.sequence_files(output))
    return os.path.exists(output)


def _frames_done(output: str, fps: Fraction, size: tuple[int, int]) -> int:
    """How many frames an earlier run wrote to `output` (ConfigError if that run was at another
    size or frame rate)."""
    done = video_files.probe(output, fps)
    if (done.height, done.width) != size or (video_files.is_video(output) and done.fps != fps):
        raise ConfigError(
            f"--resume: {output} is {done.width}x{done.height} at {float(done.fps):.3f} frames/s, this run "
            f"{size[1]}x{size[0]} at {float(fps):.3f}: give the same --max_size, or drop --resume to start over"
        )
    if done.frames is None:  # a container that does not say: count them
        return sum(1 for _ in video_files.read_frames(output))
    return done.frames
