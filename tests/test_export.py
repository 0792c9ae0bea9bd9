"""The export package: the SavedModel contract, checked with saved_model_cli, a fresh process, threads and the
REST request format. Tiny sizes and random weights: these test the plumbing, not the picture."""

import base64
import json
import os
import pathlib
import shutil
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
import tensorflow as tf

from style_transfer import export, images, multiscale, rest, vgg
from style_transfer.config import Config
from style_transfer.errors import StyleTransferError
from tests.cli_runner import run_program_in_process
from tests.conftest import gradient_image

# abstraction 0: the weights these tolerances were set with (a stronger style weight lets L-BFGS
# carry the graph's and eager mode's rounding further apart: 4.5e-4 at the default's 6).
CONFIG = Config(
    abstraction=0.0, network="vgg16", weights="none", max_size=32, steps=4, seed=0, scales=1, precision="float32"
)


def _png(height, width, seed) -> bytes:
    return images.encode_image(gradient_image(height, width, seed)[None] / 255.0)


# Already at max_size (longer side 32): the served model decodes them exactly as the library does.
CONTENT_PNG = _png(24, 32, 1)
STYLE_PNG = _png(32, 20, 2)


@pytest.fixture(scope="module")
def extractor():
    return vgg.extractor_for(CONFIG)


@pytest.fixture(scope="module")
def exported(tmp_path_factory, extractor):
    base = tmp_path_factory.mktemp("saved_models")
    return export.export_saved_model(CONFIG, str(base), "tiny", extractor=extractor)


@pytest.fixture(scope="module")
def serving(exported):
    return tf.saved_model.load(exported).signatures["serving_default"]


def _library_result(extractor, content_png=CONTENT_PNG, style_png=STYLE_PNG):
    content = images.decode_image(content_png)
    style = images.decode_image(style_png)
    content = images.resize(content, images.fit_size(content.shape[1], content.shape[2], CONFIG.schedule.max_size))
    style = images.resize(style, images.fit_size(style.shape[1], style.shape[2], CONFIG.schedule.max_size))
    return multiscale.stylize(content, style, CONFIG, extractor=extractor)


def _serve(signature, contents, styles):
    out = signature(content_bytes=tf.constant(contents), style_bytes=tf.constant(styles))["image_bytes"]
    return [images.decode_image(data) for data in out.numpy()]


def test_layout_versions_and_no_leftovers(exported, extractor):
    base, version = os.path.split(exported)
    assert version == "1" and os.path.basename(base) == "tiny"
    assert sorted(os.listdir(base)) == ["1"]  # no temporary folder left behind
    assert {"saved_model.pb", "variables", "assets.extra"} <= set(os.listdir(exported))
    assert export.next_version(base) == 2
    with pytest.raises(StyleTransferError, match="already exists"):
        export.export_saved_model(CONFIG, os.path.dirname(base), "tiny", 1, extractor=extractor, warmup=False)
    assert sorted(os.listdir(base)) == ["1"]


def test_warmup_requests_are_valid_predict_requests(exported, serving):
    from tensorflow_serving.apis import prediction_log_pb2

    records = list(tf.data.TFRecordDataset(os.path.join(exported, export.WARMUP_FILE)).as_numpy_iterator())
    assert len(records) == 1
    log = prediction_log_pb2.PredictionLog.FromString(records[0])
    request = log.predict_log.request
    assert request.model_spec.name == "tiny"
    assert request.model_spec.signature_name == "serving_default"
    inputs = {name: tf.make_ndarray(proto) for name, proto in request.inputs.items()}
    assert set(inputs) == {"content_bytes", "style_bytes"}
    (out,) = _serve(serving, list(inputs["content_bytes"]), list(inputs["style_bytes"]))
    assert max(out.shape[1:3]) == CONFIG.schedule.max_size  # warm-up runs at the exported size


def _saved_model_cli():
    path = shutil.which("saved_model_cli", path=os.path.dirname(sys.executable)) or shutil.which("saved_model_cli")
    assert path, "saved_model_cli (installed with tensorflow) not found"
    return path


