"""The benchmark scripts run from a clone and write their reports (tiny sizes, random weights)."""

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.cli_runner import run_program_in_process
from tests.conftest import REPO, VGG16_WEIGHTS, gradient_image


def run_script(name: str, *args: str) -> subprocess.CompletedProcess:
    """Run benchmarks/NAME with these flags, in this process (tests/cli_runner.py: its own flags,
    as `python benchmarks/NAME` would have them, without importing TensorFlow again); fail with the
    end of its stderr if it fails."""
    result = run_program_in_process(REPO / "benchmarks" / name, list(args))
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def _benchmark_module(name: str):
    """benchmarks/NAME.py imported (the folder is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gallery_writes_a_sheet_and_a_table(tmp_path):
    for folder, name, seed in (("content", "photo.png", 1), ("style", "painting.png", 2)):
        (tmp_path / "samples" / folder).mkdir(parents=True)
        Image.fromarray(gradient_image(40, 48, seed)).save(tmp_path / "samples" / folder / name)
    report = tmp_path / "docs" / "g.md"
    run_script(
        "gallery.py",
        "--size=48",
        "--steps=4",
        "--vgg16_weights=none",
        "--configs=defaults,former",
        f"--samples={tmp_path / 'samples'}",
        f"--output={report}",
    )
    text = report.read_text()
    pair_rows = [line.split("|")[1:-1] for line in text.splitlines() if line.startswith("| photo x painting |")]
    rows = [row for row in pair_rows if len(row) == 3 + 6]  # pair, run, seconds, then the six figures
    assert [row[1].strip() for row in rows] == ["photo", "painting", "`defaults`", "`former`"]
    (compared,) = [row for row in pair_rows if len(row) == 5]  # against the former: time, three figures
    assert compared[1].strip().endswith("x") and "->" in compared[2]
    photo = [float(value) for value in rows[0][3:]]
    assert photo[0] == 0.0 and photo[2:] == [1.0, 1.0, 1.0, 1.0]  # content 0; the photo's own strokes, bands
    assert float(rows[2][2]) > 0 and all(0 <= float(value) for value in rows[2][3:])
    assert "## `defaults` against `former`" in text and "- Fine texture: at most" in text
    with Image.open(tmp_path / "docs" / "images" / "g_defaults_48.jpg") as sheet:
        assert sheet.size == (2 * 256, 2 * 256)  # header row + one photo; photo column + one painting


def test_gpu_report_quick_runs_every_section(tmp_path):
    """`gpu_report.py --quick` (what CI can run anywhere): every section produces its rows."""
    report = tmp_path / "gpu.md"
    weights = str(VGG16_WEIGHTS) if VGG16_WEIGHTS.is_file() else "none"
    run_script(
        "gpu_report.py",
        "--quick",
        f"--vgg16_weights={weights}",
        f"--output={report}",
        f"--pictures={tmp_path / 'pictures'}",
    )
    text = report.read_text()
    assert "failed" not in text, text
    lines = text.splitlines()
    # Per step (--quick: float32 and bfloat16; float16 in the full report) without XLA, float32 with
    # it too, each a time in seconds.
    steps = [line.split("|") for line in lines if line.startswith(("| float32 | ", "| bfloat16 | ", "| float16 | "))]
    timed = [row for row in steps if row[2].strip() in ("True", "False")]
    assert [(row[1].strip(), row[2].strip()) for row in timed] == [
        ("float32", "False"),
        ("float32", "True"),
        ("bfloat16", "False"),
    ]
    assert all(float(row[3]) > 0 for row in timed)
    assert "returned a 64x43 PNG" in text  # the exported model answered a REST-style request
    assert "| defaults | 4@64 |" in text and "| 4 steps | 4@64 |" in text
    # Fast networks (--quick: half width only): frames per second at two sizes per precision,
    # training steps/s.
    networks = lines[lines.index("## Fast networks") :]
    fps = [line for line in networks if line.startswith("| 0.5 | ") and "fps" in line]
    assert len(fps) >= 1 and all(line.count(" fps") == 2 for line in fps)
    training = [line.split("|") for line in networks if line.startswith("| 0.5 | ") and "fps" not in line]
    assert [row[1].strip() for row in training] == ["0.5"] and all(float(row[2]) > 0 for row in training)
    if weights != "none":
        # Reduced precision against float32: float32's own pixel difference is exactly 0, the others
        # are measured and small (tiny image, 4 steps), each with a finite loss.
        rows = {row[1].strip(): row for row in steps if row[2].strip().endswith("s")}
        assert set(rows) == {"float32", "bfloat16"}
        assert float(rows["float32"][6]) == 0.0
        assert 0 <= float(rows["bfloat16"][6]) < 64 and float(rows["bfloat16"][3]) > 0
        assert len(list((tmp_path / "pictures").glob("gpu_report_*_64.png"))) == 2


def test_controls_sheet_runs_every_control(tmp_path):
    """The sheet's mechanics on a clone with nothing beside it: random weights, and a stand-in for
    the second painting it takes from ../shared/samples (a newcomer's checkout has no ../shared)."""
    report = tmp_path / "docs" / "controls_sheet.md"
    report.parent.mkdir()
    (tmp_path / "samples" / "style").mkdir(parents=True)
    Image.fromarray(gradient_image(40, 56, 3)).save(tmp_path / "samples" / "style" / "great_wave_hokusai.jpg")
    run_script(
        "controls.py",
        "--size=32",
        "--steps=1",
        "--vgg16_weights=none",
        f"--samples={tmp_path / 'samples'}",
        "--cells=1,9",  # each control runs through the CLI in test_cli; here the sheet's mechanics
        f"--output={report}",
    )
    rows = [line for line in report.read_text().splitlines() if line.startswith("| ") and "`style-transfer" in line]
    assert len(rows) == 2 and "--output=defaults.png" in rows[0] and "--init=defaults.png" in rows[1]
    with Image.open(tmp_path / "docs" / "images" / "controls_32.jpg") as sheet:
        assert sheet.size == (3 * 256, 21 + 18)  # one row of three columns: the 32x21 cat and its label


def test_fast_prints_a_row_per_network_and_precision():
    """benchmarks/fast.py --quick: the table's rows and the served request (the optimisation's
    ratio is left out here: every other test covers stylize)."""
    result = run_script("fast.py", "--quick", "--widths=0.5", "--precisions=float32,bfloat16", "--nooptimisation")
    rows = [line for line in result.stdout.splitlines() if line.startswith("| 0.5 |")]
    assert [row.split("|")[2].strip() for row in rows] == ["float32", "bfloat16"]
    assert all(row.count(" s, ") == 2 for row in rows)  # 64x64 and 96x64, each timed
    assert "An exported model's request at 64x64" in result.stdout
    assert "Tiled: 160x96 in tiles of 64 px" in result.stdout


def test_fast_quality_quick_writes_a_row_per_photo_and_the_sheet(tmp_path):
    """benchmarks/fast_quality.py --quick on two photos: a report row each (the network's loss, the
    equivalent steps, net / opt figures) and the sheet of photo | optimisation | network."""
    samples = tmp_path / "samples"
    samples.mkdir()
    for name, seed in (("a.png", 1), ("b.png", 2)):
        Image.fromarray(gradient_image(48, 64, seed)).save(samples / name)
    weights = str(VGG16_WEIGHTS) if VGG16_WEIGHTS.is_file() else "none"
    report = tmp_path / "quality.md"
    run_script("fast_quality.py", "--quick", f"--samples={samples}", f"--vgg16_weights={weights}", f"--output={report}")
    rows = [line.split("|") for line in report.read_text().splitlines() if line.startswith(("| a.png", "| b.png"))]
    assert len(rows) == 2
    for row in rows:
        assert float(row[4]) > 0 and (row[5].strip().isdigit() or row[5].strip() == "> 3")
        assert all(len(cell.split(" / ")) == 2 for cell in row[6:14])  # network / optimisation
    with Image.open(tmp_path / "quality.jpg") as sheet:
        assert sheet.size == (3 * 64, 2 * 48)


def test_the_timing_helpers_time_and_measure():
    """benchmarks/timing.py: the median of the timed calls after one untimed warm call; the peak
    resident memory follows an allocation."""
    import time

    timing = _benchmark_module("timing")
    naps = iter([0.0, 0.3, 0.1, 0.2])  # the warm call, then three timed ones: median 0.2 s
    seconds = timing.median_seconds(lambda: time.sleep(next(naps)), 3)
    assert 0.2 <= seconds < 0.3 and next(naps, None) is None
    assert timing.timed(lambda: 7)[1] == 7
    # In a small new process (this one's peak may be above anything allocated here): 256 MiB more.
    code = "import numpy as np, timing; a = timing.peak_rss_mib(); b = np.ones(2**25); print(a, timing.peak_rss_mib())"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO / "benchmarks", capture_output=True, text=True)
    before, after = map(float, result.stdout.split())
    assert 250 <= after - before < 300 and before < 200, result.stdout + result.stderr


