"""distribute.py and the in-graph loop at fixed shapes: what a TPU needs, checked on a CPU.

A MirroredStrategy is tested for real on two logical devices of this CPU, in a subprocess, since
TensorFlow's devices can be split only before it first uses them.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from style_transfer import distribute, multiscale, resample, vgg
from style_transfer.config import Config
from style_transfer.errors import ConfigError
from tests.test_batch import BATCH_CONFIG, STYLE, _photos

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def extractor():
    return vgg.extractor_for(BATCH_CONFIG)


def test_lanczos_matrices_resize_as_tf_image_resize():
    image = np.random.default_rng(0).random((2, 30, 40, 3)).astype(np.float32)
    for size in ((15, 20), (45, 64), (30, 17)):
        expected = tf.image.resize(image, size, method="lanczos3", antialias=True).numpy()
        got = resample.lanczos(tf.constant(image), size, static=True).numpy()
        np.testing.assert_allclose(got, expected, atol=2e-6)


def test_the_whole_loop_compiles_with_xla_at_fixed_shapes(extractor):
    """What TPUStrategy needs: coarse_to_fine_in_graph at static shapes (two scales, L-BFGS, histogram
    colours, a batch of 2) compiles with jit_compile=True and gives the non-compiled result.

    Not bit for bit: XLA fuses and reorders float32 sums, and 8 optimisation steps carry that
    along; measured on a Zen 4, mean 1e-6 to 4e-5 and max 1e-4 to 3e-3 (L-BFGS; Adam's first step,
    the sign of near-zero gradients, would magnify it, hence L-BFGS here, the default)."""
    config = BATCH_CONFIG
    content, style = tf.constant(np.concatenate(_photos(1, 2))), tf.constant(STYLE)

    def run(c, s):
        return multiscale.coarse_to_fine_in_graph(extractor, c, [s], config)

    compiled = tf.function(run, jit_compile=True)
    plain = tf.function(run)(content, style).numpy()
    xla = compiled(content, style).numpy()
    # It really compiled: XLA's HLO of the whole function holds the loop.
    assert "while" in compiled.experimental_get_compiler_ir(content, style)(stage="hlo")
    difference = np.abs(xla - plain)
    assert difference.mean() < 1e-3 and difference.max() < 2e-2, (difference.mean(), difference.max())
    assert np.abs(plain - content.numpy()).mean() > 0.01  # it did stylise
    # At fixed shapes the in-graph plan is stylize()'s, so the two agree closely.
    eager = multiscale.stylize(content.numpy(), STYLE, config, extractor=extractor)
    np.testing.assert_allclose(plain, eager, atol=1e-5)


def test_strategy_choice():
    assert distribute.make_strategy(Config().runtime, photos=4) is None  # no GPU here: the default device
    one = distribute.make_strategy(Config(distribution_strategy="one_device").runtime)
    assert one.num_replicas_in_sync == 1 and "CPU:0" in one.extended.worker_devices[0]
    assert not distribute.jit_for("auto", one)  # auto: no XLA on a CPU
    assert distribute.jit_for("true", one)
    for tpu in ("", "no-such-tpu-here"):
        with pytest.raises(ConfigError, match="no TPU found"):
            distribute.make_strategy(Config(distribution_strategy="tpu", tpu=tpu).runtime)


# Both mirrored checks (this module's stylising, test_training's training step) run in one process:
# TensorFlow's devices can be split only before it first uses them, and a process costs seconds.
TWO_DEVICES = textwrap.dedent(
    """
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    """
)

MIRRORED_SCRIPT = textwrap.dedent(
    """
    import numpy as np

    from style_transfer import distribute, multiscale, vgg
    from tests.test_batch import BATCH_CONFIG, STYLE, _photos

    config = BATCH_CONFIG.replace(distribution_strategy="mirrored")
    strategy = distribute.make_strategy(config.runtime, photos=3)
    stylizer = distribute.DistributedRunner(strategy, config, [STYLE])
    photos = np.concatenate(_photos(1, 2, 3))  # 3 photos on 2 replicas: padded to 4
    result = stylizer(photos)
    extractor = vgg.extractor_for(config)
    alone = np.concatenate([multiscale.stylize(p[None], STYLE, config, extractor=extractor) for p in photos])
    print("replicas", stylizer.replicas, strategy.extended.worker_devices)
    print("shape", result.shape)
    print("max_difference", float(np.abs(result - alone).max()))
    print("changed", float(np.abs(alone - photos).mean()))
    """
)


def run_on_two_logical_cpus(scripts: dict[str, str], tmp_path) -> dict[str, dict[str, str]]:
    """Each script (its lines printed as "key value") run in turn in one fresh process whose CPU is
    split into two logical devices: {name: {key: value}}."""
    body = TWO_DEVICES + "".join(f"print('## {name}')\n" + script for name, script in scripts.items())
    path = tmp_path / "two_devices.py"
    path.write_text(body)
    env = {**os.environ, "PYTHONPATH": REPO}
    result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    parts: dict[str, dict[str, str]] = {}
    current = parts.setdefault("before any script", {})  # nothing is printed there
    for line in result.stdout.strip().splitlines():
        if line.startswith("## "):
            current = parts.setdefault(line[3:], {})
        else:
            key, value = line.split(" ", 1)
            current[key] = value
    assert parts.pop("before any script") == {} and list(parts) == list(scripts), result.stdout
    return parts


def test_mirrored_strategies_on_two_logical_cpu_devices(tmp_path):
    """Two replicas, each stylising its own photos: each result equals the photo stylised alone
    on one device by multiscale.stylize. Within 1e-4: the replicas run the in-graph loop, which
    agrees with the eager one to ~1e-6 (rounding, as test_the_whole_loop_compiles... shows), and a
    photo on the wrong replica, or mixed with another, would be off by 1e-2 or more.
    In the same process, a mirrored training step (test_training.check_mirrored_training)."""
    from tests import test_training

    parts = run_on_two_logical_cpus({"stylise": MIRRORED_SCRIPT, "train": test_training.MIRRORED_SCRIPT}, tmp_path)
    lines = parts["stylise"]
    assert lines["replicas"].startswith("2 "), lines["replicas"]
    assert "CPU:0" in lines["replicas"] and "CPU:1" in lines["replicas"]
    assert lines["shape"] == "(3, 30, 40, 3)"
    assert float(lines["max_difference"]) < 1e-4, lines
    assert float(lines["changed"]) > 0.01
    test_training.check_mirrored_training(parts["train"])
