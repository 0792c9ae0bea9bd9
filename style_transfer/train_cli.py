"""style-transfer-train: train a feed-forward network on photos, for one painting or several.

    style-transfer-train --photos=photos/ --paintings=starry_night.jpg,great_wave.jpg --run=runs/starry_wave

Checkpoints go to RUN/checkpoints; the same command again resumes from the latest one, to
--steps (the result is bit for bit what one uninterrupted run gives, on one machine). Every
--preview_every steps RUN/preview_STEP.png shows the --preview photo through the network, once
per painting; at the end RUN/network.npz holds the network, for `style-transfer --model=` and
`style-transfer-export --model=`. From a trained network: --base=NET fine-tunes it on its own
paintings (given again, in its order: say, at another --style_weight); --base=NET --add adds
--paintings to it, training only their own scales and shifts (its paintings stay exactly as they
were). --teacher=NET --teacher_weight=W trains the network to give NET's results (distillation:
say, a narrower --width for a slower CPU; with --content_weight=0 --style_weight=0 no VGG pass is
made). A photo that cannot be trained on is named once on stderr and
skipped; a folder with none is a one-line error. Ctrl-C stops between two steps (exit 130) with
a checkpoint of the step just done, and the same command resumes from it.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Mapping

import numpy as np
from absl import app, flags
from absl import logging as absl_logging

from style_transfer import cli_common, images
from style_transfer.config import TrainingSetup
from style_transfer.errors import ConfigError, StyleTransferError
from style_transfer.samples import SAMPLE_CONTENT

flags.DEFINE_string("photos", None, "Training photos: a folder, or a glob such as 'photos/*.jpg'.")
flags.DEFINE_list("paintings", None, "The paintings, separated by commas: one network for all (in this order).")
flags.DEFINE_string("run", None, "Folder for checkpoints, previews and the trained network (RUN/network.npz).")
flags.DEFINE_string("preview", SAMPLE_CONTENT, "A photo to show through the network as training goes (not trained on).")
flags.DEFINE_integer("preview_every", 200, "Write RUN/preview_STEP.png every this many steps (0: only at the end).")
flags.DEFINE_integer("preview_size", 256, "Longer side of the preview photo, in pixels.")
flags.DEFINE_string(
    "base", None, "Start from this trained network (a .npz or a bundled name): fine-tune it on --paintings, its own."
)
flags.DEFINE_bool(
    "add", False, "With --base: add --paintings to its paintings, training only theirs (scales and shifts)."
)
flags.DEFINE_string(
    "teacher", None, "With --teacher_weight: a trained network (a .npz or a bundled name) whose results to learn."
)
flags.DEFINE_string("logdir", None, "Write TensorBoard logs (the loss terms, the previews) to this folder.")
cli_common.define_config_flags(config_cls=TrainingSetup)
FLAGS = flags.FLAGS


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


class TrainProgress:
    """The training's callback: a Keras progress bar (loss terms, ETA) on a terminal, a line every
    5 % otherwise; previews; TensorBoard; Ctrl-C between two steps."""

    def __init__(self, trainer, setup: TrainingSetup, preview: np.ndarray, names: list[str]):
        import keras

        self.trainer, self.setup, self.preview, self.names = trainer, setup, preview, names
        self.progbar = keras.utils.Progbar
        self.start_step: int | None = None  # known at the first step (after a checkpoint is restored)
        self.interactive = sys.stdout.isatty()
        self.start = time.time()
        self.stop_requested = False
        self.writer = None
        if FLAGS.logdir:
            import tensorflow as tf

            self.writer = tf.summary.create_file_writer(FLAGS.logdir)

    def request_stop(self, signum=None, frame=None) -> None:
        if self.stop_requested:
            raise KeyboardInterrupt
        self.stop_requested = True

    def __call__(self, step: int, terms: Mapping[str, float]) -> None:
        if self.start_step is None:  # the first step of this run (a resumed one starts late)
            self.start_step = step - 1
            self.todo = max(1, self.setup.train.steps - self.start_step)
            self.every = max(1, self.todo // 20)
            self.bar = self.progbar(
                self.todo,
                stateful_metrics=["total", "content", "style", "tv", "shift", "motion", "teacher"],
                unit_name="step",
            )
            if self.start_step:
                print(f"Resumed at step {self.start_step} from {FLAGS.run}/checkpoints", flush=True)
        done = step - self.start_step
        if self.interactive:
            self.bar.update(done, list(terms.items()))
        elif done % self.every == 0 or done == 1 or step == self.setup.train.steps:
            elapsed = time.time() - self.start
            eta = elapsed / done * (self.todo - done)
            losses = " ".join(f"{name} {value:.4g}" for name, value in terms.items())
            print(
                f"step {step}/{self.setup.train.steps}  {losses}  {elapsed / done:.2f} s/step  ETA {eta:.0f}s",
                flush=True,
            )
        if self.writer is not None:
            import tensorflow as tf

            with self.writer.as_default(step=step):
                for name, value in terms.items():
                    tf.summary.scalar(f"loss/{name}", value)
        if (FLAGS.preview_every and step % FLAGS.preview_every == 0) or step == self.setup.train.steps:
            self.write_preview(step)
        if self.stop_requested:
            raise KeyboardInterrupt

    def write_preview(self, step: int) -> None:
        from style_transfer import transformer

        network = self.trainer.network  # a base's paintings too
        rows = [
            np.asarray(transformer.stylize(network, self.preview, transformer.painting_alone(network, p)))
            for p in range(network.styles)
        ]
        sheet = np.concatenate([self.preview, *rows], axis=2)  # the photo, then one per painting
        images.save_image(os.path.join(FLAGS.run, f"preview_{step}.png"), sheet)
        if self.writer is not None:
            import tensorflow as tf

            with self.writer.as_default(step=step):
                tf.summary.image("preview", sheet, step=step)


def run() -> int:
    setup = cli_common.config_from_flags(config_cls=TrainingSetup)
    if not FLAGS.photos:
        raise ConfigError("--photos names no photos: give a folder or a glob")
    if not FLAGS.paintings:
        raise ConfigError("--paintings names no painting: give one path, or several separated by commas")
    if not FLAGS.run:
        raise ConfigError("--run is needed: the folder for checkpoints, previews and the network")
    if FLAGS.add and not FLAGS.base:
        raise ConfigError("--add adds paintings to a trained network: name it with --base")
    if bool(FLAGS.teacher) != bool(setup.train.teacher_weight):
        raise ConfigError("--teacher and --teacher_weight go together: name the network to learn from and its weight")
    from style_transfer import photos

    found = photos.find_photos(FLAGS.photos)
    for path, why in found.skipped:
        print(f"style-transfer-train: warning: skipped {path}: {why}", file=sys.stderr, flush=True)
    style_size = setup.train.style_size
    paintings = [images.load_image(path, max_size=style_size, name="painting") for path in FLAGS.paintings]
    preview = images.load_image(FLAGS.preview, max_size=FLAGS.preview_size, name="preview")
    try:
        os.makedirs(FLAGS.run, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"cannot make --run folder {FLAGS.run!r}: {e.strerror or e}") from None

    cli_common.import_tensorflow_quietly()
    import logging

    from style_transfer import devices, networks, training

    if not FLAGS["verbosity"].present:  # TensorFlow's saver logs each checkpoint at INFO
        logging.getLogger("tensorflow").setLevel(logging.WARNING)
        absl_logging.set_verbosity(absl_logging.WARNING)

    base, names = None, [_stem(path) for path in FLAGS.paintings]
    if FLAGS.base:
        base, header = networks.load_network(FLAGS.base)
        if FLAGS["width"].present and setup.network.width != base.width:
            raise ConfigError(f"--width={setup.network.width:g} but --base is a network of width {base.width:g}")
        names = list(header["paintings"]) + names if FLAGS.add else names
        if not FLAGS.add and len(FLAGS.paintings) != base.styles:
            raise ConfigError(
                f"--base has {base.styles} painting(s) ({', '.join(header['paintings'])}) and --paintings names "
                f"{len(FLAGS.paintings)}: give its paintings in its order to fine-tune it, or --add new ones"
            )
    teacher = None
    if FLAGS.teacher:
        teacher, teacher_header = networks.load_network(FLAGS.teacher)
        if teacher.styles != len(names):
            raise ConfigError(
                f"--teacher has {teacher.styles} painting(s) ({', '.join(teacher_header['paintings'])}) and the "
                f"network trained {len(names)}: give the teacher's paintings, in its order"
            )
    precision = devices.resolved_precision(setup.train.precision)
    strategy = training.make_strategy(setup.train)
    with strategy.scope():  # VGG's weights too, where a TPU needs them
        extractor = training.extractor_for_training(setup.features, setup.loss, precision, setup.train.seed)
    trainer = training.Trainer(
        extractor,
        paintings,
        setup.loss,
        setup.network,
        setup.train,
        strategy,
        base=base,
        add=FLAGS.add,
        teacher=teacher,
    )
    if strategy.num_replicas_in_sync > 1:
        print(f"{strategy.num_replicas_in_sync} replicas: {', '.join(strategy.extended.worker_devices)}", flush=True)
    trained = sum(int(np.prod(w.shape)) for w in trainer.trained)
    origin = f"taught by {FLAGS.teacher}, " if FLAGS.teacher else ""
    origin += f"from {FLAGS.base}{' (adding to it)' if FLAGS.add else ''}, " if FLAGS.base else ""
    stems = ", ".join(_stem(path) for path in FLAGS.paintings)
    print(
        f"{len(found.paths)} photos ({len(found.skipped)} skipped), {len(paintings)} painting(s): {stems}; "
        f"{origin}width {trainer.network.width:g} ({trained} of {trainer.network.count_params()} parameters trained), "
        f"{setup.features.network} "
        f"{precision} features; {setup.train.steps} steps of {setup.train.batch_size} crops of "
        f"{setup.train.crop_size} px",
        flush=True,
    )
    checkpoints = os.path.join(FLAGS.run, "checkpoints")
    progress = TrainProgress(trainer, setup, preview, names)
    previous = signal.signal(signal.SIGINT, progress.request_stop)
    try:
        trainer.train(lambda start: photos.crop_batches(found.paths, setup.train, start), checkpoints, progress)
    except KeyboardInterrupt:
        import tensorflow as tf

        latest = tf.train.latest_checkpoint(checkpoints)
        print(
            f"\nInterrupted at step {int(trainer.step.numpy())}; the last checkpoint is {latest or 'none'}: "
            "run the same command to resume",
            file=sys.stderr,
        )
        return 130
    finally:
        signal.signal(signal.SIGINT, previous)
    steps = int(trainer.step.numpy())
    path = os.path.join(FLAGS.run, "network.npz")
    notes = {
        "command": " ".join(["style-transfer-train", *sys.argv[1:]]),
        "steps": steps,
        "machine": devices.describe_machine(),
    }
    networks.save_network(trainer.network, path, names, notes)
    print(f"Trained {steps} steps; wrote {path} (style-transfer --model={path})", flush=True)
    return 0


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments {argv[1:]}; all options are --flags (see --help)")
    try:
        return run()
    except StyleTransferError as e:
        print(f"style-transfer-train: error: {cli_common.user_message(e)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nInterrupted before training started; nothing was written", file=sys.stderr)
        return 130


def entry_point() -> None:
    """Console script `style-transfer-train` (and `python -m style_transfer.train_cli`)."""
    cli_common.run(main, __name__, __doc__)


if __name__ == "__main__":
    entry_point()