# video.py --quick's temporal row: VideoConfig(later_steps=2, moved_steps=2, new_steps=2, new_final_steps=2).
TEMPORAL_QUICK = (
    "temporal, weight 5, 2-2 later steps, 2 new-region steps (+2 at the final size where large), held to frames "
    "1+2+4+8+16 back"
)


def test_video_quick_prints_a_row_per_mode_and_the_throughput(tmp_path):
    """`video.py --quick` on a pan and a real clip with a tiny network: the input's row, both
    optimisation modes, the network's rows (plain and smoothed), its throughput, and the strip (the
    other synthetic clips run the same rows; their frames are checked without TensorFlow below)."""
    from style_transfer import devices, networks, transformer

    model = str(tmp_path / "net.npz")
    networks.save_network(transformer.build(width=0.25, styles=1, seed=0), model, ["painting"])
    samples = tmp_path / "samples"
    samples.mkdir()
    for name, seed in (("a.png", 1), ("b.png", 2)):
        Image.fromarray(gradient_image(120, 160, seed)).save(samples / name)
    wide = gradient_image(120, 200, 3)
    for number in range(5):  # a "real" clip: numbered frames of a pan, 160x120, read from frame 1 on
        Image.fromarray(wide[:, 8 * number : 8 * number + 160]).save(samples / f"real_{number:03d}.png")
    result = run_script(
        "video.py",
        *["--quick", "--clips=pan", f"--networks={model}", f"--photo={samples / 'a.png'}"],
        *[f"--photo2={samples / 'b.png'}", f"--strip={tmp_path / 'strip.jpg'}", "--by_frame=2"],
        *[f"--real={samples / 'real_%03d.png'}@1", "--network_smoothing=0,0.5,hold"],
    )
    rows = [line.split("|")[1:-1] for line in result.stdout.splitlines() if line.startswith("| pan |")]
    assert [row[1].strip() for row in rows] == [
        "the input clip",
        "independent",
        TEMPORAL_QUICK,
        "network net.npz (painting)",
        "network net.npz (painting), smoothing 0.5",
        "network net.npz (painting), hold",
    ]
    independent, temporal = (float(row[3]) for row in rows[1:3])
    assert float(rows[4][3]) < 0.7 * float(rows[3][3])  # smoothing (departure 10): steadier
    assert float(rows[5][3]) < 0.7 * float(rows[3][3])  # the hold (departure 12) too
    assert temporal < 0.5 * independent  # even 2 steps from the warped result flicker less
    assert rows[3][4].strip() == rows[3][5].strip() == "1.00x"  # the first network is the networks' reference
    floor = float(rows[0][3])  # what each has above the input's own E_warp; "-" where the reference has nothing
    if independent > floor:
        assert float(rows[2][5].strip().rstrip("x")) == pytest.approx(
            max(temporal - floor, 0) / (independent - floor), abs=0.02
        )
    else:
        assert rows[2][5].strip() == "-"
    throughput = [line.split("|")[2:6] for line in result.stdout.splitlines() if line.startswith("| net.npz |")]
    assert throughput[0][0].strip() == "float32"  # and bfloat16 where auto is that here
    assert {row[0].strip() for row in throughput} == {"float32", devices.resolved_precision("auto")}
    assert {row[1].strip() for row in throughput} == {"0", "0.5", "hold"}  # each precision plain, smoothed, held
    assert len(throughput) == 3 * len({row[0] for row in throughput})
    assert all(float(value) > 0 for row in throughput for value in row[2:])
    # --by_frame: each clip's temporal row at its first and last frame against independent's; the
    # first frame is stylised as a photo in both modes, the same picture.
    lines = result.stdout.splitlines()
    header = lines.index("| pan, by frame | frame 0 | frame 2 |")
    cells = lines[header + 2].split("|")[1:-1]
    assert cells[0].strip() == TEMPORAL_QUICK
    assert cells[1].strip() == "1.00x / 1.00x" and cells[2].strip().endswith("x")
    # --real: the same rows for 3 frames of the numbered clip from frame 1, 64x48 (its proportions).
    rows = [line.split("|")[1:-1] for line in result.stdout.splitlines() if line.startswith("| real_%03d.png@1 |")]
    assert [row[1].strip() for row in rows][:2] == ["the input clip", "independent"] and len(rows) == 6
    assert float(rows[2][3]) < 0.5 * float(rows[1][3])  # the temporal mode flickers less there too
    with Image.open(tmp_path / "strip.jpg") as strip:
        assert strip.size == (64 * 2, 36 * 6 + 48 * 6)  # frames 0 and 2 of 3; six rows a clip