def test_saved_model_cli_show_lists_the_signatures(exported):
    result = subprocess.run(
        [_saved_model_cli(), "show", "--dir", exported, "--all"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    serving_default = result.stdout.split("signature_def['serving_default']")[1].split("signature_def[")[0]
    for name in ("content_bytes", "style_bytes", "image_bytes"):
        assert f"['{name}']" in serving_default, name
    assert "DT_STRING" in serving_default
    assert "signature_def['stylize_images']" in result.stdout


def test_saved_model_cli_run_writes_a_png(exported, tmp_path):
    """The check that catches untracked Keras 3 variables ("Could not find variable ...")."""
    np.save(tmp_path / "content.npy", np.array([CONTENT_PNG], dtype=object))
    np.save(tmp_path / "style.npy", np.array([STYLE_PNG], dtype=object))
    result = subprocess.run(
        [_saved_model_cli(), "run", "--dir", exported, "--tag_set", "serve", "--signature_def", "serving_default"]
        + ["--inputs", f"content_bytes={tmp_path / 'content.npy'};style_bytes={tmp_path / 'style.npy'}"]
        + ["--outdir", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (png,) = np.load(tmp_path / "out" / "image_bytes.npy", allow_pickle=True)
    assert images.decode_image(png).shape == (1, 24, 32, 3)


def test_fresh_process_matches_the_library(exported, extractor, tmp_path):
    script = textwrap.dedent(
        f"""
        import numpy as np, tensorflow as tf
        model = tf.saved_model.load({exported!r})
        content, style = open({str(tmp_path / "c.png")!r}, "rb").read(), open({str(tmp_path / "s.png")!r}, "rb").read()
        serve = model.signatures["serving_default"]
        out = serve(content_bytes=tf.constant([content]), style_bytes=tf.constant([style]))
        with open({str(tmp_path / "out.png")!r}, "wb") as f:
            f.write(out["image_bytes"].numpy()[0])
        """
    )
    (tmp_path / "c.png").write_bytes(CONTENT_PNG)
    (tmp_path / "s.png").write_bytes(STYLE_PNG)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    served = images.decode_image((tmp_path / "out.png").read_bytes())
    expected = _library_result(extractor)
    # Tolerance: the served image is a PNG, so 8-bit rounding (0.5/255) plus float noise.
    np.testing.assert_allclose(served, expected, atol=1 / 255)
    assert np.abs(served - images.decode_image(CONTENT_PNG)).max() > 0.02  # and it did stylise


def test_float_signature_matches_the_library(exported, extractor):
    content, style = images.decode_image(CONTENT_PNG), images.decode_image(STYLE_PNG)
    served = tf.saved_model.load(exported).signatures["stylize_images"](content=content, style=style)["image"]
    np.testing.assert_allclose(
        served.numpy(), multiscale.stylize(content, style, CONFIG, extractor=extractor), atol=1e-4
    )


def test_resizing_in_graph_is_close_to_the_library(serving, extractor):
    """Inputs larger than max_size: TF's Lanczos resize in the graph vs Pillow's in the library."""
    content_png, style_png = _png(60, 80, 3), _png(50, 40, 4)
    (served,) = _serve(serving, [content_png], [style_png])
    expected = _library_result(extractor, content_png, style_png)
    assert served.shape == expected.shape == (1, 24, 32, 3)
    assert np.abs(served - expected).mean() < 0.02


def test_batch_and_mismatched_lengths(serving):
    a, b = _serve(serving, [CONTENT_PNG, STYLE_PNG], [STYLE_PNG, CONTENT_PNG])
    assert a.shape == (1, 24, 32, 3) and b.shape == (1, 32, 20, 3)  # each the size of its content
    with pytest.raises(tf.errors.InvalidArgumentError, match="differ in length"):
        _serve(serving, [CONTENT_PNG, CONTENT_PNG], [STYLE_PNG])


def test_concurrent_calls_equal_sequential_calls(serving):
    pairs = [(_png(24, 32, i), _png(32, 32, i + 10)) for i in range(4)] * 2
    sequential = [serving(content_bytes=[c], style_bytes=[s])["image_bytes"].numpy()[0] for c, s in pairs]
    concurrent = [None] * len(pairs)
    barrier = threading.Barrier(len(pairs))

    def call(i):
        barrier.wait()
        content, style = pairs[i]
        concurrent[i] = serving(content_bytes=[content], style_bytes=[style])["image_bytes"].numpy()[0]

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(pairs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    for got, want in zip(concurrent, sequential, strict=True):
        np.testing.assert_allclose(images.decode_image(got), images.decode_image(want), atol=1 / 255)
    assert len({bytes(x) for x in sequential}) == 4  # different inputs gave different outputs


def _tf_serving_rest(signature, body: str) -> str:
    """What TF Serving does with a row-format :predict request, minus the HTTP."""
    request = json.loads(body)
    assert request["signature_name"] == "serving_default"
    names = request["instances"][0].keys()
    inputs = {}
    for name in names:
        values = [instance[name] for instance in request["instances"]]
        if name.endswith("_bytes"):
            values = [base64.b64decode(v["b64"]) for v in values]
        inputs[name] = tf.constant(values)
    outputs = signature(**inputs)
    encoded = [base64.b64encode(x).decode("ascii") for x in outputs["image_bytes"].numpy()]
    return json.dumps({"predictions": [{"b64": x} for x in encoded]})


def test_rest_request_format_and_recovery_after_corrupt_bytes(serving):
    body = json.dumps(rest.request_json({"content_bytes": [CONTENT_PNG], "style_bytes": [STYLE_PNG]}))
    (png,) = rest.images_from_response(json.loads(_tf_serving_rest(serving, body)))
    assert images.decode_image(png).shape == (1, 24, 32, 3)

    corrupt = json.dumps(
        rest.request_json({"content_bytes": [b"\x89PNG\r\n\x1a\n not really"], "style_bytes": [STYLE_PNG]})
    )
    with pytest.raises(tf.errors.InvalidArgumentError):
        _tf_serving_rest(serving, corrupt)
    truncated = json.dumps(
        rest.request_json({"content_bytes": [CONTENT_PNG[: len(CONTENT_PNG) // 2]], "style_bytes": [STYLE_PNG]})
    )
    with pytest.raises(tf.errors.InvalidArgumentError):
        _tf_serving_rest(serving, truncated)
    # The model keeps serving.
    (again,) = rest.images_from_response(json.loads(_tf_serving_rest(serving, body)))
    assert again == png


EXPORT_CLI = pathlib.Path(__file__).resolve().parent.parent / "style_transfer" / "export" / "cli.py"


def test_export_command_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    args = [sys.executable, "-m", "style_transfer.export", "--weights=none", "--network=vgg16", "--max_size=24"]
    args += ["--steps=1", f"--export_dir={tmp_path}", "--name=cli", "--style_layers=block1_conv1,block2_conv1"]
    args += ["--content_layers=block2_conv2"]
    first = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    assert first.returncode == 0, first.stderr
    assert first.stderr.strip() == ""
    assert f"Wrote {tmp_path / 'cli' / '1'}" in first.stdout
    # The same again, in this process (tests/cli_runner.py: the console's quiet start is checked above).
    again = run_program_in_process(EXPORT_CLI, [*args[3:], "--version=1"])
    assert again.returncode == 1
    assert again.stderr.strip().splitlines() == [
        f"style-transfer-export: error: {tmp_path / 'cli' / '1'} already exists; "
        "choose another --version (or none for the next free one)"
    ]


def test_missing_serving_api_is_a_clear_error(tmp_path, monkeypatch, extractor):
    monkeypatch.setitem(sys.modules, "tensorflow_serving", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "tensorflow_serving.apis", None)
    with pytest.raises(
        StyleTransferError, match=r"pip install 'style_transfer\[serving\]', or export with warmup=False"
    ):
        export.export_saved_model(CONFIG, str(tmp_path), "m", extractor=extractor)
    assert not (tmp_path / "m").exists()  # refused before anything was traced or written
    assert os.path.isdir(export.export_saved_model(CONFIG, str(tmp_path), "m", extractor=extractor, warmup=False))


@pytest.mark.parametrize(
    "changes",
    [
        dict(preserve_colors="luminance"),
        dict(preserve_colors="histogram"),
        dict(style_scale=0.5),
        dict(style_scale=2.0),
    ],
    ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()),
)
def test_in_graph_controls_match_the_library(extractor, changes):
    """The controls an exported model supports: its in-graph loop gives what stylize() gives."""
    config = CONFIG.replace(**changes)
    content, style = images.decode_image(CONTENT_PNG), images.decode_image(STYLE_PNG)
    in_graph = tf.function(lambda c, s: multiscale.coarse_to_fine_in_graph(extractor, c, [s], config))(content, style)
    expected = multiscale.stylize(content, style, config, extractor=extractor)
    np.testing.assert_allclose(in_graph.numpy(), expected, atol=1e-4)
    plain = multiscale.stylize(content, style, CONFIG, extractor=extractor)
    assert np.abs(expected - plain).max() > 0.01  # the control changed the result


def test_export_refuses_what_a_request_cannot_carry(tmp_path, extractor):
    init = tmp_path / "init.png"
    init.write_bytes(CONTENT_PNG)
    with pytest.raises(export.ExportError, match="an image path cannot be exported"):
        export.export_saved_model(CONFIG.replace(init=str(init)), str(tmp_path), extractor=extractor)
    with pytest.raises(export.ExportError, match="one style image per request"):
        export.export_saved_model(CONFIG.replace(style_blend_weights=(1.0, 2.0)), str(tmp_path), extractor=extractor)
    with pytest.raises(export.ExportError, match="runs untiled"):
        export.export_saved_model(CONFIG.replace(tile_size=512), str(tmp_path), extractor=extractor)


def test_the_export_command_imports_its_package_once_and_no_tensorflow_for_help():
    """`python -m style_transfer.export --help` runs export/__main__.py: the package is imported once
    (no module imported both as __main__ and by name) and answers without TensorFlow."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "style_transfer.export", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "--export_dir" in result.stdout and "--max_size" in result.stdout, result.stderr[-2000:]  # absl: status 1
    imported = [
        line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")
    ]
    assert imported.count("style_transfer.export") == 1, [m for m in imported if "export" in m]
    assert "style_transfer.export.cli" in imported and "tensorflow" not in imported


class _Doubler(tf.Module):
    """A model that is not the optimisation: what else the writer serves (the fast networks will)."""

    @tf.function(
        input_signature=[tf.TensorSpec([None], tf.int64, name="count"), tf.TensorSpec([None], tf.string, name="label")]
    )
    def serve(self, count, label):
        return {"doubled": 2 * count, "label": label}


def test_the_writer_serves_any_module_with_typed_warmup_records(tmp_path):
    from tensorflow_serving.apis import prediction_log_pb2

    from style_transfer.export import writer

    module = _Doubler()
    signatures = {"serving_default": module.serve.get_concrete_function()}
    warmup = {"serving_default": {"count": [3, 4], "label": [b"a", b"b"]}}
    path = writer.write_saved_model(module, signatures, str(tmp_path), "doubler", warmup=warmup)
    assert path == str(tmp_path / "doubler" / "1") and sorted(os.listdir(tmp_path / "doubler")) == ["1"]
    (record,) = tf.data.TFRecordDataset(os.path.join(path, writer.WARMUP_FILE)).as_numpy_iterator()
    request = prediction_log_pb2.PredictionLog.FromString(record).predict_log.request
    assert request.model_spec.name == "doubler" and request.model_spec.signature_name == "serving_default"
    # Each input typed as the signature's own spec says (int64 here, not Python's default int32).
    assert tf.make_ndarray(request.inputs["count"]).dtype == np.int64
    assert list(tf.make_ndarray(request.inputs["label"])) == [b"a", b"b"]
    loaded = tf.saved_model.load(path).signatures["serving_default"]
    assert loaded(count=tf.constant([5], tf.int64), label=tf.constant([b"x"]))["doubled"].numpy().tolist() == [10]
    # The next version by default; a warm-up request that misses an input is refused, nothing left.
    with pytest.raises(ValueError, match="warm-up inputs"):
        writer.write_saved_model(
            module, signatures, str(tmp_path), "doubler", warmup={"serving_default": {"count": [1]}}
        )
    assert sorted(os.listdir(tmp_path / "doubler")) == ["1"]
    assert writer.write_saved_model(module, signatures, str(tmp_path), "doubler").endswith(os.path.join("doubler", "2"))


def test_an_exported_model_runs_the_sliced_statistic(extractor):
    """Exported signatures see sizes only at run time: sliced's subsets and per-image loop take
    their dynamic path there (mean_cov has none: matmuls; in-graph: tests/test_statistics.py). The
    float signature's function, as export_saved_model saves it (saving and loading are the tests
    above: 20 s more here), gives the library's result (Adam: rounding flips a step only where a
    gradient is ~0)."""
    config = CONFIG.replace(style_loss="sliced", optimizer="adam", learning_rate=0.01, init="content")
    module = export.StyleTransferModule(extractor, config)
    content, style = images.decode_image(CONTENT_PNG), images.decode_image(STYLE_PNG)
    signature = module.serve_images.get_concrete_function()  # [None, None, None, 3] in, as exported
    served = signature(content=tf.constant(content), style=tf.constant(style))["image"].numpy()
    expected = multiscale.stylize(content, style, config, extractor=extractor)
    assert served.shape == expected.shape and np.abs(served - content).mean() > 5e-3  # it stylised
    assert np.abs(served - expected).mean() < 1e-3
