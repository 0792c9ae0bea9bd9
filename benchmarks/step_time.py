"""Seconds per optimisation step of the library's compiled step, by network and size.

    python benchmarks/step_time.py [--sizes=256,512] [--networks=vgg19,vgg16] [--steps=10]

Random weights (the compute is the same as with ImageNet weights, and no download is needed).
Times `steps` steps after one warm-up step (which traces the tf.function); square images.
"""

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

from style_transfer import optimize  # noqa: E402
from style_transfer.config import Config  # noqa: E402

flags.DEFINE_list("sizes", ["256", "512"], "Square image sizes.")
flags.DEFINE_list("networks", ["vgg19", "vgg16"], "Networks.")
flags.DEFINE_integer("steps", 10, "Timed steps per configuration.")
FLAGS = flags.FLAGS


def seconds_per_step(network: str, size: int, steps: int) -> float:
    config = Config(network=network, weights="none")
    rng = np.random.default_rng(0)
    content = rng.random((1, size, size, 3), np.float32)
    style = rng.random((1, size, size, 3), np.float32)
    objective = optimize.Objective(optimize.build_extractor(config), content, [style], config)
    stylizer = optimize.Stylizer(objective, content, config)
    stylizer.run(1)  # trace and warm up
    start = time.perf_counter()
    stylizer.run(steps)
    return (time.perf_counter() - start) / steps


def main(argv):
    del argv
    devices = [d.name for d in tf.config.list_logical_devices()]
    print(f"TensorFlow {tf.__version__}, {os.cpu_count()} CPUs, devices: {devices}")
    print("| network | size | s/step |\n| --- | --- | --- |")
    for network in FLAGS.networks:
        for size in map(int, FLAGS.sizes):
            print(f"| {network} | {size}x{size} | {seconds_per_step(network, size, FLAGS.steps):.3f} |", flush=True)


if __name__ == "__main__":
    app.run(main)
