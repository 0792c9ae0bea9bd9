"""Clips: frames -> stylised frames, one after another, each consistent with the last.

After M. Ruder, A. Dosovitskiy and T. Brox, "Artistic style transfer for videos" (GCPR 2016).

Contract: frames are float32 RGB [1, H, W, 3] in [0, 1], all of one size (video_files.py reads
them so); each generator yields the stylised frame of the same shape, in order, as soon as it is
done, so a caller writes it, reports progress and may stop between frames.

- `optimised_frames`: the pixel optimisation (multiscale.stylize) per frame. video_mode
  "temporal": the first frame as a photo (every scale, config.schedule.steps); each later frame
  starts from the previous result warped onto it by the optical flow between the two photos
  (flow.py), paints what that does not cover (departure 6) and runs video.moved_steps to
  video.later_steps steps (departure 8) at the final size with the temporal term
  (objective.Temporal), which holds it to that warped result where the flow is reliable, and
  exactly where the picture did not move or its settled paint moved rigidly (departures 7, 11);
  "independent": every frame as a photo.
- `network_frames`: a trained network per frame (transformer.stylize); a network trained with the
  motion term (training.py, departure 10; the bundled starry_wave_steady) flickers less by itself,
  and video.network_smoothing mixes the previous result carried by the flow into each (this
  module's departure 10, below), or video.network_hold holds each result's paint where the flow
  follows it (departure 12).

`previous` (optimised_frames): the frames done before, oldest first, each (photo, result), so a
resumed run goes on consistent with them (the last max(video.held_frames) are used).

Departures from Ruder et al. 2016:
1. Not their multi-pass algorithm (it multiplies the cost). Their long-term consistency is kept
   (video.held_frames: 1, 2, 4, 8, 16 frames back by default, where their script has 1, 15, 40):
   each pixel is held to the nearest of those earlier results that, carried onto this frame, is
   trusted there; what an occlusion or the frame's edge hid comes back with the paint it had.
2. Later frames run at one size (the final), few steps, from the warped result: it is near its
   answer already, and the coarser scales would start over from the photo.
3. The warped result carries the change in the photo's luma too (as ReCoNet's output loss does,
   Gao et al. 2018): its start and its temporal target are the previous result warped plus the
   luma of this photo less that of the previous photo warped. Without it, a change that is not
   motion (light, a cross-fade) never got through: 20 steps from the previous result kept it
   (docs/video.md).
4. A frame whose flow is reliable on less than SCENE_CUT of its pixels (a cut to another shot)
   starts over as a first frame: no temporal term, every scale.
5. The carried result is trusted at a pixel only as far as the photo there is the previous photo
   moved (CHANGE_TOLERANCE): the temporal term's mask is Ruder et al.'s times that trust, and the
   start is the carried result where trusted, blended towards the photo in the result's colours
   where not. Without it a cross-fade left the first picture's strokes in every later frame.
   A slow change passes that test frame by frame, so the change accumulated since a pixel was
   painted is carried along too, and as it grows past the same tolerance up to REFRESH of the
   pixel is repainted each frame: the first picture's paint fades out over a cross-fade instead of
   staying as a ghost, and no frame repaints it all at once (which would flicker, or read as a cut).
6. What the carried result does not cover (1 - its trust: content coming into view in a pan, what
   an occlusion uncovers, where the flow failed) is first painted at the first frame's last coarser
   scale, video.new_steps steps in which only those pixels move (objective.Temporal.free), then the
   later steps go over the whole frame. At the final size alone, 20 steps left such a region
   smooth, the photo in the painting's colours: the first frame's broad strokes come from its
   coarser scales (docs/video.md). Skipped where that region is under NEW_REGION_MIN of the frame,
   or where the first frame has one scale. Where it is a large share of the frame (NEW_FINAL_SHARE:
   a van crossing the shot uncovers and covers 25-40 % of each frame), it is then painted at the
   final size too, video.new_final_steps steps, still alone: after the coarser pass and the later
   steps alone its fine strokes had half the contrast of a frame alone's (stroke figure 1.27x,
   rising to 1.42x by the twelfth frame), and more later steps over the whole frame instead
   steadied less (they go on optimising the paint carried along) and cost more (docs/video.md).
7. What did not move (the flow from the previous frame under STILL_FLOW: a still shot, the still
   background behind a moving object) is held exactly where trusted: the later steps' gradient is
   multiplied by 1 - that share (objective.Temporal.free), so those pixels keep the previous
   result (with departure 3's light). Without it a still shot's paint went on settling, the
   optimisation going on frame after frame (0.06 RMS from frame 0 after 9 frames, style figure
   1.11x; docs/video.md); the temporal term, even at 10x its weight, did not stop it.
8. A later frame that only moved runs video.moved_steps, fewer than one whose picture changed
   (video.later_steps; between, as Carried.changed goes from CHANGED[0] to CHANGED[1]). Each later
   step also goes on optimising the paint carried along, so with 20 a long moving shot crept from
   its first frame (style figure 1.16x the frames alone's by frame 48 of a return pan); 10 keep it
   steadier and nearer, but a cross-fade's repainted share needs the 20 (docs/video.md).
9. The earlier results (and their photos) are carried onto a frame bicubically (flow.carry, Keys'
   kernel), not bilinearly: a bilinear warp by a fraction of a pixel blurs, and the blur of one
   warp after another piled up faster than the later steps sharpen it again; on a real handheld
   clip (0.3 px a frame) the strokes faded (stroke figure 1.15x the frames alone's; 1.06x so).
11. What moved rigidly is held once its paint has settled: a trusted pixel whose flow is locally a
   translation (its spatial gradient under RIGID_STRETCH px a px: a pan, not a zoom) and whose
   paint has been carried more than SETTLE frames is held exactly, as departure 7 holds what did
   not move. Each later frame's steps went on optimising all the paint carried along, and what
   came into view, painted a strip at a time, lost its strokes to them frame after frame: on a
   49-frame pan out and back the style figure reached 1.14x the frame alone's at the end, 1.15x
   from the strip that came back into view alone (docs/video.md). The first SETTLE frames let a new
   strip's strokes join its neighbours'.
13. Paint the camera has zoomed or turned by more than a limit since it was painted is painted
   anew, as departure 12 does for a network's zoom: each pixel's log zoom + 1j turn
   (flow.camera_motion, summed) is carried along as its age is, and where its modulus passes the
   pixel's limit (CARRIED_ZOOM, in patches) the carried result is not trusted (nor are the frames
   further back), so departure 6 paints it as a region come into view. Carried paint moves with
   the picture: over 49 frames of a 2 %-a-frame zoom its strokes grew with it, and of a 1 degree a
   frame turn they went larger and softer (the stroke figure 1.25x and 1.27x the frames alone's;
   docs/video.md).

Departure of the network path (not in Ruder et al.; Bonneel et al. 2015's blind temporal
consistency, as a recursive filter):
10. video.network_smoothing (smoothed): each network result after the first is mixed with the
   previous result carried onto it as a later frame's start is (departures 3, 5, 9), by that share
   times the trust. A network's flicker on a real clip is more than its motion's: with the clip's
   own flow applied to the last frame instead of the next real one, starry_wave_steady flickers
   0.47-0.48x as much as starry_wave, with the real frames 0.60-0.70x (compression and sensor noise,
   the flow's errors). Costs stroke contrast (the average of strokes that moved) and two optical
   flows and a bicubic warp a frame (docs/video.md).
12. video.network_hold (HeldPaint): each network result's paint is held where the flow follows it
   and the photo is the one it was painted on, moved: a pixel shows the paint of the frame that
   last painted it, carried along by the flows composed since and sampled from that frame once
   (Lanczos' kernel), plus the change in the photo's luma since (departure 3); where the trust in
   it falls to REANCHOR or below, this frame's result paints it anew. Smoothing's carry resamples
   every frame's mix again: at the clip's own 640 px a network's fine hatching is near the pixel
   size, and with the share of the carried result at 1 the bicubic carry's blur, frame after frame,
   raised the style figure 1.30x the plain pass's; mixing less of it (0.5) averages strokes that do
   not line up (1.16-1.28x). Sampled once, the held paint keeps the network's strokes (style figure
   0.94-1.05x on a real clip at 640 px) and flickers 0.17-0.45x as much (docs/video.md). Held paint
   moves with the picture: in a zoom its strokes grew with it (over 49 frames of a 2 %-a-frame zoom,
   the style figure 1.38x, the stroke figure 1.52x), so paint the camera has zoomed by more than
   7-17 % since it was painted (a limit that varies over the frame in patches) is painted anew.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from style_transfer import colors, flow, images, multiscale, quality, resample, transformer, vgg
from style_transfer.config import Config, VideoConfig
from style_transfer.geometry import Geometry
from style_transfer.objective import Temporal
from style_transfer.scales import Reuse

# A frame with a reliable flow on less than this share of its pixels is a new shot (departure 4).
SCENE_CUT = 0.5
# Departure 5: the trust in the carried result at a pixel falls linearly from 1 to 0 as the photo
# there differs from the previous photo warped onto it (RMS over RGB, [0, 1] units) from the first
# value (a bilinear warp's own error on fine detail) to the second.
CHANGE_TOLERANCE = (0.02, 0.12)
# Departure 5: the most of a pixel repainted in one frame as the change accumulated since it was
# painted grows past CHANGE_TOLERANCE (0.5 on an 8-frame cross-fade: E_warp 0.20x the per-frame
# result's against 0.13x without, the first picture's ghost gone by the last frame; docs/video.md).
REFRESH = 0.5
# Departure 6: the new region is painted at a coarser scale first when it is at least this share of
# the frame (the mean of 1 - trust); a still clip skips it.
NEW_REGION_MIN = 0.005
# Departure 6: the new region is also painted at the final size, video.new_final_steps steps times
# how far its share of the frame is from the first value to the second (floored: a pan's strip of a
# few percent gets none).
NEW_FINAL_SHARE = (0.05, 0.20)
# Departure 7: a trusted pixel whose flow from the previous frame is under this (px) did not move
# and is held exactly (DIS gives exactly 0 where two frames are the same; a bilinear warp by less
# than this blurs by at most 0.01 px^2 a frame).
STILL_FLOW = 0.01
# Departure 8: a later frame gets video.moved_steps where Carried.changed is up to the first value
# (the pan, zoom, moving object and long pan of docs/video.md: 0.001-0.053 a frame), rising to
# video.later_steps at the second (an 8-frame cross-fade: 0.22-0.41; a 16-frame one 0.035 at its
# second frame, 0.09, 0.14, then 0.18-0.24).
CHANGED = (0.06, 0.18)
# Departure 9: how the earlier results (and their photos) are carried onto a frame (flow.carry).
WARP = "bicubic"
# Departure 11: a trusted pixel whose flow's spatial gradient is under this (px a px; a zoom of 2 %
# a frame has 0.028) moved rigidly, and is held once its paint has been carried more than SETTLE
# frames. DIS's flows put 82-84 % of the 8-frame pan's pixels under it (held from frame 4), and by
# their noise 24-27 % of the zoom's (a prototype's counts; docs/video.md).
RIGID_STRETCH = 0.02
SETTLE = 3
# Departure 12: a pixel whose trust in its held paint falls to this or below is painted anew by this
# frame's result (0.1-0.5 gave the same figures on a real clip; docs/video.md).
REANCHOR = 0.5
# Departure 12: held paint is sampled from at most this many earlier results (the least used beyond
# them is taken over by the newest, resampled once more), kept within HELD_MEMORY bytes (2 at least:
# 8 of 640x360 take 45 MB, of 1920x1080 400 MB; 4K keeps 2).
HELD_RESULTS = 8
HELD_MEMORY = 512 * 2**20
# Departure 12: held paint that the camera's zoom (flow.camera_motion's real part, summed since it
# was painted) has magnified or shrunk by more than a limit is painted anew; the limit (of |log zoom|)
# varies over the frame between these two, in patches of ZOOM_PATCH px, so a zoom repaints a patch
# at a time, not the whole frame at once (49 frames of a 2 %-a-frame zoom: the style figure 1.05x
# the plain pass's against 1.38x held without it, E_warp 0.50x; one limit for the frame, 0.12: a frame
# repainted whole every 7th, 2x the plain pass's E_warp there; docs/video.md).
HELD_ZOOM = (0.07, 0.17)
ZOOM_PATCH = 40
# Departure 13: the same for the optimisation's carried paint, whose later steps go on painting it,
# of |log zoom + 1j turn| (0.10-0.25: a zoom of 10-25 % or a turn of 6-14 degrees). The same zoom,
# against each frame alone, of the zoom alone: stroke figure 1.07x, E_warp 0.14x, 4.3 s a later
# frame; 0.07-0.17: 1.09x, 0.18x, 5.2 s; 0.15-0.35: 1.16x, 0.11x, 3.5 s; no limit: 1.25x, 0.05x,
# 2.6 s; of the zoom and turn (shipped), 1.09x, 0.14x; a 1 degree a frame turn, 1.13x against
# 1.27x with no limit (docs/video.md).
CARRIED_ZOOM = (0.10, 0.25)

# callback(frame, step, terms, image): frame counts from 0 (the clip's), step from 1 within it.
FrameCallback = Callable[[int, int, dict, Any], None]
Previous = tuple[np.ndarray, np.ndarray]  # (photo, result) of the frame before, float32 [1, H, W, 3] each


def optimised_frames(
    frames: Iterable[np.ndarray],
    styles: Sequence[np.ndarray],
    config: Config,
    video: VideoConfig,
    *,
    style_blend_weights: Sequence[float] | None = None,
    extractor: vgg.FeatureExtractor | None = None,
    callback: FrameCallback | None = None,
    previous: Sequence[Previous] = (),
    first_index: int = 0,
    reuse: bool = True,
) -> Iterator[np.ndarray]:
    """Each frame stylised by the optimisation (see the module docstring), in order. reuse: the
    paintings' targets are built once for the clip (scales.Reuse; the same results); False builds
    them for each call. (Every frame runs the steps compiled for the first: compiled.py.)"""
    config, video = config.validate(), video.validate()
    extractor = extractor or vgg.extractor_for(config)
    later = config.replace(scales=1)
    kept = Reuse() if reuse else None
    history = History(max(video.held_frames))
    for done in previous:
        history.add(*done)
    accumulated = None  # the change since each pixel was painted (departure 5); none: all painted now
    age = None  # the frames each pixel's paint has been carried (departure 11); none: all painted now
    motion = None  # the camera's zoom and turn since each pixel was painted (departure 13); none: all painted now
    for index, photo in enumerate(frames, first_index):
        report = None
        if callback is not None:
            report = lambda step, terms, image, index=index: callback(index, step, terms, image)  # noqa: E731
        common: dict[str, Any] = dict(
            style_blend_weights=style_blend_weights, extractor=extractor, callback=report, reuse=kept
        )
        carried = None
        if len(history) and video.video_mode != "independent":
            earlier = [history.back(j) for j in video.held_frames[1:] if j <= len(history)]
            carried = carry_previous(history.back(1), photo, accumulated, earlier, age, motion)
        if carried is None or carried.shot < SCENE_CUT:  # a first frame, or a new shot
            result, accumulated, age, motion = multiscale.stylize(photo, styles, config, **common), None, None, None
        else:
            target, trust, accumulated = carried.start, carried.trust, carried.accumulated
            age, motion = carried.age, carried.motion
            start, painted = paint_new_region(photo, styles, target, trust, config, video, common)
            if painted and report is not None:  # the later steps numbered on from the new region's
                common["callback"] = lambda step, terms, image, r=report, n=painted: r(n + step, terms, image)
            temporal = Temporal(target, trust, video.temporal_weight, free=1.0 - carried.still)  # departures 7, 11
            steps = frame_steps(video, carried.changed)  # departure 8
            result = multiscale.stylize(
                photo, styles, later.replace(steps=steps), init_image=start, temporal=temporal, **common
            )
        history.add(photo, result)
        yield result


def frame_steps(video: VideoConfig, changed: float) -> int:
    """The steps of a later frame (departure 8): video.moved_steps where the picture only moved
    (Carried.changed up to CHANGED[0]), rising linearly to video.later_steps as it changed (from
    CHANGED[0] to CHANGED[1] of what the flow follows not held)."""
    return round(video.moved_steps + float(_ramp(changed, CHANGED)) * (video.later_steps - video.moved_steps))


class History:
    """The last `depth` frames' (photo, result), float32 [1, H, W, 3] each: the newest as given,
    the older ones kept in 8 bits (a quarter of the memory: 16 frames of 512x288 in about 15 MB; the
    output is 8 bits anyway), given back as float32."""

    def __init__(self, depth: int):
        self._frames: collections.deque[tuple[np.ndarray, np.ndarray]] = collections.deque(maxlen=depth)

    def __len__(self) -> int:
        return len(self._frames)

    def add(self, photo: np.ndarray, result: np.ndarray) -> None:
        if self._frames and self._frames[-1][0].dtype != np.uint8:
            newest_photo, newest_result = self._frames[-1]
            self._frames[-1] = (images.to_uint8(newest_photo), images.to_uint8(newest_result))
        self._frames.append((np.asarray(photo, np.float32), np.asarray(result, np.float32)))

    def back(self, frames: int) -> Previous:
        """The (photo, result) `frames` back (1: the newest), float32."""
        photo, result = self._frames[-frames]
        return _from_bytes(photo), _from_bytes(result)


def _from_bytes(image: np.ndarray) -> np.ndarray:
    """A History image as float32 [1, H, W, 3]: the newest as kept, an older one (images.to_uint8's
    uint8 [H, W, 3]) back in [0, 1]."""
    return image if image.dtype != np.uint8 else (image.astype(np.float32) / 255.0)[None]


def paint_new_region(
    photo: np.ndarray,
    styles: Sequence[np.ndarray],
    target: np.ndarray,
    trust: np.ndarray,
    config: Config,
    video: VideoConfig,
    common: dict[str, Any],
) -> tuple[np.ndarray, int]:
    """Departure 6: the start of a later frame, float32 [1, H, W, 3]: the carried result `target`
    with what it does not cover (1 - trust, float32 [1, H, W, 1]) painted at the first frame's last
    coarser scale, then (a large share: final_steps) at the final size, only those pixels moving;
    and the steps that took (0 where skipped)."""
    new = 1.0 - trust
    plan = Geometry.of(config).plan(*photo.shape[1:3])
    share = float(np.mean(new))
    if not video.new_steps or len(plan) < 2 or share < NEW_REGION_MIN:
        return target, 0
    size = plan[-2].size

    def small(image: np.ndarray) -> np.ndarray:
        return resample.to_size(tf.constant(image), size).numpy()

    free = resample.mask_to_size(new, size)  # [1, h, w, 1]: where pixels may move
    assert free is not None
    held = small(target)  # the start at that size, and where the rest is held
    temporal = Temporal(held, 1.0 - free, video.temporal_weight, free=free)
    coarse = config.replace(steps=video.new_steps, scales=1)
    painted = multiscale.stylize(small(photo), styles, coarse, init_image=held, temporal=temporal, **common)
    painted = resample.to_size(tf.constant(painted), photo.shape[1:3]).numpy()
    start = (new * painted + trust * target).astype(np.float32)
    steps = final_steps(video, share)
    if not steps:
        return start, video.new_steps
    callback = common.get("callback")
    if callback is not None:  # numbered on from the coarser pass's steps
        common = {**common, "callback": lambda step, terms, image: callback(video.new_steps + step, terms, image)}
    temporal = Temporal(start, trust, video.temporal_weight, free=new)
    final = config.replace(steps=steps, scales=1)
    painted = multiscale.stylize(photo, styles, final, init_image=start, temporal=temporal, **common)
    return (new * painted + trust * target).astype(np.float32), video.new_steps + steps


def final_steps(video: VideoConfig, share: float) -> int:
    """The new region's steps at the final size (departure 6) where it is `share` of the frame: none
    up to NEW_FINAL_SHARE[0], rising linearly to video.new_final_steps at NEW_FINAL_SHARE[1], floored."""
    return int(video.new_final_steps * float(_ramp(share, NEW_FINAL_SHARE)))


def _ramp(value, bounds: tuple[float, float]):
    """0 up to bounds[0], rising linearly to 1 at bounds[1], 1 beyond (a number or an array)."""
    return np.clip((value - bounds[0]) / (bounds[1] - bounds[0]), 0.0, 1.0)


@dataclasses.dataclass(frozen=True)
class Carried:
    """What the previous result says about this frame (carry_previous)."""

    start: np.ndarray  # float32 [1, H, W, 3] in [0, 1]: where the previous result says this frame should be
    trust: np.ndarray  # float32 [1, H, W, 1] in [0, 1]: how far to hold it there (the temporal term's mask)
    shot: float  # the share of the frame that is an earlier one moved (below SCENE_CUT: a new shot)
    accumulated: np.ndarray  # float32 [1, H, W, 3]: the photo's change since each pixel was painted
    still: np.ndarray  # float32 [1, H, W, 1] in [0, 1]: the share of each pixel held exactly (departures 7, 11)
    changed: float  # the share of what the flow follows that is not held (departure 5): the picture changed
    age: np.ndarray  # float32 [1, H, W, 1]: the frames each pixel's paint has been carried (departure 11)
    motion: np.ndarray  # complex64 [1, H, W, 1]: log zoom + 1j turn since each pixel was painted (departure 13)


def carry_previous(
    previous: Previous,
    photo: np.ndarray,
    accumulated: np.ndarray | None = None,
    earlier: Sequence[Previous] = (),
    age: np.ndarray | None = None,
    motion_before: np.ndarray | None = None,
) -> Carried:
    """The previous result warped onto `photo` by the flow between the two photos, plus the change
    in the photos' luma (departure 3), trusted where the flow is reliable and the photo is the
    previous one moved, less the share repainted as the change since the last painting accumulates
    (departure 5). accumulated: that change as the previous frame's Carried left it (None: none).

    earlier: frames further back (video.held_frames), nearest first (Ruder et al.'s long-term
    consistency, departure 1): each carried onto `photo` alike and taken where no nearer one is
    trusted (their "closest first"), so what an occlusion or the frame's edge hid for a while comes
    back with the paint it had, not painted anew.

    age: the frames each pixel's paint had been carried at the previous frame, as its Carried left
    it (None: none, as after a first frame or on a resumed run: every pixel starts at 1); carried
    along by the flow, 0 where the previous result is not trusted.

    motion_before: how the camera had zoomed and turned since each pixel was painted (log zoom + 1j
    turn, flow.camera_motion's sum) at the previous frame, as its Carried left it (None: none),
    carried the same way; paint zoomed or turned past its limit (CARRIED_ZOOM) is not trusted, from
    this frame or an earlier one (departure 13)."""
    carried, reliable, frame_trust, moved, backward = _warped(previous, photo)
    if accumulated is not None:
        moved = moved + flow.carry(accumulated, backward)
    motion = np.full(frame_trust.shape, flow.camera_motion(backward, reliable[0, ..., 0]), np.complex64)  # this frame's
    if motion_before is not None:  # carried along as the age is, the two parts as two channels
        parts = flow.carry(np.concatenate([motion_before.real, motion_before.imag], -1), backward)
        motion = motion + parts[..., :1] + 1j * parts[..., 1:]
    limit = _zoom_limits(photo.shape[1], photo.shape[2], CARRIED_ZOOM)[None, ..., None]  # [1, H, W, 1]
    within = (np.abs(motion) < limit).astype(np.float32)  # departure 13
    trust = (within * frame_trust * (1.0 - REFRESH * (1.0 - _explained(moved)))).astype(np.float32)
    covered, seen = trust, frame_trust  # how much of each pixel some result covers; and before departure 5's refresh
    painted, change = trust * carried, moved * trust  # sums over the frames, by the share each covers
    for older in earlier:
        carried, _, older_trust, moved, _ = _warped(older, photo)
        share = within * np.clip(older_trust - covered, 0.0, None)  # what no nearer frame covers
        covered, painted, change = covered + share, painted + share * carried, change + share * moved
        seen = np.maximum(seen, older_trust)
    fresh = colors.match_colors_of(tf.constant(photo), tf.constant(previous[1])).numpy()
    start = painted + (1.0 - covered) * fresh
    age = np.where(trust > 0.5, 1.0 if age is None else flow.carry(age, backward) + 1.0, 0.0)
    motion = np.where(trust > 0.5, motion, 0.0).astype(np.complex64)
    rigid = (_stretch(backward) < RIGID_STRETCH)[None, ..., None] & (age > SETTLE)  # departure 11
    still = trust * ((np.linalg.norm(backward, axis=-1)[None, ..., None] < STILL_FLOW) | rigid)
    changed = float(np.mean(reliable * (1.0 - covered)) / max(float(np.mean(reliable)), 1e-6))
    return Carried(
        start.astype(np.float32),
        covered.astype(np.float32),
        float(np.mean(seen)),
        change.astype(np.float32),
        still.astype(np.float32),
        changed,
        age.astype(np.float32),
        motion,
    )


def _stretch(flow_field: np.ndarray) -> np.ndarray:
    """How far a flow [H, W, 2] is from a translation at each pixel: the norm of its spatial
    gradient (central differences), px a px, float32 [H, W]."""
    field = np.asarray(flow_field, np.float32)
    dy, dx = np.asarray(np.gradient(field, axis=0)), np.asarray(np.gradient(field, axis=1))
    return np.sqrt(flow.squared_norm(dy) + flow.squared_norm(dx)).astype(np.float32)


def _warped(previous: Previous, photo: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """An earlier (photo, result) carried onto `photo`: (its result warped by the flow, plus the
    photos' change in luma (departure 3), [1, H, W, 3]; the flow's mask (Ruder et al.'s), [1, H, W,
    1]; the trust in it, that mask times how far the photo is that photo moved (departure 5), [1, H,
    W, 1]; the photo's change the flow does not explain, [1, H, W, 3]; the flow from `photo` to it,
    [H, W, 2])."""
    previous_photo, previous_result = previous
    backward, reliable = flow.frame_flows(previous_photo, photo)
    warped = flow.carry(np.concatenate([previous_result, previous_photo]), backward, WARP)  # departure 9
    change = quality.luma_numpy(photo - warped[1:])  # [1, H, W, 1]: the light, not the motion
    carried = np.clip(warped[:1] + change, 0.0, 1.0)
    # Departure 5: held only as far as the photo itself is the previous one moved; elsewhere the
    # start is the photo in the colours of the result so far, so what the flow cannot explain (a
    # cross-fade, a new object) does not leave a ghost of the earlier picture in every later frame.
    moved = photo - warped[1:]  # [1, H, W, 3]
    mask = reliable[None, ..., None]
    return carried, mask, mask * _explained(moved), moved, backward


def _explained(difference: np.ndarray) -> np.ndarray:
    """1 where a change of the photo (float [1, H, W, 3]) is within a warp's own error, falling to 0
    as its RMS over RGB grows to CHANGE_TOLERANCE[1]: float [1, H, W, 1]."""
    unexplained = np.sqrt(flow.squared_norm(difference)[..., None] / difference.shape[-1])
    return 1.0 - _ramp(unexplained, CHANGE_TOLERANCE)


def network_frames(
    frames: Iterable[np.ndarray],
    network: Any,
    blend: Sequence[float] | None = None,
    smoothing: float = 0.0,
    previous: Previous | None = None,
    hold: bool = False,
) -> Iterator[np.ndarray]:
    """Each frame through a trained network (transformer.stylize's pass), in order. The pass is
    compiled once for the clip (a tf.function: 0.09 s a 640x360 frame against 0.17 s called
    eagerly, half width, on a 2-core Zen 5).

    smoothing (video.network_smoothing, departure 10): each result after the first is mixed with
    the previous one carried onto it by the optical flow, that share of it where the carried one is
    trusted (smoothed). hold (video.network_hold, departure 12): each result's paint is held where
    the flow follows it instead (HeldPaint); not with smoothing. previous: the (photo, result) of the
    frame before the first (a resumed run)."""
    if hold and smoothing:
        raise ValueError("hold and smoothing are two ways to steady a network's frames: give one")
    held = HeldPaint(previous) if hold else None
    weights = transformer.style_weights_for(network, 1, blend)  # [1, S]
    signature = [tf.TensorSpec([1, None, None, 3], tf.float32), tf.TensorSpec([1, network.styles], tf.float32)]
    compiled = tf.function(lambda photo, weights: network(photo, weights), input_signature=signature, autograph=False)
    for photo in frames:
        transformer.check_size(int(photo.shape[1]), int(photo.shape[2]))
        result = compiled(tf.convert_to_tensor(photo, tf.float32), weights).numpy()
        if held is not None:
            result = held(photo, result)
        elif smoothing and previous is not None:
            result = smoothed(previous, photo, result, smoothing)
        previous = (np.asarray(photo, np.float32), result)
        yield result


def smoothed(previous: Previous, photo: np.ndarray, result: np.ndarray, smoothing: float) -> np.ndarray:
    """Departure 10: a network's `result` for `photo` (float32 [1, H, W, 3] each) mixed with the
    previous result carried onto it (as a later frame's start is: departures 3, 5 and 9), by
    `smoothing` times the trust in it at each pixel. Recursive: the previous result is itself
    smoothed, so a stroke's weight halves every frame at 0.5; where the flow is unreliable or the
    photo is not the last one moved (an occlusion, a cut, a cross-fade) the network's result
    stands."""
    carried, _, trust, _, _ = _warped(previous, photo)
    return (result + smoothing * trust * (carried - result)).astype(np.float32)


@functools.lru_cache(maxsize=4)
def _zoom_limits(height: int, width: int, bounds: tuple[float, float]) -> np.ndarray:
    """The limit of |log zoom| (|log zoom + 1j turn|) at each pixel (departures 12, 13), float32 [H, W],
    read-only: random values between `bounds` (seeded: the same for every clip) at every ZOOM_PATCH-th
    pixel, bilinear between. Made once a frame size (carry_previous needs it every frame)."""
    cells = np.random.default_rng(0).uniform(*bounds, (height // ZOOM_PATCH + 2, width // ZOOM_PATCH + 2))
    y, x = np.arange(height) / ZOOM_PATCH, np.arange(width) / ZOOM_PATCH
    y0, x0 = y.astype(int), x.astype(int)
    fy, fx = (y - y0)[:, None], (x - x0)[None, :]
    top = cells[y0][:, x0] * (1 - fx) + cells[y0][:, x0 + 1] * fx
    bottom = cells[y0 + 1][:, x0] * (1 - fx) + cells[y0 + 1][:, x0 + 1] * fx
    limits = (top * (1 - fy) + bottom * fy).astype(np.float32)
    limits.flags.writeable = False
    return limits


class HeldPaint:
    """Departure 12: called with each frame's photo and a network's result for it (float32 [1, H, W,
    3] each, in order) -> the result shown, float32 [1, H, W, 3]: the paint each pixel holds, where
    the trust in it is, mixed by that trust into the network's result. A pixel's paint is where the
    frame that last painted it (one of up to `slots` earlier results) showed it: its position there
    is carried along by each new flow (the nearest pixel's, plus the flow's fraction of a pixel, so
    no position mixes two frames') and the paint sampled from that result once, never resampled
    frame after frame. The trust is Ruder et al.'s mask times how far the photo is the one it was
    painted on, moved (departure 5), and nothing where the camera has zoomed the paint by more than
    the pixel's limit since (HELD_ZOOM); where it is REANCHOR or below, this frame paints the pixel.
    previous: the (photo, result) of the frame before the first (a resumed run), held from."""

    PAD = 4  # rows of each slot's edge repeated above and below it: Lanczos' taps stay in the slot

    def __init__(self, previous: Previous | None = None):
        self._results: np.ndarray | None = None  # float32 [slots * (H + 2 PAD), W, 3]: the results held from
        self._photos: np.ndarray | None = None  # float32, the same: the photo each was painted on
        self._slot = np.zeros(0, np.int32)  # int32 [H, W]: the slot each pixel's paint is in
        self._x = self._y = np.zeros(0, np.float32)  # float32 [H, W] each: where in it
        self._photo: np.ndarray | None = None  # float32 [1, H, W, 3]: the last photo
        self._slots = 0  # how many results the stores hold
        self._zoom = np.zeros(0, np.float32)  # float32 [H, W]: log of the zoom since each pixel was painted
        self._limit = np.zeros(0, np.float32)  # float32 [H, W]: the most |self._zoom| held (HELD_ZOOM)
        if previous is not None:
            self(*previous)

    def __call__(self, photo: np.ndarray, result: np.ndarray) -> np.ndarray:
        photo, result = np.asarray(photo, np.float32), np.asarray(result, np.float32)
        height, width = photo.shape[1:3]
        if self._photo is None:  # the first frame paints every pixel
            self._limit = _zoom_limits(height, width, HELD_ZOOM)
            self._slots = max(2, min(HELD_RESULTS, HELD_MEMORY // (24 * (height + 2 * self.PAD) * width)))
            self._results = np.zeros((self._slots * (height + 2 * self.PAD), width, 3), np.float32)
            self._photos = np.zeros_like(self._results)
            nowhere = np.zeros((height, width), np.float32)
            self._keep(photo, result, 0, nowhere > 0, nowhere.astype(np.int32), nowhere, nowhere, nowhere)
            return result
        backward, reliable = flow.frame_flows(self._photo, photo)
        x, y = flow.pointed_to(backward)  # [H, W] each: where each pixel was in the last frame
        near_x = np.clip(np.rint(x), 0, width - 1).astype(np.int32)
        near_y = np.clip(np.rint(y), 0, height - 1).astype(np.int32)
        slot = self._slot[near_y, near_x]
        held_x = np.clip(self._x[near_y, near_x] + (x - near_x), 0, width - 1)
        held_y = np.clip(self._y[near_y, near_x] + (y - near_y), 0, height - 1)
        row = held_y + slot * (height + 2 * self.PAD) + self.PAD  # [H, W]: in the stacked slots
        assert self._results is not None and self._photos is not None
        held = flow.sample(self._results, held_x, row, "lanczos")  # [H, W, 3]: sampled once
        change = photo[0] - flow.sample(self._photos, held_x, row, "bicubic")  # since it was painted
        zoom = self._zoom[near_y, near_x] + np.float32(flow.camera_motion(backward, reliable).real)  # [H, W]
        trust = (reliable * (np.abs(zoom) < self._limit))[..., None] * _explained(change[None])[0]  # [H, W, 1]
        carried = np.clip(held + quality.luma_numpy(change[None])[0], 0.0, 1.0)  # departure 3
        shown = (result[0] + trust * (carried - result[0]))[None]
        kept = trust[..., 0] > REANCHOR
        new = int(np.argmin(np.bincount(slot[kept], minlength=self._slots)))  # unused, else the least used,
        kept &= slot != new  # whose pixels then take this frame's result
        self._keep(photo, shown, new, kept, slot, held_x, held_y, zoom)
        return shown.astype(np.float32)

    def _keep(self, photo, shown, new: int, kept, slot, held_x, held_y, zoom) -> None:
        """This frame's photo and shown result into slot `new`; the pixels not kept hold from it."""
        assert self._results is not None and self._photos is not None
        height, width = photo.shape[1:3]
        ys, xs = flow.pixel_grid(height, width)
        rows = slice(new * (height + 2 * self.PAD), (new + 1) * (height + 2 * self.PAD))
        for store, image in ((self._results, shown[0]), (self._photos, photo[0])):
            store[rows] = np.pad(image, ((self.PAD, self.PAD), (0, 0), (0, 0)), mode="edge")
        self._slot = np.where(kept, slot, new).astype(np.int32)
        self._x = np.where(kept, held_x, xs).astype(np.float32)
        self._y = np.where(kept, held_y, ys).astype(np.float32)
        self._zoom = np.where(kept, zoom, 0.0).astype(np.float32)
        self._photo = photo
