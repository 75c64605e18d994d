"""Predict P(dog) for folders of images with a saved model (notebook 08).

* :func:`load_model` reads a ``.keras`` file and says clearly what is wrong when it cannot.
* :func:`scan_images` finds the JPEGs in a folder, and lists (never silently drops) the files
  it skips: not an image, not a JPEG, truncated or corrupt.
* :func:`predict_files` / :func:`predict_dataset` run the model over ``tf.data`` batches with
  the model's own input size and colour mode (read from ``model.input_shape``, decoded exactly
  as in training by :func:`utils.data.pipeline.decode_and_resize`), with a progress bar and
  optional test-time augmentation (the mean of P(dog) for the image and its mirror image).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np

from utils.progress import progress

if TYPE_CHECKING:  # for annotations only: importing TensorFlow is slow
    import keras
    import tensorflow as tf

IMAGE_SUFFIXES = {".jpg", ".jpeg"}


class PredictionError(RuntimeError):
    """A model or image folder cannot be used; the message says what to do."""


# --- the model ---------------------------------------------------------------------------

def load_model(path: str | os.PathLike) -> keras.Model:
    """Load a saved Keras model, with a clear message when the file is missing or unreadable (notebook 08)."""
    import keras

    path = Path(path)
    if not path.exists():
        raise PredictionError(
            f"No model file at {_shown(path)}. Train one first (notebook 03, or notebook 08 trains "
            "a small one) or pass the path of an existing models/NAME.keras."
        )
    if path.is_dir():
        raise PredictionError(f"{_shown(path)} is a folder; pass a model file such as models/NAME.keras.")
    if path.suffix not in (".keras", ".h5"):
        raise PredictionError(f"{_shown(path)} is not a Keras model file (expected NAME.keras).")
    from utils.models.transfer import custom_objects

    try:
        return keras.models.load_model(path, compile=False, custom_objects=custom_objects())
    except Exception as error:  # Keras raises many types for a damaged file
        reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        raise PredictionError(
            f"Could not read the model {_shown(path)}: it is not a valid Keras model file ({reason}). "
            "Re-save it with model.save('models/NAME.keras') or choose another file."
        ) from error


def model_input(model: keras.Model) -> tuple[tuple[int, int], str]:
    """``((height, width), color_mode)`` the model expects, read from ``model.input_shape`` (notebook 08)."""
    shape = model.input_shape
    if isinstance(shape, list) or len(getattr(model, "inputs", None) or [None]) > 1:
        count = len(shape) if isinstance(shape, list) else len(model.inputs)
        if count != 1:
            raise PredictionError(
                f"The model takes {count} inputs; a submission needs a model with one image input "
                "(batch, height, width, channels), like those notebooks 03-05 save."
            )
        shape = shape[0] if isinstance(shape, list) else shape
    if len(shape) != 4:
        raise PredictionError(f"The model takes inputs of shape {shape}, not images (batch, h, w, channels).")
    _, height, width, channels = shape
    if height is None or width is None:
        raise PredictionError("The model does not fix its input size; rebuild it with keras.Input((h, w, c)).")
    modes = {1: "grayscale", 3: "rgb"}
    if channels not in modes:
        raise PredictionError(f"The model expects {channels} channels; only 1 (grayscale) or 3 (rgb) are supported.")
    return (int(height), int(width)), modes[channels]


def _output_activation(model) -> str:
    activation = getattr(model.layers[-1], "activation", None) if model.layers else None
    return getattr(activation, "__name__", str(activation or "")).lower()


def dog_column(outputs: np.ndarray, activation: str = "") -> np.ndarray:
    """P(dog) from raw model outputs, for either head (notebook 08).

    A 2-unit softmax head gives (cat, dog) -> column 1; a 1-unit sigmoid head gives P(dog) in
    column 0. If the last layer has no activation (``linear``: the model outputs logits),
    the softmax or sigmoid is applied here.
    """
    out = np.asarray(outputs, dtype="float64")
    if out.ndim == 1:
        out = out[:, None]
    if out.ndim != 2 or out.shape[1] not in (1, 2):
        raise PredictionError(f"Expected model outputs of shape (n, 1) or (n, 2), got {out.shape}.")
    if activation == "linear":
        if out.shape[1] == 1:
            return 1.0 / (1.0 + np.exp(-out[:, 0]))
        shifted = out - out.max(axis=1, keepdims=True)
        soft = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        return soft[:, 1]
    return out[:, 1] if out.shape[1] == 2 else out[:, 0]


def _mean_p_dog(model, views, activation: str) -> np.ndarray:
    """The mean P(dog) over ``views`` of one batch (one view: no test-time augmentation)."""
    return sum(dog_column(model.predict_on_batch(view), activation) for view in views) / len(views)


def dog_probability(model: keras.Model, images_or_dataset: np.ndarray | tf.data.Dataset, batch_size: int = 64) -> np.ndarray:
    """P(dog) for every image (an array, or a ``tf.data`` dataset of batches) (notebook 03).

    Column 1 of a 2-unit softmax head, column 0 of a 1-unit sigmoid head, logits turned into
    probabilities (:func:`dog_column`); the dtype of the model's output is kept.
    """
    import tensorflow as tf

    is_dataset = isinstance(images_or_dataset, tf.data.Dataset)
    raw = np.asarray(model.predict(images_or_dataset, batch_size=None if is_dataset else batch_size, verbose=0))
    p = dog_column(raw, _output_activation(model))
    return p.astype(raw.dtype) if np.issubdtype(raw.dtype, np.floating) else p


def batch_dog_probability(model: keras.Model, images: np.ndarray, tta: bool = True) -> np.ndarray:
    """P(dog) for one batch of images (float32 in [0, 255]); with ``tta`` the mean over the
    image and its horizontal flip (notebook 08)."""
    import tensorflow as tf

    images = tf.convert_to_tensor(images, dtype=tf.float32)
    views = (images, tf.image.flip_left_right(images)) if tta else (images,)
    return _mean_p_dog(model, views, _output_activation(model))


# --- the images --------------------------------------------------------------------------

@dataclass
class ImageScan:
    """The images a folder holds: readable JPEGs, and what was skipped and why."""

    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file name, reason)

    def report(self, limit: int = 10) -> str:
        lines = [f"{len(self.files)} readable JPEG image(s); {len(self.skipped)} file(s) skipped."]
        for name, reason in self.skipped[:limit]:
            lines.append(f"  skipped {name}: {reason}")
        if len(self.skipped) > limit:
            lines.append(f"  ... and {len(self.skipped) - limit} more")
        return "\n".join(lines)


def check_image(path: Path) -> str | None:
    """Why ``path`` cannot be used as a JPEG image, or None when it decodes completely (notebook 08).

    The same check notebook 01 runs on the training data (:func:`utils.data.images.inspect_image`).
    """
    from utils.data.images import inspect_image

    check = inspect_image(path)
    return None if check.ok else check.reason


def scan_images(source: str | os.PathLike | Iterable[str | os.PathLike], show_progress: bool = True) -> ImageScan:
    """The JPEGs in a folder (or a list of files), checked one by one, in file-name order (notebook 08).

    Files that are not JPEGs, or that are truncated or corrupt, are listed in
    ``ImageScan.skipped`` with the reason; so are hidden files and sub-folders (which are not
    looked into).
    """
    scan = ImageScan()
    if isinstance(source, (str, os.PathLike)):
        folder = Path(source)
        if not folder.exists():
            raise PredictionError(f"The image folder {_shown(folder)} does not exist.")
        if not folder.is_dir():
            raise PredictionError(f"{_shown(folder)} is not a folder; pass the folder holding the test images.")
        try:
            entries = sorted(folder.iterdir())
        except OSError as error:
            raise PredictionError(f"Cannot list {_shown(folder)} ({error.strerror}).") from error
        candidates = []
        for entry in entries:
            if entry.is_dir():
                scan.skipped.append((entry.name + "/", "a folder: its files are not used (move them up)"))
            elif entry.name.startswith("."):
                scan.skipped.append((entry.name, "a hidden file"))
            elif entry.is_file():
                candidates.append(entry)
            else:
                scan.skipped.append((entry.name, "not a regular file"))
    else:
        candidates = [Path(p) for p in source]
    bar = progress(candidates, desc="Checking images", unit="img", disable=not show_progress or len(candidates) < 2)
    for path in bar:
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            scan.skipped.append((path.name, f"not a .jpg file"))
            continue
        problem = check_image(path)
        if problem:
            scan.skipped.append((path.name, problem))
        else:
            scan.files.append(path)
    return scan


# --- prediction --------------------------------------------------------------------------

@dataclass
class Prediction:
    """P(dog) per file, in the order of ``files``; ``failed`` lists files TensorFlow could not decode."""

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


def _shown(path: Path) -> str:
    from utils.config import relative

    path = Path(path)
    shown = relative(path)
    return shown if shown != path.name or not path.is_absolute() else str(path)
