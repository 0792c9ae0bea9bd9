"""Optical flow between frames, where it can be trusted, and warping an image along it.

After M. Ruder, A. Dosovitskiy and T. Brox, "Artistic style transfer for videos" (GCPR 2016) and
"... and spherical images" (IJCV 2018).

Conventions (OpenCV's): a flow from frame a to frame b is float32 [H, W, 2], (dx, dy) per pixel
of a, such that a(y, x) ~ b(y + dy, x + dx). To bring frame t-1 (or its stylisation) onto frame
t's pixels, sample it along the flow from t to t-1 (`backward` below): warp(x_{t-1}, flow(t -> t-1)).

- `optical_flow`: OpenCV's DIS flow (Kroeger et al. 2016; `opencv-python-headless`, the `video`
  extra) on the frames' luma, in numpy.
- `reliable`: Ruder et al.'s mask c in [0, 1] [H, W]: 0 where the forward and backward flows
  disagree (occlusions: a pixel of t that t-1 did not show), at motion boundaries, and where the
  flow leads out of the frame; 1 elsewhere.
- `warp`: bilinear (or bicubic) sampling in TensorFlow, differentiable with respect to the image,
  so a loss on the warped image trains a network or moves the optimised pixels.
- `carry`: the same sampling in numpy through OpenCV, for what is carried with no gradient (the
  earlier results and photos video.py brings onto a frame, the mask's forward flow).

Departure 1: the paper computes DeepFlow or EpicFlow; DIS (the "medium" preset) is a fraction of
their cost and ships in OpenCV's wheel. Its flows are less accurate at large motions, which the
mask then leaves out more often.

Departure 2: what is carried with no gradient (`carry`) goes through OpenCV's remap, 24x faster
than the same warp in TensorFlow: its positions are rounded to 1/32 px (remap's fixed point) and
its bicubic kernel is Keys' with a = -0.75 (warp's: -0.5), a little sharper.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import tensorflow as tf

# Ruder et al. 2016, section 3.2: occlusion where |w~ + w^|^2 > 0.01 (|w~|^2 + |w^|^2) + 0.5;
# motion boundary where |grad u^|^2 + |grad v^|^2 > 0.01 |w^|^2 + 0.002.
OCCLUSION = (0.01, 0.5)
BOUNDARY = (0.01, 0.002)


def _luma8(frame: np.ndarray) -> np.ndarray:
    """float [1, H, W, 3] in [0, 1] -> uint8 [H, W] luma (quality.luma), as OpenCV's flow takes it."""
    from style_transfer import quality

    luma = quality.luma_numpy(frame)[0, ..., 0]
    return np.asarray(np.round(np.clip(luma, 0, 1) * 255), np.uint8)


def _cv2() -> Any:
    """OpenCV (the `video` extra), or the package's error saying how to install it."""
    try:
        import cv2
    except ImportError:
        from style_transfer.video_files import VideoError

        raise VideoError("optical flow needs OpenCV: pip install 'style_transfer[video]'") from None
    return cv2


def optical_flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Flow from frame a to frame b (float [1, H, W, 3] each) -> float32 [H, W, 2] (dx, dy)."""
    return _dis(_luma8(a), _luma8(b))


def _dis(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """optical_flow on the frames' uint8 luma [H, W] -> float32 [H, W, 2]."""
    cv2 = _cv2()
    # OpenCV's stubs do not list it; where they do, the ignore is unused.
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)  # type: ignore[attr-defined,unused-ignore]
    return dis.calc(a, b, None).astype(np.float32)


