"""The notebooks: committed without outputs, in step with notebooks/build.py and setup.cfg's url,
each executed end to end by papermill in a real Jupyter kernel; style_transfer.notebook's helpers."""

import base64
import functools
import http.server
import pathlib
import runpy
import subprocess
import sys
import threading

import nbformat
import numpy as np
import pytest
from PIL import Image

from style_transfer import images, notebook, rest
from style_transfer.errors import ImageError
from tests.conftest import SAMPLES, VGG16_WEIGHTS, gradient_image

REPO = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = ("quickstart.ipynb", "controls.ipynb", "export_and_serve.ipynb", "fast.ipynb")
BUILD = runpy.run_path(str(REPO / "notebooks" / "build.py"))


def _read(name):
    return nbformat.read(REPO / "notebooks" / name, as_version=4)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_notebooks_have_no_outputs_and_a_parameters_cell(name):
    nb = _read(name)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (name, cell.source[:60])
    parameters = [cell for cell in nb.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(parameters) == 1, name
    defined = {line.split("=")[0].strip() for line in parameters[0].source.splitlines() if "=" in line}
    assert {"content", "style", "max_size", "steps", "network", "weights"} <= defined
    # The badge on top opens this very notebook from the repository setup.cfg names.
    assert BUILD["colab_url"](name) in nb.cells[0].source
    assert BUILD["colab_url"](name).startswith("https://colab.research.google.com/github/")
    # Colab-only cells do nothing elsewhere: each is guarded by IN_COLAB.
    for cell in nb.cells:
        if "google.colab import files" in cell.source or "run_line_magic" in cell.source:
            assert "if IN_COLAB" in cell.source, cell.source


def test_notebooks_and_readme_badges_are_what_build_py_writes():
    """The one source: notebooks/build.py and setup.cfg's url; `python notebooks/build.py` rewrites."""
    assert BUILD["main"](["--check"]) == 0
    readme = (REPO / "README.md").read_text()
    for name in NOTEBOOKS:
        assert BUILD["badge"](name) in readme


def _weights_args():
    if VGG16_WEIGHTS.exists():
        return {"network": "vgg16", "weights": str(VGG16_WEIGHTS)}
    return {"network": "vgg16", "weights": "none"}


def _execute(name, tmp_path, **parameters):
    import papermill

    out = tmp_path / f"out_{name}"
    papermill.execute_notebook(
        str(REPO / "notebooks" / name),
        str(out),
        parameters={"max_size": 64, "steps": 4, **_weights_args(), **parameters},
        cwd=str(tmp_path),
        kernel_name="python3",
        progress_bar=False,
    )
    return nbformat.read(out, as_version=4)


def _outputs(nb, kind):
    return [o for cell in nb.cells for o in cell.get("outputs", []) if kind in o.get("data", {})]


def test_quickstart_runs_on_images_it_has_never_seen(tmp_path):
    """As a new user runs it: papermill with a photo and a painting of their own."""
    photo = tmp_path / "my photo.png"
    Image.fromarray(gradient_image(48, 72, 3)).save(photo)
    painting = SAMPLES / "style" / "udnie_picabia.jpg"
    if not painting.exists():
        painting = tmp_path / "painting.png"
        Image.fromarray(gradient_image(40, 40, 4)).save(painting)
    nb = _execute("quickstart.ipynb", tmp_path, content=str(photo), style=str(painting), progress_every=2)
    with Image.open(tmp_path / "stylized.png") as result:
        assert result.size == (64, 43)  # the photo's shape at max_size
    # The live progress is one text and one picture output, updated in place, not one per step.
    progress_cell = next(c for c in nb.cells if "LiveProgress" in c.source)
    assert len(progress_cell.outputs) == 2
    assert len(_outputs(nb, "image/png")) >= 3  # the inputs, the live image, before | style | after


def test_controls_notebook_runs(tmp_path):
    nb = _execute("controls.ipynb", tmp_path)
    assert len(_outputs(nb, "image/png")) == 12  # the inputs and one row per section


def test_export_and_serve_notebook_runs(tmp_path):
    nb = _execute("export_and_serve.ipynb", tmp_path, export_dir=str(tmp_path / "models"))
    assert (tmp_path / "models" / "style_transfer" / "1" / "saved_model.pb").exists()
    text = "".join(o.get("text", "") for cell in nb.cells for o in cell.get("outputs", []))
    assert "serving_default" in text and "server_url is empty" in text
    assert len(_outputs(nb, "image/png")) == 1  # the served result, next to its inputs


def test_fetch_image_reads_paths_urls_and_the_samples(tmp_path):
    photo = tmp_path / "p.png"
    Image.fromarray(gradient_image(30, 40, 1)).save(photo)
    local = notebook.fetch_image(str(photo), max_size=20)
    assert local.shape == (1, 15, 20, 3)
    assert notebook.fetch_image("", sample="style").shape[2] == 1024  # Starry Night, as bundled
    assert notebook.fetch_image("", sample="style2", max_size=100).shape == (1, 55, 100, 3)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        np.testing.assert_array_equal(notebook.fetch_image(f"{url}/p.png", max_size=20), local)
        with pytest.raises(ImageError, match="cannot fetch content image .*missing.png"):
            notebook.fetch_image(f"{url}/missing.png")
        (tmp_path / "not.png").write_bytes(b"hello")
        with pytest.raises(ImageError, match="not an image"):
            notebook.fetch_image(f"{url}/not.png")
    finally:
        server.shutdown()
    with pytest.raises(ImageError, match="does not exist"):
        notebook.fetch_image(str(tmp_path / "nothing.png"))


def test_picture_row_and_device_line():
    row = notebook.picture_row(
        [np.zeros((1, 20, 40, 3), np.float32), np.ones((1, 40, 40, 3), np.float32)], ["a", "b"], height=50
    )
    assert row.size == (100 + 6 + 50, 50 + 18)
    assert row.getpixel((10, 10)) == (0, 0, 0) and row.getpixel((120, 10)) == (255, 255, 255)
    line = notebook.describe_device()
    assert "precision 'auto' picks" in line and ("GPU" in line or "CPU" in line)
    assert notebook.in_colab() is False


def test_live_progress_keeps_every_step_and_shows_every_nth(monkeypatch):
    shown = []

    class Handle:
        def update(self, value):
            shown.append(value)

    import IPython.display

    def display(value, **kwargs):
        shown.append(value)
        return Handle()

    monkeypatch.setattr(IPython.display, "display", display)
    progress = notebook.LiveProgress(steps=5, every=2)
    image = np.full((1, 8, 8, 3), 0.5, np.float32)
    for step in range(1, 6):
        progress(step, {"total": float(step)}, image)
    assert [h["total"] for h in progress.history] == [1, 2, 3, 4, 5]
    # The first text, then steps 2, 4 and the last: a text and a picture each (the picture's output
    # made at the first image, then updated).
    assert len(shown) == 1 + 2 * 3
    shown.clear()
    training = notebook.LiveProgress(steps=4, every=2)  # a network's training: (step, terms), no image
    for step in range(1, 5):
        training(step, {"total": 1.0})
    assert len(shown) == 1 + 2 and all(not hasattr(value, "size") for value in shown)


def test_decode_request_gives_the_signature_its_bytes():
    body = rest.request_json({"content_bytes": [b"c1", b"c2"], "style_bytes": [b"s1", b"s2"]})
    assert rest.decode_request(body) == {"content_bytes": [b"c1", b"c2"], "style_bytes": [b"s1", b"s2"]}
    png = images.encode_image(np.zeros((1, 2, 2, 3), np.float32))
    response = {"predictions": [{"b64": base64.b64encode(png).decode()}]}
    assert rest.images_from_response(response) == [png]
    # Any signature: names not ending in _bytes travel as they are; rows must be as long.
    body = rest.request_json({"count": [3, 4], "label_bytes": [b"a", b"b"]}, signature_name="other")
    assert body["signature_name"] == "other" and body["instances"][0] == {"count": 3, "label_bytes": {"b64": "YQ=="}}
    assert rest.decode_request(body) == {"count": [3, 4], "label_bytes": [b"a", b"b"]}
    with pytest.raises(ValueError, match="different lengths"):
        rest.request_json({"a": [1], "b": [1, 2]})


def test_importing_the_notebook_helpers_defines_no_flags():
    """style_transfer.notebook imports TensorFlow quietly (quiet.py) without the CLI's flag module:
    none of a notebook's absl flags is ours (TensorFlow and absl define their own)."""
    code = (
        "from absl import flags; import style_transfer.notebook, sys; "
        "print([m for m in flags.FLAGS.flags_by_module_dict() if 'style_transfer' in m]); "
        "print(any(name in flags.FLAGS for name in ('steps', 'max_size', 'style_weight', 'output'))); "
        "print('style_transfer.cli_common' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines() == ["[]", "False", "False"]
    # The same check sees the CLI's flags when they are there.
    code = "from absl import flags; import style_transfer.cli; print('steps' in flags.FLAGS)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "True"


def test_notebooks_import_the_package_and_copy_none_of_it():
    """No notebook defines the package's functions again (a def is allowed only for a local helper)."""
    package_functions = set()
    for path in (REPO / "style_transfer").rglob("*.py"):
        package_functions |= {
            line.split("def ")[1].split("(")[0] for line in path.read_text().splitlines() if line.startswith("def ")
        }
    for name in NOTEBOOKS:
        for cell in _read(name).cells:
            defined = {line.split("def ")[1].split("(")[0] for line in cell.source.splitlines() if "def " in line}
            assert not defined & package_functions, (name, defined & package_functions)
        code = "\n".join(cell.source for cell in _read(name).cells if cell.cell_type == "code")
        assert "import style_transfer as st" in code, name  # they call the package


def test_fast_notebook_runs(tmp_path):
    """The bundled network, its blend, and a small network trained on a folder of photos."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for seed in range(3):
        Image.fromarray(gradient_image(80, 96, seed)).save(folder / f"{seed}.png")
    parameters = {"train_photos": str(folder), "steps": 2, "crop_size": 32, "batch_size": 2, "max_size": 96}
    nb = _execute("fast.ipynb", tmp_path, **parameters)
    text = "".join(o.get("text", "") for cell in nb.cells for o in cell.get("outputs", []))
    assert "bundled networks: starry_wave" in text and "3 photos, 0 skipped" in text
    assert len(_outputs(nb, "image/png")) == 2  # photo | paintings | blend; photo | painting | mine
    assert (tmp_path / "my_network.npz").exists() and (tmp_path / "fast.png").exists()
