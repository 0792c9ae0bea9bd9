"""Write the notebooks (notebooks/*.ipynb) and README's notebook badges from one source: this file,
and setup.cfg's `url` (the repository), so every badge and install cell names the same place.

    python notebooks/build.py           # rewrite the notebooks and README's badge table
    python notebooks/build.py --check   # exit 1 if any of them differs from what this would write

A fork changes `url` in setup.cfg and runs the first command. The notebooks are written without
outputs or execution counts (tests/test_notebooks.py checks the committed files); they call the
package (`style_transfer`, `style_transfer.notebook`) and copy none of its code.

Each notebook has a cell tagged `parameters` (papermill's convention: `papermill NOTEBOOK OUT -p
NAME VALUE`), and its Colab-only cells (install, upload, download) run only where
`google.colab` is importable, the check of the first code cell (IN_COLAB).
"""

from __future__ import annotations

import configparser
import os
import sys

import nbformat

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
README = os.path.join(REPO, "README.md")
BADGE_START, BADGE_END = "<!-- notebooks:start -->", "<!-- notebooks:end -->"
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"


def repository_url() -> str:
    parser = configparser.ConfigParser()
    parser.read(os.path.join(REPO, "setup.cfg"))
    return parser["metadata"]["url"].rstrip("/")


def colab_url(name: str) -> str:
    """The Colab link that opens notebooks/NAME from the repository's main branch."""
    return repository_url().replace("https://github.com/", "https://colab.research.google.com/github/") + (
        f"/blob/main/notebooks/{name}"
    )


def badge(name: str) -> str:
    return f"[![Open In Colab]({COLAB_BADGE})]({colab_url(name)})"


def md(text: str):
    return nbformat.v4.new_markdown_cell(text.strip())


def code(text: str, tags: tuple[str, ...] = ()):
    cell = nbformat.v4.new_code_cell(text.strip())
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


# What `pip install --dry-run` said in a virtual environment with Colab's packages (TensorFlow
# 2.19.0, Keras 3.10.0, NumPy 2.0.2, Pillow 11.3.0, absl-py 1.4.0), on 2026-11-26.
DRY_RUN = (
    "checked with `pip install --dry-run` in an environment with Colab's versions (TensorFlow 2.19.0, "
    "Keras 3.10.0, NumPy 2.0.2, Pillow 11.3.0): it would install `style_transfer` and nothing else"
)


def setup_cells(serving: bool = False) -> list:
    """The Colab check, the install (Colab only) and the import, shared by every notebook.

    serving: also TF Serving's API (for the warm-up requests written beside an exported model),
    pinned to the TensorFlow Colab has: the unpinned package requires the newest TensorFlow and pip
    would replace Colab's (the dry run said tensorflow-2.21.0); `==` the installed version does not.
    """
    url = repository_url()
    serving_text = (
        " With it, `tensorflow-serving-api` at exactly Colab's TensorFlow version (any other version "
        "of it would make pip replace TensorFlow); if there is none, the model is exported without "
        "warm-up requests."
        if serving
        else ""
    )
    serving_code = (
        """
    from importlib.metadata import version

    # TF Serving's API at Colab's TensorFlow version exactly, so that pip keeps that TensorFlow.
    get_ipython().run_line_magic("pip", f"install --quiet tensorflow-serving-api=={version('tensorflow')}")"""
        if serving
        else ""
    )
    return [
        md(
            f"""
**Install.** On Colab this installs only `style_transfer` from [the repository]({url}): Colab already
ships TensorFlow, Keras, NumPy and Pillow, which satisfy its requirements (`tensorflow>=2.19`,
`keras>=3.10`), so pip leaves them as they are ({DRY_RUN}).{serving_text} Elsewhere the cell does
nothing: install the package yourself (`pip install -e .` in a clone).
"""
        ),
        code(
            f"""
import sys

IN_COLAB = "google.colab" in sys.modules  # Colab-only cells (install, upload, download) check this
PACKAGE = "style_transfer @ git+{url}"
if IN_COLAB:
    get_ipython().run_line_magic("pip", f"install --quiet '{{PACKAGE}}'"){serving_code}
"""
        ),
    ]


