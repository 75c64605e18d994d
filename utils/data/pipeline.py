"""The ``tf.data`` input pipeline (introduced in notebook 01).

The seed notebook read every image with OpenCV into one big NumPy array before training:
memory grew with the data set and the CPU sat idle while the model waited. Here images are
decoded and resized in parallel, a batch at a time, while the model trains on the previous
batch (``prefetch``). Nothing holds the whole data set unless you ask for ``cache="memory"``.

Images come out as float32 in [0, 255]; each model rescales them itself, so the same
pipeline feeds every model and the submission uses exactly the training preprocessing.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf

from utils.config import SEED

AUTOTUNE = tf.data.AUTOTUNE
COLOR_CHANNELS = {"rgb": 3, "grayscale": 1}


def _pipeline_options() -> tf.data.Options:
    """Options for every dataset: tf.data's autotuning model thread switched off.

    Keras makes a new iterator per epoch (and per validation pass). In TensorFlow 2.21, tearing
    one down waits out that thread's current sleep, which grows as training goes on: we saw
    both cores sit idle for about 10 s, and once 30 s, at the start of an epoch (notebook 04's
    runs). ``num_parallel_calls=AUTOTUNE`` then uses one decoder per core and
    ``prefetch(AUTOTUNE)`` still sizes its own buffer.
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return options


_PIPELINE_OPTIONS = _pipeline_options()


def decode_and_resize(path: tf.Tensor | str, image_size: tuple[int, int] = (128, 128),
                      color_mode: str = "rgb") -> tf.Tensor:
    """Read one JPEG file and return a float32 tensor of shape (height, width, channels) (notebook 02)."""
    channels = COLOR_CHANNELS[color_mode]
    image = tf.io.decode_jpeg(tf.io.read_file(path), channels=channels)
    image = tf.image.resize(image, image_size, method="bilinear", antialias=True)
    return tf.clip_by_value(image, 0.0, 255.0)


def make_dataset(
    frame: pd.DataFrame,
    split: str | None = None,
    image_size: tuple[int, int] = (128, 128),
    color_mode: str = "rgb",
    batch_size: int = 32,
    shuffle: bool | None = None,
    cache: str | Path | None = None,
    seed: int = SEED,
    with_labels: bool | None = None,
) -> tf.data.Dataset:
    """Batches of ``(images, labels)`` (or ``(images, ids)`` for the test split) from a manifest (notebook 01).

    ``frame`` is a manifest from :func:`utils.data.dataset.load_manifest` (needs ``filepath`` and
    ``label`` or ``id`` columns). ``split`` selects ``train``, ``validation`` or ``test`` rows.
    ``shuffle`` defaults to True for ``train``. ``cache`` is None (stream: memory stays flat
    however many images), ``"memory"`` (decoded images kept in RAM after the first epoch) or a
    file path (kept on disk). Shuffling happens on file paths before decoding, so a full
    shuffle costs almost no memory.
    """
    if color_mode not in COLOR_CHANNELS:
        raise ValueError(f"color_mode must be one of {list(COLOR_CHANNELS)}, not {color_mode!r}")
    if split is not None:
        frame = frame[frame["split"] == split]
    if len(frame) == 0:
        raise ValueError(f"No images in the {split or 'given'} split: build the dataset first (notebook 01).")
    if shuffle is None:
        shuffle = split == "train"
    if with_labels is None:
        with_labels = split != "test"
    paths = frame["filepath"].astype(str).to_numpy()
    if with_labels:
        targets = frame["label"].astype("int32").to_numpy()
    else:
        targets = frame["id"].astype("int64").to_numpy()
    ds = tf.data.Dataset.from_tensor_slices((paths, targets))

    def load(path, target):
        return decode_and_resize(path, image_size, color_mode), target

    if cache is None:
        if shuffle:
            ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
        ds = ds.map(load, num_parallel_calls=AUTOTUNE)
    else:
        ds = ds.map(load, num_parallel_calls=AUTOTUNE)
        # Cache the decoded images as uint8 (4x smaller than float32).
        ds = ds.map(lambda x, y: (tf.cast(tf.round(x), tf.uint8), y))
        ds = ds.cache("" if cache == "memory" else str(cache))
        if shuffle:
            ds = ds.shuffle(min(len(paths), 10_000), seed=seed, reshuffle_each_iteration=True)
        ds = ds.map(lambda x, y: (tf.cast(x, tf.float32), y))
    return ds.batch(batch_size).prefetch(AUTOTUNE).with_options(_PIPELINE_OPTIONS)


def labels_of(frame: pd.DataFrame, split: str) -> np.ndarray:
    """The labels of a split in manifest order (what an unshuffled dataset yields) (notebook 08)."""
    return frame.loc[frame["split"] == split, "label"].astype("int32").to_numpy()