def test_the_return_clip_comes_back_to_its_first_view():
    """benchmarks/video.py's "return" clip (drift over a long clip): out and back, the last frame
    the first's view, the middle one 30 % of the width away."""
    photo = (gradient_image(120, 200, 3) / 255.0).astype(np.float32)[None]
    clip = _benchmark_module("clips").synthetic_clip("return", 9, (18, 32), photo, photo)
    assert len(clip) == 9 and clip[0].shape == (1, 18, 32, 3)
    np.testing.assert_array_equal(clip[-1], clip[0])
    np.testing.assert_array_equal(clip[3], clip[5])  # the way back passes the same views
    assert np.abs(clip[4] - clip[0]).mean() > 0.01


def test_the_turn_clip_turns_a_degree_a_frame_about_the_centre():
    """The "turn" clip (a camera's roll): frame 90 of a square clip is frame 0 turned a quarter
    (pixel centres land on pixel centres, so exactly but for float rounding); frame 1 differs."""
    photo = (gradient_image(120, 200, 3) / 255.0).astype(np.float32)[None]
    clip = _benchmark_module("clips").synthetic_clip("turn", 91, (32, 32), photo, photo)
    assert len(clip) == 91 and clip[0].shape == (1, 32, 32, 3)
    np.testing.assert_allclose(clip[90][0], np.rot90(clip[0][0], k=1), atol=1e-4)
    assert np.abs(clip[1] - clip[0]).mean() > 0.005