PARAMETERS_HELP = """
# Parameters (papermill: -p NAME VALUE). content / style: a path or an image URL; "" = the bundled
# sample. weights: "imagenet" (Keras downloads VGG once), "none" (random: for tests) or a .h5 path.
"""


def quickstart() -> nbformat.NotebookNode:
    cells = [
        md(
            f"""
# Neural style transfer: quickstart

{badge("quickstart.ipynb")}

Gatys et al.'s style transfer with the `style_transfer` package: a photo is optimised so that its
VGG features keep the photo's content while its Gram matrices take the painting's style. On Colab:
*Runtime > Change runtime type > GPU*, then *Runtime > Run all*. With no changes it stylises the
bundled sample (Chelsea the cat, after Van Gogh's *Starry Night*); put your own photo and painting
in the parameters below (a path or any image URL), or set `upload = True` to pick files.
"""
        ),
        code(
            PARAMETERS_HELP
            + """
content = ""
style = ""
max_size = 512  # longer side of the result, in pixels
steps = 0  # 0: the package's default
network = "vgg19"
weights = "imagenet"
progress_every = 10  # show the image and the losses every this many steps
upload = False  # Colab: choose the content and style files from your computer
""",
            tags=("parameters",),
        ),
        *setup_cells(),
        code(
            """
import style_transfer as st
from style_transfer import notebook

print(notebook.describe_device())
"""
        ),
        md("**Images.** With `upload = True` on Colab, choose the photo first, then the painting."),
        code(
            """
if IN_COLAB and upload:
    from google.colab import files

    content = next(iter(files.upload()))  # the uploaded file's name, in the working folder
    style = next(iter(files.upload()))

content_image = notebook.fetch_image(content, max_size=max_size, sample="content")
style_image = notebook.fetch_image(style, max_size=max_size, sample="style")
notebook.picture_row([content_image, style_image], ["content", "style"])
"""
        ),
        md(
            """
**Stylise.** The loss terms and the current image are shown every `progress_every` steps, in place.
`st.Config` holds every setting and its default (see the controls notebook for what they do).
"""
        ),
        code(
            """
config = st.Config(network=network, weights=weights, max_size=max_size)
if steps:
    config = config.replace(steps=steps)
progress = notebook.LiveProgress(config.schedule.steps, every=progress_every)
result = st.stylize(content_image, style_image, config, callback=progress)
"""
        ),
        code(
            """
st.save_image("stylized.png", result)
notebook.picture_row([content_image, style_image, result], ["before", "style", "after"])
"""
        ),
        md("**Download** the result (Colab; elsewhere it is `stylized.png` in the working folder)."),
        code(
            """
if IN_COLAB:
    from google.colab import files

    files.download("stylized.png")
"""
        ),
    ]
    return _notebook(cells)


