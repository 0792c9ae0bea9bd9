"""Clips in and out (video_files.py), optical flow and warping (flow.py), the temporal loss and the
flicker figure: short synthetic clips of a few frames at 64 px."""

from __future__ import annotations

import os
from fractions import Fraction

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from style_transfer import flow, images, losses, quality, video_files
from style_transfer.errors import ConfigError, ImageError

av = pytest.importorskip("av")
pytest.importorskip("cv2")

FPS = Fraction(30000, 1001)


def texture(height: int = 48, width: int = 64, seed: int = 0) -> np.ndarray:
    """A photo-like frame with detail at two scales (optical flow needs something to follow), its
    fine detail in the luma as in photos (4:2:0 video keeps colour at half resolution):
    float32 [1, H, W, 3]."""
    rng = np.random.default_rng(seed)
    layers = []
    for cell, weight, channels in ((8, 0.6, 3), (3, 0.4, 1)):  # coloured ~8 px blobs, grey ~3 px detail
        grid = (rng.random((height // cell + 2, width // cell + 2, channels)) * 255).astype(np.uint8)
        resized = Image.fromarray(grid.squeeze(-1) if channels == 1 else grid).resize((width, height), Image.BICUBIC)
        layers.append(weight * np.asarray(resized, np.float32).reshape(height, width, channels) / 255)
    return np.clip(layers[0] + layers[1], 0, 1)[None].astype(np.float32)


def pan(frames: int, dx: int = 2, height: int = 48, width: int = 64) -> list[np.ndarray]:
    """A camera pan: frame t is a window of one larger picture moved dx px to the right per frame,
    so the content moves dx px to the left: frame t(y, x) = frame t-1(y, x + dx)."""
    big = texture(height, width + dx * frames, seed=3)
    return [big[:, :, t * dx : t * dx + width] for t in range(frames)]


def write_clip_with_audio(path: str, frames: list[np.ndarray], fps: Fraction = FPS) -> None:
    """A test clip written with PyAV directly (not the writer under test): H.264 frames and a tone."""
    with av.open(path, "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.height, video.width = frames[0].shape[1:3]
        video.pix_fmt = "yuv420p"
        audio = out.add_stream("aac", rate=44100)
        for index, frame in enumerate(frames):
            picture = av.VideoFrame.from_ndarray(np.round(frame[0] * 255).astype(np.uint8), format="rgb24")
            picture.pts = index
            for packet in video.encode(picture):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        seconds = len(frames) / fps
        tone = np.sin(np.arange(int(44100 * seconds)) / 10.0).astype(np.float32)[None] * 0.1
        sound = av.AudioFrame.from_ndarray(np.repeat(tone, 2, axis=0), format="fltp", layout="stereo")
        sound.sample_rate, sound.pts = 44100, 0
        for packet in [*audio.encode(sound), *audio.encode()]:
            out.mux(packet)


def test_a_clip_round_trip_keeps_frame_count_rate_size_and_audio(tmp_path):
    frames = pan(6)
    source = str(tmp_path / "clip.mp4")
    write_clip_with_audio(source, frames)
    info = video_files.probe(source)
    assert (info.fps, info.width, info.height, info.frames, info.audio) == (FPS, 64, 48, 6, True)
    read = list(video_files.read_frames(source))
    assert len(read) == 6 and all(frame.shape == (1, 48, 64, 3) and frame.dtype == np.float32 for frame in read)
    # Each frame read is its own (lossy: 4:2:0 H.264 at 64 px), not a neighbour 2 px away.
    error = [[float(np.abs(read[i] - frames[j]).mean()) for j in range(6)] for i in range(6)]
    assert all(error[i][i] < 0.04 and error[i][i] < 0.5 * min(error[i][:i] + error[i][i + 1 :]) for i in range(6))

    output = str(tmp_path / "out.mp4")
    writer = video_files.VideoWriter(output, info.fps, (48, 64), audio_from=source)
    for frame in read[:4]:  # a clip of the first four frames: the audio is cut to match
        writer.write(frame)
    assert not os.path.exists(output)  # only the temporary file until close()
    writer.close()
    again = video_files.probe(output)
    assert (again.fps, again.width, again.height, again.frames, again.audio) == (FPS, 64, 48, 4, True)
    assert np.abs(next(video_files.read_frames(output, skip=3)) - read[3]).mean() < 0.02  # CRF 18, 4:2:0 again
    with av.open(output) as container:
        audio = container.streams.audio[0]
        seconds = float(audio.duration * audio.time_base)
    assert 4 / FPS - 0.05 < seconds < 4 / FPS + 0.05  # the sound of four frames, not six
    assert sorted(os.listdir(tmp_path)) == ["clip.mp4", "out.mp4"]  # no temporary file left
    assert oct(os.stat(output).st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_an_aborted_writer_leaves_nothing_and_keeps_the_old_file(tmp_path):
    output = tmp_path / "out.webm"
    output.write_bytes(b"before")
    writer = video_files.VideoWriter(str(output), Fraction(24), (48, 64))
    writer.write(texture())
    writer.abort()
    assert output.read_bytes() == b"before" and os.listdir(tmp_path) == ["out.webm"]
    with pytest.raises(video_files.VideoError, match="frame of 32x32 for a 64x48 video"):
        writer = video_files.VideoWriter(str(output), Fraction(24), (48, 64))
        try:
            writer.write(np.zeros((1, 32, 32, 3), np.float32))
        finally:
            writer.abort()


def test_a_writer_takes_a_plain_frame_rate_and_as_a_block_closes_or_leaves_nothing(tmp_path):
    """A notebook's VideoWriter(path, 25, size) or 29.97: the rate a container stores, exactly; in
    a with-block the file is put in place at its end, and a block that raises leaves nothing."""
    assert video_files.frame_rate(29.97) == Fraction(2997, 100) and video_files.frame_rate(25) == 25
    assert video_files.frame_rate(Fraction(30000, 1001)) == Fraction(30000, 1001)
    with pytest.raises(video_files.VideoError, match="frame rate 0 is not positive"):
        video_files.frame_rate(0)
    output = tmp_path / "out.mp4"
    with video_files.VideoWriter(str(output), 25, (48, 64)) as writer:
        for frame in pan(3):
            writer.write(frame)
    info = video_files.probe(str(output))
    assert (info.fps, info.frames, info.width, info.height) == (25, 3, 64, 48)
    with pytest.raises(RuntimeError, match="interrupted"):
        with video_files.VideoWriter(str(tmp_path / "half.mp4"), 29.97, (48, 64)) as writer:
            writer.write(texture())
            raise RuntimeError("interrupted")
    assert os.listdir(tmp_path) == ["out.mp4"]
    with video_files.writer_for(str(tmp_path / "f_%02d.png"), 25, (48, 64)) as frames:
        frames.write(texture())
    assert sorted(os.listdir(tmp_path)) == ["f_01.png", "out.mp4"]


def test_a_corrupt_or_missing_clip_is_one_clear_error(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"this is not a video" * 50)
    with pytest.raises(video_files.VideoError, match=r"cannot read video .*bad.mp4.*is it a video file\?"):
        video_files.probe(str(bad))
    with pytest.raises(video_files.VideoError, match="no such file"):
        video_files.probe(str(tmp_path / "missing.mp4"))
    with pytest.raises(video_files.VideoError, match="no frames match"):
        video_files.probe(str(tmp_path / "frames_%04d.png"))
    with pytest.raises(ImageError, match="extension '.gif'"):
        video_files.VideoWriter(str(tmp_path / "out.gif"), FPS, (48, 64))
    assert issubclass(video_files.VideoError, ImageError)


def test_a_numbered_sequence_round_trip(tmp_path):
    frames = pan(3)
    writer = video_files.writer_for(str(tmp_path / "in_%03d.png"), FPS, (48, 64), first_number=7)
    for frame in frames:
        writer.write(frame)
    writer.close()
    assert sorted(os.listdir(tmp_path)) == ["in_007.png", "in_008.png", "in_009.png"]
    (tmp_path / "in_011.png").write_bytes((tmp_path / "in_007.png").read_bytes())  # after a gap: not this clip's
    info = video_files.probe(str(tmp_path / "in_%03d.png"))
    assert (info.frames, info.first_number, info.width, info.height) == (3, 7, 64, 48)
    assert info.fps == video_files.DEFAULT_SEQUENCE_FPS
    read = list(video_files.read_frames(str(tmp_path / "in_%03d.png"), skip=1))
    assert len(read) == 2 and np.abs(read[0] - frames[1]).max() <= 0.5 / 255 + 1e-6  # PNG: exact to 8 bits
    assert video_files.is_sequence("a/%d.png") and video_files.is_clip("x.MOV") and not video_files.is_clip("x.png")
    assert video_files.even_size(101, 203) == (100, 202) and video_files.even_size(480, 640, 320) == (240, 320)


def test_warp_moves_an_image_by_a_known_flow():
    image = texture()
    # Whole-pixel flow (dx, dy) = (3, -2): warped(y, x) = image(y - 2, x + 3) away from the borders.
    flow_field = np.broadcast_to(np.float32([3.0, -2.0]), (48, 64, 2))
    warped = flow.warp(image, flow_field).numpy()
    np.testing.assert_allclose(warped[0, 2:, :-3], image[0, :-2, 3:], atol=1e-6)
    # Half a pixel on a linear ramp: bilinear sampling is exact there.
    ramp = np.broadcast_to(np.linspace(0, 1, 64, dtype=np.float32)[None, None, :, None], (1, 48, 64, 3))
    half = flow.warp(ramp, np.broadcast_to(np.float32([0.5, 0.0]), (48, 64, 2))).numpy()
    np.testing.assert_allclose(half[0, :, :-1, 0], ramp[0, :, :-1, 0] + 0.5 / 63, atol=1e-6)
    # Differentiable in the image: the gradient of one warped pixel lands on the pixels it sampled.
    variable = tf.Variable(image)
    with tf.GradientTape() as tape:
        pixel = flow.warp(variable, np.broadcast_to(np.float32([0.25, 0.5]), (48, 64, 2)))[0, 10, 10, 0]
    gradient = tape.gradient(pixel, variable).numpy()[0, ..., 0]
    expected = np.zeros((48, 64), np.float32)
    expected[10:12, 10:12] = [[0.75 * 0.5, 0.25 * 0.5], [0.75 * 0.5, 0.25 * 0.5]]
    np.testing.assert_allclose(gradient, expected, atol=1e-6)


def keys_reference(image: np.ndarray, dx: float, dy: float, a: float = -0.5) -> np.ndarray:
    """An independent bicubic shift: Keys' kernel (parameter a) written out in numpy, image [H, W]
    sampled at (y + dy, x + dx), positions and taps clamped to the border."""

    def kernel(t: np.ndarray) -> np.ndarray:
        t = np.abs(t)
        near = (a + 2) * t**3 - (a + 3) * t**2 + 1
        return np.where(t <= 1, near, np.where(t < 2, a * t**3 - 5 * a * t**2 + 8 * a * t - 4 * a, 0))

    height, width = image.shape
    out = np.zeros_like(image, dtype=np.float64)
    for y in range(height):
        for x in range(width):
            sy, sx = np.clip(y + dy, 0, height - 1), np.clip(x + dx, 0, width - 1)
            for yy in range(int(np.floor(sy)) - 1, int(np.floor(sy)) + 3):
                for xx in range(int(np.floor(sx)) - 1, int(np.floor(sx)) + 3):
                    weight = kernel(sy - yy) * kernel(sx - xx)
                    out[y, x] += weight * image[np.clip(yy, 0, height - 1), np.clip(xx, 0, width - 1)]
    return out


def test_bicubic_warp_matches_keys_kernel_and_keeps_more_detail_than_bilinear():
    """flow.warp(interpolation="bicubic"): a numpy Keys kernel's result for a fractional shift;
    whole pixels move exactly; a quadratic is reproduced; and a 4-pixel period moved half a pixel
    keeps ~0.88 of its amplitude where bilinear keeps ~0.71."""
    image = texture(24, 32)
    shift = np.broadcast_to(np.float32([1.3, -0.6]), (24, 32, 2))
    warped = flow.warp(image, shift, "bicubic").numpy()
    np.testing.assert_allclose(warped[0, ..., 1], keys_reference(image[0, ..., 1], 1.3, -0.6), atol=1e-5)
    whole = flow.warp(image, np.broadcast_to(np.float32([2.0, 1.0]), (24, 32, 2)), "bicubic").numpy()
    np.testing.assert_allclose(whole[0, :-1, :-2], image[0, 1:, 2:], atol=1e-6)
    xs = np.arange(32, dtype=np.float32)
    quadratic = np.broadcast_to(((xs - 10) ** 2 / 400)[None, None, :, None], (1, 24, 32, 3))
    moved = flow.warp(quadratic, np.broadcast_to(np.float32([0.5, 0.0]), (24, 32, 2)), "bicubic").numpy()
    expected = np.broadcast_to((xs[1:-3] + 0.5 - 10) ** 2 / 400, (24, 28))
    np.testing.assert_allclose(moved[0, :, 1:-3, 0], expected, atol=1e-5)
    wave = np.broadcast_to(np.cos(np.pi * xs / 2)[None, None, :, None], (1, 24, 32, 3)).astype(np.float32)
    half = np.broadcast_to(np.float32([0.5, 0.0]), (24, 32, 2))
    amplitude = {
        kind: np.abs(flow.warp(wave, half, kind).numpy()[0, :, 4:-4, 0]).max() / np.sqrt(0.5)
        for kind in ("bilinear", "bicubic")
    }  # cos(pi (x + 0.5) / 2) peaks at sqrt(0.5) on whole pixels
    assert amplitude["bilinear"] == pytest.approx(np.sqrt(0.5), abs=1e-4)
    assert amplitude["bicubic"] == pytest.approx(0.625 * np.sqrt(2), abs=1e-4)
    with pytest.raises(ValueError, match="bilinear or bicubic"):
        flow.warp(image, shift, "nearest")
    # carry (OpenCV's remap, no gradient): warp's samples to remap's 1/32 px for bilinear; for
    # bicubic Keys' a = -0.75 (numpy), which keeps 0.97 of the half-pixel wave; any size.
    rng = np.random.default_rng(1)
    for size in ((24, 32), (20, 36)):
        images = np.concatenate([texture(*size, seed=2), texture(*size, seed=3)])
        offsets = (rng.random((*size, 2)) * 6 - 3).astype(np.float32)
        carried = flow.carry(images, offsets)
        assert carried.shape == images.shape and carried.dtype == np.float32
        np.testing.assert_allclose(carried, flow.warp(images, offsets).numpy(), atol=0.01)
        assert np.mean(np.abs(carried - flow.warp(images, offsets).numpy())) < 0.002
    carried = flow.carry(image, shift, "bicubic")
    np.testing.assert_allclose(carried[0, ..., 1], keys_reference(image[0, ..., 1], 1.3, -0.6, a=-0.75), atol=0.01)
    assert np.abs(flow.carry(wave, half, "bicubic")[0, :, 4:-4, 0]).max() == pytest.approx(0.6875, abs=1e-3)
    np.testing.assert_allclose(flow.carry(image[..., :1], shift, "bicubic")[..., 0], carried[..., 0], atol=1e-6)
    with pytest.raises(ValueError, match="bilinear or bicubic"):
        flow.carry(image, shift, "nearest")
    with pytest.raises(ValueError, match="1-4"):
        flow.carry(np.concatenate([image, image], axis=-1), shift)  # remap takes at most 4 channels


def test_dis_flow_finds_a_pan_and_the_mask_leaves_out_what_entered_the_frame():
    previous, current = pan(2, dx=3)
    backward, mask = flow.frame_flows(previous, current)  # t -> t-1: content at x came from x + 3
    interior = backward[8:-8, 8:-12]
    assert np.median(interior[..., 0]) == pytest.approx(3.0, abs=0.25)
    assert np.median(interior[..., 1]) == pytest.approx(0.0, abs=0.25)
    assert mask[8:-8, 8:-12].mean() > 0.9  # the pan is consistent both ways
    assert mask[:, -2:].mean() < 0.1  # the strip that entered on the right was not in frame t-1
    warped = flow.warp(previous, backward).numpy()
    reliable = mask[None, ..., None] > 0
    assert np.abs(warped - current)[np.broadcast_to(reliable, warped.shape)].mean() < 0.02


def test_a_flow_points_each_pixel_to_itself_plus_its_motion():
    motion = np.zeros((5, 7, 2), np.float32)
    motion[..., 0], motion[3, 4] = 2.0, (-9.0, 1.5)  # every pixel 2 px right; one leaves the frame
    x, y = flow.pointed_to(motion)
    assert x.shape == y.shape == (5, 7) and x.dtype == y.dtype == np.float32
    assert (x[1, 2], y[1, 2]) == (4.0, 1.0) and (x[3, 4], y[3, 4]) == (-5.0, 4.5)  # not clamped


def test_reliable_marks_disagreeing_flows_and_motion_boundaries():
    still = np.zeros((32, 32, 2), np.float32)
    assert flow.reliable(still, still).min() == 1.0
    backward = still.copy()
    backward[:, 16:, 0] = 4.0  # the right half moved, the left did not: a motion boundary at x = 16
    forward = -backward  # consistent in the halves' interiors
    forward[:, 12:20] = 0.0
    mask = flow.reliable(backward, forward)
    assert mask[:, 2:10].min() == 1.0 and mask[:, 22:26].min() == 1.0
    assert mask[:, 15:17].max() == 0.0  # the boundary
    assert mask[:, -4:].max() == 0.0  # leads out of the frame


def test_the_temporal_loss_is_zero_for_the_warped_frame_and_a_masked_mean_otherwise():
    rng = np.random.default_rng(0)
    image, warped = rng.random((2, 1, 8, 8, 3), np.float32)
    mask = (rng.random((1, 8, 8, 1)) > 0.5).astype(np.float32)
    assert float(losses.temporal_loss(warped, warped, mask)[0]) == 0.0
    expected = np.sum(mask * (image - warped) ** 2) / image[0].size
    assert float(losses.temporal_loss(image, warped, mask)[0]) == pytest.approx(expected, rel=1e-5)
    assert float(losses.temporal_loss(image, warped, np.zeros_like(mask))[0]) == 0.0


def test_the_warping_error_is_zero_for_a_still_clip_and_counts_flicker():
    frames = [texture()] * 3
    flows = [np.zeros((48, 64, 2), np.float32)] * 2
    masks = [np.ones((48, 64), np.float32)] * 2
    assert quality.warping_error(frames, flows, masks) == 0.0
    rng = np.random.default_rng(1)
    noisy = [np.clip(frame + rng.normal(0, 0.05, frame.shape), 0, 1).astype(np.float32) for frame in frames]
    masks[1] = np.zeros((48, 64), np.float32)
    masks[1][:, :32] = 1.0  # the second pair counts only its left half
    first = np.mean((noisy[1] - noisy[0]) ** 2)
    second = np.mean((noisy[2] - noisy[1])[:, :, :32] ** 2)
    assert quality.warping_error(noisy, flows, masks) == pytest.approx((first + second) / 2, rel=1e-5)
    # A pan: its own flow warps each frame onto the next, so the clip's figure is about 0.
    panned = pan(3, dx=2)
    pairs = [flow.frame_flows(a, b) for a, b in zip(panned[:-1], panned[1:], strict=True)]
    assert quality.warping_error(panned, [f for f, _ in pairs], [m for _, m in pairs]) < 1e-3


# --- The command line on clips (cli_video.py), in this process (tests/cli_runner.py). ---


def _tiny_network(tmp_path) -> str:
    from style_transfer import networks, transformer

    model = str(tmp_path / "net.npz")
    networks.save_network(transformer.build(width=0.25, styles=1, seed=0), model, ["painting"])
    return model


def test_a_clip_through_a_network_keeps_rate_size_frames_and_audio(tmp_path):
    from style_transfer import devices, networks, transformer
    from tests.cli_runner import run_in_process as run_cli

    frames = pan(5, height=36, width=64)
    write_clip_with_audio(str(tmp_path / "clip.mp4"), frames)
    model = _tiny_network(tmp_path)
    result = run_cli(["--content=clip.mp4", f"--model={model}"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "clip clip.mp4: 64x36, 29.970 frames/s, 5 frames, audio -> 64x36" in result.stdout
    assert f"width 0.25, {devices.resolved_precision('auto')} convolutions" in result.stdout
    assert "frame 5/5: one pass" in result.stdout and "ETA" in result.stdout
    info = video_files.probe(str(tmp_path / "stylized.mp4"))  # the input's extension, the default name
    assert (info.fps, info.width, info.height, info.frames, info.audio) == (FPS, 64, 36, 5, True)
    # Each frame is the network's result on that frame (as decoded), up to H.264's loss (a random
    # network's fine noise at 64 px costs it ~0.06): nearer its own than any other frame's (~0.14).
    network, _ = networks.load_network(model)
    decoded = list(video_files.read_frames(str(tmp_path / "clip.mp4")))
    written = list(video_files.read_frames(str(tmp_path / "stylized.mp4")))
    expected = [transformer.stylize(network, frame).numpy() for frame in decoded]
    error = [[float(np.abs(w - e).mean()) for e in expected] for w in written]
    assert all(error[i][i] < 0.5 * min(error[i][:i] + error[i][i + 1 :]) for i in range(5)), error
    # --max_size scales a network's clip down (even sides), numbered frames out.
    (tmp_path / "out").mkdir()
    result = run_cli(["--content=clip.mp4", f"--model={model}", "--max_size=40", "--output=out/f_%03d.png"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(tmp_path / "out")) == [f"f_{n:03d}.png" for n in range(1, 6)]
    with Image.open(tmp_path / "out" / "f_001.png") as first:
        assert first.size == (40, 22)


def test_the_optimisation_runs_later_frames_from_the_last_with_fewer_steps(tmp_path):
    from tests.cli_runner import run_in_process as run_cli

    (tmp_path / "in").mkdir()
    for number, frame in enumerate(pan(3, height=40, width=48), start=1):
        Image.fromarray(np.round(frame[0] * 255).astype(np.uint8)).save(tmp_path / "in" / f"{number:04d}.png")
    args = ["--content=in/%04d.png", "--output=out.mp4", "--weights=none", "--network=vgg16", "--max_size=48"]
    result = run_cli([*args, "--steps=4", "--later_steps=2", "--moved_steps=2", "--fps=12"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "frame 1/3: 4 steps" in result.stdout and "frame 2/3: 2 steps" in result.stdout
    assert "temporal" in result.stdout.split("frame 2/3")[1].splitlines()[0]  # the term of later frames
    info = video_files.probe(str(tmp_path / "out.mp4"))
    assert (info.fps, info.width, info.height, info.frames, info.audio) == (Fraction(12), 48, 40, 3, False)
    result = run_cli([*args, "--steps=4", "--video_mode=independent"], tmp_path)
    assert result.returncode == 0 and "frame 2/3: 4 steps" in result.stdout, result.stderr


def test_ctrl_c_leaves_a_playable_clip_and_resume_goes_on(tmp_path, monkeypatch):
    import signal

    from style_transfer import cli_video
    from tests.cli_runner import run_in_process as run_cli

    write_clip_with_audio(str(tmp_path / "clip.mp4"), pan(4, height=36, width=64))
    model = _tiny_network(tmp_path)
    frame_done = cli_video.FrameProgress.frame_done

    def interrupted_after_two(self, index):
        if index == 1:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, to the handler the run installed
        frame_done(self, index)

    monkeypatch.setattr(cli_video.FrameProgress, "frame_done", interrupted_after_two)
    args = ["--content=clip.mp4", f"--model={model}", "--output=out.mp4"]
    result = run_cli(args, tmp_path)
    assert result.returncode == 130
    assert "wrote the 2 frame(s) done to out.mp4 (--resume goes on from there)" in result.stderr
    partial = video_files.probe(str(tmp_path / "out.mp4"))
    assert (partial.frames, partial.audio) == (2, True)
    first_two = list(video_files.read_frames(str(tmp_path / "out.mp4")))
    assert sorted(os.listdir(tmp_path)) == ["clip.mp4", "net.npz", "out.mp4"]  # no temporary file left

    monkeypatch.setattr(cli_video.FrameProgress, "frame_done", frame_done)
    result = run_cli([*args, "--resume"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "resuming after frame 2" in result.stdout and "frame 3/4" in result.stdout
    assert "frame 1/4" not in result.stdout
    whole = list(video_files.read_frames(str(tmp_path / "out.mp4")))
    assert len(whole) == 4 and np.abs(whole[0] - first_two[0]).mean() < 0.02  # kept (encoded once more)
    result = run_cli([*args, "--resume"], tmp_path)
    assert result.returncode == 0 and "holds all 4 frames already" in result.stdout


@pytest.mark.parametrize("steady", ["--network_smoothing=0.5", "--network_hold"])
def test_network_smoothing_from_the_command_line_and_on_resume(tmp_path, steady):
    """--network_smoothing (and --network_hold) reach the network's frames (they differ from the
    plain pass's after the first), and --resume carries the last frame done onto the next: a run
    resumed after frame 2 writes the uninterrupted run's frames 3 and 4 (up to the 8 bits frame 2
    was kept in; the hold, whose uninterrupted run samples frame 0's paint, within one resampling)."""
    from tests.cli_runner import run_in_process as run_cli

    write_clip_with_audio(str(tmp_path / "clip.mp4"), pan(4, height=36, width=64))
    model = _tiny_network(tmp_path)
    runs = {}
    for name, extra in (("plain", []), ("smooth", [steady])):
        (tmp_path / name).mkdir()
        result = run_cli(["--content=clip.mp4", f"--model={model}", f"--output={name}/%02d.png", *extra], tmp_path)
        assert result.returncode == 0, result.stderr
        runs[name] = [images.load_image(str(tmp_path / name / f"{n:02d}.png")) for n in range(1, 5)]
    np.testing.assert_array_equal(runs["smooth"][0], runs["plain"][0])
    assert all(np.abs(s - p).mean() > 0.01 for s, p in zip(runs["smooth"][1:], runs["plain"][1:], strict=True))
    for n in (3, 4):
        os.remove(tmp_path / "smooth" / f"{n:02d}.png")
    args = ["--content=clip.mp4", f"--model={model}", "--output=smooth/%02d.png", steady]
    result = run_cli([*args, "--resume"], tmp_path)
    assert result.returncode == 0 and "resuming after frame 2" in result.stdout, result.stderr
    for n in (3, 4):
        resumed = images.load_image(str(tmp_path / "smooth" / f"{n:02d}.png"))
        if steady == "--network_hold":
            assert np.abs(resumed - runs["smooth"][n - 1]).mean() < 0.01
        else:
            assert np.abs(resumed - runs["smooth"][n - 1]).max() <= 2 / 255


def test_bad_clips_are_one_line_and_nothing_is_written(tmp_path):
    from tests.cli_runner import run_in_process as run_cli

    (tmp_path / "bad.mp4").write_bytes(b"not a video" * 100)
    model = _tiny_network(tmp_path)
    cases = [
        (["--content=bad.mp4", f"--model={model}"], "cannot read video 'bad.mp4': Invalid data"),
        (["--content=missing.mov", f"--model={model}"], "cannot read video 'missing.mov': no such file"),
        (["--content=f_%03d.png", f"--model={model}", "--output=o.mp4"], "no frames match 'f_%03d.png'"),
        (["--content=f_%03d.png", f"--model={model}"], "a frame sequence's stylisation goes to --output"),
        (["--content=bad.mp4", "--output=out.png"], "--output=out.png is not a clip"),
        (["--content=bad.mp4", "--output=x.mp4", "--batch_size=2"], "drop --output_dir and --batch_size"),
        (["--content=bad.mp4", "--output=x.mp4", "--later_steps=0"], "--later_steps"),
        (["--content=bad.mp4", "--output=x.mp4", "--network_smoothing=0.5"], "--network_smoothing steadies a network"),
        (["--content=bad.mp4", "--output=x.mp4", "--network_hold"], "--network_hold steadies a network"),
        (["--content=bad.mp4", f"--model={model}", "--network_hold", "--network_smoothing=0.5"], "--network_hold and"),
        (["--content=bad.mp4", f"--model={model}", "--network_smoothing=1"], "--network_smoothing"),
    ]
    for args, message in cases:
        result = run_cli(args, tmp_path)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 1 and len(lines) == 1 and lines[0].startswith("style-transfer: error: "), (
            args,
            result.stderr,
        )
        assert message in lines[0], (args, lines[0])
    assert sorted(os.listdir(tmp_path)) == ["bad.mp4", "net.npz"]


def test_the_carried_result_follows_the_motion_and_the_light():
    """video.carry_previous: the previous result moved with the photo (a pan of 2 px), plus what
    the light did (departure 3); where the photo changed more than the flow explains (departure 5)
    it is not trusted, and the start there is the photo in the result's colours."""
    from style_transfer import colors, video

    first, second = pan(2, dx=2)
    result = texture(seed=5)  # a "stylisation" of the first frame
    carried, trust = astuple(video.carry_previous((first, result), second))
    assert carried.shape == (1, 48, 64, 3) and trust.shape == (1, 48, 64, 1)
    interior = (slice(None), slice(6, -6), slice(6, -10))  # away from the strip that entered
    assert np.abs(carried[:, 6:-6, 6:-10] - result[:, 6:-6, 8:-8]).mean() < 0.01
    assert trust[interior].mean() > 0.9
    # 3 % darker, not moved: within the tolerance; the result carries the photo's change in luma.
    darker = first * 0.97
    carried, trust = astuple(video.carry_previous((first, result), darker))
    expected = np.clip(result - 0.03 * quality.luma(first).numpy(), 0, 1)
    assert trust[interior].mean() > 0.8
    assert np.abs(carried - expected)[interior].mean() < 0.01
    # Half as bright: far beyond it, nothing is trusted and the start is the photo recoloured.
    dark = first * 0.5
    carried, trust = astuple(video.carry_previous((first, result), dark))
    fresh = colors.match_colors_of(tf.constant(dark), tf.constant(result)).numpy()
    untrusted = np.broadcast_to(trust == 0, carried.shape)
    assert trust.mean() < 0.1 and untrusted.mean() > 0.8
    np.testing.assert_allclose(carried[untrusted], fresh[untrusted], atol=1e-6)


def test_the_carried_result_is_warped_bicubically_and_keeps_its_detail(monkeypatch):
    """Departure 9: on a pan of half a pixel, the previous result carried onto the frame keeps more
    of its fine detail (its high-pass energy) than a bilinear warp would leave it."""
    from style_transfer import video

    wide = texture(48, 72, seed=3)
    half = np.broadcast_to(np.float32([0.5, 0.0]), (48, 72, 2))
    first, second = wide[:, :, :64], flow.warp(wide, half, "bicubic").numpy()[:, :, :64]
    result = texture(seed=5)  # a "stylisation" of the first frame, with 3 px detail

    def detail(image: np.ndarray) -> float:
        interior = image[0, 4:-4, 4:-8].mean(axis=-1)
        return float(np.abs(interior - (np.roll(interior, 1, 1) + np.roll(interior, -1, 1)) / 2)[:, 1:-1].mean())

    assert video.WARP == "bicubic"
    sharp = video.carry_previous((first, result), second).start
    monkeypatch.setattr(video, "WARP", "bilinear")
    soft = video.carry_previous((first, result), second).start
    assert detail(sharp) > 1.05 * detail(soft)
    assert detail(sharp) > 0.75 * detail(result)  # the result moved, not smoothed away


def astuple(carried) -> tuple[np.ndarray, np.ndarray]:
    return carried.start, carried.trust


def test_a_slow_cross_fade_is_repainted_a_share_a_frame():
    """Departure 5's accumulated change: on a still shot fading slowly to another picture, each
    frame's change is within the tolerance (the frame alone would be trusted whole), but as the
    change since the painting accumulates, up to REFRESH of each pixel is repainted a frame; the
    shot is never taken for a cut, and a repainted share is no longer counted."""
    from style_transfer import video

    a, b = texture(seed=1), texture(seed=2)
    frames = [a + (b - a) * t / 20 for t in range(9)]  # within the tolerance frame by frame
    result, accumulated, trusts = texture(seed=5), None, []
    for before, now in zip(frames[:-1], frames[1:], strict=True):
        carried = video.carry_previous((before, result), now, accumulated)
        alone = video.carry_previous((before, result), now)  # this frame's change only
        assert alone.trust.mean() > 0.95 and carried.shot > video.SCENE_CUT
        trusts.append(float(carried.trust.mean()))
        accumulated, result = carried.accumulated, carried.start
    assert trusts[0] > 0.95 and trusts[-1] < 0.85  # more of each pixel repainted as the fade goes on
    assert all(1 - t <= video.REFRESH + 1e-6 for t in trusts)  # never more than REFRESH in one frame


def occluded(seed: int = 1) -> list[np.ndarray]:
    """A still shot, a black square over its middle for one frame, the shot again: 3 frames
    float32 [1, 48, 64, 3]."""
    shot = texture(seed=seed)
    hidden = shot.copy()
    hidden[:, 14:34, 20:44] = 0.0
    return [shot, hidden, shot]


def test_what_an_occlusion_hid_comes_back_with_the_paint_it_had():
    """Long-term consistency (video.py, departure 1): where the previous frame did not show a
    pixel (the square hid it), the result of a frame further back that did is carried there and
    trusted, so it is held, not painted anew; the previous frame's result stays everywhere else."""
    from style_transfer import video

    shot, hidden, again = occluded()
    before, during = texture(seed=5), texture(seed=6)  # the results of the first two frames
    square, around = (slice(None), slice(17, 31), slice(23, 41)), (slice(None), slice(3, -3), slice(3, 12))
    alone = video.carry_previous((hidden, during), again)
    assert alone.trust[square].mean() < 0.1 and alone.trust[around].min() > 0.95
    carried = video.carry_previous((hidden, during), again, earlier=[(shot, before)])
    assert carried.trust[square].min() > 0.95 and carried.trust[around].min() > 0.95
    assert np.abs(carried.start - before)[square].mean() < 0.01  # the paint the square hid
    np.testing.assert_allclose(carried.start[around], alone.start[around], atol=1e-6)  # the previous frame's
    assert carried.shot > alone.shot


def test_the_clip_holds_each_frame_to_the_frames_held_frames_names():
    """optimised_frames with held_frames (1, 2): the third frame, where the square uncovers what
    the first showed, ends near the first frame's result there; held to the previous frame alone
    it is painted anew from the photo. video.History keeps the newest frame exact and the older in
    8 bits."""
    from style_transfer import video
    from style_transfer.config import Config, VideoConfig

    config = Config(network="vgg16", weights="none", steps=6, max_size=64, scales=1)
    clip, painting = occluded(), texture(32, 32, seed=9)
    square = (slice(None), slice(17, 31), slice(23, 41))
    distance = {}
    for held in ((1,), (1, 2)):
        settings = VideoConfig(later_steps=2, moved_steps=2, held_frames=held)
        frames = list(video.optimised_frames(clip, [painting], config, settings))
        distance[held] = float(np.abs(frames[2] - frames[0])[square].mean())
    assert distance[(1, 2)] < 0.012 and distance[(1,)] > 3 * distance[(1, 2)], distance

    for bad in ((), (2, 4), (1, 8, 4), (1, 1)):
        with pytest.raises(ConfigError, match="held_frames must start at 1 and increase"):
            VideoConfig(held_frames=bad).validate()

    history = video.History(2)
    for seed in (1, 2, 3):
        history.add(texture(seed=seed), texture(seed=seed + 10))
    assert len(history) == 2
    np.testing.assert_array_equal(history.back(1)[1], texture(seed=13))
    older = history.back(2)
    assert older[0].dtype == np.float32 and np.abs(older[1] - texture(seed=12)).max() <= 0.5 / 255 + 1e-6


def test_a_still_shot_keeps_its_paint_exactly(monkeypatch):
    """Departure 7: frames that did not move (DIS's flow exactly 0 between equal frames) keep the
    first frame's result to the bit; held only by the temporal term (the flow threshold at 0) the
    later steps go on optimising it and the paint changes."""
    from style_transfer import video
    from style_transfer.config import Config, VideoConfig

    config = Config(network="vgg16", weights="none", steps=6, max_size=64, scales=1)
    clip, painting = [texture(seed=1)] * 3, texture(32, 32, seed=9)
    settings = VideoConfig(later_steps=3, moved_steps=3)
    frames = list(video.optimised_frames(clip, [painting], config, settings))
    for frame in frames[1:]:
        np.testing.assert_array_equal(frame, frames[0])
    monkeypatch.setattr(video, "STILL_FLOW", 0.0)
    settling = list(video.optimised_frames(clip, [painting], config, settings))
    np.testing.assert_array_equal(settling[0], frames[0])
    assert np.abs(settling[2] - settling[0]).mean() > 1e-3


def test_what_moved_rigidly_keeps_its_paint_once_settled(monkeypatch):
    """Departure 11: on a pan, a pixel's paint carried more than SETTLE frames is held: from frame
    SETTLE + 1 on, what stays in view is the previous result moved (departure 9's bicubic carry of
    DIS's flow, so not to the bit); the frames before, and every frame without the hold, go on
    being optimised. A zoom's flow is not a translation (video._stretch)."""
    from style_transfer import video
    from style_transfer.config import Config, VideoConfig

    assert video.SETTLE == 3
    config = Config(network="vgg16", weights="none", steps=6, max_size=64, scales=1)
    clip, painting = pan(6, dx=2), texture(32, 32, seed=9)
    settings = VideoConfig(later_steps=4, moved_steps=4)

    def changes(frames):  # the mean change of what stayed in view, away from the borders
        return [
            float(np.abs(b[:, 8:-8, 8:-10] - a[:, 8:-8, 10:-8]).mean())
            for a, b in zip(frames[:-1], frames[1:], strict=True)
        ]

    held = changes(list(video.optimised_frames(clip, [painting], config, settings)))
    monkeypatch.setattr(video, "SETTLE", 1000)
    free = changes(list(video.optimised_frames(clip, [painting], config, settings)))
    # Frames 4 and 5 moved, not repainted (measured: 1e-4 against 0.01 without the hold).
    assert all(h < 1e-3 for h in held[3:]) and all(f > 10 * h for f, h in zip(free[3:], held[3:], strict=True)), (
        free,
        held,
    )
    np.testing.assert_allclose(held[:3], free[:3], rtol=1e-6)  # the same until then

    ys, xs = np.mgrid[0:20, 0:30].astype(np.float32)
    shift = np.stack([np.full_like(xs, 2.5), np.full_like(ys, -1.0)], axis=-1)
    zoom = 0.02 * np.stack([xs - 15, ys - 10], axis=-1)
    np.testing.assert_allclose(video._stretch(shift), 0.0)
    np.testing.assert_allclose(video._stretch(zoom), 0.02 * np.sqrt(2), rtol=1e-5)
    assert video._stretch(zoom).min() > video.RIGID_STRETCH


def test_a_later_frame_takes_more_steps_as_its_picture_changed():
    """Departure 8: moved_steps up to CHANGED[0] of the frame changed, later_steps from CHANGED[1],
    linear between (rounded); either may be the larger."""
    from style_transfer import video
    from style_transfer.config import VideoConfig

    low, high = video.CHANGED
    settings = VideoConfig(later_steps=20, moved_steps=10)
    assert [video.frame_steps(settings, share) for share in (0.0, low, high, 1.0)] == [10, 10, 20, 20]
    assert video.frame_steps(settings, low + 0.32 * (high - low)) == 13  # 13.2
    assert video.frame_steps(settings, low + 0.66 * (high - low)) == 17  # 16.6
    assert video.frame_steps(VideoConfig(later_steps=4, moved_steps=8), 1.0) == 4


def test_later_frames_take_fewer_steps_and_a_cut_starts_over():
    """video.optimised_frames: frame 0 runs config's steps over its scales; a frame that moved
    (a pan) runs moved_steps; one whose picture changed (the light on half of it: departure 8)
    later_steps; a frame of another picture (a cut: the flow reliable nowhere near SCENE_CUT)
    starts over with config's steps; independent mode gives every frame config's."""
    from style_transfer import video
    from style_transfer.config import Config, VideoConfig

    config = Config(network="vgg16", weights="none", steps=5, max_size=48, scales=1)
    painting = texture(32, 32, seed=9)
    first, moved = pan(2, dx=2)
    lit = moved.copy()
    lit[:, :, 32:] *= 0.85  # the light changed on the right half
    clip = [first, moved, lit, texture(seed=11)]  # two frames of a pan, the light, then a cut
    steps: dict[int, int] = {}

    def count(frame, step, terms, image):
        steps[frame] = step
        assert ("temporal" in terms) == (frame in (1, 2))

    settings = VideoConfig(later_steps=4, moved_steps=2)
    frames = list(video.optimised_frames(clip, [painting], config, settings, callback=count))
    assert len(frames) == 4 and all(frame.shape == (1, 48, 64, 3) for frame in frames)
    assert steps == {0: 5, 1: 2, 2: 4, 3: 5}  # one scale (scales=1): no new-region pass (departure 6)
    steps.clear()
    independent = VideoConfig(video_mode="independent")
    list(
        video.optimised_frames(
            clip[:2], [painting], config, independent, callback=lambda f, s, t, i: steps.update({f: s})
        )
    )
    assert steps == {0: 5, 1: 5}


def test_free_zero_keeps_those_pixels_where_they_start():
    """objective.Temporal.free: the gradient is multiplied by it, so the optimisation (L-BFGS)
    leaves the pixels at 0 exactly as they started and moves the others."""
    from style_transfer import multiscale
    from style_transfer.config import Config
    from style_transfer.objective import Temporal

    config = Config(network="vgg16", weights="none", steps=4, max_size=64, scales=1)
    photo, start = texture(seed=1), texture(seed=2)
    free = np.zeros((1, 48, 64, 1), np.float32)
    free[:, :, 40:] = 1.0
    temporal = Temporal(start, np.ones_like(free), 1.0, free=free)
    result = multiscale.stylize(photo, [texture(32, 32, seed=9)], config, init_image=start, temporal=temporal)
    np.testing.assert_array_equal(result[:, :, :40], start[:, :, :40])
    assert np.abs(result[:, :, 40:] - start[:, :, 40:]).mean() > 1e-3


def _steps_seen(clip, painting, config, settings):
    """The clip's frames by the optimisation, and each frame's steps as the callback saw them:
    {frame: [(step, image size)]}."""
    from style_transfer import video

    seen: dict[int, list] = {index: [] for index in range(len(clip))}
    callback = lambda f, s, t, i: seen[f].append((s, i.shape[1:3]))  # noqa: E731
    return list(video.optimised_frames(clip, [painting], config, settings, callback=callback)), seen


def test_what_the_carried_result_does_not_cover_is_painted_at_a_coarser_scale_first():
    """Departure 6: on a pan, a later frame first runs new_steps at the first frame's last coarser
    scale, in which only what the previous result does not cover moves (the trusted pixels start
    as carried), then later_steps with the temporal term, numbered on; a still clip skips it."""
    from style_transfer import video
    from style_transfer.config import Config, VideoConfig

    config = Config(network="vgg16", weights="none", steps=5, max_size=96, scales=2, min_scale_size=32)
    clip = pan(2, dx=6, height=54, width=96)
    painting = texture(32, 32, seed=9)
    # The coarser pass alone (its final-size pass, for larger new regions: the next test).
    settings = VideoConfig(later_steps=2, moved_steps=2, new_steps=3, new_final_steps=0)
    frames, seen = _steps_seen(clip, painting, config, settings)
    assert [s for s, _ in seen[1]] == [1, 2, 3, 4, 5]  # 3 new-region steps, then 2 later ones
    assert [size for _, size in seen[1]] == [(27, 48)] * 3 + [(54, 96)] * 2  # the coarser scale first
    target, trust = astuple(video.carry_previous((clip[0], frames[0]), clip[1]))
    assert (trust[0, :, -6:] == 0).all() and trust.mean() > 0.8  # the strip that came into view
    start, painted = video.paint_new_region(clip[1], [painting], target, trust, config, settings, {})
    assert painted == 3
    held = np.broadcast_to(trust == 1, start.shape)
    np.testing.assert_allclose(start[held], target[held], atol=1e-6)  # trusted: as carried
    assert np.abs(start - target)[:, :, -6:].mean() > 1e-3  # the new strip: painted
    still, painted = video.paint_new_region(clip[0], [painting], frames[0], np.ones_like(trust), config, settings, {})
    assert painted == 0 and still is frames[0]
    assert video.paint_new_region(clip[1], [painting], target, trust, config.replace(scales=1), settings, {})[1] == 0


def test_a_large_new_region_is_painted_at_the_final_size_too():
    """Departure 6: where much of a frame is new (another picture comes over a quarter of it), the
    coarser pass is followed by new_final_steps at the final size, only the new pixels moving,
    numbered on before the later steps; how many rises with the new share (none for a slow pan's
    strip)."""
    from style_transfer import video
    from style_transfer.config import Config, VideoConfig

    config = Config(network="vgg16", weights="none", steps=5, max_size=96, scales=2, min_scale_size=32)
    first = pan(1, height=54, width=96)[0]
    second = first.copy()
    second[:, :, -24:] = first[:, :, ::-1, ::-1][:, :, -24:]  # another picture over the right quarter
    clip = [first, second]
    painting = texture(32, 32, seed=9)
    settings = VideoConfig(later_steps=2, moved_steps=2, new_steps=3, new_final_steps=4)
    frames, seen = _steps_seen(clip, painting, config, settings)
    target, trust = astuple(video.carry_previous((clip[0], frames[0]), clip[1]))
    assert float(np.mean(1.0 - trust)) > video.NEW_FINAL_SHARE[1]  # ~0.3: the quarter and its edge
    assert [s for s, _ in seen[1]] == list(range(1, 3 + 4 + 2 + 1))  # coarser, final-size new, later
    assert [size for _, size in seen[1]] == [(27, 48)] * 3 + [(54, 96)] * (4 + 2)
    start, painted = video.paint_new_region(clip[1], [painting], target, trust, config, settings, {})
    assert painted == 3 + 4
    held = np.broadcast_to(trust == 1, start.shape)
    np.testing.assert_allclose(start[held], target[held], atol=1e-6)  # trusted: as carried
    coarse_only = VideoConfig(later_steps=2, moved_steps=2, new_steps=3, new_final_steps=0)
    coarser, painted = video.paint_new_region(clip[1], [painting], target, trust, config, coarse_only, {})
    assert painted == 3
    new = np.broadcast_to(trust < 0.05, start.shape)
    assert np.abs(start - coarser)[new].mean() > 1e-3  # the final-size pass painted the new pixels on
    # None up to 5 % of the frame, rising to all of them at 20 % (floored).
    assert [video.final_steps(settings, share) for share in (0.0, 0.05, 0.14, 0.19, 0.2, 0.6)] == [0, 0, 2, 3, 4, 4]


def test_a_clips_later_frames_run_the_steps_traced_for_the_first_with_the_same_results(monkeypatch):
    """compiled.py across a clip: frame 0 traces its step at each scale, frame 1 one for its
    new-region pass and one for its later steps (other structures: a temporal term, `free`), and
    frame 2 traces nothing; every frame is what it is with a step traced for each call, to the bit."""
    from style_transfer import compiled, step, vgg, video
    from style_transfer.config import Config, VideoConfig

    traced = []
    original = step._compiled_step

    def counted(skeleton, optim, loss_scale):
        body = original(skeleton, optim, loss_scale)

        def traced_body(image, state, tensors):  # runs once a trace
            traced.append(type(skeleton).__name__)
            return body(image, state, tensors)

        return traced_body

    monkeypatch.setattr(step, "_compiled_step", counted)
    config = Config(network="vgg16", weights="none", steps=4, max_size=96, scales=2, min_scale_size=32)
    clip, painting = pan(3, dx=6, height=54, width=96), texture(32, 32, seed=9)
    settings = VideoConfig(later_steps=2, moved_steps=2, new_steps=2)
    extractor = vgg.extractor_for(config)
    extractor.compiled_steps.clear()  # nothing traced by an earlier test
    reused = list(video.optimised_frames(clip, [painting], config, settings, extractor=extractor))
    assert traced == ["Objective", "Objective", "WithTemporal", "WithTemporal"]
    monkeypatch.setattr(compiled, "steps_for", lambda parts, settings, make: compiled.Steps(make()))
    fresh = list(video.optimised_frames(clip, [painting], config, settings, extractor=extractor, reuse=False))
    assert len(traced) > 4 + 4  # a trace for each call's each scale
    for a, b in zip(reused, fresh, strict=True):
        np.testing.assert_array_equal(a, b)


def test_without_the_video_extra_a_clip_is_one_line_saying_what_to_install(tmp_path, monkeypatch):
    import sys

    from tests.cli_runner import run_in_process as run_cli

    write_clip_with_audio(str(tmp_path / "clip.mp4"), pan(2, height=36, width=64))
    monkeypatch.setitem(sys.modules, "av", None)  # as if PyAV were not installed
    result = run_cli(["--content=clip.mp4", "--output=out.mp4"], tmp_path)
    assert result.returncode == 1 and result.stderr.strip().splitlines() == [
        "style-transfer: error: video needs PyAV: pip install 'style_transfer[video]'"
    ]
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(
        video_files.VideoError, match=r"optical flow needs OpenCV: pip install 'style_transfer\[video\]'"
    ):
        flow.optical_flow(texture(), texture())
    assert sorted(os.listdir(tmp_path)) == ["clip.mp4"]


def test_the_optimisation_resumes_after_the_frames_done_as_a_later_frame(tmp_path, monkeypatch):
    """--resume without --model: the run goes on from the last frames written (their photos and
    results, as many as --held_frames reaches back), so the next frame is a later frame
    (later_steps, the temporal term), not a first one."""
    import signal

    from style_transfer import cli_video, video
    from tests.cli_runner import run_in_process as run_cli

    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    photos = pan(4, height=40, width=48)
    for number, frame in enumerate(photos, start=1):
        Image.fromarray(np.round(frame[0] * 255).astype(np.uint8)).save(tmp_path / "in" / f"{number:04d}.png")
    frame_done = cli_video.FrameProgress.frame_done

    def interrupted_after_two(self, index):
        if index == 1:
            os.kill(os.getpid(), signal.SIGINT)
        frame_done(self, index)

    monkeypatch.setattr(cli_video.FrameProgress, "frame_done", interrupted_after_two)
    args = ["--content=in/%04d.png", "--output=out/%04d.png", "--weights=none", "--network=vgg16", "--max_size=48"]
    args += ["--steps=3", "--later_steps=2", "--moved_steps=2", "--held_frames=1,2"]
    assert run_cli(args, tmp_path).returncode == 130
    assert sorted(os.listdir(tmp_path / "out")) == ["0001.png", "0002.png"]
    monkeypatch.setattr(cli_video.FrameProgress, "frame_done", frame_done)
    given = []
    optimised_frames = video.optimised_frames

    def recorded(*args, previous, **kwargs):
        given.extend(previous)
        return optimised_frames(*args, previous=previous, **kwargs)

    monkeypatch.setattr(video, "optimised_frames", recorded)
    result = run_cli([*args, "--resume"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "resuming after frame 2" in result.stdout and "frame 3/4: 2 steps" in result.stdout
    assert "temporal" in result.stdout.split("frame 3/4")[1].splitlines()[0]
    assert sorted(os.listdir(tmp_path / "out")) == ["0001.png", "0002.png", "0003.png", "0004.png"]
    # Held to the two frames before (--held_frames=1,2): both given back, oldest first.
    assert len(given) == 2
    for (photo, result_image), number in zip(given, (1, 2), strict=True):
        np.testing.assert_allclose(photo, photos[number - 1], atol=1 / 255)
        written = np.asarray(Image.open(tmp_path / "out" / f"{number:04d}.png"), np.float32)[None] / 255
        np.testing.assert_array_equal(result_image, written)


def test_the_bundled_steady_networks_flicker_less_than_the_plain_one():
    """starry_wave_steady (starry_wave trained on with the motion term) and starry_wave_quarter (a
    quarter-width network taught by it: training.py, departure 11) on a sub-pixel pan over the
    bundled sample: E_warp well under the plain network's (0.33x and 0.3-0.4x on
    benchmarks/video.py's pan); the quarter network's frames near its teacher's (a quarter-width
    network of random weights: 16x as far)."""
    from style_transfer import images, networks, transformer, video
    from style_transfer.samples import SAMPLE_CONTENT

    photo = images.load_image(SAMPLE_CONTENT)  # [1, 300, 451, 3]
    boxes = [[0.1, 0.05 + 0.012 * t, 0.9, 0.75 + 0.012 * t] for t in range(5)]  # 2.7 px a frame at 160x96
    clip = [tf.image.crop_and_resize(photo, [box], [0], (96, 160)).numpy() for box in boxes]
    pairs = [flow.frame_flows(a, b) for a, b in zip(clip[:-1], clip[1:], strict=True)]
    flows, masks = [f for f, _ in pairs], [m for _, m in pairs]
    names = ("starry_wave", "starry_wave_steady", "starry_wave_quarter")
    results = {name: list(video.network_frames(clip, networks.load_network(name)[0])) for name in names}
    plain, steady, quarter = (quality.warping_error(results[name], flows, masks) for name in names)
    for name in names[1:]:
        assert networks.read_header(name)["paintings"] == networks.read_header("starry_wave")["paintings"]
    assert networks.read_header("starry_wave_quarter")["width"] == 0.25
    assert steady < 0.6 * plain, (steady, plain)
    assert quarter < 0.6 * plain, (quarter, plain)
    taught = np.mean([np.mean((q - s) ** 2) for q, s in zip(results[names[2]], results[names[1]], strict=True)])
    random = video.network_frames(clip, transformer.build(0.25, 2, seed=0))
    untaught = np.mean([np.mean((q - s) ** 2) for q, s in zip(random, results[names[1]], strict=True)])
    assert taught < 0.2 * untaught, (taught, untaught)


def test_network_smoothing_mixes_in_the_previous_result_where_it_is_trusted():
    """video.smoothed (departure 10): on a still shot the result is exactly (1 - s) x the network's +
    s x the previous result; on a 2 px pan, the previous result moved 2 px (numpy) inside the frame
    and the network's own where the picture came into view; across a cut the network's stands."""
    from style_transfer import video

    frames = pan(2, dx=2)
    ours, before = texture(seed=5), texture(seed=6)  # the network's result for frame 1, and frame 0's
    still = video.smoothed((frames[0], before), frames[0], ours, 0.5)
    np.testing.assert_allclose(still, 0.5 * ours + 0.5 * before, atol=1e-5)
    panned = video.smoothed((frames[0], before), frames[1], ours, 0.5)
    moved = np.roll(before, -2, axis=2)  # frame 1 (y, x) shows frame 0 (y, x + 2)
    expected = 0.5 * ours + 0.5 * moved
    np.testing.assert_allclose(panned[:, 4:-4, 4:-8], expected[:, 4:-4, 4:-8], atol=0.01)
    assert np.abs(panned[:, 4:-4, 4:-8] - expected[:, 4:-4, 4:-8]).mean() < 0.001
    np.testing.assert_allclose(panned[:, :, -2:], ours[:, :, -2:], atol=1e-6)  # came into view: not trusted
    cut = video.smoothed((texture(seed=9), before), frames[1], ours, 0.5)
    assert np.abs(cut - ours).mean() < 0.1 * np.abs(expected - ours).mean()


def test_network_smoothing_makes_a_network_steadier():
    """network_frames with smoothing: a random network on a 2 px pan (its stride is 4, so its strokes
    jump) flickers much less (E_warp: 0.16x); 0 is the plain pass; a `previous` frame smooths the first."""
    from style_transfer import transformer, video

    clip = pan(5, dx=2)
    pairs = [flow.frame_flows(a, b) for a, b in zip(clip[:-1], clip[1:], strict=True)]
    flows, masks = [f for f, _ in pairs], [m for _, m in pairs]
    network = transformer.build(0.25, 1, seed=0)
    plain = list(video.network_frames(clip, network))
    unsmoothed = list(video.network_frames(clip, network, smoothing=0.0))
    smooth = list(video.network_frames(clip, network, smoothing=0.5))
    for a, b in zip(plain, unsmoothed, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(smooth[0], plain[0])
    error, steady = quality.warping_error(plain, flows, masks), quality.warping_error(smooth, flows, masks)
    assert steady < 0.3 * error, (steady, error)  # 0.16x
    resumed = list(video.network_frames(clip[1:], network, smoothing=0.5, previous=(clip[0], smooth[0])))
    np.testing.assert_allclose(resumed[0], smooth[1], atol=1e-6)


def fractional_pan(frames: int, height: int = 48, width: int = 64) -> list[np.ndarray]:
    """A pan by half a pixel a frame, sampled from a picture at twice the size (no resampling):
    frame t(y, x) = frame 0(y, x + t / 2)."""
    big = texture(2 * height, 2 * width + frames, seed=3)
    return [np.ascontiguousarray(big[:, ::2, t : t + 2 * width : 2]) for t in range(frames)]


def fine_strokes(seed: int, height: int = 48, width: int = 64) -> np.ndarray:
    """A network's result with strokes of 2-4 px (what resampling blurs): float32 [1, H, W, 3]."""
    noise = np.random.default_rng(seed).random((height, width, 3)).astype(np.float32)
    return np.clip(0.5 + 1.5 * (noise - box_blur(noise)), 0, 1)[None]


def box_blur(image: np.ndarray) -> np.ndarray:
    """A 3x3 box blur of [H, W, C] (edges repeated)."""
    padded = np.pad(image, ((1, 1), (1, 1), (0, 0)), mode="edge")
    h, w = image.shape[:2]
    return sum(padded[dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3)) / 9.0


def test_held_paint_is_sampled_once_from_the_frame_that_painted_it(monkeypatch):
    """video.HeldPaint (departure 12) on a pan of half a pixel a frame (its flow given exactly, DIS's
    error aside), the network giving other strokes every frame: at frame 2 the paint is frame 0's
    moved one whole pixel (numpy's roll), sampled once, not blurred by two half-pixel carries (as
    smoothing's carry, chained, is); where it came into view the network's own result stands; with
    3 slots, taken over from frame 3 on, frame 0's paint is still sampled once at frame 4 (2 px:
    its roll again), as only the least used slots are taken over; on a still shot (DIS's flows) the
    paint is frame 0's."""
    from style_transfer import video

    frames = fractional_pan(5)
    results = [fine_strokes(seed) for seed in range(5)]
    still = video.HeldPaint()
    for result in results:
        last = still(frames[0], result)
    np.testing.assert_allclose(last, results[0], atol=1e-5)

    xs = np.mgrid[0:48, 0:64][1]
    half_pixel = np.stack([np.full((48, 64), 0.5), np.zeros((48, 64))], -1).astype(np.float32)
    monkeypatch.setattr(flow, "frame_flows", lambda before, now: (half_pixel, (xs + 0.5 <= 63).astype(np.float32)))
    monkeypatch.setattr(video, "HELD_RESULTS", 3)
    held = video.HeldPaint()
    shown = [held(photo, result) for photo, result in zip(frames, results, strict=True)]
    np.testing.assert_array_equal(shown[0], results[0])
    expected = np.roll(results[0], -1, axis=2)  # frame 2 (y, x) shows frame 0 (y, x + 1)
    inside = (slice(None), slice(None), slice(4, -4))
    error = np.abs(shown[2] - expected)[inside].mean()
    chained = results[0]
    for before, photo, result in zip(frames[:2], frames[1:3], results[1:3], strict=True):
        chained = video.smoothed((before, chained), photo, result, 1.0)  # carried anew each frame
    assert error < 1e-3 and error < 0.05 * np.abs(chained - expected)[inside].mean(), error
    np.testing.assert_allclose(shown[2][:, :, -1:], results[2][:, :, -1:], atol=1e-6)  # came into view
    assert np.abs(shown[4] - np.roll(results[0], -2, axis=2))[:, :, 4:-6].mean() < 1e-3


def test_network_hold_steadies_a_network():
    """network_frames with hold: a random network on a 2 px pan (its stride is 4, so its strokes
    jump) flickers far less than its plain pass; the first frame is the plain pass's; a `previous`
    frame is held from; not with smoothing."""
    from style_transfer import transformer, video

    clip = pan(6, dx=2)
    pairs = [flow.frame_flows(a, b) for a, b in zip(clip[:-1], clip[1:], strict=True)]
    flows, masks = [f for f, _ in pairs], [m for _, m in pairs]
    network = transformer.build(0.25, 1, seed=0)
    plain = list(video.network_frames(clip, network))
    held = list(video.network_frames(clip, network, hold=True))
    np.testing.assert_array_equal(held[0], plain[0])
    error, steady = quality.warping_error(plain, flows, masks), quality.warping_error(held, flows, masks)
    assert steady < 0.3 * error, (steady, error)
    resumed = list(video.network_frames(clip[1:], network, hold=True, previous=(clip[0], held[0])))
    np.testing.assert_allclose(resumed[0], held[1], atol=1e-5)
    with pytest.raises(ValueError, match="give one"):
        next(video.network_frames(clip, network, smoothing=0.5, hold=True))


def zoom_flow(zoom: float, height: int = 80, width: int = 96) -> np.ndarray:
    """The backward flow [H, W, 2] of a camera zooming in by `zoom` about the frame's centre: frame
    t's pixel (y, x) was at centre + (p - centre) / zoom in frame t-1."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    cy, cx = (height - 1) / 2, (width - 1) / 2
    return np.stack([(xs - cx) * (1 / zoom - 1), (ys - cy) * (1 / zoom - 1)], -1).astype(np.float32)


def turn_flow(degrees: float, height: int = 80, width: int = 96) -> np.ndarray:
    """The backward flow [H, W, 2] of a picture turned by `degrees` about the frame's centre (x
    right, y down): frame t's pixel p was at centre + R(-degrees) (p - centre) in frame t-1."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    cy, cx = (height - 1) / 2, (width - 1) / 2
    cos, sin = np.cos(np.deg2rad(degrees)), np.sin(np.deg2rad(degrees))
    there_x = cos * (xs - cx) + sin * (ys - cy) + cx
    there_y = -sin * (xs - cx) + cos * (ys - cy) + cy
    return np.stack([there_x - xs, there_y - ys], -1).astype(np.float32)


def test_the_camera_motion_is_fitted_to_the_flow_and_a_moving_object_does_not_count():
    """flow.camera_motion (log zoom + 1j turn): an exact 3 % zoom-in gives log 1.03, a zoom-out
    -log 1.03, a pan 0 (a similarity's scale and angle, not its shift), a 3 degree turn 3 degrees
    in radians (and a zoom with it both); an object a quarter of the frame moving its own way (a
    5 px shift there) leaves the camera's motion; with nothing reliable, 0."""
    everywhere = np.ones((80, 96), np.float32)
    assert flow.camera_motion(zoom_flow(1.03), everywhere) == pytest.approx(np.log(1.03), abs=1e-4)
    assert flow.camera_motion(zoom_flow(1 / 1.03), everywhere) == pytest.approx(-np.log(1.03), abs=1e-4)
    shift = np.broadcast_to(np.float32([2.5, -1.0]), (80, 96, 2))
    assert flow.camera_motion(np.array(shift), everywhere) == pytest.approx(0, abs=1e-4)
    assert flow.camera_motion(turn_flow(3.0), everywhere) == pytest.approx(np.deg2rad(3.0) * 1j, abs=1e-4)
    assert flow.camera_motion(turn_flow(-3.0), everywhere) == pytest.approx(-np.deg2rad(3.0) * 1j, abs=1e-4)
    both = turn_flow(3.0) + zoom_flow(1.03)  # to first order, the two composed
    assert flow.camera_motion(both, everywhere) == pytest.approx(np.log(1.03) + np.deg2rad(3.0) * 1j, abs=2e-3)
    moving = zoom_flow(1.03)
    moving[:40, :48] += np.float32([5.0, 0.0])
    assert flow.camera_motion(moving, everywhere) == pytest.approx(np.log(1.03), abs=1e-3)
    assert flow.camera_motion(zoom_flow(1.03), np.zeros((80, 96), np.float32)) == 0


def test_carried_paint_the_camera_zoomed_or_turned_too_far_is_painted_anew_a_patch_at_a_time(monkeypatch):
    """Departure 13: carry_previous on a 3 %-a-frame zoom (its flow given exactly, the photo flat
    so the trust is the zoom's alone), each Carried's age and motion fed to the next frame's as
    optimised_frames does: up to a 10 % zoom every pixel is trusted; paint the camera has zoomed
    past the pixel's limit is not (nor does a frame further back cover it, so departure 6 paints it,
    and the frame is no cut), a patch at a time, never 60 % of the frame at once, 97 % of it by the
    time the zoom passes 25 % (not lines where patches painted at different frames meet: the zoom
    is carried bilinearly); painted anew, it is trusted the next frame. A turn of 2 degrees a frame
    alike (the limits of |log zoom + 1j turn|, 0.10-0.25: 6-14 degrees). A still shot trusts every
    pixel throughout. optimised_frames hands each frame's zoom and turn on to the next."""
    from style_transfer import video
    from style_transfer.config import Config, VideoConfig

    photo, result = np.full((1, 80, 96, 3), 0.5, np.float32), np.full((1, 80, 96, 3), 0.3, np.float32)
    everywhere = np.ones((80, 96), np.float32)

    def clip_of(backward: np.ndarray) -> list[np.ndarray]:  # [H, W]: where each frame 1-12 paints anew
        monkeypatch.setattr(flow, "frame_flows", lambda before, now: (backward, everywhere))
        accumulated = age = motion = None
        anew = []
        for _ in range(12):
            carried = video.carry_previous((photo, result), photo, accumulated, [(photo, result)], age, motion)
            accumulated, age, motion = carried.accumulated, carried.age, carried.motion
            assert carried.shot > video.SCENE_CUT
            anew.append(carried.trust[0, ..., 0] < 0.5)
        return anew

    for backward, step in ((zoom_flow(1.03), np.log(1.03)), (turn_flow(2.0), np.deg2rad(2.0))):
        anew = clip_of(backward)
        moved = [step * t for t in range(1, 13)]  # the modulus of log zoom + 1j turn since frame 0
        for t in range(12):
            if moved[t] < video.CARRIED_ZOOM[0]:
                assert not anew[t].any(), t
        passed = next(t for t in range(12) if moved[t] > video.CARRIED_ZOOM[1])
        assert np.logical_or.reduce(anew[: passed + 1]).mean() > 0.97
        shares = [float(a.mean()) for a in anew]
        assert max(shares) < 0.6 and sum(shares) > 1.0, shares
        assert all(float((a & b).mean()) < 0.01 for a, b in zip(anew[:-1], anew[1:], strict=True))
    assert not np.logical_or.reduce(clip_of(zoom_flow(1.0))).any()

    seen = []
    carry_previous = video.carry_previous
    monkeypatch.setattr(video, "carry_previous", lambda *args: seen.append(args[5]) or carry_previous(*args))
    monkeypatch.setattr(flow, "frame_flows", lambda before, now: (zoom_flow(1.03, 48, 64), np.ones((48, 64))))
    config = Config(network="vgg16", weights="none", steps=2, max_size=64, scales=1)
    settings = VideoConfig(later_steps=2, moved_steps=2)
    list(video.optimised_frames([texture(seed=1)] * 3, [texture(32, 32, seed=9)], config, settings))
    assert seen[0] is None and np.median(seen[1].real) == pytest.approx(np.log(1.03), abs=1e-3)


def test_held_paint_the_camera_zoomed_too_far_is_painted_anew_a_patch_at_a_time(monkeypatch):
    """HeldPaint on a 3 %-a-frame zoom (its flow given exactly, the photo flat so the trust is the
    zoom's alone), each frame's result a flat colour that names the frame: up to a 7 % zoom every
    pixel shows frame 0's paint; past 17 % none does (but for Lanczos' ringing where patches of
    two frames' paint meet); between, the frame is repainted in patches over several frames, never
    more than 60 % of it in one (one limit for the frame would repaint it whole at once); a still
    shot holds frame 0's paint throughout."""
    from style_transfer import video

    photo = np.full((1, 80, 96, 3), 0.5, np.float32)
    results = [np.full((1, 80, 96, 3), (t / 16, 0.5, 0.5), np.float32) for t in range(9)]
    monkeypatch.setattr(flow, "frame_flows", lambda before, now: (zoom_flow(1.03), np.ones((80, 96), np.float32)))
    held = video.HeldPaint()
    painted_at = [np.rint(held(photo, result)[0, ..., 0] * 16) for result in results]  # [H, W]: by which frame
    zoomed = [np.log(1.03) * t for t in range(9)]
    for t in range(9):
        if zoomed[t] < video.HELD_ZOOM[0]:
            assert (painted_at[t] == 0).all(), t
        if zoomed[t] > video.HELD_ZOOM[1]:
            assert (painted_at[t] == 0).mean() < 0.005, t
    repainted = [float((painted_at[t] == t).mean()) for t in range(1, 9)]  # the share painted anew
    assert max(repainted) < 0.6 and sum(repainted) > 1.0, repainted

    monkeypatch.setattr(flow, "frame_flows", lambda before, now: (zoom_flow(1.0), np.ones((80, 96), np.float32)))
    still = video.HeldPaint()
    for result in results:
        last = still(photo, result)
    np.testing.assert_allclose(last, results[0], atol=1e-5)
    # A turn is held: departure 12 follows the camera's zoom alone (docs/video.md, "A turn").
    monkeypatch.setattr(flow, "frame_flows", lambda before, now: (turn_flow(3.0), np.ones((80, 96), np.float32)))
    turned = video.HeldPaint()
    assert all((np.rint(turned(photo, result)[0, 20:60, 24:72, 0] * 16) == 0).all() for result in results)
