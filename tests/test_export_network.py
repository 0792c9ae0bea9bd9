"""A trained network exported (export/network.py): SavedModel signatures against the library,
sizes, blends, concurrent requests, warm-up records, saved_model_cli, and TFLite."""

from __future__ import annotations

import os
import pathlib
import subprocess
import threading

import numpy as np
import pytest
import tensorflow as tf

from style_transfer import images, transformer
from style_transfer.export import network as exported_network
from style_transfer.export import writer
from tests.cli_runner import run_program_in_process
from tests.conftest import conditional_network, gradient_image
from tests.test_export import _png, _saved_model_cli

MAX_SIZE = 48


@pytest.fixture(scope="module")
def conditional():
    return conditional_network()


@pytest.fixture(scope="module")
def exported(conditional, tmp_path_factory):
    base = tmp_path_factory.mktemp("models")
    return exported_network.export_network(conditional, str(base), "net", max_size=MAX_SIZE)


@pytest.fixture(scope="module")
def loaded(exported):
    return tf.saved_model.load(exported)


def test_the_served_pngs_are_the_librarys(conditional, loaded):
    """A photo smaller than max_size at its own size, a larger one at max_size; each with its own
    blend (normalised in-graph); within PNG rounding of the library's result."""
    small, large = _png(30, 40, 1), _png(90, 120, 2)
    blends = np.array([[1.0, 0.0], [1.0, 3.0]], np.float32)
    out = loaded.signatures["serving_default"](image_bytes=tf.constant([small, large]), blend_weights=blends)
    served = [images.decode_image(data) for data in out["image_bytes"].numpy()]
    assert served[0].shape == (1, 30, 40, 3) and served[1].shape == (1, MAX_SIZE * 3 // 4, MAX_SIZE, 3)
    library_large = images.resize(images.decode_image(large), (MAX_SIZE * 3 // 4, MAX_SIZE))
    for image, source, blend in ((served[0], images.decode_image(small), [1, 0]), (served[1], library_large, [1, 3])):
        expected = transformer.stylize(conditional, source, blend).numpy()
        assert np.abs(image - expected).max() <= 1.5 / 255.0
    floats = loaded.signatures["stylize_images"](image=images.decode_image(small), blend_weights=blends[1:])["image"]
    expected = transformer.stylize(conditional, images.decode_image(small), [1, 3]).numpy()
    np.testing.assert_allclose(floats.numpy(), expected, atol=1e-5)


def test_bad_blends_fail_the_request(loaded):
    serve = loaded.signatures["serving_default"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="blend_weights must not be all zero"):
        serve(image_bytes=tf.constant([_png(20, 20, 1)]), blend_weights=tf.zeros([1, 2]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="differ in length"):
        serve(image_bytes=tf.constant([_png(20, 20, 1)]), blend_weights=tf.ones([2, 2]))


def test_eight_concurrent_requests_get_what_one_gets(loaded):
    serve = loaded.signatures["serving_default"]
    photos = [_png(24 + 2 * k, 32, k) for k in range(8)]

    def one(k):
        blend = tf.constant([[1.0, float(k)]])
        return serve(image_bytes=tf.constant([photos[k]]), blend_weights=blend)["image_bytes"].numpy()[0]

    alone = [one(k) for k in range(8)]
    together: list[bytes | None] = [None] * 8
    threads = [threading.Thread(target=lambda k=k: together.__setitem__(k, one(k))) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert together == alone


def test_layout_warmup_and_saved_model_cli(exported, tmp_path):
    from tensorflow_serving.apis import prediction_log_pb2

    assert {"saved_model.pb", "variables", "assets.extra"} <= set(os.listdir(exported))
    (record,) = tf.data.TFRecordDataset(os.path.join(exported, writer.WARMUP_FILE)).as_numpy_iterator()
    request = prediction_log_pb2.PredictionLog.FromString(record).predict_log.request
    assert set(request.inputs) == {"image_bytes", "blend_weights"}
    np.save(tmp_path / "photo.npy", np.array([_png(20, 28, 3)], dtype=object))
    np.save(tmp_path / "blend.npy", np.array([[0.5, 0.5]], np.float32))
    result = subprocess.run(
        [_saved_model_cli(), "run", "--dir", exported, "--tag_set", "serve", "--signature_def", "serving_default"]
        + ["--inputs", f"image_bytes={tmp_path / 'photo.npy'};blend_weights={tmp_path / 'blend.npy'}"]
        + ["--outdir", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (png,) = np.load(tmp_path / "out" / "image_bytes.npy", allow_pickle=True)
    assert images.decode_image(png).shape == (1, 20, 28, 3)


def test_tflite_with_float16_weights_gives_the_networks_result(conditional, tmp_path):
    path = str(tmp_path / "net.tflite")
    exported_network.to_tflite(conditional, path)
    assert os.path.getsize(path) < 0.6 * 4 * conditional.count_params() + 200_000  # float16 weights
    photo = (gradient_image(36, 52, 5)[None] / 255.0).astype(np.float32)
    interpreter = tf.lite.Interpreter(model_path=path)
    inputs = {detail["name"]: detail["index"] for detail in interpreter.get_input_details()}
    image_input = next(index for name, index in inputs.items() if "image" in name)
    blend_input = next(index for name, index in inputs.items() if "blend" in name)
    interpreter.resize_tensor_input(image_input, photo.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(image_input, photo)
    interpreter.set_tensor(blend_input, np.array([[0.25, 0.75]], np.float32))
    interpreter.invoke()
    result = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    expected = transformer.stylize(conditional, photo, [0.25, 0.75]).numpy()
    assert result.shape == expected.shape
    difference = np.abs(result - expected)
    assert difference.mean() < 3e-3 and difference.max() < 3e-2, (difference.mean(), difference.max())


EXPORT_CLI = pathlib.Path(__file__).resolve().parent.parent / "style_transfer" / "export" / "cli.py"


def test_the_export_command_line_takes_a_network(tmp_path):
    """style-transfer-export --model: a network of one painting (no blend input), named after its
    file, serving the library's result; --tflite beside it; a wrong file is one line."""
    import sys

    from style_transfer import networks

    network = transformer.build(width=0.25, styles=1, seed=1)
    model = str(tmp_path / "wave.npz")
    networks.save_network(network, model, ["wave"])
    args = [sys.executable, "-m", "style_transfer.export", f"--model={model}", f"--export_dir={tmp_path / 'models'}"]
    args += ["--max_size=64", "--nowarmup", f"--tflite={tmp_path / 'wave.tflite'}"]
    result = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "paintings wave; up to 64 px" in result.stdout
    assert os.path.getsize(tmp_path / "wave.tflite") > 0
    serve = tf.saved_model.load(str(tmp_path / "models" / "wave" / "1")).signatures["serving_default"]
    assert set(serve.structured_input_signature[1]) == {"image_bytes"}
    (png,) = serve(image_bytes=tf.constant([_png(20, 24, 4)]))["image_bytes"].numpy()
    expected = transformer.stylize(network, images.decode_image(_png(20, 24, 4))).numpy()
    assert np.abs(images.decode_image(png) - expected).max() <= 1.5 / 255.0
    bad = run_program_in_process(EXPORT_CLI, [f"--model={tmp_path / 'wave.tflite'}"])  # in this process
    assert bad.returncode == 1
    assert bad.stderr.strip().endswith("is not a network file (style_transfer's .npz, from training)")


def test_a_rest_request_to_the_network(conditional, loaded):
    """rest.network_request_json, carried as TF Serving carries it (test_export's stand-in for the
    HTTP): the answer is the served PNG; one blend row serves every photo."""
    import json

    from style_transfer import rest
    from tests.test_export import _tf_serving_rest

    photos = [_png(20, 28, 1), _png(24, 24, 2)]
    body = rest.network_request_json(photos, [[1, 1]])
    assert [instance["blend_weights"] for instance in body["instances"]] == [[1.0, 1.0], [1.0, 1.0]]
    answers = rest.images_from_response(
        json.loads(_tf_serving_rest(loaded.signatures["serving_default"], json.dumps(body)))
    )
    for png, photo in zip(answers, photos, strict=True):
        expected = transformer.stylize(conditional, images.decode_image(photo), [1, 1]).numpy()
        assert np.abs(images.decode_image(png) - expected).max() <= 1.5 / 255.0