def controls() -> nbformat.NotebookNode:
    cells = [
        md(
            f"""
# Neural style transfer: the controls, side by side

{badge("controls.ipynb")}

Each section changes one setting of `st.Config` (or one argument of `st.stylize`) and shows the
results side by side, with one sentence on what it does. Every other setting keeps its default.
"""
        ),
        code(
            PARAMETERS_HELP
            + """
content = ""
style = ""
style2 = ""  # a second painting for the blend; "" = the bundled Great Wave (Hokusai)
max_size = 256
steps = 0  # 0: the package's default
network = "vgg19"
weights = "imagenet"
""",
            tags=("parameters",),
        ),
        *setup_cells(),
        code(
            """
import numpy as np

import style_transfer as st
from style_transfer import notebook, vgg

print(notebook.describe_device())
content_image = notebook.fetch_image(content, max_size=max_size, sample="content")
style_image = notebook.fetch_image(style, max_size=max_size, sample="style")
wave_image = notebook.fetch_image(style2, max_size=max_size, sample="style2")
base = st.Config(network=network, weights=weights, max_size=max_size)
if steps:
    base = base.replace(steps=steps)
extractor = vgg.extractor_for(base)


def stylized(config=base, styles=(style_image,), network=None, **kwargs):
    \"\"\"Stylise the content photo with `config` (one network, built once, serves every run).\"\"\"
    return st.stylize(content_image, list(styles), config, extractor=network or extractor, **kwargs)


default = stylized(base)  # the defaults' result, shown in each row where it belongs
notebook.picture_row([content_image, style_image, wave_image], ["content", "style", "style2"])
"""
        ),
        md(
            """
## Loss weights
`style_weight` trades the photo against the painting: lower keeps more of the photo, higher paints
more (the losses are normalised, so the same values work for every image, size and network).
"""
        ),
        code(
            """
weights_row = [stylized(base.replace(style_weight=1.0)), default, stylized(base.replace(style_weight=10.0))]
notebook.picture_row(weights_row, ["style_weight 1", f"{base.loss.style_weight} (default)", "10"])
"""
        ),
        md(
            """
## Faithful to painterly
`abstraction` goes from 0, the photo's every edge and texture in the painting's colours and fine
strokes, to 1, broad strokes with even the photo's contours redrawn; the default, 0.5, paints the
photo. It sets the style weight, the steps and how they split over the scales, the hand-over
between scales and the start's blur and noise (`st.config.ABSTRACTION_CURVE`), except those you set
beside it.
"""
        ),
        code(
            """
def at(level):
    \"\"\"The base settings at this abstraction (keeping the parameters' steps, if any).\"\"\"
    return base.replace(abstraction=level, **({"steps": steps} if steps else {}))


abstraction_row = [stylized(at(0.0)), default, stylized(at(1.0))]
titles = ["abstraction 0", f"{base.style.abstraction:g} (default)", "1"]
notebook.picture_row(abstraction_row, titles)
"""
        ),
        md(
            """
## Style statistic
`style_loss` is what the style loss matches at each layer: `gram`, the paper's Gram matrices (the
default); `mean_cov`, the features' mean and covariance (as Gaussians, by their Wasserstein
distance); `sliced`, their whole distribution (sliced Wasserstein). The same weights work for all.
"""
        ),
        code(
            """
statistics_row = [default] + [stylized(base.replace(style_loss=name)) for name in ("mean_cov", "sliced")]
notebook.picture_row(statistics_row, ["gram (default)", "mean_cov", "sliced"])
"""
        ),
        md(
            """
## Steps and scales
More `steps` settle further; the default runs coarse to fine (`scales=3` from 128 px), so the
painting's strokes are laid out at a small size, as large as the photo's shapes, then refined
(at `max_size` 256 and above; smaller runs use fewer scales).
"""
        ),
        code(
            """
short = base.replace(steps=max(2, base.schedule.steps // 3))
scales_row = [stylized(short), default, stylized(base.replace(scales=1))]
titles = [f"{short.schedule.steps} steps", f"{base.schedule.steps} steps (default)", "one scale"]
notebook.picture_row(scales_row, titles)
"""
        ),
        md(
            """
## Optimizer
`lbfgs` (the paper's quasi-Newton method, the default) settles in far fewer steps than `adam`.
"""
        ),
        code(
            """
optimizer_row = [default, stylized(base.replace(optimizer="adam"))]
notebook.picture_row(optimizer_row, ["lbfgs (default)", "adam, same steps"])
"""
        ),
        md(
            """
## Several styles
Several paintings at once: their Gram targets are blended by `style_blend_weights`.
"""
        ),
        code(
            """
blend_row = [stylized(styles=(style_image, wave_image), style_blend_weights=w) for w in ([1, 0], [0.5, 0.5], [0, 1])]
notebook.picture_row(blend_row, ["style only", "50 / 50", "style2 only"])
"""
        ),
        md(
            """
## Colour preservation
`preserve_colors="luminance"` keeps the photo's colours exactly (the result's brightness, the photo's
chroma); `"histogram"` recolours the painting to the photo's palette before optimising.
"""
        ),
        code(
            """
colour_row = [default] + [stylized(base.replace(preserve_colors=mode)) for mode in ("luminance", "histogram")]
notebook.picture_row(colour_row, ["none (default)", "luminance", "histogram"])
"""
        ),
        md(
            """
## Style scale
`style_scale` sizes the painting against the output: below 1 paints larger strokes, above 1 finer.
"""
        ),
        code(
            """
scale_row = [stylized(base.replace(style_scale=0.5)), default, stylized(base.replace(style_scale=2.0))]
notebook.picture_row(scale_row, ["style_scale 0.5", "1 (default)", "2"])
"""
        ),
        md(
            """
## Starting image
`init` is where the optimisation starts: the photo recoloured to the painting's palette (the
default), the photo itself, or noise (the paper's choice; it needs many more steps), or the path of
an image, such as an earlier result to refine.
"""
        ),
        code(
            """
init_row = [default] + [stylized(base.replace(init=init)) for init in ("content", "noise")]
notebook.picture_row(init_row, ["recolored (default)", "content", "noise"])
"""
        ),
        md(
            """
## Pooling
`pooling="avg"` swaps VGG's max pooling for average pooling, as the paper does; it keeps less of
the photo here (docs/controls.md), so max stays the default.
"""
        ),
        code(
            """
average = vgg.extractor_for(base.replace(pooling="avg"))
pooling_row = [default, stylized(base.replace(pooling="avg"), network=average)]
notebook.picture_row(pooling_row, ["max (default)", "avg"])
"""
        ),
        md(
            """
## Masks
A mask per style (1 = the style applies, 0 = not, any size: it is resized to the photo): here the
painting on the left half only, and the two paintings on the two halves.
"""
        ),
        code(
            """
height, width = content_image.shape[1:3]
left = np.zeros((1, height, width, 1), np.float32)
left[:, :, : width // 2] = 1.0
mask_row = [
    stylized(style_masks=[left]),
    stylized(styles=(style_image, wave_image), style_masks=[left, 1.0 - left]),
]
notebook.picture_row(mask_row, ["style on the left", "style | style2"])
"""
        ),
    ]
    return _notebook(cells)


