"""P(dog) for files and datasets in ``tf.data`` batches, with optional test-time augmentation (notebook 08)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from utils.progress import progress

if TYPE_CHECKING:  # for annotations only: importing TensorFlow is slow
    import keras
    import tensorflow as tf

from utils.predict.model import PredictionError, _mean_p_dog, _output_activation, model_input

@dataclass
class Prediction:
    """P(dog) per file, in the order of ``files``; ``failed`` lists files TensorFlow could not decode (notebook 08)."""

    files: list[Path]
    probabilities: np.ndarray
    failed: list[Path] = field(default_factory=list)
    seconds: float = 0.0


def files_dataset(files: Sequence[str | os.PathLike], image_size: tuple[int, int], color_mode: str,
                  batch_size: int = 64) -> tf.data.Dataset:
    """Batches of ``(images, index into files)``, decoded exactly as for training (notebook 08)."""
    import tensorflow as tf

    from utils.data.pipeline import AUTOTUNE, decode_and_resize

    paths = [str(f) for f in files]
    ds = tf.data.Dataset.from_tensor_slices((paths, np.arange(len(paths), dtype="int64")))
    ds = ds.map(lambda p, i: (decode_and_resize(p, image_size, color_mode), i), num_parallel_calls=AUTOTUNE)
    # A file that still fails to decode is dropped here and reported by index, never silently.
    ds = ds.ignore_errors()
    return ds.batch(batch_size).prefetch(AUTOTUNE)


def predict_files(
    model: keras.Model, files: Sequence[str | os.PathLike], batch_size: int = 64, tta: bool = True,
    desc: str = "Predicting P(dog)", show_progress: bool = True,
) -> Prediction:
    """P(dog) for each file, with the model's own input size and colour mode (notebook 08)."""
    import time

    files = [Path(f) for f in files]
    if not files:
        raise PredictionError("No images to predict.")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise PredictionError(f"The batch size must be a whole number of at least 1, not {batch_size!r}.")
    image_size, color_mode = model_input(model)
    ds = files_dataset(files, image_size, color_mode, batch_size)
    start = time.perf_counter()
    indices, probabilities = _run(model, ds, -(-len(files) // batch_size), tta, desc, show_progress)
    bad = ~np.isfinite(probabilities)
    if bad.any():
        examples = ", ".join(files[i].name for i in np.asarray(indices)[bad][:5])
        raise PredictionError(
            f"The model output NaN or infinity for {int(bad.sum())} of {len(probabilities)} image(s) "
            f"(e.g. {examples}): the model is broken (its training diverged?). Nothing was written; "
            "train it again (a lower learning rate) or choose another model."
        )
    order = np.full(len(files), np.nan)
    order[indices] = probabilities
    failed = [f for f, p in zip(files, order) if np.isnan(p)]  # not decoded by TensorFlow: no output
    kept = ~np.isnan(order)
    return Prediction(
        files=[f for f, k in zip(files, kept) if k],
        probabilities=order[kept],
        failed=failed,
        seconds=time.perf_counter() - start,
    )


def predict_dataset(model: keras.Model, dataset: tf.data.Dataset, tta: bool = True, desc: str = "Predicting P(dog)") -> tuple[np.ndarray, np.ndarray]:
    """``(targets, P(dog))`` over a dataset of ``(images, labels or ids)`` batches, in order (notebook 08)."""
    total = int(dataset.cardinality()) if int(dataset.cardinality()) > 0 else None
    return _run(model, dataset, total, tta, desc)


def with_mirror_images(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """Batches of ``((images, mirror images), target)``: the flip is made inside the
    ``tf.data`` pipeline, so it overlaps with the model's work (notebook 08).

    With test-time augmentation the model's work doubles; reading and decoding do not.
    """
    import tensorflow as tf

    from utils.data.pipeline import AUTOTUNE

    def add_mirror(images, target):
        return (images, tf.image.flip_left_right(images)), target

    return dataset.map(add_mirror, num_parallel_calls=AUTOTUNE)


def _run(model, dataset, total, tta, desc, show_progress=True):
    targets, probabilities = [], []
    activation = _output_activation(model)
    if tta:
        dataset = with_mirror_images(dataset)
    for images, target in progress(dataset, total=total, desc=desc, unit="batch", disable=not show_progress):
        # With tta, two batches of B (on a CPU one batch of 2B is slower per image).
        probabilities.append(_mean_p_dog(model, images if tta else (images,), activation))
        targets.append(np.asarray(target))
    if not probabilities:
        return np.zeros(0, dtype="int64"), np.zeros(0)
    return np.concatenate(targets), np.concatenate(probabilities)