def warp(image: tf.Tensor, flow, interpolation: str = "bilinear") -> tf.Tensor:
    """Sample image float32 [N, H, W, C] at (y + dy, x + dx) for each pixel, with flow [H, W, 2]
    or [N, H, W, 2] (dx, dy); positions outside are clamped to the border (the mask leaves them
    out). -> float32 [N, H, W, C]. interpolation: "bilinear" (the 2x2 pixels around), or "bicubic"
    (the 4x4, Keys' kernel with a = -0.5: it reproduces quadratics exactly and keeps more of the
    detail a fractional shift blurs, e.g. 0.88 of a 4-pixel period's amplitude at half a pixel
    against bilinear's 0.71; it may overshoot [0, 1] at edges)."""
    if interpolation not in ("bilinear", "bicubic"):
        raise ValueError(f"interpolation must be bilinear or bicubic, not {interpolation!r}")
    image = tf.convert_to_tensor(image, tf.float32)
    flow = tf.convert_to_tensor(flow, tf.float32)
    if flow.shape.rank == 3:
        flow = flow[None]
    batch, height, width = tf.shape(image)[0], tf.shape(image)[1], tf.shape(image)[2]
    flow = tf.broadcast_to(flow, tf.stack([batch, height, width, 2]))
    ys, xs = tf.meshgrid(tf.range(height, dtype=tf.float32), tf.range(width, dtype=tf.float32), indexing="ij")
    x = tf.clip_by_value(xs + flow[..., 0], 0.0, tf.cast(width - 1, tf.float32))  # [N, H, W]
    y = tf.clip_by_value(ys + flow[..., 1], 0.0, tf.cast(height - 1, tf.float32))
    x0, y0 = tf.floor(x), tf.floor(y)
    fx, fy = x - x0, y - y0  # [N, H, W] in [0, 1)
    x0, y0 = tf.cast(x0, tf.int32), tf.cast(y0, tf.int32)
    n = tf.broadcast_to(tf.range(batch)[:, None, None], tf.shape(x0))
    if interpolation == "bicubic":
        return _bicubic(image, n, y0, x0, fy, fx)
    x1, y1 = tf.minimum(x0 + 1, width - 1), tf.minimum(y0 + 1, height - 1)
    fx, fy = fx[..., None], fy[..., None]  # [N, H, W, 1]

    def at(yy, xx):
        return tf.gather_nd(image, tf.stack([n, yy, xx], axis=-1))

    top = at(y0, x0) * (1 - fx) + at(y0, x1) * fx
    bottom = at(y1, x0) * (1 - fx) + at(y1, x1) * fx
    return top * (1 - fy) + bottom * fy


def pointed_to(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each pixel's flow [H, W, 2] points: x, y float32 [H, W], pixel units, not clamped."""
    ys, xs = pixel_grid(*flow.shape[:2])
    return xs + flow[..., 0], ys + flow[..., 1]


@functools.lru_cache(maxsize=4)
def pixel_grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Each pixel's own y and x, float32 [H, W] each, read-only: made once a frame size (a clip's
    frames each need it several times; ~1.5 ms at 640x360)."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    ys.flags.writeable = xs.flags.writeable = False
    return ys, xs


def carry(image: np.ndarray, flow: np.ndarray, interpolation: str = "bilinear") -> np.ndarray:
    """warp() for what is carried outside a gradient (video.py's earlier results and photos, the
    mask's forward flow), in numpy: OpenCV's remap, 24x faster than the compiled TF warp (3.5
    against 85 ms bicubic for two 640x360 images on a 2-core Zen 4). image: float32 [N, H, W, C],
    C <= 4; flow [H, W, 2] -> float32 [N, H, W, C]. Departure 2: positions rounded to 1/32 px,
    and "bicubic" is Keys' kernel with a = -0.75 (0.97 of a 4-pixel period's amplitude at half a
    pixel against warp's 0.88); on a photo it differs from warp() by about 0.001 (mean), 0.02 at
    most."""
    if interpolation not in ("bilinear", "bicubic"):
        raise ValueError(f"interpolation must be bilinear or bicubic, not {interpolation!r}")
    image = np.asarray(image, np.float32)
    flow = np.asarray(flow, np.float32)
    if image.ndim != 4 or not 1 <= image.shape[-1] <= 4 or image.shape[1:3] != flow.shape[:2]:
        raise ValueError(f"carry takes images [N, H, W, 1-4] and a flow [H, W, 2], not {image.shape} and {flow.shape}")
    height, width = flow.shape[:2]
    x, y = pointed_to(flow)
    x, y = np.clip(x, 0, width - 1), np.clip(y, 0, height - 1)  # clamped to the border, as warp()
    return np.stack([sample(one, x, y, interpolation) for one in image])