def export_and_serve() -> nbformat.NotebookNode:
    cells = [
        md(
            f"""
# Export a SavedModel and serve it with TF Serving

{badge("export_and_serve.ipynb")}

`style_transfer.export` writes a SavedModel that runs the whole optimisation in its graph: a
request carries a photo and a painting (encoded images) and gets back a PNG. This notebook exports
one, shows its signatures, calls it in Python with the same JSON a TF Serving REST client sends
(built by `style_transfer.rest`), then gives the commands that serve it.
"""
        ),
        code(
            PARAMETERS_HELP
            + """
content = ""
style = ""
max_size = 256  # the exported model resizes every request's images to this longer side
steps = 0  # 0: the package's default
network = "vgg19"
weights = "imagenet"
export_dir = "saved_models"  # the model goes to export_dir/style_transfer/<version>/
server_url = ""  # a running TF Serving's REST address (e.g. http://localhost:8501): the last cell calls it
""",
            tags=("parameters",),
        ),
        *setup_cells(serving=True),
        code(
            """
import importlib.util
import json

import tensorflow as tf

import style_transfer as st
from style_transfer import export, images, notebook, rest

print(notebook.describe_device())
config = st.Config(network=network, weights=weights, max_size=max_size)
if steps:
    config = config.replace(steps=steps)
warmup = importlib.util.find_spec("tensorflow_serving") is not None  # TF Serving's API: warm-up requests
path = export.export_saved_model(config, export_dir, name="style_transfer", warmup=warmup)
print("exported to", path)
"""
        ),
        md("**Signatures.** `serving_default` takes encoded images; `stylize_images` float arrays."),
        code(
            """
model = tf.saved_model.load(path)
for name, function in model.signatures.items():
    print(name)
    print("  inputs: ", function.structured_input_signature[1])
    print("  outputs:", function.structured_outputs)
"""
        ),
        md(
            """
**A REST request, answered in Python.** `rest.request_json` builds the body a client POSTs to
`/v1/models/style_transfer:predict`; `rest.decode_request` turns it into what TF Serving hands the
signature.
"""
        ),
        code(
            """
content_image = notebook.fetch_image(content, max_size=max_size, sample="content")
style_image = notebook.fetch_image(style, max_size=max_size, sample="style")
pair = {"content_bytes": [images.encode_image(content_image)], "style_bytes": [images.encode_image(style_image)]}
body = rest.request_json(pair)
print(json.dumps(body)[:160], "...")
inputs = {name: tf.constant(values) for name, values in rest.decode_request(body).items()}
outputs = model.signatures["serving_default"](**inputs)
result = images.decode_image(outputs["image_bytes"][0].numpy())
notebook.picture_row([content_image, style_image, result], ["content", "style", "served result"])
"""
        ),
        md(
            """
## Serve it

With Docker (CPU image; `tensorflow/serving:latest-gpu` with `--gpus all` for a GPU):

```sh
docker run --rm -p 8501:8501 \\
  -v "$PWD/saved_models/style_transfer:/models/style_transfer" \\
  -e MODEL_NAME=style_transfer tensorflow/serving
```

or with the server binary:

```sh
tensorflow_model_server --rest_api_port=8501 --model_name=style_transfer \\
  --model_base_path="$PWD/saved_models/style_transfer"
```

(`saved_models` is `export_dir` above; TF Serving polls that folder and serves its highest version.)
A client posts the same JSON and reads the PNG back; the next cell does it when `server_url` is set.
"""
        ),
        code(
            """
if server_url:
    import urllib.request

    request = urllib.request.Request(
        f"{server_url}/v1/models/style_transfer:predict",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=600) as response:
        served = rest.images_from_response(json.load(response))
    with open("served.png", "wb") as f:
        f.write(served[0])
    print("wrote served.png")
else:
    print("server_url is empty: start TF Serving as above and set it to call the server")
"""
        ),
    ]
    return _notebook(cells)


