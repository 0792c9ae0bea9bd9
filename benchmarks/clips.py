"""Synthetic clips whose motion is known, made from photos (benchmarks/video.py; its tests).

Frames are float32 RGB [1, h, w, 3] in [0, 1]: windows of a photo resampled bilinearly.
"""

from __future__ import annotations

import numpy as np


def window(photo: np.ndarray, top: float, left: float, height: float, width: float, size) -> np.ndarray:
    """The window [top, left, height, width] (pixels of `photo`, may be fractional) resized to
    `size` (h, w): float32 [1, h, w, 3]."""
    import tensorflow as tf

    full_h, full_w = photo.shape[1:3]
    box = [[top / full_h, left / full_w, (top + height) / full_h, (left + width) / full_w]]
    return tf.image.crop_and_resize(photo, box, [0], size, method="bilinear").numpy().astype(np.float32)


def synthetic_clip(kind: str, frames: int, size, photo: np.ndarray, photo2: np.ndarray) -> list[np.ndarray]:
    """A clip of `frames` frames of `size` (h, w): "pan" (the window moves 1.5 % of its width a
    frame), "zoom" (it shrinks 2 % a frame about the centre), "fade" (photo to photo2), "cut" (a pan
    over photo, then one over photo2) or "object" (a still shot of photo, an ellipse cut from photo2
    moving across it 2.5 % of the width a frame: what it uncovers and covers are occlusions) or
    "return" (a long clip: a pan over 30 % of the width and back, 4 px a frame at 320 px wide with
    49 frames, so the last frame shows the first's view: drift over a clip) or "turn" (the window
    turns 1 degree a frame about the photo's centre, its diagonal within the photo's shorter side,
    so it never leaves the photo: a camera's roll)."""
    height, width = size
    full_h, full_w = photo.shape[1:3]
    scale = min(full_h / height, full_w / (width * 1.3))  # a window of the frame's shape with room to pan
    win_h, win_w = height * scale, width * scale
    top, left = (full_h - win_h) / 2, (full_w - win_w * 1.3) / 2
    if kind == "pan":
        return [window(photo, top, left + t * 0.015 * win_w, win_h, win_w, size) for t in range(frames)]
    if kind == "return":
        half = max(1, (frames - 1) // 2)
        return [
            window(photo, top, left + min(t, 2 * half - t) * 0.3 / half * win_w, win_h, win_w, size)
            for t in range(frames)
        ]
    if kind == "zoom":
        out = []
        for t in range(frames):
            f = 0.98**t
            out.append(window(photo, top + win_h * (1 - f) / 2, left + win_w * (1 - f) / 2, win_h * f, win_w * f, size))
        return out
    if kind == "cut":  # a pan over the photo, then a cut to a pan over the second photo
        other = synthetic_clip("pan", frames, size, photo2, photo)
        return synthetic_clip("pan", frames, size, photo, photo2)[: frames // 2] + other[frames // 2 :]
    if kind == "fade":
        a = window(photo, top, left, win_h, win_w, size)
        b_h, b_w = photo2.shape[1:3]
        s2 = min(b_h / height, b_w / width)
        b = window(photo2, (b_h - height * s2) / 2, (b_w - width * s2) / 2, height * s2, width * s2, size)
        return [a + (b - a) * t / max(1, frames - 1) for t in range(frames)]
    if kind == "object":
        background = window(photo, top, left, win_h, win_w, size)
        o_h, o_w = height // 2, width // 3  # the object: the middle of photo2, in an ellipse
        b_h, b_w = photo2.shape[1:3]
        s2 = min(b_h / o_h, b_w / o_w) * 0.7
        thing = window(photo2, (b_h - o_h * s2) / 2, (b_w - o_w * s2) / 2, o_h * s2, o_w * s2, (o_h, o_w))[0]
        ys, xs = np.mgrid[0:o_h, 0:o_w] + 0.5
        inside = ((ys - o_h / 2) / (o_h / 2)) ** 2 + ((xs - o_w / 2) / (o_w / 2)) ** 2 <= 1.0
        out = []
        for t in range(frames):
            frame = background.copy()
            y, x = (height - o_h) // 2, round(width * (0.1 + 0.025 * t))  # whole pixels: no resampling
            shown = min(o_w, width - x)  # the object leaves the frame on the right
            if shown > 0:
                frame[0, y : y + o_h, x : x + shown][inside[:, :shown]] = thing[:, :shown][inside[:, :shown]]
            out.append(frame)
        return out
    if kind == "turn":
        from style_transfer import flow

        fit = min(full_h, full_w) / np.hypot(height, width)  # photo pixels a frame pixel
        ys, xs = np.mgrid[0:height, 0:width] + 0.5
        dy, dx = (ys - height / 2) * fit, (xs - width / 2) * fit  # from the frame's centre, in the photo
        out = []
        for t in range(frames):
            cos, sin = np.cos(np.radians(t)), np.sin(np.radians(t))
            x, y = full_w / 2 + cos * dx - sin * dy - 0.5, full_h / 2 + sin * dx + cos * dy - 0.5
            out.append(flow.sample(photo[0], x, y, "bilinear")[None].astype(np.float32))
        return out
    raise ValueError(f"unknown clip {kind!r}: pan, zoom, fade, cut, object, return or turn")