def sample(image: np.ndarray, x: np.ndarray, y: np.ndarray, interpolation: str = "bicubic") -> np.ndarray:
    """An image float32 [H', W', C] (C <= 4) sampled at positions x, y float32 [H, W] (pixels,
    clamped to its border) through OpenCV's remap -> float32 [H, W, C]. "lanczos": Lanczos' 8x8
    kernel (all of a 3-pixel period's amplitude at half a pixel, where "bicubic" keeps 0.78: what
    video.py's held paint, sampled once, needs; its ringing would pile up in a carry made frame
    after frame)."""
    cv2 = _cv2()
    kinds = {"bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC, "lanczos": cv2.INTER_LANCZOS4}
    if interpolation not in kinds:
        raise ValueError(f"interpolation must be one of {sorted(kinds)}, not {interpolation!r}")
    image = np.ascontiguousarray(image, np.float32)
    x, y = np.asarray(x, np.float32), np.asarray(y, np.float32)
    moved = cv2.remap(image, x, y, kinds[interpolation], borderMode=cv2.BORDER_REPLICATE)
    return moved.reshape(*x.shape, image.shape[-1])


def _bicubic(image: tf.Tensor, n: tf.Tensor, y0: tf.Tensor, x0: tf.Tensor, fy: tf.Tensor, fx: tf.Tensor) -> tf.Tensor:
    """warp's bicubic sampling: each pixel's 4x4 neighbourhood from (y0 - 1, x0 - 1) on, the border
    repeated (one gather of 16 pixels, not 16 gathers), weighted by Keys' kernel. n, y0, x0 int32
    and fy, fx float32 [N, H, W]; image float32 [N, H, W, C] -> float32 [N, H, W, C]."""
    height, width, channels = tf.shape(image)[1], tf.shape(image)[2], tf.shape(image)[3]
    rows = tf.concat([image[:, :1], image, image[:, -1:], image[:, -1:]], axis=1)  # [N, H + 3, W, C]
    padded = tf.concat([rows[:, :, :1], rows, rows[:, :, -1:], rows[:, :, -1:]], axis=2)  # [N, H + 3, W + 3, C]
    around = tf.stack(
        [padded[:, j : j + height, i : i + width] for j in range(4) for i in range(4)], axis=3
    )  # [N, H, W, 16, C]: pixel (y, x)'s rows y - 1 .. y + 2, columns x - 1 .. x + 2
    gathered = tf.gather(tf.reshape(around, [-1, 16, channels]), (n * height + y0) * width + x0)  # [N, H, W, 16, C]
    weights = tf.stack(_keys(fy), -1)[..., :, None] * tf.stack(_keys(fx), -1)[..., None, :]  # [N, H, W, 4, 4]
    return tf.reduce_sum(gathered * tf.reshape(weights, tf.concat([tf.shape(fy), [16, 1]], 0)), axis=3)


def _keys(f: tf.Tensor) -> list[tf.Tensor]:
    """The weights of the taps x0 - 1, x0, x0 + 1, x0 + 2 for a position x0 + f, f in [0, 1) (any
    shape): Keys' cubic convolution kernel (1981, a = -0.5) at distances 1 + f, f, 1 - f, 2 - f."""
    a = -0.5

    def near(t: tf.Tensor) -> tf.Tensor:  # |t| <= 1
        return (a + 2) * t**3 - (a + 3) * t**2 + 1

    def far(t: tf.Tensor) -> tf.Tensor:  # 1 < |t| < 2
        return a * t**3 - 5 * a * t**2 + 8 * a * t - 4 * a

    return [far(1 + f), near(f), near(1 - f), far(2 - f)]


def camera_motion(backward: np.ndarray, reliable: np.ndarray, stride: int = 8) -> complex:
    """How the camera zoomed and turned from frame t-1 to frame t, as one complex number: log zoom
    + 1j * turn (radians; the angle the picture turned, x right and y down). From the similarity
    transform (scale, turn, shift) that takes frame t's pixels to where the backward flow [H, W, 2]
    puts them in t-1, fitted by RANSAC (OpenCV) to every `stride`-th pixel where `reliable` [H, W]
    is set, so a moving object does not count. Its modulus is how far t-1's paint is from its own
    size and angle in t (in log zoom, a real part > 0: magnified; in radians); sums of it compose;
    0 for a pan, a still shot, or too few reliable pixels to fit."""
    cv2 = _cv2()
    height, width = backward.shape[:2]
    ys, xs = np.mgrid[stride // 2 : height : stride, stride // 2 : width : stride]
    chosen = np.asarray(reliable)[ys, xs] > 0
    if chosen.sum() < 16:
        return 0j
    here = np.stack([xs[chosen], ys[chosen]], -1).astype(np.float32)  # [P, 2] (x, y) in frame t
    there = here + np.asarray(backward, np.float32)[ys[chosen], xs[chosen]]  # [P, 2]: in frame t-1
    matrix, _ = cv2.estimateAffinePartial2D(here, there, method=cv2.RANSAC, ransacReprojThreshold=1.0)
    if matrix is None:
        return 0j
    # there = scale R(angle) here + shift: the picture was magnified 1 / scale and turned -angle.
    return complex(-np.log(np.hypot(matrix[0, 0], matrix[1, 0])), -np.arctan2(matrix[1, 0], matrix[0, 0]))


def reliable(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Ruder et al.'s consistency mask for frame t -> float32 [H, W] in {0, 1}.

    backward: flow from t to t-1, forward: flow from t-1 to t, both [H, W, 2]. A pixel of t is
    reliable when following the backward flow and then the forward flow brings it back where it
    started (within the paper's tolerance), it is not on a motion boundary, and the backward flow
    stays inside the frame."""
    backward = np.asarray(backward, np.float32)
    forward = np.asarray(forward, np.float32)
    height, width = backward.shape[:2]
    # w~(p) = w(p + w^(p)): the forward flow brought onto frame t's pixels.
    carried = carry(forward[None], backward)[0]
    round_trip = squared_norm(carried + backward)
    scale = squared_norm(carried) + squared_norm(backward)
    occluded = round_trip > OCCLUSION[0] * scale + OCCLUSION[1]
    du_dy, du_dx = np.gradient(backward[..., 0])
    dv_dy, dv_dx = np.gradient(backward[..., 1])
    gradient = du_dx**2 + du_dy**2 + dv_dx**2 + dv_dy**2
    boundary = gradient > BOUNDARY[0] * squared_norm(backward) + BOUNDARY[1]
    x, y = pointed_to(backward)
    outside = (x < 0) | (x > width - 1) | (y < 0) | (y > height - 1)
    return (~(occluded | boundary | outside)).astype(np.float32)


def squared_norm(vectors: np.ndarray) -> np.ndarray:
    """|v|^2 over the last axis: [..., C] -> [...] (flow vectors, a photo's change in RGB). The
    channels added one by one: numpy's sum over a short last axis is ~10x slower."""
    return sum((vectors[..., i] ** 2 for i in range(1, vectors.shape[-1])), vectors[..., 0] ** 2)


def frame_flows(previous: np.ndarray, current: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For frame t (`current`) after t-1 (`previous`), both float [1, H, W, 3]: the flow from t to
    t-1 that warp() needs, [H, W, 2], and the mask of where it is reliable, [H, W]."""
    previous8, current8 = _luma8(previous), _luma8(current)  # each frame's luma once
    backward, forward = _dis(current8, previous8), _dis(previous8, current8)
    return backward, reliable(backward, forward)