def fast() -> nbformat.NotebookNode:
    cells = [
        md(
            f"""
# Fast stylisation: a trained network, in one pass

{badge("fast.ipynb")}

The optimisation takes seconds to minutes a picture; a feed-forward network trained with the same
losses (Johnson et al. 2016, with conditional instance normalisation: several paintings in one
network) stylises in one pass, a fraction of a second. This notebook stylises with the network that
ships in the package (no training, no VGG download), blends its paintings, then trains a small
network of your own (on Colab: *Runtime > Change runtime type > GPU*) and uses it.
"""
        ),
        code(
            PARAMETERS_HELP
            + """
content = ""
max_size = 512  # longer side of the photo
model = "starry_wave"  # a bundled network's name, or a .npz from training
# Training your own: photos (a folder or glob; "" on Colab: TensorFlow's flower photos, downloaded),
# the painting (style; "" = the bundled Starry Night), the steps, the VGG features and their weights.
train_photos = ""
style = ""
steps = 300  # training steps
crop_size = 256
batch_size = 4
network = "vgg16"
weights = "imagenet"
""",
            tags=("parameters",),
        ),
        *setup_cells(),
        code(
            """
import time

import style_transfer as st
from style_transfer import networks, notebook, transformer

print(notebook.describe_device())
print("bundled networks:", ", ".join(networks.bundled()))
content_image = notebook.fetch_image(content, max_size=max_size, sample="content")
net, header = networks.load_network(model)
print(f"{model}: paintings {', '.join(header['paintings'])}; width {net.width:g}, {net.count_params()} parameters")
"""
        ),
        md(
            """
**One pass per painting, and a blend.** The first call traces the network; the time shown is a
second, warm call. A blend mixes the paintings' normalisation parameters (weights per painting).
"""
        ),
        code(
            """
blends = [[1.0 if i == k else 0.0 for i in range(net.styles)] for k in range(net.styles)]
if net.styles > 1:
    blends.append([1.0 / net.styles] * net.styles)
results = []
for blend in blends:
    transformer.stylize(net, content_image, blend)  # warm
    start = time.perf_counter()
    results.append(transformer.stylize(net, content_image, blend).numpy())
    print(f"blend {blend}: {time.perf_counter() - start:.3f} s")
titles = ["photo", *(", ".join(f"{n} {w:g}" for n, w in zip(header["paintings"], b, strict=True) if w) for b in blends)]
st.save_image("fast.png", results[0])  # the first painting's result
notebook.picture_row([content_image, *results], titles)
"""
        ),
        md(
            """
**Train a small network.** Crops of the photos go through the network, and VGG compares its
output with the photo (content) and the painting (style), the same loss the optimisation uses.
A few hundred steps on a GPU give a recognisable style; the shipped network had thousands
(`style-transfer-train` on the command line checkpoints, resumes and writes previews).
"""
        ),
        code(
            """
import os

import keras

from style_transfer import devices, photos, training
from style_transfer.config import FeatureConfig, TrainConfig, TrainingSetup

if not train_photos:
    if not IN_COLAB:
        raise ValueError("set train_photos to a folder or glob of photos to train on")
    archive = keras.utils.get_file(
        "flower_photos",
        "https://storage.googleapis.com/download.tensorflow.org/example_images/flower_photos.tgz",
        untar=True,
    )
    train_photos = os.path.join(archive, "*", "*.jpg")
found = photos.find_photos(train_photos)
print(f"{len(found.paths)} photos, {len(found.skipped)} skipped")
setup = TrainingSetup(
    features=FeatureConfig(network=network, weights=weights),
    train=TrainConfig(steps=steps, crop_size=crop_size, batch_size=batch_size),
).validate()
painting = notebook.fetch_image(style, max_size=setup.train.style_size, sample="style")
precision = devices.resolved_precision(setup.train.precision)  # bfloat16 VGG where the hardware has it
extractor = training.extractor_for_training(setup.features, setup.loss, precision)
trainer = training.Trainer(extractor, [painting], setup.loss, setup.network, setup.train)
progress = notebook.LiveProgress(setup.train.steps, every=max(1, setup.train.steps // 10))
trainer.train(lambda start: photos.crop_batches(found.paths, setup.train, start), callback=progress)
networks.save_network(trainer.network, "my_network.npz", ["my_painting"])
mine = transformer.stylize(trainer.network, content_image).numpy()
notebook.picture_row([content_image, painting, mine], ["photo", "painting", f"{setup.train.steps} steps"])
"""
        ),
        md(
            """
`my_network.npz` now works wherever a network does: `style-transfer --model=my_network.npz
--content=photo.jpg`, `style-transfer-export --model=my_network.npz` (a SavedModel for TF Serving,
`--tflite` for phones).
"""
        ),
    ]
    return _notebook(cells)


