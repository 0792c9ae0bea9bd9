"""Training photos: a folder or glob of image files -> batches of square crops, as a tf.data pipeline.

`find_photos` lists the files and sets aside, each once and by name, those that cannot be
trained on (not an image, or a format TensorFlow's decoders do not read); `crop_batches` reads
the rest in a stateless pipeline: element i of the stream is a crop of photo perm_e[i mod n]
(perm_e: epoch e = i div n's shuffle), at a scale and position and flipped as hashed from (seed,
i). So the stream is a function of the seed alone, and a run resumed at step k starts it at
element k x batch: the same batches as a run that never stopped (no iterator state to save).

Contract: crops float32 RGB [batch, crop, crop, 3] in [0, 1]. Importing this module imports no
TensorFlow (find_photos is Pillow's), so a command line checks its photos first.
"""

from __future__ import annotations

import dataclasses
import glob
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PIL import Image

from style_transfer.config import TrainConfig
from style_transfer.errors import ImageError

if TYPE_CHECKING:
    import tensorflow as tf

# What tf.io.decode_image reads (Pillow's names); other formats are skipped by name.
TRAINABLE_FORMATS = ("JPEG", "PNG", "GIF", "BMP", "WEBP")
_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff", ".heic", ".heif", ".avif")


@dataclasses.dataclass(frozen=True)
class Photos:
    """The photos found: `paths` to train on (sorted), `skipped` as (path, why) pairs."""

    paths: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]


def find_photos(source: str) -> Photos:
    """The image files of a folder (by extension), or matching a glob, checked by their headers.

    ImageError (one line) where nothing there can be trained on."""
    if os.path.isdir(source):
        names = sorted(n for n in os.listdir(source) if n.lower().endswith(_EXTENSIONS))
        candidates = [os.path.join(source, n) for n in names]
    else:
        candidates = sorted(p for p in glob.glob(source) if os.path.isfile(p))
    paths, skipped = [], []
    for path in candidates:
        try:
            with Image.open(path) as image:
                kind = image.format
                image.verify()
        except Exception as error:  # noqa: BLE001 (Pillow raises many kinds for a file that is not an image)
            skipped.append((path, f"not a readable image ({type(error).__name__})"))
            continue
        if kind not in TRAINABLE_FORMATS:
            skipped.append((path, f"{kind} is not a training format (use {', '.join(TRAINABLE_FORMATS)})"))
            continue
        paths.append(path)
    if not paths:
        found = f"{len(candidates)} file(s), none readable" if candidates else "no image files"
        raise ImageError(f"no photos to train on in {source}: {found}")
    return Photos(tuple(paths), tuple(skipped))


def _hash_seed(seed: int, index: tf.Tensor, salt: int) -> tf.Tensor:
    """A stateless-op seed [2] for element `index` (int64) and use `salt`."""
    import tensorflow as tf

    return tf.stack([tf.cast(seed, tf.int64) * 1_000_003 + salt, index])


def crop_batches(paths: Sequence[str], config: TrainConfig, start_step: int = 0) -> tf.data.Dataset:
    """Batches [config.batch_size, crop, crop, 3] of random crops of `paths`, from step `start_step`.

    Each crop: the photo resized (area-averaged, antialiased) so its shorter side is crop_size
    times one of crop_scales, a random square of crop_size, flipped left-right half the time.
    A file that fails to decode after all is dropped from the stream (tf.data ignore_errors).
    """
    import tensorflow as tf  # here: find_photos runs before a command line pays for TensorFlow

    count, crop, seed = len(paths), config.crop_size, config.seed
    table = tf.constant(list(paths))
    scales = tf.constant([crop * s for s in config.crop_scales], tf.float32)

    def element(index):  # index: int64, the element's place in the endless stream
        epoch = index // count
        order = tf.argsort(tf.random.stateless_uniform([count], seed=tf.stack([tf.cast(seed, tf.int64), epoch])))
        path = tf.gather(table, tf.gather(order, tf.cast(index % count, tf.int32)))
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
        image = tf.image.convert_image_dtype(image, tf.float32)  # [h, w, 3] in [0, 1]
        pick = tf.random.stateless_uniform([], _hash_seed(seed, index, 1), 0, len(config.crop_scales), tf.int32)
        shape = tf.cast(tf.shape(image)[:2], tf.float32)
        size = tf.cast(tf.math.ceil(shape * tf.gather(scales, pick) / tf.reduce_min(shape)), tf.int32)
        image = tf.image.resize(image, tf.maximum(size, crop), method="area", antialias=True)
        image = tf.image.stateless_random_crop(image, [crop, crop, 3], seed=_hash_seed(seed, index, 2))
        image = tf.image.stateless_random_flip_left_right(image, seed=_hash_seed(seed, index, 3))
        return tf.clip_by_value(image, 0.0, 1.0)  # area resizing rounds a little past 1

    stream = tf.data.Dataset.counter(start=start_step * config.batch_size, dtype=tf.int64)
    stream = stream.map(element, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    stream = stream.ignore_errors()
    return stream.batch(config.batch_size, drop_remainder=True).prefetch(2)
