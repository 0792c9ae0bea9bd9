"""Video (issue 20): flicker (E_warp), frames/s and style per mode, on clips whose motion is known.

    python benchmarks/video.py                      # this machine, real VGG16 weights from ../shared
    python benchmarks/video.py --quick              # tiny sizes, random weights: checks that it runs
    python benchmarks/video.py --clips= --real=clip.mp4@190 --frames=12   # 12 frames of a real clip

The clips are made from the held-out photos of ../shared/samples/content (never from the photos
the networks trained on): a pan (a window moving across the photo), a zoom (a window shrinking
about the centre), a cross-fade between two photos (no motion: the light changes) and a cut from a
pan over one photo to a pan over another (and, by --clips, an object moving over a still shot, a
pan out and back, a camera's turn: benchmarks/clips.py); --real adds stretches of real clips (their flow estimated,
so E_warp there counts the flow's errors too). Per clip, per mode, a Markdown row: seconds a frame,
E_warp (quality.warping_error, with the input clip's own optical flow and mask; the input clip's
row is the floor, and a column gives the ratio of what each row has above it), the style figure
(quality.Judge) and the stroke figure (quality.PaintingJudge: grey, so colour cannot lower it),
each the mean over frames, with their ratios to the first
optimisation row's (independent: each frame alone) or, for a network, to the first network's
(--networks=plain,steady). Modes: the input, the optimisation per frame (independent) and with
the temporal term (--temporal_weights, --later_steps, --moved_steps, --new_steps and
--new_final_steps compare its settings), and each network of --networks per frame; then each
network's frames/s on a 640x360 clip, alone and end to end. A strip of frames per clip and mode
goes to --strip (a JPEG).
"""

from __future__ import annotations

import itertools
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np
from absl import app, flags
from clips import synthetic_clip  # noqa: E402