NOTEBOOKS = {
    "quickstart.ipynb": (
        quickstart,
        "a photo stylised in minutes: device, images (bundled, URL or upload), live progress, "
        "a before-style-after figure, download",
    ),
    "controls.ipynb": (
        controls,
        "every control side by side: loss weights, faithful to painterly, the style statistic, steps and "
        "scales, optimizer, several styles, colour preservation, style scale, masks",
    ),
    "export_and_serve.ipynb": (
        export_and_serve,
        "export a SavedModel, its signatures, a REST request answered in Python, the TF Serving commands",
    ),
    "fast.ipynb": (
        fast,
        "the bundled network in one pass, blends of its paintings, training a small network of your own",
    ),
}


def _notebook(cells) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "accelerator": "GPU",
        "colab": {"provenance": []},
    }
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{index}"  # stable ids: a rebuild changes nothing that did not change
    return notebook


def badge_table() -> str:
    rows = [BADGE_START, "", "| notebook | open | what it shows |", "| --- | --- | --- |"]
    for name, (_, what) in NOTEBOOKS.items():
        rows.append(f"| [`{name}`](notebooks/{name}) | {badge(name)} | {what} |")
    return "\n".join([*rows, "", BADGE_END])


def expected_files() -> dict[str, str]:
    """{path: text} of every file this script writes."""
    files = {
        os.path.join(HERE, name): nbformat.writes(make(), version=4) + "\n" for name, (make, _) in NOTEBOOKS.items()
    }
    with open(README) as f:
        readme = f.read()
    start, end = readme.index(BADGE_START), readme.index(BADGE_END) + len(BADGE_END)
    files[README] = readme[:start] + badge_table() + readme[end:]
    return files


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for path, text in expected_files().items():
        current = open(path).read() if os.path.exists(path) else None
        if current == text:
            continue
        stale.append(os.path.relpath(path, REPO))
        if not check:
            tmp = path + ".tmp"
            with open(tmp, "w") as f:
                f.write(text)
            os.replace(tmp, path)
    if check and stale:
        print(f"out of date: {', '.join(stale)}; run python notebooks/build.py", file=sys.stderr)
        return 1
    print(("wrote " if stale else "up to date: ") + (", ".join(stale) if stale else "every notebook and README"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