def test_the_object_clip_moves_an_ellipse_over_a_still_shot():
    """The "object" clip: the background never moves; an ellipse of the second photo, a third of
    the width wide, moves 2.5 % of the width a frame to the right in whole pixels."""
    photo, photo2 = ((gradient_image(120, 200, seed) / 255.0).astype(np.float32)[None] for seed in (3, 4))
    clip = _benchmark_module("clips").synthetic_clip("object", 3, (36, 160), photo, photo2)
    assert len(clip) == 3 and clip[0].shape == (1, 36, 160, 3)
    changed = [np.any(frame != clip[0], axis=-1)[0] for frame in clip[1:]]  # [36, 160] each
    assert not changed[0][:, :16].any() and not changed[0][:, 75:].any()  # only about the object
    columns = np.flatnonzero(changed[1].any(axis=0))  # frame 2 against frame 0: 8 px moved
    assert columns.min() >= 16 and columns.max() < 16 + 53 + 8
    rows = np.flatnonzero(changed[1].any(axis=1))
    assert rows.min() >= 9 and rows.max() < 27  # the middle half of the height
    # Along the ellipse's middle row (frame 1: columns 20-72), frame 2 shows the same pixels 4 px on.
    np.testing.assert_array_equal(clip[1][0, 18, 22:70], clip[2][0, 18, 26:74])
    assert np.abs(clip[1][0, 18, 22:70] - clip[0][0, 18, 22:70]).mean() > 0.01
