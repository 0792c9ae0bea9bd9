"""Video clips and numbered frames <-> arrays: probe, read frame by frame, write atomically.

Two kinds of clip, one contract (every frame numpy float32, RGB, values in [0, 1], [1, H, W, 3]):
- a video file (.mp4, .mov, .mkv, .webm, ...) through PyAV (the `video` extra), whose wheels carry
  FFmpeg and its codecs, so nothing is installed beside it. Written as H.264 (VP9 in .webm) at a
  near-transparent quality, the clip's frame rate kept; its first audio track is remuxed untouched
  (packets copied, not re-encoded) up to the last frame written.
- a numbered frame sequence, named by a printf pattern as FFmpeg names them (`frames/%05d.png`):
  PNG or JPEG files through images.py, numbered from the first one found.

Writers never leave a half-written file: a video goes to a temporary file beside its name and is
renamed over it by `close()` (after the encoder is flushed, so what is there plays: every frame
written so far), `abort()` removes it; a sequence writes each frame atomically.

No TensorFlow here, as in images.py: a bad clip is refused before TensorFlow is paid for.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import re
import tempfile
from collections.abc import Iterator
from fractions import Fraction

import numpy as np

from style_transfer import images
from style_transfer.errors import ImageError

VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi")
# An FFmpeg-style frame number in a file name: %d or %05d.
_FRAME_NUMBER = re.compile(r"%0?(\d*)d")
# What the writer encodes each container with; CRF 18 is x264's "visually lossless" end.
_CODECS = {".webm": ("libvpx-vp9", {"crf": "24", "b:v": "0"})}
_DEFAULT_CODEC = ("libx264", {"crf": "18", "preset": "medium"})
# A sequence's frame rate when nothing says otherwise (FFmpeg's image2 default).
DEFAULT_SEQUENCE_FPS = Fraction(25)


class VideoError(ImageError):
    """A clip cannot be read (corrupt, unsupported, no video track) or written."""


def _av():
    try:
        import av
    except ImportError:
        raise VideoError("video needs PyAV: pip install 'style_transfer[video]'") from None
    return av


def is_video(path: str) -> bool:
    """Whether `path` names a video file (by its extension)."""
    return os.path.splitext(path)[1].lower() in VIDEO_EXTENSIONS


def is_sequence(spec: str) -> bool:
    """Whether `spec` is a numbered frame pattern such as frames/%05d.png."""
    return _FRAME_NUMBER.search(os.path.basename(spec)) is not None


def is_clip(spec: str) -> bool:
    return is_video(spec) or is_sequence(spec)


@dataclasses.dataclass(frozen=True)
class ClipInfo:
    """What a clip is: its frame rate, size, number of frames (None where the file does not say)
    and whether it has an audio track to carry over."""

    path: str
    fps: Fraction
    width: int
    height: int
    frames: int | None
    audio: bool = False
    first_number: int = 0  # a sequence's first frame number


def sequence_files(pattern: str) -> list[tuple[int, str]]:
    """(number, path) of each file a frame pattern names, in order; only a contiguous run from the
    first number found."""
    directory, name = os.path.split(pattern)
    match = _FRAME_NUMBER.search(name)
    assert match is not None
    prefix, suffix = name[: match.start()], name[match.end() :]
    found = {}
    for path in glob.glob(os.path.join(glob.escape(directory), glob.escape(prefix) + "*" + glob.escape(suffix))):
        digits = os.path.basename(path)[len(prefix) : len(os.path.basename(path)) - len(suffix)]
        if digits.isdigit():
            found[int(digits)] = path
    if not found:
        return []
    number, run = min(found), []
    while number in found:
        run.append((number, found[number]))
        number += 1
    return run


def frame_rate(fps: float | Fraction) -> Fraction:
    """A frame rate as the exact fraction a container stores (29.97 -> 2997/100; a Fraction as it
    is): VideoError unless it is positive."""
    if not fps > 0:
        raise VideoError(f"frame rate {fps} is not positive")
    return fps if isinstance(fps, Fraction) else Fraction(fps).limit_denominator(1001)


def probe(spec: str, fps: float | Fraction | None = None) -> ClipInfo:
    """A clip's ClipInfo (VideoError if it cannot be read). `fps` is a sequence's frame rate."""
    if is_sequence(spec):
        files = sequence_files(spec)
        if not files:
            raise VideoError(f"no frames match {spec!r} (a numbered pattern such as frames/%05d.png)")
        first = images.load_image(files[0][1], name="frame")
        height, width = first.shape[1:3]
        rate = frame_rate(fps) if fps else DEFAULT_SEQUENCE_FPS
        return ClipInfo(spec, rate, width, height, len(files), False, files[0][0])
    av = _av()
    if not os.path.isfile(spec):
        raise VideoError(f"cannot read video {spec!r}: no such file")
    try:
        with av.open(spec) as container:
            if not container.streams.video:
                raise VideoError(f"{spec!r} has no video track")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            if not rate or stream.width <= 0 or stream.height <= 0:
                raise VideoError(f"cannot read video {spec!r}: no frame rate or size in it")
            frames = stream.frames or None
            return ClipInfo(spec, Fraction(rate), stream.width, stream.height, frames, bool(container.streams.audio))
    except av.FFmpegError as e:
        raise VideoError(f"cannot read video {spec!r}: {_reason(e)}; is it a video file?") from None


def _reason(error: Exception) -> str:
    return getattr(error, "strerror", None) or str(error)


def read_frames(spec: str, size: tuple[int, int] | None = None, skip: int = 0) -> Iterator[np.ndarray]:
    """Each frame of a clip from frame `skip` on, float32 [1, H, W, 3], resized to `size` (height,
    width) if given. VideoError if the clip turns out to be corrupt part way."""
    if is_sequence(spec):
        for _, path in sequence_files(spec)[skip:]:
            frame = images.load_image(path, name="frame")
            yield frame if size is None else images.resize(frame, size)
        return
    av = _av()
    try:
        with av.open(spec) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for index, decoded in enumerate(container.decode(stream)):
                if index < skip:
                    continue
                frame = (decoded.to_ndarray(format="rgb24").astype(np.float32) / 255.0)[None]
                yield frame if size is None else images.resize(frame, size)
    except av.FFmpegError as e:
        raise VideoError(f"cannot read video {spec!r}: {_reason(e)}") from None


def even_size(height: int, width: int, max_size: int | None = None) -> tuple[int, int]:
    """The frame size a clip is stylised and written at: scaled to `max_size` (the longer side) if
    it is larger, then each side rounded down to an even number (H.264's 4:2:0 colour needs it)."""
    if max_size is not None and max(height, width) > max_size:
        height, width = images.fit_size(height, width, max_size)
    return max(2, height - height % 2), max(2, width - width % 2)


class _Writer:
    """What both writers share: as a context manager, closed at the end of the block, or aborted
    if it raises (a video file: nothing left; numbered frames: those written stay, each whole)."""

    def write(self, frame: np.ndarray) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


class SequenceWriter(_Writer):
    """Frames -> numbered image files (pattern % number), each written atomically."""

    def __init__(self, pattern: str, first_number: int = 1):
        images.output_format(pattern)  # .png or .jpg, or ImageError now
        directory = os.path.dirname(os.path.abspath(pattern))
        if not os.path.isdir(directory):
            raise VideoError(
                f"cannot write frames {pattern!r}: directory {directory!r} does not exist; create it first"
            )
        self.pattern, self.number, self.written = pattern, first_number, 0

    def write(self, frame: np.ndarray) -> None:
        images.save_image(self.pattern % self.number, frame)
        self.number += 1
        self.written += 1

    def close(self) -> None:
        """Every frame is on disk already."""

    def abort(self) -> None:
        """Frames written stay (each is whole); a rerun with resume goes on after them."""


class VideoWriter(_Writer):
    """Frames -> a video file at `fps` (H.264, or VP9 in .webm), written to a temporary file
    beside `path` and renamed over it by close(); `audio_from`: a clip whose first audio track is
    copied in, up to the duration of the frames written."""

    def __init__(self, path: str, fps: float | Fraction, size: tuple[int, int], audio_from: str | None = None):
        av = _av()
        fps = frame_rate(fps)
        ext = os.path.splitext(path)[1].lower()
        if ext not in VIDEO_EXTENSIONS:
            raise VideoError(
                f"output {path!r} has extension {ext or '(none)'!r}; use one of {', '.join(VIDEO_EXTENSIONS)}"
            )
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):
            raise VideoError(f"cannot write output {path!r}: directory {directory!r} does not exist; create it first")
        try:
            fd, self.tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=ext)
            os.close(fd)
        except OSError as e:
            raise VideoError(f"cannot write output {path!r}: {e.strerror or e}; choose a writable location") from None
        self.path, self.fps, self.audio_from = path, fps, audio_from
        self.height, self.width = size
        self.written = 0
        codec, options = _CODECS.get(ext, _DEFAULT_CODEC)
        try:
            self.container = av.open(self.tmp, "w")
            self.stream = self.container.add_stream(codec, rate=fps)
            self.stream.width, self.stream.height, self.stream.pix_fmt = self.width, self.height, "yuv420p"
            self.stream.options = dict(options)
            self.audio_in, self.audio_out = None, None
            if audio_from is not None and is_video(audio_from):
                self.audio_in = av.open(audio_from)
                if self.audio_in.streams.audio:
                    self.audio_out = self.container.add_stream_from_template(self.audio_in.streams.audio[0])
        except BaseException:
            self._remove()
            raise

    def write(self, frame: np.ndarray) -> None:
        """Append one frame, float [1, H, W, 3] in [0, 1] at the writer's size."""
        av = _av()
        pixels = images.to_uint8(frame)
        if pixels.shape[:2] != (self.height, self.width):
            raise VideoError(f"frame of {pixels.shape[1]}x{pixels.shape[0]} for a {self.width}x{self.height} video")
        video_frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
        video_frame.pts = self.written
        video_frame.time_base = 1 / self.fps
        for packet in self.stream.encode(video_frame):
            self.container.mux(packet)
        self.written += 1

    def close(self) -> None:
        """Flush the encoder, copy the audio of the frames written, and put the file in place."""
        try:
            for packet in self.stream.encode():
                self.container.mux(packet)
            self._copy_audio()
            self.container.close()
            with open(self.tmp, "rb+") as f:
                os.fsync(f.fileno())
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(self.tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions.
            os.replace(self.tmp, self.path)
        except BaseException:
            self._remove()
            raise
        finally:
            if self.audio_in is not None:
                self.audio_in.close()

    def abort(self) -> None:
        """Leave nothing: the temporary file is removed, `path` is as it was."""
        av = _av()
        try:
            self.container.close()
        except av.FFmpegError:  # the file goes anyway
            pass
        if self.audio_in is not None:
            self.audio_in.close()
        self._remove()

    def _copy_audio(self) -> None:
        if self.audio_out is None or self.audio_in is None:
            return
        source = self.audio_in.streams.audio[0]
        end = Fraction(self.written) / self.fps  # seconds of video written
        for packet in self.audio_in.demux(source):
            if packet.dts is None or packet.size == 0:
                continue
            if packet.pts is not None and packet.pts * source.time_base >= end:
                break
            packet.stream = self.audio_out
            self.container.mux(packet)

    def _remove(self) -> None:
        if os.path.exists(self.tmp):
            os.unlink(self.tmp)


def writer_for(
    spec: str, fps: float | Fraction, size: tuple[int, int], audio_from: str | None = None, first_number: int = 1
):
    """A VideoWriter for a video file, a SequenceWriter for a frame pattern."""
    if is_sequence(spec):
        return SequenceWriter(spec, first_number)
    return VideoWriter(spec, fps, size, audio_from)
