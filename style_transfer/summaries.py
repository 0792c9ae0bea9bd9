"""TensorBoard logging of a run: a callback for stylize() that writes tf.summary events.

    callback = summaries.TensorBoardCallback(summaries.new_run_dir("logs"), image_every=10)
    result = multiscale.stylize(content, style, config, callback=callback)
    callback.close(result)          # the final image, and flush

Scalars `loss/total`, `loss/content`, `loss/style`, `loss/tv` at every step (the weighted terms at
the image before the step, as the callback receives them); the current image (float32 RGB [1, H,
W, 3] in [0, 1], at the current scale's size) as `image` every `image_every` steps and at close.
One run per folder: `new_run_dir` makes a fresh one under the log folder, so runs do not mix.
tf.summary needs the `tensorboard` package (TensorFlow 2.21 no longer installs it): the extra
`pip install "style_transfer[tensorboard]"`; without it, TensorBoardCallback is a ConfigError.
"""

from __future__ import annotations

import datetime
import os

import tensorflow as tf

from style_transfer.errors import ConfigError, named


def new_run_dir(logdir: str) -> str:
    """A new, empty folder logdir/run-YYYYmmdd-HHMMSS[-k]; ConfigError if it cannot be written."""
    stamp = datetime.datetime.now().strftime("run-%Y%m%d-%H%M%S")
    try:
        os.makedirs(logdir, exist_ok=True)
        for k in range(1000):
            path = os.path.join(logdir, stamp if k == 0 else f"{stamp}-{k}")
            try:
                os.mkdir(path)
                return path
            except FileExistsError:
                continue
    except OSError as e:
        raise ConfigError(
            f"cannot write TensorBoard logs to {named('logdir')} {logdir!r}: {e.strerror or e}; "
            f"choose another {named('logdir')}"
        ) from None
    raise ConfigError(f"cannot make a new run folder in {named('logdir')} {logdir!r}; choose another {named('logdir')}")


class TensorBoardCallback:
    """stylize() callback (step, terms, image) writing scalars every step, images every `image_every`."""

    def __init__(self, run_dir: str, image_every: int = 0):
        try:
            import tensorboard  # noqa: F401 - tf.summary's implementation
        except ImportError:
            raise ConfigError(
                'TensorBoard logs need the tensorboard package: pip install "style_transfer[tensorboard]"'
            ) from None
        self.writer = tf.summary.create_file_writer(run_dir)
        self.image_every = image_every
        self.step = 0  # the last step reported
        self.image_step: int | None = None  # the last step with an image

    def __call__(self, step: int, terms: dict, image) -> None:
        self.step = step
        with self.writer.as_default(step=step):
            for name, value in terms.items():
                tf.summary.scalar(f"loss/{name}", float(value))
            if self.image_every and step % self.image_every == 0:
                tf.summary.image("image", tf.convert_to_tensor(image, tf.float32))
                self.image_step = step

    def close(self, final_image=None) -> None:
        """Write the final image (if given and that step has none yet) and flush the events file."""
        if final_image is not None and self.image_step != self.step:
            with self.writer.as_default(step=self.step):
                tf.summary.image("image", tf.convert_to_tensor(final_image, tf.float32))
        self.writer.close()
