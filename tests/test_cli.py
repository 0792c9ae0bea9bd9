"""The CLI end to end, as a person runs it: results, progress, Ctrl-C, bad input.

Most runs go through tests/cli_runner.py (the CLI's flags and main in this process: no new Python
and TensorFlow import a run); those about the process itself run it as one (run_cli_process):
TensorFlow kept quiet on stderr, the console script, an empty Keras cache, Ctrl-C.
"""

import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from style_transfer.samples import SAMPLE_CONTENT, SAMPLE_STYLE
from tests.cli_runner import run_in_process as run_cli
from tests.conftest import gradient_image
from tests.test_images import _png_header_only

FAST = ["--weights=none", "--max_size=32", "--steps=3"]


def run_cli_process(args, cwd, timeout=300):
    """`python -m style_transfer ARGS` in a process of its own, with an empty Keras cache and no way
    to download."""
    env = dict(os.environ)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # let the CLI quieten TensorFlow as it does for users
    env["KERAS_HOME"] = str(cwd / "keras_home")  # an empty Keras cache
    env["https_proxy"] = env["HTTPS_PROXY"] = "http://127.0.0.1:9"  # and no way to download
    return subprocess.run(
        [sys.executable, "-m", "style_transfer", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_clean_error(result, *fragments):
    """Exit 1, exactly one line on stderr naming the problem (each of `fragments`), no traceback."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("style-transfer: error: "), lines[0]
    assert all(fragment in lines[0] for fragment in fragments), lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_end_to_end_writes_png_and_intermediates(tmp_path, content_png, style_png):
    out = tmp_path / "out.png"
    args = ["--content", content_png, "--style", style_png, "--output", str(out), "--max_size=40", "--steps=4"]
    result = run_cli_process([*args, "--weights=none", "--save_every=2", "--network=vgg16"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""  # TensorFlow's own lines kept quiet
    with Image.open(out) as img:
        assert img.format == "PNG" and img.size == (40, 30)
        pixels = np.asarray(img)
    with Image.open(content_png) as img:
        content = np.asarray(img.resize((40, 30), Image.Resampling.LANCZOS))
    assert not np.array_equal(pixels, content)  # it changed the image ...
    assert np.abs(pixels.astype(float) - content).mean() < 40  # ... starting from the content
    assert (tmp_path / "out_00002.png").is_file()
    assert not (tmp_path / "out_00004.png").exists()  # the final step is the output itself
    assert "step 4/4" in result.stdout and "style" in result.stdout and "ETA" in result.stdout
    assert "Wrote" in result.stdout


def test_jpeg_output_and_flags(tmp_path, content_png, style_png):
    out = tmp_path / "out.jpg"
    result = run_cli(
        [
            *FAST,
            f"--content={content_png}",
            f"--style={style_png}",
            f"--output={out}",
            "--init=noise",
            "--seed=3",
            "--content_layers=block3_conv2",
            "--style_layers=block1_conv1:2,block2_conv1",
            "--content_weight=2",
            "--style_weight=0.5",
            "--tv_weight=0",
            "--learning_rate=0.1",
            "--optimizer=lbfgs",
            "--lbfgs_memory=4",
            "--scales=3",
            "--precision=float32",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    with Image.open(out) as img:
        assert img.format == "JPEG" and img.size == (32, 24)
    assert "vgg19 (none), float32 features" in result.stdout and "3 steps (32x24: 3)" in result.stdout
    # The first step's terms are those of the start these flags ask for (noise, seed 3) under their
    # loss (layers, layer weights, loss weights), computed here by the library: every flag arrived.
    from style_transfer import geometry, images, resample, starts, vgg
    from style_transfer.config import Config
    from style_transfer.objective import Objective

    config = Config(
        weights="none",
        max_size=32,
        seed=3,
        content_layers=("block3_conv2",),
        style_layers=("block1_conv1", "block2_conv1"),
        style_layer_weights=(2.0, 1.0),
        content_weight=2.0,
        style_weight=0.5,
        tv_weight=0.0,
        precision="float32",
    )
    content, style = images.load_image(content_png, max_size=32), images.load_image(style_png, max_size=32)
    style = resample.to_size(style, geometry.Geometry.of(config).style_size(style.shape[1:3], content.shape[1:3]))
    objective = Objective.of_images(vgg.extractor_for(config), content, [style], config.loss)
    expected = {k: float(v[0]) for k, v in objective(starts.initial_image(content, style, "noise", 3)).items()}
    lines = [line.split() for line in result.stdout.splitlines() if line.startswith("step ")]
    first = dict(zip(lines[0][2:10:2], map(float, lines[0][3:10:2]), strict=True))
    assert first.keys() == expected.keys() and first["tv"] == 0.0
    for name in ("total", "content", "style"):
        assert first[name] == pytest.approx(expected[name], rel=2e-3), (name, first, expected)
    assert float(lines[-1][3]) < first["total"]  # and L-BFGS lowered it


def test_creative_controls_through_the_cli(tmp_path, content_png, style_png):
    """Two styles blended, colour preservation, style scale, average pooling and an init image, at once."""
    init = tmp_path / "earlier.png"
    Image.fromarray(np.full((24, 32, 3), 128, np.uint8)).save(init)
    out = tmp_path / "out.png"
    second = tmp_path / "second.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (50, 40, 3), np.uint8)).save(second)
    args = [
        *FAST,
        f"--content={content_png}",
        f"--style={style_png},{second}",
        "--style_blend_weights=0.7,0.3",
        "--preserve_colors=luminance",
        "--style_scale=0.5",
        "--pooling=avg",
        f"--init={init}",
        f"--style_masks={init},{content_png}",
        f"--content_mask={content_png}",
        f"--output={out}",
    ]
    result = run_cli(args, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "(weight 0.7)" in result.stdout and "(weight 0.3)" in result.stdout
    with Image.open(out) as img:
        assert img.size == (32, 24)
    # Refining a result in place: the init image may be the output.
    result = run_cli([*args[:-2], f"--init={out}", f"--output={out}"], tmp_path)
    assert result.returncode == 0, result.stderr


def test_tensorboard_logs_hold_the_loss_terms_and_images(tmp_path, content_png, style_png):
    import tensorflow as tf

    out = tmp_path / "out.png"
    args = [*FAST, "--steps=4", "--save_every=2", f"--logdir={tmp_path / 'logs'}", f"--output={out}"]
    result = run_cli([*args, f"--content={content_png}", f"--style={style_png}"], tmp_path)
    assert result.returncode == 0, result.stderr
    runs = list((tmp_path / "logs").iterdir())
    assert len(runs) == 1 and runs[0].name.startswith("run-")
    scalars, pictures = {}, []
    for events in runs[0].glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(events)):
            for value in event.summary.value:
                if value.tag == "image":
                    width, height, png = tf.make_ndarray(value.tensor)
                    pictures.append((event.step, int(width), int(height), tf.io.decode_png(png).shape))
                else:
                    scalars.setdefault(value.tag, []).append((event.step, float(tf.make_ndarray(value.tensor))))
    assert set(scalars) == {"loss/total", "loss/content", "loss/style", "loss/tv"}
    assert [step for step, _ in scalars["loss/total"]] == [1, 2, 3, 4]
    for step, total in scalars["loss/total"]:  # total = the sum of the weighted terms
        parts = sum(dict(scalars[f"loss/{n}"])[step] for n in ("content", "style", "tv"))
        assert abs(total - parts) <= 1e-4 * abs(total)
    assert [(step, w, h) for step, w, h, _ in pictures] == [(2, 32, 24), (4, 32, 24)]  # every 2 steps; the final
    assert pictures[-1][3] == (24, 32, 3)
    # A second run (same second) goes to a folder of its own.
    from style_transfer import summaries

    second = summaries.new_run_dir(str(tmp_path / "logs"))
    assert os.path.isdir(second) and len(list((tmp_path / "logs").iterdir())) == 2


def test_folder_mode_skips_bad_photos_and_resumes(tmp_path, style_png):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name, seed in (("a.png", 1), ("b.jpg", 2)):
        Image.fromarray(gradient_image(24, 32, seed)).save(photos / name)
    (photos / "broken.png").write_bytes(b"not an image")
    (photos / "notes.txt").write_text("not a photo: not picked up")
    out = tmp_path / "results"
    args = [*FAST, f"--content={photos}", f"--style={style_png}", f"--output_dir={out}"]
    result = run_cli(args, tmp_path)
    assert result.returncode == 1  # documented: some photo failed
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1 and "broken.png" in errors[0] and errors[0].endswith("(skipped)"), result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["a_style.png", "b_style.png"]
    assert "Done: 2 written, 0 already there, 1 failed, of 3 photo(s)" in result.stdout
    # A rerun resumes: what exists is skipped; --overwrite redoes it. A glob picks the photos too.
    before = (out / "a_style.png").stat().st_mtime_ns
    result = run_cli([*FAST, f"--content={photos / '*.png'}", f"--style={style_png}", f"--output_dir={out}"], tmp_path)
    assert "Done: 0 written, 1 already there, 1 failed, of 2 photo(s)" in result.stdout, result.stdout
    assert (out / "a_style.png").stat().st_mtime_ns == before
    result = run_cli([*args, "--overwrite", "--output_pattern={style}-{content}.jpg"], tmp_path)
    assert "Done: 2 written" in result.stdout
    with Image.open(out / "style-a.jpg") as img:
        assert img.format == "JPEG" and img.size == (32, 24)


def test_folder_mode_batches_photos_of_one_size(tmp_path, style_png):
    """5 photos, one corrupt, of two sizes, --batch_size=2: the two first 24x32 photos go as one
    batch, the rest one by one (the last of each size); each result is what it is alone."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for name, (height, width), seed in (
        ("a.png", (24, 32), 1),
        ("b.png", (32, 24), 2),
        ("c.png", (24, 32), 3),
        ("d.png", (24, 32), 4),
    ):
        Image.fromarray(gradient_image(height, width, seed)).save(photos / name)
    (photos / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    args = [*FAST, "--steps=4", f"--content={photos}", f"--style={style_png}"]
    batched = run_cli([*args, f"--output_dir={tmp_path / 'batched'}", "--batch_size=2"], tmp_path)
    assert batched.returncode == 1
    assert "Done: 4 written, 0 already there, 1 failed, of 5 photo(s)" in batched.stdout, batched.stdout
    errors = batched.stderr.strip().splitlines()
    assert len(errors) == 1 and "[3/5]" in errors[0] and "bad.png" in errors[0], batched.stderr
    assert batched.stdout.count("a batch of 2") == 1, batched.stdout
    assert "Wrote " + ", ".join(str(tmp_path / "batched" / f"{n}_style.png") for n in "ac") in batched.stdout
    alone = run_cli([*args, f"--output_dir={tmp_path / 'alone'}"], tmp_path)
    assert "a batch of" not in alone.stdout
    for name in ("a", "b", "c", "d"):
        with (
            Image.open(tmp_path / "batched" / f"{name}_style.png") as x,
            Image.open(tmp_path / "alone" / f"{name}_style.png") as y,
        ):
            difference = np.abs(np.asarray(x, np.int16) - np.asarray(y, np.int16))
        assert difference.max() <= 1, name  # 8-bit rounding of results equal to 1e-4
    # --batch_size is for folder mode only.
    assert_clean_error(run_cli([*FAST, "--batch_size=2"], tmp_path), "--batch_size is for folder mode")


def test_distribution_strategies_through_the_cli(tmp_path, content_png, style_png):
    """one_device runs the in-graph loop (no per-step progress) in folder mode; what it cannot do is
    a one-line error. (A missing TPU's error: test_distribute.py.)"""
    photos = tmp_path / "photos"
    photos.mkdir()
    for name, seed in (("a.png", 1), ("b.png", 2)):
        Image.fromarray(gradient_image(24, 32, seed)).save(photos / name)
    args = [*FAST, f"--style={style_png}", "--distribution_strategy=one_device"]
    result = run_cli([*args, f"--content={photos}", f"--output_dir={tmp_path / 'out'}"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 replica(s): /job:localhost/replica:0/task:0/device:CPU:0" in result.stdout
    assert "in-graph loop (no per-step progress)" in result.stdout and "step 1/3" not in result.stdout
    assert "Done: 2 written" in result.stdout
    with Image.open(tmp_path / "out" / "a_style.png") as img:
        assert img.size == (32, 24)
    mask = tmp_path / "mask.png"
    Image.fromarray(np.full((24, 32), 255, np.uint8)).save(mask)
    assert_clean_error(
        run_cli([*args, f"--content={content_png}", f"--content_mask={mask}"], tmp_path), "takes no masks"
    )


def test_tiles_through_the_cli(tmp_path, style_png):
    """--tile_size: the run says how many tiles each scale takes and writes the result; what tiles
    cannot do (the in-graph loop of a strategy) is a one-line error."""
    content = tmp_path / "big.png"
    Image.fromarray(gradient_image(96, 128, 3)).save(content)
    args = [
        "--weights=none",
        "--steps=3",
        "--max_size=128",
        "--scales=1",
        f"--style={style_png}",
        f"--content={content}",
    ]
    out = tmp_path / "out.png"
    result = run_cli([*args, "--tile_size=64", "--tile_overlap=16", f"--output={out}"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "128x96: 3 in 6 tiles" in result.stdout
    with Image.open(out) as img:
        assert img.size == (128, 96)
    result = run_cli([*args, "--tile_size=64", "--distribution_strategy=one_device"], tmp_path)
    assert_clean_error(result, "runs the in-graph loop, which does not tile")


def test_a_failing_batch_is_retried_one_photo_at_a_time(tmp_path, style_png, nan_weights):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("a.png", "b.png"):
        Image.fromarray(gradient_image(32, 32, 1)).save(photos / name)
    args = [f"--content={photos}", f"--style={style_png}", f"--output_dir={tmp_path / 'out'}", "--max_size=32"]
    args += ["--network=vgg16", f"--weights={nan_weights}", "--steps=2", "--precision=float32", "--batch_size=2"]
    result = run_cli(args, tmp_path)
    assert "the batch of 2 failed (the loss became nan" in result.stdout
    assert "retrying one photo at a time" in result.stdout
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 2 and all("the loss became nan" in line for line in errors), result.stderr
    assert "Done: 0 written, 0 already there, 2 failed, of 2 photo(s)" in result.stdout
    assert result.returncode == 1 and not os.listdir(tmp_path / "out")


def test_folder_mode_errors(tmp_path, content_png, style_png):
    photos = tmp_path / "photos"
    photos.mkdir()
    result = run_cli([*FAST, f"--content={photos}", f"--style={style_png}"], tmp_path)
    assert_clean_error(result, "names several photos: pass --output_dir")
    result = run_cli([*FAST, f"--content={photos}", f"--output_dir={tmp_path}", "--output=x.png"], tmp_path)
    assert_clean_error(result, "--output names one file")
    result = run_cli([*FAST, f"--content={photos}", f"--output_dir={tmp_path / 'o'}"], tmp_path)
    assert_clean_error(result, "names no image files")
    result = run_cli(
        [*FAST, f"--content={content_png}", f"--output_dir={tmp_path}", "--output_pattern={x}.png"], tmp_path
    )
    assert_clean_error(result, "may use only {content} and {style}")


def test_bundled_sample_is_the_default(tmp_path):
    result = run_cli(FAST, tmp_path)
    assert result.returncode == 0, result.stderr
    with Image.open(tmp_path / "stylized.png") as img:
        assert img.size == (32, 21)  # Chelsea the cat is 451x300
    assert "chelsea.png" in result.stdout and "starry_night.jpg" in result.stdout


def test_no_flags_without_imagenet_weights_says_what_to_do(tmp_path):
    """`style-transfer` with no flags needs ImageNet VGG19; offline and uncached it explains."""
    console_script = shutil.which("style-transfer", path=os.path.dirname(sys.executable))
    assert console_script, "the style-transfer console script is not installed"
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env.update(KERAS_HOME=str(tmp_path / "keras_home"), https_proxy="http://127.0.0.1:9")
    env["HTTPS_PROXY"] = env["https_proxy"]
    result = subprocess.run([console_script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert_clean_error(result, "ImageNet weights for vgg19 are not in the Keras cache")
    assert (
        str(tmp_path / "keras_home" / "models" / "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5") in result.stderr
    )
    assert "--weights=PATH" in result.stderr
    assert not (tmp_path / "stylized.png").exists()


@pytest.fixture(scope="module")
def nan_weights(tmp_path_factory):
    """A VGG16 weights file whose every value is NaN: a corrupt download."""
    import keras

    model = keras.applications.VGG16(include_top=False, weights=None)
    model.set_weights([np.full(w.shape, np.nan, np.float32) for w in model.get_weights()])
    path = tmp_path_factory.mktemp("weights") / "nan.weights.h5"
    model.save_weights(path)
    return str(path)


def _write(tmp_path, name, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def _truncated_png(tmp_path):
    big = np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)
    path = tmp_path / "full.png"
    Image.fromarray(big).save(path)
    data = path.read_bytes()
    return _write(tmp_path, "truncated.png", data[: len(data) // 2])


BAD_INPUTS = {
    # name: (function (tmp_path, content, style) -> extra args, fragment of the error line)
    "missing-file": (lambda t, c, s: [f"--content={t / 'nope.png'}"], "does not exist; check the path"),
    "unreadable-directory": (lambda t, c, s: [f"--style={t}"], "is a directory"),
    "not-an-image": (lambda t, c, s: [f"--content={_write(t, 'notes.png', b'hello')}"], "is not an image"),
    "truncated": (lambda t, c, s: [f"--style={_truncated_png(t)}"], "is truncated or corrupt"),
    "decompression-bomb": (
        lambda t, c, s: [f"--content={_write(t, 'bomb.png', _png_header_only(20000, 20000))}"],
        "over the limit",
    ),
    "empty-file": (lambda t, c, s: [f"--content={_write(t, 'empty.png', b'')}"], "is empty (0 bytes)"),
    "zero-size": (
        lambda t, c, s: [f"--content={_write(t, 'zero.png', _png_header_only(0, 5))}"],
        "has zero size",
    ),
    "output-dir-missing": (lambda t, c, s: [f"--output={t / 'no' / 'out.png'}"], "does not exist; create it first"),
    "output-is-input": (lambda t, c, s: [f"--output={c}"], "is an input image and would be overwritten"),
    "output-extension": (lambda t, c, s: [f"--output={t / 'out.gif'}"], "use one of .png, .jpg, .jpeg"),
    "unknown-layer": (
        lambda t, c, s: ["--style_layers=block1_conv1,block9_conv9"],
        "unknown vgg19 layer(s) block9_conv9; valid layers are: block1_conv1, block1_conv2",
    ),
    "bad-setting": (lambda t, c, s: ["--learning_rate=-1"], "learning_rate must be > 0"),
    "too-small-for-the-layers": (lambda t, c, s: ["--max_size=16"], "needs at least 16 px on each side"),
    "weights-not-cached": (lambda t, c, s: ["--weights=imagenet"], "not in the Keras cache"),
    "weights-file-missing": (lambda t, c, s: [f"--weights={t / 'none.h5'}"], "does not exist"),
    "blend-count": (
        lambda t, c, s: ["--style_blend_weights=0.7,0.3"],
        "2 weights in --style_blend_weights for 1 style image(s)",
    ),
    "blend-negative": (lambda t, c, s: [f"--style={s},{s}", "--style_blend_weights=1,-1"], "must be >= 0"),
    "blend-all-zero": (lambda t, c, s: [f"--style={s},{s}", "--style_blend_weights=0,0"], "not all zero"),
    "blend-not-numbers": (lambda t, c, s: ["--style_blend_weights=a"], "takes numbers separated by commas"),
    "second-style-not-an-image": (
        lambda t, c, s: [f"--style={s},{_write(t, 'notes.jpg', b'hello')}"],
        "is not an image",
    ),
    "style-scale-range": (lambda t, c, s: ["--style_scale=10"], "style_scale must be between 0.25 and 4"),
    "init-missing": (lambda t, c, s: [f"--init={t / 'earlier.png'}"], "is neither one of content, recolored"),
    "init-not-an-image": (lambda t, c, s: [f"--init={_write(t, 'init.png', b'hello')}"], "is not an image"),
    "mask-count": (
        lambda t, c, s: [f"--style_masks={c},{c}"],
        "2 style masks for 1 style image(s)",
    ),
    "mask-not-an-image": (
        lambda t, c, s: [f"--style_masks={_write(t, 'mask.png', b'hello')}"],
        "style mask image",
    ),
    "content-mask-missing": (lambda t, c, s: [f"--content_mask={t / 'nope.png'}"], "does not exist"),
    "logdir-not-writable": (
        lambda t, c, s: [f"--logdir={_write(t, 'afile', b'x')}/logs"],
        "cannot write TensorBoard logs",
    ),
}


# Cases that need a process of their own: an empty Keras cache (Keras fixes its home on import).
IN_A_PROCESS = {"weights-not-cached"}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_gives_one_clear_line_and_no_output(case, tmp_path, content_png, style_png):
    make_args, fragment = BAD_INPUTS[case]
    out = tmp_path / "result.png"
    args = [*FAST, f"--content={content_png}", f"--style={style_png}", f"--output={out}"]
    result = (run_cli_process if case in IN_A_PROCESS else run_cli)(
        [*args, *make_args(tmp_path, content_png, style_png)], tmp_path
    )
    assert_clean_error(result, fragment)
    assert not out.exists()
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    if case == "output-is-input":
        with Image.open(content_png) as img:
            img.load()  # still intact


def test_non_finite_loss_is_reported(tmp_path, content_png, style_png, nan_weights):
    out = tmp_path / "result.png"
    args = [f"--content={content_png}", f"--style={style_png}", f"--output={out}", "--max_size=32"]
    result = run_cli(
        [*args, "--network=vgg16", f"--weights={nan_weights}", "--steps=3", "--precision=float32"], tmp_path
    )
    assert_clean_error(result, "the loss became nan at step 1")
    assert not out.exists()
    # In a reduced precision the run first goes on in float32 (one warning line), which fails the
    # same way here: the weights themselves are NaN.
    result = run_cli(
        [*args, "--network=vgg16", f"--weights={nan_weights}", "--steps=3", "--precision=bfloat16"], tmp_path
    )
    warning, error = result.stderr.strip().splitlines()
    assert warning == "style-transfer: warning: the loss became non-finite in bfloat16 at step 1; going on in float32"
    assert error.startswith("style-transfer: error: the loss became nan at step 1")
    assert result.returncode == 1 and not out.exists()


def interrupt_after_first_step(args, cwd):
    """Run the CLI for ever (a million steps), send SIGINT once step 1 is printed; (status, stdout, stderr)."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    process = subprocess.Popen(
        [sys.executable, "-m", "style_transfer", "--weights=none", "--max_size=32", "--steps=1000000", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in process.stdout:  # wait until the first step is done
            if line.startswith("step 1/"):
                break
        time.sleep(1)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    return process.returncode, stdout, stderr


def test_ctrl_c_saves_the_current_image(tmp_path, content_png, style_png):
    out = tmp_path / "out.png"
    status, _, stderr = interrupt_after_first_step(
        [f"--content={content_png}", f"--style={style_png}", f"--output={out}"], tmp_path
    )
    assert status == 130, stderr
    assert "Interrupted at step" in stderr and f"saved the current image to {out}" in stderr
    assert "Traceback" not in stderr
    with Image.open(out) as img:
        assert img.size == (32, 24)


def test_ctrl_c_in_folder_mode_writes_no_partial_result(tmp_path, content_png, style_png):
    """A partial result in --output_dir would look finished to the next (resuming) run."""
    photos, out = tmp_path / "photos", tmp_path / "results"
    photos.mkdir()
    Image.open(content_png).save(photos / "a.png")
    status, stdout, stderr = interrupt_after_first_step(
        [f"--content={photos}", f"--style={style_png}", f"--output_dir={out}"], tmp_path
    )
    assert status == 130, stderr
    assert "not written" in stderr and "Traceback" not in stderr
    assert "Stopped: 0 written" in stdout
    assert not list(out.iterdir())


REQUIRED_FLAGS = (
    "content style output max_size steps content_weight style_weight tv_weight content_layers "
    "style_layers network weights learning_rate init seed save_every scales precision jit_compile optimizer"
).split()


def test_help_lists_the_flags(tmp_path):
    from style_transfer.cli_common import flag_fields  # absl only, no TensorFlow

    result = run_cli_process(["--help"], tmp_path)  # exits 1, as every absl program's --help does
    for flag in REQUIRED_FLAGS + [field.name for field in flag_fields()]:
        assert f"--{flag}:" in result.stdout or f"--[no]{flag}:" in result.stdout, flag


def test_importing_the_package_does_not_import_tensorflow():
    """The CLI rejects bad files before paying for TensorFlow; library names still resolve lazily."""
    code = (
        "import sys, style_transfer as st, style_transfer.cli; "
        "assert 'tensorflow' not in sys.modules, 'tensorflow imported eagerly'; "
        "assert callable(st.stylize) and 'tensorflow' in sys.modules"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_a_trained_network_stylises_in_one_pass(tmp_path, content_png):
    """--model: no VGG (nothing downloaded: the next test, in a process of its own), the photo's
    size out, --tile_size (the whole picture's pass), folder mode, and the network's one-line errors.
    Its convolutions run in --precision (auto: bfloat16 where the CPU has it, as VGG's features)."""
    from style_transfer import devices, images, networks, transformer

    network = transformer.build(width=0.25, styles=2, seed=0)
    model = str(tmp_path / "net.npz")
    networks.save_network(network, model, ["starry", "wave"])
    out, photo = tmp_path / "out.png", str(tmp_path / "photo.png")
    Image.fromarray(gradient_image(150, 290, seed=3)).save(photo)
    args = ["--model", model, "--content", photo, "--output", str(out), "--tile_size=256", "--precision=float32"]
    result = run_cli(args, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "network" in result.stdout and "(starry 1, wave 0)" in result.stdout and "one pass" in result.stdout
    assert "tiles of 256 px" in result.stdout and "width 0.25, float32 convolutions" in result.stdout
    expected = transformer.stylize(network, images.load_image(photo, max_size=512), [1, 0]).numpy()
    with Image.open(out) as written:
        assert written.size == (expected.shape[2], expected.shape[1])
        assert np.abs(np.asarray(written, np.float32) / 255.0 - expected[0]).max() <= 1.0 / 255.0 + 1e-6
    photos = tmp_path / "photos"
    photos.mkdir()
    for name, seed in (("a.png", 1), ("b.png", 2)):
        Image.fromarray(gradient_image(24, 32, seed)).save(photos / name)
    args = ["--model", model, f"--content={photos}", f"--output_dir={tmp_path / 'results'}", "--batch_size=2"]
    result = run_cli([*args, "--style_blend_weights=0,1"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["a_wave.png", "b_wave.png"]
    assert "a batch of 2" in result.stdout
    assert f"{devices.resolved_precision('auto')} convolutions" in result.stdout  # --precision=auto's
    loaded, _ = networks.load_network(model, devices.resolved_precision("auto"))
    with Image.open(tmp_path / "results" / "a_wave.png") as written:
        expected = transformer.stylize(loaded, images.load_image(str(photos / "a.png"), max_size=512), [0, 1]).numpy()
        assert np.abs(np.asarray(written, np.float32) / 255.0 - expected[0]).max() <= 1.0 / 255.0 + 1e-6
    # One-line errors, each before TensorFlow is paid for.
    assert_clean_error(
        run_cli(["--model", str(tmp_path / "none.npz")], tmp_path),
        "no network file at",
        "the bundled networks, by name",
    )
    assert_clean_error(run_cli(["--model", content_png], tmp_path), "is not a network file")
    assert_clean_error(
        run_cli(["--model", model, "--style_blend_weights=1,1,1"], tmp_path),
        "holds 2 painting(s) (starry, wave); --style_blend_weights gives 3 weight(s)",
    )
    assert_clean_error(run_cli(["--model", model, "--style", content_png], tmp_path), "drop --style")


def test_the_bundled_network_stylises_the_sample_with_nothing_downloaded(tmp_path):
    """README's command, `style-transfer --model=starry_wave --output=...`: the sample cat in one
    pass, with an empty Keras cache and no network (no VGG at all), and the result is the trained
    network's: the painting's palette, the photo's edges."""
    from style_transfer import images, networks, transformer

    out = tmp_path / "cat.png"
    result = run_cli_process(["--model=starry_wave", f"--output={out}"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "(starry_night 1, great_wave_hokusai 0)" in result.stdout
    assert not any((tmp_path / "keras_home").rglob("*.h5"))  # nothing downloaded, nothing cached
    photo = images.load_image(SAMPLE_CONTENT, max_size=512)[0]
    with Image.open(out) as written:
        painted = np.asarray(written, np.float32) / 255.0
    assert painted.shape == photo.shape
    painting = images.load_image(SAMPLE_STYLE, max_size=256)[0]

    def palette_distance(a, b):  # mean and spread per channel
        return float(np.abs(a.mean((0, 1)) - b.mean((0, 1))).sum() + np.abs(a.std((0, 1)) - b.std((0, 1))).sum())

    assert palette_distance(painted, painting) < 0.65 * palette_distance(photo, painting)  # ~0.5 measured

    def edges(image, k=4):  # at 1/4 size, below the network's fine brush motif
        h, w = image.shape[0] // k * k, image.shape[1] // k * k
        luma = (image[:h, :w] @ np.array([0.299, 0.587, 0.114], np.float32)).reshape(h // k, k, w // k, k)
        return np.hypot(*np.gradient(luma.mean((1, 3))))

    # 0.82 measured; an untrained network of the same shape 0.33
    assert np.corrcoef(edges(painted).ravel(), edges(photo).ravel())[0, 1] > 0.6
    # The Great Wave, in-process: another palette from the same network.
    network, _ = networks.load_network("starry_wave")
    wave = transformer.stylize(network, photo[None], [0, 1]).numpy()[0]
    assert np.abs(wave - painted).mean() > 0.05
