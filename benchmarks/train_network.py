"""Train a feed-forward network on photos (issue 19), resumable: the run behind a pretrained network.

    python benchmarks/train_network.py --run=runs/starry_wave \\
        --paintings=../shared/samples/style/starry_night.jpg,../shared/samples/style/great_wave_hokusai.jpg

Checkpoints go to --run (tf.train.CheckpointManager); run the same command again and it goes on
from the latest one to --steps (bit for bit what one uninterrupted run computes, on one machine).
Every --preview_every steps it writes --run/preview_STEP.png: the held-out sample photos
(../shared/samples/content, never trained on) through the network, one row per painting, and logs
the step's loss terms and seconds a step. At the end --run/network.npz holds the network
(networks.save_network: its weights, its paintings' names, this command and the step count).
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np
from absl import app, flags, logging

SHARED = os.environ.get("STYLE_TRANSFER_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "shared"))

flags.DEFINE_string("run", None, "Folder for checkpoints, previews and the final weights.", required=True)
flags.DEFINE_list("paintings", [], "Painting image paths, one network painting each, in order.")
flags.DEFINE_string("photos", os.path.join(SHARED, "photos"), "Folder (or glob) of training photos.")
flags.DEFINE_string("weights", os.path.join(SHARED, "weights", "vgg16_imagenet_notop.weights.h5"), "VGG16 weights.")
flags.DEFINE_integer("steps", 2000, "Steps in all (a resumed run goes on to this count).")
flags.DEFINE_integer("batch_size", 4, "Photos a step.")
flags.DEFINE_integer("crop_size", 256, "Training crop side, in pixels.")
flags.DEFINE_integer("style_size", 512, "Longer side of each painting when its targets are built.")
flags.DEFINE_float("width", 0.5, "Width multiplier of the network.")
flags.DEFINE_float("learning_rate", 1e-3, "Adam's learning rate.")
flags.DEFINE_float("style_weight", 6.0, "Style weight (the loss's normalised terms, as for stylize).")
flags.DEFINE_float("content_weight", 1.0, "Content weight.")
flags.DEFINE_float("tv_weight", 1.0, "Total-variation weight.")
flags.DEFINE_string("precision", "auto", "VGG feature precision (auto: bfloat16 where the CPU has it).")
flags.DEFINE_integer("preview_every", 100, "Write a preview of the held-out photos every this many steps.")
flags.DEFINE_integer("preview_size", 256, "Longer side of the preview photos.")
flags.DEFINE_integer("checkpoint_every", 50, "Checkpoint every this many steps.")
FLAGS = flags.FLAGS


def _preview(network, paintings: int, size: int, path: str) -> None:
    from PIL import Image

    from style_transfer import images, transformer

    folder = os.path.join(SHARED, "samples", "content")
    photos = [images.load_image(os.path.join(folder, name), max_size=size) for name in sorted(os.listdir(folder))]
    rows = []
    for painting in range(paintings):
        blend = [1.0 if k == painting else 0.0 for k in range(paintings)]
        row = [np.asarray(transformer.stylize(network, photo, blend))[0] for photo in photos]
        height = min(image.shape[0] for image in row)
        rows.append(np.concatenate([image[:height] for image in row], axis=1))
    width = min(row.shape[1] for row in rows)
    sheet = np.concatenate([row[:, :width] for row in rows], axis=0)
    Image.fromarray(np.round(np.clip(sheet, 0, 1) * 255).astype(np.uint8)).save(path)


def main(argv):
    del argv
    from style_transfer import devices, images, networks, photos, training
    from style_transfer.config import FeatureConfig, LossConfig, NetworkConfig, TrainConfig

    if not FLAGS.paintings:
        raise app.UsageError("--paintings: at least one painting")
    os.makedirs(FLAGS.run, exist_ok=True)
    loss = LossConfig(
        content_layers=training.NETWORK_LOSS.content_layers,
        style_layers=training.NETWORK_LOSS.style_layers,
        content_weight=FLAGS.content_weight,
        style_weight=FLAGS.style_weight,
        tv_weight=FLAGS.tv_weight,
    )
    train = TrainConfig(
        steps=FLAGS.steps,
        batch_size=FLAGS.batch_size,
        crop_size=FLAGS.crop_size,
        style_size=FLAGS.style_size,
        learning_rate=FLAGS.learning_rate,
        checkpoint_every=FLAGS.checkpoint_every,
    )
    precision = devices.resolved_precision(FLAGS.precision)
    extractor = training.extractor_for_training(FeatureConfig(network="vgg16", weights=FLAGS.weights), loss, precision)
    paintings = [images.load_image(path, max_size=train.style_size) for path in FLAGS.paintings]
    found = photos.find_photos(FLAGS.photos)
    for path, why in found.skipped:
        logging.warning("skipped %s: %s", path, why)
    trainer = training.Trainer(extractor, paintings, loss, NetworkConfig(width=FLAGS.width), train)
    logging.info(
        "%d photos, %d painting(s), width %s (%d parameters), %s features, on %s",
        len(found.paths),
        len(paintings),
        FLAGS.width,
        trainer.network.count_params(),
        precision,
        devices.describe_machine(),
    )
    clock = {"last": time.time()}

    def progress(step, terms):
        if step % 10 == 0:
            now = time.time()
            logging.info(
                "step %d: %s; %.2f s/step",
                step,
                ", ".join(f"{k} {v:.4f}" for k, v in terms.items()),
                (now - clock["last"]) / 10,
            )
            clock["last"] = now
        if step % FLAGS.preview_every == 0 or step == train.steps:
            _preview(
                trainer.network, len(paintings), FLAGS.preview_size, os.path.join(FLAGS.run, f"preview_{step}.png")
            )

    trainer.train(
        lambda start: photos.crop_batches(found.paths, train, start), os.path.join(FLAGS.run, "checkpoints"), progress
    )
    path = os.path.join(FLAGS.run, "network.npz")
    notes = {
        "command": " ".join(["python", "benchmarks/train_network.py", *sys.argv[1:]]),
        "steps": int(trainer.step.numpy()),
        "machine (last session)": devices.describe_machine(),
    }
    names = [os.path.splitext(os.path.basename(p))[0] for p in FLAGS.paintings]
    networks.save_network(trainer.network, path, names, notes)
    logging.info("done: %d steps; the network is %s", int(trainer.step.numpy()), path)


if __name__ == "__main__":
    app.run(main)
