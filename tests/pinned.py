"""Pinned results: what the package computed before a refactoring, recorded so a test can prove it
computes the same after (issue 17: "behaviour unchanged").

Each case runs one path of the package (coarse to fine, Adam, masks and blends, tiles, batches,
the in-graph loop, an exported model's answers, the loss and its gradient) on tiny images with
random weights, and returns arrays (or bytes). `python -m tests.pinned` records them for this
machine in tests/data/pinned.json: a SHA-256 of each array's float32 bytes under this machine's
key (CPU, core count, TensorFlow and Keras versions: floating-point results are bit-for-bit
repeatable only on the same kernels), and, the first time, the arrays themselves, compacted
(images in 8 bits: tests/data/pinned_arrays.npz) so that other machines can compare within a tolerance.

`--real` adds the cases with the real VGG16 weights (../shared/weights): the defaults at 256 px
on the bundled sample in float32, and an exported model's PNG answers. (The same picture in
"auto" was pinned too until issue 19's suite-time cut: the fast case auto_precision_xla pins the
reduced-precision path.)

Cases call the package's current API: when a name changes, the call here changes with it; the
recorded values do not.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import pathlib
import platform
import sys
import tempfile

import numpy as np

DATA = pathlib.Path(__file__).resolve().parent / "data"
RECORD = DATA / "pinned.json"
ARRAYS = DATA / "pinned_arrays.npz"


def machine_key() -> str:
    """What bit-for-bit equality depends on: the CPU (vendor, family, model), the cores (threaded
    reductions), oneDNN settings, and the TensorFlow and Keras versions."""
    import keras
    import tensorflow as tf

    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, sep, value = line.partition(":")
                if not sep:
                    if info:
                        break
                    continue
                info.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    vendor = info.get("vendor_id", platform.machine())
    cpu = f"{vendor} family {info.get('cpu family', '?')} model {info.get('model', '?')}"
    env = ",".join(f"{k}={os.environ[k]}" for k in ("ONEDNN_MAX_CPU_ISA", "TF_ENABLE_ONEDNN_OPTS") if k in os.environ)
    return f"{cpu}, {os.cpu_count()} cores{', ' + env if env else ''}; TF {tf.__version__}, Keras {keras.__version__}"


def digest(value) -> str:
    if isinstance(value, bytes):
        return hashlib.sha256(value).hexdigest()
    return hashlib.sha256(np.ascontiguousarray(np.asarray(value, np.float32)).tobytes()).hexdigest()


def _image(height: int, width: int, seed: int) -> np.ndarray:
    from tests.conftest import gradient_photo

    return gradient_photo(height, width, seed)


def _mask(height: int, width: int, left: bool) -> np.ndarray:
    x = np.linspace(0.0, 1.0, width, dtype=np.float32)
    ramp = np.clip((0.6 - x) * 4 if left else (x - 0.4) * 4, 0.0, 1.0)
    return np.broadcast_to(ramp[None, None, :, None], (1, height, width, 1)).copy()


CONTENT = _image(48, 64, 1)
STYLE = _image(60, 40, 2)
STYLE_2 = _image(40, 56, 3)


def _config(**changes):
    from style_transfer.config import Config

    base = dict(
        abstraction=0.0,  # the defaults these were recorded with (before issue 18); the fields below win
        network="vgg16",
        weights="none",
        max_size=64,
        min_scale_size=32,
        steps=8,
        seed=0,
        precision="float32",
        jit_compile="false",
    )
    return Config(**{**base, **changes})


def _extractor(config):
    from style_transfer import vgg

    return vgg.extractor_for(config)


def case_defaults_two_scales():
    """The default path (L-BFGS, recolored start, 2 scales with keep_detail), tiny and random."""
    from style_transfer import multiscale

    config = _config()
    return {"result": multiscale.stylize(CONTENT, STYLE, config, extractor=_extractor(config))}


def case_adam_noise_one_scale():
    from style_transfer import multiscale

    config = _config(optimizer="adam", init="noise", scales=1, steps=6, learning_rate=0.05, seed=3)
    return {"result": multiscale.stylize(CONTENT, STYLE, config, extractor=_extractor(config))}


def case_controls():
    """Two styles blended, a style mask, a content mask, luminance, style_scale, avg pooling,
    painting normalisation, nokeep_detail."""
    from style_transfer import multiscale

    config = _config(
        preserve_colors="luminance",
        style_scale=0.5,
        pooling="avg",
        style_normalization="painting",
        keep_detail=False,
        style_weight=5.0,
    )
    result = multiscale.stylize(
        CONTENT,
        [STYLE, STYLE_2],
        config,
        style_blend_weights=[0.7, 0.3],
        style_masks=[_mask(48, 64, True), None],
        content_mask=_mask(48, 64, False),
        extractor=_extractor(config),
    )
    return {"result": result}


def case_histogram_batch():
    """A batch of two photos, preserve_colors="histogram", style layer weights."""
    from style_transfer import multiscale

    config = _config(
        preserve_colors="histogram",
        style_layers=("block1_conv1", "block2_conv1", "block3_conv1"),
        style_layer_weights=(2.0, 1.0, 0.5),
        steps=6,
    )
    content = np.concatenate([CONTENT, _image(48, 64, 7)])
    return {"result": multiscale.stylize(content, STYLE, config, extractor=_extractor(config))}


def case_tiles():
    """A scale tile by tile, with a style mask and a content mask."""
    from style_transfer import multiscale

    config = _config(max_size=96, scales=1, steps=4, tile_size=64, tile_overlap=24)
    content = _image(72, 96, 4)
    result = multiscale.stylize(
        content,
        [STYLE, STYLE_2],
        config,
        style_masks=[_mask(72, 96, True), None],
        content_mask=_mask(72, 96, False),
        extractor=_extractor(config),
    )
    return {"result": result}


def case_auto_precision_xla():
    """precision auto (this machine's choice) with the step XLA-compiled."""
    from style_transfer import multiscale

    config = _config(precision="auto", jit_compile="true", scales=1, steps=4)
    return {"result": multiscale.stylize(CONTENT, STYLE, config, extractor=_extractor(config))}


def case_objective_and_gradient():
    """The loss terms and their gradient at one image: plain, masked and tiled."""
    import tensorflow as tf

    from style_transfer import tiles
    from style_transfer.objective import Objective

    config = _config(style_weight=2.0, tv_weight=0.5)
    extractor = _extractor(config)
    image = tf.constant(_image(48, 64, 9))
    out = {}
    plain = Objective.of_images(extractor, tf.constant(CONTENT), [tf.constant(STYLE)], config.loss)
    terms, gradient = plain.value_and_gradient(image)
    out.update({f"plain_{k}": v.numpy() for k, v in terms.items()}, plain_gradient=gradient.numpy())
    masked = Objective.of_images(
        extractor,
        tf.constant(CONTENT),
        [tf.constant(STYLE), tf.constant(STYLE_2)],
        config.loss,
        [0.4, 0.6],
        [tf.constant(_mask(48, 64, True)), None],
        tf.constant(_mask(48, 64, False)),
    )
    terms, gradient = masked.value_and_gradient(image)
    out.update({f"masked_{k}": v.numpy() for k, v in terms.items()}, masked_gradient=gradient.numpy())
    big = _image(72, 96, 5)
    mask = [tf.constant(_mask(72, 96, True))]
    tiled = tiles.TiledObjective(extractor, tf.constant(big), [tf.constant(STYLE)], config.loss, 64, 16, None, mask)
    terms, gradient = tiled.value_and_gradient(tf.constant(_image(72, 96, 6)))
    out.update({f"tiled_{k}": v.numpy() for k, v in terms.items()}, tiled_gradient=gradient.numpy())
    return out


def case_in_graph():
    """The stateless in-graph loop at static shapes (XLA-ready) and dynamic ones, Adam and L-BFGS."""
    import tensorflow as tf

    from style_transfer import multiscale

    out = {}
    for optimizer in ("lbfgs", "adam"):
        config = _config(optimizer=optimizer, steps=6)
        extractor = _extractor(config)
        content, style = tf.constant(CONTENT), tf.constant(STYLE)

        @functools.partial(tf.function, autograph=False)
        def static(content=content, style=style, config=config, extractor=extractor):
            return multiscale.coarse_to_fine_in_graph(extractor, content, [style], config)

        dynamic = tf.function(
            lambda c, s, config=config, extractor=extractor: multiscale.coarse_to_fine_in_graph(
                extractor, c, [s], config
            ),
            input_signature=[tf.TensorSpec([1, None, None, 3], tf.float32)] * 2,
            autograph=False,
        )
        out[f"{optimizer}_static"] = static().numpy()
        out[f"{optimizer}_dynamic"] = dynamic(content, style).numpy()
    return out


def case_export():
    """An exported model's answers: serving_default's PNG bytes and stylize_images' floats."""
    import tensorflow as tf

    from style_transfer import export, images

    config = _config(max_size=48, steps=5)
    with tempfile.TemporaryDirectory() as base:
        path = export.export_saved_model(config, base, "pinned", extractor=_extractor(config), warmup=False)
        loaded = tf.saved_model.load(path)
        content_png = images.encode_image(CONTENT)
        style_png = images.encode_image(STYLE)
        answer = loaded.signatures["serving_default"](
            content_bytes=tf.constant([content_png, style_png]), style_bytes=tf.constant([style_png, content_png])
        )["image_bytes"].numpy()
        floats = loaded.signatures["stylize_images"](
            content=tf.constant(CONTENT[:, :36, :48]), style=tf.constant(STYLE)
        )
    return {"png_0": bytes(answer[0]), "png_1": bytes(answer[1]), "images": floats["image"].numpy()}


FAST_CASES = {
    name[len("case_") :]: function for name, function in sorted(globals().items()) if name.startswith("case_")
}


def _real_config(weights: str, **changes):
    from style_transfer.config import Config

    return Config(**{"network": "vgg16", "weights": weights, "max_size": 256, **changes})


def real_case_defaults_256(weights: str, precision: str):
    """README's first picture: the defaults at 256 px on the bundled sample (re-recorded when issue
    18 changed the defaults; abstraction 0, the defaults before, stays pinned by the fast cases)."""
    from style_transfer import images, multiscale
    from style_transfer.samples import SAMPLE_CONTENT, SAMPLE_STYLE

    config = _real_config(weights, precision=precision)
    content = images.load_image(SAMPLE_CONTENT, max_size=256)
    style = images.load_image(SAMPLE_STYLE, max_size=256)
    return {"result": multiscale.stylize(content, style, config)}


def real_case_export(weights: str):
    """An exported model with the real weights (128 px, 20 steps, float32): its PNG answers."""
    import tensorflow as tf

    from style_transfer import export
    from style_transfer.samples import SAMPLE_CONTENT, SAMPLE_STYLE

    # abstraction 0: the defaults this was recorded with (before issue 18); the fields given win
    config = _real_config(weights, abstraction=0.0, max_size=128, steps=20, precision="float32")
    with tempfile.TemporaryDirectory() as base:
        path = export.export_saved_model(config, base, "pinned", warmup=False)
        serve = tf.saved_model.load(path).signatures["serving_default"]
        with open(SAMPLE_CONTENT, "rb") as f:
            content = f.read()
        with open(SAMPLE_STYLE, "rb") as f:
            style = f.read()
        answer = serve(content_bytes=tf.constant([content]), style_bytes=tf.constant([style]))["image_bytes"]
    return {"png": bytes(answer.numpy()[0])}


REAL_CASES = {
    "real_defaults_256_float32": lambda w: real_case_defaults_256(w, "float32"),
    "real_export_128": real_case_export,
}


def compact(part: str, value) -> np.ndarray:
    """What other machines compare with: images in 8 bits, loss terms as they are."""
    if isinstance(value, bytes):
        from style_transfer import images

        value = images.decode_image(value)
    array = np.asarray(value, np.float32)
    if array.ndim == 4:
        return np.round(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8)
    return array


def record(real_weights: str | None) -> None:
    """Run every case here and add this machine's digests (and, once, the arrays) to tests/data."""
    DATA.mkdir(exist_ok=True)
    table = json.loads(RECORD.read_text()) if RECORD.exists() else {}
    key = machine_key()
    entry = table.setdefault(key, {})
    arrays = dict(np.load(ARRAYS)) if ARRAYS.exists() else {}
    cases = {name: fn for name, fn in FAST_CASES.items()}
    if real_weights:
        cases.update({name: (lambda fn=fn: fn(real_weights)) for name, fn in REAL_CASES.items()})
    for name, run in cases.items():
        print(f"{name} ...", file=sys.stderr, flush=True)
        values = run()
        entry[name] = {part: digest(value) for part, value in values.items()}
        if name in FAST_CASES:  # the real-weights results and the gradients: bit for bit only
            for part, value in values.items():
                if part.endswith("gradient"):
                    continue
                arrays.setdefault(f"{name}/{part}", compact(part, value))
    RECORD.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
    np.savez_compressed(ARRAYS, **arrays)
    print(f"recorded {len(cases)} cases for {key}", file=sys.stderr)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", metavar="WEIGHTS", help="also the real-weights cases, with this VGG16 weights file")
    args = parser.parse_args()
    record(args.real)