SHARED = os.environ.get("STYLE_TRANSFER_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
flags.DEFINE_bool("quick", False, "Tiny sizes, few frames and steps, random weights: checks that it runs.")
flags.DEFINE_integer("frames", 8, "Frames of each clip.")
flags.DEFINE_integer("width", 320, "Frame width (the height is 9/16 of it).")
flags.DEFINE_list("clips", ["pan", "zoom", "fade"], "Which synthetic clips.")
flags.DEFINE_list(
    "real",
    [],
    "Real clips to run too, each PATH@FIRST (a video file or numbered frames, from frame FIRST): --frames "
    "frames, resized to --width wide; their flow is estimated, not known.",
)
flags.DEFINE_string("photo", os.path.join(SHARED, "samples", "content", "coffee.png"), "The clips' photo.")
flags.DEFINE_string("photo2", os.path.join(SHARED, "samples", "content", "chelsea.png"), "The fade's and cut's second.")
flags.DEFINE_string("painting", os.path.join(SHARED, "samples", "style", "starry_night.jpg"), "The painting.")
flags.DEFINE_string(
    "vgg16_weights", os.path.join(SHARED, "weights", "vgg16_imagenet_notop.weights.h5"), "VGG16 weights or none."
)
flags.DEFINE_list("modes", ["independent", "temporal"], "Optimisation modes to run.")
flags.DEFINE_list("temporal_weights", [], "Temporal weights to compare (default: VideoConfig's).")
flags.DEFINE_list(
    "later_steps", [], "Later frames' steps where the picture changed to compare (default: VideoConfig's)."
)
flags.DEFINE_list("moved_steps", [], "Later frames' steps where it only moved to compare (default: VideoConfig's).")
flags.DEFINE_list("new_steps", [], "New-region steps to compare (0: no such pass; default: VideoConfig's).")
flags.DEFINE_list(
    "new_final_steps", [], "New-region steps at the final size, where it is large, to compare (default: VideoConfig's)."
)
flags.DEFINE_list(
    "held_frames",
    [],
    "Long-term frame sets to compare, each 1+15+40 style (1: the previous alone; default: VideoConfig's).",
)
flags.DEFINE_list(
    "zoom_limits",
    [],
    "Limits of the camera's zoom on carried and held paint to compare (video.py, departures 12 and 13), each "
    "LOW-HIGH (of |log zoom|; the optimisation's of |log zoom + 1j turn|), or 'off' (default: video.CARRIED_ZOOM "
    "for the optimisation, video.HELD_ZOOM for a network's hold).",
)
flags.DEFINE_list("reuse", ["true"], "Keep the paintings' targets across frames (true), or not (false), or both.")
flags.DEFINE_integer("steps", 0, "The first frame's steps (0: Config's default).")
flags.DEFINE_list("networks", [], "Trained networks (.npz or bundled names) to run per frame too.")
flags.DEFINE_list(
    "network_smoothing",
    ["0"],
    "The networks' --network_smoothing values to compare (video.py, departure 10); 'hold': --network_hold "
    "instead (departure 12).",
)
flags.DEFINE_integer(
    "network_painting", 0, "Which of the networks' paintings they paint (0: the first; give --painting to match)."
)
flags.DEFINE_string("strip", "", "Write a strip of frames per clip and mode here (a .jpg).")
flags.DEFINE_integer("strip_every", 2, "The strip shows every this many frames.")
flags.DEFINE_integer(
    "by_frame",
    0,
    "Also print the style and stroke figures at this many frames spread over each clip, against the first "
    "optimisation row's (independent) or the first network's.",
)
flags.DEFINE_integer(
    "throughput_frames", 48, "Frames of the 640x360 clip each network is timed on, end to end (0: skip)."
)
FLAGS = flags.FLAGS


def steadying(value: str) -> tuple[float, bool]:
    """A --network_smoothing value as network_frames' (smoothing, hold): a share, or 'hold'."""
    return (0.0, True) if value == "hold" else (float(value), False)


def zoom_limits(value: str) -> tuple[float, float]:
    """A --zoom_limits value as video.HELD_ZOOM or CARRIED_ZOOM: LOW-HIGH, or 'off' (no paint is
    ever past it)."""
    if value == "off":
        return (1e9, 1e9)  # a log zoom no clip reaches
    try:
        low, high = map(float, value.split("-"))
    except ValueError:
        raise app.UsageError(f"--zoom_limits takes LOW-HIGH or off, not {value!r}") from None
    return (low, high)


def _true(value: str) -> bool:
    if value.lower() not in ("true", "false"):
        raise app.UsageError(f"--reuse takes true and/or false, not {value!r}")
    return value.lower() == "true"


def strip(rows: list[tuple[str, list[np.ndarray]]], path: str, every: int = 2) -> None:
    """Each row's frames (every `every`th) side by side, the rows one under another, as a JPEG."""
    from PIL import Image

    from style_transfer import images

    tiles = [np.concatenate([images.to_uint8(f) for f in frames[::every]], axis=1) for _, frames in rows]
    Image.fromarray(np.concatenate(tiles, axis=0)).save(path, quality=90)


def throughput(photo: np.ndarray, photo2: np.ndarray, count: int, quick: bool) -> None:
    """Each network on a 640x360 pan of `count` frames: frames/s of the network's pass alone, and
    end to end as the command line runs it (decode the H.264 clip, the network, encode H.264); in
    float32 and, where --precision=auto is bfloat16 here (as the command line then runs it), in that;
    with each --network_smoothing (video.py, departure 10: the flows and the carry a frame; or 12, the hold)."""
    import tempfile

    from style_transfer import devices, networks, video, video_files

    size = (36, 64) if quick else (360, 640)
    clip = synthetic_clip("pan", count, size, photo, photo2)
    with tempfile.TemporaryDirectory() as folder:
        source, output = os.path.join(folder, "in.mp4"), os.path.join(folder, "out.mp4")
        writer = video_files.VideoWriter(source, video_files.DEFAULT_SEQUENCE_FPS, size)
        for frame in clip:
            writer.write(frame)
        writer.close()
        print(f"\nThroughput at {size[1]}x{size[0]}, {count} frames (the first, which traces, not counted):\n")
        print(
            "| network | precision | smoothing | network (and smoothing) alone, frames/s "
            "| end to end (decode, network, encode), frames/s |"
        )
        print("| --- | --- | --- | --- | --- |")
        precisions = sorted({"float32", devices.resolved_precision("auto")}, reverse=True)
        smoothings = [steadying(value) for value in FLAGS.network_smoothing]
        for name, precision in itertools.product(FLAGS.networks, precisions):
            network, _ = networks.load_network(name, precision)  # once for every smoothing
            for smoothing, hold in smoothings:
                results = video.network_frames(iter(clip), network, smoothing=smoothing, hold=hold)
                next(results)
                start = time.perf_counter()
                for _ in results:
                    pass
                alone = (count - 1) / (time.perf_counter() - start)
                frames = video.network_frames(video_files.read_frames(source), network, smoothing=smoothing, hold=hold)
                writer = video_files.VideoWriter(output, video_files.DEFAULT_SEQUENCE_FPS, size)
                writer.write(next(frames))
                start = time.perf_counter()
                for result in frames:
                    writer.write(result)
                writer.close()
                whole = (count - 1) / (time.perf_counter() - start)
                steadied = "hold" if hold else f"{smoothing:g}"
                row = f"| {os.path.basename(name)} | {precision} | {steadied} | {alone:.1f} | {whole:.1f} |"
                print(row, flush=True)


def print_by_frame(runs, count: int, figures_of_frame) -> None:
    """For each clip, each mode's style and stroke figures at `count` frames spread over it, as
    ratios to the first optimisation row's (independent) or the first network row's at the same
    frame: drift over a clip."""
    print("\nBy frame (style / stroke figure against the first row of its kind at the same frame):\n")
    for kind in dict.fromkeys(kind for kind, *_ in runs):
        for optimised in (True, False):
            rows = [(label, result, clip) for k, label, o, result, clip in runs if k == kind and o == optimised]
            if len(rows) < 2:
                continue
            frames = sorted({round(i * (len(rows[0][2]) - 1) / max(1, count - 1)) for i in range(count)})
            reference = {t: figures_of_frame(rows[0][1][t], rows[0][2][t]) for t in frames}
            print(f"| {kind}, by frame | " + " | ".join(f"frame {t}" for t in frames) + " |")
            print("| --- |" + " --- |" * len(frames))
            for label, result, clip in rows[1:]:
                cells = []
                for t in frames:
                    style, stroke = figures_of_frame(result[t], clip[t])
                    cells.append(f"{style / reference[t][0]:.2f}x / {stroke / reference[t][1]:.2f}x")
                print(f"| {label} | " + " | ".join(cells) + " |", flush=True)


def real_clip(spec: str, width: int, frames: int) -> list[np.ndarray]:
    """`frames` frames of the clip PATH@FIRST from frame FIRST, `width` wide (the height in proportion,
    even): float32 [1, h, w, 3] each."""
    from style_transfer import video_files

    path, _, first = spec.rpartition("@") if "@" in spec else (spec, "", "0")
    info = video_files.probe(path)
    size = video_files.even_size(round(info.height * width / info.width), width)
    clip = list(itertools.islice(video_files.read_frames(path, size, skip=int(first)), frames))
    if len(clip) < 2:
        raise app.UsageError(f"--real={spec}: fewer than 2 frames from frame {first}")
    return clip


def main(argv):
    del argv
    from style_transfer import devices, flow, images, quality, transformer, vgg, video
    from style_transfer.config import Config, VideoConfig

    quick = FLAGS.quick
    width = 64 if quick else FLAGS.width
    size = (width * 9 // 16 // 2 * 2, width)
    frames_count = 3 if quick else FLAGS.frames
    weights = "none" if quick or not os.path.isfile(FLAGS.vgg16_weights) else FLAGS.vgg16_weights
    config = Config(network="vgg16", weights=weights, max_size=width)
    if FLAGS.steps or quick:
        config = config.replace(steps=4 if quick else FLAGS.steps)
    photo = images.load_image(FLAGS.photo)
    photo2 = images.load_image(FLAGS.photo2)
    painting = images.load_image(FLAGS.painting, max_size=width)
    extractor = vgg.extractor_for(config)
    style_extractor = quality.build_judge_extractor("vgg16", weights)
    stroke_extractor = quality.build_painting_judge_extractor("vgg16", weights)
    base = VideoConfig(later_steps=2, moved_steps=2, new_steps=2, new_final_steps=2) if quick else VideoConfig()
    # (label, (VideoConfig, reuse) or (network, smoothing, hold), the zoom's limits or None: the shipped)
    variants: list[tuple[str, tuple, tuple[float, float] | None]] = []
    shipped = video.CARRIED_ZOOM, video.HELD_ZOOM
    limits = FLAGS.zoom_limits or ["shipped"]
    for mode in FLAGS.modes:
        if mode == "independent":
            variants.append(("independent", (VideoConfig(video_mode="independent"), True), None))
            continue
        settings_grid = itertools.product(
            FLAGS.temporal_weights or [str(base.temporal_weight)],
            FLAGS.later_steps or [str(base.later_steps)],
            FLAGS.moved_steps or [str(base.moved_steps)],
            FLAGS.new_steps or [str(base.new_steps)],
            FLAGS.new_final_steps or [str(base.new_final_steps)],
            FLAGS.held_frames or ["+".join(map(str, base.held_frames))],
            FLAGS.reuse,
            limits,
        )
        for weight, steps, moved, new, final, held, reuse, limit in settings_grid:
            label = f"temporal, weight {float(weight):g}, {int(moved)}-{int(steps)} later steps, "
            label += f"{int(new)} new-region steps" if int(new) else "no new-region pass"
            label += f" (+{int(final)} at the final size where large)" if int(new) and int(final) else ""
            label += f", held to frames {held} back"
            label += "" if _true(reuse) else ", without reuse"
            label += f", zoom limits {limit}" if FLAGS.zoom_limits else ""
            settings = VideoConfig(
                temporal_weight=float(weight),
                later_steps=int(steps),
                moved_steps=int(moved),
                new_steps=int(new),
                new_final_steps=int(final),
                held_frames=tuple(int(j) for j in held.split("+")),
            )
            variants.append((label, (settings, _true(reuse)), zoom_limits(limit) if FLAGS.zoom_limits else None))

    for name in FLAGS.networks:
        from style_transfer import networks

        network, header = networks.load_network(name)
        if not 0 <= FLAGS.network_painting < network.styles:
            raise app.UsageError(
                f"--network_painting={FLAGS.network_painting}: {name} has {network.styles} painting(s)"
            )
        for (smoothing, hold), limit in itertools.product(map(steadying, FLAGS.network_smoothing), limits):
            if limit != limits[0] and not hold:
                continue  # the zoom's limits are the hold's alone
            label = f"network {os.path.basename(name)} ({header['paintings'][FLAGS.network_painting]})"
            label += f", smoothing {smoothing:g}" if smoothing else ", hold" if hold else ""
            label += f", zoom limits {limit}" if hold and FLAGS.zoom_limits else ""
            variants.append((label, (network, smoothing, hold), zoom_limits(limit) if FLAGS.zoom_limits else None))

    def above(error: float, floor: float) -> float:
        """E_warp beyond the input clip's own (what its light and the flow's errors give any
        stylisation that follows it): on a cross-fade the floor is near the plain network's."""
        return max(error - floor, 0.0)

    def above_ratio(error: float, reference: float, floor: float) -> str:
        """above(error) / above(reference), or "-" where the reference is at the floor (a cut: the
        pair across it dominates the input's own figure)."""
        return f"{above(error, floor) / above(reference, floor):.2f}x" if above(reference, floor) > 0 else "-"

    # Each photo frame's two judges, made once for every mode judged on it (by the frame's id; the
    # frame is kept beside them, so its id is not reused).
    judges: dict[int, tuple[np.ndarray, quality.Judge, quality.PaintingJudge]] = {}

    def figures_of_frame(result: np.ndarray, photo: np.ndarray) -> tuple[float, float]:
        """A frame's style figure (Gram, quality.Judge) and stroke figure (grey: colour cannot
        lower it; quality.PaintingJudge)."""
        if id(photo) not in judges:
            judges[id(photo)] = (
                photo,
                quality.Judge(style_extractor, photo, painting),
                quality.PaintingJudge(stroke_extractor, photo, painting),
            )
        _, judge, painting_judge = judges[id(photo)]
        return judge(result).style, painting_judge(result).stroke

    def figures(result: list[np.ndarray], clip: list[np.ndarray]) -> tuple[float, float]:
        """The mean over frames of figures_of_frame's two figures."""
        style, stroke = zip(*(figures_of_frame(r, c) for r, c in zip(result, clip, strict=True)), strict=True)
        return float(np.mean(style)), float(np.mean(stroke))

    print(f"# Video: flicker and speed per mode\n\nMachine: {devices.describe_machine()}.\n")
    print(
        f"{frames_count} frames of {size[1]}x{size[0]} (real clips: {width} wide, the height in proportion); "
        f"VGG16 weights: {os.path.basename(weights)}; "
        f"first frame {config.schedule.steps} steps (Config's defaults otherwise).\n"
    )
    print(
        "| clip | mode | s/frame | E_warp | vs independent | above the input's, vs independent | style figure "
        "| vs independent | stroke | vs independent |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    strips = []
    by_frame: list[tuple[str, str, bool, list[np.ndarray], list[np.ndarray]]] = []
    clips = [(kind, lambda kind=kind: synthetic_clip(kind, frames_count, size, photo, photo2)) for kind in FLAGS.clips]
    clips += [(os.path.basename(spec), lambda spec=spec: real_clip(spec, width, frames_count)) for spec in FLAGS.real]
    for kind, make in clips:
        clip = make()
        pairs = [flow.frame_flows(a, b) for a, b in zip(clip[:-1], clip[1:], strict=True)]
        flows, masks = [f for f, _ in pairs], [m for _, m in pairs]
        floor = quality.warping_error(clip, flows, masks)
        print(f"| {kind} | the input clip | | {floor:.2e} | | | | | | |", flush=True)
        strips.append((f"{kind}: input", clip))
        references: dict[bool, tuple[float, float, float]] = {}  # the first optimisation row's, the first network's
        for label, video_config, limit in variants:
            video.CARRIED_ZOOM, video.HELD_ZOOM = shipped if limit is None else (limit, limit)  # read as a clip starts
            optimised = isinstance(video_config[0], VideoConfig)
            if optimised:
                settings, reuse = video_config
                frames = video.optimised_frames(clip, [painting], config, settings, extractor=extractor, reuse=reuse)
                first: list[np.ndarray] = []
            else:  # a network: its first frame traces the compiled pass, so it is not timed
                network, smoothing, hold = video_config
                frames = video.network_frames(
                    clip, network, transformer.painting_alone(network, FLAGS.network_painting), smoothing, hold=hold
                )
                first = [next(frames)]
            start = time.perf_counter()
            result = first + list(frames)  # the generator does the work here
            seconds = (time.perf_counter() - start) / (len(clip) - len(first))
            error = quality.warping_error(result, flows, masks)
            style, stroke = figures(result, clip)
            reference = references.setdefault(optimised, (error, style, stroke))
            print(
                f"| {kind} | {label} | {seconds:.2g} | {error:.2e} | {error / reference[0]:.2f}x | "
                f"{above_ratio(error, reference[0], floor)} | {style:.3f} | "
                f"{style / reference[1]:.2f}x | {stroke:.3f} | {stroke / reference[2]:.2f}x |",
                flush=True,
            )
            strips.append((f"{kind}: {label}", result))
            by_frame.append((kind, label, optimised, result, clip))
    video.CARRIED_ZOOM, video.HELD_ZOOM = shipped
    if FLAGS.by_frame:
        print_by_frame(by_frame, FLAGS.by_frame, figures_of_frame)
    if FLAGS.networks and FLAGS.throughput_frames:
        throughput(photo, photo2, 4 if quick else FLAGS.throughput_frames, quick)
    if FLAGS.strip:
        strip(strips, FLAGS.strip, FLAGS.strip_every)
        print(f"\nStrip of frames: {FLAGS.strip}")


if __name__ == "__main__":
    app.run(main)
